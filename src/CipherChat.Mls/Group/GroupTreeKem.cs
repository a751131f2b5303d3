using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Group;

/// <summary>
/// The private HPKE keys a member holds for nodes of the ratchet tree: its own leaf and the nodes of its
/// direct path it learned path secrets for. A key counts only while the node's public key still matches.
/// </summary>
internal sealed class GroupPathKeys : IDisposable
{
    private readonly SortedDictionary<uint, HpkeKeyPair> _keys = [];

    public IEnumerable<KeyValuePair<uint, HpkeKeyPair>> All => _keys;

    public void Set(NodeIndex node, HpkeKeyPair pair)
    {
        if (_keys.Remove(node.Value, out var old))
        {
            old.Dispose();
        }

        _keys[node.Value] = pair;
    }

    /// <summary>The key pair for <paramref name="node"/> if it still matches the node's public key.</summary>
    public HpkeKeyPair? Find(RatchetTree tree, NodeIndex node)
    {
        if (!_keys.TryGetValue(node.Value, out var pair) || node.Value >= tree.NodeCount)
        {
            return null;
        }

        var current = tree.GetNode(node);
        var publicKey = current?.Leaf?.EncryptionKey ?? current?.Parent?.EncryptionKey;
        return publicKey is { } key && key.Span.SequenceEqual(pair.PublicKey) ? pair : null;
    }

    /// <summary>Drops and wipes every key that no longer matches its node (RFC 9420 §9.2 deletion of unused keys).</summary>
    public void Prune(RatchetTree tree)
    {
        foreach (var node in _keys.Keys.ToList())
        {
            if (Find(tree, new NodeIndex(node)) is null)
            {
                _keys.Remove(node, out var stale);
                stale!.Dispose();
            }
        }
    }

    public GroupPathKeys Clone()
    {
        var copy = new GroupPathKeys();
        foreach (var (node, pair) in _keys)
        {
            copy._keys[node] = new HpkeKeyPair(pair.PrivateKey.Clone(), pair.PublicKey);
        }

        return copy;
    }

    public void Dispose()
    {
        foreach (var pair in _keys.Values)
        {
            pair.Dispose();
        }

        _keys.Clear();
    }
}

/// <summary>
/// RFC 9420 §7.4–7.6, §7.9: creating, merging and decrypting UpdatePaths, as the group uses them. The Tree
/// folder's <see cref="Tree.TreeKem"/> offers the same operations behind a broader API; the group can move to it.
/// </summary>
internal static class GroupTreeKem
{
    private const string UpdatePathLabel = "UpdatePathNode";

    /// <summary>
    /// Replaces the committer's leaf and filtered direct path in <paramref name="tree"/> with fresh keys and
    /// parent hashes, and returns the UpdatePath. The path secrets are encrypted once
    /// <paramref name="encryptPath"/> is called with the provisional group context (which needs the new tree hash).
    /// </summary>
    public static (LeafNode Leaf, List<(NodeIndex Node, HpkeKeyPair Pair, Secret PathSecret)> Nodes, Secret CommitSecret) Prepare(
        MlsCipherSuite suite, RatchetTree tree, LeafIndex own, LeafNode template, Secret signer, ReadOnlySpan<byte> groupId, GroupPathKeys keys)
    {
        // RFC 9420 §7.5: blank the direct path, then derive path secrets up the filtered direct path.
        tree.BlankDirectPath(own);
        var filtered = tree.FilteredDirectPath(own);
        var nodes = new List<(NodeIndex, HpkeKeyPair, Secret)>(filtered.Count);
        var pathSecret = new Secret(System.Security.Cryptography.RandomNumberGenerator.GetBytes(suite.HashLength));
        foreach (var (node, _) in filtered)
        {
            using var nodeSecret = suite.DeriveSecret(pathSecret, "node");
            nodes.Add((node, suite.DeriveHpkeKeyPair(nodeSecret), pathSecret));
            pathSecret = suite.DeriveSecret(pathSecret, "path");
        }

        var commitSecret = pathSecret;

        // Parent hashes top-down: each node's parent_hash is the hash of the next node up the filtered path.
        ReadOnlyMemory<byte> parentHash = ReadOnlyMemory<byte>.Empty;
        for (var i = filtered.Count - 1; i >= 0; i--)
        {
            var (node, copath) = filtered[i];
            tree.SetNode(node, Node.FromParent(new ParentNode { EncryptionKey = nodes[i].Item2.PublicKey, ParentHash = parentHash }));
            parentHash = tree.ParentHash(node, copath);
        }

        var leafKey = suite.GenerateHpkeKeyPair();
        var leaf = KeyPackages.SignLeaf(suite, new LeafNode
        {
            EncryptionKey = leafKey.PublicKey,
            SignatureKey = template.SignatureKey,
            Credential = template.Credential,
            Capabilities = template.Capabilities,
            LeafNodeSource = LeafNodeSource.Commit,
            ParentHash = parentHash,
            Extensions = template.Extensions,
            Signature = ReadOnlyMemory<byte>.Empty,
        }, signer, groupId, own.Value);
        tree.SetNode(own.ToNode(), Node.FromLeaf(leaf));

        keys.Set(own.ToNode(), leafKey);
        foreach (var (node, pair, _) in nodes)
        {
            keys.Set(node, new HpkeKeyPair(pair.PrivateKey.Clone(), pair.PublicKey));
        }

        return (leaf, nodes, commitSecret);
    }

