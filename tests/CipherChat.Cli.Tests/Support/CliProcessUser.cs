using System.Diagnostics;
using System.Text;

namespace CipherChat.Cli.Tests.Support;

/// <summary>
/// One person running the built <c>cipherchat</c> as real child processes, each with this person's
/// CIPHERCHAT_HOME and with standard input that is not a terminal, as a script would.
/// </summary>
internal sealed class CliProcessUser : IDisposable
{
    private readonly TempFolder _home;

    public CliProcessUser(string name)
    {
        Name = name;
        _home = new TempFolder("proc-home-" + name);
    }

    public string Name { get; }

    public string Home => _home.Path;

    /// <summary>Set for every later command as CIPHERCHAT_PASSPHRASE; null leaves the variable unset.</summary>
    public string? Passphrase { get; set; }

    /// <summary>How many processes this person ran (the test keeps the count bounded).</summary>
    public int Runs { get; private set; }

    public async Task<CliResult> RunAsync(params string[] args)
    {
        Runs++;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(ServerProcess.CliDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CIPHERCHAT_HOME"] = Home;
        start.Environment.Remove("CIPHERCHAT_PASSPHRASE");
        if (Passphrase is not null)
        {
            start.Environment["CIPHERCHAT_PASSPHRASE"] = Passphrase;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start cipherchat");
        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new CliResult(process.ExitCode, (await output).ReplaceLineEndings("\n"), (await error).ReplaceLineEndings("\n"));
    }

    /// <summary>Runs a command that must succeed without a word on standard error.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 0, $"{Name}: 'cipherchat {string.Join(' ', args)}' exited {result.ExitCode}: {result.Error}");
        Assert.True(result.Error.Length == 0, $"{Name}: 'cipherchat {string.Join(' ', args)}' wrote to stderr: {result.Error}");
        return result.Output;
    }

    /// <summary>Runs a command that must fail with exactly one line on standard error; returns that line.</summary>
    public async Task<string> FailsAsync(int exitCode, params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == exitCode, $"{Name}: 'cipherchat {string.Join(' ', args)}' exited {result.ExitCode}, not {exitCode}: {result.Error}{result.Output}");
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{Name}: 'cipherchat {string.Join(' ', args)}' should write one line to stderr: {result.Error}");
        return lines[0];
    }

    /// <summary>Opens this person's client state directly, for checks.</summary>
    public CipherChat.Client.Storage.ClientStore OpenStore() => CipherChat.Client.Storage.ClientStore.Open(Home);

    public void Dispose() => _home.Dispose();
}
