using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Storage;
using Google.Protobuf;

namespace CipherChat.Server.Delivery;

/// <summary>
/// The delivery core: knows which connections are online for which user and room, stores messages
/// through <see cref="IChatStore"/> and fans each stored message out, encoded once, to every online
/// member. Knows nothing about sockets.
/// </summary>
/// <remarks>
/// Appends and fan-out for one room happen under that room's lock, so every connection sees a room's
/// events in sequence order. Scale-out (several nodes) will publish the encoded event between nodes
/// here; the rest of the server does not change.
/// </remarks>
public sealed class DeliveryHub
{
    private const int LockStripes = 64;

    private readonly IChatStore _store;
    private readonly ServerMetrics _metrics;
    private readonly int _maxFrameBytes;
    private readonly SemaphoreSlim[] _roomLocks;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<IDeliveryTarget>> _byUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<IDeliveryTarget>> _byRoom = new(StringComparer.Ordinal);
    private readonly Dictionary<IDeliveryTarget, HashSet<string>> _roomsOf = [];

    public DeliveryHub(IChatStore store, ServerMetrics metrics, int maxFrameBytes)
    {
        _store = store;
        _metrics = metrics;
        _maxFrameBytes = maxFrameBytes;
        _roomLocks = new SemaphoreSlim[LockStripes];
        for (var i = 0; i < LockStripes; i++)
        {
            _roomLocks[i] = new SemaphoreSlim(1, 1);
        }
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
            var mine = new HashSet<string>(StringComparer.Ordinal);
            _roomsOf[target] = mine;
            foreach (var room in rooms)
            {
                mine.Add(room);
                GetOrAdd(_byRoom, room).Add(target);
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
                RemoveFrom(_byRoom, room, target);
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
                _roomsOf[target].Add(room);
                GetOrAdd(_byRoom, room).Add(target);
            }
        }
    }

    /// <summary>Unsubscribes every online connection of <paramref name="user"/> from <paramref name="room"/>.</summary>
    public void UserLeft(string user, string room)
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
                RemoveFrom(_byRoom, room, target);
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
        var roomLock = _roomLocks[(int)((uint)StringComparer.Ordinal.GetHashCode(message.Room) % LockStripes)];
        await roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The store call is not cancelled: once started, a send completes (stored) or fails as a whole.
            var outcome = await _store.AppendMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
            if (outcome.Status != AppendStatus.Stored)
            {
                return outcome;
            }

            _metrics.MessageStored();
            var stored = new StoredMessage(message.Room, outcome.Seq, message.Sender, outcome.ServerTime, message.ClientMessageId, message.Payload);
            FanOut(stored, origin);
            return outcome;
        }
        finally
        {
            roomLock.Release();
        }
    }

    private void FanOut(StoredMessage message, IDeliveryTarget? origin)
    {
        IDeliveryTarget[] targets;
        lock (_gate)
        {
            if (!_byRoom.TryGetValue(message.Room, out var set) || set.Count == 0)
            {
                return;
            }

            targets = [.. set];
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

    private static HashSet<IDeliveryTarget> GetOrAdd(Dictionary<string, HashSet<IDeliveryTarget>> map, string key)
    {
        if (!map.TryGetValue(key, out var set))
        {
            set = [];
            map[key] = set;
        }

        return set;
    }

    private static void RemoveFrom(Dictionary<string, HashSet<IDeliveryTarget>> map, string key, IDeliveryTarget target)
    {
        if (map.TryGetValue(key, out var set) && set.Remove(target) && set.Count == 0)
        {
            map.Remove(key);
        }
    }
}
