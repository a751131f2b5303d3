using System.Collections.Concurrent;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CipherChat.Server.Delivery;

/// <summary>
/// The delivery core: knows which connections are online for which user and room, stores messages
/// through <see cref="IChatStore"/> and fans each stored message out, encoded once, to every online
/// member. Knows nothing about sockets.
/// </summary>
/// <remarks>
/// Appends and fan-out for one room happen under that room's lock, so every connection sees a room's
/// events in sequence order. With a store that queues appends (<see cref="IQueuedAppendStore"/>, the
/// SQLite writer) the lock is held only while the append is queued, not while the disk syncs: a
/// room's stored messages wait in a per-stripe queue in seq order and are pushed from its head as
/// their commits complete, so many senders share one commit and the order still holds. With several nodes (an <see cref="IClusterBus"/>), a node publishes each
/// stored seq on the bus and pushes what other nodes stored by reading the shared log; the rest of the
/// server does not change.
/// </remarks>
public sealed partial class DeliveryHub
{
    private const int LockStripes = 64;
    private const int CatchUpPageSize = 256;

    private readonly IChatStore _store;
    private readonly ServerMetrics _metrics;
    private readonly int _maxFrameBytes;
    private readonly SemaphoreSlim[] _roomLocks;
    private readonly IQueuedAppendStore? _queuedStore;
    private readonly Queue<PendingSend>[] _pending;
    private readonly Lock _gate = new();
    // Per user its connections and per connection its rooms are short lists, not hash sets: they are
    // changed only on login, join and leave, and an idle connection should cost as little as possible.
    private readonly Dictionary<string, List<IDeliveryTarget>> _byUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RoomTargets> _byRoom = new(StringComparer.Ordinal);
    private readonly Dictionary<IDeliveryTarget, List<string>> _roomsOf = [];

    // Scale-out only: the bus between nodes, the shared log it reads from, and per room the highest
    // seq this node has pushed to its connections (changed only under the room's lock).
    private readonly IClusterBus? _cluster;
    private readonly IRoomLog? _log;
    private readonly ConcurrentDictionary<string, ulong> _delivered = new(StringComparer.Ordinal);

    // Scale-out only: per room the highest commit seq whose membership change this node has applied.
    private readonly ConcurrentDictionary<string, ulong> _membershipApplied = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    public DeliveryHub(IChatStore store, ServerMetrics metrics, int maxFrameBytes)
        : this(store, metrics, maxFrameBytes, null, null)
    {
    }

    /// <summary>
    /// A hub that also delivers what other nodes store: <paramref name="cluster"/> carries the
    /// notifications, and <paramref name="store"/> must then be an <see cref="IRoomLog"/>.
    /// </summary>
    public DeliveryHub(IChatStore store, ServerMetrics metrics, int maxFrameBytes, IClusterBus? cluster, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _metrics = metrics;
        _maxFrameBytes = maxFrameBytes;
        _logger = logger ?? NullLogger.Instance;
        if (cluster is not null)
        {
            _log = store as IRoomLog ?? throw new ArgumentException("Several nodes need a shared store (PostgreSQL).", nameof(store));
            _cluster = cluster;
        }

        _roomLocks = new SemaphoreSlim[LockStripes];
        _pending = new Queue<PendingSend>[LockStripes];
        for (var i = 0; i < LockStripes; i++)
        {
            _roomLocks[i] = new SemaphoreSlim(1, 1);
            _pending[i] = new Queue<PendingSend>();
        }

        // Queued appends keep the order only where one node assigns every seq.
        _queuedStore = cluster is null ? store as IQueuedAppendStore : null;
    }

    /// <summary>A single-node hub whose appends go through <paramref name="queuedStore"/> (tests give it a store whose commits they control).</summary>
    internal DeliveryHub(IChatStore store, IQueuedAppendStore queuedStore, ServerMetrics metrics, int maxFrameBytes)
        : this(store, metrics, maxFrameBytes, null, null)
    {
        _queuedStore = queuedStore;
    }

    /// <summary>Logged-in connections right now.</summary>
    public int OnlineConnections
    {
        get
        {
            lock (_gate)
            {
                return _roomsOf.Count;
            }
        }
    }

