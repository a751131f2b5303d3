using CipherChat.Mls.Crypto;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Schedule;

/// <summary>Which of a leaf's two hash ratchets (RFC 9420 §9.1) a key comes from.</summary>
public enum RatchetKind
{
    /// <summary>Proposals and Commits sent as PrivateMessage.</summary>
    Handshake,

    /// <summary>Application messages.</summary>
    Application,
}

/// <summary>Limits on how far out of order a receiver accepts messages.</summary>
public sealed record SecretTreeOptions
{
    /// <summary>The furthest a requested generation may lie beyond the next unused one.</summary>
    public uint MaximumForwardDistance { get; init; } = 1000;

    /// <summary>How many generations behind the newest one a skipped key is kept for late messages.</summary>
    public uint OutOfOrderTolerance { get; init; } = 32;

    public static SecretTreeOptions Default { get; } = new();
}

/// <summary>A message key and nonce for one generation of a ratchet. Dispose wipes both.</summary>
public sealed class RatchetKey : IDisposable
{
    internal RatchetKey(uint generation, Secret key, Secret nonce)
    {
        Generation = generation;
        Key = key;
        Nonce = nonce;
    }

    public uint Generation { get; }

    public Secret Key { get; }

    public Secret Nonce { get; }

    /// <summary>
    /// RFC 9420 §6.3.2: the nonce actually used for a PrivateMessage, with its first four bytes XORed with
    /// the 4-byte reuse_guard.
    /// </summary>
    public byte[] NonceWithReuseGuard(ReadOnlySpan<byte> reuseGuard)
    {
        if (reuseGuard.Length != 4)
        {
            throw new MlsMisuseException("The reuse guard is 4 bytes.");
        }

        var nonce = Nonce.ToArray();
        for (var i = 0; i < 4; i++)
        {
            nonce[i] ^= reuseGuard[i];
        }

        return nonce;
    }

    public override string ToString() => $"RatchetKey(generation {Generation}, ***)";

    public void Dispose()
    {
        Key.Dispose();
        Nonce.Dispose();
    }
}

/// <summary>
/// The RFC 9420 §9 secret tree of one epoch: per-leaf handshake and application hash ratchets derived
/// lazily from the encryption secret. Following the §9.2 deletion schedule, a node's secret is wiped once
/// its children are derived, a leaf's once its ratchets exist, and every key once it has been handed out.
/// Not thread-safe.
/// </summary>
public sealed class SecretTree : IDisposable
{
    private readonly MlsCipherSuite _suite;
    private readonly SecretTreeOptions _options;
    // Sparse: memory grows with the leaves actually used, not with the declared tree size.
    private readonly Dictionary<uint, Secret> _nodes = [];
    private readonly Dictionary<uint, HashRatchet> _handshake = [];
    private readonly Dictionary<uint, HashRatchet> _application = [];
    private bool _disposed;

    public SecretTree(MlsCipherSuite suite, Secret encryptionSecret, uint leafCount, SecretTreeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(encryptionSecret);
        // RFC 9420 §4.1 and §9: the secret tree has the shape of the (perfect) ratchet tree.
        if (!ArrayTree.IsValidLeafCount(leafCount))
        {
            throw new MlsMisuseException("Secret tree leaf count must be a power of two.");
        }

        _suite = suite;
        _options = options ?? SecretTreeOptions.Default;
        LeafCount = leafCount;
        _nodes[ArrayTree.Root(leafCount).Value] = encryptionSecret.Clone();
    }

    public uint LeafCount { get; }

    /// <summary>
    /// The key and nonce for the next message this member sends from <paramref name="leaf"/>.
    /// RFC 9420 §9.1: a key/nonce pair MUST NOT encrypt more than one message, so each call hands out the
    /// next generation and the tree keeps no copy.
    /// </summary>
    public RatchetKey NextSendKey(LeafIndex leaf, RatchetKind kind)
    {
        return Ratchet(leaf, kind).Derive();
    }

