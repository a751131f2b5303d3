using CipherChat.Server.Storage;

namespace CipherChat.Server.Tests.Storage;

/// <summary>The MLS delivery service part of the store contract.</summary>
public abstract partial class ChatStoreContractTests
{
    private static readonly byte[] GroupId = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();

    private static NewKeyPackage Kp(byte id) => new(Bytes(id, 32), Bytes(id, 100));

    private async Task MlsRoomAsync(string room, string creator, bool adminsOnly = false)
    {
        var outcome = await Store.CreateMlsRoomAsync(room, GroupId, adminsOnly, creator, T0, Ct);
        Assert.Equal(CreateRoomStatus.Created, outcome.Status);
    }

    private static NewCommit Commit(string room, string sender, ulong epoch, byte id, string[]? added = null, string[]? removed = null, NewWelcome[]? welcomes = null) =>
        new(room, sender, Bytes(id), epoch, System.Text.Encoding.UTF8.GetBytes($"commit {epoch} {id}"), added ?? [], removed ?? [], welcomes ?? [], T0);

    private async Task<CommitOutcome> CommitOkAsync(NewCommit commit)
    {
        var outcome = await Store.SubmitCommitAsync(commit, Ct);
        Assert.Equal(CommitStatus.Stored, outcome.Status);
        return outcome;
    }

    [Fact]
    public async Task Key_packages_are_counted_deduplicated_and_limited_atomically()
    {
        await UserAsync("alice");
        Assert.Equal(new KeyPackageCounts(0, false), await Store.CountKeyPackagesAsync("alice", Ct));

        var first = await Store.UploadKeyPackagesAsync("alice", [Kp(1), Kp(2), Kp(2)], Kp(90), 4, T0, Ct);
        Assert.Equal(KeyPackageUploadStatus.Stored, first.Status);
        Assert.Equal(new KeyPackageCounts(2, true), first.Counts);

        // Kp(1) again is ignored; three new ones would make 5 > 4: nothing is stored, not even the last resort.
        var over = await Store.UploadKeyPackagesAsync("alice", [Kp(1), Kp(3), Kp(4), Kp(5)], Kp(91), 4, T0, Ct);
        Assert.Equal(KeyPackageUploadStatus.LimitExceeded, over.Status);
        Assert.Equal(new KeyPackageCounts(2, true), await Store.CountKeyPackagesAsync("alice", Ct));

        var fits = await Store.UploadKeyPackagesAsync("alice", [Kp(1), Kp(3), Kp(4)], null, 4, T0, Ct);
        Assert.Equal(new KeyPackageCounts(4, true), fits.Counts);
        Assert.Equal(new KeyPackageCounts(0, false), await Store.CountKeyPackagesAsync("bob", Ct));
    }

    [Fact]
    public async Task Taking_key_packages_hands_each_one_time_one_out_once_then_the_last_resort()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        Assert.Null(await Store.TakeKeyPackageAsync("alice", Ct));
        await Store.UploadKeyPackagesAsync("alice", [Kp(1), Kp(2)], null, 100, T0, Ct);

        var a = await Store.TakeKeyPackageAsync("alice", Ct);
        var b = await Store.TakeKeyPackageAsync("alice", Ct);
        Assert.Equal(Kp(1).Data.ToArray(), a!.Data.ToArray());
        Assert.False(a.LastResort);
        Assert.Equal(1, a.RemainingOneTime);
        Assert.Equal(Kp(2).Data.ToArray(), b!.Data.ToArray());
        Assert.Equal(0, b.RemainingOneTime);
        Assert.Null(await Store.TakeKeyPackageAsync("alice", Ct));

        await Store.UploadKeyPackagesAsync("alice", [], Kp(90), 100, T0, Ct);
        for (var i = 0; i < 2; i++)
        {
            var last = await Store.TakeKeyPackageAsync("alice", Ct);
            Assert.True(last!.LastResort);
            Assert.Equal(Kp(90).Data.ToArray(), last.Data.ToArray());
        }

