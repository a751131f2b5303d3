using System.Security.Cryptography;

namespace CipherChat.Protocol;

/// <summary>
/// The fingerprint by which clients pin a server's certificate: SHA-256 over the DER certificate,
/// written as upper-case hex pairs joined by colons ("AB:01:...", 95 characters).
/// </summary>
public static class CertificateFingerprint
{
    /// <summary>The fingerprint of a DER-encoded certificate.</summary>
    public static string Compute(ReadOnlySpan<byte> derCertificate)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(derCertificate, hash);
        return Format(hash);
    }

    /// <summary>Writes a hash as colon-separated upper-case hex pairs.</summary>
    public static string Format(ReadOnlySpan<byte> hash)
    {
        return string.Create((hash.Length * 3) - 1, hash.ToArray(), static (chars, bytes) =>
        {
            const string Hex = "0123456789ABCDEF";
            for (var i = 0; i < bytes.Length; i++)
            {
                var at = i * 3;
                chars[at] = Hex[bytes[i] >> 4];
                chars[at + 1] = Hex[bytes[i] & 15];
                if (at + 2 < chars.Length)
                {
                    chars[at + 2] = ':';
                }
            }
        });
    }

    /// <summary>
    /// Compares two fingerprints, ignoring case, colons and spaces, so a fingerprint copied in any of
    /// the usual spellings matches.
    /// </summary>
    public static bool Matches(string? expected, string? actual)
    {
        if (expected is null || actual is null)
        {
            return false;
        }

        static string Canonical(string value) =>
            new(value.Where(Uri.IsHexDigit).Select(char.ToUpperInvariant).ToArray());

        var a = Canonical(expected);
        var b = Canonical(actual);
        return a.Length == SHA256.HashSizeInBytes * 2 && string.Equals(a, b, StringComparison.Ordinal);
    }
}