    /// <summary>
    /// The key and nonce of <paramref name="generation"/> for a message received from <paramref name="leaf"/>.
    /// Each key is handed out once; a generation already used, older than the tolerance window, or too
    /// far ahead is refused with <see cref="MlsValidationException"/>.
    /// </summary>
    public RatchetKey ReceiveKey(LeafIndex leaf, RatchetKind kind, uint generation)
    {
        return Ratchet(leaf, kind).Get(generation, _options);
    }

    /// <summary>
    /// Fetches the key of <paramref name="generation"/>, runs <paramref name="open"/> with it and deletes the key
    /// only when <paramref name="open"/> succeeds (RFC 9420 §9.2: a value is consumed by a successful
    /// decryption). When it throws <see cref="MlsValidationException"/>, the key stays available, so a forged
    /// message cannot burn the key of the genuine one.
    /// </summary>
    public T OpenWith<T>(LeafIndex leaf, RatchetKind kind, uint generation, Func<RatchetKey, T> open)
    {
        ArgumentNullException.ThrowIfNull(open);
        var ratchet = Ratchet(leaf, kind);
        var key = ratchet.Get(generation, _options);
        var restored = false;
        try
        {
            return open(key);
        }
        catch (MlsValidationException)
        {
            ratchet.Restore(key);
            restored = true;
            throw;
        }
        finally
        {
            if (!restored)
            {
                key.Dispose();
            }
        }
    }

    /// <summary>Writes the secrets the tree still holds, for saving group state (read back by <see cref="ReadState"/>).</summary>
    internal void WriteState(Codec.TlsWriter writer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        writer.WriteUInt32(LeafCount);
        writer.WriteUInt32((uint)_nodes.Count);
        foreach (var (node, secret) in _nodes)
        {
            writer.WriteUInt32(node);
            writer.WriteVector(secret.Span);
        }

        foreach (var ratchets in new[] { _handshake, _application })
        {
            writer.WriteUInt32((uint)ratchets.Count);
            foreach (var (leaf, ratchet) in ratchets)
            {
                writer.WriteUInt32(leaf);
                ratchet.WriteState(writer);
            }
        }
    }

    /// <summary>Rebuilds a tree written by <see cref="WriteState"/>; malformed input throws <see cref="MlsDecodeException"/>.</summary>
    internal static SecretTree ReadState(MlsCipherSuite suite, ref Codec.TlsReader reader, SecretTreeOptions? options)
    {
        var leafCount = reader.ReadUInt32();
        if (!ArrayTree.IsValidLeafCount(leafCount))
        {
            throw new MlsDecodeException(MlsDecodeError.Malformed, "Saved secret tree has an invalid size.");
        }

        var tree = new SecretTree(suite, leafCount, options);
        try
        {
            var nodeCount = reader.ReadUInt32();
            for (uint i = 0; i < nodeCount; i++)
            {
                var node = reader.ReadUInt32();
                if (node >= ArrayTree.NodeCount(leafCount) || tree._nodes.ContainsKey(node))
                {
                    throw new MlsDecodeException(MlsDecodeError.Malformed, "Saved secret tree node is invalid.");
                }

                tree._nodes[node] = new Secret(reader.ReadVector());
            }

            foreach (var ratchets in new[] { tree._handshake, tree._application })
            {
                var count = reader.ReadUInt32();
                for (uint i = 0; i < count; i++)
                {
                    var leaf = reader.ReadUInt32();
                    if (leaf >= leafCount || ratchets.ContainsKey(leaf))
                    {
                        throw new MlsDecodeException(MlsDecodeError.Malformed, "Saved secret tree ratchet is invalid.");
                    }

                    ratchets[leaf] = HashRatchet.ReadState(suite, ref reader);
                }
            }

            return tree;
        }
        catch
        {
            tree.Dispose();
            throw;
        }
    }

    private SecretTree(MlsCipherSuite suite, uint leafCount, SecretTreeOptions? options)
    {
        _suite = suite;
        _options = options ?? SecretTreeOptions.Default;
        LeafCount = leafCount;
    }

