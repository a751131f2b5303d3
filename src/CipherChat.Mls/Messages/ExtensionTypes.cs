using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

// Payloads of the extensions RFC 9420 defines. Each is the content of an Extension's
// extension_data, decoded with FromBytes(extension.ExtensionData.Span).

/// <summary>RFC 9420 §11.1 RequiredCapabilities (extension type required_capabilities).</summary>
public sealed class RequiredCapabilities : ITlsCodec<RequiredCapabilities>
{
    public IReadOnlyList<ExtensionType> ExtensionTypes { get; init; } = [];

    public IReadOnlyList<ProposalType> ProposalTypes { get; init; } = [];

    public IReadOnlyList<CredentialType> CredentialTypes { get; init; } = [];

    public static RequiredCapabilities Decode(ref TlsReader reader) => new()
    {
        ExtensionTypes = Array.ConvertAll(reader.ReadVectorOfUInt16(), static v => (ExtensionType)v),
        ProposalTypes = Array.ConvertAll(reader.ReadVectorOfUInt16(), static v => (ProposalType)v),
        CredentialTypes = Array.ConvertAll(reader.ReadVectorOfUInt16(), static v => (CredentialType)v),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVectorOfUInt16([.. ExtensionTypes.Select(static v => (ushort)v)]);
        writer.WriteVectorOfUInt16([.. ProposalTypes.Select(static v => (ushort)v)]);
        writer.WriteVectorOfUInt16([.. CredentialTypes.Select(static v => (ushort)v)]);
    }
}

/// <summary>RFC 9420 §12.1.8.1 ExternalSender, one element of the external_senders extension.</summary>
public sealed class ExternalSender : ITlsCodec<ExternalSender>
{
    public required ReadOnlyMemory<byte> SignatureKey { get; init; }

    public required Credential Credential { get; init; }

    public static ExternalSender Decode(ref TlsReader reader) => new()
    {
        SignatureKey = reader.ReadVectorBytes(),
        Credential = Credential.Decode(ref reader),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(SignatureKey.Span);
        Credential.Encode(writer);
    }
}

/// <summary>The external_senders extension: <c>ExternalSender external_senders&lt;V&gt;</c>.</summary>
public sealed class ExternalSenders : ITlsCodec<ExternalSenders>
{
    public required IReadOnlyList<ExternalSender> Senders { get; init; }

    public static ExternalSenders Decode(ref TlsReader reader) => new() { Senders = reader.ReadVectorOf(ExternalSender.Decode) };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVectorOf(Senders);
    }
}

/// <summary>RFC 9420 §12.4.3.2 ExternalPub (extension type external_pub).</summary>
public sealed class ExternalPub : ITlsCodec<ExternalPub>
{
    public required ReadOnlyMemory<byte> PublicKey { get; init; }

    public static ExternalPub Decode(ref TlsReader reader) => new() { PublicKey = reader.ReadVectorBytes() };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(PublicKey.Span);
    }
}

/// <summary>RFC 9420 §5.3.3 application_id extension: <c>opaque application_id&lt;V&gt;</c>.</summary>
public sealed class ApplicationIdExtension : ITlsCodec<ApplicationIdExtension>
{
    public required ReadOnlyMemory<byte> Value { get; init; }

    public static ApplicationIdExtension Decode(ref TlsReader reader) => new() { Value = reader.ReadVectorBytes() };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(Value.Span);
    }
}
