using System.Security.Cryptography;

namespace CipherChat.Server.Storage;

/// <summary>
/// A store that keeps everything in memory, for tests and throw-away servers. It follows the same
/// contract as the durable backends (the shared contract tests run against it), but nothing survives
/// the process.
/// </summary>
public sealed partial class InMemoryChatStore : IChatStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, UserRecord> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _invites = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Room> _rooms = new(StringComparer.Ordinal);

    public ValueTask<UserRecord?> FindUserAsync(string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_users.GetValueOrDefault(username));
        }
    }

    public ValueTask<RegisterStatus> RegisterUserAsync(string username, ReadOnlyMemory<byte> publicKey, ReadOnlyMemory<byte>? inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            string? inviteKey = null;
            if (inviteCodeHash is { } hash)
            {
                inviteKey = Convert.ToHexString(hash.Span);
                if (!_invites.TryGetValue(inviteKey, out var used) || used)
                {
                    return ValueTask.FromResult(RegisterStatus.InvalidInvite);
                }
            }

            if (_users.ContainsKey(username))
            {
                return ValueTask.FromResult(RegisterStatus.NameTaken);
            }

            _users[username] = new UserRecord(username, publicKey.ToArray(), now);
            if (inviteKey is not null)
            {
                _invites[inviteKey] = true;
            }

            return ValueTask.FromResult(RegisterStatus.Created);
        }
    }

    public ValueTask AddInviteAsync(ReadOnlyMemory<byte> inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _invites.TryAdd(Convert.ToHexString(inviteCodeHash.Span), false);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<JoinOutcome> JoinRoomAsync(string room, RoomKind kind, ReadOnlyMemory<byte> keyCheck, string username, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var created = false;
            if (!_rooms.TryGetValue(room, out var r))
            {
                r = new Room(room, kind, keyCheck.ToArray());
                _rooms[room] = r;
                created = true;
            }
            else if (r.Kind != kind)
            {
                return ValueTask.FromResult(new JoinOutcome(JoinStatus.KindMismatch, null));
            }
            else if (kind == RoomKind.Psk && !CryptographicOperations.FixedTimeEquals(r.KeyCheck, keyCheck.Span))
            {
                return ValueTask.FromResult(new JoinOutcome(JoinStatus.WrongKey, null));
            }

            r.ReadCursors.TryAdd(username, 0);
            return ValueTask.FromResult(new JoinOutcome(created ? JoinStatus.Created : JoinStatus.Joined, r.Summary(username)));
        }
    }

    public ValueTask<bool> LeaveRoomAsync(string room, string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var r) || !r.ReadCursors.Remove(username))
            {
                return ValueTask.FromResult(false);
            }

            r.MemberLeft(username, (ulong)r.Log.Count);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<RoomSummary> list = _rooms.Values
                .Where(r => r.ReadCursors.ContainsKey(username))
                .OrderBy(r => r.Name, StringComparer.Ordinal)
                .Select(r => r.Summary(username))
                .ToList();
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<AppendOutcome> AppendMessageAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            if (!_rooms.TryGetValue(message.Room, out var r) || !r.ReadCursors.ContainsKey(message.Sender))
            {
                return ValueTask.FromResult(new AppendOutcome(AppendStatus.NotAMember, 0, default));
            }

            var dedupKey = message.Sender + "/" + Convert.ToHexString(message.ClientMessageId.Span);
            if (r.Dedup.TryGetValue(dedupKey, out var existing))
            {
                return ValueTask.FromResult(new AppendOutcome(AppendStatus.Duplicate, existing.Seq, existing.ServerTime));
            }

            var stored = new StoredMessage(r.Name, (ulong)r.Log.Count + 1, message.Sender, message.ServerTime, message.ClientMessageId.ToArray(), message.Payload.ToArray());
            r.Log.Add(stored);
            r.Dedup[dedupKey] = stored;
            return ValueTask.FromResult(new AppendOutcome(AppendStatus.Stored, stored.Seq, stored.ServerTime));
        }
    }

    public ValueTask<FetchPage?> FetchMessagesAsync(string room, string username, ulong afterSeq, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var r) || r.VisibleSeq(username) is not { } visible)
            {
                return ValueTask.FromResult<FetchPage?>(null);
            }

            // A former member of an MLS room reads up to where the membership ended.
            var end = (int)Math.Min(visible, (ulong)r.Log.Count);
            var start = (int)Math.Min(afterSeq, (ulong)end);
            var count = Math.Min(Math.Max(limit, 0), end - start);
            var page = r.Log.GetRange(start, count);
            return ValueTask.FromResult<FetchPage?>(new FetchPage(page, start + count < end));
        }
    }

    public ValueTask<ulong?> AckAsync(string room, string username, ulong seq, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var r) || !r.ReadCursors.TryGetValue(username, out var current))
            {
                return ValueTask.FromResult<ulong?>(null);
            }

            var next = Math.Max(current, Math.Min(seq, (ulong)r.Log.Count));
            r.ReadCursors[username] = next;
            return ValueTask.FromResult<ulong?>(next);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed partial class Room(string name, RoomKind kind, byte[] keyCheck)
    {
        public string Name { get; } = name;

        public RoomKind Kind { get; } = kind;

        public byte[] KeyCheck { get; } = keyCheck;

        public Dictionary<string, ulong> ReadCursors { get; } = new(StringComparer.Ordinal);

        public List<StoredMessage> Log { get; } = [];

        public Dictionary<string, StoredMessage> Dedup { get; } = new(StringComparer.Ordinal);

        public RoomSummary Summary(string username) =>
            new(Name, Kind, (ulong)Log.Count, ReadCursors.GetValueOrDefault(username))
            {
                GroupId = GroupId,
                Epoch = Epoch,
                Admin = Admins.Contains(username),
                AdminsOnlyMembership = AdminsOnlyMembership,
            };
    }
}