    public override string ToString() => $"SecretTree({LeafCount} leaves, ***)";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var node in _nodes.Values)
        {
            node.Dispose();
        }

        foreach (var ratchet in _handshake.Values.Concat(_application.Values))
        {
            ratchet.Dispose();
        }

        _nodes.Clear();
        _handshake.Clear();
        _application.Clear();
    }

    private HashRatchet Ratchet(LeafIndex leaf, RatchetKind kind)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // RFC 9420 §6.3.2: the sender's leaf index MUST be within the tree.
        if (leaf.Value >= LeafCount)
        {
            throw new MlsValidationException("Leaf index outside the secret tree.");
        }

        var ratchets = kind == RatchetKind.Handshake ? _handshake : _application;
        if (!ratchets.TryGetValue(leaf.Value, out var ratchet))
        {
            InitializeLeaf(leaf);
            ratchet = ratchets[leaf.Value];
        }

        return ratchet;
    }

    // Derives the leaf's two ratchets from the closest stored ancestor secret, wiping what is used up.
    private void InitializeLeaf(LeafIndex leaf)
    {
        var target = leaf.ToNode();
        var path = new Stack<NodeIndex>();
        var node = target;
        while (!_nodes.ContainsKey(node.Value))
        {
            path.Push(node);
            node = ArrayTree.Parent(node, LeafCount);
        }

        // Walk down: each ancestor yields both children, then is deleted.
        while (node != target)
        {
            var parentSecret = _nodes[node.Value];
            var left = ArrayTree.Left(node);
            var right = ArrayTree.Right(node);
            _nodes[left.Value] = _suite.ExpandWithLabel(parentSecret, "tree", "left"u8, _suite.HashLength);
            _nodes[right.Value] = _suite.ExpandWithLabel(parentSecret, "tree", "right"u8, _suite.HashLength);
            parentSecret.Dispose();
            _nodes.Remove(node.Value);
            node = path.Pop();
        }

        var leafSecret = _nodes[target.Value];
        _handshake[leaf.Value] = new HashRatchet(_suite, _suite.ExpandWithLabel(leafSecret, "handshake", [], _suite.HashLength));
        _application[leaf.Value] = new HashRatchet(_suite, _suite.ExpandWithLabel(leafSecret, "application", [], _suite.HashLength));
        leafSecret.Dispose();
        _nodes.Remove(target.Value);
    }

    /// <summary>One RFC 9420 §9.1 hash ratchet with a bounded store of skipped keys.</summary>
    private sealed class HashRatchet : IDisposable
    {
        private readonly MlsCipherSuite _suite;
        private readonly SortedDictionary<uint, RatchetKey> _skipped = [];
        private Secret? _secret;
        private uint _next;

        public HashRatchet(MlsCipherSuite suite, Secret secret)
        {
            _suite = suite;
            _secret = secret;
        }

        public RatchetKey Get(uint generation, SecretTreeOptions options)
        {
            if (generation < _next || _secret is null)
            {
                // RFC 9420 §9.2: a key used once is deleted; only still-stored skipped keys remain available.
                if (_skipped.Remove(generation, out var stored))
                {
                    return stored;
                }

                throw new MlsValidationException("Message generation already used or too old.");
            }

            // Bound the work and memory an attacker-chosen generation can cost (RFC 9420 §9.2 lets members
            // keep unconsumed values only for a reasonable amount of time).
            if (generation - _next > options.MaximumForwardDistance)
            {
                throw new MlsValidationException("Message generation too far ahead.");
            }

            while (_next < generation)
            {
                var skipped = Derive();
                if (generation - skipped.Generation <= options.OutOfOrderTolerance)
                {
                    _skipped[skipped.Generation] = skipped;
                }
                else
                {
                    skipped.Dispose();
                }
            }

            var key = Derive();
            Prune(options.OutOfOrderTolerance, generation);
            return key;
        }

        public void WriteState(Codec.TlsWriter writer)
        {
            writer.WriteUInt32(_next);
            writer.WritePresence(_secret is not null);
            if (_secret is not null)
            {
                writer.WriteVector(_secret.Span);
            }

            writer.WriteUInt32((uint)_skipped.Count);
            foreach (var key in _skipped.Values)
            {
                writer.WriteUInt32(key.Generation);
                writer.WriteVector(key.Key.Span);
                writer.WriteVector(key.Nonce.Span);
            }
        }

        public static HashRatchet ReadState(MlsCipherSuite suite, ref Codec.TlsReader reader)
        {
            var next = reader.ReadUInt32();
            var secret = reader.ReadPresence() ? new Secret(reader.ReadVector()) : null;
            var ratchet = new HashRatchet(suite, secret!) { _next = next };
            var count = reader.ReadUInt32();
            if (count > reader.Remaining)
            {
                ratchet.Dispose();
                throw new MlsDecodeException(MlsDecodeError.LimitExceeded, "Saved ratchet lists too many keys.");
            }

            for (uint i = 0; i < count; i++)
            {
                var generation = reader.ReadUInt32();
                var key = new Secret(reader.ReadVector());
                var nonce = new Secret(reader.ReadVector());
                ratchet._skipped[generation] = new RatchetKey(generation, key, nonce);
            }

            return ratchet;
        }

        // Puts back a key whose message failed to decrypt.
        public void Restore(RatchetKey key) => _skipped[key.Generation] = key;

        public void Dispose()
        {
            _secret?.Dispose();
            _secret = null;
            foreach (var key in _skipped.Values)
            {
                key.Dispose();
            }

            _skipped.Clear();
        }

        // ratchet_key/nonce_[j] and ratchet_secret_[j+1] from ratchet_secret_[j]; the old secret is wiped.
        public RatchetKey Derive()
        {
            var secret = _secret ?? throw new MlsValidationException("Hash ratchet exhausted.");
            var generation = _next;
            var key = _suite.DeriveTreeSecret(secret, "key", generation, _suite.AeadKeyLength);
            var nonce = _suite.DeriveTreeSecret(secret, "nonce", generation, _suite.AeadNonceLength);
            if (generation == uint.MaxValue)
            {
                // The generation is a uint32 on the wire; no further generation exists.
                _secret = null;
            }
            else
            {
                _secret = _suite.DeriveTreeSecret(secret, "secret", generation, _suite.HashLength);
                _next = generation + 1;
            }

            secret.Dispose();
            return new RatchetKey(generation, key, nonce);
        }

        private void Prune(uint tolerance, uint newest)
        {
            while (_skipped.Count > 0)
            {
                var oldest = _skipped.Keys.First();
                if (newest - oldest <= tolerance)
                {
                    break;
                }

                _skipped[oldest].Dispose();
                _skipped.Remove(oldest);
            }
        }
    }
}

/// <summary>RFC 9420 §6.3.2 sender-data key and nonce, derived from a sample of the PrivateMessage ciphertext.</summary>
public static class SenderDataKeys
{
    /// <summary>
    /// sender_data_key = ExpandWithLabel(sender_data_secret, "key", ciphertext_sample, AEAD.Nk) and
    /// sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn), where the
    /// sample is the first KDF.Nh bytes of the ciphertext (all of it when shorter).
    /// </summary>
    public static (Secret Key, Secret Nonce) Derive(MlsCipherSuite suite, Secret senderDataSecret, ReadOnlySpan<byte> ciphertext)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(senderDataSecret);
        var sample = ciphertext[..Math.Min(ciphertext.Length, suite.HashLength)];
        var key = suite.ExpandWithLabel(senderDataSecret, "key", sample, suite.AeadKeyLength);
        var nonce = suite.ExpandWithLabel(senderDataSecret, "nonce", sample, suite.AeadNonceLength);
        return (key, nonce);
    }
}