    /// <summary>Encrypts each path secret to the resolution of its copath child, new members excluded.</summary>
    public static UpdatePath Encrypt(
        MlsCipherSuite suite,
        RatchetTree tree,
        LeafIndex own,
        LeafNode leaf,
        List<(NodeIndex Node, HpkeKeyPair Pair, Secret PathSecret)> nodes,
        IReadOnlySet<LeafIndex> added,
        ReadOnlySpan<byte> provisionalContext)
    {
        var filtered = tree.FilteredDirectPath(own);
        var pathNodes = new List<UpdatePathNode>(nodes.Count);
        for (var i = 0; i < nodes.Count; i++)
        {
            var ciphertexts = new List<HpkeCiphertext>();
            foreach (var target in tree.Resolution(filtered[i].CopathChild, added))
            {
                var node = tree.GetNode(target)!;
                var publicKey = node.Leaf?.EncryptionKey ?? node.Parent!.EncryptionKey;
                var (kem, ct) = suite.EncryptWithLabel(publicKey.Span, UpdatePathLabel, provisionalContext, nodes[i].PathSecret.Span);
                ciphertexts.Add(new HpkeCiphertext { KemOutput = kem, Ciphertext = ct });
            }

            pathNodes.Add(new UpdatePathNode { EncryptionKey = nodes[i].Pair.PublicKey, EncryptedPathSecret = ciphertexts });
        }

        return new UpdatePath { LeafNode = leaf, Nodes = pathNodes };
    }

    /// <summary>
    /// RFC 9420 §7.5 merge on the receiving side: blanks the sender's direct path, sets the new parent nodes with
    /// recomputed parent hashes and the new leaf, and checks the leaf's parent_hash (§7.9.2).
    /// </summary>
    public static void Merge(RatchetTree tree, LeafIndex sender, UpdatePath path)
    {
        tree.BlankDirectPath(sender);
        var filtered = tree.FilteredDirectPath(sender);

        // RFC 9420 §7.6: the UpdatePath has one node per entry of the sender's filtered direct path.
        if (filtered.Count != path.Nodes.Count)
        {
            throw new MlsValidationException("UpdatePath length differs from the sender's filtered direct path.");
        }

        ReadOnlyMemory<byte> parentHash = ReadOnlyMemory<byte>.Empty;
        for (var i = filtered.Count - 1; i >= 0; i--)
        {
            var (node, copath) = filtered[i];
            tree.SetNode(node, Node.FromParent(new ParentNode { EncryptionKey = path.Nodes[i].EncryptionKey, ParentHash = parentHash }));
            parentHash = tree.ParentHash(node, copath);
        }

        var leafHash = path.LeafNode.ParentHash ?? ReadOnlyMemory<byte>.Empty;
        if (!leafHash.Span.SequenceEqual(parentHash.Span))
        {
            throw new MlsValidationException("The committer's leaf parent hash does not match the UpdatePath.");
        }

        tree.SetNode(sender.ToNode(), Node.FromLeaf(path.LeafNode));
    }

