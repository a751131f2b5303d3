using System.Globalization;
using System.Text;
using CipherChat.Protocol.V1;

namespace CipherChat.Client.Net;

/// <summary>The server answered a request with an Error frame.</summary>
public sealed class ServerErrorException : ChatClientException
{
    public ServerErrorException()
    {
    }

    public ServerErrorException(string message)
        : base(message)
    {
    }

    public ServerErrorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ServerErrorException(ErrorCode code, string serverMessage)
        : base(Describe(code, serverMessage))
    {
        Code = code;
        ServerMessage = Sanitize(serverMessage);
    }

    public ErrorCode Code { get; }

    /// <summary>For <see cref="ErrorCode.EpochConflict"/>: the room's current epoch as the server reported it.</summary>
    public ulong CurrentEpoch { get; init; }

    /// <summary>The server's own text, with control characters removed and length capped.</summary>
    public string ServerMessage { get; } = string.Empty;

    /// <summary>Whether retrying the same request later may succeed (the server was busy or going down).</summary>
    public bool IsTransient => Code is ErrorCode.RateLimited or ErrorCode.ShuttingDown or ErrorCode.Internal or ErrorCode.Timeout;

    private static string Describe(ErrorCode code, string serverMessage) => code switch
    {
        ErrorCode.UsernameTaken => "that user name is already registered on this server: choose another one",
        ErrorCode.InvalidUsername => "the server refused the user name: use 1-32 characters of a-z 0-9 . _ -",
        ErrorCode.AuthFailed => "the server refused the login: the signature did not verify (this device key is not the one that registered)",
        ErrorCode.UnknownUser => "the server does not know this user: run 'cipherchat register' first",
        ErrorCode.InviteRequired => "this server registers only with an invite code: ask its operator for one ('cipherchat server invite') and add --invite CODE",
        ErrorCode.InvalidInvite => "the invite code is unknown or already used: ask the operator for a new one",
        ErrorCode.InvalidKey => "the server refused the device key",
        ErrorCode.InvalidRoomName => "the server refused the room name: use 1-32 characters of a-z 0-9 . _ -",
        ErrorCode.WrongRoomKey => "wrong room key: the room exists with a different key (check the key with the person who gave it to you)",
        ErrorCode.NotAMember => "you are not a member of that room: join a shared-key room with 'cipherchat room join NAME --key KEY'; an MLS room needs an invitation from a member",
        ErrorCode.RoomKindMismatch => "that room exists as another kind of room",
        ErrorCode.UnsupportedRoomKind => "this server does not offer that kind of room yet",
        ErrorCode.MessageTooLarge => "the message is too large for this server",
        ErrorCode.RateLimited => "the server says slow down (too many messages): try again in a moment",
        ErrorCode.UnsupportedVersion => "the server speaks another protocol version: update cipherchat (or the server)",
        ErrorCode.ShuttingDown => "the server is shutting down: try again in a moment",
        ErrorCode.Timeout => "the server closed the connection after a timeout",
        ErrorCode.SlowConsumer => "the server dropped this connection because it read too slowly",
        ErrorCode.FrameTooLarge => "the server refused a frame as too large",
        ErrorCode.NoKeyPackage => "that user has no invitation keys (KeyPackages) on the server yet: they must log in once with a current cipherchat",
        ErrorCode.EpochConflict => "another member changed the room at the same moment",
        ErrorCode.NotAllowed => "the room's policy does not allow this (only admins may add or remove members, and a direct conversation never gets other members)",
        ErrorCode.KeyPackageLimit => "the server holds as many invitation keys (KeyPackages) for you as it allows",
        ErrorCode.InvalidKeyPackage => "the server refused an invitation key (KeyPackage) of this device",
        ErrorCode.RoomExists => "a room with that name already exists",
        _ => $"the server reported an error ({code.ToString()}, code {((int)code).ToString(CultureInfo.InvariantCulture)}): {Sanitize(serverMessage)}",
    };

    /// <summary>Server text is untrusted: printable characters only, at most 200 of them.</summary>
    internal static string Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(Math.Min(text.Length, 200));
        foreach (var c in text)
        {
            if (builder.Length >= 200)
            {
                break;
            }

            builder.Append(char.IsControl(c) || char.IsSurrogate(c) || c is '\u202E' or '\u202D' ? '?' : c);
        }

        return builder.ToString();
    }
}