    /// <summary>Marks a logged-in connection online and subscribes it to <paramref name="rooms"/>.</summary>
    public void Connect(IDeliveryTarget target, IEnumerable<string> rooms)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(rooms);
        lock (_gate)
        {
            GetOrAdd(_byUser, target.User).Add(target);
            var mine = new List<string>(rooms.TryGetNonEnumeratedCount(out var count) ? count : 4);
            _roomsOf[target] = mine;
            foreach (var room in rooms)
            {
                if (AddOnce(mine, room))
                {
                    AddToRoom(room, target);
                }
            }
        }
    }

    /// <summary>Forgets a connection.</summary>
    public void Disconnect(IDeliveryTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        lock (_gate)
        {
            if (!_roomsOf.Remove(target, out var rooms))
            {
                return;
            }

            foreach (var room in rooms)
            {
                RemoveFromRoom(room, target);
            }

            RemoveFrom(_byUser, target.User, target);
        }
    }

    /// <summary>Subscribes every online connection of <paramref name="user"/> to <paramref name="room"/>.</summary>
    public void UserJoined(string user, string room)
    {
        lock (_gate)
        {
            if (!_byUser.TryGetValue(user, out var targets))
            {
                return;
            }

            foreach (var target in targets)
            {
                if (AddOnce(_roomsOf[target], room))
                {
                    AddToRoom(room, target);
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="user"/> left <paramref name="room"/>: unsubscribes the user's connections here
    /// and, with several nodes, has the other nodes unsubscribe theirs.
    /// </summary>
    public void UserLeft(string user, string room)
    {
        Unsubscribe(user, room);
        _cluster?.PublishMembership(room, 0);
    }

    /// <summary>Unsubscribes every online connection of <paramref name="user"/> on this node from <paramref name="room"/>.</summary>
    private void Unsubscribe(string user, string room)
    {
        lock (_gate)
        {
            if (!_byUser.TryGetValue(user, out var targets))
            {
                return;
            }

            foreach (var target in targets)
            {
                _roomsOf[target].Remove(room);
                RemoveFromRoom(room, target);
            }
        }
    }

    /// <summary>
    /// Stores a message and, when it is new, pushes it to every online member except <paramref name="origin"/>.
    /// Returns after the message is durable.
    /// </summary>
    public async ValueTask<AppendOutcome> SendAsync(NewMessage message, IDeliveryTarget? origin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_queuedStore is not null)
        {
            return await SendQueuedAsync(_queuedStore, message, origin, cancellationToken).ConfigureAwait(false);
        }

        var roomLock = RoomLock(message.Room);
        AppendOutcome outcome;
        await roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The store call is not cancelled: once started, a send completes (stored) or fails as a whole.
            outcome = await _store.AppendMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
            if (outcome.Status != AppendStatus.Stored)
            {
                return outcome;
            }

            _metrics.MessageStored();
            var stored = new StoredMessage(message.Room, outcome.Seq, message.Sender, outcome.ServerTime, message.ClientMessageId, message.Payload);
            if (_cluster is null)
            {
                FanOut(stored, origin);
                return outcome;
            }

            await FanOutInOrderAsync(stored, origin).ConfigureAwait(false);
        }
        finally
        {
            roomLock.Release();
        }

        _cluster.Publish(message.Room, outcome.Seq);
        return outcome;
    }

    private async ValueTask<AppendOutcome> SendQueuedAsync(IQueuedAppendStore store, NewMessage message, IDeliveryTarget? origin, CancellationToken cancellationToken)
    {
        var stripe = Stripe(message.Room);
        var roomLock = _roomLocks[stripe];
        var pending = _pending[stripe];
        Task<AppendOutcome> stored;
        await roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Once queued, a send completes (stored) or fails as a whole: no cancellation from here on.
            stored = await store.QueueAppendAsync(message, CancellationToken.None).ConfigureAwait(false);
            lock (pending)
            {
                pending.Enqueue(new PendingSend(stored, message, origin));
            }
        }
        finally
        {
            roomLock.Release();
        }

        await ((Task)stored).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        PushCompleted(pending);
        return await stored.ConfigureAwait(false);
    }

    /// <summary>Pushes the stripe's stored messages from the head of its queue, in order, while their commits are done.</summary>
    private void PushCompleted(Queue<PendingSend> pending)
    {
        lock (pending)
        {
            while (pending.TryPeek(out var head) && head.Stored.IsCompleted)
            {
                pending.Dequeue();
                if (!head.Stored.IsCompletedSuccessfully)
                {
                    continue;
                }

                var outcome = head.Stored.Result;
                if (outcome.Status != AppendStatus.Stored)
                {
                    continue;
                }

                _metrics.MessageStored();
                var message = head.Message;
                FanOut(new StoredMessage(message.Room, outcome.Seq, message.Sender, outcome.ServerTime, message.ClientMessageId, message.Payload), head.Origin);
            }
        }
    }

    /// <summary>
    /// Scale-out: <paramref name="room"/>'s log reached <paramref name="seq"/> (another node said so, or
    /// a check of the database found it). Pushes the messages this node has not pushed yet to its
    /// connections in that room, oldest first.
    /// </summary>
    /// <remarks>
    /// The first time a room is seen with connections here, only its newest message is pushed: each
    /// client fetched its history when it connected and fills any gap before a pushed seq itself.
    /// </remarks>
    public async Task CatchUpAsync(string room, ulong seq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (_log is null || seq == 0 || (_delivered.TryGetValue(room, out var known) && known >= seq))
        {
            return;
        }

        var roomLock = RoomLock(room);
        await roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var seen = _delivered.TryGetValue(room, out var done);
            if (seen && done >= seq)
            {
                return;
            }

            if (!HasLocalMembers(room))
            {
                _delivered[room] = seq;
                return;
            }

            await DeliverFromLogAsync(room, seen ? done : seq - 1, seq, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            roomLock.Release();
        }
    }

    /// <summary>
    /// Scale-out: compares every room with connections on this node against the database and catches
    /// up the ones that moved on. Repairs lost notifications; the bus runs it periodically and after
    /// reconnecting.
    /// </summary>
    public async Task CatchUpAllAsync(CancellationToken cancellationToken)
    {
        if (_log is null)
        {
            return;
        }

        string[] rooms;
        lock (_gate)
        {
            rooms = [.. _byRoom.Keys];
        }

        if (rooms.Length == 0)
        {
            return;
        }

        var last = await _log.GetLastSeqsAsync(rooms, cancellationToken).ConfigureAwait(false);
        foreach (var (room, seq) in last)
        {
            await CatchUpAsync(room, seq, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Scale-out: the highest seq of <paramref name="room"/> this node has pushed (0 when none).</summary>
    public ulong DeliveredSeq(string room) => _delivered.GetValueOrDefault(room);

    private SemaphoreSlim RoomLock(string room) => _roomLocks[Stripe(room)];

    private static int Stripe(string room) => (int)((uint)StringComparer.Ordinal.GetHashCode(room) % LockStripes);

    private bool HasLocalMembers(string room)
    {
        lock (_gate)
        {
            return _byRoom.ContainsKey(room);
        }
    }

    /// <summary>Under the room's lock: pushes what other nodes stored before <paramref name="stored"/>, then it.</summary>
    private async Task FanOutInOrderAsync(StoredMessage stored, IDeliveryTarget? origin)
    {
        if (_delivered.TryGetValue(stored.Room, out var done) && done + 1 < stored.Seq && HasLocalMembers(stored.Room))
        {
            try
            {
                await DeliverFromLogAsync(stored.Room, done, stored.Seq - 1, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ChatStoreException or TimeoutException or IOException)
            {
                // The message is stored and is pushed below; clients fetch the gap before it themselves.
                ServerLog.CatchUpFailed(_logger, stored.Room, ex);
            }
        }

        FanOut(stored, origin);
        _delivered.AddOrUpdate(stored.Room, stored.Seq, (_, old) => Math.Max(old, stored.Seq));
    }

    /// <summary>Under the room's lock: reads (after, upTo] from the shared log and pushes it.</summary>
    private async Task DeliverFromLogAsync(string room, ulong after, ulong upTo, CancellationToken cancellationToken)
    {
        while (after < upTo)
        {
            var page = await _log!.ReadLogAsync(room, after, (int)Math.Min(CatchUpPageSize, upTo - after), cancellationToken).ConfigureAwait(false);
            var progressed = false;
            foreach (var message in page)
            {
                if (message.Seq <= after || message.Seq > upTo)
                {
                    continue;
                }

                FanOut(message, null);
                after = message.Seq;
                progressed = true;
            }

            if (!progressed)
            {
                break;
            }

            _delivered.AddOrUpdate(room, after, (_, old) => Math.Max(old, after));
        }

        _delivered.AddOrUpdate(room, upTo, (_, old) => Math.Max(old, upTo));
    }

    private void FanOut(StoredMessage message, IDeliveryTarget? origin)
    {
        IDeliveryTarget[] targets;
        lock (_gate)
        {
            if (!_byRoom.TryGetValue(message.Room, out var room))
            {
                return;
            }

            // The same array serves every message until the room's members change.
            targets = room.Snapshot ??= [.. room.Targets];
        }

        // Encoded once; every recipient's queue holds the same bytes.
        var encoded = FrameCodec.Encode(new Frame { MessageEvent = ToEvent(message) }, _maxFrameBytes);
        foreach (var target in targets)
        {
            if (!ReferenceEquals(target, origin))
            {
                target.TryDeliver(encoded);
            }
        }
    }

    /// <summary>The wire form of a stored message.</summary>
    public static MessageEvent ToEvent(StoredMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new MessageEvent
        {
            Room = message.Room,
            Seq = message.Seq,
            Sender = message.Sender,
            ServerTime = message.ServerTime.ToUnixTimeMilliseconds(),
            ClientMessageId = UnsafeByteOperations.UnsafeWrap(message.ClientMessageId),
            Payload = UnsafeByteOperations.UnsafeWrap(message.Payload),
        };
    }

    /// <summary>A queued append waiting for its commit, with what its fan-out needs.</summary>
    private readonly record struct PendingSend(Task<AppendOutcome> Stored, NewMessage Message, IDeliveryTarget? Origin);

    /// <summary>Under the gate: adds a connection to a room's targets.</summary>
    private void AddToRoom(string room, IDeliveryTarget target)
    {
        if (!_byRoom.TryGetValue(room, out var targets))
        {
            targets = new RoomTargets();
            _byRoom[room] = targets;
        }

        if (targets.Targets.Add(target))
        {
            targets.Snapshot = null;
        }
    }

    /// <summary>Under the gate: removes a connection from a room's targets.</summary>
    private void RemoveFromRoom(string room, IDeliveryTarget target)
    {
        if (!_byRoom.TryGetValue(room, out var targets) || !targets.Targets.Remove(target))
        {
            return;
        }

        targets.Snapshot = null;
        if (targets.Targets.Count == 0)
        {
            _byRoom.Remove(room);
        }
    }

    /// <summary>A room's online connections, with an array copy made once per change for fan-out.</summary>
    private sealed class RoomTargets
    {
        public HashSet<IDeliveryTarget> Targets { get; } = [];

        public IDeliveryTarget[]? Snapshot { get; set; }
    }

    private static List<IDeliveryTarget> GetOrAdd(Dictionary<string, List<IDeliveryTarget>> map, string key)
    {
        if (!map.TryGetValue(key, out var set))
        {
            set = new List<IDeliveryTarget>(1);
            map[key] = set;
        }

        return set;
    }

    /// <summary>Adds <paramref name="room"/> to a connection's rooms unless it is there; true when added.</summary>
    private static bool AddOnce(List<string> rooms, string room)
    {
        if (rooms.Contains(room, StringComparer.Ordinal))
        {
            return false;
        }

        rooms.Add(room);
        return true;
    }

    private static void RemoveFrom(Dictionary<string, List<IDeliveryTarget>> map, string key, IDeliveryTarget target)
    {
        if (map.TryGetValue(key, out var set) && set.Remove(target) && set.Count == 0)
        {
            map.Remove(key);
        }
    }
}
