using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

public sealed partial class MlsGroup
{
    // RFC 9420 §12.4: the proposal types whose presence requires an UpdatePath.
    private static bool PathRequired(List<(Proposal Proposal, uint Sender)> proposals) =>
        proposals.Count == 0 || proposals.Any(p => p.Proposal.ProposalType is ProposalType.Update or ProposalType.Remove
            or ProposalType.ExternalInit or ProposalType.GroupContextExtensions);

    // RFC 9420 §12.1: the checks of a single proposal against the current epoch.
    private void ValidateProposal(Proposal proposal, uint sender)
    {
        switch (proposal)
        {
            case AddProposal add:
                // RFC 9420 §12.1.1: the KeyPackage MUST be valid (§10.1) and support the group.
                KeyPackages.Validate(_suite, add.KeyPackage, _options.Time.GetUtcNow());
                TreeChecks.LeafFitsGroup(_tree, add.KeyPackage.LeafNode, _context.Extensions);
                break;
            case UpdateProposal update:
                {
                    // RFC 9420 §12.1.2: leaf_node_source update, valid for the sender's leaf, with a new encryption key.
                    var current = _tree.GetLeaf(new LeafIndex(sender)) ?? throw new MlsValidationException("Update from a non-member.");
                    if (update.LeafNode.LeafNodeSource != LeafNodeSource.Update)
                    {
                        throw new MlsValidationException("Update leaf does not have the update source.");
                    }

                    KeyPackages.ValidateLeafAlone(_suite, update.LeafNode, _context.GroupId.Span, sender, null);
                    TreeChecks.LeafFitsGroup(_tree, update.LeafNode, _context.Extensions);
                    if (update.LeafNode.EncryptionKey.Span.SequenceEqual(current.EncryptionKey.Span))
                    {
                        throw new MlsValidationException("Update reuses the current encryption key.");
                    }

                    break;
                }

            case RemoveProposal remove:
                // RFC 9420 §12.1.3: the removed leaf MUST be a member.
                if (_tree.GetLeaf(new LeafIndex(remove.Removed)) is null)
                {
                    throw new MlsValidationException("Remove of a leaf that is not a member.");
                }

                break;
            case PreSharedKeyProposal psk:
                // RFC 9420 §12.1.4: external, or resumption with usage application; the nonce is KDF.Nh bytes.
                if ((psk.Psk.PskType == PskType.Resumption && psk.Psk.Usage != ResumptionPskUsage.Application)
                    || psk.Psk.PskNonce.Length != _suite.HashLength)
                {
                    throw new MlsValidationException("Invalid or unsupported PreSharedKey proposal.");
                }

                break;
            case GroupContextExtensionsProposal gce:
                // RFC 9420 §12.1.7: every member MUST support the new extensions.
                foreach (var (_, leaf) in _tree.Members())
                {
                    TreeChecks.LeafFitsGroup(_tree, leaf, gce.Extensions);
                }

                break;
            default:
                // ReInit and ExternalInit are not supported (ExternalInit is never valid in a member's commit).
                throw new MlsValidationException("Unsupported proposal type.");
        }
    }

