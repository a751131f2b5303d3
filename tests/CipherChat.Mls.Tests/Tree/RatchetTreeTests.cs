using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>Shape operations of the ratchet tree: add, update, remove, truncation, encoding, caching.</summary>
public class RatchetTreeTests
{
    [Fact]
    public void Adds_fill_the_leftmost_blank_leaf_and_extend_when_full()
    {
        using var a = new TestClient("a");
        using var b = new TestClient("b");
        using var c = new TestClient("c");
        using var d = new TestClient("d");
        var tree = RatchetTree.Create(a.Leaf);
        Assert.Equal(1u, tree.LeafCount);

        Assert.Equal(new LeafIndex(1), tree.AddLeaf(b.Leaf));
        Assert.Equal(2u, tree.LeafCount);
        Assert.Equal(new LeafIndex(2), tree.AddLeaf(c.Leaf));
        Assert.Equal(4u, tree.LeafCount);
        Assert.Equal(7u, tree.NodeCount);
        Assert.True(tree.IsBlank(new NodeIndex(6)));

        tree.RemoveLeaf(new LeafIndex(1));
        Assert.Equal(4u, tree.LeafCount);
        Assert.Equal(new LeafIndex(1), tree.AddLeaf(d.Leaf));
        Assert.Equal(3u, tree.MemberCount);
    }

    [Fact]
    public void An_add_is_unmerged_at_every_non_blank_ancestor()
    {
        using var group = new TestGroup("a");
        group.Commit(0, add: ["b", "c"]);
        using var d = new TestClient("d");
        var tree = group.Tree.Clone();

        // a's commit set nodes 1 and 3; d lands on leaf 3, under node 5 (blank) and root 3.
        Assert.False(tree.IsBlank(new NodeIndex(3)));
        Assert.True(tree.IsBlank(new NodeIndex(5)));
        var added = tree.AddLeaf(d.Leaf);
        Assert.Equal(new LeafIndex(3), added);
        Assert.Equal([3u], tree.GetParent(new NodeIndex(3))!.UnmergedLeaves);
        Assert.Null(tree.GetParent(new NodeIndex(5)));

        // The resolution of the root now lists d's leaf after the root itself.
        Assert.Equal([new NodeIndex(3), new NodeIndex(6)], tree.Resolution(new NodeIndex(3)));
        Assert.Equal([new NodeIndex(3)], tree.Resolution(new NodeIndex(3), new HashSet<LeafIndex> { added }));
    }

    [Fact]
    public void Remove_blanks_the_direct_path_and_truncates_the_empty_right_half()
    {
        using var group = new TestGroup("a");
        group.Commit(0, add: ["b", "c", "d", "e"]);
        var tree = group.Tree.Clone();
        Assert.Equal(8u, tree.LeafCount);

        tree.RemoveLeaf(new LeafIndex(4));
        Assert.Equal(4u, tree.LeafCount);

        // The old root (7) is gone with the right half; node 3, set by a's commit, is the root now.
        Assert.Equal(new NodeIndex(3), tree.Root);
        Assert.False(tree.IsBlank(new NodeIndex(3)));

        tree.RemoveLeaf(new LeafIndex(1));
        Assert.True(tree.IsBlank(new NodeIndex(1)));
        Assert.True(tree.IsBlank(new NodeIndex(3)));
        Assert.Equal(4u, tree.LeafCount);
        Assert.Equal(3u, tree.MemberCount);

        tree.RemoveLeaf(new LeafIndex(3));
        Assert.Equal(4u, tree.LeafCount);
        tree.RemoveLeaf(new LeafIndex(2));
        Assert.Equal(1u, tree.LeafCount);
        Assert.Equal(1u, tree.MemberCount);
        Assert.Single(tree.ToNodes().Nodes);
    }

    [Fact]
    public void Removing_or_updating_a_blank_leaf_is_rejected()
    {
        using var a = new TestClient("a");
        using var b = new TestClient("b");
        var tree = RatchetTree.Create(a.Leaf);
        tree.AddLeaf(b.Leaf);
        tree.RemoveLeaf(new LeafIndex(1));
        Assert.Throws<MlsValidationException>(() => tree.RemoveLeaf(new LeafIndex(1)));
        Assert.Throws<MlsValidationException>(() => tree.RemoveLeaf(new LeafIndex(7)));
        Assert.Throws<MlsValidationException>(() => tree.UpdateLeaf(new LeafIndex(1), b.Leaf));
    }

    [Fact]
    public void Encoding_drops_trailing_blanks_and_decodes_to_the_same_tree()
    {
        using var group = new TestGroup("a");
        group.Commit(0, add: ["b", "c"]);
        var tree = group.Tree;
        var nodes = tree.ToNodes().Nodes;
        Assert.Equal(5, nodes.Count);
        Assert.NotNull(nodes[^1]);

        var decoded = RatchetTree.Decode(tree.Encode());
        Assert.Equal(tree.Encode(), decoded.Encode());
        Assert.Equal(tree.TreeHash(), decoded.TreeHash());
        Assert.Equal(4u, decoded.LeafCount);
    }

