using System.Security.Cryptography;

namespace CipherChat.Client.Fernet;

/// <summary>
/// A 256-bit Fernet key: a 128-bit HMAC-SHA256 signing key followed by a 128-bit AES-128 encryption key.
/// Its text form is 44 characters of url-safe base64, the form every Fernet implementation accepts.
/// </summary>
public sealed class FernetKey : IDisposable
{
    public const int Length = 32;
    private const int HalfLength = 16;

    private readonly byte[] _bytes;

    private FernetKey(byte[] bytes) => _bytes = bytes;

    internal ReadOnlySpan<byte> SigningKey => _bytes.AsSpan(0, HalfLength);

    internal ReadOnlySpan<byte> EncryptionKey => _bytes.AsSpan(HalfLength, HalfLength);

    /// <summary>A new key from the operating system's cryptographic random source.</summary>
    public static FernetKey Generate() => new(RandomNumberGenerator.GetBytes(Length));

    public static FernetKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Length)
        {
            throw new FernetException($"A Fernet key is {Length} bytes, not {key.Length}.");
        }

        return new FernetKey(key.ToArray());
    }

    /// <summary>Parses the 44-character url-safe base64 form (padding optional).</summary>
    public static FernetKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Base64Url.TryDecode(text.Trim());
        if (bytes is null || bytes.Length != Length)
        {
            if (bytes is not null)
            {
                CryptographicOperations.ZeroMemory(bytes);
            }

            throw new FernetException("Not a Fernet key: expected 44 characters of url-safe base64 encoding 32 bytes.");
        }

        return new FernetKey(bytes);
    }

    /// <summary>Copies the raw key bytes into <paramref name="destination"/> (for key derivation).</summary>
    public void CopyTo(Span<byte> destination) => _bytes.CopyTo(destination);

    /// <summary>The shareable text form of the key. Treat it as a secret.</summary>
    public string Export() => Base64Url.Encode(_bytes);

    /// <summary>Never reveals the key; use <see cref="Export"/> on purpose.</summary>
    public override string ToString() => "FernetKey(***)";

    public void Dispose() => CryptographicOperations.ZeroMemory(_bytes);
}
