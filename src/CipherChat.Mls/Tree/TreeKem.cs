using System.Security.Cryptography;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tree;

/// <summary>What a committer may change in its leaf node when it sends an UpdatePath (RFC 9420 §7.5).</summary>
public sealed class LeafNodeChanges
{
    public Credential? Credential { get; init; }

    public Capabilities? Capabilities { get; init; }

    public IReadOnlyList<Extension>? Extensions { get; init; }
}

/// <summary>
/// TreeKEM (RFC 9420 §7.4–§7.7): creating an UpdatePath for one's own leaf, and merging and
/// decrypting an UpdatePath received from another member.
/// </summary>
public static class TreeKem
{
    private const string PathLabel = "path";
    private const string UpdatePathNodeLabel = "UpdatePathNode";

    /// <summary>
    /// Creates an UpdatePath for the member holding <paramref name="keys"/> and merges it into
    /// <paramref name="tree"/> (which must already have the commit's proposals applied).
    /// </summary>
    /// <param name="tree">The provisional tree of the next epoch; changed in place.</param>
    /// <param name="keys">The committer's current private keys; not changed.</param>
    /// <param name="signer">The committer's signature key pair; its public key goes into the new leaf.</param>
    /// <param name="groupId">The group id, signed in the new leaf (LeafNodeTBS).</param>
    /// <param name="newMembers">Leaves added by this commit: path secrets are not encrypted to them.</param>
    /// <param name="provisionalContext">
    /// Builds the provisional GroupContext (next epoch, new extensions, old confirmed transcript
    /// hash) from the new tree hash; it is the context of every path secret encryption.
    /// </param>
    /// <param name="changes">Optional new credential, capabilities or extensions for the leaf.</param>
    public static CreatedUpdatePath CreateUpdatePath(
        RatchetTree tree,
        TreePrivateKeys keys,
        SignatureKeyPair signer,
        ReadOnlyMemory<byte> groupId,
        IReadOnlySet<LeafIndex> newMembers,
        Func<byte[], GroupContext> provisionalContext,
        LeafNodeChanges? changes = null)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(newMembers);
        ArgumentNullException.ThrowIfNull(provisionalContext);

        var suite = tree.Suite;
        var me = keys.LeafIndex;
        var oldLeaf = tree.GetLeaf(me) ?? throw new MlsMisuseException("The committer's leaf is blank.");
        var filtered = tree.FilteredDirectPath(me);

