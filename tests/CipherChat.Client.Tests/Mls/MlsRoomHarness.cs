using CipherChat.Client.Mls;
using CipherChat.Client.Rooms;

namespace CipherChat.Client.Tests.Mls;

/// <summary>The room's server log, in memory: what the delivery service would store and hand out in order.</summary>
internal sealed class FakeRoomLog
{
    private readonly List<Entry> _entries = [];

    public IReadOnlyList<Entry> Entries => _entries;

    public Entry Append(string sender, byte[] payload, string? messageId = null)
    {
        var entry = new Entry(_entries.Count + 1, messageId ?? Guid.NewGuid().ToString("N"), sender, payload);
        _entries.Add(entry);
        return entry;
    }

    public long LastSeq => _entries.Count;

    internal sealed record Entry(long Seq, string MessageId, string Sender, byte[] Payload);
}

/// <summary>One user's device: its own client home, MLS state, KeyPackages and room; reads the log from a cursor.</summary>
internal sealed class Device : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 15, 0, 0, TimeSpan.Zero);
    private readonly TempHome _home = new();

    public Device(string name)
    {
        Name = name;
        Member = MlsMember.Generate(name);
        Store = MlsStateStore.Open(_home.Path);
        Pool = new KeyPackagePool(Store, Member);
    }

    public string Name { get; }

    public string HomePath => _home.Path;

    public MlsMember Member { get; }

    public MlsStateStore Store { get; private set; }

    public KeyPackagePool Pool { get; private set; }

    public MlsRoomCipher? Room { get; set; }

    public long Cursor { get; set; }

    /// <summary>Chat texts this device read, in order.</summary>
    public List<string> Read { get; } = [];

    public List<MlsReceived> Results { get; } = [];

    public MlsRoomCipher R => Room ?? throw new InvalidOperationException(Name + " has no room");

    public byte[] FreshKeyPackage() => Pool.TopUp(Pool.OneTimeCount + 1).First(k => !k.LastResort).KeyPackage;

    public void CreateRoom(string room) => Room = MlsRoomCipher.Create(room, Member, Store);

    public void Join(string room, byte[] welcome, long cursor)
    {
        Room = MlsRoomCipher.Join(room, Member, Store, Pool, welcome);
        Cursor = cursor;
    }

    /// <summary>Seals a chat message and appends it to the log.</summary>
    public FakeRoomLog.Entry Say(FakeRoomLog log, string text)
    {
        var id = Guid.NewGuid().ToString("N");
        var payload = R.Seal(new OutgoingContent(id, Name, Now, text), Now);
        return log.Append(Name, payload, id);
    }

    /// <summary>Prepares a commit, submits it (appends it) and confirms it, as after the server's acceptance.</summary>
    public MlsOutgoingCommit CommitAndConfirm(FakeRoomLog log, Func<MlsRoomCipher, MlsOutgoingCommit> prepare)
    {
        var commit = prepare(R);
        log.Append(Name, commit.Commit);
        R.ConfirmPendingCommit();

        // Its own commit is already applied: skip it when reading the log.
        if (Cursor == log.LastSeq - 1)
        {
            Cursor = log.LastSeq;
        }

        return commit;
    }

    /// <summary>Processes every log entry after the cursor, in order.</summary>
    public void CatchUp(FakeRoomLog log)
    {
        foreach (var entry in log.Entries.Where(e => e.Seq > Cursor).ToList())
        {
            Take(R.Receive(entry.Payload, entry.Sender, entry.MessageId, entry.Seq));
            Cursor = entry.Seq;
        }
    }

    public MlsReceiveOutcome Take(MlsReceiveOutcome outcome)
    {
        foreach (var result in new[] { outcome.Message }.Concat(outcome.Released))
        {
            Results.Add(result);
            if (result.Kind == MlsReceivedKind.Application)
            {
                Read.Add(result.Text!);
            }
        }

        return outcome;
    }

    /// <summary>Simulates a restart: everything in memory is dropped and reloaded from the client state.</summary>
    public void Restart()
    {
        var room = R.Room;
        Room!.Dispose();
        Store.Dispose();
        Store = MlsStateStore.Open(_home.Path);
        Pool = new KeyPackagePool(Store, Member);
        Room = MlsRoomCipher.Load(room, Member, Store);
    }

    public void Dispose()
    {
        Room?.Dispose();
        Store.Dispose();
        Member.Dispose();
        _home.Dispose();
    }
}
