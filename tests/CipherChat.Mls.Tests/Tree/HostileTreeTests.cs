using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>Trees a joiner must refuse (RFC 9420 §7.3, §7.9.2, §12.4.3.1), each with one defect.</summary>
public sealed class HostileTreeTests : IDisposable
{
    private readonly TestGroup _group;

    private readonly TestClient _lateJoiner;
    private readonly RatchetTree _tree;

    public HostileTreeTests()
    {
        // Leaves 0..4 after commits by leaves 0, 2 and 1, then leaf 5 added without a commit, so
        // the root (7) lists it as unmerged.
        _group = new TestGroup("a");
        _group.Commit(0, add: ["b", "c", "d"]);
        _group.Commit(2);
        _group.Commit(1, add: ["e"]);
        var late = new TestClient("f");
        _lateJoiner = late;
        var tree = _group.Tree.Clone();
        tree.AddLeaf(late.Leaf);
        _tree = tree;
    }

    private List<Node?> Nodes => [.. _tree.ToNodes().Nodes];

    [Fact]
    public void The_unmodified_tree_is_valid()
    {
        Assert.Contains(Nodes, n => n?.Parent is { UnmergedLeaves.Count: > 0 });
        RatchetTreeValidator.Validate(_tree, _group.GroupId, [], DateTimeOffset.UtcNow);
        RatchetTreeValidator.Validate(_tree, _group.Context(_tree.TreeHash()));
    }