        // RFC 9420 §7.4: path_secret[0] is random, path_secret[n] = DeriveSecret(path_secret[n-1], "path").
        var pathSecrets = new List<Secret>(filtered.Count + 1);
        var nodeKeys = new List<HpkeKeyPair>(filtered.Count);
        HpkeKeyPair? leafKeys = null;
        try
        {
            pathSecrets.Add(RandomSecret(suite.HashLength));
            for (var n = 0; n < filtered.Count; n++)
            {
                nodeKeys.Add(TreePrivateKeys.DeriveNodeKeyPair(suite, pathSecrets[n].Span));
                pathSecrets.Add(suite.DeriveSecret(pathSecrets[n], PathLabel));
            }

            // The last entry is path_secret[n+1], the commit secret; the others belong to the nodes.
            var commitSecret = pathSecrets[^1];
            pathSecrets.RemoveAt(pathSecrets.Count - 1);

            // RFC 9420 §7.4: a fresh HPKE key pair for the leaf.
            leafKeys = suite.GenerateHpkeKeyPair();

            var leafParentHash = MergePath(tree, me, filtered, [.. nodeKeys.Select(k => (ReadOnlyMemory<byte>)k.PublicKey)]);

            var unsigned = new LeafNode
            {
                EncryptionKey = leafKeys.PublicKey,
                SignatureKey = signer.PublicKey,
                Credential = changes?.Credential ?? oldLeaf.Credential,
                Capabilities = changes?.Capabilities ?? oldLeaf.Capabilities,
                LeafNodeSource = LeafNodeSource.Commit,
                ParentHash = leafParentHash,
                Extensions = changes?.Extensions ?? oldLeaf.Extensions,
                Signature = ReadOnlyMemory<byte>.Empty,
            };
            var signature = suite.SignWithLabel(signer.PrivateKey, "LeafNodeTBS", unsigned.ToBeSignedBytes(groupId.Span, me.Value));
            var leaf = unsigned.WithSignature(signature);
            tree.SetNode(me.ToNode(), Node.FromLeaf(leaf));

            var treeHash = tree.TreeHash();
            var context = TlsCodec.Encode(provisionalContext(treeHash));

            // RFC 9420 §7.5: encrypt each path secret to every node in the resolution of the copath
            // child, new members excluded, with the provisional GroupContext as context.
            var pathNodes = new UpdatePathNode[filtered.Count];
            for (var n = 0; n < filtered.Count; n++)
            {
                var resolution = tree.Resolution(filtered[n].CopathChild, newMembers);
                var ciphertexts = new HpkeCiphertext[resolution.Count];
                for (var r = 0; r < resolution.Count; r++)
                {
                    var (kemOutput, ciphertext) = suite.EncryptWithLabel(
                        EncryptionKeyOf(tree, resolution[r]).Span, UpdatePathNodeLabel, context, pathSecrets[n].Span);
                    ciphertexts[r] = new HpkeCiphertext { KemOutput = kemOutput, Ciphertext = ciphertext };
                }

                pathNodes[n] = new UpdatePathNode { EncryptionKey = nodeKeys[n].PublicKey, EncryptedPathSecret = ciphertexts };
            }

            var newKeys = TreePrivateKeys.ForLeaf(me, leafKeys.PrivateKey);
            for (var n = 0; n < filtered.Count; n++)
            {
                newKeys.Set(filtered[n].Node, nodeKeys[n]);
            }

            leafKeys.Dispose();
            leafKeys = null;
            nodeKeys.Clear();

            var path = new UpdatePath { LeafNode = leaf, Nodes = pathNodes };
            var secrets = new Dictionary<NodeIndex, Secret>();
            for (var n = 0; n < filtered.Count; n++)
            {
                secrets[filtered[n].Node] = pathSecrets[n];
            }

            pathSecrets.Clear();
            return new CreatedUpdatePath(path, commitSecret, newKeys, secrets, treeHash, context);
        }
        finally
        {
            foreach (var secret in pathSecrets)
            {
                secret.Dispose();
            }

            foreach (var pair in nodeKeys)
            {
                pair.Dispose();
            }

            leafKeys?.Dispose();
        }
    }

    /// <summary>
    /// Validates an UpdatePath from <paramref name="sender"/>, merges it into <paramref name="tree"/>
    /// and decrypts the path secret meant for the holder of <paramref name="keys"/>.
    /// </summary>
    /// <param name="tree">The provisional tree of the next epoch (proposals applied); changed in place, so pass a copy that can be dropped on failure.</param>
    /// <param name="keys">The receiver's current private keys; not changed.</param>
    /// <param name="sender">The committer's leaf.</param>
    /// <param name="path">The received UpdatePath.</param>
    /// <param name="groupId">The group id (signature context of the new leaf).</param>
    /// <param name="newMembers">Leaves added by this commit (excluded from resolutions).</param>
    /// <param name="groupContextExtensions">The next epoch's GroupContext extensions, for leaf validation.</param>
    /// <param name="provisionalContext">Builds the provisional GroupContext from the new tree hash.</param>
    /// <param name="externalJoin">
    /// True for an external commit (RFC 9420 §12.4.3.2): the caller has placed the joiner's leaf
    /// with <c>tree.AddLeaf(path.LeafNode)</c> and passes that index as <paramref name="sender"/>.
    /// </param>
    /// <exception cref="MlsValidationException">The UpdatePath is invalid or cannot be decrypted.</exception>
    public static ProcessedUpdatePath ProcessUpdatePath(
        RatchetTree tree,
        TreePrivateKeys keys,
        LeafIndex sender,
        UpdatePath path,
        ReadOnlyMemory<byte> groupId,
        IReadOnlySet<LeafIndex> newMembers,
        IReadOnlyList<Extension> groupContextExtensions,
        Func<byte[], GroupContext> provisionalContext,
        bool externalJoin = false)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(newMembers);
        ArgumentNullException.ThrowIfNull(groupContextExtensions);
        ArgumentNullException.ThrowIfNull(provisionalContext);

        var suite = tree.Suite;
        var me = keys.LeafIndex;
        if (me == sender || newMembers.Contains(me))
        {
            throw new MlsMisuseException("An UpdatePath is processed by existing members other than its sender.");
        }

        if (externalJoin)
        {
            if (!ReferenceEquals(tree.GetLeaf(sender), path.LeafNode))
            {
                throw new MlsMisuseException("For an external commit, place the UpdatePath's leaf with AddLeaf first.");
            }

            // A joiner replaces no leaf: validate its leaf as if the slot were empty.
            tree.SetNode(sender.ToNode(), null);
        }
        else if (sender.Value >= tree.LeafCount || tree.GetLeaf(sender) is null)
        {
            throw new MlsValidationException("The UpdatePath sender is not a member.");
        }

        if (me.Value >= tree.LeafCount || tree.GetLeaf(me) is null)
        {
            throw new MlsMisuseException("The receiver's leaf is not in the tree.");
        }

        // RFC 9420 §12.4.2: validate the LeafNode (§7.3); its leaf_node_source MUST be commit and its
        // encryption_key MUST differ from the committer's current leaf.
        LeafNodeValidator.Validate(tree, path.LeafNode, LeafNodeUse.Commit, sender, groupId.Span, groupContextExtensions);

        var filtered = tree.FilteredDirectPath(sender);

        // RFC 9420 §7.6: one UpdatePathNode per node of the filtered direct path, in order.
        if (path.Nodes.Count != filtered.Count)
        {
            throw new MlsValidationException("The UpdatePath does not match the sender's filtered direct path.");
        }

        CheckNewKeysAreFresh(tree, path);

        for (var n = 0; n < filtered.Count; n++)
        {
            // RFC 9420 §7.6: exactly one ciphertext per node of the copath child's resolution, new members excluded.
            if (path.Nodes[n].EncryptedPathSecret.Count != tree.Resolution(filtered[n].CopathChild, newMembers).Count)
            {
                throw new MlsValidationException("An UpdatePath node has the wrong number of encrypted path secrets.");
            }
        }

        var leafParentHash = MergePath(tree, sender, filtered, [.. path.Nodes.Select(p => p.EncryptionKey)]);

        // RFC 9420 §7.9.2: the parent_hash of the committer's new leaf MUST match the recomputed value.
        if (path.LeafNode.ParentHash is not { } signedParentHash || !signedParentHash.Span.SequenceEqual(leafParentHash))
        {
            throw new MlsValidationException("The UpdatePath leaf's parent hash is not valid.");
        }

        tree.SetNode(sender.ToNode(), Node.FromLeaf(path.LeafNode));

        var treeHash = tree.TreeHash();
        var context = TlsCodec.Encode(provisionalContext(treeHash));

        // RFC 9420 §7.5: the first node of the filtered direct path whose copath child holds the
        // receiver is the lowest common ancestor; decrypt with a key from that child's resolution.
        var position = -1;
        for (var n = 0; n < filtered.Count; n++)
        {
            if (ArrayTree.IsInSubtree(filtered[n].CopathChild, me.ToNode()))
            {
                position = n;
                break;
            }
        }

        if (position < 0)
        {
            throw new MlsValidationException("The UpdatePath has no node above the receiver.");
        }

        var resolution = tree.Resolution(filtered[position].CopathChild, newMembers);
        var slot = -1;
        Secret? privateKey = null;
        for (var r = 0; r < resolution.Count; r++)
        {
            if (keys.TryGetPrivateKey(resolution[r], out var candidate)
                && EncryptionKeyOf(tree, resolution[r]).Span.SequenceEqual(keys.PublicKey(resolution[r])))
            {
                slot = r;
                privateKey = candidate;
                break;
            }
        }

        if (privateKey is null)
        {
            throw new MlsValidationException("No private key to decrypt the UpdatePath.");
        }

        var encrypted = path.Nodes[position].EncryptedPathSecret[slot];
        var decrypted = suite.DecryptWithLabel(privateKey, UpdatePathNodeLabel, context, encrypted.KemOutput.Span, encrypted.Ciphertext.Span);
        var pathSecret = Secret.Own(decrypted);
        if (pathSecret.Length != suite.HashLength)
        {
            pathSecret.Dispose();
            throw new MlsValidationException("The decrypted path secret has the wrong length.");
        }

        var newKeys = keys.WithoutStaleKeys(tree);
        var current = pathSecret.Clone();
        var done = false;
        try
        {
            for (var n = position; n < filtered.Count; n++)
            {
                var pair = TreePrivateKeys.DeriveNodeKeyPair(suite, current.Span);

                // RFC 9420 §7.5/§12.4.2: the derived public keys MUST match the ones in the UpdatePath.
                if (!pair.PublicKey.AsSpan().SequenceEqual(path.Nodes[n].EncryptionKey.Span))
                {
                    pair.Dispose();
                    throw new MlsValidationException("A derived path key does not match the UpdatePath.");
                }

                newKeys.Set(filtered[n].Node, pair);
                var next = suite.DeriveSecret(current, PathLabel);
                current.Dispose();
                current = next;
            }

            // current is now path_secret[n+1], the commit secret.
            var result = new ProcessedUpdatePath(current, newKeys, pathSecret, filtered[position].Node, treeHash, context);
            done = true;
            return result;
        }
        finally
        {
            if (!done)
            {
                current.Dispose();
                newKeys.Dispose();
                pathSecret.Dispose();
            }
        }
    }

    /// <summary>
    /// Merges an UpdatePath from <paramref name="sender"/> into <paramref name="tree"/> without
    /// decrypting it, for a receiver that holds no key for it (e.g. one this commit removes): checks
    /// its length against the sender's filtered direct path and the new leaf's parent hash (RFC 9420 §7.5, §7.9.2).
    /// </summary>
    /// <exception cref="MlsValidationException">The UpdatePath does not fit the tree.</exception>
    public static void MergeUpdatePath(RatchetTree tree, LeafIndex sender, UpdatePath path)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(path);
        if (sender.Value >= tree.LeafCount)
        {
            throw new MlsValidationException("The UpdatePath sender is not a member.");
        }

        var filtered = tree.FilteredDirectPath(sender);
        if (path.Nodes.Count != filtered.Count)
        {
            throw new MlsValidationException("The UpdatePath does not match the sender's filtered direct path.");
        }

        var leafParentHash = MergePath(tree, sender, filtered, [.. path.Nodes.Select(p => p.EncryptionKey)]);
        if (path.LeafNode.ParentHash is not { } signedParentHash || !signedParentHash.Span.SequenceEqual(leafParentHash))
        {
            throw new MlsValidationException("The UpdatePath leaf's parent hash is not valid.");
        }

        tree.SetNode(sender.ToNode(), Node.FromLeaf(path.LeafNode));
    }

    /// <summary>
    /// The private keys of a member joining from a Welcome (RFC 9420 §12.4.3.1): its leaf key and,
    /// when the Welcome carries a path_secret, the keys of the committer's filtered direct path
    /// from the lowest node above the new member up to the root. Derived public keys must match the tree.
    /// </summary>
    /// <exception cref="MlsValidationException">A key does not match the tree.</exception>
    public static TreePrivateKeys KeysForJoiner(
        RatchetTree tree, LeafIndex me, Secret leafPrivateKey, LeafIndex committer, ReadOnlySpan<byte> pathSecret)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(leafPrivateKey);
        var keys = TreePrivateKeys.ForLeaf(me, leafPrivateKey);
        try
        {
            if (!pathSecret.IsEmpty)
            {
                if (committer.Value >= tree.LeafCount || committer == me)
                {
                    throw new MlsValidationException("The Welcome's committer is not another leaf of the tree.");
                }

                var filtered = tree.FilteredDirectPath(committer);
                var start = -1;
                for (var n = 0; n < filtered.Count; n++)
                {
                    if (ArrayTree.IsInSubtree(filtered[n].Node, me.ToNode()))
                    {
                        start = n;
                        break;
                    }
                }

                if (start < 0)
                {
                    throw new MlsValidationException("The Welcome's path secret has no node above the new member.");
                }

                var current = new Secret(pathSecret);
                try
                {
                    for (var n = start; n < filtered.Count; n++)
                    {
                        keys.Set(filtered[n].Node, TreePrivateKeys.DeriveNodeKeyPair(tree.Suite, current.Span));
                        var next = tree.Suite.DeriveSecret(current, PathLabel);
                        current.Dispose();
                        current = next;
                    }
                }
                finally
                {
                    current.Dispose();
                }
            }

            // RFC 9420 §12.4.3.1: the keys derived from the path secret MUST match the tree.
            keys.CheckConsistency(tree);
            return keys;
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Blanks the sender's direct path, sets the filtered direct path's nodes to the new keys with
    /// empty unmerged leaves, and sets their parent hashes from the root down (RFC 9420 §7.5, §7.9).
    /// Returns the parent hash the sender's leaf must carry.
    /// </summary>
    private static byte[] MergePath(
        RatchetTree tree, LeafIndex sender, IReadOnlyList<(NodeIndex Node, NodeIndex CopathChild)> filtered, ReadOnlyMemory<byte>[] publicKeys)
    {
        tree.BlankDirectPath(sender);
        var parentHash = Array.Empty<byte>();
        for (var n = filtered.Count - 1; n >= 0; n--)
        {
            // The root's parent_hash is empty; below it, each node carries the parent hash of the
            // next node of the filtered direct path with that node's copath child.
            var node = new ParentNode { EncryptionKey = publicKeys[n], ParentHash = parentHash, UnmergedLeaves = [] };
            tree.SetNode(filtered[n].Node, Node.FromParent(node));
            parentHash = tree.ParentHashOf(node, tree.TreeHash(filtered[n].CopathChild));
        }

        return parentHash;
    }

    private static void CheckNewKeysAreFresh(RatchetTree tree, UpdatePath path)
    {
        // RFC 9420 §12.4.2: none of the public keys in the UpdatePath may appear in any node of the new tree.
        var seen = new HashSet<ReadOnlyMemory<byte>>(ByteKeyComparer.Instance) { path.LeafNode.EncryptionKey };
        foreach (var node in path.Nodes)
        {
            if (tree.EncryptionKeyCount(node.EncryptionKey) > 0 || !seen.Add(node.EncryptionKey))
            {
                throw new MlsValidationException("An UpdatePath key is already used in the tree.");
            }
        }
    }

    private static ReadOnlyMemory<byte> EncryptionKeyOf(RatchetTree tree, NodeIndex node)
    {
        var value = tree.GetNode(node) ?? throw new MlsMisuseException("A resolution node is blank.");
        return value.Leaf?.EncryptionKey ?? value.Parent!.EncryptionKey;
    }

    private static Secret RandomSecret(int length)
    {
        var bytes = RandomNumberGenerator.GetBytes(length);
        return Secret.Own(bytes);
    }

}

