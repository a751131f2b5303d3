using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>
/// The content selected by a ContentType in FramedContent and PrivateMessageContent (RFC 9420 §6):
/// application data, a proposal or a commit. <see cref="Encode"/> writes the selected value only,
/// not the content type.
/// </summary>
public abstract class ContentBody : ITlsEncodable
{
    private protected ContentBody()
    {
    }

    public abstract ContentType ContentType { get; }

    /// <summary>Reads the value selected by <paramref name="type"/>.</summary>
    public static ContentBody Decode(ref TlsReader reader, ContentType type) => type switch
    {
        ContentType.Application => new ApplicationContent { Data = reader.ReadVectorBytes() },
        ContentType.Proposal => new ProposalContent { Proposal = Proposal.Decode(ref reader) },
        ContentType.Commit => new CommitContent { Commit = Commit.Decode(ref reader) },
        _ => TlsThrow.Unknown<ContentBody>("content type"),
    };

    /// <summary>Reads a ContentType octet; reserved and unknown values are malformed.</summary>
    public static ContentType ReadContentType(ref TlsReader reader)
    {
        var type = (ContentType)reader.ReadUInt8();
        return type is ContentType.Application or ContentType.Proposal or ContentType.Commit
            ? type
            : TlsThrow.Unknown<ContentType>("content type");
    }

    public abstract void Encode(TlsWriter writer);
}

/// <summary>Application data (opaque application_data&lt;V&gt;).</summary>
public sealed class ApplicationContent : ContentBody
{
    public required ReadOnlyMemory<byte> Data { get; init; }

    public override ContentType ContentType => ContentType.Application;

    public override void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(Data.Span);
    }
}

/// <summary>A proposal sent as a message.</summary>
public sealed class ProposalContent : ContentBody
{
    public required Proposal Proposal { get; init; }

    public override ContentType ContentType => ContentType.Proposal;

    public override void Encode(TlsWriter writer) => Proposal.Encode(writer);
}

/// <summary>A commit sent as a message.</summary>
public sealed class CommitContent : ContentBody
{
    public required Commit Commit { get; init; }

    public override ContentType ContentType => ContentType.Commit;

    public override void Encode(TlsWriter writer) => Commit.Encode(writer);
}
