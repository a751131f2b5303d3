using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CipherChat.Client.Identity;

/// <summary>
/// Fingerprints of users' Ed25519 device keys and the safety number two users compare (by voice or QR) to
/// know that neither key was swapped by the server.
/// </summary>
/// <remarks>
/// Each user's half is 30 digits computed from the username and the key: SHA-512 iterated
/// <see cref="Iterations"/> times over a versioned, domain-separated input (version, label, length-prefixed
/// username, key), then 6 chunks of 5 bytes, each taken modulo 100000. The two halves are ordered by the
/// (username, key) pair, so both users compute the same 60 digits. The iteration makes searching for a
/// second key whose half collides costly; it is no secret.
/// </remarks>
public static class SafetyNumber
{
    /// <summary>Version of the computation; a change would show every user a different number.</summary>
    public const ushort Version = 1;

    public const int Iterations = 5200;

    /// <summary>Digits in the whole safety number.</summary>
    public const int Digits = 60;

    public const int GroupSize = 5;

    public const int Ed25519KeyLength = 32;

    private const int HalfDigits = Digits / 2;
    private const int MaxUsernameBytes = 255;

    private static ReadOnlySpan<byte> HalfLabel => "CipherChat safety number half"u8;

    private static ReadOnlySpan<byte> FingerprintLabel => "CipherChat key fingerprint"u8;

    /// <summary>
    /// The 60-digit safety number of two users, without separators, identical whichever user computes it.
    /// Throws <see cref="ArgumentException"/> for a key that is not 32 bytes or an empty or overlong name.
    /// </summary>
    public static string Compute(string userA, ReadOnlySpan<byte> keyA, string userB, ReadOnlySpan<byte> keyB)
    {
        var halfA = Half(userA, keyA);
        var halfB = Half(userB, keyB);
        return ComparePairs(userA, keyA, userB, keyB) <= 0 ? halfA + halfB : halfB + halfA;
    }

    /// <summary>The safety number as 12 groups of 5 digits separated by spaces.</summary>
    public static string Format(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        if (digits.Length != Digits || !digits.All(char.IsAsciiDigit))
        {
            throw new ArgumentException("A safety number has exactly 60 digits.", nameof(digits));
        }

        var builder = new StringBuilder(Digits + (Digits / GroupSize));
        for (var i = 0; i < Digits; i += GroupSize)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }

            builder.Append(digits, i, GroupSize);
        }

        return builder.ToString();
    }

    /// <summary>The safety number as 3 lines of 4 groups, the shape to read out loud.</summary>
    public static string FormatLines(string digits)
    {
        var groups = Format(digits).Split(' ');
        return string.Join('\n', groups.Chunk(4).Select(line => string.Join(' ', line)));
    }

    /// <summary>
    /// True when <paramref name="typed"/> (spaces, dashes and line breaks ignored) is the same number as
    /// <paramref name="digits"/>; for checking a number the other user read out.
    /// </summary>
    public static bool Matches(string digits, string typed)
    {
        ArgumentNullException.ThrowIfNull(digits);
        ArgumentNullException.ThrowIfNull(typed);
        var cleaned = new string(typed.Where(c => !char.IsWhiteSpace(c) && c != '-').ToArray());
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(digits), Encoding.ASCII.GetBytes(cleaned));
    }

    /// <summary>
    /// A user's key fingerprint: the first 16 bytes of SHA-256 over a domain-separated input, as 8 groups of
    /// 4 uppercase hex digits. It names the key alone (no username), so it is the same in every conversation.
    /// </summary>
    public static string Fingerprint(ReadOnlySpan<byte> ed25519PublicKey)
    {
        CheckKey(ed25519PublicKey);
        var input = new byte[2 + FingerprintLabel.Length + ed25519PublicKey.Length];
        BitConverterBigEndian(Version, input);
        FingerprintLabel.CopyTo(input.AsSpan(2));
        ed25519PublicKey.CopyTo(input.AsSpan(2 + FingerprintLabel.Length));
        var hash = SHA256.HashData(input);
        var hex = Convert.ToHexString(hash, 0, 16);
        return string.Join(' ', Enumerable.Range(0, 8).Select(i => hex.Substring(i * 4, 4)));
    }

    // 30 digits for one user.
    internal static string Half(string user, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(user);
        CheckKey(key);
        var name = Encoding.UTF8.GetBytes(user);
        if (name.Length is 0 or > MaxUsernameBytes)
        {
            throw new ArgumentException("A username must be 1 to 255 bytes.", nameof(user));
        }

        // version (2) | label | len(name) (1) | name | key: every part has a fixed or stated length, so no two
        // different (name, key) pairs give the same input.
        var seed = new byte[2 + HalfLabel.Length + 1 + name.Length + key.Length];
        var at = 0;
        BitConverterBigEndian(Version, seed);
        at += 2;
        HalfLabel.CopyTo(seed.AsSpan(at));
        at += HalfLabel.Length;
        seed[at++] = (byte)name.Length;
        name.CopyTo(seed, at);
        at += name.Length;
        key.CopyTo(seed.AsSpan(at));

        // Each round hashes the previous digest followed by the key, as the key must bind every round.
        Span<byte> digest = stackalloc byte[SHA512.HashSizeInBytes];
        SHA512.HashData(seed, digest);
        var round = new byte[SHA512.HashSizeInBytes + key.Length];
        key.CopyTo(round.AsSpan(SHA512.HashSizeInBytes));
        for (var i = 1; i < Iterations; i++)
        {
            digest.CopyTo(round);
            SHA512.HashData(round, digest);
        }

        var builder = new StringBuilder(HalfDigits);
        for (var chunk = 0; chunk < HalfDigits / GroupSize; chunk++)
        {
            ulong value = 0;
            for (var b = 0; b < 5; b++)
            {
                value = (value << 8) | digest[(chunk * 5) + b];
            }

            builder.Append((value % 100000).ToString("D5", CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    private static int ComparePairs(string userA, ReadOnlySpan<byte> keyA, string userB, ReadOnlySpan<byte> keyB)
    {
        var byName = string.CompareOrdinal(userA, userB);
        return byName != 0 ? byName : keyA.SequenceCompareTo(keyB);
    }

    private static void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Ed25519KeyLength)
        {
            throw new ArgumentException("An Ed25519 public key is 32 bytes.", nameof(key));
        }
    }

    private static void BitConverterBigEndian(ushort value, Span<byte> into)
    {
        into[0] = (byte)(value >> 8);
        into[1] = (byte)value;
    }
}
