using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>RFC 9420 §8.1 GroupContext: the state every member agrees on in an epoch.</summary>
public sealed class GroupContext : ITlsCodec<GroupContext>
{
    public ProtocolVersion Version { get; init; } = ProtocolVersion.Mls10;

    public required CipherSuite CipherSuite { get; init; }

    public required ReadOnlyMemory<byte> GroupId { get; init; }

    public required ulong Epoch { get; init; }

    public required ReadOnlyMemory<byte> TreeHash { get; init; }

    public required ReadOnlyMemory<byte> ConfirmedTranscriptHash { get; init; }

    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    public static GroupContext Decode(ref TlsReader reader) => new()
    {
        Version = (ProtocolVersion)reader.ReadUInt16(),
        CipherSuite = (CipherSuite)reader.ReadUInt16(),
        GroupId = reader.ReadVectorBytes(),
        Epoch = reader.ReadUInt64(),
        TreeHash = reader.ReadVectorBytes(),
        ConfirmedTranscriptHash = reader.ReadVectorBytes(),
        Extensions = Extension.DecodeList(ref reader),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)Version);
        writer.WriteUInt16((ushort)CipherSuite);
        writer.WriteVector(GroupId.Span);
        writer.WriteUInt64(Epoch);
        writer.WriteVector(TreeHash.Span);
        writer.WriteVector(ConfirmedTranscriptHash.Span);
        writer.WriteVectorOf(Extensions);
    }
}
