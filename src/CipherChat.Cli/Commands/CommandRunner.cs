using CipherChat.Client;
using CipherChat.Client.Storage;

namespace CipherChat.Cli.Commands;

/// <summary>Runs a command body with the client state open, turning every failure into one line and an exit code.</summary>
internal static class CommandRunner
{
    public const string ClientName = "cipherchat-cli/1";

    public static async Task<int> RunAsync(CliEnvironment env, Func<ChatClient, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            using var store = ClientStore.Open(env.Home);
            await using var client = new ChatClient(store, env.Time, ClientName);
            return await body(client, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return CliErrors.Report(env, ex);
        }
    }

    /// <summary>Parses <c>--tls</c>: on/auto (the default) or off.</summary>
    public static bool ParseTls(string? value) => value?.ToUpperInvariant() switch
    {
        null or "" or "ON" or "AUTO" => true,
        "OFF" => false,
        _ => throw new InvalidNameException($"--tls takes 'on' or 'off', not '{value}'"),
    };
}
