using System.Text;
using CipherChat.Protocol.V1;
using CipherChat.Server.Hosting;
using CipherChat.Server.Tests.Support;

namespace CipherChat.Server.Tests;

public sealed class DeliveryTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ChatServer _server = null!;

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

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Messages_reach_every_online_member_in_order_with_gap_free_seqs()
    {
        await using var alice = await TestClient.RegisteredAsync(_server.Endpoint, "alice");
        await using var bob = await TestClient.RegisteredAsync(_server.Endpoint, "bob");
        await using var carol = await TestClient.RegisteredAsync(_server.Endpoint, "carol");
        foreach (var c in new[] { alice, bob, carol })
        {
            Assert.Equal(Frame.BodyOneofCase.JoinRoomOk, (await c.JoinAsync("#Friends")).BodyCase);
        }

        var acks = new List<SendOk>();
        for (var i = 0; i < 10; i++)
        {
            var sender = i % 2 == 0 ? alice : bob;
            var reply = await sender.SendMessageAsync("friends", Text("m" + i));
            Assert.Equal(Frame.BodyOneofCase.SendOk, reply.BodyCase);
            acks.Add(reply.SendOk);
        }

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (ulong)i), acks.Select(a => a.Seq));

        // carol sent nothing and sees all ten, in order.
        var seen = new List<MessageEvent>();
        for (var i = 0; i < 10; i++)
        {
            seen.Add((await carol.NextEventAsync()).MessageEvent);
        }

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (ulong)i), seen.Select(e => e.Seq));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => "m" + i), seen.Select(e => e.Payload.ToStringUtf8()));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i % 2 == 0 ? "alice" : "bob"), seen.Select(e => e.Sender));
        Assert.All(seen, e => Assert.Equal("friends", e.Room));

        // alice gets bob's five messages as events, not her own (she has their SendOk).
        var aliceEvents = new List<MessageEvent>();
        for (var i = 0; i < 5; i++)
        {
            aliceEvents.Add((await alice.NextEventAsync()).MessageEvent);
        }

        Assert.All(aliceEvents, e => Assert.Equal("bob", e.Sender));
        Assert.Equal([2UL, 4, 6, 8, 10], aliceEvents.Select(e => e.Seq));
    }

    [Fact]
    public async Task A_senders_other_connection_receives_the_message()
    {
        await using var phone = await TestClient.RegisteredAsync(_server.Endpoint, "dana");
        await using var laptop = await TestClient.LoggedInAsync(_server.Endpoint, "dana", phone.Key!);
        await phone.JoinAsync("r");
        var sent = await phone.SendMessageAsync("r", Text("hi"));
        var ev = (await laptop.NextEventAsync()).MessageEvent;
        Assert.Equal(sent.SendOk.Seq, ev.Seq);
        Assert.Equal("dana", ev.Sender);
        Assert.Equal("hi", ev.Payload.ToStringUtf8());
    }

    [Fact]
    public async Task A_retried_send_is_stored_once()
    {
        await using var alice = await TestClient.RegisteredAsync(_server.Endpoint, "erin");
        await using var bob = await TestClient.RegisteredAsync(_server.Endpoint, "fred");
        await alice.JoinAsync("r");
        await bob.JoinAsync("r");
        var id = Guid.NewGuid().ToByteArray();
        var first = (await alice.SendMessageAsync("r", Text("once"), id)).SendOk;
        var retry = (await alice.SendMessageAsync("r", Text("once"), id)).SendOk;
        var next = (await alice.SendMessageAsync("r", Text("twice"))).SendOk;

        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
        Assert.Equal(first.ServerTime, retry.ServerTime);
        Assert.Equal(first.Seq + 1, next.Seq);

        // bob got exactly two events: the retry was not pushed again.
        Assert.Equal("once", (await bob.NextEventAsync()).MessageEvent.Payload.ToStringUtf8());
        Assert.Equal("twice", (await bob.NextEventAsync()).MessageEvent.Payload.ToStringUtf8());
        Assert.Equal(2, (await bob.FetchAsync("r", 0)).FetchResult.Messages.Count);
    }

    [Fact]
    public async Task An_offline_member_catches_up_with_fetch_in_pages()
    {
        using var bobKey = TestClient.NewKey();
        await using (var bob = await TestClient.ConnectAsync(_server.Endpoint))
        {
            await bob.HelloAsync();
            await bob.RegisterAsync("gus", key: bobKey);
            await bob.JoinAsync("r");
        }

        await using var alice = await TestClient.RegisteredAsync(_server.Endpoint, "hana");
        await alice.JoinAsync("r");
        for (var i = 1; i <= 25; i++)
        {
            Assert.Equal(Frame.BodyOneofCase.SendOk, (await alice.SendMessageAsync("r", Text("n" + i))).BodyCase);
        }

        await using var back = await TestClient.LoggedInAsync(_server.Endpoint, "gus", bobKey);
        var rooms = (await back.RequestAsync(new Frame { ListRooms = new ListRooms() })).RoomList.Rooms;
        Assert.Equal(25UL, rooms.Single().LastSeq);

        var got = new List<MessageEvent>();
        ulong after = 0;
        while (true)
        {
            var page = (await back.FetchAsync("r", after, 10)).FetchResult;
            got.AddRange(page.Messages);
            after = page.Messages.Count > 0 ? page.Messages[^1].Seq : after;
            if (!page.HasMore)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(1, 25).Select(i => "n" + i), got.Select(m => m.Payload.ToStringUtf8()));

        var ack = await back.RequestAsync(new Frame { Ack = new Ack { Room = "r", Seq = 25 } });
        Assert.Equal(25UL, ack.AckOk.ReadSeq);
        Assert.Equal(25UL, (await back.RequestAsync(new Frame { ListRooms = new ListRooms() })).RoomList.Rooms.Single().ReadSeq);
    }

    [Fact]
    public async Task Fetch_stops_at_the_frame_limit_and_says_there_is_more()
    {
        using var directory = new TempDirectory();
        await using var server = await TestServer.StartInMemoryAsync(directory.Path, o =>
        {
            o.MaxFrameBytes = 16 * 1024;
            o.MaxPayloadBytes = 6 * 1024;
        });
        await using var alice = await TestClient.RegisteredAsync(server.Endpoint, "ivan");
        await alice.JoinAsync("r");
        for (var i = 0; i < 5; i++)
        {
            await alice.SendMessageAsync("r", new byte[6 * 1024]);
        }

        var page = (await alice.FetchAsync("r", 0, 100)).FetchResult;
        Assert.Equal(2, page.Messages.Count);
        Assert.True(page.HasMore);
    }

    [Fact]
    public async Task Sending_to_a_room_one_is_not_in_is_refused()
    {
        await using var alice = await TestClient.RegisteredAsync(_server.Endpoint, "jane");
        await using var mallory = await TestClient.RegisteredAsync(_server.Endpoint, "mallory");
        await alice.JoinAsync("secret");

        var reply = await mallory.SendMessageAsync("secret", Text("let me in"));
        Assert.Equal(ErrorCode.NotAMember, reply.Error.Code);
        Assert.Equal(ErrorCode.NotAMember, (await mallory.FetchAsync("secret", 0)).Error.Code);
        Assert.Equal(Frame.BodyOneofCase.Pong, (await mallory.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
        Assert.Empty((await alice.FetchAsync("secret", 0)).FetchResult.Messages);
    }

    [Fact]
    public async Task A_different_room_key_is_refused_and_the_room_stays_closed()
    {
        await using var alice = await TestClient.RegisteredAsync(_server.Endpoint, "kim");
        await using var bob = await TestClient.RegisteredAsync(_server.Endpoint, "lee");
        var created = await alice.JoinAsync("r", TestClient.KeyCheck(1));
        Assert.True(created.JoinRoomOk.Created);
        Assert.Equal(ErrorCode.WrongRoomKey, (await bob.JoinAsync("r", TestClient.KeyCheck(2))).Error.Code);
        Assert.Equal(ErrorCode.NotAMember, (await bob.SendMessageAsync("r", Text("x"))).Error.Code);
        var joined = await bob.JoinAsync("#R", TestClient.KeyCheck(1));
        Assert.False(joined.JoinRoomOk.Created);
        Assert.Equal("r", joined.JoinRoomOk.Room.Name);
    }

    [Fact]
    public async Task Leaving_stops_events_and_sending()
    {
        await using var alice = await TestClient.RegisteredAsync(_server.Endpoint, "mia");
        await using var bob = await TestClient.RegisteredAsync(_server.Endpoint, "ned");
        await alice.JoinAsync("r");
        await bob.JoinAsync("r");
        Assert.Equal("r", (await bob.RequestAsync(new Frame { LeaveRoom = new LeaveRoom { Room = "r" } })).LeaveRoomOk.Room);
        await alice.SendMessageAsync("r", Text("after"));
        Assert.Equal(ErrorCode.NotAMember, (await bob.SendMessageAsync("r", Text("x"))).Error.Code);
        Assert.Empty((await bob.RequestAsync(new Frame { ListRooms = new ListRooms() })).RoomList.Rooms);
        Assert.Empty(bob.Events);
        Assert.Equal(ErrorCode.NotAMember, (await bob.RequestAsync(new Frame { LeaveRoom = new LeaveRoom { Room = "r" } })).Error.Code);
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_disconnected_and_others_keep_receiving()
    {
        using var directory = new TempDirectory();
        await using var server = await TestServer.StartInMemoryAsync(directory.Path, o =>
        {
            o.OutboundQueueFrames = 8;
            o.SendBurst = 10000;
            o.SendRatePerSecond = 10000;
        });
        await using var sender = await TestClient.RegisteredAsync(server.Endpoint, "sender");
        await using var reader = await TestClient.RegisteredAsync(server.Endpoint, "reader");
        await using var stalled = await TestClient.RegisteredAsync(server.Endpoint, "stalled");
        await sender.JoinAsync("r");
        await reader.JoinAsync("r");
        await stalled.JoinAsync("r");

        // Enough bytes to fill the stalled client's socket buffers and then its queue. The reader reads
        // each message before the next is sent, so only the stalled client falls behind.
        const int Count = 300;
        var payload = new byte[60 * 1024];
        var seqs = new List<ulong>();
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(Frame.BodyOneofCase.SendOk, (await sender.SendMessageAsync("r", payload)).BodyCase);
            seqs.Add((await reader.NextEventAsync()).MessageEvent.Seq);
        }

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (ulong)i), seqs);
        Assert.Equal(1, server.Core.Metrics.SlowConsumers);

        // The stalled client now reads: it finds fewer than all messages, then the end of the connection.
        var received = 0;
        while (await stalled.ReadAsync() is { } frame)
        {
            Assert.Equal(Frame.BodyOneofCase.MessageEvent, frame.BodyCase);
            received++;
        }

        Assert.True(received < Count, $"the stalled client received all {received} messages");
    }
}
