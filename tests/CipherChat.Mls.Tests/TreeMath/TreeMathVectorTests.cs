using System.Text.Json;
using CipherChat.Mls.Tests.Support;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.TreeMath;

/// <summary>tree-math.json: every entry, every node.</summary>
public class TreeMathVectorTests
{
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls("tree-math.json"));

    public static TheoryData<uint> LeafCounts()
    {
        var data = new TheoryData<uint>();
        foreach (var entry in Vectors.Value.EnumerateArray())
        {
            data.Add(entry.GetProperty("n_leaves").GetUInt32());
        }

        return data;
    }

    [Fact]
    public void All_ten_entries_are_present()
    {
        Assert.Equal(10, Vectors.Value.GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(LeafCounts))]
    public void Tree_math_matches(uint leafCount)
    {
        var v = Assert.Single(Vectors.Value.EnumerateArray(), e => e.GetProperty("n_leaves").GetUInt32() == leafCount);
        var nodeCount = ArrayTree.NodeCount(leafCount);
        Assert.Equal(v.GetProperty("n_nodes").GetUInt32(), nodeCount);
        Assert.Equal(v.GetProperty("root").GetUInt32(), ArrayTree.Root(leafCount).Value);

        var left = v.GetProperty("left");
        var right = v.GetProperty("right");
        var parent = v.GetProperty("parent");
        var sibling = v.GetProperty("sibling");
        Assert.Equal((int)nodeCount, left.GetArrayLength());
        Assert.Equal((int)nodeCount, right.GetArrayLength());
        Assert.Equal((int)nodeCount, parent.GetArrayLength());
        Assert.Equal((int)nodeCount, sibling.GetArrayLength());

        for (uint i = 0; i < nodeCount; i++)
        {
            var node = new NodeIndex(i);
            Check(left[(int)i], () => ArrayTree.Left(node));
            Check(right[(int)i], () => ArrayTree.Right(node));
            Check(parent[(int)i], () => ArrayTree.Parent(node, leafCount));
            Check(sibling[(int)i], () => ArrayTree.Sibling(node, leafCount));
        }
    }

    private static void Check(JsonElement expected, Func<NodeIndex> actual)
    {
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.Throws<MlsMisuseException>(() => actual());
        }
        else
        {
            Assert.Equal(expected.GetUInt32(), actual().Value);
        }
    }
}
