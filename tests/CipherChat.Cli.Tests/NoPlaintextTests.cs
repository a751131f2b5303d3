using System.Text;
using CipherChat.Cli.Tests.Support;

namespace CipherChat.Cli.Tests;

/// <summary>The server's files and the bytes on the wire never hold a message's text.</summary>
public sealed class NoPlaintextTests
{
    [Fact]
    public async Task Neither_the_traffic_nor_the_server_database_contains_the_text()
    {
        // TLS off, so the captured bytes are the frames themselves and only the room key protects the text.
        await using var server = await InProcessServer.StartAsync(tls: false);
        await using var proxy = new RecordingProxy(server.Port);
        using var alice = new CliUser("alice");
        using var bob = new CliUser("bob");
        var address = $"127.0.0.1:{proxy.Port}";
        await alice.OkAsync("register", "--server", address, "--user", "alice", "--tls", "off");
        await bob.OkAsync("register", "--server", address, "--user", "bob", "--tls", "off");
        var key = (await alice.OkAsync("keygen")).Trim();
        await alice.OkAsync("room", "join", "secrets", "--key", key);
        await bob.OkAsync("room", "join", "secrets", "--key", key);

        var marker = "plaintext-marker-" + Guid.NewGuid().ToString("N");
        await alice.OkAsync("send", "--room", "secrets", marker);
        var read = await bob.OkAsync("read", "--room", "secrets");
        Assert.Contains(marker, read, StringComparison.Ordinal);

        var captured = proxy.Captured();
        Assert.True(captured.Length > 200, "the proxy saw the conversation");
        Assert.True(ContainsBytes("secrets"u8.ToArray(), captured), "the room name travels in the clear, so the capture is real");
        Assert.False(ContainsBytes(Encoding.UTF8.GetBytes(marker), captured), "the message text crossed the wire");
        Assert.False(ContainsBytes(Encoding.UTF8.GetBytes(key), captured), "the room key crossed the wire");

        await server.StopAsync();
        var files = Directory.GetFiles(server.DataDirectory, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            Assert.False(ContainsBytes(Encoding.UTF8.GetBytes(marker), bytes), $"{Path.GetFileName(file)} holds the message text");
            Assert.False(ContainsBytes(Encoding.UTF8.GetBytes(key), bytes), $"{Path.GetFileName(file)} holds the room key");
        }

        // The scan would see it if it were there: the reader's own history does hold the text.
        var clientFiles = Directory.GetFiles(bob.Home, "*", SearchOption.AllDirectories);
        Assert.Contains(clientFiles, f => ContainsBytes(Encoding.UTF8.GetBytes(marker), File.ReadAllBytes(f)));
    }

    private static bool ContainsBytes(byte[] needle, byte[] haystack) => haystack.AsSpan().IndexOf(needle) >= 0;
}
