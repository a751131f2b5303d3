using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tree;

/// <summary>
/// A member's private view of the ratchet tree (RFC 9420 §4.2): the HPKE private key of its own
/// leaf and of the parent nodes on its direct path that it knows. Only private keys are kept, not
/// path secrets, so that an old path secret cannot be used to derive newer keys above it.
/// </summary>
/// <remarks>
/// TreeKEM operations never change an existing instance: they return a new one for the next
/// epoch, so that a commit that is not accepted leaves the current keys intact. Dispose the old
/// instance once the new epoch is in use (forward secrecy, RFC 9420 §7.5).
/// </remarks>
public sealed class TreePrivateKeys : IDisposable
{
    /// <summary>Version byte of <see cref="Serialize"/>.</summary>
    public const byte SerializationVersion = 1;

    private readonly SortedDictionary<uint, HpkeKeyPair> _keys = [];
    private bool _disposed;

    private TreePrivateKeys(LeafIndex leaf)
    {
        LeafIndex = leaf;
    }

    /// <summary>The member's own leaf.</summary>
    public LeafIndex LeafIndex { get; }

    /// <summary>The nodes (leaf and parents) whose private key is held, in array order.</summary>
    public IReadOnlyList<NodeIndex> Nodes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return [.. _keys.Keys.Select(k => new NodeIndex(k))];
        }
    }

    /// <summary>A private state with only the leaf key (a new member, or one whose path was blanked).</summary>
    public static TreePrivateKeys ForLeaf(LeafIndex leaf, Secret leafPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(leafPrivateKey);
        var keys = new TreePrivateKeys(leaf);
        keys._keys[leaf.ToNode().Value] = Hpke.DeserializePrivateKey(leafPrivateKey.Span);
        return keys;
    }

    /// <summary>Restores an instance from <see cref="Serialize"/>.</summary>
    /// <exception cref="MlsDecodeException">Malformed bytes or an unknown version.</exception>
    public static TreePrivateKeys Deserialize(ReadOnlySpan<byte> data)
    {
        var reader = new TlsReader(data);
        var version = reader.ReadUInt8();
        if (version != SerializationVersion)
        {
            throw new MlsDecodeException(MlsDecodeError.UnsupportedVersion, "Unknown tree private key state version.");
        }

        var leaf = new LeafIndex(reader.ReadUInt32());
        if (leaf.Value > RatchetTree.MaxLeafCount)
        {
            throw new MlsDecodeException(MlsDecodeError.LimitExceeded, "Leaf index out of range.");
        }

        var keys = new TreePrivateKeys(leaf);
        try
        {
            var entries = reader.ReadVectorReader();
            while (!entries.IsAtEnd)
            {
                var node = entries.ReadUInt32();
                var privateKey = entries.ReadVector();
                if (privateKey.Length != X25519Kem.PrivateKeyLength || node >= 2 * RatchetTree.MaxLeafCount)
                {
                    throw new MlsDecodeException(MlsDecodeError.Malformed, "Malformed tree private key entry.");
                }

                var index = new NodeIndex(node);
                if ((index.IsLeaf && index != leaf.ToNode()) || !ArrayTree.IsInSubtree(index, leaf.ToNode()))
                {
                    throw new MlsDecodeException(MlsDecodeError.Malformed, "Tree private key for a node off the member's path.");
                }

                if (!keys._keys.TryAdd(node, Hpke.DeserializePrivateKey(privateKey)))
                {
                    throw new MlsDecodeException(MlsDecodeError.Malformed, "Duplicate tree private key entry.");
                }
            }

            reader.EnsureEnd();
            if (!keys._keys.ContainsKey(leaf.ToNode().Value))
            {
                throw new MlsDecodeException(MlsDecodeError.Malformed, "Tree private key state has no leaf key.");
            }

            return keys;
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Exact, versioned bytes: version (1), uint32 leaf index, then a vector of
    /// { uint32 node; opaque private_key&lt;V&gt; } in node order. The result holds private keys.
    /// </summary>
    public byte[] Serialize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return RatchetTree.Encoded(w =>
        {
            w.WriteUInt8(SerializationVersion);
            w.WriteUInt32(LeafIndex.Value);
            w.WriteVector(_keys, static (inner, keys) =>
            {
                foreach (var (node, pair) in keys)
                {
                    inner.WriteUInt32(node);
                    inner.WriteVector(pair.PrivateKey.Span);
                }
            });
        });
    }

    /// <summary>The private key of <paramref name="node"/>, if held.</summary>
    public bool TryGetPrivateKey(NodeIndex node, out Secret privateKey)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_keys.TryGetValue(node.Value, out var pair))
        {
            privateKey = pair.PrivateKey;
            return true;
        }

        privateKey = null!;
        return false;
    }

    /// <summary>The public key of the held key at <paramref name="node"/>, if any.</summary>
    public byte[]? PublicKey(NodeIndex node)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _keys.TryGetValue(node.Value, out var pair) ? pair.PublicKey : null;
    }

    /// <summary>
    /// Stores the key pair derived from <paramref name="pathSecret"/> at <paramref name="node"/>
    /// (node_secret = DeriveSecret(path_secret, "node"), RFC 9420 §7.4). Used to load state, e.g.
    /// in the treekem vectors; TreeKEM operations use it internally.
    /// </summary>
    public void SetPathSecret(NodeIndex node, ReadOnlySpan<byte> pathSecret, MlsCipherSuite? suite = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (node.IsLeaf || !ArrayTree.IsInSubtree(node, LeafIndex.ToNode()))
        {
            throw new MlsMisuseException("Path secrets belong to parent nodes above the member's leaf.");
        }

        Set(node, DeriveNodeKeyPair(suite ?? MlsCipherSuite.Default, pathSecret));
    }

    /// <summary>
    /// Checks that every held key belongs to a non-blank node of <paramref name="tree"/> whose
    /// public key matches (the treekem vectors' consistency rule).
    /// </summary>
    /// <exception cref="MlsValidationException">A key is stale or does not match.</exception>
    public void CheckConsistency(RatchetTree tree)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(tree);
        foreach (var (node, pair) in _keys)
        {
            var index = new NodeIndex(node);
            if (node >= tree.NodeCount || !PublicKeyOf(tree, index).Span.SequenceEqual(pair.PublicKey))
            {
                throw new MlsValidationException("A private tree key does not match the public tree.");
            }
        }
    }

    /// <summary>
    /// A copy without the keys of nodes that are now blank or hold another public key (after
    /// proposals blanked them or the tree was truncated). The leaf key is always kept.
    /// </summary>
    public TreePrivateKeys WithoutStaleKeys(RatchetTree tree)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(tree);
        var copy = new TreePrivateKeys(LeafIndex);
        foreach (var (node, pair) in _keys)
        {
            var index = new NodeIndex(node);
            var keep = index == LeafIndex.ToNode()
                || (node < tree.NodeCount && PublicKeyOf(tree, index).Span.SequenceEqual(pair.PublicKey));
            if (keep)
            {
                copy.Set(index, Copy(pair));
            }
        }

        return copy;
    }

    /// <summary>An independent copy.</summary>
    public TreePrivateKeys Clone()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var copy = new TreePrivateKeys(LeafIndex);
        foreach (var (node, pair) in _keys)
        {
            copy._keys[node] = Copy(pair);
        }

        return copy;
    }

    public override string ToString() => $"TreePrivateKeys({LeafIndex}, {_keys.Count} keys)";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        foreach (var pair in _keys.Values)
        {
            pair.Dispose();
        }

        _keys.Clear();
        _disposed = true;
    }

    internal static HpkeKeyPair DeriveNodeKeyPair(MlsCipherSuite suite, ReadOnlySpan<byte> pathSecret)
    {
        using var nodeSecret = suite.DeriveSecret(pathSecret, "node");
        return suite.DeriveHpkeKeyPair(nodeSecret);
    }

    /// <summary>Replaces (and wipes) any key at <paramref name="node"/>.</summary>
    internal void Set(NodeIndex node, HpkeKeyPair pair)
    {
        if (_keys.Remove(node.Value, out var old))
        {
            old.Dispose();
        }

        _keys[node.Value] = pair;
    }

    /// <summary>Drops (and wipes) the key at <paramref name="node"/>, if any.</summary>
    internal void Remove(NodeIndex node)
    {
        if (_keys.Remove(node.Value, out var old))
        {
            old.Dispose();
        }
    }

    private static HpkeKeyPair Copy(HpkeKeyPair pair) => new(pair.PrivateKey.Clone(), pair.PublicKey);

    private static ReadOnlyMemory<byte> PublicKeyOf(RatchetTree tree, NodeIndex node)
    {
        var value = tree.GetNode(node);
        return value?.Leaf?.EncryptionKey ?? value?.Parent?.EncryptionKey ?? ReadOnlyMemory<byte>.Empty;
    }
}
