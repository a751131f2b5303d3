using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>TreeKEM beyond the vectors: new members, joiners, tampered UpdatePaths, saved private state.</summary>
public sealed class TreeKemTests : IDisposable
{
    private static readonly HashSet<LeafIndex> NoNewMembers = [];
    private readonly TestGroup _group;

    public TreeKemTests()
    {
        _group = new TestGroup("a");
        _group.Commit(0, add: ["b", "c", "d", "e"]);
        _group.Commit(3);
    }

    [Fact]
    public void Members_agree_on_commit_secrets_through_adds_removes_and_updates()
    {
        var secrets = new List<byte[]>
        {
            _group.Commit(4, add: ["f"]),
            _group.Commit(5, remove: [1]),
            _group.Commit(2, add: ["g", "h", "i"]),
            _group.Commit(0, remove: [3, 4]),
            _group.Commit(7),
        };

        // Fresh randomness every commit: no two commit secrets repeat.
        Assert.Equal(secrets.Count, secrets.Select(Convert.ToHexString).Distinct().Count());
        RatchetTreeValidator.Validate(_group.Tree, _group.GroupId, []);
    }

    [Fact]
    public void Path_secrets_are_not_encrypted_to_new_members()
    {
        var next = _group.Tree.Clone();
        using var f = new TestClient("f");
        using var g = new TestClient("g");
        var newMembers = new HashSet<LeafIndex> { next.AddLeaf(f.Leaf), next.AddLeaf(g.Leaf) };
        var committerTree = next.Clone();
        using var keys = _group.Keys[0].WithoutStaleKeys(next);
        using var created = TreeKem.CreateUpdatePath(committerTree, keys, _group.Client(0).Signer, _group.GroupId, newMembers, _group.Context);

        var filtered = next.FilteredDirectPath(new LeafIndex(0));
        Assert.Equal(filtered.Count, created.Path.Nodes.Count);
        var excludedSomewhere = false;
        for (var n = 0; n < filtered.Count; n++)
        {
            var withJoiners = committerTree.Resolution(filtered[n].CopathChild);
            var withoutJoiners = committerTree.Resolution(filtered[n].CopathChild, newMembers);
            Assert.Equal(withoutJoiners.Count, created.Path.Nodes[n].EncryptedPathSecret.Count);
            excludedSomewhere |= withJoiners.Count > withoutJoiners.Count;
        }

        Assert.True(excludedSomewhere);

        // Each joiner gets the path secret of the lowest path node above it, which yields keys that match.
        foreach (var (joiner, client) in new[] { (newMembers.Min(), f), (newMembers.Max(), g) })
        {
            var secret = created.PathSecretFor(joiner);
            Assert.NotNull(secret);
            using var joinerKeys = TreeKem.KeysForJoiner(committerTree, joiner, client.Encryption.PrivateKey, new LeafIndex(0), secret.Span);
            Assert.Contains(committerTree.Root, joinerKeys.Nodes);
        }
    }

    [Fact]
    public void A_wrong_welcome_path_secret_is_rejected()
    {
        var tree = _group.Tree.Clone();
        using var f = new TestClient("f");
        var leaf = tree.AddLeaf(f.Leaf);
        var wrong = new byte[32];
        Assert.Throws<MlsValidationException>(() => TreeKem.KeysForJoiner(tree, leaf, f.Encryption.PrivateKey, new LeafIndex(0), wrong));
    }

    [Fact]
    public void An_update_path_with_a_substituted_node_key_is_rejected()
    {
        using var attacker = MlsCipherSuite.Default.GenerateHpkeKeyPair();
        AssertProcessRejected(path => new UpdatePath
        {
            LeafNode = path.LeafNode,
            Nodes = [.. path.Nodes.Select((n, i) => i == path.Nodes.Count - 1
                ? new UpdatePathNode { EncryptionKey = attacker.PublicKey, EncryptedPathSecret = n.EncryptedPathSecret }
                : n)],
        });
    }

    [Fact]
    public void An_update_path_with_a_missing_ciphertext_is_rejected()
    {
        AssertProcessRejected(path => new UpdatePath
        {
            LeafNode = path.LeafNode,
            Nodes = [.. path.Nodes.Select((n, i) => i == 0
                ? new UpdatePathNode { EncryptionKey = n.EncryptionKey, EncryptedPathSecret = [.. n.EncryptedPathSecret.Skip(1)] }
                : n)],
        });
    }

