using CipherChat.Client.Mls;
using CipherChat.Client.Rooms;

namespace CipherChat.Client.Tests.Mls;

/// <summary>MLS rooms with three to five in-memory members over a fake server log.</summary>
public sealed class MlsRoomCipherTests : IDisposable
{
    private const string RoomName = "general";
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 15, 0, 0, TimeSpan.Zero);
    private readonly List<Device> _devices = [];
    private readonly FakeRoomLog _log = new();

    public void Dispose()
    {
        foreach (var device in _devices)
        {
            device.Dispose();
        }
    }

    [Fact]
    public void Create_invite_and_chat()
    {
        var (alice, bob, carol) = Room3();
        Assert.Equal(1UL, alice.R.Epoch);
        Assert.Equal(["alice", "bob", "carol"], alice.R.Members.Select(m => m.Username).Order());

        alice.Say(_log, "hello from alice");
        bob.Say(_log, "hi, bob here");
        foreach (var device in new[] { alice, bob, carol })
        {
            device.CatchUp(_log);
        }

        Assert.Equal(["hi, bob here"], alice.Read);
        Assert.Equal(["hello from alice"], bob.Read);
        Assert.Equal(["hello from alice", "hi, bob here"], carol.Read);
        Assert.Equal(2, alice.Results.Count(r => r.Kind == MlsReceivedKind.OwnMessage) + bob.Results.Count(r => r.Kind == MlsReceivedKind.OwnMessage));
        AssertSameEpoch(alice, bob, carol);
    }

    [Fact]
    public void A_leave_proposal_must_be_committed_before_sending_and_the_commit_names_the_leaver()
    {
        var (alice, bob, carol) = Room3();
        _log.Append("carol", carol.R.ProposeLeave());
        alice.CatchUp(_log);
        Assert.Equal(["carol"], alice.R.ProposedRemovals);

        // RFC 9420 §12.4: no application message while a proposal waits.
        Assert.Throws<MlsCommitNeededException>(() => alice.Say(_log, "too early"));

        var commit = alice.CommitAndConfirm(_log, r => r.PrepareChange([], [], forcePath: false));
        Assert.Equal(["carol"], commit.Removed);
        Assert.Empty(alice.R.ProposedRemovals);
        alice.Say(_log, "now it may be said");
        bob.CatchUp(_log);
        carol.CatchUp(_log);
        Assert.Equal(["now it may be said"], bob.Read);
        Assert.Empty(carol.Read);
        Assert.False(carol.R.IsActive);
        Assert.Equal(["alice", "bob"], bob.R.Members.Select(m => m.Username).Order());
    }

    [Fact]
    public void Removed_member_cannot_read_what_follows()
    {
        var (alice, bob, carol) = Room3();
        var removal = alice.CommitAndConfirm(_log, r => r.PrepareRemove(["carol"]));
        Assert.Equal(["carol"], removal.Removed);

        // Carol keeps a copy of her state from before the removal, as an attacker with her device would.
        var carolBefore = new Device("carol-copy");
        _devices.Add(carolBefore);

        alice.Say(_log, "carol is gone");
        bob.CatchUp(_log);
        carol.CatchUp(_log);
        Assert.Equal(["carol is gone"], bob.Read);
        var removed = carol.Results.Single(r => r.Kind == MlsReceivedKind.CommitApplied);
        Assert.True(removed.RemovedThisMember);
        Assert.False(carol.R.IsActive);
        Assert.Empty(carol.Read);
        Assert.Equal(MlsReceivedKind.Error, carol.Results.Last().Kind);
        Assert.Throws<MlsRoomException>(() => carol.Say(_log, "still here?"));
        Assert.Equal(["alice", "bob"], alice.R.Members.Select(m => m.Username).Order());
        AssertSameEpoch(alice, bob);
    }

    [Fact]
    public void Removed_member_state_from_before_the_removal_cannot_decrypt_the_next_epoch()
    {
        var (alice, bob, carol) = Room3();

        // Carol's device stops reading: its state stays at the epoch before her removal.
        alice.CommitAndConfirm(_log, r => r.PrepareRemove(["carol"]));
        var secret = alice.Say(_log, "after carol");
        var outcome = carol.R.Receive(secret.Payload, secret.Sender, secret.MessageId, secret.Seq);
        Assert.Equal(MlsReceivedKind.Held, outcome.Message.Kind);
        Assert.Null(outcome.Message.Text);
        bob.CatchUp(_log);
        Assert.Equal(["after carol"], bob.Read);
    }

    [Fact]
    public void Offline_member_catches_up_over_several_epochs_in_order()
    {
        var (alice, bob, carol) = Room3();
        var dave = Add(alice, "dave");
        bob.CatchUp(_log);
        carol.CatchUp(_log);

        // Dave goes offline. Meanwhile: messages, updates by two members, an add and a remove.
        alice.Say(_log, "m1");
        alice.CommitAndConfirm(_log, r => r.PrepareUpdate());
        bob.CatchUp(_log);
        bob.Say(_log, "m2");
        bob.CommitAndConfirm(_log, r => r.PrepareUpdate());
        alice.CatchUp(_log);
        carol.CatchUp(_log);
        var erin = Add(carol, "erin");
        alice.CatchUp(_log);
        bob.CatchUp(_log);
        carol.Say(_log, "m3");
        alice.CommitAndConfirm(_log, r => r.PrepareRemove(["erin"]));
        alice.Say(_log, "m4");

        Assert.Equal(2UL, dave.R.Epoch);
        dave.CatchUp(_log);
        Assert.Equal(["m1", "m2", "m3", "m4"], dave.Read);
        Assert.Equal(6UL, dave.R.Epoch);
        foreach (var device in new[] { bob, carol, erin })
        {
            device.CatchUp(_log);
        }

        AssertSameEpoch(alice, bob, carol, dave);
        Assert.DoesNotContain(dave.Results, r => r.Kind == MlsReceivedKind.Error);
    }

    [Fact]
    public void Application_message_from_a_future_epoch_waits_for_its_commit()
    {
        var (alice, bob, carol) = Room3();
        var commit = alice.CommitAndConfirm(_log, r => r.PrepareUpdate());
        var early = alice.Say(_log, "from epoch 2");

        // Bob gets the message before the commit (delivered out of order).
        var held = bob.Take(bob.R.Receive(early.Payload, early.Sender, early.MessageId, early.Seq));
        Assert.Equal(MlsReceivedKind.Held, held.Message.Kind);
        Assert.Equal(1, bob.R.HeldCount);

        // Held messages survive a restart.
        bob.Restart();
        Assert.Equal(1, bob.R.HeldCount);

        var commitEntry = _log.Entries.Single(e => e.Payload.SequenceEqual(commit.Commit));
        var applied = bob.Take(bob.R.Receive(commitEntry.Payload, commitEntry.Sender, commitEntry.MessageId, commitEntry.Seq));
        Assert.Equal(MlsReceivedKind.CommitApplied, applied.Message.Kind);
        var released = Assert.Single(applied.Released);
        Assert.Equal((MlsReceivedKind.Application, "from epoch 2", early.Seq), (released.Kind, released.Text, released.Seq));
        Assert.Equal(0, bob.R.HeldCount);
        Assert.Equal(["from epoch 2"], bob.Read);
        carol.CatchUp(_log);
        Assert.Equal(["from epoch 2"], carol.Read);
    }

    [Fact]
    public void Tampered_and_replayed_ciphertexts_are_rejected()
    {
        var (alice, bob, _) = Room3();
        var entry = alice.Say(_log, "original");

        for (var i = 0; i < entry.Payload.Length; i += 7)
        {
            var tampered = (byte[])entry.Payload.Clone();
            tampered[i] ^= 0x40;
            var result = bob.R.Receive(tampered, entry.Sender, entry.MessageId, entry.Seq).Message;
            Assert.NotEqual(MlsReceivedKind.Application, result.Kind);
            Assert.Null(result.Text);
        }

        var genuine = bob.R.Receive(entry.Payload, entry.Sender, entry.MessageId, entry.Seq).Message;
        Assert.Equal("original", genuine.Text);

        var replay = bob.R.Receive(entry.Payload, entry.Sender, entry.MessageId, entry.Seq + 10).Message;
        Assert.Equal(MlsReceivedKind.Error, replay.Kind);
        Assert.Equal(MlsRoomCipher.UndecryptableError, replay.Error);

        // Garbage of every kind is an error result, never an exception.
        foreach (var junk in new[] { Array.Empty<byte>(), [0x00], [0x00, 0x01, 0x00, 0x02, 0xFF], new byte[MlsRoomCipher.MaxPayloadBytes + 1] })
        {
            Assert.Equal(MlsReceivedKind.Error, bob.R.Receive(junk, "alice", "x", 99).Message.Kind);
        }
    }

    [Fact]
    public void Forged_sender_and_wrong_message_id_are_rejected()
    {
        var (alice, bob, carol) = Room3();
        var entry = alice.Say(_log, "I am alice");

        // The server (or a bug) attributes alice's message to carol.
        var forged = bob.R.Receive(entry.Payload, "carol", entry.MessageId, entry.Seq).Message;
        Assert.Equal(MlsReceivedKind.Error, forged.Kind);
        Assert.StartsWith("forged sender", forged.Error, StringComparison.Ordinal);
        Assert.Contains("'alice'", forged.Error, StringComparison.Ordinal);

        // A replay of the payload under another message id.
        var moved = carol.R.Receive(entry.Payload, entry.Sender, "another-id", entry.Seq).Message;
        Assert.Equal("message id mismatch: replayed or tampered", moved.Error);

        // A member cannot put another name inside the content either.
        Assert.Throws<MlsRoomException>(() => alice.R.Seal(new OutgoingContent("id", "bob", Now, "fake"), Now));
    }

    [Fact]
    public void State_saved_and_restored_mid_scenario()
    {
        var (alice, bob, carol) = Room3();
        alice.Say(_log, "before restart");
        bob.CatchUp(_log);
        bob.Restart();
        alice.Restart();
        alice.CommitAndConfirm(_log, r => r.PrepareUpdate());
        alice.Say(_log, "after restart");
        bob.CatchUp(_log);
        carol.Restart();
        carol.CatchUp(_log);
        bob.Say(_log, "bob after restart");
        alice.CatchUp(_log);

        Assert.Equal(["before restart", "after restart"], bob.Read);
        Assert.Equal(["before restart", "after restart"], carol.Read);
        Assert.Equal(["bob after restart"], alice.Read);
        AssertSameEpoch(alice, bob, carol);
    }

    [Fact]
    public void Sender_key_is_stored_before_the_ciphertext_leaves()
    {
        var (alice, bob, _) = Room3();
        var first = alice.Say(_log, "one");

        // A crash right after Seal returned: the restarted device must not reuse the generation.
        alice.Restart();
        var second = alice.Say(_log, "two");
        bob.CatchUp(_log);
        Assert.Equal(["one", "two"], bob.Read);
        Assert.NotEqual(first.Payload, second.Payload);
    }

    [Fact]
    public void Pending_commit_survives_a_crash_and_is_merged_when_the_server_had_accepted_it()
    {
        var (alice, bob, carol) = Room3();
        var commit = alice.R.PrepareUpdate();
        Assert.True(alice.R.HasPendingCommit);
        Assert.Equal(1UL, alice.R.Epoch);

        // Crash after the commit was sent and accepted, before the device learned so.
        _log.Append("alice", commit.Commit);
        alice.Restart();
        Assert.True(alice.R.HasPendingCommit);
        Assert.Equal(1UL, alice.R.PendingEpoch);
        alice.CatchUp(_log);
        Assert.False(alice.R.HasPendingCommit);
        Assert.Equal(2UL, alice.R.Epoch);

        bob.CatchUp(_log);
        carol.CatchUp(_log);
        alice.Say(_log, "epoch 2");
        bob.CatchUp(_log);
        Assert.Equal(["epoch 2"], bob.Read);
        AssertSameEpoch(alice, bob, carol);
    }

    [Fact]
    public void Pending_commit_that_lost_is_discarded_and_the_retry_succeeds()
    {
        var (alice, bob, carol) = Room3();
        var dave = new Device("dave");
        var erin = new Device("erin");
        _devices.Add(dave);
        _devices.Add(erin);

        // Alice and bob invite at the same moment; the server orders bob's commit first.
        var aliceCommit = alice.R.PrepareAdd([dave.FreshKeyPackage()]);
        var bobCommit = bob.CommitAndConfirm(_log, r => r.PrepareAdd([erin.FreshKeyPackage()]));
        erin.Join(RoomName, bobCommit.Welcome!, _log.LastSeq);
        Assert.Equal(aliceCommit.Epoch, bobCommit.Epoch);

        // Alice crashes before hearing the answer; on restart the log shows that bob's commit won.
        alice.Restart();
        alice.CatchUp(_log);
        Assert.False(alice.R.HasPendingCommit);
        Assert.Equal(2UL, alice.R.Epoch);

        var retry = alice.CommitAndConfirm(_log, r => r.PrepareAdd([dave.FreshKeyPackage()]));
        Assert.Equal(2UL, retry.Epoch);
        dave.Join(RoomName, retry.Welcome!, _log.LastSeq);
        foreach (var device in new[] { bob, carol, erin })
        {
            device.CatchUp(_log);
        }

        dave.Say(_log, "thanks for having me");
        foreach (var device in new[] { alice, bob, carol, erin })
        {
            device.CatchUp(_log);
            Assert.Equal(["thanks for having me"], device.Read);
        }

        AssertSameEpoch(alice, bob, carol, dave, erin);
    }

    [Fact]
    public void Discarded_commit_leaves_the_group_usable()
    {
        var (alice, bob, _) = Room3();
        alice.R.PrepareUpdate();
        Assert.Throws<MlsRoomException>(() => alice.R.PrepareUpdate());
        alice.R.DiscardPendingCommit();
        alice.Restart();
        Assert.False(alice.R.HasPendingCommit);
        alice.Say(_log, "still epoch 1");
        bob.CatchUp(_log);
        Assert.Equal(["still epoch 1"], bob.Read);
    }

    [Fact]
    public void Invalid_invitations_are_refused()
    {
        var (alice, bob, _) = Room3();
        Assert.Throws<MlsRoomException>(() => alice.R.PrepareAdd([bob.FreshKeyPackage()]));
        Assert.Throws<MlsRoomException>(() => alice.R.PrepareAdd([[1, 2, 3]]));
        Assert.Throws<MlsRoomException>(() => alice.R.PrepareRemove(["zed"]));
        Assert.Throws<MlsRoomException>(() => alice.R.PrepareRemove(["alice"]));
        Assert.False(alice.R.HasPendingCommit);

        var stranger = new Device("stranger");
        _devices.Add(stranger);
        var other = new Device("other");
        _devices.Add(other);
        var commit = alice.R.PrepareAdd([other.FreshKeyPackage()]);
        Assert.Throws<MlsRoomException>(() => MlsRoomCipher.Join(RoomName, stranger.Member, stranger.Store, stranger.Pool, commit.Welcome!));
        Assert.Throws<MlsRoomException>(() => MlsRoomCipher.Join(RoomName, stranger.Member, stranger.Store, stranger.Pool, [0, 1, 2]));
    }

    [Fact]
    public void Room_cipher_view_opens_chat_messages_and_holds_nothing()
    {
        var (alice, bob, carol) = Room3();
        IRoomCipher cipher = bob.R;
        Assert.Equal(RoomKinds.Mls, cipher.Kind);
        var entry = alice.Say(_log, "through IRoomCipher");
        var opened = cipher.Open(entry.Payload, entry.Sender, entry.MessageId, Now);
        Assert.Equal(("through IRoomCipher", (string?)null), (opened.Text, opened.Error));

        alice.CommitAndConfirm(_log, r => r.PrepareUpdate());
        var early = alice.Say(_log, "epoch 2");
        var waiting = carol.R.Open(early.Payload, early.Sender, early.MessageId, Now);
        Assert.Null(waiting.Text);
        Assert.NotNull(waiting.Error);
        Assert.Equal(0, carol.R.HeldCount);
    }

    // alice creates the room and adds bob and carol in one commit.
    private (Device Alice, Device Bob, Device Carol) Room3()
    {
        var alice = new Device("alice");
        var bob = new Device("bob");
        var carol = new Device("carol");
        _devices.AddRange([alice, bob, carol]);
        alice.CreateRoom(RoomName);
        var commit = alice.CommitAndConfirm(_log, r => r.PrepareAdd([bob.FreshKeyPackage(), carol.FreshKeyPackage()]));
        Assert.Equal(["bob", "carol"], commit.Added.Select(a => a.Username).Order());
        bob.Join(RoomName, commit.Welcome!, _log.LastSeq);
        carol.Join(RoomName, commit.Welcome!, _log.LastSeq);
        AssertSameEpoch(alice, bob, carol);
        return (alice, bob, carol);
    }

    private Device Add(Device inviter, string name)
    {
        var device = new Device(name);
        _devices.Add(device);
        inviter.CatchUp(_log);
        var commit = inviter.CommitAndConfirm(_log, r => r.PrepareAdd([device.FreshKeyPackage()]));
        device.Join(RoomName, commit.Welcome!, _log.LastSeq);
        return device;
    }

    private static void AssertSameEpoch(params Device[] devices)
    {
        var first = devices[0].R;
        foreach (var device in devices.Skip(1))
        {
            Assert.Equal(first.Epoch, device.R.Epoch);
            Assert.Equal(first.EpochAuthenticator(), device.R.EpochAuthenticator());
        }
    }
}
