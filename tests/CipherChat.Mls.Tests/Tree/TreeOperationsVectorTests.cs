using System.Text.Json;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>tree-operations.json: apply an Add, Update or Remove and compare tree bytes and tree hashes.</summary>
public class TreeOperationsVectorTests
{
    private const string FileName = "tree-operations.json";
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls(FileName));

    public static TheoryData<string> Cases() => TreeVectorData.Cases(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Proposal_applies_to_the_tree(string caseName)
    {
        var v = TreeVectorData.Entry(Vectors.Value, caseName);
        Assert.Equal(1u, v.U32("cipher_suite"));

        var tree = RatchetTree.Decode(v.Hex("tree_before"));
        Assert.Equal(v.Hex("tree_before"), tree.Encode());
        Assert.Equal(v.Hex("tree_hash_before"), tree.TreeHash());

        var proposal = TlsCodec.DecodeExact<Proposal>(v.Hex("proposal"));
        var sender = new LeafIndex(v.U32("proposal_sender"));
        switch (proposal)
        {
            case AddProposal add:
                tree.AddLeaf(add.KeyPackage.LeafNode);
                break;
            case UpdateProposal update:
                tree.UpdateLeaf(sender, update.LeafNode);
                break;
            case RemoveProposal remove:
                tree.RemoveLeaf(new LeafIndex(remove.Removed));
                break;
            default:
                Assert.Fail("Unexpected proposal type " + proposal.ProposalType);
                break;
        }

        Assert.Equal(Convert.ToHexString(v.Hex("tree_after")), Convert.ToHexString(tree.Encode()));
        Assert.Equal(v.Hex("tree_hash_after"), tree.TreeHash());

        // The cached hashes must agree with a tree decoded from scratch.
        Assert.Equal(v.Hex("tree_hash_after"), RatchetTree.Decode(v.Hex("tree_after")).TreeHash());
    }

    [Fact]
    public void All_entries_are_present()
    {
        Assert.Equal(5, Vectors.Value.GetArrayLength());
    }
}
