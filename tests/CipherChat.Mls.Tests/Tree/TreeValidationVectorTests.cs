using System.Text.Json;
using CipherChat.Mls.Tests.Support;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>tree-validation.json: resolutions, tree hashes, parent-hash validity and leaf signatures.</summary>
public class TreeValidationVectorTests
{
    private const string FileName = "tree-validation.json";
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls(FileName));

    public static TheoryData<string> Cases() => TreeVectorData.Cases(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resolutions_match(string caseName)
    {
        var v = TreeVectorData.Entry(Vectors.Value, caseName);
        var tree = RatchetTree.Decode(v.Hex("tree"));
        var resolutions = v.GetProperty("resolutions");
        Assert.Equal((int)tree.NodeCount, resolutions.GetArrayLength());
        for (var i = 0; i < resolutions.GetArrayLength(); i++)
        {
            var expected = resolutions[i].EnumerateArray().Select(e => (uint)e.U64()).ToArray();
            var actual = tree.Resolution(new NodeIndex((uint)i)).Select(n => n.Value).ToArray();
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tree_hashes_match(string caseName)
    {
        var v = TreeVectorData.Entry(Vectors.Value, caseName);
        var tree = RatchetTree.Decode(v.Hex("tree"));
        var hashes = v.GetProperty("tree_hashes");
        Assert.Equal((int)tree.NodeCount, hashes.GetArrayLength());
        for (var i = 0; i < hashes.GetArrayLength(); i++)
        {
            Assert.Equal(hashes[i].Hex(), tree.TreeHash(new NodeIndex((uint)i)));
        }
    }
}