    [Fact]
    public void Decoding_rejects_trees_of_the_wrong_shape()
    {
        using var a = new TestClient("a");
        var leaf = Node.FromLeaf(a.Leaf);
        var parent = Node.FromParent(new ParentNode { EncryptionKey = new byte[32], ParentHash = Array.Empty<byte>() });

        Assert.Throws<MlsValidationException>(() => RatchetTree.FromNodes([]));
        Assert.Throws<MlsValidationException>(() => RatchetTree.FromNodes([leaf, null]));
        Assert.Throws<MlsValidationException>(() => RatchetTree.FromNodes([leaf, null, null]));
        Assert.Throws<MlsValidationException>(() => RatchetTree.FromNodes([parent]));
        Assert.Throws<MlsValidationException>(() => RatchetTree.FromNodes([leaf, leaf, leaf]));
        Assert.Throws<MlsDecodeException>(() => RatchetTree.Decode([0x03, 0x01, 0x01]));
    }

    [Fact]
    public void Cached_tree_hashes_match_a_fresh_tree_after_every_change()
    {
        using var group = new TestGroup("a");
        var steps = new List<Action>
        {
            () => group.Commit(0, add: ["b", "c", "d"]),
            () => group.Commit(2, add: ["e"]),
            () => group.Commit(1, remove: [3]),
            () => group.Commit(4, add: ["f", "g"], remove: [2]),
            () => group.Commit(0, remove: [4, 3]),
            () => group.Commit(1),
        };

        foreach (var step in steps)
        {
            step();
            var fresh = RatchetTree.Decode(group.Tree.Encode());
            Assert.Equal(fresh.TreeHash(), group.Tree.TreeHash());
            for (uint i = 0; i < fresh.NodeCount; i++)
            {
                Assert.Equal(fresh.TreeHash(new NodeIndex(i)), group.Tree.TreeHash(new NodeIndex(i)));
            }

            RatchetTreeValidator.Validate(group.Tree, group.GroupId, []);
        }
    }

    [Fact]
    public void Filtered_direct_path_skips_nodes_whose_copath_child_is_empty()
    {
        using var group = new TestGroup("a");
        group.Commit(0, add: ["b", "c", "d", "e"]);

        // Leaves 0..4 in 8 leaves: leaf 4's copath is 5 (blank leaf), 13 (blank subtree), 3.
        var path = group.Tree.FilteredDirectPath(new LeafIndex(4));
        Assert.Equal([(new NodeIndex(7), new NodeIndex(3))], path);
        Assert.Equal(3, group.Tree.FilteredDirectPath(new LeafIndex(0)).Count);
    }

    [Fact]
    public void Serialized_state_round_trips_exactly_and_refuses_unknown_versions()
    {
        using var group = new TestGroup("a");
        group.Commit(0, add: ["b", "c"]);
        var bytes = group.Tree.Serialize();
        var restored = RatchetTree.Deserialize(bytes);
        Assert.Equal(bytes, restored.Serialize());
        Assert.Equal(group.Tree.TreeHash(), restored.TreeHash());

        var wrongVersion = (byte[])bytes.Clone();
        wrongVersion[0] = 2;
        Assert.Equal(MlsDecodeError.UnsupportedVersion, Assert.Throws<MlsDecodeException>(() => RatchetTree.Deserialize(wrongVersion)).Error);
        Assert.Throws<MlsDecodeException>(() => RatchetTree.Deserialize(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<MlsDecodeException>(() => RatchetTree.Deserialize([.. bytes, 0]));
    }
}

/// <summary>Unvalidated hostile trees fail with the library's validation error, not an internal one.</summary>
public class UnvalidatedTreeTests
{
    [Fact]
    public void An_unmerged_leaf_index_beyond_the_tree_is_a_validation_error()
    {
        using var a = new TestClient("a");
        using var b = new TestClient("b");
        var parent = Node.FromParent(new ParentNode { EncryptionKey = new byte[32], ParentHash = Array.Empty<byte>(), UnmergedLeaves = [uint.MaxValue] });
        var tree = RatchetTree.FromNodes([Node.FromLeaf(a.Leaf), parent, Node.FromLeaf(b.Leaf)]);
        Assert.Throws<MlsValidationException>(() => tree.Resolution(new NodeIndex(1)));
        Assert.Throws<MlsValidationException>(() => RatchetTreeValidator.Validate(tree, [1, 2, 3], []));
        Assert.NotEmpty(tree.TreeHash());
    }
}
