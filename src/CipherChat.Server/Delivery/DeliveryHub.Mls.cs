using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Storage;
using Google.Protobuf;

namespace CipherChat.Server.Delivery;

public sealed partial class DeliveryHub
{
    /// <summary>
    /// Submits an MLS commit (one per epoch, decided by the store) and, when it is new, routes it:
    /// added members' connections join the room, the commit is pushed to every online member except
    /// <paramref name="origin"/> (removed members included: it is the last thing of the room they
    /// get), removed members' connections leave the room, and each Welcome is pushed to its user.
    /// All of it under the room's lock, so no later message of the room reaches a removed member.
    /// </summary>
    public async ValueTask<CommitOutcome> CommitAsync(NewCommit commit, IDeliveryTarget? origin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var roomLock = RoomLock(commit.Room);
        CommitOutcome outcome;
        await roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Holding the lock, no send of this stripe can queue; the ones queued before are pushed
            // first, so members see the room in seq order and a removed member gets all before the commit.
            await PushQueuedSendsAsync(commit.Room).ConfigureAwait(false);
            outcome = await _store.SubmitCommitAsync(commit, CancellationToken.None).ConfigureAwait(false);
            if (outcome.Status != CommitStatus.Stored)
            {
                return outcome;
            }

            _metrics.MessageStored();
            foreach (var user in commit.Added)
            {
                UserJoined(user, commit.Room);
            }

            var stored = new StoredMessage(commit.Room, outcome.Seq, commit.Sender, outcome.ServerTime, commit.ClientMessageId, commit.Payload);
            if (_cluster is null)
            {
                FanOut(stored, origin);
            }
            else
            {
                await FanOutInOrderAsync(stored, origin).ConfigureAwait(false);
            }

            foreach (var user in commit.Removed)
            {
                Unsubscribe(user, commit.Room);
            }

            foreach (var welcome in commit.Welcomes)
            {
                DeliverToUser(welcome.User, new Frame
                {
                    WelcomeEvent = new WelcomeEvent
                    {
                        Room = commit.Room,
                        From = commit.Sender,
                        Welcome = UnsafeByteOperations.UnsafeWrap(welcome.Welcome),
                        JoinSeq = outcome.Seq,
                        ServerTime = outcome.ServerTime.ToUnixTimeMilliseconds(),
                    },
                });
            }

            if (_cluster is not null)
            {
                // Published under the lock, so no later message of the room is announced before it:
                // other nodes move removed members out before they hear of anything newer from here.
                _membershipApplied.AddOrUpdate(commit.Room, outcome.Seq, (_, old) => Math.Max(old, outcome.Seq));
                _cluster.PublishMembership(commit.Room, outcome.Seq);
            }
        }
        finally
        {
            roomLock.Release();
        }

