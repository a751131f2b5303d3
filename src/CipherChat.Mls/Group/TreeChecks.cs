using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

/// <summary>RFC 9420 §12.4.3.1 "verify the integrity of the ratchet tree", run by a joiner.</summary>
internal static class TreeChecks
{
    public static void ValidateForJoin(MlsCipherSuite suite, RatchetTree tree, GroupContext context)
    {
        // The tree hash MUST match the GroupInfo's tree_hash.
        if (!tree.TreeHash().AsSpan().SequenceEqual(context.TreeHash.Span))
        {
            throw new MlsValidationException("Ratchet tree hash differs from the GroupInfo's.");
        }

        // Encryption and signature keys MUST be unique across the tree (§7.3, §12.4.3.1).
        if (tree.HasDuplicateKeys)
        {
            throw new MlsValidationException("Ratchet tree holds a key twice.");
        }

        foreach (var (index, leaf) in tree.Members())
        {
            // Lifetimes are not re-checked for leaves already in a group (their KeyPackage was checked when added).
            KeyPackages.ValidateLeafAlone(suite, leaf, context.GroupId.Span, index.Value, null);
            LeafFitsGroup(tree, leaf, context.Extensions);
        }

        for (uint i = 1; i < tree.NodeCount; i += 2)
        {
            var node = new NodeIndex(i);
            if (tree.GetParent(node) is not { } parent)
            {
                continue;
            }

            foreach (var unmerged in parent.UnmergedLeaves)
            {
                var leafNode = new LeafIndex(unmerged);
                if (unmerged >= tree.LeafCount || tree.GetLeaf(leafNode) is null || !ArrayTree.IsInSubtree(node, leafNode.ToNode()))
                {
                    throw new MlsValidationException("Unmerged leaf is not a member below its parent.");
                }

                // Every non-blank node between the leaf and this parent lists the leaf too.
                for (var between = ArrayTree.Parent(leafNode.ToNode(), tree.LeafCount); between != node; between = ArrayTree.Parent(between, tree.LeafCount))
                {
                    if (tree.GetParent(between) is { } mid && !mid.UnmergedLeaves.Contains(unmerged))
                    {
                        throw new MlsValidationException("Unmerged leaf missing from an intermediate node.");
                    }
                }
            }

            if (!IsParentHashValid(tree, node, parent))
            {
                throw new MlsValidationException("Parent node is not parent-hash valid.");
            }
        }
    }

    /// <summary>
    /// RFC 9420 §7.3 checks of a leaf against the group: it supports the required capabilities and every
    /// credential type in use, and every member supports its credential type.
    /// </summary>
    public static void LeafFitsGroup(RatchetTree tree, LeafNode leaf, IReadOnlyList<Extension> groupExtensions)
    {
        var caps = leaf.Capabilities;
        foreach (var extension in groupExtensions)
        {
            if (extension.ExtensionType == ExtensionType.RequiredCapabilities)
            {
                var required = RequiredCapabilities.FromBytes(extension.ExtensionData.Span);
                if (required.ExtensionTypes.Any(t => !KeyPackages.IsDefaultExtension(t) && !caps.Extensions.Contains(t))
                    || required.ProposalTypes.Any(t => !KeyPackages.IsDefaultProposal(t) && !caps.Proposals.Contains(t))
                    || required.CredentialTypes.Any(t => !caps.Credentials.Contains(t)))
                {
                    throw new MlsValidationException("Leaf does not support the group's required capabilities.");
                }
            }
            else if (!KeyPackages.IsDefaultExtension(extension.ExtensionType) && !caps.Extensions.Contains(extension.ExtensionType))
            {
                throw new MlsValidationException("Leaf does not support a group context extension.");
            }
        }

        foreach (var type in tree.CredentialTypesInUse)
        {
            if (!caps.Credentials.Contains(type))
            {
                throw new MlsValidationException("Leaf does not support a credential type in use in the group.");
            }
        }
    }

    // RFC 9420 §7.9.2: some descendant D in the resolution of a child C carries parent_hash = ParentHash(P, sibling of C),
    // and P's unmerged leaves under C are exactly the rest of C's resolution.
    private static bool IsParentHashValid(RatchetTree tree, NodeIndex node, ParentNode parent)
    {
        foreach (var (child, sibling) in new[] { (ArrayTree.Left(node), ArrayTree.Right(node)), (ArrayTree.Right(node), ArrayTree.Left(node)) })
        {
            var expected = tree.ParentHash(node, sibling);
            var resolution = tree.Resolution(child);
            var unmergedBelow = parent.UnmergedLeaves
                .Where(l => ArrayTree.IsInSubtree(child, new LeafIndex(l).ToNode()))
                .Select(l => new LeafIndex(l).ToNode())
                .ToHashSet();
            foreach (var d in resolution)
            {
                var candidate = tree.GetNode(d)!;
                var hash = candidate.Leaf is { } leaf ? leaf.ParentHash ?? ReadOnlyMemory<byte>.Empty : candidate.Parent!.ParentHash;
                if (!hash.Span.SequenceEqual(expected))
                {
                    continue;
                }

                var rest = resolution.Where(n => n != d).ToHashSet();
                if (rest.SetEquals(unmergedBelow))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
