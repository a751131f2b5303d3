using CipherChat.Cluster.Tests.Support;
using CipherChat.Protocol.V1;
using CipherChat.Server.Tests.Support;
using Body = CipherChat.Protocol.V1.Frame.BodyOneofCase;

namespace CipherChat.Cluster.Tests;

/// <summary>
/// An MLS commit accepted by one node changes who is pushed the room on every node. The database
/// comparison runs once an hour here, so what reaches the other node comes through Redis.
/// </summary>
public sealed class MlsMembershipTests
{
    private const string Room = "team";

    private static byte[] Text(string value) => System.Text.Encoding.UTF8.GetBytes(value);

    private static async Task<Frame> OkAsync(TestClient client, Frame request, Body expected)
    {
        var reply = await client.RequestAsync(request);
        Assert.True(reply.BodyCase == expected, $"expected {expected}, got {reply}");
        return reply;
    }

    /// <summary>Pushed events until one of <paramref name="body"/> arrives; returns it and the ones before.</summary>
    private static async Task<(Frame Found, List<Frame> Before)> NextOfAsync(TestClient client, Body body)
    {
        var before = new List<Frame>();
        while (true)
        {
            var frame = await client.NextEventAsync();
            if (frame.BodyCase == body)
            {
                return (frame, before);
            }

            before.Add(frame);
        }
    }

    /// <summary>Everything pushed so far (a Ping round trip flushes what the node queued before it).</summary>
    private static async Task<List<Frame>> DrainAsync(TestClient client)
    {
        Assert.Equal(Body.Pong, (await client.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
        var events = client.Events.ToList();
        client.Events.Clear();
        return events;
    }

    [Fact]
    public async Task A_user_added_on_another_node_gets_the_Welcome_and_later_messages_without_reconnecting()
    {
        await using var cluster = await TestCluster.CreateAsync();
        var nodeA = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        var nodeB = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        await using var alice = await TestClient.RegisteredAsync(nodeA.Endpoint, "alice");
        await using var bob = await TestClient.RegisteredAsync(nodeB.Endpoint, "bob");
        await OkAsync(alice, MlsKit.CreateRoom(Room, MlsKit.GroupId(7)), Body.CreateRoomOk);

        var welcome = MlsKit.Welcome(3);
        var committed = (await OkAsync(alice, MlsKit.SubmitCommit(Room, 0, added: ["bob"], welcomes: [("bob", welcome)]), Body.SubmitCommitOk)).SubmitCommitOk;

        var (pushed, _) = await NextOfAsync(bob, Body.WelcomeEvent);
        Assert.Equal((Room, "alice", committed.Seq), (pushed.WelcomeEvent.Room, pushed.WelcomeEvent.From, pushed.WelcomeEvent.JoinSeq));
        Assert.Equal(welcome, pushed.WelcomeEvent.Welcome.ToByteArray());

        var seq = await Clients.SendOkAsync(alice, Room, Text("hello bob"));
        var message = (await Clients.PushedUntilAsync(bob, Room, seq)).Last();
        Assert.Equal((seq, "alice", "hello bob"), (message.Seq, message.Sender, message.Payload.ToStringUtf8()));

        // Bob's own messages reach alice on the other node too: the room is his on node B now.
        var reply = await Clients.SendOkAsync(bob, Room, Text("hello alice"));
        var atAlice = (await Clients.PushedUntilAsync(alice, Room, reply)).Last();
        Assert.Equal(("bob", "hello alice"), (atAlice.Sender, atAlice.Payload.ToStringUtf8()));
    }

    [Fact]
    public async Task A_user_removed_on_another_node_gets_the_removing_commit_and_nothing_after_it()
    {
        await using var cluster = await TestCluster.CreateAsync();
        var nodeA = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        var nodeB = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        await using var alice = await TestClient.RegisteredAsync(nodeA.Endpoint, "alice");
        await using var carol = await TestClient.RegisteredAsync(nodeB.Endpoint, "carol");
        await using var dave = await TestClient.RegisteredAsync(nodeB.Endpoint, "dave");
        await OkAsync(alice, MlsKit.CreateRoom(Room, MlsKit.GroupId(7)), Body.CreateRoomOk);
        await OkAsync(alice, MlsKit.SubmitCommit(Room, 0, added: ["carol", "dave"], welcomes: [("carol", MlsKit.Welcome(1)), ("dave", MlsKit.Welcome(2))]), Body.SubmitCommitOk);
        var before = await Clients.SendOkAsync(alice, Room, Text("before"));
        Assert.Equal(before, (await Clients.PushedUntilAsync(carol, Room, before)).Last().Seq);
        Assert.Equal(before, (await Clients.PushedUntilAsync(dave, Room, before)).Last().Seq);

        var removal = (await OkAsync(alice, MlsKit.SubmitCommit(Room, 1, removed: ["carol"]), Body.SubmitCommitOk)).SubmitCommitOk;
        Assert.Equal(removal.Seq, (await Clients.PushedUntilAsync(carol, Room, removal.Seq)).Last().Seq);

        // Two later messages reach dave, on carol's node; the second is pushed only after the first
        // went to every connection of the room there, so carol's queue is settled when she pings.
        var after = await Clients.SendOkAsync(alice, Room, Text("after"));
        var last = await Clients.SendOkAsync(alice, Room, Text("last"));
        var atDave = await Clients.PushedUntilAsync(dave, Room, last);
        Assert.Equal([removal.Seq, after, last], atDave.Select(e => e.Seq));
        Assert.DoesNotContain(await DrainAsync(carol), f => f.BodyCase == Body.MessageEvent);
    }

    [Fact]
    public async Task A_member_leaving_on_one_node_stops_pushes_to_its_connection_on_another()
    {
        await using var cluster = await TestCluster.CreateAsync();
        var nodeA = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        var nodeB = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        await using var alice = await TestClient.RegisteredAsync(nodeA.Endpoint, "alice");
        await using var carol = await TestClient.RegisteredAsync(nodeB.Endpoint, "carol");
        await using var carolOnA = await TestClient.LoggedInAsync(nodeA.Endpoint, "carol", carol.Key!);
        await using var dave = await TestClient.RegisteredAsync(nodeB.Endpoint, "dave");
        await OkAsync(alice, MlsKit.CreateRoom(Room, MlsKit.GroupId(7)), Body.CreateRoomOk);
        await OkAsync(alice, MlsKit.SubmitCommit(Room, 0, added: ["carol", "dave"]), Body.SubmitCommitOk);
        var before = await Clients.SendOkAsync(alice, Room, Text("before"));
        Assert.Equal(before, (await Clients.PushedUntilAsync(carol, Room, before)).Last().Seq);

        await OkAsync(carolOnA, new Frame { LeaveRoom = new LeaveRoom { Room = Room } }, Body.LeaveRoomOk);

        // Once dave, on carol's other node, has two later messages, that node has heard of the leave.
        var after = await Clients.SendOkAsync(alice, Room, Text("after"));
        var last = await Clients.SendOkAsync(alice, Room, Text("last"));
        Assert.Equal([after, last], (await Clients.PushedUntilAsync(dave, Room, last)).Select(e => e.Seq).TakeLast(2));
        Assert.DoesNotContain(await DrainAsync(carol), f => f.BodyCase == Body.MessageEvent);
    }
}
