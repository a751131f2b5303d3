using System.Security.Cryptography;
using System.Text.Json;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>
/// message-protection.json, wire side: the messages decode and re-encode, and the public messages'
/// signatures and membership tags verify over FramedContentTBS / AuthenticatedContentTBM as built here.
/// </summary>
public class MessageProtectionWireTests
{
    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        var count = TestVectors.LoadMls("message-protection.json").GetArrayLength();
        for (var i = 0; i < count; i++)
        {
            foreach (var kind in new[] { "proposal", "commit" })
            {
                data.Add(i, kind);
            }
        }

        return data;
    }

    private static GroupContext Context(JsonElement entry) => new()
    {
        CipherSuite = (CipherSuite)entry.GetProperty("cipher_suite").GetUInt16(),
        GroupId = entry.Hex("group_id"),
        Epoch = entry.GetProperty("epoch").GetUInt64(),
        TreeHash = entry.Hex("tree_hash"),
        ConfirmedTranscriptHash = entry.Hex("confirmed_transcript_hash"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Public_message_round_trips_and_its_signature_and_membership_tag_verify(int index, string kind)
    {
        var entry = TestVectors.LoadMls("message-protection.json")[index];
        var bytes = entry.Hex(kind + "_pub");
        var message = Assert.IsType<PublicMessage>(MlsMessage.FromBytes(bytes).Body);
        Assert.Equal(bytes, new MlsMessage(message).ToBytes());

        var context = Context(entry);
        Assert.Equal(entry.Hex("group_id"), message.Content.GroupId.ToArray());
        Assert.Equal(SenderType.Member, message.Content.Sender.SenderType);

        // The content is the one given separately in the vector.
        var expectedContent = entry.Hex(kind);
        var content = kind == "proposal"
            ? Assert.IsType<ProposalContent>(message.Content.Content).Proposal.ToBytes()
            : Assert.IsType<CommitContent>(message.Content.Content).Commit.ToBytes();
        Assert.Equal(expectedContent, content);

        var tbs = message.ToAuthenticatedContent().ToBeSignedBytes(context);
        Assert.True(WireSignatures.Verify(entry.Hex("signature_pub"), "FramedContentTBS", tbs, message.Auth.Signature.Span));

        var tag = HMACSHA256.HashData(entry.Hex("membership_key"), message.ToBeMacedBytes(context));
        Assert.Equal(tag, message.MembershipTag!.Value.ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Private_message_round_trips(int index, string kind)
    {
        var entry = TestVectors.LoadMls("message-protection.json")[index];
        var bytes = entry.Hex(kind + "_priv");
        var message = Assert.IsType<PrivateMessage>(MlsMessage.FromBytes(bytes).Body);
        Assert.Equal(bytes, new MlsMessage(message).ToBytes());
        Assert.Equal(kind == "proposal" ? ContentType.Proposal : ContentType.Commit, message.ContentType);
        Assert.Equal(entry.GetProperty("epoch").GetUInt64(), message.Epoch);
    }

    [Fact]
    public void Private_application_message_round_trips()
    {
        var entry = TestVectors.LoadMls("message-protection.json")[0];
        var bytes = entry.Hex("application_priv");
        var message = Assert.IsType<PrivateMessage>(MlsMessage.FromBytes(bytes).Body);
        Assert.Equal(ContentType.Application, message.ContentType);
        Assert.Equal(bytes, new MlsMessage(message).ToBytes());
    }
}