/// <summary>The outcome of <see cref="TreeKem.CreateUpdatePath"/>. Dispose it once the commit is settled.</summary>
public sealed class CreatedUpdatePath : IDisposable
{
    private readonly Dictionary<NodeIndex, Secret> _pathSecrets;

    internal CreatedUpdatePath(
        UpdatePath path, Secret commitSecret, TreePrivateKeys keys, Dictionary<NodeIndex, Secret> pathSecrets, byte[] treeHash, byte[] context)
    {
        Path = path;
        CommitSecret = commitSecret;
        Keys = keys;
        _pathSecrets = pathSecrets;
        TreeHash = treeHash;
        ProvisionalContext = context;
    }

    /// <summary>The UpdatePath to put in the Commit.</summary>
    public UpdatePath Path { get; }

    /// <summary>commit_secret: path_secret[n+1] (RFC 9420 §12.4.1).</summary>
    public Secret CommitSecret { get; }

    /// <summary>
    /// The committer's private keys for the new epoch. Ownership passes to the caller when it adopts
    /// them (call <see cref="TakeKeys"/>); otherwise they are wiped on dispose.
    /// </summary>
    public TreePrivateKeys Keys { get; private set; }

    /// <summary>The root tree hash of the tree with the path merged.</summary>
    public byte[] TreeHash { get; }

