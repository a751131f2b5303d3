using CipherChat.Client;
using CipherChat.Client.Storage;

namespace CipherChat.Cli.Commands;

/// <summary>Runs a command body with the client state open, turning every failure into one line and an exit code.</summary>
internal static class CommandRunner
{
    public const string ClientName = "cipherchat-cli/1";

    public static Task<int> RunAsync(CliEnvironment env, Func<ChatClient, CancellationToken, Task<int>> body, CancellationToken cancellationToken) =>
        RunAsync(env, null, body, cancellationToken);

    /// <summary>
    /// Runs <paramref name="body"/>; afterwards (also after a failure) prints the client's warnings, such as
    /// a peer whose key changed, on standard error. <paramref name="context"/> words server refusals.
    /// </summary>
    public static async Task<int> RunAsync(CliEnvironment env, CommandContext? context, Func<ChatClient, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            using var store = ClientStore.Open(env.Home);
            Func<string?> passphrase = () => PassphraseSource.ForClient(env, store, context?.ChoosePassphrase ?? false, cancellationToken);
            if (context is { PassphraseFirst: true })
            {
                var early = passphrase();
                passphrase = () => early;
            }

            await using var client = new ChatClient(store, env.Time, ClientName, passphrase);
            try
            {
                if (context is not null)
                {
                    context.Me = store.GetAccount()?.Username;
                }

                return await body(client, cancellationToken);
            }
            finally
            {
                PrintWarnings(env, client);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return CliErrors.Report(env, ex, context);
        }
    }

    /// <summary>Logs in first, so that a refusal of this account is not mistaken for one about the user the command names.</summary>
    public static async Task LoginAsync(ChatClient client, CommandContext context, CancellationToken cancellationToken)
    {
        await client.ConnectAsync(cancellationToken);
        context.LoggedIn = true;
    }

    /// <summary>
    /// Opens a room this device does not hold yet before acting on it: for an MLS room, the sync joins
    /// from a pending invitation; otherwise it says why the room is not there.
    /// </summary>
    public static async Task EnsureRoomAsync(ChatClient client, string room, CancellationToken cancellationToken)
    {
        if (client.Store.GetRoom(room) is null)
        {
            await client.SyncRoomAsync(room, cancellationToken);
        }
    }

    /// <summary>Parses <c>--tls</c>: on/auto (the default) or off.</summary>
    public static bool ParseTls(string? value) => value?.ToUpperInvariant() switch
    {
        null or "" or "ON" or "AUTO" => true,
        "OFF" => false,
        _ => throw new InvalidNameException($"--tls takes 'on' or 'off', not '{value}'"),
    };

    private static void PrintWarnings(CliEnvironment env, ChatClient client)
    {
        IReadOnlyList<string> warnings;
        try
        {
            warnings = client.TakeWarnings();
        }
        catch (ChatClientException)
        {
            return;
        }

        foreach (var warning in warnings.Distinct(StringComparer.Ordinal))
        {
            CliErrors.Line(env, warning);
        }
    }
}
