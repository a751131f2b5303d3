using CipherChat.Mls.Messages;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tree;

/// <summary>
/// The checks a client makes on a ratchet tree it did not build itself, e.g. when joining from a
/// Welcome (RFC 9420 §12.4.3.1 "Verify the integrity of the ratchet tree").
/// </summary>
public static class RatchetTreeValidator
{
    /// <summary>
    /// Validates a tree received for the group described by <paramref name="groupContext"/>: its
    /// root hash, every leaf node, every parent's parent-hash validity and unmerged leaves.
    /// </summary>
    /// <exception cref="MlsValidationException">Any check fails.</exception>
    public static void Validate(RatchetTree tree, GroupContext groupContext, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(groupContext);

        if ((ushort)groupContext.CipherSuite != tree.Suite.Id)
        {
            throw new MlsValidationException("The tree's cipher suite is not the group's.");
        }

        // RFC 9420 §12.4.3.3: the client MUST verify that the root hash matches the GroupContext's tree_hash.
        if (!tree.TreeHash().AsSpan().SequenceEqual(groupContext.TreeHash.Span))
        {
            throw new MlsValidationException("The ratchet tree does not match the group's tree hash.");
        }

        Validate(tree, groupContext.GroupId.Span, groupContext.Extensions, now);
    }

    /// <summary>
    /// Validates every node of <paramref name="tree"/> (without comparing the root hash): leaf nodes
    /// (RFC 9420 §7.3, signatures with <paramref name="groupId"/>), parent-hash validity of every
    /// non-blank parent (§7.9.2), unmerged leaves and uniqueness of keys (§12.4.3.1).
    /// </summary>
    /// <exception cref="MlsValidationException">Any check fails.</exception>
    public static void Validate(RatchetTree tree, ReadOnlySpan<byte> groupId, IReadOnlyList<Extension> groupContextExtensions, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(groupContextExtensions);

        if (tree.MemberCount == 0)
        {
            throw new MlsValidationException("The ratchet tree has no members.");
        }

        foreach (var (index, leaf) in tree.Members())
        {
            // RFC 9420 §12.4.3.1: for each non-empty leaf node, validate the LeafNode (§7.3).
            LeafNodeValidator.Validate(tree, leaf, LeafNodeUse.InTree, index, groupId, groupContextExtensions, now);
        }

        for (uint i = 1; i < tree.NodeCount; i += 2)
        {
            var node = new NodeIndex(i);
            if (tree.GetParent(node) is { } parent)
            {
                CheckParent(tree, node, parent);
            }
        }

        VerifyParentHashes(tree);
    }

    /// <summary>Verifies the signature of every leaf (tree-validation vectors); update and commit leaves with the group id and their index.</summary>
    /// <exception cref="MlsValidationException">A signature does not verify.</exception>
    public static void VerifyLeafSignatures(RatchetTree tree, ReadOnlySpan<byte> groupId)
    {
        ArgumentNullException.ThrowIfNull(tree);
        foreach (var (index, leaf) in tree.Members())
        {
            LeafNodeValidator.VerifySignature(tree.Suite, leaf, index, groupId);
        }
    }

    /// <summary>RFC 9420 §7.9.2: every non-blank parent node MUST be parent-hash valid.</summary>
    /// <exception cref="MlsValidationException">Some parent node is not.</exception>
    public static void VerifyParentHashes(RatchetTree tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        for (uint i = 1; i < tree.NodeCount; i += 2)
        {
            var node = new NodeIndex(i);
            if (!tree.IsBlank(node) && !IsParentHashValid(tree, node))
            {
                // RFC 9420 §7.9.2: when joining, each non-blank parent node MUST be parent-hash valid.
                throw new MlsValidationException("A parent node is not parent-hash valid.");
            }
        }
    }

