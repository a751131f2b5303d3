using System.Buffers;
using System.Text.Json;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>messages.json: every field of every entry decodes and re-encodes to the same bytes.</summary>
public class MessagesVectorTests
{
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls("messages.json"));

    public static readonly string[] Fields =
    [
        "mls_welcome", "mls_group_info", "mls_key_package", "ratchet_tree", "group_secrets",
        "add_proposal", "update_proposal", "remove_proposal", "pre_shared_key_proposal", "re_init_proposal",
        "external_init_proposal", "group_context_extensions_proposal", "commit",
        "public_message_application", "public_message_proposal", "public_message_commit", "private_message",
    ];

    public static TheoryData<int, string> Entries()
    {
        var data = new TheoryData<int, string>();
        var count = Vectors.Value.GetArrayLength();
        for (var i = 0; i < count; i++)
        {
            foreach (var field in Fields)
            {
                data.Add(i, field);
            }
        }

        return data;
    }

    [Fact]
    public void The_file_has_300_entries_with_every_field()
    {
        Assert.Equal(300, Vectors.Value.GetArrayLength());
        foreach (var entry in Vectors.Value.EnumerateArray())
        {
            foreach (var field in Fields)
            {
                Assert.Equal(JsonValueKind.String, entry.GetProperty(field).ValueKind);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Field_decodes_and_reencodes_to_the_same_bytes(int index, string field)
    {
        var bytes = Vectors.Value[index].Hex(field);
        Assert.NotEmpty(bytes);

        var reencoded = RoundTrip(field, bytes);

        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(reencoded));
    }

    public static TheoryData<int> Indices()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Vectors.Value.GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Indices))]
    public void Group_info_extension_payloads_decode_as_their_types(int index)
    {
        var groupInfo = Assert.IsType<GroupInfo>(MlsMessage.FromBytes(Vectors.Value[index].Hex("mls_group_info")).Body);
        var extensions = groupInfo.Extensions.Concat(groupInfo.GroupContext.Extensions).ToList();
        Assert.Contains(extensions, e => e.ExtensionType == ExtensionType.RatchetTree);

        foreach (var extension in extensions)
        {
            var data = extension.ExtensionData.ToArray();
            byte[]? reencoded = extension.ExtensionType switch
            {
                ExtensionType.RatchetTree => RatchetTreeNodes.FromBytes(data).ToBytes(),
                ExtensionType.ExternalPub => ExternalPub.FromBytes(data).ToBytes(),
                ExtensionType.RequiredCapabilities => RequiredCapabilities.FromBytes(data).ToBytes(),
                ExtensionType.ExternalSenders => ExternalSenders.FromBytes(data).ToBytes(),
                ExtensionType.ApplicationId => ApplicationIdExtension.FromBytes(data).ToBytes(),
                _ => null,
            };
            if (reencoded is not null)
            {
                Assert.Equal(data, reencoded);
            }
        }
    }

    /// <summary>Decodes <paramref name="bytes"/> as the struct the field holds, checks its kind, and encodes it again.</summary>
    internal static byte[] RoundTrip(string field, byte[] bytes)
    {
        switch (field)
        {
            case "mls_welcome":
                return Message(bytes, WireFormat.Welcome, null);
            case "mls_group_info":
                return Message(bytes, WireFormat.GroupInfo, null);
            case "mls_key_package":
                return Message(bytes, WireFormat.KeyPackage, null);
            case "public_message_application":
                return Message(bytes, WireFormat.PublicMessage, ContentType.Application);
            case "public_message_proposal":
                return Message(bytes, WireFormat.PublicMessage, ContentType.Proposal);
            case "public_message_commit":
                return Message(bytes, WireFormat.PublicMessage, ContentType.Commit);
            case "private_message":
                return Message(bytes, WireFormat.PrivateMessage, null);
            case "ratchet_tree":
                return RatchetTreeNodes.FromBytes(bytes).ToBytes();
            case "group_secrets":
                return GroupSecrets.FromBytes(bytes).ToBytes();
            case "commit":
                return Commit.FromBytes(bytes).ToBytes();
            case "add_proposal":
                return Body(bytes, AddProposal.DecodeBody);
            case "update_proposal":
                return Body(bytes, UpdateProposal.DecodeBody);
            case "remove_proposal":
                return Body(bytes, RemoveProposal.DecodeBody);
            case "pre_shared_key_proposal":
                return Body(bytes, PreSharedKeyProposal.DecodeBody);
            case "re_init_proposal":
                return Body(bytes, ReInitProposal.DecodeBody);
            case "external_init_proposal":
                return Body(bytes, ExternalInitProposal.DecodeBody);
            case "group_context_extensions_proposal":
                return Body(bytes, GroupContextExtensionsProposal.DecodeBody);
            default:
                throw new ArgumentOutOfRangeException(nameof(field), field, "Unknown messages.json field.");
        }
    }

    private static byte[] Message(byte[] bytes, WireFormat expected, ContentType? contentType)
    {
        var message = MlsMessage.FromBytes(bytes);
        Assert.Equal(expected, message.WireFormat);
        if (contentType is not null)
        {
            Assert.Equal(contentType, Assert.IsType<PublicMessage>(message.Body).Content.ContentType);
        }

        return message.ToBytes();
    }

    private static byte[] Body<T>(byte[] bytes, TlsReadFunc<T> decode)
        where T : Proposal
    {
        var reader = new TlsReader(bytes);
        var proposal = decode(ref reader);
        reader.EnsureEnd();

        var buffer = new ArrayBufferWriter<byte>();
        proposal.EncodeBody(new TlsWriter(buffer));

        // The same proposal wrapped with its type also round-trips through Proposal.
        var wrapped = proposal.ToBytes();
        Assert.Equal(wrapped, Proposal.FromBytes(wrapped).ToBytes());

        return buffer.WrittenSpan.ToArray();
    }
}
