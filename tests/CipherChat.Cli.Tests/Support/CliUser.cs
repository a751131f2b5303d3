using CipherChat.Client.Storage;

namespace CipherChat.Cli.Tests.Support;

/// <summary>One person with their own CIPHERCHAT_HOME, running cipherchat commands in-process.</summary>
internal sealed class CliUser : IDisposable
{
    private readonly TempFolder _home;

    public CliUser(string name)
    {
        Name = name;
        _home = new TempFolder("home-" + name);
    }

    public string Name { get; }

    public string Home => _home.Path;

    public async Task<CliResult> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var env = new CliEnvironment(Home, output, error, TimeProvider.System);
        var code = await CliApp.RunAsync(args, env, handleTermination: false);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs a long command (read --follow) writing to <paramref name="output"/> until <paramref name="cancellationToken"/> fires.</summary>
    public Task<int> RunUntilCancelledAsync(TextWriter output, TextWriter error, CancellationToken cancellationToken, params string[] args)
    {
        var env = new CliEnvironment(Home, output, error, TimeProvider.System);
        return CliApp.RunAsync(args, env, handleTermination: false, root: null, cancellationToken);
    }

    /// <summary>Runs a command that must succeed; fails the test with its error line otherwise.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 0, $"{Name}: 'cipherchat {string.Join(' ', args)}' exited {result.ExitCode}: {result.Error}");
        Assert.Equal(string.Empty, result.Error);
        return result.Output;
    }

    /// <summary>Opens this user's client state directly (for checks and for simulating a wrong local key).</summary>
    public ClientStore OpenStore() => ClientStore.Open(Home);

    public void Dispose() => _home.Dispose();
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
