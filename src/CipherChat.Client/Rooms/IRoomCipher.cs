namespace CipherChat.Client.Rooms;

/// <summary>What a sender puts inside a room payload.</summary>
public sealed record OutgoingContent(string MessageId, string From, DateTimeOffset SentAt, string Text);

/// <summary>
/// The result of opening a payload: either <see cref="Text"/> (genuine, from the authenticated sender)
/// or <see cref="Error"/> (undecryptable, malformed or forged); never both.
/// </summary>
public sealed record OpenedContent(string? Text, string? Error, DateTimeOffset? SentAt)
{
    public static OpenedContent Failed(string error) => new(null, error, null);
}

/// <summary>
/// The encryption of one room. A pre-shared-key room uses <see cref="PskRoomCipher"/>; an MLS room
/// will be another implementation behind the same two operations.
/// </summary>
public interface IRoomCipher : IDisposable
{
    /// <summary>The kind as stored locally: "psk" or "mls".</summary>
    string Kind { get; }

    /// <summary>Encrypts <paramref name="content"/> into the opaque payload the server relays.</summary>
    byte[] Seal(OutgoingContent content, DateTimeOffset now);

    /// <summary>
    /// Opens a payload received from the server. <paramref name="authenticatedSender"/> is the name the
    /// server vouches for and <paramref name="messageId"/> the id it stored with the message; content
    /// that disagrees with either is reported as an error. Never throws for bad input.
    /// </summary>
    OpenedContent Open(ReadOnlySpan<byte> payload, string authenticatedSender, string messageId, DateTimeOffset now);
}
