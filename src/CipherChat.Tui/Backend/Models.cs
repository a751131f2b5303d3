namespace CipherChat.Tui.Backend;

/// <summary>A room as the UI shows it.</summary>
/// <param name="Name">The room's name; a direct conversation is <c>@user</c>.</param>
/// <param name="Encryption">How the room is protected, e.g. <c>shared key</c> or <c>MLS epoch 4, 3 members</c>.</param>
public sealed record RoomInfo(string Name, string Encryption)
{
    public bool IsDirect => Name.StartsWith('@');
}

public enum MessageKind
{
    /// <summary>A chat message (its text, or an error when it could not be read).</summary>
    Chat,

    /// <summary>A member's key changed: the user should verify them again.</summary>
    KeyChange,

    /// <summary>A notice about the room from the client itself (joins, leaves, epoch changes).</summary>
    Notice,
}

/// <summary>
/// One message in a room. Exactly one of <see cref="Text"/> and <see cref="Error"/> is set for
/// <see cref="MessageKind.Chat"/>; notices carry their text in <see cref="Text"/>.
/// </summary>
public sealed record ChatMessage(
    string Id,
    string Room,
    string Sender,
    DateTimeOffset SentAt,
    string? Text,
    string? Error,
    MessageKind Kind = MessageKind.Chat);

public enum ConnectionState
{
    Connecting,
    Connected,
    Reconnecting,
    Offline,
}

/// <summary>The connection's state; <see cref="RetryAt"/> is when the next attempt starts while reconnecting.</summary>
public sealed record ConnectionStatus(ConnectionState State, DateTimeOffset? RetryAt = null, string? Detail = null);

/// <summary>What <c>/whois</c> shows: the user's key fingerprint and the safety number shared with them.</summary>
/// <param name="QrText">What the QR code carries; the safety number itself when null.</param>
/// <param name="KeyChangedWarning">Set when the user's key differs from the one first seen.</param>
public sealed record WhoisInfo(string User, string Fingerprint, string? SafetyNumber, string? QrText = null, string? KeyChangedWarning = null);