    // RFC 9420 §12.2 proposal list validation for a regular (member) commit.
    private void ValidateProposalList(List<(Proposal Proposal, uint Sender)> proposals, LeafIndex committer)
    {
        var touched = new HashSet<uint>();
        var addedKeys = new HashSet<string>(StringComparer.Ordinal);
        var removed = new HashSet<uint>();
        var pskIds = new HashSet<string>(StringComparer.Ordinal);
        var gceCount = 0;
        foreach (var (proposal, sender) in proposals)
        {
            switch (proposal)
            {
                case UpdateProposal:
                    if (sender == committer.Value)
                    {
                        throw new MlsValidationException("A commit contains the committer's own Update.");
                    }

                    if (!touched.Add(sender))
                    {
                        throw new MlsValidationException("Several Update/Remove proposals for one leaf.");
                    }

                    break;
                case RemoveProposal remove:
                    if (remove.Removed == committer.Value)
                    {
                        throw new MlsValidationException("A commit removes the committer.");
                    }

                    if (!touched.Add(remove.Removed))
                    {
                        throw new MlsValidationException("Several Update/Remove proposals for one leaf.");
                    }

                    removed.Add(remove.Removed);
                    break;
                case AddProposal add:
                    if (!addedKeys.Add(Convert.ToHexString(add.KeyPackage.LeafNode.SignatureKey.Span)))
                    {
                        throw new MlsValidationException("Two Add proposals for the same client.");
                    }

                    break;
                case PreSharedKeyProposal psk:
                    if (!pskIds.Add(Convert.ToHexString(psk.Psk.ToBytes())))
                    {
                        throw new MlsValidationException("The same PSK is proposed twice.");
                    }

                    break;
                case GroupContextExtensionsProposal:
                    if (++gceCount > 1)
                    {
                        throw new MlsValidationException("Several GroupContextExtensions proposals.");
                    }

                    break;
                default:
                    throw new MlsValidationException("Unsupported proposal in a commit.");
            }
        }

        // An Add for a client already in the group (same signature key) is invalid unless that member is removed.
        foreach (var (proposal, _) in proposals)
        {
            if (proposal is AddProposal add && _tree.ContainsSignatureKey(add.KeyPackage.LeafNode.SignatureKey.Span))
            {
                var key = add.KeyPackage.LeafNode.SignatureKey;
                var present = _tree.FindLeaf(l => l.SignatureKey.Span.SequenceEqual(key.Span));
                if (present is not { } leaf || !removed.Contains(leaf.Value))
                {
                    throw new MlsValidationException("An Add proposal adds a client already in the group.");
                }
            }
        }
    }

    // RFC 9420 §12.3: GroupContextExtensions, then Updates, Removes, Adds (in order), and the PSK list.
    private AppliedProposals ApplyProposals(RatchetTree tree, List<(Proposal Proposal, uint Sender)> proposals)
    {
        var result = new AppliedProposals { Extensions = _context.Extensions };
        foreach (var (proposal, _) in proposals)
        {
            if (proposal is GroupContextExtensionsProposal gce)
            {
                result.Extensions = gce.Extensions;
            }
        }

        foreach (var (proposal, sender) in proposals)
        {
            if (proposal is UpdateProposal update)
            {
                tree.UpdateLeaf(new LeafIndex(sender), update.LeafNode);
            }
        }

        foreach (var (proposal, _) in proposals)
        {
            if (proposal is RemoveProposal remove)
            {
                tree.RemoveLeaf(new LeafIndex(remove.Removed));
                result.RemovedLeaves.Add(new LeafIndex(remove.Removed));
            }
        }

        foreach (var (proposal, _) in proposals)
        {
            if (proposal is AddProposal add)
            {
                // The new extensions apply to the Adds of the same commit.
                TreeChecks.LeafFitsGroup(tree, add.KeyPackage.LeafNode, result.Extensions);
                result.Added.Add(tree.AddLeaf(add.KeyPackage.LeafNode));
                result.AddedKeyPackages.Add(add.KeyPackage);
            }
            else if (proposal is PreSharedKeyProposal psk)
            {
                result.Psks.Add(psk.Psk);
            }
        }

        // RFC 9420 §12.2: after the proposals, every key in the tree is still unique.
        if (tree.HasDuplicateKeys)
        {
            throw new MlsValidationException("The proposals leave a key twice in the tree.");
        }

        return result;
    }

    private sealed class AppliedProposals
    {
        public required IReadOnlyList<Extension> Extensions { get; set; }

        public List<LeafIndex> Added { get; } = [];

        public List<KeyPackage> AddedKeyPackages { get; } = [];

        public HashSet<LeafIndex> RemovedLeaves { get; } = [];

        public List<PreSharedKeyId> Psks { get; } = [];
    }
}
