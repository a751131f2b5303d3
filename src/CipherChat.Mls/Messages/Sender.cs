using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>
/// RFC 9420 §6 Sender. <see cref="Index"/> is the leaf index of a member or the index into the
/// external_senders extension of an external sender; zero for new members.
/// </summary>
public readonly record struct Sender(SenderType SenderType, uint Index) : ITlsCodec<Sender>
{
    public static Sender Member(uint leafIndex) => new(SenderType.Member, leafIndex);

    public static Sender External(uint senderIndex) => new(SenderType.External, senderIndex);

    public static Sender NewMemberProposal => new(SenderType.NewMemberProposal, 0);

    public static Sender NewMemberCommit => new(SenderType.NewMemberCommit, 0);

    public static Sender Decode(ref TlsReader reader)
    {
        var type = (SenderType)reader.ReadUInt8();
        return type switch
        {
            SenderType.Member or SenderType.External => new Sender(type, reader.ReadUInt32()),
            SenderType.NewMemberProposal or SenderType.NewMemberCommit => new Sender(type, 0),
            _ => TlsThrow.Unknown<Sender>("sender type"),
        };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt8((byte)SenderType);
        switch (SenderType)
        {
            case SenderType.Member or SenderType.External:
                writer.WriteUInt32(Index);
                break;
            case SenderType.NewMemberProposal or SenderType.NewMemberCommit:
                break;
            default:
                throw new MlsMisuseException("Unknown sender type.");
        }
    }
}
