using System.Diagnostics;

namespace CipherChat.Server.Storage;

public sealed partial class InMemoryChatStore
{
    private readonly Dictionary<string, List<NewKeyPackage>> _keyPackages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NewKeyPackage> _lastResort = new(StringComparer.Ordinal);
    private readonly List<StoredWelcome> _welcomes = [];
    private readonly Dictionary<StoredWelcome, string> _welcomeUsers = new(ReferenceEqualityComparer.Instance);

    public ValueTask<KeyPackageUploadOutcome> UploadKeyPackagesAsync(string username, IReadOnlyList<NewKeyPackage> oneTime, NewKeyPackage? lastResort, int maxOneTime, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(oneTime);
        lock (_gate)
        {
            var stored = _keyPackages.GetValueOrDefault(username) ?? [];
            var fresh = new List<NewKeyPackage>();
            foreach (var candidate in oneTime)
            {
                if (!stored.Concat(fresh).Any(k => k.Reference.Span.SequenceEqual(candidate.Reference.Span)))
                {
                    fresh.Add(new NewKeyPackage(candidate.Reference.ToArray(), candidate.Data.ToArray()));
                }
            }

            if (stored.Count + fresh.Count > maxOneTime)
            {
                return ValueTask.FromResult(new KeyPackageUploadOutcome(KeyPackageUploadStatus.LimitExceeded, CountsOf(username)));
            }

            stored.AddRange(fresh);
            _keyPackages[username] = stored;
            if (lastResort is not null)
            {
                _lastResort[username] = new NewKeyPackage(lastResort.Reference.ToArray(), lastResort.Data.ToArray());
            }

            return ValueTask.FromResult(new KeyPackageUploadOutcome(KeyPackageUploadStatus.Stored, CountsOf(username)));
        }
    }

