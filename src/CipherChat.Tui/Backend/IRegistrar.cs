using CipherChat.Client.Net;

namespace CipherChat.Tui.Backend;

/// <summary>What the first-run form needs: look at a server's identity, register, or forget a server the user refused.</summary>
public interface IRegistrar
{
    /// <summary>Connects and returns the identity the server presents: its certificate fingerprint, or "plaintext".</summary>
    Task<string> FetchIdentityAsync(ServerAddress server, bool tls, CancellationToken cancellationToken);

    /// <summary>Registers <paramref name="username"/> on the server whose identity the user accepted.</summary>
    Task RegisterAsync(ServerAddress server, bool tls, string username, string? inviteCode, CancellationToken cancellationToken);

    /// <summary>Forgets the identity fetched for a server the user did not accept.</summary>
    void Forget(ServerAddress server);
}
