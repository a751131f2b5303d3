using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>RFC 9420 §7.2 Capabilities of a client. Unknown (GREASE) values are kept as they are.</summary>
public sealed class Capabilities : ITlsCodec<Capabilities>
{
    public IReadOnlyList<ProtocolVersion> Versions { get; init; } = [];

    public IReadOnlyList<CipherSuite> CipherSuites { get; init; } = [];

    public IReadOnlyList<ExtensionType> Extensions { get; init; } = [];

    public IReadOnlyList<ProposalType> Proposals { get; init; } = [];

    public IReadOnlyList<CredentialType> Credentials { get; init; } = [];

    public static Capabilities Decode(ref TlsReader reader) => new()
    {
        Versions = ReadList(ref reader, static v => (ProtocolVersion)v),
        CipherSuites = ReadList(ref reader, static v => (CipherSuite)v),
        Extensions = ReadList(ref reader, static v => (ExtensionType)v),
        Proposals = ReadList(ref reader, static v => (ProposalType)v),
        Credentials = ReadList(ref reader, static v => (CredentialType)v),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteList(writer, Versions, static v => (ushort)v);
        WriteList(writer, CipherSuites, static v => (ushort)v);
        WriteList(writer, Extensions, static v => (ushort)v);
        WriteList(writer, Proposals, static v => (ushort)v);
        WriteList(writer, Credentials, static v => (ushort)v);
    }

    private static T[] ReadList<T>(ref TlsReader reader, Func<ushort, T> convert)
    {
        var raw = reader.ReadVectorOfUInt16();
        return Array.ConvertAll(raw, v => convert(v));
    }

    private static void WriteList<T>(TlsWriter writer, IReadOnlyList<T> values, Func<T, ushort> convert)
    {
        ArgumentNullException.ThrowIfNull(values);
        writer.WriteVarInt(checked((uint)values.Count * 2));
        for (var i = 0; i < values.Count; i++)
        {
            writer.WriteUInt16(convert(values[i]));
        }
    }
}

/// <summary>RFC 9420 §7.2 Lifetime: validity of a KeyPackage's leaf, in seconds since the Unix epoch.</summary>
public sealed class Lifetime : ITlsCodec<Lifetime>
{
    public required ulong NotBefore { get; init; }

    public required ulong NotAfter { get; init; }

    public static Lifetime Decode(ref TlsReader reader) => new()
    {
        NotBefore = reader.ReadUInt64(),
        NotAfter = reader.ReadUInt64(),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt64(NotBefore);
        writer.WriteUInt64(NotAfter);
    }
}
