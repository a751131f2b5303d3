using CipherChat.Mls.Codec;

namespace CipherChat.Mls.Messages;

/// <summary>
/// RFC 9420 §12.1 Proposal. <see cref="Encode"/> writes the proposal_type then the body; each
/// subclass also reads and writes its body alone (<c>DecodeBody</c>, <see cref="EncodeBody"/>),
/// which is the encoding of the RFC's Add, Update, ... structs.
/// </summary>
public abstract class Proposal : ITlsCodec<Proposal>
{
    private protected Proposal()
    {
    }

    public abstract ProposalType ProposalType { get; }

    public static Proposal Decode(ref TlsReader reader) => (ProposalType)reader.ReadUInt16() switch
    {
        ProposalType.Add => AddProposal.DecodeBody(ref reader),
        ProposalType.Update => UpdateProposal.DecodeBody(ref reader),
        ProposalType.Remove => RemoveProposal.DecodeBody(ref reader),
        ProposalType.PreSharedKey => PreSharedKeyProposal.DecodeBody(ref reader),
        ProposalType.ReInit => ReInitProposal.DecodeBody(ref reader),
        ProposalType.ExternalInit => ExternalInitProposal.DecodeBody(ref reader),
        ProposalType.GroupContextExtensions => GroupContextExtensionsProposal.DecodeBody(ref reader),

        // A proposal type this implementation does not know has a body it cannot delimit.
        _ => TlsThrow.Unknown<Proposal>("proposal type"),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt16((ushort)ProposalType);
        EncodeBody(writer);
    }

    /// <summary>Writes the proposal's struct without the proposal_type.</summary>
    public abstract void EncodeBody(TlsWriter writer);
}

/// <summary>RFC 9420 §12.1.1 Add.</summary>
public sealed class AddProposal : Proposal
{
    public required KeyPackage KeyPackage { get; init; }

    public override ProposalType ProposalType => ProposalType.Add;

    public static AddProposal DecodeBody(ref TlsReader reader) => new() { KeyPackage = KeyPackage.Decode(ref reader) };

    public override void EncodeBody(TlsWriter writer) => KeyPackage.Encode(writer);
}

/// <summary>RFC 9420 §12.1.2 Update.</summary>
public sealed class UpdateProposal : Proposal
{
    public required LeafNode LeafNode { get; init; }

    public override ProposalType ProposalType => ProposalType.Update;

    public static UpdateProposal DecodeBody(ref TlsReader reader) => new() { LeafNode = LeafNode.Decode(ref reader) };

    public override void EncodeBody(TlsWriter writer) => LeafNode.Encode(writer);
}

/// <summary>RFC 9420 §12.1.3 Remove.</summary>
public sealed class RemoveProposal : Proposal
{
    /// <summary>The leaf index of the member to remove.</summary>
    public required uint Removed { get; init; }

    public override ProposalType ProposalType => ProposalType.Remove;

    public static RemoveProposal DecodeBody(ref TlsReader reader) => new() { Removed = reader.ReadUInt32() };

    public override void EncodeBody(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt32(Removed);
    }
}

/// <summary>RFC 9420 §12.1.4 PreSharedKey.</summary>
public sealed class PreSharedKeyProposal : Proposal
{
    public required PreSharedKeyId Psk { get; init; }

    public override ProposalType ProposalType => ProposalType.PreSharedKey;

    public static PreSharedKeyProposal DecodeBody(ref TlsReader reader) => new() { Psk = PreSharedKeyId.Decode(ref reader) };

    public override void EncodeBody(TlsWriter writer) => Psk.Encode(writer);
}

/// <summary>RFC 9420 §12.1.5 ReInit.</summary>
public sealed class ReInitProposal : Proposal
{
    public required ReadOnlyMemory<byte> GroupId { get; init; }

    public ProtocolVersion Version { get; init; } = ProtocolVersion.Mls10;

    public required CipherSuite CipherSuite { get; init; }

    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    public override ProposalType ProposalType => ProposalType.ReInit;

    public static ReInitProposal DecodeBody(ref TlsReader reader) => new()
    {
        GroupId = reader.ReadVectorBytes(),
        Version = (ProtocolVersion)reader.ReadUInt16(),
        CipherSuite = (CipherSuite)reader.ReadUInt16(),
        Extensions = Extension.DecodeList(ref reader),
    };

    public override void EncodeBody(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(GroupId.Span);
        writer.WriteUInt16((ushort)Version);
        writer.WriteUInt16((ushort)CipherSuite);
        writer.WriteVectorOf(Extensions);
    }
}

/// <summary>RFC 9420 §12.1.6 ExternalInit.</summary>
public sealed class ExternalInitProposal : Proposal
{
    public required ReadOnlyMemory<byte> KemOutput { get; init; }

    public override ProposalType ProposalType => ProposalType.ExternalInit;

    public static ExternalInitProposal DecodeBody(ref TlsReader reader) => new() { KemOutput = reader.ReadVectorBytes() };

    public override void EncodeBody(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVector(KemOutput.Span);
    }
}

/// <summary>RFC 9420 §12.1.7 GroupContextExtensions.</summary>
public sealed class GroupContextExtensionsProposal : Proposal
{
    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    public override ProposalType ProposalType => ProposalType.GroupContextExtensions;