        // A new last resort replaces the old one.
        await Store.UploadKeyPackagesAsync("alice", [], Kp(91), 100, T0, Ct);
        Assert.Equal(Kp(91).Data.ToArray(), (await Store.TakeKeyPackageAsync("alice", Ct))!.Data.ToArray());
        Assert.Null(await Store.TakeKeyPackageAsync("bob", Ct));
    }

    [Fact]
    public async Task Concurrent_takes_never_hand_out_a_one_time_key_package_twice()
    {
        await UserAsync("alice");
        const int OneTime = 12;
        await Store.UploadKeyPackagesAsync("alice", [.. Enumerable.Range(1, OneTime).Select(i => Kp((byte)i))], Kp(200), 100, T0, Ct);

        var tasks = Enumerable.Range(0, 2 * OneTime).Select(_ => Task.Run(async () => await Store.TakeKeyPackageAsync("alice", Ct), Ct));
        var taken = await Task.WhenAll(tasks);

        var oneTime = taken.Where(t => !t!.LastResort).Select(t => t!.Data.Span[0]).ToList();
        Assert.Equal(OneTime, oneTime.Count);
        Assert.Equal(OneTime, oneTime.Distinct().Count());
        Assert.Equal(OneTime, taken.Count(t => t!.LastResort));
        Assert.Equal(new KeyPackageCounts(0, true), await Store.CountKeyPackagesAsync("alice", Ct));
    }

    [Fact]
    public async Task An_mls_room_starts_with_its_creator_as_admin_at_epoch_zero()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        var created = await Store.CreateMlsRoomAsync("team", GroupId, true, "alice", T0, Ct);
        Assert.Equal(CreateRoomStatus.Created, created.Status);
        Assert.Equal(RoomKind.Mls, created.Room!.Kind);
        Assert.Equal(GroupId, created.Room.GroupId.ToArray());
        Assert.Equal(0UL, created.Room.Epoch);
        Assert.True(created.Room.Admin);
        Assert.True(created.Room.AdminsOnlyMembership);

        Assert.Equal(CreateRoomStatus.Exists, (await Store.CreateMlsRoomAsync("team", GroupId, false, "bob", T0, Ct)).Status);
        await MemberAsync("psk", "bob");
        Assert.Equal(CreateRoomStatus.Exists, (await Store.CreateMlsRoomAsync("psk", GroupId, false, "bob", T0, Ct)).Status);
        Assert.Equal(JoinStatus.KindMismatch, (await Store.JoinRoomAsync("team", RoomKind.Psk, Bytes(1), "bob", T0, Ct)).Status);

        var listed = (await Store.ListRoomsAsync("alice", Ct)).Single();
        Assert.Equal("team", listed.Name);
        Assert.Equal(GroupId, listed.GroupId.ToArray());
        Assert.True(listed.Admin);
        Assert.True(listed.AdminsOnlyMembership);
        Assert.Empty(await Store.ListRoomsAsync("carol", Ct));
    }

    [Fact]
    public async Task A_commit_for_the_current_epoch_advances_it_adds_members_and_stores_welcomes()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        await UserAsync("carol");
        await MlsRoomAsync("team", "alice");
        await Store.AppendMessageAsync(Message("team", "alice", 50), Ct);

        var stale = await Store.SubmitCommitAsync(Commit("team", "alice", 3, 1, ["bob"]), Ct);
        Assert.Equal(CommitStatus.EpochConflict, stale.Status);
        Assert.Equal(0UL, stale.Epoch);

        var welcome = new NewWelcome("bob", Bytes(0x77, 40));
        var outcome = await CommitOkAsync(Commit("team", "alice", 0, 1, ["bob"], welcomes: [welcome]));
        Assert.Equal(2UL, outcome.Seq);
        Assert.Equal(1UL, outcome.Epoch);

        var conflict = await Store.SubmitCommitAsync(Commit("team", "alice", 0, 2, ["carol"]), Ct);
        Assert.Equal(CommitStatus.EpochConflict, conflict.Status);
        Assert.Equal(1UL, conflict.Epoch);

        // The commit is in the log like any message; bob is a member and may send.
        var log = (await Store.FetchMessagesAsync("team", "bob", 0, 10, Ct))!;
        Assert.Equal([1UL, 2], log.Messages.Select(m => m.Seq));
        Assert.Equal("commit 0 1", System.Text.Encoding.UTF8.GetString(log.Messages[1].Payload.Span));
        Assert.Equal(AppendStatus.Stored, (await Store.AppendMessageAsync(Message("team", "bob", 1), Ct)).Status);
        var bobsRoom = (await Store.ListRoomsAsync("bob", Ct)).Single();
        Assert.Equal(1UL, bobsRoom.Epoch);
        Assert.False(bobsRoom.Admin);

        var welcomes = await Store.ListWelcomesAsync("bob", Ct);
        var stored = Assert.Single(welcomes);
        Assert.Equal("team", stored.Room);
        Assert.Equal("alice", stored.From);
        Assert.Equal(2UL, stored.JoinSeq);
        Assert.Equal(welcome.Welcome.ToArray(), stored.Welcome.ToArray());
        Assert.Empty(await Store.ListWelcomesAsync("carol", Ct));

        var detail = (await Store.GetRoomDetailAsync("team", "bob", Ct))!;
        Assert.Equal(["alice", "bob"], detail.Members);
        Assert.Equal(["alice"], detail.Admins);
        Assert.Null(await Store.GetRoomDetailAsync("team", "carol", Ct));
    }

    [Fact]
    public async Task A_retried_commit_gets_the_first_outcome_even_after_the_epoch_moved()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        await UserAsync("carol");
        await MlsRoomAsync("team", "alice");
        var first = await CommitOkAsync(Commit("team", "alice", 0, 1, ["bob"], welcomes: [new NewWelcome("bob", Bytes(1, 20))]));
        await CommitOkAsync(Commit("team", "alice", 1, 2, ["carol"]));

        var retry = await Store.SubmitCommitAsync(Commit("team", "alice", 0, 1, ["bob"]) with { ServerTime = T0.AddMinutes(5) }, Ct);
        Assert.Equal(CommitStatus.Duplicate, retry.Status);
        Assert.Equal(first.Seq, retry.Seq);
        Assert.Equal(1UL, retry.Epoch);
        Assert.Equal(first.ServerTime, retry.ServerTime);
        Assert.Single(await Store.ListWelcomesAsync("bob", Ct));
        Assert.Equal(2UL, (await Store.ListRoomsAsync("alice", Ct)).Single().Epoch);

        // A message's id cannot be reused for a commit.
        await Store.AppendMessageAsync(Message("team", "alice", 9), Ct);
        Assert.Equal(CommitStatus.IdInUse, (await Store.SubmitCommitAsync(Commit("team", "alice", 2, 9), Ct)).Status);
    }

    [Fact]
    public async Task Concurrent_commits_for_one_epoch_have_exactly_one_winner()
    {
        string[] users = ["alice", "bob", "carol", "dave", "erin", "frank"];
        foreach (var user in users)
        {
            await UserAsync(user);
        }

        await MlsRoomAsync("team", "alice");
        await CommitOkAsync(Commit("team", "alice", 0, 1, users[1..]));

        for (ulong epoch = 1; epoch <= 3; epoch++)
        {
            var e = epoch;
            var tasks = users.Select((user, i) => Task.Run(async () => await Store.SubmitCommitAsync(Commit("team", user, e, (byte)(10 * e + (ulong)i)), Ct), Ct));
            var outcomes = await Task.WhenAll(tasks);
            var winner = Assert.Single(outcomes, o => o.Status == CommitStatus.Stored);
            Assert.Equal(epoch + 1, winner.Epoch);
            Assert.All(outcomes.Where(o => o != winner), o =>
            {
                Assert.Equal(CommitStatus.EpochConflict, o.Status);
                Assert.Equal(epoch + 1, o.Epoch);
            });
        }

        var log = (await Store.FetchMessagesAsync("team", "bob", 0, 100, Ct))!;
        Assert.Equal([1UL, 2, 3, 4], log.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task Membership_changes_are_checked_against_users_members_and_the_policy()
    {
        foreach (var user in new[] { "alice", "bob", "carol", "dave" })
        {
            await UserAsync(user);
        }

        await MlsRoomAsync("team", "alice", adminsOnly: true);
        await CommitOkAsync(Commit("team", "alice", 0, 1, ["bob", "carol"]));

        var unknown = await Store.SubmitCommitAsync(Commit("team", "alice", 1, 2, ["zed"]), Ct);
        Assert.Equal(CommitStatus.UnknownUser, unknown.Status);
        Assert.Equal("zed", unknown.User);
        Assert.Equal(CommitStatus.AlreadyMember, (await Store.SubmitCommitAsync(Commit("team", "alice", 1, 3, ["bob"]), Ct)).Status);
        Assert.Equal(CommitStatus.NotRemovable, (await Store.SubmitCommitAsync(Commit("team", "alice", 1, 4, removed: ["dave"]), Ct)).Status);
        Assert.Equal(CommitStatus.NotAMember, (await Store.SubmitCommitAsync(Commit("team", "dave", 1, 5), Ct)).Status);
        Assert.Equal(CommitStatus.NotAMember, (await Store.SubmitCommitAsync(Commit("nowhere", "alice", 0, 6), Ct)).Status);

        // Admins only: bob may neither add nor remove others, but may commit without changes and remove himself.
        Assert.Equal(CommitStatus.NotAllowed, (await Store.SubmitCommitAsync(Commit("team", "bob", 1, 7, ["dave"]), Ct)).Status);
        Assert.Equal(CommitStatus.NotAllowed, (await Store.SubmitCommitAsync(Commit("team", "bob", 1, 8, removed: ["carol"]), Ct)).Status);
        Assert.Equal(1UL, (await Store.ListRoomsAsync("bob", Ct)).Single().Epoch);
        await CommitOkAsync(Commit("team", "bob", 1, 9));
        await CommitOkAsync(Commit("team", "bob", 2, 10, removed: ["bob"]));

        // A non-admin may not change the policy; an admin may, and then bob's kind of change is allowed.
        Assert.Equal(PolicyStatus.NotAllowed, (await Store.SetRoomPolicyAsync("team", "carol", false, Ct)).Status);
        Assert.Equal(PolicyStatus.NotAMember, (await Store.SetRoomPolicyAsync("team", "dave", false, Ct)).Status);
        var policy = await Store.SetRoomPolicyAsync("team", "alice", false, Ct);
        Assert.Equal(PolicyStatus.Updated, policy.Status);
        Assert.False(policy.Room!.AdminsOnlyMembership);
        await CommitOkAsync(Commit("team", "carol", 3, 11, ["dave"]));

        await MemberAsync("psk", "alice");
        Assert.Equal(PolicyStatus.NotMls, (await Store.SetRoomPolicyAsync("psk", "alice", true, Ct)).Status);
        Assert.Equal(CommitStatus.NotMls, (await Store.SubmitCommitAsync(Commit("psk", "alice", 0, 12), Ct)).Status);
    }

    [Fact]
    public async Task A_removed_member_reads_up_to_the_removing_commit_and_nothing_after()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        await MlsRoomAsync("team", "alice", adminsOnly: true);
        await CommitOkAsync(Commit("team", "alice", 0, 1, ["bob"]));
        await Store.AppendMessageAsync(Message("team", "bob", 1), Ct);
        var removal = await CommitOkAsync(Commit("team", "alice", 1, 2, removed: ["bob"]));
        await Store.AppendMessageAsync(Message("team", "alice", 3), Ct);

        var page = (await Store.FetchMessagesAsync("team", "bob", 0, 100, Ct))!;
        Assert.Equal([1UL, 2, 3], page.Messages.Select(m => m.Seq));
        Assert.Equal(removal.Seq, page.Messages[^1].Seq);
        Assert.False(page.HasMore);
        var limited = (await Store.FetchMessagesAsync("team", "bob", 0, 2, Ct))!;
        Assert.True(limited.HasMore);
        Assert.Empty((await Store.FetchMessagesAsync("team", "bob", 3, 100, Ct))!.Messages);

        Assert.Empty(await Store.ListRoomsAsync("bob", Ct));
        Assert.Null(await Store.GetRoomDetailAsync("team", "bob", Ct));
        Assert.Equal(AppendStatus.NotAMember, (await Store.AppendMessageAsync(Message("team", "bob", 5), Ct)).Status);
        Assert.Null(await Store.AckAsync("team", "bob", 3, Ct));
        Assert.Equal(["alice"], (await Store.GetRoomDetailAsync("team", "alice", Ct))!.Members);

        // Removing a former member again is allowed and changes nothing for it; adding it back makes it a member.
        await CommitOkAsync(Commit("team", "alice", 2, 4, removed: ["bob"]));
        Assert.Equal(3, (await Store.FetchMessagesAsync("team", "bob", 0, 100, Ct))!.Messages.Count);
        await CommitOkAsync(Commit("team", "alice", 3, 5, ["bob"]));
        Assert.Equal(6, (await Store.FetchMessagesAsync("team", "bob", 0, 100, Ct))!.Messages.Count);
    }

    [Fact]
    public async Task Leaving_an_mls_room_keeps_the_log_readable_up_to_then_and_anyone_may_commit_the_removal()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        await UserAsync("carol");
        await MlsRoomAsync("team", "alice", adminsOnly: true);
        await CommitOkAsync(Commit("team", "alice", 0, 1, ["bob", "carol"]));
        await Store.AppendMessageAsync(Message("team", "bob", 1), Ct);
        Assert.True(await Store.LeaveRoomAsync("team", "bob", Ct));
        await Store.AppendMessageAsync(Message("team", "alice", 2), Ct);

        Assert.Equal([1UL, 2], (await Store.FetchMessagesAsync("team", "bob", 0, 100, Ct))!.Messages.Select(m => m.Seq));
        Assert.Equal(["alice", "carol"], (await Store.GetRoomDetailAsync("team", "alice", Ct))!.Members);

        // carol is no admin, yet may commit the Remove of a user who already left.
        await CommitOkAsync(Commit("team", "carol", 1, 3, removed: ["bob"]));
        Assert.Equal([1UL, 2], (await Store.FetchMessagesAsync("team", "bob", 0, 100, Ct))!.Messages.Select(m => m.Seq));

        // PSK rooms keep no former members.
        await MemberAsync("psk", "bob");
        Assert.True(await Store.LeaveRoomAsync("psk", "bob", Ct));
        Assert.Null(await Store.FetchMessagesAsync("psk", "bob", 0, 10, Ct));
    }

    [Fact]
    public async Task Welcomes_are_listed_oldest_first_until_acknowledged()
    {
        await UserAsync("alice");
        await UserAsync("bob");
        await MlsRoomAsync("one", "alice");
        await MlsRoomAsync("two", "alice");
        await CommitOkAsync(Commit("two", "alice", 0, 1, ["bob"], welcomes: [new NewWelcome("bob", Bytes(2, 10))]));
        await CommitOkAsync(Commit("one", "alice", 0, 2, ["bob"], welcomes: [new NewWelcome("bob", Bytes(1, 10))]));

        Assert.Equal(["two", "one"], (await Store.ListWelcomesAsync("bob", Ct)).Select(w => w.Room));
        Assert.False(await Store.AckWelcomeAsync("bob", "two", 7, Ct));
        Assert.False(await Store.AckWelcomeAsync("alice", "two", 1, Ct));
        Assert.True(await Store.AckWelcomeAsync("bob", "two", 1, Ct));
        Assert.False(await Store.AckWelcomeAsync("bob", "two", 1, Ct));
        Assert.Equal(["one"], (await Store.ListWelcomesAsync("bob", Ct)).Select(w => w.Room));
    }
}
