using CipherChat.Client;
using CipherChat.Client.Net;

namespace CipherChat.Tui.Backend;

/// <summary><see cref="IRegistrar"/> over <see cref="ChatClient"/>.</summary>
public sealed class ClientRegistrar(ChatClient client) : IRegistrar
{
    public async Task<string> FetchIdentityAsync(ServerAddress server, bool tls, CancellationToken cancellationToken)
    {
        // Pins what the server presents; Forget undoes it if the user refuses.
        var (_, current) = await client.TrustAsync(server, tls, cancellationToken).ConfigureAwait(false);
        return current;
    }

    public Task RegisterAsync(ServerAddress server, bool tls, string username, string? inviteCode, CancellationToken cancellationToken) =>
        client.RegisterAsync(server, tls, username, inviteCode, cancellationToken);

    public void Forget(ServerAddress server)
    {
        ArgumentNullException.ThrowIfNull(server);
        client.Store.RemovePin(server.ToString());
    }
}