        return outcome;
    }

    /// <summary>
    /// Scale-out: another node changed who belongs to <paramref name="room"/>, through the commit at
    /// <paramref name="commitSeq"/> or (0) without one. Under the room's lock: pushes the messages
    /// before the commit to the connections subscribed now, subscribes the connections of users who
    /// are members now, pushes the commit (removed members included), unsubscribes the connections of
    /// users who are no longer members, and pushes the newly subscribed users their Welcomes.
    /// </summary>
    /// <remarks>
    /// Membership is read again from the store rather than carried in the notification, so a repeated
    /// or late notification only brings this node's subscriptions to the store's current state.
    /// </remarks>
    public async Task MembershipChangedAsync(string room, ulong commitSeq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (_log is null || (commitSeq != 0 && _membershipApplied.TryGetValue(room, out var known) && known >= commitSeq))
        {
            return;
        }

        var roomLock = RoomLock(room);
        await roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            StoredMessage? commit = null;
            if (commitSeq != 0)
            {
                if (_membershipApplied.TryGetValue(room, out var applied) && applied >= commitSeq)
                {
                    return;
                }

                var seen = _delivered.TryGetValue(room, out var done);
                if (seen && done + 1 < commitSeq && HasLocalMembers(room))
                {
                    await DeliverFromLogAsync(room, done, commitSeq - 1, cancellationToken).ConfigureAwait(false);
                }

                if (!seen || done < commitSeq)
                {
                    var page = await _log.ReadLogAsync(room, commitSeq - 1, 1, cancellationToken).ConfigureAwait(false);
                    commit = page.FirstOrDefault(m => m.Seq == commitSeq);
                }
            }
            else if (!HasLocalMembers(room))
            {
                // A member left without a commit: only connections subscribed here can be affected.
                return;
            }

            var members = await LoadMembersAsync(room, commit?.Sender, cancellationToken).ConfigureAwait(false);
            var joined = SubscribeMembers(room, members);
            if (commit is not null)
            {
                FanOut(commit, null);
                _delivered.AddOrUpdate(room, commitSeq, (_, old) => Math.Max(old, commitSeq));
            }

            UnsubscribeNonMembers(room, members);
            foreach (var user in joined)
            {
                var welcomes = await _store.ListWelcomesAsync(user, cancellationToken).ConfigureAwait(false);
                foreach (var welcome in welcomes)
                {
                    if (string.Equals(welcome.Room, room, StringComparison.Ordinal))
                    {
                        DeliverToUser(user, new Frame
                        {
                            WelcomeEvent = new WelcomeEvent
                            {
                                Room = welcome.Room,
                                From = welcome.From,
                                Welcome = UnsafeByteOperations.UnsafeWrap(welcome.Welcome),
                                JoinSeq = welcome.JoinSeq,
                                ServerTime = welcome.ServerTime.ToUnixTimeMilliseconds(),
                            },
                        });
                    }
                }
            }

            if (commitSeq != 0)
            {
                _membershipApplied.AddOrUpdate(room, commitSeq, (_, old) => Math.Max(old, commitSeq));
            }
        }
        finally
        {
            roomLock.Release();
        }
    }

    /// <summary>
    /// The room's members as the store has them now. The store answers only a member, so it is asked
    /// as the commit's sender first, then as each user subscribed here; empty when none of them is one.
    /// </summary>
    private async Task<HashSet<string>> LoadMembersAsync(string room, string? sender, CancellationToken cancellationToken)
    {
        var candidates = new List<string>();
        if (sender is not null)
        {
            candidates.Add(sender);
        }

        lock (_gate)
        {
            if (_byRoom.TryGetValue(room, out var targets))
            {
                foreach (var target in targets.Targets)
                {
                    if (!candidates.Contains(target.User, StringComparer.Ordinal))
                    {
                        candidates.Add(target.User);
                    }
                }
            }
        }

        foreach (var candidate in candidates)
        {
            var detail = await _store.GetRoomDetailAsync(room, candidate, cancellationToken).ConfigureAwait(false);
            if (detail is not null)
            {
                return new HashSet<string>(detail.Members, StringComparer.Ordinal);
            }
        }

        return new HashSet<string>(StringComparer.Ordinal);
    }

    /// <summary>Subscribes the local connections of <paramref name="members"/>; returns the users that had one not subscribed yet.</summary>
    private List<string> SubscribeMembers(string room, HashSet<string> members)
    {
        var joined = new List<string>();
        lock (_gate)
        {
            foreach (var member in members)
            {
                if (!_byUser.TryGetValue(member, out var targets))
                {
                    continue;
                }

                var added = false;
                foreach (var target in targets)
                {
                    if (AddOnce(_roomsOf[target], room))
                    {
                        AddToRoom(room, target);
                        added = true;
                    }
                }

                if (added)
                {
                    joined.Add(member);
                }
            }
        }

        return joined;
    }

    /// <summary>Unsubscribes every local connection of <paramref name="room"/> whose user is not in <paramref name="members"/>.</summary>
    private void UnsubscribeNonMembers(string room, HashSet<string> members)
    {
        lock (_gate)
        {
            if (!_byRoom.TryGetValue(room, out var targets))
            {
                return;
            }

            foreach (var target in targets.Targets.Where(t => !members.Contains(t.User)).ToList())
            {
                _roomsOf[target].Remove(room);
                RemoveFromRoom(room, target);
            }
        }
    }

    /// <summary>Under the room's lock: waits for the stripe's queued sends to be stored and pushes them.</summary>
    private async Task PushQueuedSendsAsync(string room)
    {
        if (_queuedStore is null)
        {
            return;
        }

        var pending = _pending[Stripe(room)];
        Task[] waiting;
        lock (pending)
        {
            waiting = [.. pending.Select(p => (Task)p.Stored)];
        }

        foreach (var task in waiting)
        {
            await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        PushCompleted(pending);
    }

    /// <summary>Pushes an event to every online connection of <paramref name="user"/> on this node.</summary>
    public void DeliverToUser(string user, Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        IDeliveryTarget[] targets;
        lock (_gate)
        {
            if (!_byUser.TryGetValue(user, out var set) || set.Count == 0)
            {
                return;
            }

            targets = [.. set];
        }

        var encoded = FrameCodec.Encode(frame, _maxFrameBytes);
        foreach (var target in targets)
        {
            target.TryDeliver(encoded);
        }
    }

    /// <summary>Pushes an event to every online connection subscribed to <paramref name="room"/> on this node.</summary>
    public void DeliverToRoom(string room, Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        IDeliveryTarget[] targets;
        lock (_gate)
        {
            if (!_byRoom.TryGetValue(room, out var set))
            {
                return;
            }

            targets = set.Snapshot ??= [.. set.Targets];
        }

        var encoded = FrameCodec.Encode(frame, _maxFrameBytes);
        foreach (var target in targets)
        {
            target.TryDeliver(encoded);
        }
    }
}
