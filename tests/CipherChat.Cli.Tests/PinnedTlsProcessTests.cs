using CipherChat.Cli.Tests.Support;
using CipherChat.Server.Hosting;

namespace CipherChat.Cli.Tests;

/// <summary>
/// TLS from real <c>cipherchat</c> processes, which run without the system's trusted certificates
/// (<see cref="SystemTrustStore"/>): the pinned fingerprint alone decides whom the client talks to.
/// </summary>
public sealed class PinnedTlsProcessTests
{
    [Fact]
    public async Task Without_the_system_trust_store_the_pin_is_kept_and_a_changed_certificate_refused()
    {
        await using var server = await InProcessServer.StartAsync(tls: true);
        using var alice = new CliProcessUser("alice");
        var registered = await alice.OkAsync("register", "--server", server.Address, "--user", "alice");
        var firstFingerprint = server.Fingerprint!;
        Assert.Contains(firstFingerprint, registered, StringComparison.Ordinal);
        var key = (await alice.OkAsync("keygen")).Trim();
        await alice.OkAsync("room", "join", "pinned", "--key", key);
        await alice.OkAsync("send", "--room", "pinned", "over the pinned connection");
        Assert.Contains("alice: over the pinned connection", await alice.OkAsync("read", "--room", "pinned", "--all"), StringComparison.Ordinal);

        // Another certificate on the same address: refused before the message is sent.
        await server.StopAsync();
        File.Delete(Path.Combine(server.DataDirectory, ServerCertificate.SelfSignedFileName));
        await server.RestartAsync();
        Assert.NotEqual(firstFingerprint, server.Fingerprint);
        var refused = await alice.FailsAsync(1, "send", "--room", "pinned", "never sent");
        Assert.Contains("CHANGED", refused, StringComparison.Ordinal);
        Assert.Contains(firstFingerprint, refused, StringComparison.Ordinal);
        Assert.Contains(server.Fingerprint!, refused, StringComparison.Ordinal);

        // Once the user trusts the new certificate, the room's log shows that nothing reached the server.
        Assert.Contains(server.Fingerprint!, await alice.OkAsync("trust", "--server", server.Address), StringComparison.Ordinal);
        var history = await alice.OkAsync("read", "--room", "pinned", "--all");
        Assert.Contains("alice: over the pinned connection", history, StringComparison.Ordinal);
        Assert.DoesNotContain("never sent", history, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_command_but_the_server_goes_without_the_system_trust_store()
    {
        var root = CliApp.BuildRoot(new CliEnvironment("home", TextWriter.Null, TextWriter.Null, TimeProvider.System));
        var names = root.Subcommands.Select(c => c.Name).ToList();
        Assert.Contains("server", names);

        // A new command has to be put on one side or the other.
        Assert.Equal(names.Where(n => n != "server").Order(StringComparer.Ordinal), SystemTrustStore.PinnedOnlyCommands.Order(StringComparer.Ordinal));
        Assert.True(SystemTrustStore.NotNeededFor(["send", "--room", "general", "hi"]));
        Assert.False(SystemTrustStore.NotNeededFor(["server", "--tls", "auto"]));
        Assert.False(SystemTrustStore.NotNeededFor([]));
    }
}