    [Fact]
    public void An_update_path_with_too_few_nodes_is_rejected()
    {
        AssertProcessRejected(path => new UpdatePath { LeafNode = path.LeafNode, Nodes = [.. path.Nodes.Skip(1)] });
    }

    [Fact]
    public void An_update_path_leaf_with_a_bad_signature_is_rejected()
    {
        AssertProcessRejected(path =>
        {
            var signature = path.LeafNode.Signature.ToArray();
            signature[0] ^= 1;
            return new UpdatePath { LeafNode = TestClient.With(path.LeafNode, signature: signature), Nodes = path.Nodes };
        });
    }

    [Fact]
    public void An_update_path_leaf_that_is_not_from_a_commit_is_rejected()
    {
        AssertProcessRejected(path => new UpdatePath
        {
            LeafNode = TestClient.Sign(TestClient.With(path.LeafNode, source: LeafNodeSource.Update), _group.Client(0).Signer, new LeafIndex(0), _group.GroupId),
            Nodes = path.Nodes,
        });
    }

    [Fact]
    public void An_update_path_reusing_a_tree_key_is_rejected()
    {
        var existing = _group.Tree.GetLeaf(new LeafIndex(2))!.EncryptionKey;
        AssertProcessRejected(path => new UpdatePath
        {
            LeafNode = path.LeafNode,
            Nodes = [.. path.Nodes.Select((n, i) => i == 0 ? new UpdatePathNode { EncryptionKey = existing, EncryptedPathSecret = n.EncryptedPathSecret } : n)],
        });
    }

    [Fact]
    public void An_update_path_for_another_group_context_does_not_decrypt()
    {
        var tree = _group.Tree.Clone();
        using var created = Create(tree);
        var receiverTree = _group.Tree.Clone();
        var e = Assert.Throws<MlsValidationException>(() => TreeKem.ProcessUpdatePath(
            receiverTree, _group.Keys[1], new LeafIndex(0), created.Path, _group.GroupId, NoNewMembers, [],
            hash => new GroupContext
            {
                CipherSuite = CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519,
                GroupId = _group.GroupId,
                Epoch = 999,
                TreeHash = hash,
                ConfirmedTranscriptHash = new byte[32],
            }));
        Assert.NotNull(e);
    }

    [Fact]
    public void The_sender_cannot_process_its_own_update_path()
    {
        var tree = _group.Tree.Clone();
        using var created = Create(tree);
        Assert.Throws<MlsMisuseException>(() => TreeKem.ProcessUpdatePath(
            _group.Tree.Clone(), _group.Keys[0], new LeafIndex(0), created.Path, _group.GroupId, NoNewMembers, [], _group.Context));
    }

    [Fact]
    public void Private_keys_round_trip_exactly_and_still_decrypt()
    {
        var bytes = _group.Keys[1].Serialize();
        using var restored = TreePrivateKeys.Deserialize(bytes);
        Assert.Equal(bytes, restored.Serialize());
        Assert.Equal(_group.Keys[1].Nodes, restored.Nodes);
        restored.CheckConsistency(_group.Tree);

        var tree = _group.Tree.Clone();
        using var created = Create(tree);
        using var processed = TreeKem.ProcessUpdatePath(
            _group.Tree.Clone(), restored, new LeafIndex(0), created.Path, _group.GroupId, NoNewMembers, [], _group.Context);
        Assert.Equal(created.CommitSecret.ToArray(), processed.CommitSecret.ToArray());
    }

    [Fact]
    public void Malformed_private_key_state_is_a_decode_error()
    {
        var bytes = _group.Keys[1].Serialize();
        var wrongVersion = (byte[])bytes.Clone();
        wrongVersion[0] = 9;
        Assert.Equal(MlsDecodeError.UnsupportedVersion, Assert.Throws<MlsDecodeException>(() => TreePrivateKeys.Deserialize(wrongVersion)).Error);
        Assert.Throws<MlsDecodeException>(() => TreePrivateKeys.Deserialize(bytes.AsSpan(0, bytes.Length - 3)));
        Assert.Throws<MlsDecodeException>(() => TreePrivateKeys.Deserialize([.. bytes, 0]));

        // Leaf 1 (node 2) with a key claimed for node 9, which is not on its path.
        byte[] offPath = [1, 0, 0, 0, 1, 2 * (4 + 1 + 32), 0, 0, 0, 2, 32, .. new byte[32], 0, 0, 0, 9, 32, .. new byte[32]];
        Assert.Throws<MlsDecodeException>(() => TreePrivateKeys.Deserialize(offPath));
    }

