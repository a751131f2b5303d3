using System.Buffers;
using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>
/// RFC 9420 §7.2 LeafNode. <see cref="Lifetime"/> is required when the source is key_package and
/// <see cref="ParentHash"/> when it is commit; for any other source they are ignored on encode
/// (and null after decode).
/// </summary>
public sealed class LeafNode : ITlsCodec<LeafNode>
{
    /// <summary>A copy of this leaf with <paramref name="signature"/> in place of its signature.</summary>
    public LeafNode WithSignature(ReadOnlyMemory<byte> signature) => new()
    {
        EncryptionKey = EncryptionKey,
        SignatureKey = SignatureKey,
        Credential = Credential,
        Capabilities = Capabilities,
        LeafNodeSource = LeafNodeSource,
        Lifetime = Lifetime,
        ParentHash = ParentHash,
        Extensions = Extensions,
        Signature = signature,
    };

    public required ReadOnlyMemory<byte> EncryptionKey { get; init; }

    public required ReadOnlyMemory<byte> SignatureKey { get; init; }

    public required Credential Credential { get; init; }

    public required Capabilities Capabilities { get; init; }

    public required LeafNodeSource LeafNodeSource { get; init; }

    /// <summary>Present when <see cref="LeafNodeSource"/> is key_package.</summary>
    public Lifetime? Lifetime { get; init; }

    /// <summary>Present when <see cref="LeafNodeSource"/> is commit.</summary>
    public ReadOnlyMemory<byte>? ParentHash { get; init; }

    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    public required ReadOnlyMemory<byte> Signature { get; init; }

    public static LeafNode Decode(ref TlsReader reader)
    {
        var encryptionKey = reader.ReadVectorBytes();
        var signatureKey = reader.ReadVectorBytes();
        var credential = Credential.Decode(ref reader);
        var capabilities = Capabilities.Decode(ref reader);
        var source = (LeafNodeSource)reader.ReadUInt8();
        Lifetime? lifetime = null;
        ReadOnlyMemory<byte>? parentHash = null;
        switch (source)
        {
            case LeafNodeSource.KeyPackage:
                lifetime = Lifetime.Decode(ref reader);
                break;
            case LeafNodeSource.Update:
                break;
            case LeafNodeSource.Commit:
                parentHash = reader.ReadVectorBytes();
                break;
            default:
                return TlsThrow.Unknown<LeafNode>("leaf node source");
        }

        return new LeafNode
        {
            EncryptionKey = encryptionKey,
            SignatureKey = signatureKey,
            Credential = credential,
            Capabilities = capabilities,
            LeafNodeSource = source,
            Lifetime = lifetime,
            ParentHash = parentHash,
            Extensions = Extension.DecodeList(ref reader),
            Signature = reader.ReadVectorBytes(),
        };
    }

    public void Encode(TlsWriter writer)
    {
        WriteContent(writer);
        writer.WriteVector(Signature.Span);
    }

    /// <summary>
    /// Writes LeafNodeTBS (RFC 9420 §7.2). <paramref name="groupId"/> and <paramref name="leafIndex"/>
    /// are required for the update and commit sources and ignored for key_package.
    /// </summary>
    public void WriteToBeSigned(TlsWriter writer, ReadOnlySpan<byte> groupId, uint leafIndex)
    {
        WriteContent(writer);
        if (LeafNodeSource is LeafNodeSource.Update or LeafNodeSource.Commit)
        {
            writer.WriteVector(groupId);
            writer.WriteUInt32(leafIndex);
        }
    }

    /// <summary>LeafNodeTBS bytes for a leaf from a KeyPackage (no group context needed).</summary>
    public byte[] ToBeSignedBytes()
    {
        if (LeafNodeSource != LeafNodeSource.KeyPackage)
        {
            throw new MlsMisuseException("A leaf node from an update or commit is signed with its group id and leaf index.");
        }

        return ToBeSignedBytes(default, 0);
    }