    /// <summary>
    /// True when exactly one descendant D of <paramref name="parent"/> carries the parent hash of
    /// <paramref name="parent"/> (RFC 9420 §7.9.2, checked top down): D is in the resolution of a
    /// child C, D.parent_hash is the parent hash with copath child S (the other child), and the
    /// rest of C's resolution is exactly the parent's unmerged leaves under C.
    /// </summary>
    public static bool IsParentHashValid(RatchetTree tree, NodeIndex parent)
    {
        ArgumentNullException.ThrowIfNull(tree);
        var node = tree.GetParent(parent) ?? throw new MlsMisuseException("A blank node is not parent-hash valid.");
        var left = ArrayTree.Left(parent);
        var right = ArrayTree.Right(parent);
        var matches = CountMatches(tree, parent, node, left, right) + CountMatches(tree, parent, node, right, left);
        return matches == 1;
    }

    private static int CountMatches(RatchetTree tree, NodeIndex parent, ParentNode node, NodeIndex child, NodeIndex sibling)
    {
        var resolution = tree.Resolution(child);
        if (resolution.Count == 0)
        {
            return 0;
        }

        var expected = tree.ParentHash(parent, sibling);
        var unmergedUnderChild = new HashSet<uint>();
        foreach (var leaf in node.UnmergedLeaves)
        {
            if (leaf < tree.LeafCount && ArrayTree.IsInSubtree(child, new LeafIndex(leaf).ToNode()))
            {
                unmergedUnderChild.Add(new LeafIndex(leaf).ToNode().Value);
            }
        }

        var matches = 0;
        foreach (var candidate in resolution)
        {
            if (!StoredParentHash(tree, candidate).Span.SequenceEqual(expected))
            {
                continue;
            }

            var rest = new HashSet<uint>(resolution.Where(n => n != candidate).Select(n => n.Value));
            if (rest.SetEquals(unmergedUnderChild) && rest.Count == resolution.Count - 1)
            {
                matches++;
            }
        }

        return matches;
    }

    private static ReadOnlyMemory<byte> StoredParentHash(RatchetTree tree, NodeIndex node)
    {
        var value = tree.GetNode(node);
        if (value?.Leaf is { } leaf)
        {
            // Only a leaf set by a commit carries a parent hash.
            return leaf.LeafNodeSource == LeafNodeSource.Commit && leaf.ParentHash is { } hash ? hash : ReadOnlyMemory<byte>.Empty;
        }

        return value?.Parent?.ParentHash ?? ReadOnlyMemory<byte>.Empty;
    }

    private static void CheckParent(RatchetTree tree, NodeIndex index, ParentNode parent)
    {
        // RFC 9420 §12.4.3.1: the encryption key of a parent node MUST NOT appear in any other node.
        if (tree.EncryptionKeyCount(parent.EncryptionKey) != 1)
        {
            throw new MlsValidationException("A parent node's encryption key appears elsewhere in the tree.");
        }

        var seen = new HashSet<uint>();
        foreach (var leaf in parent.UnmergedLeaves)
        {
            if (!seen.Add(leaf))
            {
                throw new MlsValidationException("A parent node lists an unmerged leaf twice.");
            }

            // RFC 9420 §12.4.3.1: an unmerged leaf MUST be a non-blank leaf below the parent node.
            if (leaf >= tree.LeafCount || tree.GetLeaf(new LeafIndex(leaf)) is null
                || !ArrayTree.IsInSubtree(index, new LeafIndex(leaf).ToNode()))
            {
                throw new MlsValidationException("An unmerged leaf is blank or not below its parent node.");
            }

            // RFC 9420 §12.4.3.1: every non-blank node between the leaf and the parent MUST also list it.
            foreach (var between in ArrayTree.DirectPath(new LeafIndex(leaf).ToNode(), tree.LeafCount))
            {
                if (between == index)
                {
                    break;
                }

                if (tree.GetParent(between) is { } intermediate && !intermediate.UnmergedLeaves.Contains(leaf))
                {
                    throw new MlsValidationException("An unmerged leaf is missing from an intermediate node.");
                }
            }
        }
    }
}
