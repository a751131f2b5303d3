using System.Diagnostics;

namespace CipherChat.Tui.Tests.EndToEnd;

/// <summary>A private tmux server (its own socket) holding one detached session of a fixed size.</summary>
internal sealed class Tmux : IDisposable
{
    private readonly string _socket = $"cipherchat-test-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40];

    public const string Session = "chat";

    public static bool IsInstalled()
    {
        try
        {
            return Run(null, ["-V"]).ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Starts <paramref name="command"/> (a shell command line) in a new detached session.</summary>
    public void Start(string command, int width, int height) =>
        Check(["-f", "/dev/null", "new-session", "-d", "-s", Session, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture), command]);

    /// <summary>Types text literally (no key names).</summary>
    public void Type(string text) => Check(["send-keys", "-t", Session, "-l", text]);

    /// <summary>Presses keys by tmux name: Enter, M-2, C-q, PageUp...</summary>
    public void Press(params string[] keys) => Check(["send-keys", "-t", Session, .. keys]);

    /// <summary>Pastes text the way a terminal does (bracketed when the program asked for it).</summary>
    public void Paste(string text)
    {
        Check(["set-buffer", "-b", "clip", text]);
        Check(["paste-buffer", "-p", "-d", "-b", "clip", "-t", Session]);
    }

    public void Resize(int width, int height) =>
        Check(["resize-window", "-t", Session, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    public string Capture()
    {
        var (code, output) = Run(_socket, ["capture-pane", "-p", "-t", Session]);
        return code == 0 ? output : string.Empty;
    }

    /// <summary>Polls the screen until <paramref name="condition"/> holds; fails with the last screen after <paramref name="seconds"/>.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var screen = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            screen = Capture();
            if (condition(screen))
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"--- screen with {what} ---\n{screen}");
                return screen;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"timed out after {seconds}s waiting for {what}; the screen was:\n{screen}");
        return screen;
    }

    public void Dispose() => Run(_socket, ["kill-server"]);

    private void Check(string[] args)
    {
        var (code, output) = Run(_socket, args);
        Assert.True(code == 0, $"tmux {string.Join(' ', args)} failed: {output}");
    }

    private static (int ExitCode, string Output) Run(string? socket, string[] args)
    {
        var start = new ProcessStartInfo("tmux")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (socket is not null)
        {
            start.ArgumentList.Add("-L");
            start.ArgumentList.Add(socket);
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start tmux");
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
        }

        return (process.ExitCode, output);
    }
}
