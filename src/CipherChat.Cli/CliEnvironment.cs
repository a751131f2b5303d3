using CipherChat.Client.Storage;

namespace CipherChat.Cli;

/// <summary>What a command runs against: the client's home folder, its output streams and clock.</summary>
public sealed record CliEnvironment(string Home, TextWriter Out, TextWriter Error, TimeProvider Time)
{
    /// <summary>The real process: CIPHERCHAT_HOME (or the per-user data folder) and the console.</summary>
    public static CliEnvironment FromProcess() =>
        new(ClientStore.DefaultHome(), Console.Out, Console.Error, TimeProvider.System);
}
