using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>
/// RFC 9420 §13.4 Extension: a type and opaque data. The data is kept as bytes; typed views
/// (ratchet_tree, external_pub, ...) are decoded from it by whoever interprets the extension.
/// </summary>
public sealed class Extension : ITlsCodec<Extension>
{
    public required ExtensionType ExtensionType { get; init; }

    public required ReadOnlyMemory<byte> ExtensionData { get; init; }

    public static Extension Decode(ref TlsReader reader) => new()
    {
        ExtensionType = (ExtensionType)reader.ReadUInt16(),
        ExtensionData = reader.ReadVectorBytes(),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)ExtensionType);
        writer.WriteVector(ExtensionData.Span);
    }

    /// <summary>Decodes <c>Extension extensions&lt;V&gt;</c>.</summary>
    public static Extension[] DecodeList(ref TlsReader reader) => reader.ReadVectorOf(Decode);
}
