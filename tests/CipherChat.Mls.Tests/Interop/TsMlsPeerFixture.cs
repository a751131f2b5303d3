using System.Diagnostics;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Interop;

/// <summary>
/// Prepares the ts-mls peer once per test class: copies it to a temporary folder and runs <c>npm ci</c>. When
/// Node.js or npm is missing, or npm ci fails (no registry), <see cref="SkipReason"/> says why.
/// </summary>
public sealed class TsMlsPeerFixture : IDisposable
{
    public TsMlsPeerFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "cipherchat-mls-interop-" + Guid.NewGuid().ToString("N"));
        var source = Environment.GetEnvironmentVariable("CIPHERCHAT_INTEROP_PEER");
        source = string.IsNullOrWhiteSpace(source)
            ? Path.Combine(TestVectors.RepositoryRoot(), "..", "shared", "interop", "mls-ts")
            : Path.GetFullPath(source);
        OurPeer = LocateOurPeer();
        if (!File.Exists(Path.Combine(source, "peer.mjs")))
        {
            SkipReason = "ts-mls peer not found at " + source + " (set CIPHERCHAT_INTEROP_PEER)";
            return;
        }

        if (OurPeer is null)
        {
            SkipReason = "CipherChat.MlsPeer.dll is not built";
            return;
        }

        TsPeerDirectory = Path.Combine(Root, "mls-ts");
        Directory.CreateDirectory(TsPeerDirectory);
        foreach (var file in Directory.GetFiles(source))
        {
            var target = Path.Combine(TsPeerDirectory, Path.GetFileName(file));
            File.Copy(file, target);
            File.SetAttributes(target, FileAttributes.Normal);
        }

        var (ok, output) = Run("node", ["--version"], TsPeerDirectory, TimeSpan.FromSeconds(30));
        if (!ok)
        {
            SkipReason = "Node.js is not available: " + output;
            return;
        }

        (ok, output) = Run("npm", ["ci", "--no-audit", "--no-fund"], TsPeerDirectory, TimeSpan.FromMinutes(5));
        if (!ok)
        {
            SkipReason = "npm ci failed (no npm or no registry access): " + output;
        }
    }

    public string Root { get; }

    public string? TsPeerDirectory { get; }

    /// <summary>Path of CipherChat.MlsPeer.dll, run with <c>dotnet</c>.</summary>
    public string? OurPeer { get; }

    public string? SkipReason { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    // The peer is built alongside the tests (project reference without assembly reference), in the same configuration.
    private static string? LocateOurPeer()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory);
        var framework = baseDir.Name;
        var configuration = baseDir.Parent?.Name ?? "Debug";
        var candidate = Path.Combine(TestVectors.RepositoryRoot(), "tools", "CipherChat.MlsPeer", "bin", configuration, framework, "CipherChat.MlsPeer.dll");
        return File.Exists(candidate) ? candidate : null;
    }

    private static (bool Ok, string Output) Run(string fileName, string[] arguments, string directory, TimeSpan limit)
    {
        try
        {
            var info = new ProcessStartInfo(fileName) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(limit))
            {
                process.Kill(entireProcessTree: true);
                return (false, fileName + " timed out");
            }

            process.WaitForExit();
            var text = (stdout.Result + stderr.Result).Trim();
            return (process.ExitCode == 0, text.Length > 300 ? text[^300..] : text);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}
