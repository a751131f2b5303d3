using System.Buffers;
using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>RFC 9420 §6 FramedContent.</summary>
public sealed class FramedContent : ITlsCodec<FramedContent>
{
    public required ReadOnlyMemory<byte> GroupId { get; init; }

    public required ulong Epoch { get; init; }

    public required Sender Sender { get; init; }

    public ReadOnlyMemory<byte> AuthenticatedData { get; init; }

    public required ContentBody Content { get; init; }

    public ContentType ContentType => Content.ContentType;

    public static FramedContent Decode(ref TlsReader reader)
    {
        var groupId = reader.ReadVectorBytes();
        var epoch = reader.ReadUInt64();
        var sender = Sender.Decode(ref reader);
        var authenticatedData = reader.ReadVectorBytes();
        var type = ContentBody.ReadContentType(ref reader);
        return new FramedContent
        {
            GroupId = groupId,
            Epoch = epoch,
            Sender = sender,
            AuthenticatedData = authenticatedData,
            Content = ContentBody.Decode(ref reader, type),
        };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(GroupId.Span);
        writer.WriteUInt64(Epoch);
        Sender.Encode(writer);
        writer.WriteVector(AuthenticatedData.Span);
        writer.WriteUInt8((byte)Content.ContentType);
        Content.Encode(writer);
    }

    /// <summary>
    /// Writes FramedContentTBS (RFC 9420 §6.1). The GroupContext is included for member and
    /// new_member_commit senders and must then be given; it is ignored for the others.
    /// </summary>
    public void WriteToBeSigned(TlsWriter writer, WireFormat wireFormat, GroupContext? context)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)ProtocolVersion.Mls10);
        writer.WriteUInt16((ushort)wireFormat);
        Encode(writer);
        if (Sender.SenderType is SenderType.Member or SenderType.NewMemberCommit)
        {
            (context ?? throw new MlsMisuseException("Content from a member or new-member commit is signed with the group context.")).Encode(writer);
        }
    }

    /// <summary>FramedContentTBS bytes, the content of SignWithLabel(., "FramedContentTBS", .).</summary>
    public byte[] ToBeSignedBytes(WireFormat wireFormat, GroupContext? context)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteToBeSigned(new TlsWriter(buffer), wireFormat, context);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>
/// RFC 9420 §6.1 FramedContentAuthData: the signature, plus the confirmation tag when the content
/// is a commit. Its encoding depends on the content type, which the caller supplies.
/// </summary>
public sealed class FramedContentAuthData
{
    public required ReadOnlyMemory<byte> Signature { get; init; }

    /// <summary>Present exactly when the content is a commit.</summary>
    public ReadOnlyMemory<byte>? ConfirmationTag { get; init; }

    public static FramedContentAuthData Decode(ref TlsReader reader, ContentType contentType)
    {
        var signature = reader.ReadVectorBytes();
        // A null byte[] would convert to an empty but present memory, hence the explicit nullable.
        ReadOnlyMemory<byte>? tag = contentType == ContentType.Commit ? reader.ReadVectorBytes() : (ReadOnlyMemory<byte>?)null;
        return new FramedContentAuthData { Signature = signature, ConfirmationTag = tag };
    }

    public void Encode(TlsWriter writer, ContentType contentType)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(Signature.Span);
        if (contentType == ContentType.Commit)
        {
            writer.WriteVector((ConfirmationTag ?? throw new MlsMisuseException("Commit content needs a confirmation tag.")).Span);
        }
        else if (ConfirmationTag is not null)
        {
            throw new MlsMisuseException("Only commit content carries a confirmation tag.");
        }
    }
}

/// <summary>RFC 9420 §6.1 AuthenticatedContent: what a signature covers, with the signature.</summary>
public sealed class AuthenticatedContent : ITlsCodec<AuthenticatedContent>
{
    public required WireFormat WireFormat { get; init; }

    public required FramedContent Content { get; init; }

    public required FramedContentAuthData Auth { get; init; }

