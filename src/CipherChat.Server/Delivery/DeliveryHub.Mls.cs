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
                UserLeft(user, commit.Room);
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
        }
        finally
        {
            roomLock.Release();
        }

        _cluster?.Publish(commit.Room, outcome.Seq);
        return outcome;
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
