using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CipherChat.Client.Storage;
using CipherChat.Protocol;

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
        return CertificateFingerprint.Compute(certificate.GetRawCertData());
    }

    /// <summary>
    /// Checks <paramref name="presented"/> against the pin for <paramref name="server"/>, pinning it if
    /// there is none. Returns true when it was pinned now (first use).
    /// </summary>
    /// <exception cref="ServerIdentityChangedException">The server's identity differs from the pin.</exception>
    public static bool Verify(ClientStore store, ServerAddress server, string presented, DateTimeOffset now)
    {
        if (!Check(store, server, presented))
        {
            return false;
        }

        return Pin(store, server, presented, now);
    }

    /// <summary>
    /// Compares <paramref name="presented"/> with the pin without storing anything. Returns true when
    /// there is no pin yet (the caller pins with <see cref="Pin"/> once the server has proved to be a
    /// CipherChat server), false when it matches.
    /// </summary>
    /// <exception cref="ServerIdentityChangedException">The server's identity differs from the pin.</exception>
    public static bool Check(ClientStore store, ServerAddress server, string presented)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(server);
        var existing = store.GetPin(server.ToString());
        if (existing is null)
        {
            return true;
        }

        return Matches(existing, presented)
            ? false
            : throw new ServerIdentityChangedException(DescribeChange(server.ToString(), existing, presented));
    }

    /// <summary>Pins on first use; returns true when this call pinned, false when the same pin was already there.</summary>
    /// <exception cref="ServerIdentityChangedException">Another identity was pinned meanwhile.</exception>
    public static bool Pin(ClientStore store, ServerAddress server, string presented, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(server);
        var endpoint = server.ToString();
        var existed = store.GetPin(endpoint) is not null;
        var pinned = store.AddPinIfAbsent(endpoint, presented, now);
        if (!Matches(pinned, presented))
        {
            throw new ServerIdentityChangedException(DescribeChange(endpoint, pinned, presented));
        }

        return !existed;
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
