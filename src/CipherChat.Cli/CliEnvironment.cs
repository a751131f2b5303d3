using CipherChat.Client.Storage;

namespace CipherChat.Cli;

/// <summary>What a command runs against: the client's home folder, its output streams and clock.</summary>
public sealed record CliEnvironment(string Home, TextWriter Out, TextWriter Error, TimeProvider Time)
{
    /// <summary>Reads an environment variable; the process's own unless a test gives another source.</summary>
    public Func<string, string?> Variable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>
    /// Asks the person at the terminal for a secret without echoing it (the argument is the prompt);
    /// null when standard input is not a terminal, so nothing ever waits for input that cannot come.
    /// </summary>
    public Func<string, CancellationToken, string?>? ReadSecret { get; init; }

    /// <summary>The real process: CIPHERCHAT_HOME (or the per-user data folder) and the console.</summary>
    public static CliEnvironment FromProcess() =>
        new(ClientStore.DefaultHome(), Console.Out, Console.Error, TimeProvider.System)
        {
            ReadSecret = Console.IsInputRedirected ? null : TerminalSecret.Read,
        };
}
