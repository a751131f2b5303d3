using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CipherChat.Client.Fernet;

/// <summary>
/// Fernet tokens, version 0x80: AES-128-CBC with PKCS#7 padding, authenticated by HMAC-SHA256
/// (encrypt-then-MAC), encoded as url-safe base64. Tokens made here open with any Fernet
/// implementation that holds the key, and the reverse.
/// </summary>
public static class FernetToken
{
    private const byte Version = 0x80;
    private const int TimestampLength = 8;
    private const int IvLength = 16;
    private const int BlockLength = 16;
    private const int MacLength = 32;
    private const int HeaderLength = 1 + TimestampLength + IvLength;

    /// <summary>How far a token's timestamp may lie in the future when a time-to-live is checked.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>Encrypts <paramref name="plaintext"/> with a fresh random IV.</summary>
    public static string Encrypt(FernetKey key, ReadOnlySpan<byte> plaintext, DateTimeOffset now)
    {
        Span<byte> iv = stackalloc byte[IvLength];
        RandomNumberGenerator.Fill(iv);
        return Encrypt(key, plaintext, now, iv);
    }

    /// <summary>
    /// Encrypts with a caller-chosen IV. Only for reproducing known answers: an IV must never repeat
    /// under one key.
    /// </summary>
    public static string Encrypt(FernetKey key, ReadOnlySpan<byte> plaintext, DateTimeOffset now, ReadOnlySpan<byte> iv)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (iv.Length != IvLength)
        {
            throw new ArgumentException($"The IV is {IvLength} bytes.", nameof(iv));
        }

        var seconds = now.ToUnixTimeSeconds();
        if (seconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(now), "Fernet timestamps start at 1970-01-01.");
        }

        var cipherLength = (plaintext.Length / BlockLength + 1) * BlockLength;
        var token = new byte[HeaderLength + cipherLength + MacLength];
        token[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(token.AsSpan(1, TimestampLength), (ulong)seconds);
        iv.CopyTo(token.AsSpan(1 + TimestampLength, IvLength));

        using (var aes = CreateAes(key))
        {
            var written = aes.EncryptCbc(plaintext, iv, token.AsSpan(HeaderLength, cipherLength), PaddingMode.PKCS7);
            if (written != cipherLength)
            {
                throw new CryptographicException("Unexpected AES-CBC output length.");
            }
        }

        var signed = token.AsSpan(0, HeaderLength + cipherLength);
        HMACSHA256.HashData(key.SigningKey, signed, token.AsSpan(HeaderLength + cipherLength, MacLength));
        return Base64Url.Encode(token);
    }

    /// <summary>
    /// Verifies and decrypts a token. With a <paramref name="timeToLive"/>, a token older than it, or
    /// stamped further in the future than <see cref="MaxClockSkew"/>, is refused as well.
    /// </summary>
    /// <exception cref="FernetException">The token is malformed, does not verify under the key, or is out of its time window.</exception>
    public static byte[] Decrypt(FernetKey key, string token, DateTimeOffset now, TimeSpan? timeToLive = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(token);

        var data = Base64Url.TryDecode(token.AsSpan().Trim())
            ?? throw new FernetException("The token is not valid url-safe base64.");

        if (data.Length < HeaderLength + BlockLength + MacLength)
        {
            throw new FernetException("The token is too short.");
        }

        if (data[0] != Version)
        {
            throw new FernetException("The token has an unknown version.");
        }

        var cipherLength = data.Length - HeaderLength - MacLength;
        if (cipherLength % BlockLength != 0)
        {
            throw new FernetException("The token's ciphertext is not a whole number of blocks.");
        }

        var timestamp = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(1, TimestampLength));
        if (timeToLive is { } ttl)
        {
            var nowSeconds = now.ToUnixTimeSeconds();
            if (timestamp > (ulong)Math.Max(0, nowSeconds + (long)MaxClockSkew.TotalSeconds))
            {
                throw new FernetException("The token is stamped too far in the future.");
            }

            if (nowSeconds - (long)timestamp > (long)ttl.TotalSeconds)
            {
                throw new FernetException("The token has expired.");
            }
        }

        // Authenticate before touching the ciphertext, and compare the tags in constant time.
        Span<byte> expectedMac = stackalloc byte[MacLength];
        HMACSHA256.HashData(key.SigningKey, data.AsSpan(0, HeaderLength + cipherLength), expectedMac);
        if (!CryptographicOperations.FixedTimeEquals(expectedMac, data.AsSpan(HeaderLength + cipherLength, MacLength)))
        {
            throw new FernetException("The token does not verify with this key (wrong key or tampered token).");
        }

        using var aes = CreateAes(key);
        try
        {
            return aes.DecryptCbc(data.AsSpan(HeaderLength, cipherLength), data.AsSpan(1 + TimestampLength, IvLength), PaddingMode.PKCS7);
        }
        catch (CryptographicException)
        {
            throw new FernetException("The token's padding is invalid.");
        }
    }

    /// <summary>The creation time recorded in a token, read without verifying it.</summary>
    public static DateTimeOffset ReadTimestamp(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var data = Base64Url.TryDecode(token.AsSpan().Trim());
        if (data is null || data.Length < HeaderLength || data[0] != Version)
        {
            throw new FernetException("Not a Fernet token.");
        }

        var seconds = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(1, TimestampLength));
        if (seconds > (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw new FernetException("The token's timestamp is out of range.");
        }

        return DateTimeOffset.FromUnixTimeSeconds((long)seconds);
    }

    private static Aes CreateAes(FernetKey key)
    {
        var aes = Aes.Create();
        var encryptionKey = key.EncryptionKey.ToArray();
        try
        {
            aes.Key = encryptionKey;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(encryptionKey);
        }

        return aes;
    }
}
