using System.Buffers;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tree;

/// <summary>
/// The public ratchet tree of a group (RFC 9420 §4, §7): an array of optional nodes, leaves at
/// even indexes, always a full tree of 2^d leaves. Tree hashes of subtrees are cached and
/// invalidated along the path of every change, so that a commit costs O(log n) hashes.
/// </summary>
/// <remarks>
/// Mutating methods change the tree in place. Code that may have to roll back (processing a
/// commit that could turn out invalid) works on a <see cref="Clone"/>. Not thread-safe.
/// </remarks>
public sealed partial class RatchetTree
{
    /// <summary>The largest tree this implementation accepts: 2^20 leaves.</summary>
    public const uint MaxLeafCount = 1u << 20;

    private Node?[] _nodes;
    private byte[]?[] _hashCache;

    // The number of non-blank nodes in each node's subtree, so that empty subtrees are found in
    // O(log n) (filtered direct paths, resolutions).
    private uint[] _occupied;

    // Multisets of the keys and capabilities in use, kept up to date by SetNode.
    private readonly ByteKeyCounter _encryptionKeys;
    private readonly ByteKeyCounter _signatureKeys;
    private readonly Dictionary<CredentialType, int> _credentialTypesInUse;
    private readonly Dictionary<CredentialType, int> _credentialTypesSupported;
    private uint _memberCount;

    private RatchetTree(MlsCipherSuite suite, uint leafCount)
    {
        Suite = suite;
        _nodes = new Node?[ArrayTree.NodeCount(leafCount)];
        _hashCache = new byte[]?[_nodes.Length];
        _occupied = new uint[_nodes.Length];
        _encryptionKeys = new ByteKeyCounter();
        _signatureKeys = new ByteKeyCounter();
        _credentialTypesInUse = [];
        _credentialTypesSupported = [];
    }

    private RatchetTree(RatchetTree other)
    {
        Suite = other.Suite;
        _nodes = (Node?[])other._nodes.Clone();
        _hashCache = (byte[]?[])other._hashCache.Clone();
        _occupied = (uint[])other._occupied.Clone();
        _encryptionKeys = other._encryptionKeys.Clone();
        _signatureKeys = other._signatureKeys.Clone();
        _credentialTypesInUse = new Dictionary<CredentialType, int>(other._credentialTypesInUse);
        _credentialTypesSupported = new Dictionary<CredentialType, int>(other._credentialTypesSupported);
        _memberCount = other._memberCount;
    }

    public MlsCipherSuite Suite { get; }

    /// <summary>The width of the tree in leaves (a power of two), blank leaves included.</summary>
    public uint LeafCount => (uint)(_nodes.Length + 1) / 2;

    /// <summary>The number of nodes of the full tree: 2 * <see cref="LeafCount"/> - 1.</summary>
    public uint NodeCount => (uint)_nodes.Length;

    /// <summary>The number of non-blank leaves.</summary>
    public uint MemberCount => _memberCount;

    public NodeIndex Root => ArrayTree.Root(LeafCount);

    /// <summary>A tree with one leaf: the creator of a group.</summary>
    public static RatchetTree Create(LeafNode creator, MlsCipherSuite? suite = null)
    {
        ArgumentNullException.ThrowIfNull(creator);
        var tree = new RatchetTree(suite ?? MlsCipherSuite.Default, 1);
        tree.SetNode(new NodeIndex(0), Node.FromLeaf(creator));
        return tree;
    }

    /// <summary>
    /// Builds a tree from the nodes of a <c>ratchet_tree</c> (RFC 9420 §12.4.3.3). Checks shape only
    /// (node types, last node non-blank, size limits); signatures, parent hashes and the rest are
    /// checked by <see cref="RatchetTreeValidator"/>.
    /// </summary>
    /// <exception cref="MlsValidationException">The node list does not describe a tree.</exception>
    public static RatchetTree FromNodes(IReadOnlyList<Node?> nodes, MlsCipherSuite? suite = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);

        // RFC 9420 §12.4.3.3: the receiver MUST check that the last node in ratchet_tree is non-blank.
        if (nodes.Count == 0 || nodes[^1] is null)
        {
            throw new MlsValidationException("A ratchet tree must end with a non-blank node.");
        }

        var usedLeaves = ((uint)nodes.Count + 1) / 2;
        if (usedLeaves > MaxLeafCount)
        {
            throw new MlsValidationException("The ratchet tree is larger than this implementation accepts.");
        }

        // Extend to the smallest full tree, adding the minimum number of blank nodes.
        uint leafCount = 1;
        while (leafCount < usedLeaves)
        {
            leafCount *= 2;
        }

        var tree = new RatchetTree(suite ?? MlsCipherSuite.Default, leafCount);
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (node is null)
            {
                continue;
            }

