using System.Text;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;
using CipherChat.Protocol.V1;
using CipherChat.Server.Hosting;
using CipherChat.Server.Tests.Support;
using Google.Protobuf;
using NSec.Cryptography;
using Body = CipherChat.Protocol.V1.Frame.BodyOneofCase;

namespace CipherChat.Server.Tests.Mls;

/// <summary>The MLS delivery service through real connections to a server on SQLite.</summary>
public sealed class MlsRoomTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly List<TestClient> _clients = [];
    private ChatServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await TestServer.StartSqliteAsync(_directory.Path, o =>
    {
        o.SendBurst = 1000;
        o.SendRatePerSecond = 1000;
    });

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await _server.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<TestClient> UserAsync(string name)
    {
        var client = await TestClient.RegisteredAsync(_server.Endpoint, name);
        _clients.Add(client);
        return client;
    }

    private async Task<TestClient> SecondConnectionAsync(TestClient of)
    {
        var client = await TestClient.LoggedInAsync(_server.Endpoint, of.Username!, of.Key!);
        _clients.Add(client);
        return client;
    }

    private static async Task<Frame> OkAsync(TestClient client, Frame request, Body expected)
    {
        var reply = await client.RequestAsync(request);
        Assert.True(reply.BodyCase == expected, $"expected {expected}, got {reply}");
        return reply;
    }

    private static async Task<Error> RefusedAsync(TestClient client, Frame request, ErrorCode code)
    {
        var reply = await client.RequestAsync(request);
        Assert.True(reply.BodyCase == Body.Error, $"expected error {code}, got {reply}");
        Assert.Equal(code, reply.Error.Code);

        // A refused request costs only that request: the connection keeps working.
        Assert.Equal(Body.Pong, (await client.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
        return reply.Error;
    }

    /// <summary>Everything pushed to <paramref name="client"/> so far (a Ping round trip flushes what the server queued before it).</summary>
    private static async Task<List<Frame>> DrainEventsAsync(TestClient client)
    {
        Assert.Equal(Body.Pong, (await client.RequestAsync(new Frame { Ping = new Ping() })).BodyCase);
        var events = client.Events.ToList();
        client.Events.Clear();
        return events;
    }

    private static Frame Fetch(string user) => new() { FetchKeyPackage = new FetchKeyPackage { User = user } };

    private static async Task<CreateRoomOk> CreateAsync(TestClient client, string room, bool adminsOnly = false) =>
        (await OkAsync(client, MlsKit.CreateRoom(room, MlsKit.GroupId(7), adminsOnly), Body.CreateRoomOk)).CreateRoomOk;

    private static async Task<SubmitCommitOk> CommitAsync(TestClient client, Frame submit) =>
        (await OkAsync(client, submit, Body.SubmitCommitOk)).SubmitCommitOk;

    // ---- Key directory -----------------------------------------------------------------------

    [Fact]
    public async Task Key_package_uploads_accept_only_the_uploaders_suite_1_key_packages()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");

        // Right name, someone else's key; another user's KeyPackage; another suite; garbage; trailing bytes.
        using (var otherKey = SignatureKeyPair.Generate())
        using (var foreign = MlsKit.Bundle("alice", otherKey))
        {
            await RefusedAsync(alice, MlsKit.Upload([foreign.KeyPackage.ToBytes()]), ErrorCode.InvalidKeyPackage);
        }

        await RefusedAsync(alice, MlsKit.Upload([MlsKit.KeyPackageOf(bob)]), ErrorCode.InvalidKeyPackage);
        await RefusedAsync(alice, MlsKit.Upload([MlsKit.KeyPackageWithSuite(alice, 2)]), ErrorCode.InvalidKeyPackage);
        await RefusedAsync(alice, MlsKit.Upload([[1, 2, 3]]), ErrorCode.InvalidKeyPackage);
        await RefusedAsync(alice, MlsKit.Upload([[.. MlsKit.KeyPackageOf(alice), 0]]), ErrorCode.InvalidKeyPackage);
        await RefusedAsync(alice, MlsKit.Upload([MlsKit.KeyPackageOf(alice)], lastResort: MlsKit.KeyPackageOf(bob)), ErrorCode.InvalidKeyPackage);
        await RefusedAsync(alice, MlsKit.Upload([new byte[(16 * 1024) + 1]]), ErrorCode.InvalidKeyPackage);

        // One bad entry refuses the whole upload.
        await RefusedAsync(alice, MlsKit.Upload([MlsKit.KeyPackageOf(alice), MlsKit.KeyPackageOf(bob)]), ErrorCode.InvalidKeyPackage);
        var count = (await OkAsync(alice, new Frame { KeyPackageCount = new KeyPackageCount() }, Body.KeyPackageCountOk)).KeyPackageCountOk;
        Assert.Equal(0U, count.OneTime);
        Assert.False(count.HasLastResort);

        var duplicate = MlsKit.KeyPackageOf(alice);
        var ok = (await OkAsync(alice, MlsKit.Upload([duplicate, duplicate, MlsKit.KeyPackageOf(alice)], MlsKit.KeyPackageOf(alice)), Body.UploadKeyPackagesOk)).UploadKeyPackagesOk;
        Assert.Equal(2U, ok.OneTime);
        Assert.True(ok.HasLastResort);
        count = (await OkAsync(alice, new Frame { KeyPackageCount = new KeyPackageCount() }, Body.KeyPackageCountOk)).KeyPackageCountOk;
        Assert.Equal(2U, count.OneTime);
        Assert.True(count.HasLastResort);
    }

    [Fact]
    public async Task At_most_100_key_packages_per_upload_and_stored_per_user()
    {
        var alice = await UserAsync("alice");
        var packages = Enumerable.Range(0, 101).Select(_ => MlsKit.KeyPackageOf(alice)).ToList();
        await RefusedAsync(alice, MlsKit.Upload(packages), ErrorCode.InvalidRequest);
        Assert.Equal(100U, (await OkAsync(alice, MlsKit.Upload(packages[..100]), Body.UploadKeyPackagesOk)).UploadKeyPackagesOk.OneTime);
        await RefusedAsync(alice, MlsKit.Upload([packages[100]]), ErrorCode.KeyPackageLimit);

        // A last resort alone still fits.
        Assert.True((await OkAsync(alice, MlsKit.Upload([], packages[100]), Body.UploadKeyPackagesOk)).UploadKeyPackagesOk.HasLastResort);
    }

    [Fact]
    public async Task Fetching_hands_out_one_time_key_packages_once_then_the_last_resort_and_warns_the_owner()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await RefusedAsync(alice, Fetch("bob"), ErrorCode.NoKeyPackage);
        await RefusedAsync(alice, Fetch("nobody"), ErrorCode.UnknownUser);
        await RefusedAsync(alice, Fetch("no body"), ErrorCode.InvalidUsername);

        var oneTime = Enumerable.Range(0, 6).Select(_ => MlsKit.KeyPackageOf(bob)).ToList();
        var lastResort = MlsKit.KeyPackageOf(bob);
        await OkAsync(bob, MlsKit.Upload(oneTime, lastResort), Body.UploadKeyPackagesOk);

        var fetched = new List<byte[]>();
        for (var i = 0; i < 6; i++)
        {
            var reply = (await OkAsync(alice, Fetch("Bob"), Body.FetchKeyPackageOk)).FetchKeyPackageOk;
            Assert.Equal("bob", reply.User);
            Assert.False(reply.LastResort);
            fetched.Add(reply.KeyPackage.ToByteArray());
        }

        Assert.Equal(oneTime.Select(Convert.ToHexString).Order(), fetched.Select(Convert.ToHexString).Order());
        for (var i = 0; i < 2; i++)
        {
            var reply = (await OkAsync(alice, Fetch("bob"), Body.FetchKeyPackageOk)).FetchKeyPackageOk;
            Assert.True(reply.LastResort);
            Assert.Equal(lastResort, reply.KeyPackage.ToByteArray());
        }

        // Below 5 left: bob hears how many remain after each fetch (4, 3, 2, 1, 0), and nothing for last-resort fetches.
        var lows = (await DrainEventsAsync(bob)).Where(e => e.BodyCase == Body.KeyPackagesLow).Select(e => e.KeyPackagesLow.OneTime);
        Assert.Equal([4U, 3, 2, 1, 0], lows);
    }

    [Fact]
    public async Task Concurrent_fetchers_never_get_the_same_one_time_key_package()
    {
        var bob = await UserAsync("bob");
        var fetchers = new[] { await UserAsync("alice"), await UserAsync("carol"), await UserAsync("dave") };
        const int OneTime = 30;
        await OkAsync(bob, MlsKit.Upload(Enumerable.Range(0, OneTime).Select(_ => MlsKit.KeyPackageOf(bob)), MlsKit.KeyPackageOf(bob)), Body.UploadKeyPackagesOk);

        // Each fetcher pipelines its requests, all three at once.
        var results = await Task.WhenAll(fetchers.Select(f => Task.Run(async () =>
        {
            var ids = new List<ulong>();
            for (var i = 0; i < 15; i++)
            {
                ids.Add(await f.SendAsync(Fetch("bob")));
            }

            var replies = new List<FetchKeyPackageOk>();
            while (replies.Count < ids.Count)
            {
                var frame = await f.ReadAsync() ?? throw new InvalidOperationException("closed");
                if (frame.BodyCase == Body.FetchKeyPackageOk)
                {
                    replies.Add(frame.FetchKeyPackageOk);
                }
            }

            return replies;
        }, TestContext.Current.CancellationToken)));

        var all = results.SelectMany(r => r).ToList();
        var oneTime = all.Where(r => !r.LastResort).Select(r => Convert.ToHexString(r.KeyPackage.Span)).ToList();
        Assert.Equal(OneTime, oneTime.Count);
        Assert.Equal(OneTime, oneTime.Distinct().Count());
        Assert.Equal(15, all.Count(r => r.LastResort));
    }

    // ---- Rooms -------------------------------------------------------------------------------

    [Fact]
    public async Task Create_room_makes_the_creator_admin_at_epoch_zero_and_names_are_taken_once()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var created = await CreateAsync(alice, "#Team", adminsOnly: true);
        Assert.Equal("team", created.Room.Name);
        Assert.Equal(RoomKind.Mls, created.Room.Kind);
        Assert.Equal(MlsKit.GroupId(7), created.Room.GroupId.ToByteArray());
        Assert.Equal(0UL, created.Room.Epoch);
        Assert.True(created.Room.Admin);
        Assert.True(created.Room.AdminsOnlyMembership);

        await RefusedAsync(bob, MlsKit.CreateRoom("team", MlsKit.GroupId(8)), ErrorCode.RoomExists);
        await OkAsync(bob, new Frame { JoinRoom = new JoinRoom { Room = "psk", Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(TestClient.KeyCheck(1)) } }, Body.JoinRoomOk);
        await RefusedAsync(alice, MlsKit.CreateRoom("psk", MlsKit.GroupId(8)), ErrorCode.RoomExists);
        await RefusedAsync(alice, MlsKit.CreateRoom("x", new byte[15]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.CreateRoom("x", new byte[33]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.CreateRoom("no room", MlsKit.GroupId(8)), ErrorCode.InvalidRoomName);

        // MLS rooms are joined only by being added.
        await RefusedAsync(bob, new Frame { JoinRoom = new JoinRoom { Room = "team", Kind = RoomKind.Mls } }, ErrorCode.UnsupportedRoomKind);
        await RefusedAsync(bob, new Frame { JoinRoom = new JoinRoom { Room = "team", Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(TestClient.KeyCheck(1)) } }, ErrorCode.RoomKindMismatch);
        await RefusedAsync(bob, new Frame { GetRoom = new GetRoom { Room = "team" } }, ErrorCode.NotAMember);

        var listed = (await OkAsync(alice, new Frame { ListRooms = new ListRooms() }, Body.RoomList)).RoomList.Rooms.Single();
        Assert.Equal(created.Room, listed);
    }

    [Fact]
    public async Task Direct_rooms_belong_to_their_two_users_only()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var carol = await UserAsync("carol");

        await RefusedAsync(alice, MlsKit.CreateRoom("@bob+alice", MlsKit.GroupId(1)), ErrorCode.InvalidRoomName);
        await RefusedAsync(alice, MlsKit.CreateRoom("@alice+alice", MlsKit.GroupId(1)), ErrorCode.InvalidRoomName);
        await RefusedAsync(carol, MlsKit.CreateRoom("@alice+bob", MlsKit.GroupId(1)), ErrorCode.NotAllowed);
        await RefusedAsync(alice, MlsKit.CreateRoom("@alice+nobody", MlsKit.GroupId(1)), ErrorCode.UnknownUser);
        await RefusedAsync(alice, new Frame { JoinRoom = new JoinRoom { Room = "@alice+bob", Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(TestClient.KeyCheck(1)) } }, ErrorCode.InvalidRoomName);

        var created = await CreateAsync(bob, "@Alice+Bob");
        Assert.Equal("@alice+bob", created.Room.Name);
        await RefusedAsync(alice, MlsKit.CreateRoom("@alice+bob", MlsKit.GroupId(1)), ErrorCode.RoomExists);

        await RefusedAsync(bob, MlsKit.SubmitCommit("@alice+bob", 0, added: ["carol"]), ErrorCode.NotAllowed);
        var added = await CommitAsync(bob, MlsKit.SubmitCommit("@alice+bob", 0, added: ["alice"], welcomes: [("alice", MlsKit.Welcome(1))]));
        Assert.Equal(1UL, added.NewEpoch);

        // The direct room works like any room: send, fetch, room detail.
        var sent = await OkAsync(alice, new Frame { Send = new Send { Room = "@alice+bob", ClientMessageId = ByteString.CopyFrom(new byte[16]), Payload = ByteString.CopyFromUtf8("hi") } }, Body.SendOk);
        Assert.Equal(2UL, sent.SendOk.Seq);
        var detail = (await OkAsync(alice, new Frame { GetRoom = new GetRoom { Room = "@alice+bob" } }, Body.RoomDetail)).RoomDetail;
        Assert.Equal(["alice", "bob"], detail.Members);
        Assert.Equal(["bob"], detail.Admins);
        await RefusedAsync(carol, new Frame { Fetch = new Fetch { Room = "@alice+bob" } }, ErrorCode.NotAMember);
    }

    // ---- Commits -----------------------------------------------------------------------------

    [Fact]
    public async Task A_commit_for_another_epoch_is_refused_with_the_current_epoch()
    {
        var alice = await UserAsync("alice");
        await UserAsync("bob");
        await CreateAsync(alice, "team");

        var conflict = await RefusedAsync(alice, MlsKit.SubmitCommit("team", 5), ErrorCode.EpochConflict);
        Assert.Equal(0UL, conflict.CurrentEpoch);

        var first = await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"]));
        Assert.Equal(1UL, first.Seq);
        Assert.Equal(1UL, first.NewEpoch);
        Assert.False(first.Duplicate);

        conflict = await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0), ErrorCode.EpochConflict);
        Assert.Equal(1UL, conflict.CurrentEpoch);
        var info = (await OkAsync(alice, new Frame { GetRoom = new GetRoom { Room = "team" } }, Body.RoomDetail)).RoomDetail.Room;
        Assert.Equal(1UL, info.Epoch);
    }

    [Fact]
    public async Task Two_members_committing_the_same_epoch_at_once_have_one_winner()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await CreateAsync(alice, "team");
        await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"]));
        await DrainEventsAsync(bob);

        for (ulong epoch = 1; epoch <= 5; epoch++)
        {
            var e = epoch;
            var replies = await Task.WhenAll(
                Task.Run(() => alice.RequestAsync(MlsKit.SubmitCommit("team", e, MlsKit.Commit(e, 0))), TestContext.Current.CancellationToken),
                Task.Run(() => bob.RequestAsync(MlsKit.SubmitCommit("team", e, MlsKit.Commit(e, 1))), TestContext.Current.CancellationToken));
            var winner = Assert.Single(replies, r => r.BodyCase == Body.SubmitCommitOk);
            var loser = Assert.Single(replies, r => r.BodyCase == Body.Error);
            Assert.Equal(e + 1, winner.SubmitCommitOk.NewEpoch);
            Assert.Equal(ErrorCode.EpochConflict, loser.Error.Code);
            Assert.Equal(e + 1, loser.Error.CurrentEpoch);
        }

        var log = (await OkAsync(bob, new Frame { Fetch = new Fetch { Room = "team" } }, Body.FetchResult)).FetchResult;
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (ulong)i), log.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task A_retried_commit_gets_the_first_outcome_marked_duplicate()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await CreateAsync(alice, "team");
        var id = Guid.NewGuid().ToByteArray();
        var submit = MlsKit.SubmitCommit("team", 0, added: ["bob"], welcomes: [("bob", MlsKit.Welcome(1))], clientMessageId: id);
        var first = await CommitAsync(alice, submit);
        var retry = await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"], welcomes: [("bob", MlsKit.Welcome(1))], clientMessageId: id));
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
        Assert.Equal(first.NewEpoch, retry.NewEpoch);
        Assert.Equal(first.ServerTime, retry.ServerTime);

        // Stored once: one commit in the log, one Welcome.
        Assert.Single((await OkAsync(alice, new Frame { Fetch = new Fetch { Room = "team" } }, Body.FetchResult)).FetchResult.Messages);
        Assert.Single((await OkAsync(bob, new Frame { FetchWelcomes = new FetchWelcomes() }, Body.WelcomeList)).WelcomeList.Welcomes);
    }

    [Fact]
    public async Task Admins_only_rooms_refuse_membership_changes_by_other_members()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await UserAsync("carol");
        await CreateAsync(alice, "team", adminsOnly: true);
        await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"]));

        await RefusedAsync(bob, MlsKit.SubmitCommit("team", 1, added: ["carol"]), ErrorCode.NotAllowed);
        await RefusedAsync(bob, MlsKit.SubmitCommit("team", 1, removed: ["alice"]), ErrorCode.NotAllowed);
        await RefusedAsync(bob, new Frame { SetRoomPolicy = new SetRoomPolicy { Room = "team", Policy = new RoomPolicy() } }, ErrorCode.NotAllowed);

        // A commit without membership changes is any member's right.
        Assert.Equal(2UL, (await CommitAsync(bob, MlsKit.SubmitCommit("team", 1))).NewEpoch);

        var changed = (await OkAsync(alice, new Frame { SetRoomPolicy = new SetRoomPolicy { Room = "team", Policy = new RoomPolicy { AdminsOnlyMembership = false } } }, Body.SetRoomPolicyOk)).SetRoomPolicyOk;
        Assert.False(changed.Room.AdminsOnlyMembership);
        Assert.True(changed.Room.Admin);
        await CommitAsync(bob, MlsKit.SubmitCommit("team", 2, added: ["carol"]));

        await OkAsync(alice, new Frame { JoinRoom = new JoinRoom { Room = "psk", Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(TestClient.KeyCheck(1)) } }, Body.JoinRoomOk);
        await RefusedAsync(alice, new Frame { SetRoomPolicy = new SetRoomPolicy { Room = "psk", Policy = new RoomPolicy() } }, ErrorCode.RoomKindMismatch);
        await RefusedAsync(alice, MlsKit.SubmitCommit("psk", 0), ErrorCode.RoomKindMismatch);
    }

    [Fact]
    public async Task Malformed_commits_are_refused_and_change_nothing()
    {
        var alice = await UserAsync("alice");
        await UserAsync("bob");
        var carol = await UserAsync("carol");
        await CreateAsync(alice, "team");

        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, commit: [0, 1, 0, 1, 9]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, commit: MlsKit.Commit(1)), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, commit: MlsKit.Welcome(1)), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, clientMessageId: new byte[15]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"], welcomes: [("carol", MlsKit.Welcome(1))]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"], welcomes: [("bob", [1, 2, 3])]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob", "Bob"]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"], removed: ["bob"]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["b o b"]), ErrorCode.InvalidUsername);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: [.. Enumerable.Range(0, 101).Select(i => "u" + i)]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["nobody"]), ErrorCode.UnknownUser);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["alice"]), ErrorCode.InvalidRequest);
        await RefusedAsync(alice, MlsKit.SubmitCommit("team", 0, removed: ["carol"]), ErrorCode.InvalidRequest);
        await RefusedAsync(carol, MlsKit.SubmitCommit("team", 0), ErrorCode.NotAMember);

        var detail = (await OkAsync(alice, new Frame { GetRoom = new GetRoom { Room = "team" } }, Body.RoomDetail)).RoomDetail;
        Assert.Equal(0UL, detail.Room.Epoch);
        Assert.Equal(0UL, detail.Room.LastSeq);
        Assert.Equal(["alice"], detail.Members);
    }

    // ---- Routing -----------------------------------------------------------------------------

    [Fact]
    public async Task An_added_member_gets_the_commit_its_welcome_and_later_messages()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var bobLaptop = await SecondConnectionAsync(bob);
        await CreateAsync(alice, "team");

        var welcome = MlsKit.Welcome(3);
        var commit = await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"], welcomes: [("bob", welcome)]));
        var sent = await OkAsync(alice, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(new byte[16]), Payload = ByteString.CopyFromUtf8("after") } }, Body.SendOk);

        foreach (var connection in new[] { bob, bobLaptop })
        {
            var events = await DrainEventsAsync(connection);
            Assert.Equal([Body.MessageEvent, Body.WelcomeEvent, Body.MessageEvent], events.Select(e => e.BodyCase));
            Assert.Equal(commit.Seq, events[0].MessageEvent.Seq);
            Assert.Equal("alice", events[0].MessageEvent.Sender);
            var pushed = events[1].WelcomeEvent;
            Assert.Equal("team", pushed.Room);
            Assert.Equal("alice", pushed.From);
            Assert.Equal(commit.Seq, pushed.JoinSeq);
            Assert.Equal(welcome, pushed.Welcome.ToByteArray());
            Assert.Equal(sent.SendOk.Seq, events[2].MessageEvent.Seq);
        }

        // A connection that logs in later gets the room in its subscriptions and the Welcome by FetchWelcomes.
        var bobPhone = await SecondConnectionAsync(bob);
        var listed = (await OkAsync(bobPhone, new Frame { FetchWelcomes = new FetchWelcomes() }, Body.WelcomeList)).WelcomeList.Welcomes.Single();
        Assert.Equal(commit.Seq, listed.JoinSeq);
        await OkAsync(alice, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(new byte[16] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }), Payload = ByteString.CopyFromUtf8("again") } }, Body.SendOk);
        Assert.Contains(await DrainEventsAsync(bobPhone), e => e.BodyCase == Body.MessageEvent && e.MessageEvent.Payload.ToStringUtf8() == "again");
    }

    [Fact]
    public async Task A_removed_member_gets_the_removing_commit_and_nothing_after()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await CreateAsync(alice, "team");
        await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob"]));
        await DrainEventsAsync(bob);

        var removal = await CommitAsync(alice, MlsKit.SubmitCommit("team", 1, removed: ["bob"]));
        await OkAsync(alice, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(new byte[16]), Payload = ByteString.CopyFromUtf8("secret") } }, Body.SendOk);
        await CommitAsync(alice, MlsKit.SubmitCommit("team", 2));

        var events = await DrainEventsAsync(bob);
        var only = Assert.Single(events);
        Assert.Equal(removal.Seq, only.MessageEvent.Seq);

        // Fetch reaches exactly the removing commit, also after reconnecting; the room is no longer listed.
        var bobAgain = await SecondConnectionAsync(bob);
        var log = (await OkAsync(bobAgain, new Frame { Fetch = new Fetch { Room = "team" } }, Body.FetchResult)).FetchResult;
        Assert.Equal([1UL, 2], log.Messages.Select(m => m.Seq));
        Assert.False(log.HasMore);
        Assert.Empty((await OkAsync(bobAgain, new Frame { ListRooms = new ListRooms() }, Body.RoomList)).RoomList.Rooms);
        await RefusedAsync(bobAgain, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(new byte[16]), Payload = ByteString.CopyFromUtf8("x") } }, ErrorCode.NotAMember);
        await RefusedAsync(bobAgain, new Frame { GetRoom = new GetRoom { Room = "team" } }, ErrorCode.NotAMember);

        await OkAsync(alice, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()), Payload = ByteString.CopyFromUtf8("later") } }, Body.SendOk);
        Assert.Empty(await DrainEventsAsync(bobAgain));
    }

    [Fact]
    public async Task Welcomes_are_listed_until_acknowledged()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        await CreateAsync(alice, "one");
        await CreateAsync(alice, "two");
        var c1 = await CommitAsync(alice, MlsKit.SubmitCommit("one", 0, added: ["bob"], welcomes: [("bob", MlsKit.Welcome(1))]));
        var c2 = await CommitAsync(alice, MlsKit.SubmitCommit("two", 0, added: ["bob"], welcomes: [("bob", MlsKit.Welcome(2))]));

        var list = (await OkAsync(bob, new Frame { FetchWelcomes = new FetchWelcomes() }, Body.WelcomeList)).WelcomeList.Welcomes;
        Assert.Equal(["one", "two"], list.Select(w => w.Room));
        Assert.Equal(MlsKit.Welcome(1), list[0].Welcome.ToByteArray());
        Assert.Empty((await OkAsync(alice, new Frame { FetchWelcomes = new FetchWelcomes() }, Body.WelcomeList)).WelcomeList.Welcomes);

        Assert.Equal("one", (await OkAsync(bob, new Frame { AckWelcome = new AckWelcome { Room = "one", JoinSeq = c1.Seq } }, Body.AckWelcomeOk)).AckWelcomeOk.Room);
        await OkAsync(bob, new Frame { AckWelcome = new AckWelcome { Room = "one", JoinSeq = c1.Seq } }, Body.AckWelcomeOk);
        list = (await OkAsync(bob, new Frame { FetchWelcomes = new FetchWelcomes() }, Body.WelcomeList)).WelcomeList.Welcomes;
        Assert.Equal(c2.Seq, list.Single().JoinSeq);
        Assert.Equal("two", list.Single().Room);
    }

    [Fact]
    public async Task Leaving_an_mls_room_asks_the_online_members_to_commit_the_removal()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var carol = await UserAsync("carol");
        await CreateAsync(alice, "team", adminsOnly: true);
        await CommitAsync(alice, MlsKit.SubmitCommit("team", 0, added: ["bob", "carol"]));
        await OkAsync(bob, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(new byte[16]), Payload = ByteString.CopyFromUtf8("remove me") } }, Body.SendOk);
        await DrainEventsAsync(alice);
        await DrainEventsAsync(bob);
        await DrainEventsAsync(carol);

        await OkAsync(bob, new Frame { LeaveRoom = new LeaveRoom { Room = "team" } }, Body.LeaveRoomOk);
        foreach (var member in new[] { alice, carol })
        {
            var requested = Assert.Single(await DrainEventsAsync(member));
            Assert.Equal("team", requested.CommitRequested.Room);
        }

        Assert.Empty(await DrainEventsAsync(bob));
        var detail = (await OkAsync(alice, new Frame { GetRoom = new GetRoom { Room = "team" } }, Body.RoomDetail)).RoomDetail;
        Assert.Equal(["alice", "carol"], detail.Members);

        // carol, no admin, commits bob's Remove; bob reads up to where he left.
        await CommitAsync(carol, MlsKit.SubmitCommit("team", 1, removed: ["bob"]));
        Assert.Empty(await DrainEventsAsync(bob));
        var log = (await OkAsync(bob, new Frame { Fetch = new Fetch { Room = "team" } }, Body.FetchResult)).FetchResult;
        Assert.Equal([1UL, 2], log.Messages.Select(m => m.Seq));

        // Leaving a PSK room asks nobody for anything.
        Assert.Equal(Body.MessageEvent, Assert.Single(await DrainEventsAsync(alice)).BodyCase);
        await OkAsync(alice, new Frame { JoinRoom = new JoinRoom { Room = "psk", Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(TestClient.KeyCheck(1)) } }, Body.JoinRoomOk);
        await OkAsync(carol, new Frame { JoinRoom = new JoinRoom { Room = "psk", Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(TestClient.KeyCheck(1)) } }, Body.JoinRoomOk);
        await OkAsync(carol, new Frame { LeaveRoom = new LeaveRoom { Room = "psk" } }, Body.LeaveRoomOk);
        Assert.Empty(await DrainEventsAsync(alice));
    }

    [Fact]
    public async Task Lookup_user_returns_the_registered_device_key()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        var found = (await OkAsync(alice, new Frame { LookupUser = new LookupUser { User = "BOB" } }, Body.LookupUserOk)).LookupUserOk;
        Assert.Equal("bob", found.User);
        Assert.Equal(bob.Key!.PublicKey.Export(KeyBlobFormat.RawPublicKey), found.Ed25519PublicKey.ToByteArray());
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(found.RegisteredAt), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        await RefusedAsync(alice, new Frame { LookupUser = new LookupUser { User = "nobody" } }, ErrorCode.UnknownUser);
        await RefusedAsync(alice, new Frame { LookupUser = new LookupUser { User = "a b" } }, ErrorCode.InvalidUsername);
    }

    [Fact]
    public async Task Get_room_lists_sorted_members_and_admins()
    {
        var dave = await UserAsync("dave");
        var carol = await UserAsync("carol");
        await UserAsync("alice");
        await CreateAsync(dave, "team");
        await CommitAsync(dave, MlsKit.SubmitCommit("team", 0, added: ["carol", "alice"]));
        var detail = (await OkAsync(carol, new Frame { GetRoom = new GetRoom { Room = "#team" } }, Body.RoomDetail)).RoomDetail;
        Assert.Equal(["alice", "carol", "dave"], detail.Members);
        Assert.Equal(["dave"], detail.Admins);
        Assert.False(detail.Room.Admin);
        Assert.Equal(1UL, detail.Room.Epoch);
        Assert.Equal(MlsKit.GroupId(7), detail.Room.GroupId.ToByteArray());
    }

    // ---- A real group through the server -------------------------------------------------------

    [Fact]
    public async Task A_real_mls_group_forms_and_talks_through_the_server()
    {
        var alice = await UserAsync("alice");
        var bob = await UserAsync("bob");
        using var aliceSigner = MlsKit.Signer(alice);
        using var bobSigner = MlsKit.Signer(bob);
        using var bobBundle = MlsKit.Bundle("bob", bobSigner);
        await OkAsync(bob, MlsKit.Upload([bobBundle.KeyPackage.ToBytes()]), Body.UploadKeyPackagesOk);

        var groupId = MlsKit.GroupId(42);
        using var aliceBundle = MlsKit.Bundle("alice", aliceSigner);
        var options = new MlsGroupOptions { HandshakeWireFormat = CipherChat.Mls.Messages.WireFormat.PublicMessage };
        using var aliceGroup = MlsGroup.Create(groupId, aliceBundle, aliceSigner, options: options);
        await OkAsync(alice, MlsKit.CreateRoom("team", groupId), Body.CreateRoomOk);

        var fetched = (await OkAsync(alice, Fetch("bob"), Body.FetchKeyPackageOk)).FetchKeyPackageOk.KeyPackage.ToByteArray();
        var keyPackage = KeyPackage.FromBytes(fetched);
        KeyPackages.Validate(MlsCipherSuite.Default, keyPackage, DateTimeOffset.UtcNow);
        var commit = aliceGroup.Commit(new CommitOptions { Add = [keyPackage] });
        var ok = await CommitAsync(alice, MlsKit.SubmitCommit("team", aliceGroup.Epoch, commit.Commit.ToBytes(), added: ["bob"], welcomes: [("bob", commit.Welcome!.ToBytes())]));
        aliceGroup.MergePendingCommit();
        Assert.Equal(aliceGroup.Epoch, ok.NewEpoch);

        var pushed = (await DrainEventsAsync(bob)).Single(e => e.BodyCase == Body.WelcomeEvent).WelcomeEvent;
        var welcome = (Welcome)MlsMessage.FromBytes(pushed.Welcome.Span).Body;
        using var bobGroup = MlsGroup.Join(welcome, bobBundle, bobSigner, options: options);
        Assert.Equal(aliceGroup.Epoch, bobGroup.Epoch);

        var text = aliceGroup.EncryptApplication(Encoding.UTF8.GetBytes("hello bob")).ToBytes();
        await OkAsync(alice, new Frame { Send = new Send { Room = "team", ClientMessageId = ByteString.CopyFrom(new byte[16]), Payload = ByteString.CopyFrom(text) } }, Body.SendOk);
        var log = (await OkAsync(bob, new Frame { Fetch = new Fetch { Room = "team", AfterSeq = pushed.JoinSeq } }, Body.FetchResult)).FetchResult;
        var received = bobGroup.Process(MlsMessage.FromBytes(log.Messages.Single().Payload.Span));
        var application = Assert.IsType<ReceivedApplicationMessage>(received);
        Assert.Equal("hello bob", Encoding.UTF8.GetString(application.Data));
    }
}
