using System.Buffers;
using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>RFC 9420 §10 KeyPackage. The version and suite are kept as sent; checking them is validation.</summary>
public sealed class KeyPackage : ITlsCodec<KeyPackage>, IMlsMessageBody
{
    public ProtocolVersion Version { get; init; } = ProtocolVersion.Mls10;

    public required CipherSuite CipherSuite { get; init; }

    public required ReadOnlyMemory<byte> InitKey { get; init; }

    public required LeafNode LeafNode { get; init; }

    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    public required ReadOnlyMemory<byte> Signature { get; init; }

    WireFormat IMlsMessageBody.WireFormat => WireFormat.KeyPackage;

    public static KeyPackage Decode(ref TlsReader reader) => new()
    {
        Version = (ProtocolVersion)reader.ReadUInt16(),
        CipherSuite = (CipherSuite)reader.ReadUInt16(),
        InitKey = reader.ReadVectorBytes(),
        LeafNode = LeafNode.Decode(ref reader),
        Extensions = Extension.DecodeList(ref reader),
        Signature = reader.ReadVectorBytes(),
    };

    public void Encode(TlsWriter writer)
    {
        WriteToBeSigned(writer);
        writer.WriteVector(Signature.Span);
    }

    /// <summary>Writes KeyPackageTBS: every field but the signature.</summary>
    public void WriteToBeSigned(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)Version);
        writer.WriteUInt16((ushort)CipherSuite);
        writer.WriteVector(InitKey.Span);
        LeafNode.Encode(writer);
        writer.WriteVectorOf(Extensions);
    }

    /// <summary>KeyPackageTBS bytes, the content of SignWithLabel(., "KeyPackageTBS", .).</summary>
    public byte[] ToBeSignedBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteToBeSigned(new TlsWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
