using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>RFC 9420 §7.6 HPKECiphertext.</summary>
public sealed class HpkeCiphertext : ITlsCodec<HpkeCiphertext>
{
    public required ReadOnlyMemory<byte> KemOutput { get; init; }

    public required ReadOnlyMemory<byte> Ciphertext { get; init; }

    public static HpkeCiphertext Decode(ref TlsReader reader) => new()
    {
        KemOutput = reader.ReadVectorBytes(),
        Ciphertext = reader.ReadVectorBytes(),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(KemOutput.Span);
        writer.WriteVector(Ciphertext.Span);
    }
}

/// <summary>RFC 9420 §7.6 UpdatePathNode: a new public key and the path secret encrypted to each resolution member.</summary>
public sealed class UpdatePathNode : ITlsCodec<UpdatePathNode>
{
    public required ReadOnlyMemory<byte> EncryptionKey { get; init; }

    public required IReadOnlyList<HpkeCiphertext> EncryptedPathSecret { get; init; }

    public static UpdatePathNode Decode(ref TlsReader reader) => new()
    {
        EncryptionKey = reader.ReadVectorBytes(),
        EncryptedPathSecret = reader.ReadVectorOf(HpkeCiphertext.Decode),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(EncryptionKey.Span);
        writer.WriteVectorOf(EncryptedPathSecret);
    }
}

/// <summary>RFC 9420 §7.6 UpdatePath.</summary>
public sealed class UpdatePath : ITlsCodec<UpdatePath>
{
    public required LeafNode LeafNode { get; init; }

    public required IReadOnlyList<UpdatePathNode> Nodes { get; init; }

    public static UpdatePath Decode(ref TlsReader reader) => new()
    {
        LeafNode = LeafNode.Decode(ref reader),
        Nodes = reader.ReadVectorOf(UpdatePathNode.Decode),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        LeafNode.Encode(writer);
        writer.WriteVectorOf(Nodes);
    }
}
