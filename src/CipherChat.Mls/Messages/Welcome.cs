using System.Buffers;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;

namespace CipherChat.Mls.Messages;

/// <summary>
/// RFC 9420 §12.4.3.1 GroupSecrets, the plaintext of an EncryptedGroupSecrets. The secrets are
/// copied into <see cref="Secret"/> objects, which <see cref="Dispose"/> wipes.
/// </summary>
public sealed class GroupSecrets : ITlsCodec<GroupSecrets>, IDisposable
{
    public required Secret JoinerSecret { get; init; }

    /// <summary>The path secret for the joiner's lowest common ancestor with the committer, if any.</summary>
    public Secret? PathSecret { get; init; }

    public IReadOnlyList<PreSharedKeyId> Psks { get; init; } = [];

    public static GroupSecrets Decode(ref TlsReader reader)
    {
        // Everything is read first, so that no Secret exists yet when decoding fails.
        var joiner = reader.ReadVector();
        var hasPath = reader.ReadPresence();
        var path = hasPath ? reader.ReadVector() : default;
        var psks = reader.ReadVectorOf(PreSharedKeyId.Decode);
        return new GroupSecrets
        {
            JoinerSecret = new Secret(joiner),
            PathSecret = hasPath ? new Secret(path) : null,
            Psks = psks,
        };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(JoinerSecret.Span);
        writer.WritePresence(PathSecret is not null);
        if (PathSecret is not null)
        {
            writer.WriteVector(PathSecret.Span);
        }

        writer.WriteVectorOf(Psks);
    }

    public void Dispose()
    {
        JoinerSecret.Dispose();
        PathSecret?.Dispose();
    }
}

/// <summary>RFC 9420 §12.4.3.1 EncryptedGroupSecrets.</summary>
public sealed class EncryptedGroupSecrets : ITlsCodec<EncryptedGroupSecrets>
{
    /// <summary>KeyPackageRef of the new member.</summary>
    public required ReadOnlyMemory<byte> NewMember { get; init; }

    public required HpkeCiphertext EncryptedSecrets { get; init; }

    public static EncryptedGroupSecrets Decode(ref TlsReader reader) => new()
    {
        NewMember = reader.ReadVectorBytes(),
        EncryptedSecrets = HpkeCiphertext.Decode(ref reader),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(NewMember.Span);
        EncryptedSecrets.Encode(writer);
    }
}

/// <summary>RFC 9420 §12.4.3.1 Welcome.</summary>
public sealed class Welcome : ITlsCodec<Welcome>, IMlsMessageBody
{
    public required CipherSuite CipherSuite { get; init; }

    public required IReadOnlyList<EncryptedGroupSecrets> Secrets { get; init; }

    public required ReadOnlyMemory<byte> EncryptedGroupInfo { get; init; }

    WireFormat IMlsMessageBody.WireFormat => WireFormat.Welcome;

    public static Welcome Decode(ref TlsReader reader) => new()
    {
        CipherSuite = (CipherSuite)reader.ReadUInt16(),
        Secrets = reader.ReadVectorOf(EncryptedGroupSecrets.Decode),
        EncryptedGroupInfo = reader.ReadVectorBytes(),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)CipherSuite);
        writer.WriteVectorOf(Secrets);
        writer.WriteVector(EncryptedGroupInfo.Span);
    }
}

/// <summary>RFC 9420 §12.4.3 GroupInfo.</summary>
public sealed class GroupInfo : ITlsCodec<GroupInfo>, IMlsMessageBody
{
    public required GroupContext GroupContext { get; init; }

    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    public required ReadOnlyMemory<byte> ConfirmationTag { get; init; }

    /// <summary>Leaf index of the member who signed.</summary>
    public required uint Signer { get; init; }

    public required ReadOnlyMemory<byte> Signature { get; init; }

    WireFormat IMlsMessageBody.WireFormat => WireFormat.GroupInfo;

    public static GroupInfo Decode(ref TlsReader reader) => new()
    {
        GroupContext = GroupContext.Decode(ref reader),
        Extensions = Extension.DecodeList(ref reader),
        ConfirmationTag = reader.ReadVectorBytes(),
        Signer = reader.ReadUInt32(),
        Signature = reader.ReadVectorBytes(),
    };

    public void Encode(TlsWriter writer)
    {
        WriteToBeSigned(writer);
        writer.WriteVector(Signature.Span);
    }

    /// <summary>Writes GroupInfoTBS: every field but the signature.</summary>
    public void WriteToBeSigned(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        GroupContext.Encode(writer);
        writer.WriteVectorOf(Extensions);
        writer.WriteVector(ConfirmationTag.Span);
        writer.WriteUInt32(Signer);
    }

    /// <summary>GroupInfoTBS bytes, the content of SignWithLabel(., "GroupInfoTBS", .).</summary>
    public byte[] ToBeSignedBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteToBeSigned(new TlsWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
