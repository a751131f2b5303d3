using System.Buffers.Binary;
using System.Text;

namespace CipherChat.Protocol;

/// <summary>
/// The bytes a client signs with its Ed25519 device key to register or log in. Both ends build them
/// with this class so they cannot disagree. Layout (docs/PROTOCOL.md, "Signatures"): a sequence of
/// fields, each a 2-byte big-endian length followed by the bytes; the fields are the context label,
/// the server's challenge, the username exactly as sent (UTF-8), and for Register the public key.
/// </summary>
public static class AuthTranscript
{
    /// <summary>Context label of a Login signature.</summary>
    public const string LoginLabel = "CipherChat login v1";

    /// <summary>Context label of a Register signature.</summary>
    public const string RegisterLabel = "CipherChat register v1";

    /// <summary>The transcript a Login signature covers.</summary>
    public static byte[] ForLogin(ReadOnlySpan<byte> challenge, string username)
    {
        ArgumentNullException.ThrowIfNull(username);
        return Build(LoginLabel, challenge, username, []);
    }

    /// <summary>The transcript a Register signature covers; it also proves possession of the key.</summary>
    public static byte[] ForRegister(ReadOnlySpan<byte> challenge, string username, ReadOnlySpan<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(username);
        return Build(RegisterLabel, challenge, username, publicKey);
    }

    private static byte[] Build(string label, ReadOnlySpan<byte> challenge, string username, ReadOnlySpan<byte> publicKey)
    {
        var labelBytes = Encoding.ASCII.GetBytes(label);
        var nameBytes = Encoding.UTF8.GetBytes(username);
        if (challenge.Length > ushort.MaxValue || nameBytes.Length > ushort.MaxValue || publicKey.Length > ushort.MaxValue)
        {
            throw new ArgumentException("A transcript field is too long.");
        }

        var fieldCount = publicKey.IsEmpty && label == LoginLabel ? 3 : 4;
        var total = (2 * fieldCount) + labelBytes.Length + challenge.Length + nameBytes.Length + publicKey.Length;
        var result = new byte[total];
        var span = result.AsSpan();
        Append(ref span, labelBytes);
        Append(ref span, challenge);
        Append(ref span, nameBytes);
        if (fieldCount == 4)
        {
            Append(ref span, publicKey);
        }

        return result;
    }

    private static void Append(ref Span<byte> destination, ReadOnlySpan<byte> field)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)field.Length);
        field.CopyTo(destination[2..]);
        destination = destination[(2 + field.Length)..];
    }
}