    public static AuthenticatedContent Decode(ref TlsReader reader)
    {
        var wireFormat = (WireFormat)reader.ReadUInt16();
        var content = FramedContent.Decode(ref reader);
        return new AuthenticatedContent
        {
            WireFormat = wireFormat,
            Content = content,
            Auth = FramedContentAuthData.Decode(ref reader, content.ContentType),
        };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)WireFormat);
        Content.Encode(writer);
        Auth.Encode(writer, Content.ContentType);
    }

    /// <summary>FramedContentTBS bytes for this content's wire format.</summary>
    public byte[] ToBeSignedBytes(GroupContext? context) => Content.ToBeSignedBytes(WireFormat, context);

    /// <summary>ConfirmedTranscriptHashInput (RFC 9420 §8.2): wire_format, content, signature.</summary>
    public byte[] ConfirmedTranscriptHashInput()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new TlsWriter(buffer);
        writer.WriteUInt16((ushort)WireFormat);
        Content.Encode(writer);
        writer.WriteVector(Auth.Signature.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>InterimTranscriptHashInput (RFC 9420 §8.2): the confirmation tag as a MAC&lt;V&gt;.</summary>
    public static byte[] InterimTranscriptHashInput(ReadOnlySpan<byte> confirmationTag)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new TlsWriter(buffer).WriteVector(confirmationTag);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>RFC 9420 §6.2 PublicMessage.</summary>
public sealed class PublicMessage : ITlsCodec<PublicMessage>, IMlsMessageBody
{
    public required FramedContent Content { get; init; }

    public required FramedContentAuthData Auth { get; init; }

    /// <summary>Present exactly when the sender is a member.</summary>
    public ReadOnlyMemory<byte>? MembershipTag { get; init; }

    WireFormat IMlsMessageBody.WireFormat => WireFormat.PublicMessage;

    public static PublicMessage Decode(ref TlsReader reader)
    {
        var content = FramedContent.Decode(ref reader);
        var auth = FramedContentAuthData.Decode(ref reader, content.ContentType);
        ReadOnlyMemory<byte>? tag = content.Sender.SenderType == SenderType.Member ? reader.ReadVectorBytes() : (ReadOnlyMemory<byte>?)null;
        return new PublicMessage { Content = content, Auth = auth, MembershipTag = tag };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Content.Encode(writer);
        Auth.Encode(writer, Content.ContentType);
        if (Content.Sender.SenderType == SenderType.Member)
        {
            writer.WriteVector((MembershipTag ?? throw new MlsMisuseException("A member's public message needs a membership tag.")).Span);
        }
        else if (MembershipTag is not null)
        {
            throw new MlsMisuseException("Only a member's public message carries a membership tag.");
        }
    }

    /// <summary>The AuthenticatedContent this message carries.</summary>
    public AuthenticatedContent ToAuthenticatedContent() =>
        new() { WireFormat = WireFormat.PublicMessage, Content = Content, Auth = Auth };

    /// <summary>AuthenticatedContentTBM (RFC 9420 §6.2), the input of the membership tag MAC.</summary>
    public byte[] ToBeMacedBytes(GroupContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new TlsWriter(buffer);
        Content.WriteToBeSigned(writer, WireFormat.PublicMessage, context);
        Auth.Encode(writer, Content.ContentType);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>RFC 9420 §6.3 PrivateMessage.</summary>
public sealed class PrivateMessage : ITlsCodec<PrivateMessage>, IMlsMessageBody
{
    public required ReadOnlyMemory<byte> GroupId { get; init; }

    public required ulong Epoch { get; init; }

    public required ContentType ContentType { get; init; }

    public ReadOnlyMemory<byte> AuthenticatedData { get; init; }

    public required ReadOnlyMemory<byte> EncryptedSenderData { get; init; }

    public required ReadOnlyMemory<byte> Ciphertext { get; init; }

    WireFormat IMlsMessageBody.WireFormat => WireFormat.PrivateMessage;

    public static PrivateMessage Decode(ref TlsReader reader) => new()
    {
        GroupId = reader.ReadVectorBytes(),
        Epoch = reader.ReadUInt64(),
        ContentType = ContentBody.ReadContentType(ref reader),
        AuthenticatedData = reader.ReadVectorBytes(),
        EncryptedSenderData = reader.ReadVectorBytes(),
        Ciphertext = reader.ReadVectorBytes(),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(GroupId.Span);
        writer.WriteUInt64(Epoch);
        writer.WriteUInt8((byte)ContentType);
        writer.WriteVector(AuthenticatedData.Span);
        writer.WriteVector(EncryptedSenderData.Span);
        writer.WriteVector(Ciphertext.Span);
    }

    /// <summary>PrivateContentAAD (RFC 9420 §6.3.1), the AAD of the content encryption.</summary>
    public byte[] ContentAad()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new TlsWriter(buffer);
        writer.WriteVector(GroupId.Span);
        writer.WriteUInt64(Epoch);
        writer.WriteUInt8((byte)ContentType);
        writer.WriteVector(AuthenticatedData.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>SenderDataAAD (RFC 9420 §6.3.2), the AAD of the sender data encryption.</summary>
    public byte[] SenderDataAad()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new TlsWriter(buffer);
        writer.WriteVector(GroupId.Span);
        writer.WriteUInt64(Epoch);
        writer.WriteUInt8((byte)ContentType);
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>RFC 9420 §6.3.2 SenderData, the plaintext of encrypted_sender_data.</summary>
public sealed class SenderData : ITlsCodec<SenderData>
{
    /// <summary>Length of the fixed reuse_guard field.</summary>
    public const int ReuseGuardLength = 4;

    private readonly ReadOnlyMemory<byte> _reuseGuard;

    public required uint LeafIndex { get; init; }

    public required uint Generation { get; init; }

    public required ReadOnlyMemory<byte> ReuseGuard
    {
        get => _reuseGuard;
        init => _reuseGuard = value.Length == ReuseGuardLength
            ? value
            : throw new MlsMisuseException("The reuse guard is exactly 4 bytes.");
    }

    public static SenderData Decode(ref TlsReader reader) => new()
    {
        LeafIndex = reader.ReadUInt32(),
        Generation = reader.ReadUInt32(),
        ReuseGuard = reader.ReadBytes(ReuseGuardLength).ToArray(),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt32(LeafIndex);
        writer.WriteUInt32(Generation);
        writer.WriteBytes(ReuseGuard.Span);
    }
}

/// <summary>
/// RFC 9420 §6.3.1 PrivateMessageContent, the plaintext of a PrivateMessage's ciphertext. Its
/// encoding depends on the content type from the enclosing PrivateMessage.
/// </summary>
public sealed class PrivateMessageContent
{
    public required ContentBody Content { get; init; }

    public required FramedContentAuthData Auth { get; init; }

    /// <summary>Number of zero padding bytes after the auth data.</summary>
    public int PaddingLength { get; init; }

    /// <summary>Decodes the whole plaintext; padding must be all zero (RFC 9420 §6.3.1).</summary>
    public static PrivateMessageContent Decode(ReadOnlySpan<byte> plaintext, ContentType contentType)
    {
        var reader = new TlsReader(plaintext);
        var content = ContentBody.Decode(ref reader, contentType);
        var auth = FramedContentAuthData.Decode(ref reader, contentType);
        var padding = reader.RemainingSpan;

        // RFC 9420 §6.3.1: a receiver MUST verify that the padding holds no non-zero byte.
        if (padding.ContainsAnyExcept((byte)0))
        {
            throw new MlsDecodeException(MlsDecodeError.Malformed, "Private message padding is not all zero.");
        }

        return new PrivateMessageContent { Content = content, Auth = auth, PaddingLength = padding.Length };
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Content.Encode(writer);
        Auth.Encode(writer, Content.ContentType);
        if (PaddingLength < 0)
        {
            throw new MlsMisuseException("Padding length cannot be negative.");
        }

        const int chunk = 256;
        Span<byte> zeros = stackalloc byte[chunk];
        zeros.Clear();
        for (var left = PaddingLength; left > 0; left -= chunk)
        {
            writer.WriteBytes(zeros[..Math.Min(left, chunk)]);
        }
    }

    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Encode(new TlsWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
