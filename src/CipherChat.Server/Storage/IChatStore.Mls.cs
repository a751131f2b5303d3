namespace CipherChat.Server.Storage;

/// <summary>
/// The MLS delivery service's state: the key directory (KeyPackages), MLS rooms with their epoch,
/// roles and policy, commits (one per epoch), former members and Welcomes waiting for their users.
/// The store never sees group secrets: KeyPackages, commits and Welcomes are opaque bytes to it.
/// </summary>
public partial interface IChatStore
{
    /// <summary>
    /// Stores <paramref name="oneTime"/> KeyPackages (duplicates by reference are ignored) and, when
    /// given, replaces the user's last-resort KeyPackage. Nothing is stored when the user would hold
    /// more than <paramref name="maxOneTime"/> one-time KeyPackages afterwards.
    /// </summary>
    ValueTask<KeyPackageUploadOutcome> UploadKeyPackagesAsync(string username, IReadOnlyList<NewKeyPackage> oneTime, NewKeyPackage? lastResort, int maxOneTime, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>How many KeyPackages the user has stored.</summary>
    ValueTask<KeyPackageCounts> CountKeyPackagesAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// Removes and returns the user's oldest one-time KeyPackage (never the same one to two callers);
    /// when none is left, returns the last-resort one without removing it; null with neither.
    /// </summary>
    ValueTask<TakenKeyPackage?> TakeKeyPackageAsync(string username, CancellationToken cancellationToken);

    /// <summary>Creates an MLS room at epoch 0 whose only member, an admin, is <paramref name="creator"/>.</summary>
    ValueTask<CreateRoomOutcome> CreateMlsRoomAsync(string room, ReadOnlyMemory<byte> groupId, bool adminsOnlyMembership, string creator, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: de-duplicates by (room, sender, client message id), checks membership, the
    /// epoch, the policy and the membership change, then appends the commit to the room's log, moves
    /// the epoch forward, applies the change and stores the Welcomes.
    /// </summary>
    ValueTask<CommitOutcome> SubmitCommitAsync(NewCommit commit, CancellationToken cancellationToken);

    /// <summary>The user's unacknowledged Welcomes, oldest first.</summary>
    ValueTask<IReadOnlyList<StoredWelcome>> ListWelcomesAsync(string username, CancellationToken cancellationToken);

    /// <summary>Deletes one Welcome. False when there was none.</summary>
    ValueTask<bool> AckWelcomeAsync(string username, string room, ulong joinSeq, CancellationToken cancellationToken);

    /// <summary>The room's members and admins, for a member; null otherwise.</summary>
    ValueTask<RoomDetailRecord?> GetRoomDetailAsync(string room, string username, CancellationToken cancellationToken);

    /// <summary>Changes an MLS room's policy; only an admin may.</summary>
    ValueTask<PolicyOutcome> SetRoomPolicyAsync(string room, string username, bool adminsOnlyMembership, CancellationToken cancellationToken);
}

/// <summary>A validated KeyPackage: its RFC 9420 KeyPackageRef and its encoding.</summary>
public sealed record NewKeyPackage(ReadOnlyMemory<byte> Reference, ReadOnlyMemory<byte> Data);

public enum KeyPackageUploadStatus
{
    Stored,
    LimitExceeded,
}

public sealed record KeyPackageCounts(int OneTime, bool HasLastResort);

public sealed record KeyPackageUploadOutcome(KeyPackageUploadStatus Status, KeyPackageCounts Counts);

/// <summary>A KeyPackage handed out; <paramref name="RemainingOneTime"/> is what is left afterwards.</summary>
public sealed record TakenKeyPackage(ReadOnlyMemory<byte> Data, bool LastResort, int RemainingOneTime);

public enum CreateRoomStatus
{
    Created,
    Exists,
}

public sealed record CreateRoomOutcome(CreateRoomStatus Status, RoomSummary? Room);

public sealed record NewWelcome(string User, ReadOnlyMemory<byte> Welcome);

/// <summary>A commit for <paramref name="Epoch"/>; names are normalized, lists free of duplicates.</summary>
public sealed record NewCommit(
    string Room,
    string Sender,
    ReadOnlyMemory<byte> ClientMessageId,
    ulong Epoch,
    ReadOnlyMemory<byte> Payload,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<NewWelcome> Welcomes,
    DateTimeOffset ServerTime);

public enum CommitStatus
{
    /// <summary>Appended; Seq is the commit's, Epoch the new epoch.</summary>
    Stored,

    /// <summary>The same commit was stored before; Seq and Epoch are the original outcome's.</summary>
    Duplicate,

    /// <summary>The sender is not a member, or the room is missing.</summary>
    NotAMember,

    /// <summary>The room is not an MLS room.</summary>
    NotMls,

    /// <summary>The room is at another epoch; Epoch is the current one.</summary>
    EpochConflict,

    /// <summary>The policy forbids the sender this change (admins only).</summary>
    NotAllowed,

    /// <summary>An added user is not registered; User names it.</summary>
    UnknownUser,

    /// <summary>An added user is a member already; User names it.</summary>
    AlreadyMember,

    /// <summary>A removed user is neither a member nor a former member; User names it.</summary>
    NotRemovable,

    /// <summary>The client message id was used by an ordinary message of this sender.</summary>
    IdInUse,
}

public sealed record CommitOutcome(CommitStatus Status, ulong Seq, ulong Epoch, DateTimeOffset ServerTime, string? User = null);

public sealed record StoredWelcome(string Room, string From, ReadOnlyMemory<byte> Welcome, ulong JoinSeq, DateTimeOffset ServerTime);

/// <summary>A room as the server routes it: the caller's summary, sorted members and sorted admins.</summary>
public sealed record RoomDetailRecord(RoomSummary Room, IReadOnlyList<string> Members, IReadOnlyList<string> Admins);

public enum PolicyStatus
{
    Updated,
    NotAMember,
    NotAllowed,
    NotMls,
}

public sealed record PolicyOutcome(PolicyStatus Status, RoomSummary? Room);
