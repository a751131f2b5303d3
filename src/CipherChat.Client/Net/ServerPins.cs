using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CipherChat.Client.Storage;

namespace CipherChat.Client.Net;

/// <summary>
/// Trust on first use for server identities, like SSH known_hosts with accept-new. A server's identity
/// is the SHA-256 fingerprint of its certificate (upper-case hex pairs joined by colons, over the DER
/// bytes), or the word <c>plaintext</c> for a server used without TLS. The first identity seen for an
/// endpoint is pinned; a different one later is refused. Pinning "plaintext" also means a server first
/// used over TLS is never silently used without it, and the reverse.
/// </summary>
public static class ServerPins
{
    public const string Plaintext = "plaintext";

    public static string Fingerprint(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var hash = SHA256.HashData(certificate.GetRawCertData());
        return string.Join(':', hash.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Checks <paramref name="presented"/> against the pin for <paramref name="server"/>, pinning it if
    /// there is none. Returns true when it was pinned now (first use).
    /// </summary>
    /// <exception cref="ServerIdentityChangedException">The server's identity differs from the pin.</exception>
    public static bool Verify(ClientStore store, ServerAddress server, string presented, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(server);
        var endpoint = server.ToString();
        var existing = store.GetPin(endpoint);
        if (existing is null)
        {
            existing = store.AddPinIfAbsent(endpoint, presented, now);
            if (Matches(existing, presented))
            {
                return true;
            }
        }

        if (Matches(existing, presented))
        {
            return false;
        }

        throw new ServerIdentityChangedException(DescribeChange(endpoint, existing, presented));
    }

    private static bool Matches(string pinned, string presented) =>
        CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(pinned),
            System.Text.Encoding.ASCII.GetBytes(presented));

    private static string DescribeChange(string endpoint, string pinned, string presented)
    {
        var todo = $"if the server's operator confirms the new identity, run 'cipherchat trust --server {endpoint}'";
        if (pinned == Plaintext)
        {
            return $"{endpoint} was first used without TLS and now presents a certificate (SHA-256 {presented}): {todo}";
        }

        if (presented == Plaintext)
        {
            return $"{endpoint} was pinned with a TLS certificate (SHA-256 {pinned}); refusing to talk to it without TLS: connect with TLS, or {todo}";
        }

        return $"the certificate of {endpoint} has CHANGED (pinned SHA-256 {pinned}, now {presented}); this may be an attack: {todo}";
    }
}