            var isLeafPosition = i % 2 == 0;
            if (isLeafPosition != (node.NodeType == NodeType.Leaf))
            {
                throw new MlsValidationException("A ratchet tree node has the wrong type for its position.");
            }

            tree.SetNode(new NodeIndex((uint)i), node);
        }

        return tree;
    }

    /// <summary>Decodes <c>optional&lt;Node&gt; ratchet_tree&lt;V&gt;</c> (the ratchet_tree extension's data).</summary>
    /// <exception cref="MlsDecodeException">Malformed encoding.</exception>
    /// <exception cref="MlsValidationException">Well-formed but not a tree.</exception>
    public static RatchetTree Decode(ReadOnlySpan<byte> ratchetTree, MlsCipherSuite? suite = null)
    {
        var nodes = TlsCodec.DecodeExact<RatchetTreeNodes>(ratchetTree);
        return FromNodes(nodes.Nodes, suite);
    }

    /// <summary>The nodes in array order without trailing blanks, as the ratchet_tree extension carries them.</summary>
    public RatchetTreeNodes ToNodes()
    {
        var last = _nodes.Length - 1;
        while (last >= 0 && _nodes[last] is null)
        {
            last--;
        }

        return new RatchetTreeNodes { Nodes = _nodes[..(last + 1)] };
    }

    /// <summary>Encodes <c>optional&lt;Node&gt; ratchet_tree&lt;V&gt;</c>, trailing blank nodes omitted.</summary>
    public byte[] Encode() => TlsCodec.Encode(ToNodes());

    /// <summary>An independent copy (nodes are immutable and shared; caches and indexes are copied).</summary>
    public RatchetTree Clone() => new(this);

    public Node? GetNode(NodeIndex node)
    {
        CheckNode(node);
        return _nodes[node.Value];
    }

    public bool IsBlank(NodeIndex node) => GetNode(node) is null;

    /// <summary>The leaf node at <paramref name="leaf"/>, or null if blank or outside the tree.</summary>
    public LeafNode? GetLeaf(LeafIndex leaf) => leaf.Value < LeafCount ? _nodes[leaf.Value * 2]?.Leaf : null;

    /// <summary>The parent node at <paramref name="node"/>, or null if blank.</summary>
    public ParentNode? GetParent(NodeIndex node)
    {
        CheckNode(node);
        return _nodes[node.Value]?.Parent;
    }

    /// <summary>The non-blank leaves, in leaf order.</summary>
    public IEnumerable<(LeafIndex Index, LeafNode Leaf)> Members()
    {
        for (uint i = 0; i < LeafCount; i++)
        {
            if (_nodes[i * 2]?.Leaf is { } leaf)
            {
                yield return (new LeafIndex(i), leaf);
            }
        }
    }

    /// <summary>The leftmost leaf whose node satisfies <paramref name="predicate"/>, if any.</summary>
    public LeafIndex? FindLeaf(Func<LeafNode, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        foreach (var (index, leaf) in Members())
        {
            if (predicate(leaf))
            {
                return index;
            }
        }

        return null;
    }

    /// <summary>
    /// RFC 9420 §12.1.1 Add: places <paramref name="leaf"/> in the leftmost blank leaf, extending the
    /// tree when there is none, and adds it to the unmerged leaves of its non-blank ancestors.
    /// </summary>
    /// <returns>The new member's leaf index.</returns>
    public LeafIndex AddLeaf(LeafNode leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        var index = LeftmostBlankLeaf();
        if (index is null)
        {
            var oldCount = LeafCount;
            Extend();
            index = new LeafIndex(oldCount);
        }

        var leafIndex = index.Value;
        foreach (var ancestor in ArrayTree.DirectPath(leafIndex.ToNode(), LeafCount))
        {
            if (_nodes[ancestor.Value]?.Parent is { } parent)
            {
                SetNode(ancestor, Node.FromParent(new ParentNode
                {
                    EncryptionKey = parent.EncryptionKey,
                    ParentHash = parent.ParentHash,
                    UnmergedLeaves = [.. parent.UnmergedLeaves, leafIndex.Value],
                }));
            }
        }

        SetNode(leafIndex.ToNode(), Node.FromLeaf(leaf));
        return leafIndex;
    }

    /// <summary>RFC 9420 §12.1.2 Update: replaces the leaf and blanks its direct path.</summary>
    public void UpdateLeaf(LeafIndex leaf, LeafNode newLeaf)
    {
        ArgumentNullException.ThrowIfNull(newLeaf);
        RequireMember(leaf);
        SetNode(leaf.ToNode(), Node.FromLeaf(newLeaf));
        BlankDirectPath(leaf);
    }

    /// <summary>
    /// RFC 9420 §12.1.3 Remove: blanks the leaf and its direct path, then truncates the tree while
    /// its right half has no non-blank leaf.
    /// </summary>
    public void RemoveLeaf(LeafIndex leaf)
    {
        RequireMember(leaf);
        SetNode(leaf.ToNode(), null);
        BlankDirectPath(leaf);
        Truncate();
    }

    /// <summary>Blanks every node on the direct path of <paramref name="leaf"/> (the leaf itself is kept).</summary>
    public void BlankDirectPath(LeafIndex leaf)
    {
        CheckLeaf(leaf);
        foreach (var node in ArrayTree.DirectPath(leaf.ToNode(), LeafCount))
        {
            SetNode(node, null);
        }
    }

    /// <summary>Removes the right half of the tree while it holds no non-blank leaf (never below one leaf).</summary>
    public void Truncate()
    {
        while (LeafCount > 1)
        {
            var half = LeafCount / 2;
            for (var i = half; i < LeafCount; i++)
            {
                if (_nodes[i * 2] is not null)
                {
                    return;
                }
            }

            // The right subtree's parents may still hold keys (never in a valid tree); drop them
            // through SetNode so the key indexes stay right.
            for (var i = (uint)_nodes.Length / 2; i < (uint)_nodes.Length; i++)
            {
                SetNode(new NodeIndex(i), null);
            }

            var newLength = (int)ArrayTree.NodeCount(half);
            _nodes = _nodes[..newLength];
            _hashCache = _hashCache[..newLength];
            _occupied = _occupied[..newLength];
        }
    }

    /// <summary>The leftmost blank leaf, or null when every leaf is occupied.</summary>
    public LeafIndex? LeftmostBlankLeaf()
    {
        for (uint i = 0; i < LeafCount; i++)
        {
            if (_nodes[i * 2] is null)
            {
                return new LeafIndex(i);
            }
        }

        return null;
    }

    /// <summary>
    /// RFC 9420 §4.1.1 resolution: the node itself followed by its unmerged leaves when non-blank,
    /// nothing for a blank leaf, the resolutions of the children for a blank parent.
    /// Leaves in <paramref name="excluded"/> (new members of the current commit) are left out.
    /// </summary>
    public IReadOnlyList<NodeIndex> Resolution(NodeIndex node, IReadOnlySet<LeafIndex>? excluded = null)
    {
        CheckNode(node);
        var result = new List<NodeIndex>();
        AddResolution(node, excluded, result);
        return result;
    }

    /// <summary>
    /// RFC 9420 §4.1.2 filtered direct path of a leaf, each entry with its copath child: the direct
    /// path without the nodes whose copath child has an empty resolution.
    /// </summary>
    public IReadOnlyList<(NodeIndex Node, NodeIndex CopathChild)> FilteredDirectPath(LeafIndex leaf)
    {
        CheckLeaf(leaf);
        var result = new List<(NodeIndex, NodeIndex)>();
        var child = leaf.ToNode();
        var root = Root;
        while (child != root)
        {
            var parent = ArrayTree.Parent(child, LeafCount);
            var copathChild = ArrayTree.Sibling(child, LeafCount);
            if (HasNonEmptyResolution(copathChild))
            {
                result.Add((parent, copathChild));
            }

            child = parent;
        }

        return result;
    }

    /// <summary>True when the encryption key is held by some node of the tree.</summary>
    public bool ContainsEncryptionKey(ReadOnlySpan<byte> key) => _encryptionKeys.Count(key) > 0;

    /// <summary>True when the signature key is held by some leaf of the tree.</summary>
    public bool ContainsSignatureKey(ReadOnlySpan<byte> key) => _signatureKeys.Count(key) > 0;

    /// <summary>True when two nodes share an encryption key or two leaves share a signature key.</summary>
    public bool HasDuplicateKeys => _encryptionKeys.HasDuplicates || _signatureKeys.HasDuplicates;

    /// <summary>The number of nodes holding this encryption key (more than one only in a hostile tree).</summary>
    public int EncryptionKeyCount(ReadOnlyMemory<byte> key) => _encryptionKeys.Count(key);

    /// <summary>The number of leaves holding this signature key.</summary>
    public int SignatureKeyCount(ReadOnlyMemory<byte> key) => _signatureKeys.Count(key);

    /// <summary>The number of members that list <paramref name="type"/> among their supported credentials.</summary>
    public uint CredentialSupportCount(CredentialType type) =>
        _credentialTypesSupported.TryGetValue(type, out var n) ? (uint)n : 0;

    /// <summary>The number of members whose credential has type <paramref name="type"/>.</summary>
    public uint CredentialInUseCount(CredentialType type) =>
        _credentialTypesInUse.TryGetValue(type, out var n) ? (uint)n : 0;

    /// <summary>The credential types of the members' credentials.</summary>
    public IReadOnlyCollection<CredentialType> CredentialTypesInUse => _credentialTypesInUse.Keys;

    /// <summary>Replaces a node (null blanks it), keeping the caches and key indexes right.</summary>
    internal void SetNode(NodeIndex index, Node? node)
    {
        CheckNode(index);
        var old = _nodes[index.Value];
        if (ReferenceEquals(old, node))
        {
            return;
        }

        if (old is not null)
        {
            Unindex(old);
        }

        if (node is not null)
        {
            Index(node);
        }

        _nodes[index.Value] = node;
        InvalidateHashes(index, old is null ? 1 : node is null ? -1 : 0);
    }

    private void Index(Node node)
    {
        if (node.Leaf is { } leaf)
        {
            _memberCount++;
            _encryptionKeys.Add(leaf.EncryptionKey);
            _signatureKeys.Add(leaf.SignatureKey);
            Increment(_credentialTypesInUse, leaf.Credential.CredentialType, 1);
            foreach (var type in leaf.Capabilities.Credentials.Distinct())
            {
                Increment(_credentialTypesSupported, type, 1);
            }
        }
        else
        {
            _encryptionKeys.Add(node.Parent!.EncryptionKey);
        }
    }

    private void Unindex(Node node)
    {
        if (node.Leaf is { } leaf)
        {
            _memberCount--;
            _encryptionKeys.Remove(leaf.EncryptionKey);
            _signatureKeys.Remove(leaf.SignatureKey);
            Increment(_credentialTypesInUse, leaf.Credential.CredentialType, -1);
            foreach (var type in leaf.Capabilities.Credentials.Distinct())
            {
                Increment(_credentialTypesSupported, type, -1);
            }
        }
        else
        {
            _encryptionKeys.Remove(node.Parent!.EncryptionKey);
        }
    }

    private static void Increment(Dictionary<CredentialType, int> counts, CredentialType type, int delta)
    {
        counts.TryGetValue(type, out var n);
        n += delta;
        if (n <= 0)
        {
            counts.Remove(type);
        }
        else
        {
            counts[type] = n;
        }
    }

    private void Extend()
    {
        var newLeafCount = LeafCount * 2;
        if (newLeafCount > MaxLeafCount)
        {
            throw new MlsMisuseException("The ratchet tree cannot grow beyond its maximum size.");
        }

        var newLength = (int)ArrayTree.NodeCount(newLeafCount);
        var nodes = new Node?[newLength];
        var cache = new byte[]?[newLength];
        var occupied = new uint[newLength];
        _nodes.CopyTo(nodes, 0);
        _hashCache.CopyTo(cache, 0);
        _occupied.CopyTo(occupied, 0);

        // The old root becomes the left child of a blank root: the new root's subtree holds it all.
        occupied[newLength / 2] = _occupied[_nodes.Length / 2];
        _nodes = nodes;
        _hashCache = cache;
        _occupied = occupied;
    }

    private void AddResolution(NodeIndex node, IReadOnlySet<LeafIndex>? excluded, List<NodeIndex> result)
    {
        if (_occupied[node.Value] == 0)
        {
            return;
        }

        var value = _nodes[node.Value];
        if (node.IsLeaf)
        {
            if (value is not null && excluded?.Contains(node.ToLeaf()) != true)
            {
                result.Add(node);
            }

            return;
        }

        if (value?.Parent is { } parent)
        {
            result.Add(node);
            foreach (var unmerged in parent.UnmergedLeaves)
            {
                if (unmerged >= LeafCount)
                {
                    // Only an unvalidated, hostile tree gets here (RatchetTreeValidator rejects it).
                    throw new MlsValidationException("An unmerged leaf lies outside the tree.");
                }

                if (excluded?.Contains(new LeafIndex(unmerged)) != true)
                {
                    result.Add(new LeafIndex(unmerged).ToNode());
                }
            }

            return;
        }

        AddResolution(ArrayTree.Left(node), excluded, result);
        AddResolution(ArrayTree.Right(node), excluded, result);
    }

    // A subtree with a non-blank node has a non-empty resolution: a blank parent's resolution is
    // its children's, down to the non-blank node.
    private bool HasNonEmptyResolution(NodeIndex node) => _occupied[node.Value] > 0;

    private void RequireMember(LeafIndex leaf)
    {
        if (GetLeaf(leaf) is null)
        {
            throw new MlsValidationException("The leaf index does not identify a member.");
        }
    }

    private void CheckLeaf(LeafIndex leaf)
    {
        if (leaf.Value >= LeafCount)
        {
            throw new MlsMisuseException("Leaf index outside the tree.");
        }
    }

    private void CheckNode(NodeIndex node)
    {
        if (node.Value >= (uint)_nodes.Length)
        {
            throw new MlsMisuseException("Node index outside the tree.");
        }
    }

    internal static byte[] Encoded(Action<TlsWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new TlsWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
