using System.Text.Json;
using System.Text.RegularExpressions;
using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Sqlite;

namespace CipherChat.Tui.Tests.EndToEnd;

/// <summary>
/// Drives the real <c>cipherchat chat</c> in an 80x24 tmux session against a real server on a loopback
/// port, as a person would, while a second user talks to it through the one-shot commands.
/// </summary>
public sealed partial class ChatInTmuxTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cipherchat-tui-e2e-" + Guid.NewGuid().ToString("N")[..12]);
    private ChatServer? _server;
    private string _aliceInvite = string.Empty;
    private string _bobInvite = string.Empty;
    private string _carolInvite = string.Empty;

    private string AliceHome => Path.Combine(_root, "alice");

    private string BobHome => Path.Combine(_root, "bob");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        if (!Tmux.IsInstalled())
        {
            return;
        }

        // Registration by invitation, as a careful operator on the Internet would run it.
        var data = Path.Combine(_root, "server");
        Directory.CreateDirectory(data);
        _aliceInvite = await SqliteChatServer.CreateInviteAsync(data, TestContext.Current.CancellationToken);
        _bobInvite = await SqliteChatServer.CreateInviteAsync(data, TestContext.Current.CancellationToken);
        _carolInvite = await SqliteChatServer.CreateInviteAsync(data, TestContext.Current.CancellationToken);
        _server = await SqliteChatServer.StartAsync(
            new ChatServerOptions { Listen = "127.0.0.1:0", Data = data, Tls = "auto", Registration = "invite", ShutdownTimeoutSeconds = 2, HandshakeTimeoutSeconds = 60 },
            cancellationToken: TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the folder is in the temp area.
        }
    }

    [GeneratedRegex(@"\d\d:\d\d bob: hi alice, bob here")]
    private static partial Regex ReplyLine();

    [Fact]
    public async Task A_user_talks_switches_rooms_and_quits_in_an_80x24_terminal()
    {
        if (_server is null)
        {
            Assert.Skip("tmux is not installed; CI installs it for this test");
        }

        var address = $"127.0.0.1:{_server.Endpoint.Port}";
        await CliProcess.RunOkAsync(AliceHome, "register", "--server", address, "--user", "alice", "--invite", _aliceInvite);
        await CliProcess.RunOkAsync(BobHome, "register", "--server", address, "--user", "bob", "--invite", _bobInvite);
        var key = (await CliProcess.RunOkAsync(AliceHome, "keygen")).Trim();
        var otherKey = (await CliProcess.RunOkAsync(AliceHome, "keygen")).Trim();
        await CliProcess.RunOkAsync(AliceHome, "room", "join", "general", "--key", key);
        await CliProcess.RunOkAsync(AliceHome, "room", "join", "random", "--key", otherKey);
        await CliProcess.RunOkAsync(BobHome, "room", "join", "general", "--key", key);
        await CliProcess.RunOkAsync(BobHome, "send", "--room", "general", "earlier message from bob");

        var (exitFile, script) = await WriteChatScriptAsync(AliceHome, "--room general");

        using var tmux = new Tmux();
        tmux.Start($"sh '{script}'", 80, 24);

        // The screen opens on general with its history and a live connection.
        await tmux.WaitForAsync(s => s.Contains("connected", StringComparison.Ordinal) && s.Contains("bob: earlier message from bob", StringComparison.Ordinal), "the chat screen with general's history");
        var screen = tmux.Capture();
        Assert.Contains("general: shared key", screen, StringComparison.Ordinal);
        Assert.Contains("2 random", screen, StringComparison.Ordinal);

        // Alice types a message; Bob's one-shot client reads it.
        tmux.Type("hello from alice 👋");
        tmux.Press("Enter");
        await tmux.WaitForAsync(s => s.Contains("alice: hello from alice", StringComparison.Ordinal), "alice's own message on screen");
        var received = await WaitForMessageAsync(BobHome, "general", m => m.Text == "hello from alice 👋");
        Assert.Equal("alice", received.From);

        // Bob answers; the reply appears live with its time and sender.
        await CliProcess.RunOkAsync(BobHome, "send", "--room", "general", "hi alice, bob here");
        await tmux.WaitForAsync(s => ReplyLine().IsMatch(s), "bob's reply with its time");

        // Several pasted lines go out as one message.
        tmux.Paste("first pasted line\nsecond pasted line");
        var pasted = await WaitForMessageAsync(BobHome, "general", m => m.Text?.StartsWith("first pasted line", StringComparison.Ordinal) == true);
        Assert.Equal("first pasted line\nsecond pasted line", pasted.Text);

        // Alt+2 shows the second room; /switch goes back.
        tmux.Press("M-2");
        await tmux.WaitForAsync(s => s.Contains("random: shared key", StringComparison.Ordinal) && s.Contains("No messages in random yet", StringComparison.Ordinal), "the empty room random after Alt+2");
        tmux.Type("/switch general");
        tmux.Press("Enter");
        await tmux.WaitForAsync(s => s.Contains("general: shared key", StringComparison.Ordinal), "general again after /switch");

        // Unknown commands answer on screen; /help lists the commands.
        tmux.Type("/frobnicate");
        tmux.Press("Enter");
        await tmux.WaitForAsync(s => s.Contains("Unknown command /frobnicate", StringComparison.Ordinal), "the unknown-command line");

        // The screen survives a resize.
        tmux.Resize(100, 30);
        await tmux.WaitForAsync(s => s.Split('\n').Any(l => l.TrimEnd().Length > 80), "the wider layout");

        // /quit leaves cleanly.
        tmux.Type("/quit");
        tmux.Press("Enter");
        Assert.Equal("0", await WaitForExitAsync(tmux, exitFile));
    }

    [Fact]
    public async Task A_new_user_registers_from_the_first_run_form_joins_a_room_and_quits_with_ctrl_q()
    {
        if (_server is null)
        {
            Assert.Skip("tmux is not installed; CI installs it for this test");
        }

        var address = $"127.0.0.1:{_server.Endpoint.Port}";
        await CliProcess.RunOkAsync(BobHome, "register", "--server", address, "--user", "bob", "--invite", _bobInvite);
        var key = (await CliProcess.RunOkAsync(BobHome, "keygen")).Trim();
        await CliProcess.RunOkAsync(BobHome, "room", "join", "friends", "--key", key);

        var carolHome = Path.Combine(_root, "carol");
        var (exitFile, script) = await WriteChatScriptAsync(carolHome, string.Empty);
        using var tmux = new Tmux();
        tmux.Start($"sh '{script}'", 80, 24);

        // The form: server, user name, (TLS stays on), invite code, Enter connects.
        await tmux.WaitForAsync(s => s.Contains("Server (HOST[:PORT])", StringComparison.Ordinal), "the first-run form");
        tmux.Type(address);
        tmux.Press("Tab");
        tmux.Type("carol");
        tmux.Press("Tab", "Tab");
        tmux.Type(_carolInvite);
        tmux.Press("Enter");

        // The fingerprint shown is the server's; accepting registers and opens the chat.
        var fingerprint = _server.CertificateFingerprint!;
        await tmux.WaitForAsync(s => s.Replace("\n", string.Empty, StringComparison.Ordinal).Contains(fingerprint[..23], StringComparison.Ordinal), "the server's fingerprint");
        tmux.Press("Enter");
        await tmux.WaitForAsync(s => s.Contains("carol@" + address, StringComparison.Ordinal) && s.Contains("connected", StringComparison.Ordinal), "the chat screen after registering");
        Assert.Contains("not in any room", tmux.Capture(), StringComparison.Ordinal);

        // /help says how to join; /join with the key opens the room and its history.
        tmux.Type("/help");
        tmux.Press("Enter");
        await tmux.WaitForAsync(s => s.Contains("/join NAME [KEY]", StringComparison.Ordinal), "the help text");
        tmux.Type($"/join friends {key}");
        tmux.Press("Enter");
        await tmux.WaitForAsync(s => s.Contains("friends: shared key", StringComparison.Ordinal) && s.Contains("1 friends", StringComparison.Ordinal), "the joined room");
        await CliProcess.RunOkAsync(BobHome, "send", "--room", "friends", "welcome carol");
        await tmux.WaitForAsync(s => s.Contains("bob: welcome carol", StringComparison.Ordinal), "bob's welcome");

        tmux.Press("C-q");
        Assert.Equal("0", await WaitForExitAsync(tmux, exitFile));
    }

    private async Task<(string ExitFile, string Script)> WriteChatScriptAsync(string home, string arguments)
    {
        var name = Path.GetFileName(home);
        var exitFile = Path.Combine(_root, name + "-exit-code");
        var script = Path.Combine(_root, name + "-chat.sh");
        await File.WriteAllTextAsync(
            script,
            $"""
            export CIPHERCHAT_HOME='{home}'
            export LANG=C.UTF-8
            '{CliProcess.Dotnet}' '{CliProcess.CipherchatDll}' chat {arguments} 2>'{_root}/{name}-stderr'
            echo $? > '{exitFile}'
            sleep 60
            """,
            TestContext.Current.CancellationToken);
        return (exitFile, script);
    }

    /// <summary>Waits for the chat process to exit; returns its exit code, with its standard error if it wrote any.</summary>
    private async Task<string> WaitForExitAsync(Tmux tmux, string exitFile)
    {
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (!File.Exists(exitFile) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.True(File.Exists(exitFile), "cipherchat chat did not exit; screen:\n" + tmux.Capture());
        await Task.Delay(200, TestContext.Current.CancellationToken);
        var stderrFile = exitFile.Replace("-exit-code", "-stderr", StringComparison.Ordinal);
        var stderr = File.Exists(stderrFile) ? await File.ReadAllTextAsync(stderrFile, TestContext.Current.CancellationToken) : string.Empty;
        var code = (await File.ReadAllTextAsync(exitFile, TestContext.Current.CancellationToken)).Trim();
        return stderr.Length > 0 ? $"{code} stderr: {stderr}" : code;
    }

    private static async Task<ReadMessage> WaitForMessageAsync(string home, string room, Func<ReadMessage, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var seen = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            var output = await CliProcess.RunOkAsync(home, "read", "--room", room, "--json");
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                seen.Add(line);
                var message = JsonSerializer.Deserialize<ReadMessage>(line);
                if (message is not null && match(message))
                {
                    return message;
                }
            }

            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        Assert.Fail("the message never arrived; read printed:\n" + string.Join('\n', seen));
        return null!;
    }

    private sealed record ReadMessage(
        [property: System.Text.Json.Serialization.JsonPropertyName("from")] string From,
        [property: System.Text.Json.Serialization.JsonPropertyName("room")] string Room,
        [property: System.Text.Json.Serialization.JsonPropertyName("text")] string? Text);
}