    public static GroupContextExtensionsProposal DecodeBody(ref TlsReader reader) => new() { Extensions = Extension.DecodeList(ref reader) };

    public override void EncodeBody(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVectorOf(Extensions);
    }
}

/// <summary>RFC 9420 §8.4 PreSharedKeyID: an external PSK or a resumption PSK, with its nonce.</summary>
public sealed class PreSharedKeyId : ITlsCodec<PreSharedKeyId>
{
    public required PskType PskType { get; init; }

    /// <summary>The external PSK id; empty for resumption.</summary>
    public ReadOnlyMemory<byte> PskId { get; init; }

    /// <summary>Resumption only.</summary>
    public ResumptionPskUsage Usage { get; init; }

    /// <summary>Resumption only.</summary>
    public ReadOnlyMemory<byte> PskGroupId { get; init; }

    /// <summary>Resumption only.</summary>
    public ulong PskEpoch { get; init; }

    public required ReadOnlyMemory<byte> PskNonce { get; init; }

    public static PreSharedKeyId External(ReadOnlyMemory<byte> pskId, ReadOnlyMemory<byte> nonce) =>
        new() { PskType = PskType.External, PskId = pskId, PskNonce = nonce };

    public static PreSharedKeyId Resumption(ResumptionPskUsage usage, ReadOnlyMemory<byte> groupId, ulong epoch, ReadOnlyMemory<byte> nonce) =>
        new() { PskType = PskType.Resumption, Usage = usage, PskGroupId = groupId, PskEpoch = epoch, PskNonce = nonce };

    public static PreSharedKeyId Decode(ref TlsReader reader)
    {
        var type = (PskType)reader.ReadUInt8();
        switch (type)
        {
            case PskType.External:
                return External(reader.ReadVectorBytes(), reader.ReadVectorBytes());
            case PskType.Resumption:
                var usage = (ResumptionPskUsage)reader.ReadUInt8();
                if (usage is not (ResumptionPskUsage.Application or ResumptionPskUsage.ReInit or ResumptionPskUsage.Branch))
                {
                    return TlsThrow.Unknown<PreSharedKeyId>("resumption PSK usage");
                }

                var groupId = reader.ReadVectorBytes();
                var epoch = reader.ReadUInt64();
                return Resumption(usage, groupId, epoch, reader.ReadVectorBytes());
            default:
                return TlsThrow.Unknown<PreSharedKeyId>("PSK type");
        }
    }

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt8((byte)PskType);
        switch (PskType)
        {
            case PskType.External:
                writer.WriteVector(PskId.Span);
                break;
            case PskType.Resumption:
                writer.WriteUInt8((byte)Usage);
                writer.WriteVector(PskGroupId.Span);
                writer.WriteUInt64(PskEpoch);
                break;
            default:
                throw new MlsMisuseException("Unknown PSK type.");
        }

        writer.WriteVector(PskNonce.Span);
    }
}

/// <summary>RFC 9420 §12.4 ProposalOrRef: a proposal by value or a ProposalRef (hash reference).</summary>
public sealed class ProposalOrRef : ITlsCodec<ProposalOrRef>
{
    private ProposalOrRef(Proposal? proposal, ReadOnlyMemory<byte> reference)
    {
        Proposal = proposal;
        Reference = reference;
    }

    public ProposalOrRefType Type => Proposal is not null ? ProposalOrRefType.Proposal : ProposalOrRefType.Reference;

    /// <summary>The proposal when sent by value; null for a reference.</summary>
    public Proposal? Proposal { get; }

    /// <summary>The ProposalRef when sent by reference; empty for a value.</summary>
    public ReadOnlyMemory<byte> Reference { get; }

    public static ProposalOrRef ByValue(Proposal proposal)
    {
        ArgumentNullException.ThrowIfNull(proposal);
        return new(proposal, ReadOnlyMemory<byte>.Empty);
    }

    public static ProposalOrRef ByReference(ReadOnlyMemory<byte> reference) => new(null, reference);

    public static ProposalOrRef Decode(ref TlsReader reader) => (ProposalOrRefType)reader.ReadUInt8() switch
    {
        ProposalOrRefType.Proposal => ByValue(Proposal.Decode(ref reader)),
        ProposalOrRefType.Reference => ByReference(reader.ReadVectorBytes()),
        _ => TlsThrow.Unknown<ProposalOrRef>("proposal-or-ref type"),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteUInt8((byte)Type);
        if (Proposal is not null)
        {
            Proposal.Encode(writer);
        }
        else
        {
            writer.WriteVector(Reference.Span);
        }
    }
}

/// <summary>RFC 9420 §12.4 Commit.</summary>
public sealed class Commit : ITlsCodec<Commit>
{
    public IReadOnlyList<ProposalOrRef> Proposals { get; init; } = [];

    public UpdatePath? Path { get; init; }

    public static Commit Decode(ref TlsReader reader) => new()
    {
        Proposals = reader.ReadVectorOf(ProposalOrRef.Decode),
        Path = reader.ReadOptional(UpdatePath.Decode),
    };

    public void Encode(TlsWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteVectorOf(Proposals);
        writer.WriteOptional(Path);
    }
}
