using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tree;

/// <summary>Where a LeafNode was received; decides the expected leaf_node_source and the signature context.</summary>
public enum LeafNodeUse
{
    /// <summary>A leaf already in a ratchet tree (joining, or checking a tree): any source.</summary>
    InTree,

    /// <summary>The leaf of a KeyPackage (Add proposal): source key_package.</summary>
    KeyPackage,

    /// <summary>The leaf of an Update proposal: source update.</summary>
    Update,

    /// <summary>The leaf of a Commit's UpdatePath: source commit.</summary>
    Commit,
}

/// <summary>
/// RFC 9420 §7.3 leaf node validation against a ratchet tree. Credential validation (whether the
/// identity is acceptable) is the application's, not done here.
/// </summary>
public static class LeafNodeValidator
{
    /// <summary>Extension types every client supports without listing them (RFC 9420 §7.2).</summary>
    private const ushort LastDefaultExtensionType = 0x0005;

    /// <summary>Proposal types every client supports without listing them (RFC 9420 §7.2).</summary>
    private const ushort LastDefaultProposalType = 0x0007;

    /// <summary>
    /// Validates <paramref name="leaf"/> for use at <paramref name="index"/> in <paramref name="tree"/>.
    /// </summary>
    /// <param name="tree">The tree the leaf is (or will be) in, for uniqueness and credential checks.</param>
    /// <param name="leaf">The leaf node.</param>
    /// <param name="use">Where the leaf was received.</param>
    /// <param name="index">
    /// The leaf's position: for <see cref="LeafNodeUse.Update"/> and <see cref="LeafNodeUse.Commit"/>
    /// the sender's leaf (signature context, and the leaf being replaced, whose keys do not count
    /// as duplicates); for <see cref="LeafNodeUse.InTree"/> the leaf's own index; null for a
    /// KeyPackage leaf not yet in the tree.
    /// </param>
    /// <param name="groupId">The group id, signed by update and commit leaves.</param>
    /// <param name="groupContextExtensions">The group's extensions, for required_capabilities.</param>
    /// <param name="now">When set, the lifetime of a key_package leaf is checked against this time.</param>
    /// <exception cref="MlsValidationException">The leaf is not valid.</exception>
    public static void Validate(
        RatchetTree tree,
        LeafNode leaf,
        LeafNodeUse use,
        LeafIndex? index,
        ReadOnlySpan<byte> groupId,
        IReadOnlyList<Extension> groupContextExtensions,
        DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(leaf);
        ArgumentNullException.ThrowIfNull(groupContextExtensions);

        CheckSource(leaf, use);
        VerifySignature(tree.Suite, leaf, index, groupId);
        CheckCapabilities(tree, leaf, index, groupContextExtensions);
        CheckLifetime(leaf, now);
        CheckUniqueness(tree, leaf, use, index);
    }

    /// <summary>Verifies the LeafNode signature (RFC 9420 §7.2 LeafNodeTBS); update and commit leaves sign the group id and their index.</summary>
    /// <exception cref="MlsValidationException">The signature does not verify.</exception>
    public static void VerifySignature(MlsCipherSuite suite, LeafNode leaf, LeafIndex? index, ReadOnlySpan<byte> groupId)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(leaf);
        byte[] tbs;
        if (leaf.LeafNodeSource == LeafNodeSource.KeyPackage)
        {
            tbs = leaf.ToBeSignedBytes();
        }
        else
        {
            if (index is null)
            {
                throw new MlsMisuseException("An update or commit leaf is verified with its leaf index.");
            }

            tbs = leaf.ToBeSignedBytes(groupId, index.Value.Value);
        }

