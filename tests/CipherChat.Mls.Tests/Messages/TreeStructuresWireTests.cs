using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>tree-operations.json and treekem.json, wire side: trees, proposals and update paths round-trip.</summary>
public class TreeStructuresWireTests
{
    public static TheoryData<int> TreeOperations()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TestVectors.LoadMls("tree-operations.json").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    public static TheoryData<int> TreeKem()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TestVectors.LoadMls("treekem.json").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TreeOperations))]
    public void Tree_operation_inputs_round_trip(int index)
    {
        var entry = TestVectors.LoadMls("tree-operations.json")[index];
        foreach (var field in new[] { "tree_before", "tree_after" })
        {
            var tree = entry.Hex(field);
            Assert.Equal(tree, RatchetTreeNodes.FromBytes(tree).ToBytes());
        }

        var proposal = entry.Hex("proposal");
        var decoded = Proposal.FromBytes(proposal);
        Assert.Contains(decoded.ProposalType, new[] { ProposalType.Add, ProposalType.Update, ProposalType.Remove });
        Assert.Equal(proposal, decoded.ToBytes());
    }

    [Theory]
    [MemberData(nameof(TreeKem))]
    public void TreeKem_tree_and_update_paths_round_trip(int index)
    {
        var entry = TestVectors.LoadMls("treekem.json")[index];
        var tree = entry.Hex("ratchet_tree");
        Assert.Equal(tree, RatchetTreeNodes.FromBytes(tree).ToBytes());

        foreach (var update in entry.GetProperty("update_paths").EnumerateArray())
        {
            var bytes = update.Hex("update_path");
            var path = UpdatePath.FromBytes(bytes);
            Assert.Equal(LeafNodeSource.Commit, path.LeafNode.LeafNodeSource);
            Assert.Equal(bytes, path.ToBytes());
        }
    }
}
