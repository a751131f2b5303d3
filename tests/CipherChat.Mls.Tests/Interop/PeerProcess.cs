using System.Diagnostics;
using System.Text.Json;

namespace CipherChat.Mls.Tests.Interop;

/// <summary>Runs one peer command as a child process with a time limit and parses its one-line JSON output.</summary>
internal sealed class PeerProcess(string name, string fileName, IReadOnlyList<string> prefixArguments, string workingDirectory)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    public string Name { get; } = name;

    public (int ExitCode, string Stdout, string Stderr) RunRaw(params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in prefixArguments.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + fileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} {string.Join(' ', arguments)} did not finish in {Limit}.");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a command that must succeed and print one JSON object.</summary>
    public JsonElement Run(params string[] arguments)
    {
        var (code, stdout, stderr) = RunRaw(arguments);
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"{Name} {string.Join(' ', arguments)} failed ({code}): {stderr.Trim()}");
        }

        var line = stdout.Trim().Split('\n').Last();
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement.Clone();
        Assert.True(root.GetProperty("ok").GetBoolean());
        return root;
    }

    /// <summary>Runs a command with --text-only and returns the text it printed.</summary>
    public string RunText(params string[] arguments)
    {
        var (code, stdout, stderr) = RunRaw(arguments);
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"{Name} {string.Join(' ', arguments)} failed ({code}): {stderr.Trim()}");
        }

        return stdout.TrimEnd('\n', '\r');
    }
}
