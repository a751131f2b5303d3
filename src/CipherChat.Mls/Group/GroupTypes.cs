using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;

namespace CipherChat.Mls.Group;

/// <summary>Behaviour of an <see cref="MlsGroup"/> that is a local choice, not group state (not saved).</summary>
public sealed record MlsGroupOptions
{
    /// <summary>Wire format of this member's proposals and commits; application data is always a PrivateMessage.</summary>
    public WireFormat HandshakeWireFormat { get; init; } = WireFormat.PrivateMessage;

    /// <summary>PrivateMessage plaintexts are zero-padded to a multiple of this many bytes (RFC 9420 §6.3.1).</summary>
    public int PaddingBlock { get; init; } = 32;

    /// <summary>How many past epochs keep their secret trees for late application messages.</summary>
    public int PastEpochsKept { get; init; } = 4;

    /// <summary>Out-of-order window of the secret trees.</summary>
    public SecretTreeOptions SecretTree { get; init; } = SecretTreeOptions.Default;

    /// <summary>Where external PSKs are looked up; none when null.</summary>
    public IPskStore? Psks { get; init; }

    /// <summary>Clock for KeyPackage lifetimes.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>What a commit creates: the commit message, a Welcome when members were added, and the new epoch's GroupInfo and tree.</summary>
public sealed class CommitResult
{
    public required MlsMessage Commit { get; init; }

    public MlsMessage? Welcome { get; init; }

    /// <summary>GroupInfo of the new epoch (with the ratchet_tree extension when the Welcome has it).</summary>
    public required MlsMessage GroupInfo { get; init; }

    /// <summary>The new epoch's ratchet tree (<c>optional&lt;Node&gt; ratchet_tree&lt;V&gt;</c>), for joiners when the Welcome does not carry it.</summary>
    public required byte[] RatchetTree { get; init; }
}

/// <summary>The proposals of a commit made by <see cref="MlsGroup.Commit"/>.</summary>
public sealed record CommitOptions
{
    public IReadOnlyList<KeyPackage> Add { get; init; } = [];

    /// <summary>Leaf indexes of the members to remove.</summary>
    public IReadOnlyList<uint> Remove { get; init; } = [];

    /// <summary>External PSK ids to inject (each gets a fresh nonce).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> ExternalPsks { get; init; } = [];

    /// <summary>Replaces the group context extensions when set.</summary>
    public IReadOnlyList<Extension>? GroupContextExtensions { get; init; }

    /// <summary>Send an UpdatePath even when no proposal requires one.</summary>
    public bool ForcePath { get; init; }

    /// <summary>Include proposals received in this epoch by reference (default true).</summary>
    public bool IncludePendingProposals { get; init; } = true;

    /// <summary>Put the ratchet_tree extension into the Welcome's GroupInfo (default true).</summary>
    public bool RatchetTreeInWelcome { get; init; } = true;

    /// <summary>Overrides <see cref="MlsGroupOptions.HandshakeWireFormat"/> for this commit.</summary>
    public WireFormat? WireFormat { get; init; }

    public ReadOnlyMemory<byte> AuthenticatedData { get; init; }
}

/// <summary>A message from the group after its checks passed.</summary>
public abstract class ReceivedMessage
{
    private protected ReceivedMessage()
    {
    }

    /// <summary>The epoch the message belongs to.</summary>
    public required ulong Epoch { get; init; }

    /// <summary>Leaf index of the sender.</summary>
    public required uint Sender { get; init; }

    public required WireFormat WireFormat { get; init; }

    public ReadOnlyMemory<byte> AuthenticatedData { get; init; }
}

/// <summary>Application data.</summary>
public sealed class ReceivedApplicationMessage : ReceivedMessage
{
    public required byte[] Data { get; init; }
}

/// <summary>A standalone proposal, now cached for a later commit.</summary>
public sealed class ReceivedProposal : ReceivedMessage
{
    public required Proposal Proposal { get; init; }

    public required byte[] Reference { get; init; }
}

/// <summary>A commit that was applied: the group is now in the next epoch, or this member was removed.</summary>
public sealed class ReceivedCommit : ReceivedMessage
{
    public required IReadOnlyList<Proposal> Proposals { get; init; }

    public required bool HadPath { get; init; }

    /// <summary>True when the commit removed this member; the group can no longer be used.</summary>
    public required bool RemovedThisMember { get; init; }
}
