using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.TreeMath;

public class ArrayTreeTests
{
    private static NodeIndex N(uint value) => new(value);

    [Fact]
    public void Levels_count_trailing_ones()
    {
        Assert.Equal(0, ArrayTree.Level(N(0)));
        Assert.Equal(0, ArrayTree.Level(N(6)));
        Assert.Equal(1, ArrayTree.Level(N(5)));
        Assert.Equal(2, ArrayTree.Level(N(3)));
        Assert.Equal(3, ArrayTree.Level(N(7)));
    }

    [Fact]
    public void Direct_path_and_copath_of_a_leaf_in_eight_leaves()
    {
        // Leaf 2 is node 4: parents 5, 3, 7; siblings 6, 1, 11.
        Assert.Equal(new[] { N(5), N(3), N(7) }, ArrayTree.DirectPath(N(4), 8));
        Assert.Equal(new[] { N(6), N(1), N(11) }, ArrayTree.Copath(N(4), 8));
        Assert.Empty(ArrayTree.DirectPath(N(7), 8));
        Assert.Empty(ArrayTree.Copath(N(7), 8));
        Assert.Empty(ArrayTree.DirectPath(N(0), 1));
    }

    [Fact]
    public void Direct_path_ends_at_the_root_for_every_node()
    {
        for (uint leaves = 1; leaves <= 64; leaves *= 2)
        {
            var root = ArrayTree.Root(leaves);
            for (uint i = 0; i < ArrayTree.NodeCount(leaves); i++)
            {
                var path = ArrayTree.DirectPath(N(i), leaves);
                var copath = ArrayTree.Copath(N(i), leaves);
                Assert.Equal(path.Length, copath.Length);
                if (N(i) != root)
                {
                    Assert.Equal(root, path[^1]);
                }

                Assert.All(path, p => Assert.True(ArrayTree.IsInSubtree(p, N(i))));
                Assert.All(copath, c => Assert.False(ArrayTree.IsInSubtree(c, N(i))));
            }
        }
    }

    [Fact]
    public void Common_ancestor_matches_the_first_shared_node_of_the_direct_paths()
    {
        const uint leaves = 16;
        for (uint a = 0; a < leaves; a++)
        {
            for (uint b = 0; b < leaves; b++)
            {
                var x = new LeafIndex(a).ToNode();
                var y = new LeafIndex(b).ToNode();
                var expected = a == b
                    ? x
                    : new[] { x }.Concat(ArrayTree.DirectPath(x, leaves)).First(n => ArrayTree.IsInSubtree(n, y));
                Assert.Equal(expected, ArrayTree.CommonAncestor(new LeafIndex(a), new LeafIndex(b)));
            }
        }
    }

    [Fact]
    public void Leaf_and_node_indexes_convert()
    {
        Assert.Equal(N(10), new LeafIndex(5).ToNode());
        Assert.Equal(new LeafIndex(5), N(10).ToLeaf());
        Assert.Throws<MlsMisuseException>(() => N(3).ToLeaf());
    }

    [Fact]
    public void Out_of_range_nodes_are_refused()
    {
        Assert.Throws<MlsMisuseException>(() => ArrayTree.Parent(N(15), 8));
        Assert.Throws<MlsMisuseException>(() => ArrayTree.DirectPath(N(15), 8));
        Assert.Throws<MlsMisuseException>(() => ArrayTree.Root(0));
        Assert.Throws<MlsMisuseException>(() => ArrayTree.NodeCount(ArrayTree.MaxLeafCount + 1));
        Assert.Equal(uint.MaxValue, ArrayTree.NodeCount(ArrayTree.MaxLeafCount));
        Assert.Throws<MlsMisuseException>(() => ArrayTree.NodeCount(3));
        Assert.Throws<MlsMisuseException>(() => ArrayTree.Root(6));
        Assert.False(ArrayTree.IsValidLeafCount(0));
        Assert.True(ArrayTree.IsValidLeafCount(1));
        Assert.True(ArrayTree.IsValidLeafCount(64));
    }
}
