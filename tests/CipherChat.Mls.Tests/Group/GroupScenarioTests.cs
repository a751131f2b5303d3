using System.Text;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Tests.Group;

/// <summary>Groups of several members through adds, removes, updates, proposals, lost and replayed messages, and restarts.</summary>
public sealed class GroupScenarioTests : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var item in _owned)
        {
            item.Dispose();
        }
    }

    [Fact]
    public void Five_members_agree_through_adds_updates_and_removes()
    {
        var alice = Create("alice");
        var (bob, carol) = (Client("bob"), Client("carol"));
        var commit = alice.Group.Commit(new CommitOptions { Add = [bob.KeyPackage.KeyPackage, carol.KeyPackage.KeyPackage] });
        alice.Group.MergePendingCommit();
        bob.Join(commit.Welcome!);
        carol.Join(commit.Welcome!);
        AssertAgree(alice, bob, carol);

        var dave = Client("dave");
        commit = bob.Group.Commit(new CommitOptions { Add = [dave.KeyPackage.KeyPackage], ForcePath = true });
        bob.Group.MergePendingCommit();
        Deliver(commit.Commit, alice, carol);
        dave.Join(commit.Welcome!);
        AssertAgree(alice, bob, carol, dave);

        foreach (var member in new[] { carol, dave, alice })
        {
            commit = member.Group.Commit();
            member.Group.MergePendingCommit();
            Deliver(commit.Commit, new[] { alice, bob, carol, dave }.Where(m => m != member).ToArray());
            AssertAgree(alice, bob, carol, dave);
        }

        // Carol is removed: she learns it, and she cannot read what follows.
        commit = alice.Group.Commit(new CommitOptions { Remove = [carol.Group.OwnLeafIndex.Value] });
        alice.Group.MergePendingCommit();
        Deliver(commit.Commit, bob, dave);
        var removed = Assert.IsType<ReceivedCommit>(carol.Group.Process(commit.Commit));
        Assert.True(removed.RemovedThisMember);
        Assert.False(carol.Group.IsActive);
        AssertAgree(alice, bob, dave);
        Assert.Equal(3, alice.Group.Members.Count);

        var secret = alice.Group.EncryptApplication("after carol"u8);
        Assert.Equal("after carol", Text(bob.Group.Process(secret)));
        Assert.Equal("after carol", Text(dave.Group.Process(secret)));
        Assert.Throws<MlsMisuseException>(() => carol.Group.Process(secret));

        // A new member takes the free leaf.
        var erin = Client("erin");
        commit = dave.Group.Commit(new CommitOptions { Add = [erin.KeyPackage.KeyPackage] });
        dave.Group.MergePendingCommit();
        Deliver(commit.Commit, alice, bob);
        erin.Join(commit.Welcome!);
        Assert.Equal(carol.Group.OwnLeafIndex, erin.Group.OwnLeafIndex);
        AssertAgree(alice, bob, dave, erin);
    }

    [Fact]
    public void Out_of_order_messages_decrypt_once_and_replays_are_rejected()
    {
        var (alice, bob) = Pair();
        var messages = Enumerable.Range(0, 6).Select(i => alice.Group.EncryptApplication(Encoding.UTF8.GetBytes("m" + i))).ToList();
        foreach (var i in new[] { 3, 0, 5, 1, 4, 2 })
        {
            Assert.Equal("m" + i, Text(bob.Group.Process(messages[i])));
        }

        foreach (var message in messages)
        {
            Assert.Throws<MlsValidationException>(() => bob.Group.Process(message));
        }
    }

    [Fact]
    public void A_generation_far_ahead_is_refused_so_a_sender_cannot_force_unbounded_keys()
    {
        var (alice, bob) = Pair(new MlsGroupOptions { SecretTree = new Mls.Schedule.SecretTreeOptions { MaximumForwardDistance = 10 } });
        for (var i = 0; i < 12; i++)
        {
            alice.Group.EncryptApplication("skipped"u8);
        }

        var late = alice.Group.EncryptApplication("too far"u8);
        Assert.Throws<MlsValidationException>(() => bob.Group.Process(late));
    }

    [Fact]
    public void Tampered_messages_are_rejected_and_leave_the_group_usable()
    {
        var (alice, bob) = Pair();
        var message = alice.Group.EncryptApplication("genuine"u8);
        var bytes = message.ToBytes();
        for (var offset = 8; offset < bytes.Length; offset += 9)
        {
            var tampered = (byte[])bytes.Clone();
            tampered[offset] ^= 0x01;
            Assert.ThrowsAny<MlsException>(() => bob.Group.Process(MlsMessage.FromBytes(tampered)));
        }

        Assert.Equal("genuine", Text(bob.Group.Process(message)));

        // A tampered commit (public, so the change reaches the signed content) is rejected without changing the epoch.
        var commit = alice.Group.Commit(new CommitOptions { WireFormat = WireFormat.PublicMessage });
        var commitBytes = commit.Commit.ToBytes();
        commitBytes[^40] ^= 0x01;
        var epoch = bob.Group.Epoch;
        Assert.ThrowsAny<MlsException>(() => bob.Group.Process(MlsMessage.FromBytes(commitBytes)));
        Assert.Equal(epoch, bob.Group.Epoch);
        bob.Group.Process(commit.Commit);
        alice.Group.MergePendingCommit();
        AssertAgree(alice, bob);
    }

    [Fact]
    public void Commits_for_the_wrong_epoch_and_own_commits_are_rejected()
    {
        var (alice, bob) = Pair();
        var first = alice.Group.Commit();
        alice.Group.MergePendingCommit();
        bob.Group.Process(first.Commit);

        // The same commit again is for a past epoch.
        Assert.Throws<MlsValidationException>(() => bob.Group.Process(first.Commit));

        // The committer does not process its own commit; it merges it.
        var second = alice.Group.Commit(new CommitOptions { WireFormat = WireFormat.PublicMessage });
        Assert.Throws<MlsValidationException>(() => alice.Group.Process(second.Commit));
        alice.Group.DiscardPendingCommit();
        Assert.False(alice.Group.HasPendingCommit);

        // A discarded commit that reached others leaves the committer behind: it must not be merged.
        Assert.Throws<MlsMisuseException>(() => alice.Group.MergePendingCommit());
    }

    [Fact]
    public void State_saved_and_restored_mid_scenario_continues_exactly()
    {
        var (alice, bob) = Pair();
        var early = alice.Group.EncryptApplication("early"u8);
        var skipped = alice.Group.EncryptApplication("skipped"u8);
        Assert.Equal("early", Text(bob.Group.Process(early)));

        var saved = bob.Group.Save();
        using (var restored = MlsGroup.Restore(saved))
        {
            Assert.Equal(saved, restored.Save());
            Assert.Equal(bob.Group.EpochAuthenticator(), restored.EpochAuthenticator());
        }

        bob.Group.Dispose();
        bob.Group = MlsGroup.Restore(saved);

        // The restored member still holds the skipped key, and still refuses the used one.
        Assert.Equal("skipped", Text(bob.Group.Process(skipped)));
        Assert.Throws<MlsValidationException>(() => bob.Group.Process(early));

        var commit = alice.Group.Commit();
        alice.Group.MergePendingCommit();
        bob.Group.Process(commit.Commit);
        AssertAgree(alice, bob);

        var reply = bob.Group.EncryptApplication("from restored bob"u8);
        Assert.Equal("from restored bob", Text(alice.Group.Process(reply)));

        // Restoring garbage fails with the library's decode error only.
        Assert.Throws<MlsDecodeException>(() => MlsGroup.Restore(saved.AsSpan(0, saved.Length / 2)));
        var wrongVersion = (byte[])saved.Clone();
        wrongVersion[4] = 99;
        Assert.Throws<MlsDecodeException>(() => MlsGroup.Restore(wrongVersion));
    }

    [Fact]
    public void Messages_from_kept_past_epochs_decrypt_and_older_ones_do_not()
    {
        var (alice, bob) = Pair(new MlsGroupOptions { PastEpochsKept = 2 });
        var old = new List<MlsMessage>();
        for (var i = 0; i < 3; i++)
        {
            old.Add(alice.Group.EncryptApplication(Encoding.UTF8.GetBytes("epoch message " + i)));
            var commit = alice.Group.Commit();
            alice.Group.MergePendingCommit();
            bob.Group.Process(commit.Commit);
        }

        // Bob is three epochs on and keeps two past epochs.
        Assert.Throws<MlsValidationException>(() => bob.Group.Process(old[0]));
        Assert.Equal("epoch message 1", Text(bob.Group.Process(old[1])));
        Assert.Equal("epoch message 2", Text(bob.Group.Process(old[2])));
    }

    [Fact]
    public void Standalone_proposals_are_committed_by_reference()
    {
        var alice = Create("alice");
        var (bob, carol, dave) = (Client("bob"), Client("carol"), Client("dave"));
        var commit = alice.Group.Commit(new CommitOptions { Add = [bob.KeyPackage.KeyPackage, carol.KeyPackage.KeyPackage, dave.KeyPackage.KeyPackage] });
        alice.Group.MergePendingCommit();
        foreach (var m in new[] { bob, carol, dave })
        {
            m.Join(commit.Welcome!);
        }

        var update = bob.Group.ProposeUpdate();
        var remove = carol.Group.ProposeRemove(dave.Group.OwnLeafIndex.Value);
        Deliver(update, alice, carol, dave);
        Deliver(remove, alice, bob, dave);

        // Application data must wait for the commit of pending proposals.
        Assert.Throws<MlsMisuseException>(() => alice.Group.EncryptApplication("too early"u8));

        commit = alice.Group.Commit();
        alice.Group.MergePendingCommit();
        var seen = Assert.IsType<ReceivedCommit>(bob.Group.Process(commit.Commit));
        Assert.Equal([ProposalType.Update, ProposalType.Remove], seen.Proposals.Select(p => p.ProposalType));
        carol.Group.Process(commit.Commit);
        Assert.True(Assert.IsType<ReceivedCommit>(dave.Group.Process(commit.Commit)).RemovedThisMember);
        AssertAgree(alice, bob, carol);

        // Bob's updated leaf key works: he can process a commit that encrypts to it.
        commit = carol.Group.Commit();
        carol.Group.MergePendingCommit();
        Deliver(commit.Commit, alice, bob);
        AssertAgree(alice, bob, carol);
    }

    [Fact]
    public void External_psk_and_group_context_extensions_are_committed()
    {
        using var psks = new InMemoryPskStore();
        psks.Add("room-psk"u8, new byte[32]);
        var options = new MlsGroupOptions { Psks = psks, HandshakeWireFormat = WireFormat.PublicMessage };
        var (alice, bob) = Pair(options);

        var commit = alice.Group.Commit(new CommitOptions { ExternalPsks = ["room-psk"u8.ToArray()] });
        alice.Group.MergePendingCommit();
        bob.Group.Process(commit.Commit);
        AssertAgree(alice, bob);

        var appId = new Extension { ExtensionType = ExtensionType.ApplicationId, ExtensionData = new byte[] { 1, 2, 3 } };
        commit = bob.Group.Commit(new CommitOptions { GroupContextExtensions = [appId] });
        bob.Group.MergePendingCommit();
        alice.Group.Process(commit.Commit);
        AssertAgree(alice, bob);
        Assert.Equal(ExtensionType.ApplicationId, Assert.Single(alice.Group.Context.Extensions).ExtensionType);

        // A PSK nobody holds cannot be committed.
        Assert.Throws<MlsValidationException>(() => alice.Group.Commit(new CommitOptions { ExternalPsks = ["unknown"u8.ToArray()] }));
    }

    [Fact]
    public void Welcome_without_the_tree_needs_it_out_of_band()
    {
        var alice = Create("alice");
        var bob = Client("bob");
        var commit = alice.Group.Commit(new CommitOptions { Add = [bob.KeyPackage.KeyPackage], RatchetTreeInWelcome = false });
        alice.Group.MergePendingCommit();
        var welcome = (Welcome)commit.Welcome!.Body;
        Assert.Throws<MlsValidationException>(() => MlsGroup.Join(welcome, bob.KeyPackage, bob.Signer));

        // A tree that is not the group's fails the tree hash check.
        Assert.ThrowsAny<MlsException>(() => MlsGroup.Join(welcome, bob.KeyPackage, bob.Signer, Create("zed").Group.Tree.Encode()));

        bob.Group = MlsGroup.Join(welcome, bob.KeyPackage, bob.Signer, commit.RatchetTree);
        AssertAgree(alice, bob);
    }

    [Fact]
    public void Invalid_key_packages_and_proposal_lists_are_refused()
    {
        var alice = Create("alice");
        var bob = Client("bob");

        // Adding the same client twice, or removing the committer, is an invalid proposal list.
        Assert.Throws<MlsValidationException>(() => alice.Group.Commit(new CommitOptions { Add = [bob.KeyPackage.KeyPackage, bob.KeyPackage.KeyPackage] }));
        Assert.Throws<MlsValidationException>(() => alice.Group.Commit(new CommitOptions { Remove = [0] }));

        // An expired KeyPackage and one with a broken signature are refused.
        using var signer = SignatureKeyPair.Generate();
        using var expired = KeyPackages.Create(
            MlsCipherSuite.Default, Credential.Basic("old"u8.ToArray()), signer, new KeyPackageOptions { Now = DateTimeOffset.UtcNow.AddDays(-60) });
        Assert.Throws<MlsValidationException>(() => alice.Group.Commit(new CommitOptions { Add = [expired.KeyPackage] }));
        var kp = bob.KeyPackage.KeyPackage;
        var forged = new KeyPackage { CipherSuite = kp.CipherSuite, InitKey = kp.InitKey, LeafNode = kp.LeafNode, Extensions = kp.Extensions, Signature = new byte[64] };
        Assert.Throws<MlsValidationException>(() => alice.Group.Commit(new CommitOptions { Add = [forged] }));
        Assert.False(alice.Group.HasPendingCommit);
    }

    private static string Text(ReceivedMessage message) => Encoding.UTF8.GetString(Assert.IsType<ReceivedApplicationMessage>(message).Data);

    private static void Deliver(MlsMessage message, params Member[] to)
    {
        foreach (var member in to)
        {
            member.Group.Process(message);
        }
    }

    private static void AssertAgree(params Member[] members)
    {
        var first = members[0].Group;
        using var exported = first.Export("test", "ctx"u8, 16);
        foreach (var member in members)
        {
            Assert.Equal(first.Epoch, member.Group.Epoch);
            Assert.Equal(first.EpochAuthenticator(), member.Group.EpochAuthenticator());
            Assert.Equal(first.Context.TreeHash.ToArray(), member.Group.Context.TreeHash.ToArray());
            using var other = member.Group.Export("test", "ctx"u8, 16);
            Assert.True(exported.Equals(other));
        }

        // Every member can send to every other.
        foreach (var sender in members)
        {
            var message = sender.Group.EncryptApplication(Encoding.UTF8.GetBytes("from " + sender.Name));
            foreach (var receiver in members.Where(m => m != sender))
            {
                Assert.Equal("from " + sender.Name, Text(receiver.Group.Process(message)));
            }
        }
    }

    private (Member, Member) Pair(MlsGroupOptions? options = null)
    {
        var alice = Create("alice", options);
        var bob = Client("bob");
        var commit = alice.Group.Commit(new CommitOptions { Add = [bob.KeyPackage.KeyPackage] });
        alice.Group.MergePendingCommit();
        bob.Join(commit.Welcome!, options);
        return (alice, bob);
    }

    private Member Create(string name, MlsGroupOptions? options = null)
    {
        var member = Client(name);
        member.Group = MlsGroup.Create(Encoding.UTF8.GetBytes("group of " + name), member.KeyPackage, member.Signer, null, options);
        return member;
    }

    private Member Client(string name)
    {
        var signer = SignatureKeyPair.Generate();
        var keyPackage = KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic(Encoding.UTF8.GetBytes(name)), signer);
        var member = new Member(name, signer, keyPackage);
        _owned.Add(member);
        return member;
    }

    private sealed class Member(string name, SignatureKeyPair signer, KeyPackageBundle keyPackage) : IDisposable
    {
        private MlsGroup? _group;

        public string Name { get; } = name;

        public SignatureKeyPair Signer { get; } = signer;

        public KeyPackageBundle KeyPackage { get; } = keyPackage;

        public MlsGroup Group
        {
            get => _group ?? throw new InvalidOperationException(Name + " has no group.");
            set => _group = value;
        }

        public void Join(MlsMessage welcome, MlsGroupOptions? options = null) =>
            Group = MlsGroup.Join((Welcome)welcome.Body, KeyPackage, Signer, null, options);

        public void Dispose()
        {
            _group?.Dispose();
            Signer.Dispose();
            KeyPackage.Dispose();
        }
    }
}