    public ValueTask<KeyPackageCounts> CountKeyPackagesAsync(string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(CountsOf(username));
        }
    }

    public ValueTask<TakenKeyPackage?> TakeKeyPackageAsync(string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_keyPackages.TryGetValue(username, out var list) && list.Count > 0)
            {
                var first = list[0];
                list.RemoveAt(0);
                return ValueTask.FromResult<TakenKeyPackage?>(new TakenKeyPackage(first.Data, false, list.Count));
            }

            return ValueTask.FromResult(_lastResort.TryGetValue(username, out var last) ? new TakenKeyPackage(last.Data, true, 0) : null);
        }
    }

    public ValueTask<CreateRoomOutcome> CreateMlsRoomAsync(string room, ReadOnlyMemory<byte> groupId, bool adminsOnlyMembership, string creator, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_rooms.ContainsKey(room))
            {
                return ValueTask.FromResult(new CreateRoomOutcome(CreateRoomStatus.Exists, null));
            }

            var r = new Room(room, RoomKind.Mls, [])
            {
                GroupId = groupId.ToArray(),
                AdminsOnlyMembership = adminsOnlyMembership,
            };
            r.ReadCursors[creator] = 0;
            r.Admins.Add(creator);
            _rooms[room] = r;
            return ValueTask.FromResult(new CreateRoomOutcome(CreateRoomStatus.Created, r.Summary(creator)));
        }
    }

    public ValueTask<CommitOutcome> SubmitCommitAsync(NewCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        lock (_gate)
        {
            return ValueTask.FromResult(SubmitCommitLocked(commit));
        }
    }

    public ValueTask<IReadOnlyList<StoredWelcome>> ListWelcomesAsync(string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<StoredWelcome> list = _welcomes.Where(w => _welcomeUsers[w] == username).ToList();
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<bool> AckWelcomeAsync(string username, string room, ulong joinSeq, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = _welcomes.FindIndex(w => _welcomeUsers[w] == username && w.Room == room && w.JoinSeq == joinSeq);
            if (index < 0)
            {
                return ValueTask.FromResult(false);
            }

            _welcomeUsers.Remove(_welcomes[index]);
            _welcomes.RemoveAt(index);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<RoomDetailRecord?> GetRoomDetailAsync(string room, string username, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var r) || !r.ReadCursors.ContainsKey(username))
            {
                return ValueTask.FromResult<RoomDetailRecord?>(null);
            }

            var members = r.ReadCursors.Keys.Order(StringComparer.Ordinal).ToList();
            var admins = r.Admins.Order(StringComparer.Ordinal).ToList();
            return ValueTask.FromResult<RoomDetailRecord?>(new RoomDetailRecord(r.Summary(username), members, admins));
        }
    }

    public ValueTask<PolicyOutcome> SetRoomPolicyAsync(string room, string username, bool adminsOnlyMembership, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var member = _rooms.TryGetValue(room, out var r) && r.ReadCursors.ContainsKey(username);
            if (MlsMembershipRules.CheckPolicyChange(member ? r!.Summary(username) : null) is { } refused)
            {
                return ValueTask.FromResult(refused);
            }

            r!.AdminsOnlyMembership = adminsOnlyMembership;
            return ValueTask.FromResult(new PolicyOutcome(PolicyStatus.Updated, r.Summary(username)));
        }
    }

    private KeyPackageCounts CountsOf(string username) =>
        new(_keyPackages.GetValueOrDefault(username)?.Count ?? 0, _lastResort.ContainsKey(username));

    private CommitOutcome SubmitCommitLocked(NewCommit commit)
    {
        if (!_rooms.TryGetValue(commit.Room, out var r))
        {
            return new CommitOutcome(CommitStatus.NotAMember, 0, 0, default);
        }

        if (r.Kind != RoomKind.Mls)
        {
            return new CommitOutcome(r.ReadCursors.ContainsKey(commit.Sender) ? CommitStatus.NotMls : CommitStatus.NotAMember, 0, 0, default);
        }

        var dedupKey = commit.Sender + "/" + Convert.ToHexString(commit.ClientMessageId.Span);
        if (r.Dedup.TryGetValue(dedupKey, out var existing))
        {
            return r.CommitEpochs.TryGetValue(existing.Seq, out var newEpoch)
                ? new CommitOutcome(CommitStatus.Duplicate, existing.Seq, newEpoch, existing.ServerTime)
                : new CommitOutcome(CommitStatus.IdInUse, 0, 0, default);
        }

        if (!r.ReadCursors.ContainsKey(commit.Sender))
        {
            return new CommitOutcome(CommitStatus.NotAMember, 0, 0, default);
        }

        if (commit.Epoch != r.Epoch)
        {
            return new CommitOutcome(CommitStatus.EpochConflict, 0, r.Epoch, default);
        }

        var mayChangeOthers = !r.AdminsOnlyMembership || r.Admins.Contains(commit.Sender);
        var refused = MlsMembershipRules.CheckAsync(
            commit,
            mayChangeOthers,
            user => ValueTask.FromResult(_users.ContainsKey(user)),
            user => ValueTask.FromResult(r.ReadCursors.ContainsKey(user)),
            user => ValueTask.FromResult(r.Former.ContainsKey(user)),
            []);

        // Every answer above is already complete, so the check has finished synchronously.
        Debug.Assert(refused.IsCompletedSuccessfully, "the in-memory membership check completes synchronously");
        if (refused.Result is { } refusal)
        {
            return refusal;
        }

        var seq = (ulong)r.Log.Count + 1;
        var stored = new StoredMessage(r.Name, seq, commit.Sender, commit.ServerTime, commit.ClientMessageId.ToArray(), commit.Payload.ToArray());
        r.Log.Add(stored);
        r.Dedup[dedupKey] = stored;
        r.Epoch++;
        r.CommitEpochs[seq] = r.Epoch;
        foreach (var user in commit.Added)
        {
            r.ReadCursors[user] = 0;
            r.Former.Remove(user);
        }

        foreach (var user in commit.Removed)
        {
            if (r.ReadCursors.Remove(user))
            {
                r.MemberLeft(user, seq);
            }
        }

        foreach (var welcome in commit.Welcomes)
        {
            var entry = new StoredWelcome(r.Name, commit.Sender, welcome.Welcome.ToArray(), seq, commit.ServerTime);
            _welcomes.Add(entry);
            _welcomeUsers[entry] = welcome.User;
        }

        return new CommitOutcome(CommitStatus.Stored, seq, r.Epoch, commit.ServerTime);
    }

    private sealed partial class Room
    {
        public ReadOnlyMemory<byte> GroupId { get; init; }

        public ulong Epoch { get; set; }

        public bool AdminsOnlyMembership { get; set; }

        public HashSet<string> Admins { get; } = new(StringComparer.Ordinal);

        /// <summary>MLS rooms: users whose membership ended, with the last seq they may still read.</summary>
        public Dictionary<string, ulong> Former { get; } = new(StringComparer.Ordinal);

        /// <summary>Seq of each commit and the epoch it started.</summary>
        public Dictionary<ulong, ulong> CommitEpochs { get; } = [];

        /// <summary>The last seq <paramref name="username"/> may read: all for a member, null for a stranger.</summary>
        public ulong? VisibleSeq(string username) =>
            ReadCursors.ContainsKey(username) ? ulong.MaxValue : Former.TryGetValue(username, out var until) ? until : null;

        public void MemberLeft(string username, ulong untilSeq)
        {
            Admins.Remove(username);
            if (Kind == RoomKind.Mls)
            {
                Former[username] = untilSeq;
            }
        }
    }
}