    /// <summary>The encoded provisional GroupContext used as encryption context.</summary>
    public byte[] ProvisionalContext { get; }

    /// <summary>Takes ownership of <see cref="Keys"/>: disposing this object no longer wipes them.</summary>
    public TreePrivateKeys TakeKeys()
    {
        var keys = Keys;
        Keys = null!;
        return keys ?? throw new MlsMisuseException("The keys were already taken.");
    }

    /// <summary>
    /// The path secret a new member needs in its Welcome (RFC 9420 §12.4.3.1): the one of the lowest
    /// node of the committer's filtered direct path above <paramref name="newMember"/>; null if none.
    /// </summary>
    public Secret? PathSecretFor(LeafIndex newMember)
    {
        Secret? best = null;
        var bestLevel = int.MaxValue;
        foreach (var (node, secret) in _pathSecrets)
        {
            var level = ArrayTree.Level(node);
            if (level < bestLevel && ArrayTree.IsInSubtree(node, newMember.ToNode()))
            {
                best = secret;
                bestLevel = level;
            }
        }

        return best;
    }

    public void Dispose()
    {
        CommitSecret.Dispose();
        Keys?.Dispose();
        foreach (var secret in _pathSecrets.Values)
        {
            secret.Dispose();
        }

        _pathSecrets.Clear();
    }
}

