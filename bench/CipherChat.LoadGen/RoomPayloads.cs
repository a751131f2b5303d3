using System.Security.Cryptography;
using System.Text;
using CipherChat.Client.Fernet;
using Google.Protobuf;

namespace CipherChat.LoadGen;

/// <summary>
/// A room of the benchmark with its pre-shared key and a few real Fernet tokens made before the run,
/// so that the generator measures the server, not its own cryptography.
/// </summary>
public sealed class RoomPayloads
{
    /// <summary>HKDF info label of the PSK key check, as the client library derives it.</summary>
    private const string KeyCheckLabel = "CipherChat PSK room key check v1";

    private RoomPayloads(int index, string name, byte[] keyCheck, byte[][] tokens)
    {
        Index = index;
        Name = name;
        KeyCheck = ByteString.CopyFrom(keyCheck);
        Tokens = tokens;
        TokenStrings = tokens.Select(t => UnsafeByteOperations.UnsafeWrap(t)).ToArray();
    }

    public int Index { get; }

    /// <summary>The room's name (also the IRC channel without '#', and the NATS subject).</summary>
    public string Name { get; }

    public ByteString KeyCheck { get; }

    /// <summary>Fernet tokens (ASCII) of <c>plaintextBytes</c> each.</summary>
    public IReadOnlyList<byte[]> Tokens { get; }

    public IReadOnlyList<ByteString> TokenStrings { get; }

    public static RoomPayloads Create(int index, string name, int tokenCount, int plaintextBytes)
    {
        using var key = FernetKey.Generate();
        var plaintext = new byte[plaintextBytes];
        var tokens = new byte[tokenCount][];
        for (var i = 0; i < tokenCount; i++)
        {
            // Printable filler, different per token; its content does not matter to any server.
            RandomNumberGenerator.Fill(plaintext);
            for (var j = 0; j < plaintext.Length; j++)
            {
                plaintext[j] = (byte)('a' + (plaintext[j] % 26));
            }

            tokens[i] = Encoding.ASCII.GetBytes(FernetToken.Encrypt(key, plaintext, DateTimeOffset.UtcNow));
        }

        return new RoomPayloads(index, name, KeyCheckFor(key, name), tokens);
    }

    /// <summary>HKDF-SHA256 of the raw key with info = label, 0x00, room name (the client's PSK key check).</summary>
    private static byte[] KeyCheckFor(FernetKey key, string roomName)
    {
        Span<byte> raw = stackalloc byte[FernetKey.Length];
        try
        {
            key.CopyTo(raw);
            var info = Encoding.ASCII.GetBytes(KeyCheckLabel + "\0" + roomName);
            var check = new byte[32];
            HKDF.DeriveKey(HashAlgorithmName.SHA256, raw, check, salt: [], info);
            return check;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }
}
