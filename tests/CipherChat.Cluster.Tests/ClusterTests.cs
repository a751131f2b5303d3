using CipherChat.Cluster.Tests.Support;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Tests.Support;
using Google.Protobuf;

namespace CipherChat.Cluster.Tests;

/// <summary>Several real server nodes sharing PostgreSQL and Redis, with protocol clients on each.</summary>
public sealed class ClusterTests
{
    private const string Room = "team";

    private static byte[] Text(string value) => System.Text.Encoding.UTF8.GetBytes(value);

    [Fact]
    public async Task Clients_on_two_nodes_exchange_messages_in_both_directions()
    {
        await using var cluster = await TestCluster.CreateAsync();

        // An hour between database comparisons: these pushes can only come through Redis.
        var nodeA = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        var nodeB = await cluster.StartNodeAsync(catchUpIntervalSeconds: 3600);
        await using var alice = await Clients.MemberAsync(nodeA.Endpoint, "alice", Room);
        await using var bob = await Clients.MemberAsync(nodeB.Endpoint, "bob", Room);

        Assert.Equal(1UL, await Clients.SendOkAsync(alice, Room, Text("from a")));
        var atBob = (await Clients.PushedUntilAsync(bob, Room, 1)).Single();
        Assert.Equal(("alice", "from a"), (atBob.Sender, atBob.Payload.ToStringUtf8()));

        Assert.Equal(2UL, await Clients.SendOkAsync(bob, Room, Text("from b")));
        var atAlice = (await Clients.PushedUntilAsync(alice, Room, 2)).Single();
        Assert.Equal((2UL, "bob", "from b"), (atAlice.Seq, atAlice.Sender, atAlice.Payload.ToStringUtf8()));
    }

    [Fact]
    public async Task Concurrent_posting_through_both_nodes_keeps_one_gap_free_order()
    {
        await using var cluster = await TestCluster.CreateAsync();
        var nodeA = await cluster.StartNodeAsync();
        var nodeB = await cluster.StartNodeAsync();
        await using var alice = await Clients.MemberAsync(nodeA.Endpoint, "alice", Room);
        await using var bob = await Clients.MemberAsync(nodeB.Endpoint, "bob", Room);
        await using var carol = await Clients.MemberAsync(nodeA.Endpoint, "carol", Room);
        await using var dave = await Clients.MemberAsync(nodeB.Endpoint, "dave", Room);

        // One message first, so both nodes have pushed this room once before the burst.
        await Clients.SendOkAsync(alice, Room, Text("warm-up"));
        await Clients.PushedUntilAsync(carol, Room, 1);
        await Clients.PushedUntilAsync(dave, Room, 1);

        const int PerSender = 150;
        async Task<List<ulong>> Burst(TestClient sender, string name)
        {
            var seqs = new List<ulong>();
            for (var i = 0; i < PerSender; i++)
            {
                seqs.Add(await Clients.SendOkAsync(sender, Room, Text($"{name} {i}")));
            }

            return seqs;
        }

        var bursts = await Task.WhenAll(Burst(alice, "alice"), Burst(bob, "bob"));
        const ulong Last = 1 + (2 * PerSender);
        Clients.AssertGapFree(bursts.SelectMany(s => s).Order(), 2, Last);

        // Each sender's own messages are in its sending order.
        Assert.Equal(bursts[0].Order(), bursts[0]);
        Assert.Equal(bursts[1].Order(), bursts[1]);

        // Watchers on either node are pushed every message once, in the one order.
        foreach (var watcher in new[] { carol, dave })
        {
            var pushed = await Clients.PushedUntilAsync(watcher, Room, Last);
            Clients.AssertGapFree(pushed.Select(e => e.Seq), 2, Last);
        }

        // Both nodes serve the same log.
        var fromA = await Clients.FetchAllAsync(carol, Room);
        var fromB = await Clients.FetchAllAsync(dave, Room);
        Clients.AssertGapFree(fromA.Select(e => e.Seq), 1, Last);
        Assert.Equal(fromA.Select(e => (e.Seq, e.Sender, e.Payload.ToStringUtf8())), fromB.Select(e => (e.Seq, e.Sender, e.Payload.ToStringUtf8())));
        for (var i = 0; i < PerSender; i++)
        {
            Assert.Equal($"alice {i}", fromA.Single(e => e.Seq == bursts[0][i]).Payload.ToStringUtf8());
            Assert.Equal($"bob {i}", fromA.Single(e => e.Seq == bursts[1][i]).Payload.ToStringUtf8());
        }
    }

