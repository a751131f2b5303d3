using System.Text.RegularExpressions;
using CipherChat.Cli.Tests.Support;
using CipherChat.Server.Hosting;

namespace CipherChat.Cli.Tests;

public sealed class FollowAndPinTests
{
    [Fact]
    public async Task Read_follow_prints_each_message_once_and_survives_a_server_restart()
    {
        await using var server = await InProcessServer.StartAsync(tls: false);
        using var alice = new CliUser("alice");
        using var bob = new CliUser("bob");
        await alice.OkAsync("register", "--server", server.Address, "--user", "alice", "--tls", "off");
        await bob.OkAsync("register", "--server", server.Address, "--user", "bob", "--tls", "off");
        var key = (await alice.OkAsync("keygen")).Trim();
        await alice.OkAsync("room", "join", "live", "--key", key);
        await bob.OkAsync("room", "join", "live", "--key", key);
        await alice.OkAsync("send", "--room", "live", "before follow");

        var output = new SharedWriter();
        var error = new SharedWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var follow = bob.RunUntilCancelledAsync(output, error, stop.Token, "read", "--room", "live", "--follow");

        await WaitForAsync(() => output.Text.Contains("before follow", StringComparison.Ordinal), follow);
        await alice.OkAsync("send", "--room", "live", "while following");
        await WaitForAsync(() => output.Text.Contains("while following", StringComparison.Ordinal), follow);

        await server.RestartAsync();
        await alice.OkAsync("send", "--room", "live", "after restart");
        await WaitForAsync(() => output.Text.Contains("after restart", StringComparison.Ordinal), follow, error);

        await stop.CancelAsync();
        Assert.Equal(0, await follow);
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.EndsWith("alice: before follow", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("alice: while following", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("alice: after restart", lines[2], StringComparison.Ordinal);
        Assert.Contains("reconnect", error.Text, StringComparison.Ordinal);

        // Nothing is new for a later plain read.
        Assert.Equal(string.Empty, await bob.OkAsync("read", "--room", "live"));
    }

    [Fact]
    public async Task A_changed_certificate_is_refused_until_the_user_trusts_it()
    {
        await using var server = await InProcessServer.StartAsync(tls: true);
        using var alice = new CliUser("alice");
        await alice.OkAsync("register", "--server", server.Address, "--user", "alice");
        var oldFingerprint = server.Fingerprint!;

        // The operator replaces the certificate (here: a new self-signed one).
        await server.StopAsync();
        File.Delete(Path.Combine(server.DataDirectory, ServerCertificate.SelfSignedFileName));
        await server.RestartAsync();
        Assert.NotEqual(oldFingerprint, server.Fingerprint);

        var refused = await alice.RunAsync("rooms");
        Assert.Equal(1, refused.ExitCode);
        Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("CHANGED", refused.Error, StringComparison.Ordinal);
        Assert.Contains(oldFingerprint, refused.Error, StringComparison.Ordinal);
        Assert.Contains(server.Fingerprint!, refused.Error, StringComparison.Ordinal);
        Assert.Contains($"cipherchat trust --server {server.Address}", refused.Error, StringComparison.Ordinal);

        var trusted = await alice.OkAsync("trust", "--server", server.Address);
        Assert.Contains(server.Fingerprint!, trusted, StringComparison.Ordinal);
        Assert.Equal(0, (await alice.RunAsync("rooms")).ExitCode);
    }

    [Fact]
    public async Task Errors_are_one_clear_line_with_a_non_zero_exit_code()
    {
        using var alice = new CliUser("alice");
        var notRegistered = await alice.RunAsync("send", "--room", "general", "hi");
        Assert.Equal(1, notRegistered.ExitCode);
        Assert.Equal("cipherchat: not registered yet: run 'cipherchat register --server HOST[:PORT] --user NAME' first", notRegistered.Error.Trim());

        var refused = await alice.RunAsync("register", "--server", "127.0.0.1:1", "--user", "alice", "--tls", "off");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("cipherchat: cannot connect to 127.0.0.1:1: connection refused — is the server running?", refused.Error.Trim());

        var badName = await alice.RunAsync("register", "--server", "127.0.0.1", "--user", "no spaces");
        Assert.Equal(2, badName.ExitCode);
        Assert.Single(badName.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // "@bob" is a direct conversation: not a usage error, but this device has no account yet.
        var dm = await alice.RunAsync("read", "--room", "@bob");
        Assert.Equal(1, dm.ExitCode);
        Assert.Contains("register", dm.Error, StringComparison.Ordinal);
        Assert.Single(dm.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var unknown = await alice.RunAsync("frobnicate");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("frobnicate", unknown.Error, StringComparison.Ordinal);

        var keygen = await alice.RunAsync("keygen");
        Assert.Equal(0, keygen.ExitCode);
        Assert.Matches(new Regex("^[A-Za-z0-9_-]{43}=\n$"), keygen.Output.ReplaceLineEndings("\n"));
    }

    private static async Task WaitForAsync(Func<bool> condition, Task<int> follow, SharedWriter? error = null)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            Assert.False(follow.IsCompleted, "read --follow ended early");
            await Task.Delay(50);
        }

        Assert.True(condition(), "the expected output did not appear within 15 seconds; stderr: " + error?.Text);
    }

    /// <summary>A text writer that a running command writes to while the test reads it.</summary>
    private sealed class SharedWriter : StringWriter
    {
        private readonly Lock _gate = new();

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return GetStringBuilder().ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_gate)
            {
                base.Write(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_gate)
            {
                base.Write(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                base.WriteLine(value);
            }
        }
    }
}
