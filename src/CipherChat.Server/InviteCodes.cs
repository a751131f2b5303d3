using System.Security.Cryptography;
using System.Text;

namespace CipherChat.Server;

/// <summary>
/// One-time invite codes. A code is 20 characters of base32 (100 random bits); the store keeps only
/// its SHA-256 hash, so a copy of the database does not reveal unused codes.
/// </summary>
public static class InviteCodes
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>A new random code, in groups of five for reading aloud: "abcde-fghij-klmno-pqrst".</summary>
    public static string Create()
    {
        Span<byte> random = stackalloc byte[20];
        RandomNumberGenerator.Fill(random);
        var builder = new StringBuilder(23);
        for (var i = 0; i < 20; i++)
        {
            if (i > 0 && i % 5 == 0)
            {
                builder.Append('-');
            }

            builder.Append(Alphabet[random[i] & 31]);
        }

        return builder.ToString();
    }

    /// <summary>The hash a store keeps for <paramref name="code"/>; dashes, spaces and case do not matter.</summary>
    public static byte[] Hash(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var normalized = new StringBuilder(code.Length);
        foreach (var c in code)
        {
            if (c is '-' or ' ')
            {
                continue;
            }

            normalized.Append(char.ToLowerInvariant(c));
        }

        return SHA256.HashData(Encoding.UTF8.GetBytes(normalized.ToString()));
    }
}
