using System.Security.Cryptography;
using System.Text;
using CipherChat.Client.Fernet;

namespace CipherChat.Client.Rooms;

/// <summary>
/// A pre-shared-key room: each payload is a standard Fernet token (its ASCII bytes) made with the room
/// key, whose plaintext is a <see cref="PskPayload"/>. Anyone holding the key can read and write, and
/// can claim any sender name inside; the check against the server-authenticated sender catches the
/// latter for members whose server is honest.
/// </summary>
public sealed class PskRoomCipher : IRoomCipher
{
    /// <summary>Shown for a token that does not verify with this client's key.</summary>
    public const string UndecryptableError = "cannot decrypt (wrong key or tampered)";

    /// <summary>HKDF info label of the key check; the room name follows it after a zero byte.</summary>
    public const string KeyCheckLabel = "CipherChat PSK room key check v1";

    public const int KeyCheckBytes = 32;

    /// <summary>Largest payload opened; the server's own limit is lower.</summary>
    private const int MaxPayloadBytes = 1024 * 1024;

    private readonly FernetKey _key;

    public PskRoomCipher(FernetKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
    }

    public string Kind => RoomKinds.Psk;

    /// <summary>Parses a key as typed by a user; throws <see cref="ChatClientException"/> with a clear text.</summary>
    public static PskRoomCipher FromKeyText(string keyText)
    {
        try
        {
            return new PskRoomCipher(FernetKey.Parse(keyText));
        }
        catch (FernetException ex)
        {
            throw new ChatClientException("the room key is not a Fernet key: it must be the 44 characters printed by 'cipherchat keygen'", ex);
        }
    }

    /// <summary>
    /// The value sent in JoinRoom so the server can refuse a member whose key differs from the room's:
    /// HKDF-SHA256 of the raw key with info = label, 0x00, room name. It reveals nothing usable about the
    /// key and differs between rooms that share a key.
    /// </summary>
    public byte[] ComputeKeyCheck(string roomName)
    {
        ArgumentNullException.ThrowIfNull(roomName);
        Span<byte> raw = stackalloc byte[FernetKey.Length];
        try
        {
            _key.CopyTo(raw);
            var info = Encoding.ASCII.GetBytes(KeyCheckLabel + "\0" + roomName);
            var check = new byte[KeyCheckBytes];
            HKDF.DeriveKey(HashAlgorithmName.SHA256, raw, check, salt: [], info);
            return check;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    public byte[] Seal(OutgoingContent content, DateTimeOffset now)
    {
        var plaintext = PskPayload.Encode(content);
        try
        {
            return Encoding.ASCII.GetBytes(FernetToken.Encrypt(_key, plaintext, now));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public OpenedContent Open(ReadOnlySpan<byte> payload, string authenticatedSender, string messageId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(authenticatedSender);
        ArgumentNullException.ThrowIfNull(messageId);
        if (payload.IsEmpty || payload.Length > MaxPayloadBytes)
        {
            return OpenedContent.Failed(UndecryptableError);
        }

        foreach (var b in payload)
        {
            if (b > 0x7F)
            {
                return OpenedContent.Failed(UndecryptableError);
            }
        }

        byte[] plaintext;
        try
        {
            // No time-to-live: offline members read old messages too.
            plaintext = FernetToken.Decrypt(_key, Encoding.ASCII.GetString(payload), now, null);
        }
        catch (FernetException)
        {
            return OpenedContent.Failed(UndecryptableError);
        }

        try
        {
            if (!PskPayload.TryDecode(plaintext, out var content, out var error))
            {
                return OpenedContent.Failed(error!);
            }

            if (!string.Equals(content!.From, authenticatedSender, StringComparison.Ordinal))
            {
                var claimed = Names.TryNormalizeUser(content.From, out var n, out _) ? $"'{n}'" : "another name";
                return OpenedContent.Failed($"forged sender: sent by '{authenticatedSender}' but claims to be from {claimed}");
            }

            if (!string.Equals(content.MessageId, messageId, StringComparison.Ordinal))
            {
                return OpenedContent.Failed("message id mismatch: replayed or tampered");
            }

            return new OpenedContent(content.Text, null, content.SentAt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    public void Dispose() => _key.Dispose();
}