    /// <summary>LeafNodeTBS bytes; see <see cref="WriteToBeSigned"/>.</summary>
    public byte[] ToBeSignedBytes(ReadOnlySpan<byte> groupId, uint leafIndex)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteToBeSigned(new TlsWriter(buffer), groupId, leafIndex);
        return buffer.WrittenSpan.ToArray();
    }

    private void WriteContent(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(EncryptionKey.Span);
        writer.WriteVector(SignatureKey.Span);
        Credential.Encode(writer);
        Capabilities.Encode(writer);
        writer.WriteUInt8((byte)LeafNodeSource);
        // The source selects what is written: a lifetime or parent hash the source does not
        // select is ignored, so a leaf copied with a new source encodes as that source.
        switch (LeafNodeSource)
        {
            case LeafNodeSource.KeyPackage:
                (Lifetime ?? throw new MlsMisuseException("A key_package leaf node needs a lifetime.")).Encode(writer);
                break;
            case LeafNodeSource.Update:
                break;
            case LeafNodeSource.Commit:
                writer.WriteVector((ParentHash ?? throw new MlsMisuseException("A commit leaf node needs a parent hash.")).Span);
                break;
            default:
                throw new MlsMisuseException("Unknown leaf node source.");
        }

        writer.WriteVectorOf(Extensions);
    }
}

/// <summary>RFC 9420 §7.1 ParentNode.</summary>
public sealed class ParentNode : ITlsCodec<ParentNode>
{
    public required ReadOnlyMemory<byte> EncryptionKey { get; init; }

    public required ReadOnlyMemory<byte> ParentHash { get; init; }

    public IReadOnlyList<uint> UnmergedLeaves { get; init; } = [];

    public static ParentNode Decode(ref TlsReader reader) => new()
    {
        EncryptionKey = reader.ReadVectorBytes(),
        ParentHash = reader.ReadVectorBytes(),
        UnmergedLeaves = reader.ReadVectorOf(static (ref TlsReader r) => r.ReadUInt32()),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(EncryptionKey.Span);
        writer.WriteVector(ParentHash.Span);
        writer.WriteVectorOf(UnmergedLeaves, static (w, leaf) => w.WriteUInt32(leaf));
    }
}

/// <summary>RFC 9420 §12.4.3.3 Node: a leaf or a parent.</summary>
public sealed class Node : ITlsCodec<Node>
{
    private Node(LeafNode? leaf, ParentNode? parent)
    {
        Leaf = leaf;
        Parent = parent;
    }

    public NodeType NodeType => Leaf is not null ? NodeType.Leaf : NodeType.Parent;

    public LeafNode? Leaf { get; }

    public ParentNode? Parent { get; }

    public static Node FromLeaf(LeafNode leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        return new Node(leaf, null);
    }

    public static Node FromParent(ParentNode parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return new Node(null, parent);
    }

    public static Node Decode(ref TlsReader reader) => (NodeType)reader.ReadUInt8() switch
    {
        NodeType.Leaf => FromLeaf(LeafNode.Decode(ref reader)),
        NodeType.Parent => FromParent(ParentNode.Decode(ref reader)),
        _ => TlsThrow.Unknown<Node>("node type"),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt8((byte)NodeType);
        if (Leaf is not null)
        {
            Leaf.Encode(writer);
        }
        else
        {
            Parent!.Encode(writer);
        }
    }
}

/// <summary>
/// RFC 9420 §12.4.3.3 <c>optional&lt;Node&gt; ratchet_tree&lt;V&gt;</c>: the nodes of a tree in
/// array order, null for blank nodes. Shape (non-blank last node, leaf/parent alternation) is
/// checked by the tree code, not here.
/// </summary>
public sealed class RatchetTreeNodes : ITlsCodec<RatchetTreeNodes>
{
    public required IReadOnlyList<Node?> Nodes { get; init; }

    public static RatchetTreeNodes Decode(ref TlsReader reader) => new()
    {
        Nodes = reader.ReadVectorOf(static (ref TlsReader r) => r.ReadOptional(Node.Decode)),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVectorOf(Nodes, static (w, node) => w.WriteOptional(node));
    }
}