    [Fact]
    public async Task A_node_killed_with_SIGKILL_mid_burst_loses_no_acknowledged_message()
    {
        await using var cluster = await TestCluster.CreateAsync();
        Assert.True(File.Exists(ChildProcess.CliDll), $"cipherchat.dll not found next to the tests ({ChildProcess.CliDll})");
        var nodeB = await cluster.StartNodeAsync();
        var port = ChildProcess.FreePort();
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        using var nodeA = await ChildProcess.StartAsync(
            string.IsNullOrEmpty(host) ? "dotnet" : host,
            [ChildProcess.CliDll, "server", "--tls", "off", "--listen", $"127.0.0.1:{port}", "--data", Path.Combine(cluster.DataDirectory, "node-a"),
                "--postgres", cluster.Database.ConnectionString, "--redis", cluster.Redis],
            port,
            new Dictionary<string, string>
            {
                ["CIPHERCHAT_ScaleOut__Channel"] = cluster.Channel,
                ["CIPHERCHAT_Server__SendRatePerSecond"] = "100000",
                ["CIPHERCHAT_Server__SendBurst"] = "100000",
            });

        await using var bob = await Clients.MemberAsync(nodeB.Endpoint, "bob", Room);
        using var aliceKey = TestClient.NewKey();
        var alice = await TestClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
        await alice.HelloAsync();
        Assert.Equal(Frame.BodyOneofCase.LoginOk, (await alice.RegisterAsync("alice", key: aliceKey)).BodyCase);
        Assert.Equal(Frame.BodyOneofCase.JoinRoomOk, (await alice.JoinAsync(Room)).BodyCase);

        // Alice pipelines a burst to node A; A is killed once a quarter of it is acknowledged.
        const int Burst = 200;
        var ids = Enumerable.Range(0, Burst).Select(_ => Guid.NewGuid().ToByteArray()).ToArray();
        var bySeq = new Dictionary<ulong, int>();
        var requestToIndex = new Dictionary<ulong, int>();
        for (var i = 0; i < Burst; i++)
        {
            var requestId = await alice.SendAsync(new Frame { Send = new Send { Room = Room, ClientMessageId = ByteString.CopyFrom(ids[i]), Payload = ByteString.CopyFrom(Text($"m{i}")) } });
            requestToIndex[requestId] = i;
        }

        var acked = new Dictionary<int, ulong>();
        while (true)
        {
            Frame? frame;
            try
            {
                frame = await alice.ReadAsync();
            }
            catch (ProtocolException)
            {
                break; // cut inside a frame
            }

            if (frame is null)
            {
                break;
            }

            if (frame.BodyCase == Frame.BodyOneofCase.SendOk && requestToIndex.TryGetValue(frame.RequestId, out var index))
            {
                acked[index] = frame.SendOk.Seq;
                if (acked.Count == Burst / 4)
                {
                    nodeA.Kill();
                }
            }
        }

        await alice.DisposeAsync();
        Assert.InRange(acked.Count, Burst / 4, Burst - 1);

        // Every acknowledged message is in the log once, with its acknowledged seq, and the log has no gap.
        var log = await Clients.FetchAllAsync(bob, Room);
        Clients.AssertGapFree(log.Select(e => e.Seq), 1, (ulong)log.Count);
        foreach (var (index, seq) in acked)
        {
            var stored = Assert.Single(log, e => e.ClientMessageId.Span.SequenceEqual(ids[index]));
            Assert.Equal(seq, stored.Seq);
        }

        // Alice moves to node B and sends the whole burst again: what was stored is recognised, the rest is added.
        await using var aliceAgain = await TestClient.LoggedInAsync(nodeB.Endpoint, "alice", aliceKey);
        for (var i = 0; i < Burst; i++)
        {
            var reply = await aliceAgain.SendMessageAsync(Room, Text($"m{i}"), ids[i]);
            Assert.Equal(Frame.BodyOneofCase.SendOk, reply.BodyCase);
            if (acked.TryGetValue(i, out var seq))
            {
                Assert.True(reply.SendOk.Duplicate);
                Assert.Equal(seq, reply.SendOk.Seq);
            }
        }

        var final = await Clients.FetchAllAsync(bob, Room);
        Clients.AssertGapFree(final.Select(e => e.Seq), 1, Burst);
        Assert.Equal(Burst, final.Select(e => Convert.ToHexString(e.ClientMessageId.Span)).Distinct().Count());
    }

    [Fact]
    public async Task Redis_restarted_mid_run_delays_delivery_but_loses_nothing()
    {
        await TestCluster.RequireRedisAsync();
        var redisServer = ChildProcess.FindOnPath("redis-server");
        if (redisServer is null)
        {
            Assert.Skip("redis-server is not installed: this test restarts a Redis of its own");
        }

        var redisPort = ChildProcess.FreePort();
        string[] redisArgs = ["--port", redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        var redis = await ChildProcess.StartAsync(redisServer, redisArgs, redisPort);
        try
        {
            await using var cluster = await TestCluster.CreateAsync($"127.0.0.1:{redisPort}");
            var nodeA = await cluster.StartNodeAsync();
            var nodeB = await cluster.StartNodeAsync();
            await using var alice = await Clients.MemberAsync(nodeA.Endpoint, "alice", Room);
            await using var bob = await Clients.MemberAsync(nodeB.Endpoint, "bob", Room);
            await Clients.SendOkAsync(alice, Room, Text("before"));
            Assert.Equal(1UL, (await Clients.PushedUntilAsync(bob, Room, 1)).Single().Seq);

            // Redis gone: sends still succeed, and the other node still delivers them from the database.
            redis.Kill();
            for (var i = 0; i < 10; i++)
            {
                await Clients.SendOkAsync(alice, Room, Text($"during {i}"));
            }

            Clients.AssertGapFree((await Clients.PushedUntilAsync(bob, Room, 11)).Select(e => e.Seq), 2, 11);

            // Redis back on the same port: both directions keep working, still in order.
            redis.Dispose();
            redis = await ChildProcess.StartAsync(redisServer, redisArgs, redisPort);
            for (var i = 0; i < 10; i++)
            {
                await Clients.SendOkAsync(bob, Room, Text($"after {i}"));
            }

            Clients.AssertGapFree((await Clients.PushedUntilAsync(alice, Room, 21)).Select(e => e.Seq), 12, 21);
            await Clients.SendOkAsync(alice, Room, Text("last"));
            Assert.Equal(22UL, (await Clients.PushedUntilAsync(bob, Room, 22)).Single().Seq);
            Clients.AssertGapFree((await Clients.FetchAllAsync(bob, Room)).Select(e => e.Seq), 1, 22);
        }
        finally
        {
            redis.Dispose();
        }
    }
}
