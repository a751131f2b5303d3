using System.Buffers;
using System.Text;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;
using CipherChat.Server.Tests.Support;

namespace CipherChat.Server.Tests;

/// <summary>Fan-out with queued appends (group commit): commits may finish in any order, events never do.</summary>
public sealed class QueuedDeliveryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A store whose queued appends complete when the test says so.</summary>
    private sealed class ManualCommits : IQueuedAppendStore
    {
        private ulong _seq;

        public List<(NewMessage Message, TaskCompletionSource<AppendOutcome> Commit, ulong Seq)> Queued { get; } = [];

        public ValueTask<Task<AppendOutcome>> QueueAppendAsync(NewMessage message, CancellationToken cancellationToken)
        {
            var commit = new TaskCompletionSource<AppendOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            Queued.Add((message, commit, ++_seq));
            return ValueTask.FromResult(commit.Task);
        }

        public void Commit(int index) => Queued[index].Commit.SetResult(new AppendOutcome(AppendStatus.Stored, Queued[index].Seq, T0));
    }

    private sealed class Recorder(string user) : IDeliveryTarget
    {
        private readonly Lock _gate = new();
        private readonly List<MessageEvent> _events = [];

        public string User => user;

        public MessageEvent[] Events
        {
            get
            {
                lock (_gate)
                {
                    return [.. _events];
                }
            }
        }

        public bool TryDeliver(ReadOnlyMemory<byte> encodedFrame)
        {
            var buffer = new ReadOnlySequence<byte>(encodedFrame);
            Assert.True(FrameCodec.TryReadFrame(ref buffer, out var body));
            Assert.True(buffer.IsEmpty);
            lock (_gate)
            {
                _events.Add(FrameCodec.Decode(body).MessageEvent);
            }

            return true;
        }
    }

    private static NewMessage Message(string room, string sender, string text) =>
        new(room, sender, Guid.NewGuid().ToByteArray(), Encoding.UTF8.GetBytes(text), T0);

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, Ct);
        }

        Assert.True(condition());
    }

    [Fact]
    public async Task A_later_commit_waits_for_the_earlier_one_and_events_stay_in_seq_order()
    {
        var store = new ManualCommits();
        var hub = new DeliveryHub(new InMemoryChatStore(), store, new ServerMetrics(), ProtocolLimits.DefaultMaxFrameBytes);
        var carol = new Recorder("carol");
        hub.Connect(carol, ["r"]);

        var first = hub.SendAsync(Message("r", "alice", "one"), null, Ct).AsTask();
        var second = hub.SendAsync(Message("r", "bob", "two"), null, Ct).AsTask();
        Assert.Equal(2, store.Queued.Count);

        store.Commit(1);
        Assert.Equal(2UL, (await second).Seq);
        Assert.Empty(carol.Events);
        Assert.False(first.IsCompleted);

        store.Commit(0);
        Assert.Equal(1UL, (await first).Seq);
        await UntilAsync(() => carol.Events.Length == 2);
        Assert.Equal([1UL, 2UL], carol.Events.Select(e => e.Seq));
        Assert.Equal(["one", "two"], carol.Events.Select(e => e.Payload.ToStringUtf8()));
    }

    [Fact]
    public async Task A_failed_commit_is_reported_to_its_sender_and_does_not_block_the_room()
    {
        var store = new ManualCommits();
        var hub = new DeliveryHub(new InMemoryChatStore(), store, new ServerMetrics(), ProtocolLimits.DefaultMaxFrameBytes);
        var carol = new Recorder("carol");
        hub.Connect(carol, ["r"]);

        var failing = hub.SendAsync(Message("r", "alice", "lost"), null, Ct).AsTask();
        var next = hub.SendAsync(Message("r", "bob", "kept"), null, Ct).AsTask();
        store.Commit(1);
        store.Queued[0].Commit.SetException(new ChatStoreException("disk gone"));

        await Assert.ThrowsAsync<ChatStoreException>(() => failing);
        await next;
        await UntilAsync(() => carol.Events.Length == 1);
        Assert.Equal("kept", carol.Events.Single().Payload.ToStringUtf8());
    }

    [Fact]
    public async Task The_sender_does_not_get_its_own_message()
    {
        var store = new ManualCommits();
        var hub = new DeliveryHub(new InMemoryChatStore(), store, new ServerMetrics(), ProtocolLimits.DefaultMaxFrameBytes);
        var alice = new Recorder("alice");
        var carol = new Recorder("carol");
        hub.Connect(alice, ["r"]);
        hub.Connect(carol, ["r"]);

        var send = hub.SendAsync(Message("r", "alice", "hi"), alice, Ct).AsTask();
        store.Commit(0);
        await send;
        await UntilAsync(() => carol.Events.Length == 1);
        Assert.Empty(alice.Events);
    }
}

/// <summary>Many senders at once on the SQLite server: one commit serves many, the order holds.</summary>
public sealed class ConcurrentSendTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private Hosting.ChatServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await TestServer.StartSqliteAsync(_directory.Path, o =>
    {
        o.SendBurst = 1000;
        o.SendRatePerSecond = 1000;
    });

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Concurrent_senders_get_gap_free_seqs_and_a_listener_sees_them_in_order()
    {
        const int Senders = 6;
        const int PerSender = 15;
        await using var listener = await TestClient.RegisteredAsync(_server.Endpoint, "listener");
        Assert.Equal(Frame.BodyOneofCase.JoinRoomOk, (await listener.JoinAsync("busy")).BodyCase);
        var senders = new List<TestClient>();
        try
        {
            for (var s = 0; s < Senders; s++)
            {
                var client = await TestClient.RegisteredAsync(_server.Endpoint, "s" + s);
                senders.Add(client);
                Assert.Equal(Frame.BodyOneofCase.JoinRoomOk, (await client.JoinAsync("busy")).BodyCase);
            }

            var acks = await Task.WhenAll(senders.Select(async (client, s) =>
            {
                var seqs = new List<ulong>();
                for (var i = 0; i < PerSender; i++)
                {
                    var reply = await client.SendMessageAsync("busy", Encoding.UTF8.GetBytes($"{s}:{i}"));
                    Assert.Equal(Frame.BodyOneofCase.SendOk, reply.BodyCase);
                    seqs.Add(reply.SendOk.Seq);
                }

                return seqs;
            }));

            var all = acks.SelectMany(a => a).Order().ToArray();
            Assert.Equal(Enumerable.Range(1, Senders * PerSender).Select(i => (ulong)i), all);

            var seen = new List<MessageEvent>();
            for (var i = 0; i < Senders * PerSender; i++)
            {
                seen.Add((await listener.NextEventAsync()).MessageEvent);
            }

            Assert.Equal(all, seen.Select(e => e.Seq));

            // Each sender's own messages keep the order it sent them in.
            foreach (var group in seen.GroupBy(e => e.Sender))
            {
                var numbers = group.Select(e => int.Parse(e.Payload.ToStringUtf8().Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(Enumerable.Range(0, PerSender), numbers);
            }
        }
        finally
        {
            foreach (var client in senders)
            {
                await client.DisposeAsync();
            }
        }
    }
}