    [Fact]
    public void A_tree_that_does_not_match_the_group_context_hash_is_rejected()
    {
        var otherHash = _tree.TreeHash();
        otherHash[0] ^= 1;
        var e = Assert.Throws<MlsValidationException>(() => RatchetTreeValidator.Validate(_tree, _group.Context(otherHash)));
        Assert.Contains("tree hash", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_leaf_signature_is_rejected()
    {
        var nodes = Nodes;
        var leaf = nodes[2]!.Leaf!;
        var signature = leaf.Signature.ToArray();
        signature[5] ^= 0x40;
        nodes[2] = Node.FromLeaf(TestClient.With(leaf, signature: signature));
        AssertRejected(nodes, "signature");
    }

    [Fact]
    public void A_leaf_signed_for_another_group_is_rejected()
    {
        var other = (byte[])_group.GroupId.Clone();
        other[0] ^= 1;
        var e = Assert.Throws<MlsValidationException>(() => RatchetTreeValidator.Validate(_tree, other, []));
        Assert.Contains("signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_encryption_key_is_rejected()
    {
        var nodes = Nodes;
        var victim = nodes[0]!.Leaf!;

        // The late joiner's leaf (key_package source, index 5) re-signed with a copied encryption key.
        var forged = TestClient.Sign(TestClient.With(_lateJoiner.Leaf, encryptionKey: victim.EncryptionKey), _lateJoiner.Signer, null, default);
        nodes[10] = Node.FromLeaf(forged);
        AssertRejected(nodes, "encryption key");
    }

    [Fact]
    public void A_duplicate_signature_key_is_rejected()
    {
        var nodes = Nodes;
        var victim = _group.Client(3);
        var forged = TestClient.Sign(TestClient.With(_lateJoiner.Leaf, signatureKey: victim.Signer.PublicKey), victim.Signer, null, default);
        nodes[10] = Node.FromLeaf(forged);
        AssertRejected(nodes, "signature key");
    }

    [Fact]
    public void A_parent_key_copied_from_a_leaf_is_rejected()
    {
        var nodes = Nodes;
        var parentIndex = nodes.FindIndex(n => n?.Parent is not null);
        var parent = nodes[parentIndex]!.Parent!;
        nodes[parentIndex] = Node.FromParent(new ParentNode
        {
            EncryptionKey = nodes[0]!.Leaf!.EncryptionKey,
            ParentHash = parent.ParentHash,
            UnmergedLeaves = parent.UnmergedLeaves,
        });
        AssertRejected(nodes, null);
    }

    [Fact]
    public void A_tampered_parent_hash_is_rejected()
    {
        for (var i = 1; i < Nodes.Count; i += 2)
        {
            var nodes = Nodes;
            if (nodes[i]?.Parent is not { } parent)
            {
                continue;
            }

            var hash = parent.ParentHash.ToArray();
            if (hash.Length == 0)
            {
                hash = new byte[32];
            }
            else
            {
                hash[^1] ^= 1;
            }

            nodes[i] = Node.FromParent(new ParentNode { EncryptionKey = parent.EncryptionKey, ParentHash = hash, UnmergedLeaves = parent.UnmergedLeaves });
            AssertRejected(nodes, "parent-hash valid");
        }
    }

    [Fact]
    public void A_parent_key_replaced_by_an_outsider_is_rejected()
    {
        var nodes = Nodes;
        var parentIndex = nodes.FindIndex(n => n?.Parent is not null);
        var parent = nodes[parentIndex]!.Parent!;
        using var outsider = MlsCipherSuite.Default.GenerateHpkeKeyPair();
        nodes[parentIndex] = Node.FromParent(new ParentNode
        {
            EncryptionKey = outsider.PublicKey,
            ParentHash = parent.ParentHash,
            UnmergedLeaves = parent.UnmergedLeaves,
        });
        AssertRejected(nodes, "parent-hash valid");
    }

    [Fact]
    public void An_unmerged_leaf_outside_the_parent_is_rejected()
    {
        var nodes = Nodes;

        // Node 1 covers leaves 0 and 1 only.
        var parent = nodes[1]!.Parent!;
        nodes[1] = Node.FromParent(new ParentNode { EncryptionKey = parent.EncryptionKey, ParentHash = parent.ParentHash, UnmergedLeaves = [.. parent.UnmergedLeaves, 4] });
        AssertRejected(nodes, "unmerged leaf");
    }

    [Fact]
    public void An_unmerged_leaf_missing_from_an_intermediate_node_is_rejected()
    {
        // The root (7) lists leaf 5 as unmerged; a non-blank node 11 between them that does not.
        var nodes = Nodes;
        Assert.Contains(5u, nodes[7]!.Parent!.UnmergedLeaves);
        Assert.Equal(11, nodes.Count);
        using var key = MlsCipherSuite.Default.GenerateHpkeKeyPair();
        nodes.Add(Node.FromParent(new ParentNode { EncryptionKey = key.PublicKey, ParentHash = Array.Empty<byte>() }));
        AssertRejected(nodes, "intermediate");
    }

    [Fact]
    public void A_blank_unmerged_leaf_is_rejected()
    {
        using var other = new TestClient("g");
        var nodes = Nodes;
        nodes[10] = null;
        nodes.Add(null);
        nodes.Add(Node.FromLeaf(other.Leaf));
        AssertRejected(nodes, "unmerged leaf is blank");
    }

    [Fact]
    public void An_expired_key_package_leaf_is_rejected_when_the_time_is_checked()
    {
        using var expired = new TestClient("old", notBefore: 1000, notAfter: 2000);
        var tree = _group.Tree.Clone();
        tree.AddLeaf(expired.Leaf);
        RatchetTreeValidator.Validate(tree, _group.GroupId, []);
        var e = Assert.Throws<MlsValidationException>(() => RatchetTreeValidator.Validate(tree, _group.GroupId, [], DateTimeOffset.UtcNow));
        Assert.Contains("lifetime", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leaf_without_the_required_capabilities_is_rejected()
    {
        var required = new RequiredCapabilities { ExtensionTypes = [(ExtensionType)0x0A0A] };
        Extension[] extensions = [new Extension { ExtensionType = ExtensionType.RequiredCapabilities, ExtensionData = TlsCodec.Encode(required) }];
        var e = Assert.Throws<MlsValidationException>(() => RatchetTreeValidator.Validate(_tree, _group.GroupId, extensions));
        Assert.Contains("required capabilities", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leaf_that_does_not_list_its_credential_type_is_rejected()
    {
        var nodes = Nodes;
        var capabilities = new Capabilities
        {
            Versions = [ProtocolVersion.Mls10],
            CipherSuites = [CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519],
            Credentials = [CredentialType.X509],
        };
        var forged = TestClient.Sign(TestClient.With(_lateJoiner.Leaf, capabilities: capabilities), _lateJoiner.Signer, null, default);
        nodes[10] = Node.FromLeaf(forged);
        AssertRejected(nodes, "credential type");
    }

    public void Dispose()
    {
        _lateJoiner.Dispose();
        _group.Dispose();
    }

    private void AssertRejected(List<Node?> nodes, string? messagePart)
    {
        var tree = RatchetTree.FromNodes(nodes);
        var e = Assert.Throws<MlsValidationException>(() => RatchetTreeValidator.Validate(tree, _group.GroupId, []));
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, e.Message, StringComparison.Ordinal);
        }
    }
}
