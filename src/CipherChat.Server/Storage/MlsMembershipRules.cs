namespace CipherChat.Server.Storage;

/// <summary>
/// Who a commit may add and remove, decided the same way by every store. Added users must be registered and not
/// members yet; removed users must be members or former members; in an admins-only room only admins change other
/// users' membership, while removing oneself, or a user whose membership already ended, is always allowed.
/// </summary>
public static class MlsMembershipRules
{
    /// <summary>A yes/no question about one user, answered by the store inside its commit transaction.</summary>
    public delegate ValueTask<bool> UserQuery(string user);

    /// <summary>
    /// Null when the commit's membership change is allowed, and then <paramref name="removedMembers"/> receives the
    /// removed users who are still members (the others only leave the routing they already left); otherwise the
    /// refusal naming the first user at fault.
    /// </summary>
    public static async ValueTask<CommitOutcome?> CheckAsync(
        NewCommit commit, bool mayChangeOthers, UserQuery isRegistered, UserQuery isMember, UserQuery wasMember, List<string> removedMembers)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(isRegistered);
        ArgumentNullException.ThrowIfNull(isMember);
        ArgumentNullException.ThrowIfNull(wasMember);
        ArgumentNullException.ThrowIfNull(removedMembers);
        foreach (var user in commit.Added)
        {
            if (!await isRegistered(user).ConfigureAwait(false))
            {
                return Refused(CommitStatus.UnknownUser, user);
            }

            if (await isMember(user).ConfigureAwait(false))
            {
                return Refused(CommitStatus.AlreadyMember, user);
            }

            if (!mayChangeOthers)
            {
                return Refused(CommitStatus.NotAllowed, user);
            }
        }

        foreach (var user in commit.Removed)
        {
            var member = await isMember(user).ConfigureAwait(false);
            if (!member && !await wasMember(user).ConfigureAwait(false))
            {
                return Refused(CommitStatus.NotRemovable, user);
            }

            if (member && user != commit.Sender && !mayChangeOthers)
            {
                return Refused(CommitStatus.NotAllowed, user);
            }

            if (member)
            {
                removedMembers.Add(user);
            }
        }

        return null;
    }

    /// <summary>
    /// The checks that come before the membership change: the sender is a member, the room is an MLS room, and the
    /// commit is for the room's current epoch (otherwise the answer carries that epoch). Null when all hold.
    /// </summary>
    public static CommitOutcome? CheckRoom(NewCommit commit, bool senderIsMember, RoomKind kind, ulong currentEpoch)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (!senderIsMember)
        {
            return Refused(CommitStatus.NotAMember);
        }

        if (kind != RoomKind.Mls)
        {
            return Refused(CommitStatus.NotMls);
        }

        return currentEpoch != commit.Epoch ? new CommitOutcome(CommitStatus.EpochConflict, 0, currentEpoch, default) : null;
    }

    /// <summary>
    /// Who may change a room's policy: an admin of an MLS room. Null when <paramref name="room"/> (as the requesting
    /// member sees it, null for a non-member) allows it; otherwise the refusal.
    /// </summary>
    public static PolicyOutcome? CheckPolicyChange(RoomSummary? room) => room switch
    {
        null => new PolicyOutcome(PolicyStatus.NotAMember, null),
        { Kind: not RoomKind.Mls } => new PolicyOutcome(PolicyStatus.NotMls, null),
        { Admin: false } => new PolicyOutcome(PolicyStatus.NotAllowed, null),
        _ => null,
    };

    /// <summary>A refused commit: nothing stored, <paramref name="user"/> names who the refusal is about.</summary>
    public static CommitOutcome Refused(CommitStatus status, string? user = null) => new(status, 0, 0, default, user);
}
