using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>
/// tree-validation.json, wire side: each tree round-trips, and every leaf's signature verifies
/// over the LeafNodeTBS built here with the vector's group_id and the leaf's index.
/// </summary>
public class TreeValidationWireTests
{
    public static TheoryData<int> Entries()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TestVectors.LoadMls("tree-validation.json").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Tree_round_trips_and_leaf_signatures_verify(int index)
    {
        var entry = TestVectors.LoadMls("tree-validation.json")[index];
        var bytes = entry.Hex("tree");
        var tree = RatchetTreeNodes.FromBytes(bytes);
        Assert.Equal(bytes, tree.ToBytes());
        // The serialized tree omits trailing blank nodes; the hashes cover the full tree.
        Assert.InRange(tree.Nodes.Count, 1, entry.GetProperty("tree_hashes").GetArrayLength());

        var groupId = entry.Hex("group_id");
        var leaves = 0;
        for (var i = 0; i < tree.Nodes.Count; i++)
        {
            var node = tree.Nodes[i];
            if (node is null)
            {
                continue;
            }

            // Array-tree layout: even indices hold leaves, odd ones parents.
            Assert.Equal(i % 2 == 0 ? NodeType.Leaf : NodeType.Parent, node.NodeType);
            if (node.Leaf is { } leaf)
            {
                var tbs = leaf.ToBeSignedBytes(groupId, (uint)(i / 2));
                Assert.True(WireSignatures.Verify(leaf.SignatureKey.Span, "LeafNodeTBS", tbs, leaf.Signature.Span), $"leaf at node {i}");
                leaves++;
            }
        }

        Assert.True(leaves > 0);
    }
}
