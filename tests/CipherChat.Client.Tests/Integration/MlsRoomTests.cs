using System.Text;
using CipherChat.Client.Mls;
using CipherChat.Client.Rooms;
using CipherChat.Client.Storage;
using CipherChat.Protocol.V1;
using Google.Protobuf;

namespace CipherChat.Client.Tests.Integration;

/// <summary>MLS rooms end to end: four users, each with its own client home, against a real server in this process.</summary>
public sealed class MlsRoomTests : ServerWithUsers
{
    private async Task<(TestUser Alice, TestUser Bob, TestUser Carol, TestUser Dave)> FourAsync()
    {
        return (await UserAsync("alice"), await UserAsync("bob"), await UserAsync("carol"), await UserAsync("dave"));
    }

    [Fact(Timeout = Timeout)]
    public async Task Create_invite_and_chat_with_four_users()
    {
        var (alice, bob, carol, dave) = await FourAsync();
        var created = await alice.Client.CreateRoomAsync("Team", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("team", created.Room);
        Assert.True(created.Created);

        var toBob = await alice.Client.InviteAsync("team", "bob", cancellationToken: TestContext.Current.CancellationToken);
        var toCarol = await alice.Client.InviteAsync("team", "carol", cancellationToken: TestContext.Current.CancellationToken);
        var toDave = await alice.Client.InviteAsync("#team", "Dave", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal([1UL, 2UL, 3UL], [toBob.Epoch, toCarol.Epoch, toDave.Epoch]);

        foreach (var user in new[] { alice, bob, carol, dave })
        {
            await user.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
            await user.Client.SendAsync("team", $"hello from {user.Name}", cancellationToken: TestContext.Current.CancellationToken);
        }

        foreach (var user in new[] { alice, bob, carol, dave })
        {
            await user.Client.SyncRoomAsync("team", cancellationToken: TestContext.Current.CancellationToken);
            var texts = user.Texts("team");
            foreach (var other in new[] { alice, bob, carol, dave })
            {
                Assert.Contains($"hello from {other.Name}", texts);
            }

            Assert.All(user.Messages("team"), m => Assert.Null(m.Error));
            Assert.Equal(4, user.Client.MlsRoomFor("team").Members.Count);
            Assert.Empty(user.Client.TakeWarnings());
        }

        // Everyone is in the same epoch with the same group secrets.
        var authenticators = new[] { alice, bob, carol, dave }.Select(u => Convert.ToHexString(u.Client.MlsRoomFor("team").EpochAuthenticator())).Distinct().ToList();
        Assert.Single(authenticators);

        var rooms = await dave.Client.ListRoomsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var team = Assert.Single(rooms);
        Assert.Equal(("team", RoomKinds.Mls, true), (team.Name, team.Kind, team.HasKeyHere));
    }

    [Fact(Timeout = Timeout)]
    public async Task Offline_member_catches_up_over_several_epochs_and_reads_everything()
    {
        var (alice, bob, carol, dave) = await FourAsync();
        await alice.Client.CreateRoomAsync("club", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("club", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SendAsync("club", "bob before going offline", cancellationToken: TestContext.Current.CancellationToken);

        // Bob is offline from here on while the group moves through several epochs.
        await alice.Client.SendAsync("club", "epoch 1", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("club", "carol", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("club", "epoch 2", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("club", "dave", cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SendAsync("club", "carol in epoch 3", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.RemoveAsync("club", "dave", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("club", "epoch 4", cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SyncRoomAsync("club", cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SendAsync("club", "carol in epoch 4", cancellationToken: TestContext.Current.CancellationToken);

        var added = await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["bob before going offline", "epoch 1", "epoch 2", "carol in epoch 3", "epoch 4", "carol in epoch 4"], bob.Texts("club"));
        Assert.True(added >= 5);
        Assert.Equal(alice.Client.MlsRoomFor("club").Epoch, bob.Client.MlsRoomFor("club").Epoch);
        Assert.Equal(["alice", "bob", "carol"], bob.Client.MlsRoomFor("club").Members.Select(m => m.Username).Order());
        Assert.Empty(bob.Client.TakeWarnings());
    }

    [Fact(Timeout = Timeout)]
    public async Task Two_members_inviting_at_the_same_moment_both_succeed()
    {
        var (alice, bob, carol, dave) = await FourAsync();
        await alice.Client.CreateRoomAsync("busy", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("busy", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);

        var both = await Task.WhenAll(
            Task.Run(() => alice.Client.InviteAsync("busy", "carol", cancellationToken: TestContext.Current.CancellationToken)),
            Task.Run(() => bob.Client.InviteAsync("busy", "dave", cancellationToken: TestContext.Current.CancellationToken)));

        // One commit took epoch 2, the other retried on top of it and took epoch 3.
        Assert.Equal([2UL, 3UL], both.Select(c => c.Epoch).Order());
        foreach (var user in new[] { alice, bob, carol, dave })
        {
            await user.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        }

        await carol.Client.SendAsync("busy", "carol is in", cancellationToken: TestContext.Current.CancellationToken);
        await dave.Client.SendAsync("busy", "dave is in", cancellationToken: TestContext.Current.CancellationToken);
        foreach (var user in new[] { alice, bob, carol, dave })
        {
            await user.Client.SyncRoomAsync("busy", cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(4, user.Client.MlsRoomFor("busy").Members.Count);
            Assert.Contains(user.Name == "carol" ? "dave is in" : "carol is in", user.Texts("busy"));
        }
    }

    [Fact(Timeout = Timeout)]
    public async Task A_commit_that_loses_the_epoch_is_prepared_again_on_top_of_the_winner()
    {
        var (alice, bob, carol, dave) = await FourAsync();
        await alice.Client.CreateRoomAsync("race", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("race", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);

        // Alice's first commit is prepared; before she submits it, bob's commit takes the epoch.
        var prepared = 0;
        alice.Client.AfterCommitPrepared = _ =>
        {
            if (Interlocked.Increment(ref prepared) == 1)
            {
                bob.Client.InviteAsync("race", "dave", TestContext.Current.CancellationToken).GetAwaiter().GetResult();
            }
        };
        var change = await alice.Client.InviteAsync("race", "carol", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, prepared);
        Assert.Equal(3UL, change.Epoch);
        Assert.Equal(["alice", "bob", "carol", "dave"], alice.Client.MlsRoomFor("race").Members.Select(m => m.Username).Order());
        foreach (var user in new[] { bob, carol, dave })
        {
            await user.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(3UL, user.Client.MlsRoomFor("race").Epoch);
        }

        await dave.Client.SendAsync("race", "dave was first", cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SyncRoomAsync("race", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["dave was first"], carol.Texts("race"));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_member_gone_from_theServer_is_removed_from_the_group_by_a_remaining_member()
    {
        var (alice, bob, carol, _) = await FourAsync();
        await alice.Client.CreateRoomAsync("drift", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("drift", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("drift", "carol", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);

        // Carol's membership ends on the server without a Remove proposal (an old client, or a crash after LeaveRoom).
        var connection = await carol.Client.ConnectAsync(TestContext.Current.CancellationToken);
        await connection.RequestAsync(new Frame { LeaveRoom = new LeaveRoom { Room = "drift" } }, TestContext.Current.CancellationToken);

        // The server asks the online members to commit; alice (connected) acts on it at her next operation.
        for (var i = 0; i < 50 && alice.Client.MlsRoomFor("drift").Members.Count == 3; i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            await alice.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        }

        Assert.Equal(["alice", "bob"], alice.Client.MlsRoomFor("drift").Members.Select(m => m.Username).Order());
        await alice.Client.SendAsync("drift", "without carol", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncRoomAsync("drift", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["without carol"], bob.Texts("drift"));
        Assert.Equal(2, bob.Client.MlsRoomFor("drift").Members.Count);
    }

    [Fact(Timeout = Timeout)]
    public async Task Following_an_mls_room_stores_messages_and_invitations_as_they_arrive()
    {
        var (alice, bob, _, _) = await FourAsync();
        await alice.Client.CreateRoomAsync("live", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("live", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var follow = bob.Client.FollowAsync(
            "live",
            _ =>
            {
                if (bob.Texts("live").Contains("third"))
                {
                    seen.TrySetResult();
                }

                return Task.CompletedTask;
            },
            null,
            stop.Token);

        await alice.Client.SendAsync("live", "first", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.RemoveAsync("live", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("live", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("live", "third", cancellationToken: TestContext.Current.CancellationToken);
        await seen.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => follow);
        Assert.Equal(["first", "third"], bob.Texts("live"));
    }

    [Fact(Timeout = Timeout)]
    public async Task A_removed_member_cannot_read_what_follows()
    {
        var (alice, bob, carol, _) = await FourAsync();
        await alice.Client.CreateRoomAsync("core", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("core", "bob", cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.InviteAsync("core", "carol", cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncAllAsync(cancellationToken: TestContext.Current.CancellationToken);
        await alice.Client.SendAsync("core", "before the removal", cancellationToken: TestContext.Current.CancellationToken);
        await carol.Client.SyncRoomAsync("core", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("before the removal", carol.Texts("core"));

        // Carol's group state as it was before the removal, to try the later ciphertexts with.
        var saved = carol.Client.MlsState.GetRoom("core")!;
        var cursor = carol.Store.GetRoom("core")!.LastAckedSeq;

        var removal = await alice.Client.RemoveAsync("core", "carol", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("carol", removal.User);
        await alice.Client.SendAsync("core", "after the removal", cancellationToken: TestContext.Current.CancellationToken);
        await bob.Client.SyncRoomAsync("core", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("after the removal", bob.Texts("core"));

        await carol.Client.SyncRoomAsync("core", cancellationToken: TestContext.Current.CancellationToken);
        Assert.DoesNotContain("after the removal", carol.Texts("core"));
        Assert.Contains("before the removal", carol.Texts("core"));
        Assert.Contains(carol.Client.TakeWarnings(), w => w.Contains("removed from 'core' by 'alice'", StringComparison.Ordinal));
        var refused = await Assert.ThrowsAnyAsync<ChatClientException>(() => carol.Client.SendAsync("core", "still here?", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("removed", refused.Message, StringComparison.Ordinal);

        // Even a copy of the keys carol held cannot open what was sent after the commit that removed her.
        using var copyHome = new TempHome();
        using var copyStore = MlsStateStore.Open(copyHome.Path);
        copyStore.PutRoom(saved, DateTimeOffset.UtcNow);
        using var member = MlsMember.FromDeviceKey("carol", carol.Store.GetDeviceKey()!);
        using var copy = MlsRoomCipher.Load("core", member, copyStore);
        var log = await FetchAllAsync(alice, "core");
        var later = log.Where(m => (long)m.Seq > cursor).ToList();
        Assert.NotEmpty(later);
        var results = later.Select(m => copy.Receive(m.Payload.Span, m.Sender, Convert.ToHexStringLower(m.ClientMessageId.Span), (long)m.Seq)).ToList();
        Assert.DoesNotContain(results.SelectMany(r => r.Released.Prepend(r.Message)), r => r.Kind == MlsReceivedKind.Application);
        Assert.False(copy.IsActive);
    }

    internal static async Task<List<MessageEvent>> FetchAllAsync(TestUser user, string room)
    {
        var connection = await user.Client.ConnectAsync(cancellationToken: TestContext.Current.CancellationToken);
        var reply = await connection.RequestAsync(new Frame { Fetch = new Fetch { Room = user.Client.ResolveRoomName(room), AfterSeq = 0, Limit = 500 } }, cancellationToken: TestContext.Current.CancellationToken);
        return [.. reply.FetchResult.Messages];
    }
}
