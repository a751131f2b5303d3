using System.Numerics;

namespace CipherChat.Mls.TreeMath;

/// <summary>
/// Index arithmetic for the left-balanced binary tree of RFC 9420 §4.1 / Appendix C, stored as an
/// array: leaves at even indexes, a parent's level is the number of trailing one bits.
/// A tree of <c>leafCount</c> leaves (a power of two, RFC 9420 §4.1) has <c>2 * leafCount - 1</c> nodes.
/// </summary>
public static class ArrayTree
{
    /// <summary>The largest leaf count whose node count still fits in a uint.</summary>
    public const uint MaxLeafCount = 1u << 31;

    /// <summary>The level of a node: 0 for leaves, its height above the leaves otherwise.</summary>
    public static int Level(NodeIndex node) => BitOperations.TrailingZeroCount(~node.Value);

    /// <summary>The number of nodes in a tree with <paramref name="leafCount"/> leaves.</summary>
    public static uint NodeCount(uint leafCount)
    {
        CheckLeafCount(leafCount);
        return leafCount == 0 ? 0 : (2 * (leafCount - 1)) + 1;
    }

    /// <summary>The root of a tree with <paramref name="leafCount"/> leaves.</summary>
    public static NodeIndex Root(uint leafCount)
    {
        CheckLeafCount(leafCount);
        if (leafCount == 0)
        {
            throw new MlsMisuseException("An empty tree has no root.");
        }

        var width = NodeCount(leafCount);
        return new NodeIndex((1u << BitOperations.Log2(width)) - 1);
    }

    /// <summary>The left child of a parent node.</summary>
    public static NodeIndex Left(NodeIndex node)
    {
        var k = Level(node);
        if (k == 0)
        {
            throw new MlsMisuseException("A leaf has no children.");
        }

        return new NodeIndex(node.Value ^ (1u << (k - 1)));
    }

    /// <summary>The right child of a parent node.</summary>
    public static NodeIndex Right(NodeIndex node)
    {
        var k = Level(node);
        if (k == 0)
        {
            throw new MlsMisuseException("A leaf has no children.");
        }

        return new NodeIndex(node.Value ^ (3u << (k - 1)));
    }

    /// <summary>The parent of a non-root node in a tree with <paramref name="leafCount"/> leaves.</summary>
    public static NodeIndex Parent(NodeIndex node, uint leafCount)
    {
        CheckNode(node, leafCount);
        if (node == Root(leafCount))
        {
            throw new MlsMisuseException("The root has no parent.");
        }

        var k = Level(node);
        var b = (node.Value >> (k + 1)) & 1;
        return new NodeIndex((node.Value | (1u << k)) ^ (b << (k + 1)));
    }

    /// <summary>The other child of this node's parent.</summary>
    public static NodeIndex Sibling(NodeIndex node, uint leafCount)
    {
        var parent = Parent(node, leafCount);
        return node < parent ? Right(parent) : Left(parent);
    }

    /// <summary>The ancestors of a node from its parent up to and including the root (empty for the root).</summary>
    public static NodeIndex[] DirectPath(NodeIndex node, uint leafCount)
    {
        CheckNode(node, leafCount);
        var root = Root(leafCount);
        var path = new List<NodeIndex>(Level(root));
        while (node != root)
        {
            node = Parent(node, leafCount);
            path.Add(node);
        }

        return [.. path];
    }

    /// <summary>The siblings of the node and of each node of its direct path below the root.</summary>
    public static NodeIndex[] Copath(NodeIndex node, uint leafCount)
    {
        var directPath = DirectPath(node, leafCount);
        if (directPath.Length == 0)
        {
            return [];
        }

        var copath = new NodeIndex[directPath.Length];
        copath[0] = Sibling(node, leafCount);
        for (var i = 1; i < directPath.Length; i++)
        {
            copath[i] = Sibling(directPath[i - 1], leafCount);
        }

        return copath;
    }

    /// <summary>The lowest node that is an ancestor of both (a node counts as its own ancestor).</summary>
    public static NodeIndex CommonAncestor(NodeIndex x, NodeIndex y)
    {
        var lx = Level(x) + 1;
        var ly = Level(y) + 1;
        if (lx <= ly && Shift(x.Value, ly) == Shift(y.Value, ly))
        {
            return y;
        }

        if (ly <= lx && Shift(x.Value, lx) == Shift(y.Value, lx))
        {
            return x;
        }

        var xn = x.Value;
        var yn = y.Value;
        var k = 0;
        while (xn != yn)
        {
            xn >>= 1;
            yn >>= 1;
            k++;
        }

        return new NodeIndex((xn << k) + (1u << (k - 1)) - 1);
    }

    /// <summary>The lowest common ancestor of two leaves (their common parent on the direct paths).</summary>
    public static NodeIndex CommonAncestor(LeafIndex a, LeafIndex b) => CommonAncestor(a.ToNode(), b.ToNode());

    /// <summary>True when <paramref name="ancestor"/> is <paramref name="node"/> or lies above it.</summary>
    public static bool IsInSubtree(NodeIndex ancestor, NodeIndex node)
    {
        var k = Level(ancestor);
        var low = (ulong)ancestor.Value - ((1ul << k) - 1);
        var high = (ulong)ancestor.Value + ((1ul << k) - 1);
        return node.Value >= low && node.Value <= high;
    }

    private static uint Shift(uint value, int bits) => bits >= 32 ? 0 : value >> bits;

    /// <summary>RFC 9420 §4.1: every tree is perfect, so its leaf count is a power of two.</summary>
    public static bool IsValidLeafCount(uint leafCount) => leafCount != 0 && leafCount <= MaxLeafCount && BitOperations.IsPow2(leafCount);

    private static void CheckLeafCount(uint leafCount)
    {
        if (leafCount != 0 && !IsValidLeafCount(leafCount))
        {
            throw new MlsMisuseException("Tree leaf count must be a power of two within range.");
        }
    }

    private static void CheckNode(NodeIndex node, uint leafCount)
    {
        if (node.Value >= NodeCount(leafCount))
        {
            throw new MlsMisuseException("Node index outside the tree.");
        }
    }
}