        // RFC 9420 §7.3: verify that the signature on the LeafNode is valid using signature_key.
        if (!suite.VerifyWithLabel(leaf.SignatureKey.Span, "LeafNodeTBS", tbs, leaf.Signature.Span))
        {
            throw new MlsValidationException("Leaf node signature is invalid.");
        }
    }

    private static void CheckSource(LeafNode leaf, LeafNodeUse use)
    {
        var expected = use switch
        {
            LeafNodeUse.KeyPackage => LeafNodeSource.KeyPackage,
            LeafNodeUse.Update => LeafNodeSource.Update,
            LeafNodeUse.Commit => LeafNodeSource.Commit,
            _ => leaf.LeafNodeSource,
        };

        // RFC 9420 §7.3: leaf_node_source MUST be key_package in a KeyPackage, update in an Update, commit in an UpdatePath.
        if (leaf.LeafNodeSource != expected)
        {
            throw new MlsValidationException("Leaf node source does not match where the leaf was received.");
        }
    }

    private static void CheckCapabilities(RatchetTree tree, LeafNode leaf, LeafIndex? index, IReadOnlyList<Extension> groupContextExtensions)
    {
        var capabilities = leaf.Capabilities;

        // RFC 9420 §7.2: the credential type used in the LeafNode MUST be included in capabilities.credentials.
        if (!capabilities.Credentials.Contains(leaf.Credential.CredentialType))
        {
            throw new MlsValidationException("Leaf node does not list its own credential type.");
        }

        // RFC 9420 §7.2: non-default extensions in the LeafNode MUST be listed in capabilities.extensions.
        foreach (var extension in leaf.Extensions)
        {
            if ((ushort)extension.ExtensionType > LastDefaultExtensionType && !capabilities.Extensions.Contains(extension.ExtensionType))
            {
                throw new MlsValidationException("Leaf node carries an extension it does not list as supported.");
            }
        }

        // RFC 9420 §7.3 / §11.1: required extensions, proposals and credential types MUST be listed.
        foreach (var extension in groupContextExtensions)
        {
            if (extension.ExtensionType != ExtensionType.RequiredCapabilities)
            {
                continue;
            }

            RequiredCapabilities required;
            try
            {
                required = Codec.TlsCodec.DecodeExact<RequiredCapabilities>(extension.ExtensionData.Span);
            }
            catch (MlsDecodeException e)
            {
                throw new MlsValidationException("The group's required_capabilities extension is malformed.", e);
            }

            if (required.ExtensionTypes.Any(t => (ushort)t > LastDefaultExtensionType && !capabilities.Extensions.Contains(t))
                || required.ProposalTypes.Any(t => (ushort)t > LastDefaultProposalType && !capabilities.Proposals.Contains(t))
                || required.CredentialTypes.Any(t => !capabilities.Credentials.Contains(t)))
            {
                throw new MlsValidationException("Leaf node does not support the group's required capabilities.");
            }
        }

        // RFC 9420 §7.3: the credential type MUST be supported by all members, and this leaf MUST
        // support every credential type in use. The leaf being replaced (or checked) does not count.
        var current = index is { } i ? tree.GetLeaf(i) : null;
        foreach (var inUse in tree.CredentialTypesInUse)
        {
            var usedByOthers = tree.CredentialInUseCount(inUse) - (current?.Credential.CredentialType == inUse ? 1 : 0);
            if (usedByOthers > 0 && !capabilities.Credentials.Contains(inUse))
            {
                throw new MlsValidationException("Leaf node does not support a credential type in use in the group.");
            }
        }

        var type = leaf.Credential.CredentialType;
        var others = tree.MemberCount - (current is null ? 0u : 1u);
        var othersSupporting = tree.CredentialSupportCount(type) - (current?.Capabilities.Credentials.Contains(type) == true ? 1u : 0u);
        if (othersSupporting != others)
        {
            throw new MlsValidationException("Not every member supports the leaf node's credential type.");
        }
    }

    private static void CheckLifetime(LeafNode leaf, DateTimeOffset? now)
    {
        if (now is null || leaf.LeafNodeSource != LeafNodeSource.KeyPackage)
        {
            return;
        }

        var lifetime = leaf.Lifetime ?? throw new MlsValidationException("A key_package leaf node has no lifetime.");
        var seconds = now.Value.ToUnixTimeSeconds();

        // RFC 9420 §7.3: the current time should be within the lifetime (MUST for leaves the client sends).
        if (seconds < 0 || (ulong)seconds < lifetime.NotBefore || (ulong)seconds > lifetime.NotAfter)
        {
            throw new MlsValidationException("Leaf node lifetime does not cover the current time.");
        }
    }

    private static void CheckUniqueness(RatchetTree tree, LeafNode leaf, LeafNodeUse use, LeafIndex? index)
    {
        // Keys of the node being replaced (or of the leaf itself, when checking a tree) do not count.
        var current = index is { } i ? tree.GetLeaf(i) : null;
        var sameEncryption = current is not null && current.EncryptionKey.Span.SequenceEqual(leaf.EncryptionKey.Span) ? 1 : 0;
        var sameSignature = current is not null && current.SignatureKey.Span.SequenceEqual(leaf.SignatureKey.Span) ? 1 : 0;

        if (use is LeafNodeUse.Update or LeafNodeUse.Commit && sameEncryption == 1)
        {
            // RFC 9420 §7.3 / §12.4.2: the new encryption_key MUST differ from the one it replaces.
            throw new MlsValidationException("Leaf node does not change the encryption key it replaces.");
        }

        // RFC 9420 §7.3: signature_key and encryption_key MUST be unique among the members of the group.
        if (tree.EncryptionKeyCount(leaf.EncryptionKey) > sameEncryption)
        {
            throw new MlsValidationException("Leaf node encryption key is already used in the tree.");
        }

        if (tree.SignatureKeyCount(leaf.SignatureKey) > sameSignature)
        {
            throw new MlsValidationException("Leaf node signature key is already used in the tree.");
        }
    }
}