    /// <summary>
    /// Decrypts the path secret meant for <paramref name="own"/>, derives the keys of the sender's filtered direct
    /// path from there up (checking each against the UpdatePath), stores them and returns the commit secret.
    /// </summary>
    public static Secret Decrypt(
        MlsCipherSuite suite,
        RatchetTree tree,
        LeafIndex sender,
        LeafIndex own,
        UpdatePath path,
        IReadOnlySet<LeafIndex> added,
        ReadOnlySpan<byte> provisionalContext,
        GroupPathKeys keys)
    {
        var filtered = tree.FilteredDirectPath(sender);
        var ownNode = own.ToNode();
        var start = -1;
        for (var i = 0; i < filtered.Count; i++)
        {
            if (ArrayTree.IsInSubtree(filtered[i].CopathChild, ownNode))
            {
                start = i;
                break;
            }
        }

        if (start < 0)
        {
            throw new MlsValidationException("No node of the UpdatePath covers this member.");
        }

        var resolution = tree.Resolution(filtered[start].CopathChild, added);
        var ciphertexts = path.Nodes[start].EncryptedPathSecret;
        if (ciphertexts.Count != resolution.Count)
        {
            throw new MlsValidationException("UpdatePath node has the wrong number of ciphertexts.");
        }

        Secret? pathSecret = null;
        for (var j = 0; j < resolution.Count && pathSecret is null; j++)
        {
            if (keys.Find(tree, resolution[j]) is { } pair)
            {
                var plain = suite.DecryptWithLabel(pair.PrivateKey, UpdatePathLabel, provisionalContext, ciphertexts[j].KemOutput.Span, ciphertexts[j].Ciphertext.Span);
                pathSecret = Secret.Own(plain);
            }
        }

        if (pathSecret is null)
        {
            throw new MlsValidationException("No private key to decrypt the UpdatePath.");
        }

        for (var i = start; i < filtered.Count; i++)
        {
            using (var nodeSecret = suite.DeriveSecret(pathSecret, "node"))
            {
                var pair = suite.DeriveHpkeKeyPair(nodeSecret);

                // RFC 9420 §7.5: the derived public key MUST match the one in the UpdatePath.
                if (!pair.PublicKey.AsSpan().SequenceEqual(path.Nodes[i].EncryptionKey.Span))
                {
                    pair.Dispose();
                    pathSecret.Dispose();
                    throw new MlsValidationException("A path secret does not produce the UpdatePath's public key.");
                }

                keys.Set(filtered[i].Node, pair);
            }

            var next = suite.DeriveSecret(pathSecret, "path");
            pathSecret.Dispose();
            pathSecret = next;
        }

        return pathSecret;
    }

    /// <summary>
    /// A joiner's keys from the GroupSecrets path secret: the secret belongs to the lowest common ancestor of the
    /// joiner and the committer; each further non-blank ancestor gets the next path secret (RFC 9420 §12.4.3.1).
    /// </summary>
    public static void DeriveFromPathSecret(MlsCipherSuite suite, RatchetTree tree, LeafIndex own, LeafIndex signer, Secret pathSecret, GroupPathKeys keys)
    {
        var node = ArrayTree.CommonAncestor(own, signer);
        var secret = pathSecret.Clone();
        try
        {
            while (true)
            {
                if (!tree.IsBlank(node))
                {
                    using (var nodeSecret = suite.DeriveSecret(secret, "node"))
                    {
                        var pair = suite.DeriveHpkeKeyPair(nodeSecret);
                        var expected = tree.GetParent(node)?.EncryptionKey ?? ReadOnlyMemory<byte>.Empty;
                        if (!pair.PublicKey.AsSpan().SequenceEqual(expected.Span))
                        {
                            pair.Dispose();
                            throw new MlsValidationException("The Welcome's path secret does not match the tree.");
                        }

                        keys.Set(node, pair);
                    }

                    var next = suite.DeriveSecret(secret, "path");
                    secret.Dispose();
                    secret = next;
                }

                if (node == tree.Root)
                {
                    break;
                }

                node = ArrayTree.Parent(node, tree.LeafCount);
            }
        }
        finally
        {
            secret.Dispose();
        }
    }
}
