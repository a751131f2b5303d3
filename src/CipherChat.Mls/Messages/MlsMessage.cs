using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>A struct that can travel as the body of an MLSMessage.</summary>
public interface IMlsMessageBody : ITlsEncodable
{
    WireFormat WireFormat { get; }
}

/// <summary>
/// RFC 9420 §6 MLSMessage: version, wire format and body. Only MLS 1.0 decodes: the body of any
/// other version has an unknown layout.
/// </summary>
public sealed class MlsMessage : ITlsCodec<MlsMessage>
{
    public MlsMessage(IMlsMessageBody body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Body = body;
    }

    public ProtocolVersion Version => ProtocolVersion.Mls10;

    public WireFormat WireFormat => Body.WireFormat;

    /// <summary>A <see cref="PublicMessage"/>, <see cref="PrivateMessage"/>, <see cref="Welcome"/>, <see cref="GroupInfo"/> or <see cref="KeyPackage"/>.</summary>
    public IMlsMessageBody Body { get; }

    public static MlsMessage Decode(ref TlsReader reader)
    {
        var version = (ProtocolVersion)reader.ReadUInt16();
        if (version != ProtocolVersion.Mls10)
        {
            throw new MlsDecodeException(MlsDecodeError.UnsupportedVersion, "Unsupported MLS protocol version.");
        }

        IMlsMessageBody body = (WireFormat)reader.ReadUInt16() switch
        {
            WireFormat.PublicMessage => PublicMessage.Decode(ref reader),
            WireFormat.PrivateMessage => PrivateMessage.Decode(ref reader),
            WireFormat.Welcome => Welcome.Decode(ref reader),
            WireFormat.GroupInfo => GroupInfo.Decode(ref reader),
            WireFormat.KeyPackage => KeyPackage.Decode(ref reader),
            _ => TlsThrow.Unknown<IMlsMessageBody>("wire format"),
        };
        return new MlsMessage(body);
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)Version);
        writer.WriteUInt16((ushort)WireFormat);
        Body.Encode(writer);
    }
}
