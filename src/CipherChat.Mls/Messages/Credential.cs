using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>
/// RFC 9420 §5.3 Credential: a basic identity or a chain of X.509 certificates. Types other than
/// basic and x509 have bodies this implementation cannot parse, so they do not decode.
/// </summary>
public sealed class Credential : ITlsCodec<Credential>
{
    private Credential(CredentialType credentialType, ReadOnlyMemory<byte> identity, IReadOnlyList<ReadOnlyMemory<byte>> certificates)
    {
        CredentialType = credentialType;
        Identity = identity;
        Certificates = certificates;
    }

    public CredentialType CredentialType { get; }

    /// <summary>The identity of a basic credential; empty for x509.</summary>
    public ReadOnlyMemory<byte> Identity { get; }

    /// <summary>The DER certificates (cert_data) of an x509 credential, leaf first; empty for basic.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Certificates { get; }

    public static Credential Basic(ReadOnlyMemory<byte> identity) => new(CredentialType.Basic, identity, []);

    public static Credential X509(IReadOnlyList<ReadOnlyMemory<byte>> certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        return new(CredentialType.X509, ReadOnlyMemory<byte>.Empty, [.. certificates]);
    }

    public static Credential Decode(ref TlsReader reader)
    {
        var type = (CredentialType)reader.ReadUInt16();
        return type switch
        {
            CredentialType.Basic => Basic(reader.ReadVectorBytes()),
            CredentialType.X509 => new(type, ReadOnlyMemory<byte>.Empty, reader.ReadVectorOf(ReadCertificate)),
            _ => TlsThrow.Unknown<Credential>("credential type"),
        };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)CredentialType);
        if (CredentialType == CredentialType.Basic)
        {
            writer.WriteVector(Identity.Span);
        }
        else
        {
            writer.WriteVectorOf(Certificates, static (w, cert) => w.WriteVector(cert.Span));
        }
    }

    private static ReadOnlyMemory<byte> ReadCertificate(ref TlsReader reader) => reader.ReadVectorBytes();
}
