using System.Diagnostics;

namespace CipherChat.Tui.Tests.EndToEnd;

/// <summary>Runs the built <c>cipherchat</c> (copied next to the tests) as a child process with its own CIPHERCHAT_HOME.</summary>
internal static class CliProcess
{
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static string CipherchatDll => Path.Combine(AppContext.BaseDirectory, "cipherchat.dll");

    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(string home, params string[] args)
    {
        var start = new ProcessStartInfo(Dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CipherchatDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["CIPHERCHAT_HOME"] = home;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start cipherchat");
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

        return (process.ExitCode, await output, await error);
    }

    public static async Task<string> RunOkAsync(string home, params string[] args)
    {
        var (code, output, error) = await RunAsync(home, args);
        Assert.True(code == 0, $"cipherchat {string.Join(' ', args)} exited with {code}: {error}");
        return output;
    }
}
