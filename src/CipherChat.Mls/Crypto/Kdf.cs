using System.Security.Cryptography;

namespace CipherChat.Mls.Crypto;

/// <summary>HKDF-SHA256 (RFC 5869) from System.Security.Cryptography, with lengths checked up front.</summary>
internal static class Kdf
{
    public const int HashLength = 32;

    public const int MaxOutputLength = 255 * HashLength;

    public static byte[] Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ikm)
    {
        var prk = new byte[HashLength];
        HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
        return prk;
    }

    public static byte[] Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, int length)
    {
        if (length is < 0 or > MaxOutputLength)
        {
            throw new MlsMisuseException("HKDF-SHA256 output length out of range.");
        }

        // HKDF-Expand needs a pseudorandom key of at least one hash length.
        if (prk.Length < HashLength)
        {
            throw new MlsMisuseException("HKDF-SHA256 key shorter than the hash length.");
        }

        var output = new byte[length];
        if (length > 0)
        {
            HKDF.Expand(HashAlgorithmName.SHA256, prk, output, info);
        }

        return output;
    }
}
