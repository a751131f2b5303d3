using CipherChat.Mls.Codec;
using CipherChat.Mls.Messages;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tree;

public sealed partial class RatchetTree
{
    /// <summary>How many node hashes (tree hash inputs) this instance has computed; lets tests check that caching keeps commits O(log n).</summary>
    internal long NodeHashesComputed { get; private set; }

    /// <summary>RFC 9420 §7.8 tree hash of the root: the value of GroupContext.tree_hash.</summary>
    public byte[] TreeHash() => (byte[])TreeHashCached(Root).Clone();

    /// <summary>RFC 9420 §7.8 tree hash of the subtree rooted at <paramref name="node"/>.</summary>
    public byte[] TreeHash(NodeIndex node)
    {
        CheckNode(node);
        return (byte[])TreeHashCached(node).Clone();
    }

    /// <summary>
    /// RFC 9420 §7.9 parent hash of <paramref name="parent"/> with copath child
    /// <paramref name="copathChild"/>: Hash(ParentHashInput) with the original sibling tree hash,
    /// i.e. the tree hash of the copath child with the parent's unmerged leaves blanked.
    /// </summary>
    public byte[] ParentHash(NodeIndex parent, NodeIndex copathChild)
    {
        var node = GetParent(parent) ?? throw new MlsMisuseException("A blank node has no parent hash.");
        CheckNode(copathChild);
        if (copathChild == Root || ArrayTree.Parent(copathChild, LeafCount) != parent)
        {
            throw new MlsMisuseException("The copath child is not a child of the parent.");
        }

        var siblingHash = OriginalSiblingTreeHash(copathChild, node.UnmergedLeaves);
        return ParentHashOf(node, siblingHash);
    }

    /// <summary>
    /// The tree hash of <paramref name="node"/> as it was before the leaves in
    /// <paramref name="unmergedLeaves"/> were added: those leaves blank and absent from every
    /// unmerged_leaves list (RFC 9420 §7.9).
    /// </summary>
    public byte[] OriginalSiblingTreeHash(NodeIndex node, IReadOnlyList<uint> unmergedLeaves)
    {
        ArgumentNullException.ThrowIfNull(unmergedLeaves);
        CheckNode(node);
        HashSet<uint>? excluded = null;
        foreach (var leaf in unmergedLeaves)
        {
            if (leaf < LeafCount && ArrayTree.IsInSubtree(node, new LeafIndex(leaf).ToNode()))
            {
                (excluded ??= []).Add(leaf);
            }
        }

        return excluded is null ? (byte[])TreeHashCached(node).Clone() : TreeHashExcluding(node, excluded);
    }

    internal byte[] ParentHashOf(ParentNode node, ReadOnlySpan<byte> originalSiblingTreeHash)
    {
        var siblingHash = originalSiblingTreeHash.ToArray();
        var input = Encoded(w =>
        {
            w.WriteVector(node.EncryptionKey.Span);
            w.WriteVector(node.ParentHash.Span);
            w.WriteVector(siblingHash);
        });
        return Suite.Hash(input);
    }

    private byte[] TreeHashCached(NodeIndex node)
    {
        var cached = _hashCache[node.Value];
        if (cached is not null)
        {
            return cached;
        }

        byte[] hash;
        if (node.IsLeaf)
        {
            hash = LeafHash(node, _nodes[node.Value]?.Leaf);
        }
        else
        {
            var left = TreeHashCached(ArrayTree.Left(node));
            var right = TreeHashCached(ArrayTree.Right(node));
            hash = ParentTreeHash(_nodes[node.Value]?.Parent, left, right);
        }

        _hashCache[node.Value] = hash;
        return hash;
    }

    private byte[] TreeHashExcluding(NodeIndex node, HashSet<uint> excluded)
    {
        if (!AnyInSubtree(node, excluded))
        {
            return TreeHashCached(node);
        }

        if (node.IsLeaf)
        {
            return LeafHash(node, null);
        }

        var left = TreeHashExcluding(ArrayTree.Left(node), excluded);
        var right = TreeHashExcluding(ArrayTree.Right(node), excluded);
        var parent = _nodes[node.Value]?.Parent;
        if (parent is not null)
        {
            parent = new ParentNode
            {
                EncryptionKey = parent.EncryptionKey,
                ParentHash = parent.ParentHash,
                UnmergedLeaves = [.. parent.UnmergedLeaves.Where(l => !excluded.Contains(l))],
            };
        }

        return ParentTreeHash(parent, left, right);
    }

    private static bool AnyInSubtree(NodeIndex node, HashSet<uint> leaves)
    {
        foreach (var leaf in leaves)
        {
            if (ArrayTree.IsInSubtree(node, new LeafIndex(leaf).ToNode()))
            {
                return true;
            }
        }

        return false;
    }

    // TreeHashInput with node_type leaf: uint32 leaf_index, optional<LeafNode>.
    private byte[] LeafHash(NodeIndex node, LeafNode? leaf)
    {
        NodeHashesComputed++;
        var input = Encoded(w =>
        {
            w.WriteUInt8((byte)NodeType.Leaf);
            w.WriteUInt32(node.Value / 2);
            w.WriteOptional(leaf);
        });
        return Suite.Hash(input);
    }

    // TreeHashInput with node_type parent: optional<ParentNode>, left_hash<V>, right_hash<V>.
    private byte[] ParentTreeHash(ParentNode? parent, byte[] left, byte[] right)
    {
        NodeHashesComputed++;
        var input = Encoded(w =>
        {
            w.WriteUInt8((byte)NodeType.Parent);
            w.WriteOptional(parent);
            w.WriteVector(left);
            w.WriteVector(right);
        });
        return Suite.Hash(input);
    }

    /// <summary>Clears the cached hashes of the node and its ancestors and adjusts their occupancy counts.</summary>
    private void InvalidateHashes(NodeIndex node, int occupiedDelta)
    {
        var leafCount = LeafCount;
        var root = ArrayTree.Root(leafCount);
        while (true)
        {
            _hashCache[node.Value] = null;
            _occupied[node.Value] = (uint)(_occupied[node.Value] + occupiedDelta);
            if (node == root)
            {
                return;
            }

            node = ArrayTree.Parent(node, leafCount);
        }
    }
}
