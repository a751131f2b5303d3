using System.Buffers;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Messages;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>Every decodable wire struct as a "decode the whole buffer, then encode again" function.</summary>
internal static class WireCodecs
{
    public static readonly IReadOnlyList<(string Name, Func<byte[], byte[]> RoundTrip)> All =
    [
        (nameof(MlsMessage), static b => MlsMessage.FromBytes(b).ToBytes()),
        (nameof(PublicMessage), static b => PublicMessage.FromBytes(b).ToBytes()),
        (nameof(PrivateMessage), static b => PrivateMessage.FromBytes(b).ToBytes()),
        (nameof(Welcome), static b => Welcome.FromBytes(b).ToBytes()),
        (nameof(GroupInfo), static b => GroupInfo.FromBytes(b).ToBytes()),
        (nameof(KeyPackage), static b => KeyPackage.FromBytes(b).ToBytes()),
        (nameof(RatchetTreeNodes), static b => RatchetTreeNodes.FromBytes(b).ToBytes()),
        (nameof(Node), static b => Node.FromBytes(b).ToBytes()),
        (nameof(LeafNode), static b => LeafNode.FromBytes(b).ToBytes()),
        (nameof(ParentNode), static b => ParentNode.FromBytes(b).ToBytes()),
        (nameof(GroupSecrets), static b => { using var s = GroupSecrets.FromBytes(b); return s.ToBytes(); }),
        (nameof(EncryptedGroupSecrets), static b => EncryptedGroupSecrets.FromBytes(b).ToBytes()),
        (nameof(GroupContext), static b => GroupContext.FromBytes(b).ToBytes()),
        (nameof(Commit), static b => Commit.FromBytes(b).ToBytes()),
        (nameof(Proposal), static b => Proposal.FromBytes(b).ToBytes()),
        (nameof(ProposalOrRef), static b => ProposalOrRef.FromBytes(b).ToBytes()),
        (nameof(AddProposal), static b => Body(b, AddProposal.DecodeBody)),
        (nameof(UpdateProposal), static b => Body(b, UpdateProposal.DecodeBody)),
        (nameof(RemoveProposal), static b => Body(b, RemoveProposal.DecodeBody)),
        (nameof(PreSharedKeyProposal), static b => Body(b, PreSharedKeyProposal.DecodeBody)),
        (nameof(ReInitProposal), static b => Body(b, ReInitProposal.DecodeBody)),
        (nameof(ExternalInitProposal), static b => Body(b, ExternalInitProposal.DecodeBody)),
        (nameof(GroupContextExtensionsProposal), static b => Body(b, GroupContextExtensionsProposal.DecodeBody)),
        (nameof(PreSharedKeyId), static b => PreSharedKeyId.FromBytes(b).ToBytes()),
        (nameof(UpdatePath), static b => UpdatePath.FromBytes(b).ToBytes()),
        (nameof(HpkeCiphertext), static b => HpkeCiphertext.FromBytes(b).ToBytes()),
        (nameof(FramedContent), static b => FramedContent.FromBytes(b).ToBytes()),
        (nameof(AuthenticatedContent), static b => AuthenticatedContent.FromBytes(b).ToBytes()),
        (nameof(Credential), static b => Credential.FromBytes(b).ToBytes()),
        (nameof(Capabilities), static b => Capabilities.FromBytes(b).ToBytes()),
        (nameof(Extension), static b => Extension.FromBytes(b).ToBytes()),
        (nameof(ExternalSenders), static b => ExternalSenders.FromBytes(b).ToBytes()),
        (nameof(RequiredCapabilities), static b => RequiredCapabilities.FromBytes(b).ToBytes()),
        (nameof(SenderData), static b => SenderData.FromBytes(b).ToBytes()),
        (nameof(Sender), static b => Sender.FromBytes(b).ToBytes()),
        ("PrivateMessageContent(application)", static b => PrivateMessageContent.Decode(b, ContentType.Application).ToBytes()),
        ("PrivateMessageContent(proposal)", static b => PrivateMessageContent.Decode(b, ContentType.Proposal).ToBytes()),
        ("PrivateMessageContent(commit)", static b => PrivateMessageContent.Decode(b, ContentType.Commit).ToBytes()),
    ];

    /// <summary>The struct each messages.json field holds.</summary>
    public static Func<byte[], byte[]> ForField(string field) => field switch
    {
        "ratchet_tree" => Named(nameof(RatchetTreeNodes)),
        "group_secrets" => Named(nameof(GroupSecrets)),
        "commit" => Named(nameof(Commit)),
        "add_proposal" => Named(nameof(AddProposal)),
        "update_proposal" => Named(nameof(UpdateProposal)),
        "remove_proposal" => Named(nameof(RemoveProposal)),
        "pre_shared_key_proposal" => Named(nameof(PreSharedKeyProposal)),
        "re_init_proposal" => Named(nameof(ReInitProposal)),
        "external_init_proposal" => Named(nameof(ExternalInitProposal)),
        "group_context_extensions_proposal" => Named(nameof(GroupContextExtensionsProposal)),
        _ => Named(nameof(MlsMessage)),
    };

    public static Func<byte[], byte[]> Named(string name) => All.Single(c => c.Name == name).RoundTrip;

    private static byte[] Body<T>(byte[] bytes, TlsReadFunc<T> decode)
        where T : Proposal
    {
        var reader = new TlsReader(bytes);
        var proposal = decode(ref reader);
        reader.EnsureEnd();
        var buffer = new ArrayBufferWriter<byte>();
        proposal.EncodeBody(new TlsWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