/// <summary>The outcome of <see cref="TreeKem.ProcessUpdatePath"/>.</summary>
public sealed class ProcessedUpdatePath : IDisposable
{
    internal ProcessedUpdatePath(Secret commitSecret, TreePrivateKeys keys, Secret pathSecret, NodeIndex decryptedNode, byte[] treeHash, byte[] context)
    {
        CommitSecret = commitSecret;
        Keys = keys;
        PathSecret = pathSecret;
        DecryptedNode = decryptedNode;
        TreeHash = treeHash;
        ProvisionalContext = context;
    }

    /// <summary>commit_secret: path_secret[n+1] (RFC 9420 §12.4.2).</summary>
    public Secret CommitSecret { get; }

    /// <summary>The receiver's private keys for the new epoch (see <see cref="TakeKeys"/>).</summary>
    public TreePrivateKeys Keys { get; private set; }

    /// <summary>The path secret decrypted from the UpdatePath.</summary>
    public Secret PathSecret { get; }

    /// <summary>The node of the sender's filtered direct path whose path secret was decrypted.</summary>
    public NodeIndex DecryptedNode { get; }

    /// <summary>The root tree hash of the tree with the path merged.</summary>
    public byte[] TreeHash { get; }

    /// <summary>The encoded provisional GroupContext used as decryption context.</summary>
    public byte[] ProvisionalContext { get; }

    /// <summary>Takes ownership of <see cref="Keys"/>: disposing this object no longer wipes them.</summary>
    public TreePrivateKeys TakeKeys()
    {
        var keys = Keys;
        Keys = null!;
        return keys ?? throw new MlsMisuseException("The keys were already taken.");
    }

    public void Dispose()
    {
        CommitSecret.Dispose();
        PathSecret.Dispose();
        Keys?.Dispose();
    }
}
