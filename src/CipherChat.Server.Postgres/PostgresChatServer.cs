using CipherChat.Server.Delivery;
using CipherChat.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace CipherChat.Server.Postgres;

/// <summary>Starts a server node on a shared PostgreSQL database: what `cipherchat server --postgres` runs.</summary>
public static class PostgresChatServer
{
    /// <summary>
    /// Connects to the database (migrating its schema when needed) and starts a node on it. With
    /// <paramref name="cluster"/> the node exchanges fan-out with the other nodes; the server disposes
    /// the bus and closes the database when it stops.
    /// </summary>
    public static async Task<ChatServer> StartAsync(ChatServerOptions options, string connectionString, IClusterBus? cluster, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        PostgresChatStore store;
        try
        {
            store = await PostgresChatStore.OpenAsync(connectionString, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        try
        {
            return await ChatServer.StartAsync(options, store, cluster, loggerFactory, ownsStore: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Adds a new one-time invite code to the shared database and returns it.</summary>
    public static async Task<string> CreateInviteAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var code = InviteCodes.Create();
        var store = await PostgresChatStore.OpenAsync(connectionString, cancellationToken).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            await store.AddInviteAsync(InviteCodes.Hash(code), DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
        }

        return code;
    }
}