    [Fact]
    public void Stale_keys_are_dropped_when_the_path_is_replaced()
    {
        // Member 1 holds keys for nodes 1 and up; member 0's commit replaces all of them.
        var before = _group.Keys[1].Nodes;
        Assert.Contains(new NodeIndex(1), before);
        var oldKeyOfNode1 = _group.Keys[1].PublicKey(new NodeIndex(1));
        _group.Commit(0);
        Assert.NotEqual(oldKeyOfNode1, _group.Keys[1].PublicKey(new NodeIndex(1)));
        _group.Keys[1].CheckConsistency(_group.Tree);
    }

    public void Dispose() => _group.Dispose();

    private CreatedUpdatePath Create(RatchetTree tree)
    {
        using var keys = _group.Keys[0].Clone();
        return TreeKem.CreateUpdatePath(tree, keys, _group.Client(0).Signer, _group.GroupId, NoNewMembers, _group.Context);
    }

    private void AssertProcessRejected(Func<UpdatePath, UpdatePath> tamper)
    {
        var tree = _group.Tree.Clone();
        using var created = Create(tree);

        // The untampered path is accepted by every other member.
        foreach (var (leaf, keys) in _group.Keys.Where(k => k.Key != 0))
        {
            using var ok = TreeKem.ProcessUpdatePath(_group.Tree.Clone(), keys, new LeafIndex(0), created.Path, _group.GroupId, NoNewMembers, [], _group.Context);
        }

        var tampered = tamper(created.Path);
        foreach (var (leaf, keys) in _group.Keys.Where(k => k.Key != 0))
        {
            Assert.Throws<MlsValidationException>(() => TreeKem.ProcessUpdatePath(
                _group.Tree.Clone(), keys, new LeafIndex(0), tampered, _group.GroupId, NoNewMembers, [], _group.Context));
        }
    }
}

/// <summary>External commits (RFC 9420 §12.4.3.2): a joiner takes the leftmost blank leaf and sends a path.</summary>
public sealed class ExternalJoinTreeKemTests : IDisposable
{
    private static readonly HashSet<LeafIndex> NoNewMembers = [];
    private readonly TestGroup _group;

    public ExternalJoinTreeKemTests()
    {
        _group = new TestGroup("a");
        _group.Commit(0, add: ["b", "c", "d"]);
        _group.Commit(2, remove: [1]);
    }

    [Fact]
    public void Members_process_an_external_joiners_update_path()
    {
        using var joiner = new TestClient("x");
        var joinerTree = _group.Tree.Clone();
        var slot = joinerTree.AddLeaf(joiner.Leaf);
        Assert.Equal(new LeafIndex(1), slot);
        using var joinerKeys = TreePrivateKeys.ForLeaf(slot, joiner.Encryption.PrivateKey);
        using var created = TreeKem.CreateUpdatePath(joinerTree, joinerKeys, joiner.Signer, _group.GroupId, NoNewMembers, _group.Context);

        foreach (var (leaf, keys) in _group.Keys)
        {
            var tree = _group.Tree.Clone();
            Assert.Equal(slot, tree.AddLeaf(created.Path.LeafNode));
            using var processed = TreeKem.ProcessUpdatePath(
                tree, keys, slot, created.Path, _group.GroupId, NoNewMembers, [], _group.Context, externalJoin: true);
            Assert.Equal(created.CommitSecret.ToArray(), processed.CommitSecret.ToArray());
            Assert.Equal(joinerTree.Encode(), tree.Encode());
            processed.Keys.CheckConsistency(tree);
        }

        RatchetTreeValidator.Validate(joinerTree, _group.GroupId, []);
    }

    [Fact]
    public void An_external_path_must_be_placed_first()
    {
        using var joiner = new TestClient("x");
        var joinerTree = _group.Tree.Clone();
        var slot = joinerTree.AddLeaf(joiner.Leaf);
        using var joinerKeys = TreePrivateKeys.ForLeaf(slot, joiner.Encryption.PrivateKey);
        using var created = TreeKem.CreateUpdatePath(joinerTree, joinerKeys, joiner.Signer, _group.GroupId, NoNewMembers, _group.Context);
        Assert.Throws<MlsMisuseException>(() => TreeKem.ProcessUpdatePath(
            _group.Tree.Clone(), _group.Keys[0], slot, created.Path, _group.GroupId, NoNewMembers, [], _group.Context, externalJoin: true));
    }

    public void Dispose() => _group.Dispose();
}
