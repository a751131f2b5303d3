namespace CipherChat.Server.Storage;

/// <summary>
/// Everything the relay keeps: accounts, invite codes, rooms, memberships and each room's ordered
/// message log. Every backend (embedded SQLite, later PostgreSQL) implements this one interface and
/// passes the same contract tests. Names given to a store are already normalized (lower case).
/// </summary>
/// <remarks>
/// Methods that change state are atomic: they either happen completely or not at all, and when the
/// returned task completes successfully the change is durable.
/// </remarks>
public partial interface IChatStore : IAsyncDisposable
{
    /// <summary>The account named <paramref name="username"/>, or null.</summary>
    ValueTask<UserRecord?> FindUserAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// Creates an account. When <paramref name="inviteCodeHash"/> is given, the invite must exist
    /// unused and is consumed in the same transaction.
    /// </summary>
    ValueTask<RegisterStatus> RegisterUserAsync(string username, ReadOnlyMemory<byte> publicKey, ReadOnlyMemory<byte>? inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Stores a new one-time invite, identified by the SHA-256 hash of its code.</summary>
    ValueTask AddInviteAsync(ReadOnlyMemory<byte> inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="username"/> a member of <paramref name="room"/>, creating the room when it
    /// does not exist. For PSK rooms <paramref name="keyCheck"/> must equal the stored one (compared in
    /// constant time).
    /// </summary>
    ValueTask<JoinOutcome> JoinRoomAsync(string room, RoomKind kind, ReadOnlyMemory<byte> keyCheck, string username, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Ends a membership. False when the user was not a member.</summary>
    ValueTask<bool> LeaveRoomAsync(string room, string username, CancellationToken cancellationToken);

    /// <summary>The rooms <paramref name="username"/> is a member of, by name.</summary>
    ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// Appends a message to its room's log with the next sequence number, unless the sender already
    /// stored one with the same client message id (then the original is reported).
    /// </summary>
    ValueTask<AppendOutcome> AppendMessageAsync(NewMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> messages with seq greater than <paramref name="afterSeq"/>, oldest
    /// first; null when <paramref name="username"/> is not a member.
    /// </summary>
    ValueTask<FetchPage?> FetchMessagesAsync(string room, string username, ulong afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the user's read cursor forward to <paramref name="seq"/> (never back, never past the
    /// room's last seq) and returns it; null when the user is not a member.
    /// </summary>
    ValueTask<ulong?> AckAsync(string room, string username, ulong seq, CancellationToken cancellationToken);
}

/// <summary>The kinds of room a store knows, independent of the wire version.</summary>
public enum RoomKind
{
    /// <summary>Pre-shared key: members prove the key with a key check value.</summary>
    Psk = 1,

    /// <summary>An RFC 9420 group: created with CreateRoom, joined by being added in a commit.</summary>
    Mls = 2,
}

public sealed record UserRecord(string Username, ReadOnlyMemory<byte> PublicKey, DateTimeOffset CreatedAt);

public enum RegisterStatus
{
    Created,
    NameTaken,
    InvalidInvite,
}

public enum JoinStatus
{
    Joined,
    Created,
    WrongKey,
    KindMismatch,
}

public sealed record RoomSummary(string Name, RoomKind Kind, ulong LastSeq, ulong ReadSeq)
{
    /// <summary>MLS rooms: the group id.</summary>
    public ReadOnlyMemory<byte> GroupId { get; init; }

    /// <summary>MLS rooms: the epoch the next commit must name.</summary>
    public ulong Epoch { get; init; }

    /// <summary>MLS rooms: the user this summary was made for is an admin.</summary>
    public bool Admin { get; init; }

    /// <summary>MLS rooms: only admins may add or remove members.</summary>
    public bool AdminsOnlyMembership { get; init; }
}

public sealed record JoinOutcome(JoinStatus Status, RoomSummary? Room)
{
    public bool Succeeded => Status is JoinStatus.Joined or JoinStatus.Created;
}

public sealed record NewMessage(string Room, string Sender, ReadOnlyMemory<byte> ClientMessageId, ReadOnlyMemory<byte> Payload, DateTimeOffset ServerTime);

public sealed record StoredMessage(string Room, ulong Seq, string Sender, DateTimeOffset ServerTime, ReadOnlyMemory<byte> ClientMessageId, ReadOnlyMemory<byte> Payload);

public enum AppendStatus
{
    Stored,
    Duplicate,
    NotAMember,
}

/// <summary>The result of an append; Seq and ServerTime are the original ones for a duplicate.</summary>
public sealed record AppendOutcome(AppendStatus Status, ulong Seq, DateTimeOffset ServerTime);

public sealed record FetchPage(IReadOnlyList<StoredMessage> Messages, bool HasMore);

/// <summary>The store cannot be used: its schema is newer than this program, or it is damaged.</summary>
public sealed class ChatStoreException : Exception
{
    public ChatStoreException()
    {
    }

    public ChatStoreException(string message)
        : base(message)
    {
    }

    public ChatStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
