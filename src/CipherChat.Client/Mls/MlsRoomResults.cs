namespace CipherChat.Client.Mls;

/// <summary>What a payload from the room's log turned out to be.</summary>
public enum MlsReceivedKind
{
    /// <summary>A chat message from another member, decrypted and checked: <see cref="MlsReceived.Text"/> is set.</summary>
    Application,

    /// <summary>This device's own application message coming back: not decrypted (the sender keeps its plaintext).</summary>
    OwnMessage,

    /// <summary>A commit was applied (this device's own one confirmed, or another member's processed).</summary>
    CommitApplied,

    /// <summary>A standalone proposal, cached for the next commit.</summary>
    ProposalCached,

    /// <summary>From an epoch this member has not reached yet: kept, and released by the commit that reaches it.</summary>
    Held,

    /// <summary>A commit for an epoch already left behind (a commit that lost, or one seen twice): nothing to do.</summary>
    Ignored,

    /// <summary>Undecryptable, tampered, replayed, forged or malformed: <see cref="MlsReceived.Error"/> says which.</summary>
    Error,
}

/// <summary>
/// One payload of the room's log after processing. <see cref="Sender"/> is the name the server authenticated;
/// <see cref="Text"/> is set only for <see cref="MlsReceivedKind.Application"/>, <see cref="Error"/> only for
/// <see cref="MlsReceivedKind.Error"/>.
/// </summary>
public sealed record MlsReceived(
    long Seq,
    string MessageId,
    string Sender,
    MlsReceivedKind Kind,
    ulong Epoch,
    string? Text = null,
    DateTimeOffset? SentAt = null,
    string? Error = null,
    bool RemovedThisMember = false);

/// <summary>The result for a payload, followed by earlier held messages that the new epoch released (oldest first).</summary>
public sealed record MlsReceiveOutcome(MlsReceived Message, IReadOnlyList<MlsReceived> Released);

/// <summary>
/// A commit ready to submit: <see cref="Epoch"/> is the epoch it applies to (the server accepts one commit per
/// epoch), <see cref="Welcome"/> goes to the added members. The state it leads to is already stored as pending.
/// </summary>
public sealed record MlsOutgoingCommit(ulong Epoch, byte[] Commit, byte[]? Welcome, IReadOnlyList<MlsMemberInfo> Added, IReadOnlyList<string> Removed);

/// <summary>A member of the group: the username of its basic credential and its Ed25519 signature key.</summary>
public sealed record MlsMemberInfo(uint LeafIndex, string Username, byte[] SignatureKey);
