using CipherChat.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace CipherChat.Server.Sqlite;

/// <summary>Starts a server on the SQLite database in its data folder: what `cipherchat server` runs.</summary>
public static class SqliteChatServer
{
    /// <summary>
    /// Opens (or creates) the database in <see cref="ChatServerOptions.DataDirectory"/> and starts a
    /// server on it; the server closes the database when it stops.
    /// </summary>
    public static async Task<ChatServer> StartAsync(ChatServerOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var store = await SqliteChatStore.OpenAsync(options.DataDirectory, cancellationToken).ConfigureAwait(false);
        try
        {
            return await ChatServer.StartAsync(options, store, loggerFactory, ownsStore: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Adds a new one-time invite code to the database in <paramref name="dataDirectory"/> and returns it.</summary>
    public static async Task<string> CreateInviteAsync(string dataDirectory, CancellationToken cancellationToken = default)
    {
        var code = InviteCodes.Create();
        var store = await SqliteChatStore.OpenAsync(dataDirectory, cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            await store.AddInviteAsync(InviteCodes.Hash(code), DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
        }

        return code;
    }
}
