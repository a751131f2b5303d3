using System.Text.Json;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Framing;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Framing;

/// <summary>
/// message-protection.json: the given public and private messages unprotect to the raw values, and
/// protecting the raw values here gives messages that unprotect again (sender: leaf 1 of 2).
/// </summary>
public class MessageProtectionVectorTests
{
    private static readonly MlsCipherSuite Suite = MlsCipherSuite.Default;

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        var count = TestVectors.LoadMls("message-protection.json").GetArrayLength();
        for (var i = 0; i < count; i++)
        {
            foreach (var kind in new[] { "proposal", "commit", "application" })
            {
                data.Add(i, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Given_public_message_unprotects_to_the_raw_value(int index, string kind)
    {
        var entry = TestVectors.LoadMls("message-protection.json")[index];
        if (kind == "application")
        {
            // No application_pub in the vectors: application data never travels as a PublicMessage.
            Assert.False(entry.TryGetProperty("application_pub", out _));
            return;
        }

        using var membershipKey = new Secret(entry.Hex("membership_key"));
        var message = Assert.IsType<PublicMessage>(MlsMessage.FromBytes(entry.Hex(kind + "_pub")).Body);
        var content = PublicMessageProtection.Unprotect(Suite, message, Context(entry), membershipKey);
        ContentSigning.Verify(Suite, content, Context(entry), entry.Hex("signature_pub"));
        Assert.Equal(entry.Hex(kind), Raw(content.Content.Content));
        Assert.Equal(Sender.Member(1), content.Content.Sender);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Public_message_protected_here_verifies_and_application_data_is_refused(int index, string kind)
    {
        var entry = TestVectors.LoadMls("message-protection.json")[index];
        using var membershipKey = new Secret(entry.Hex("membership_key"));
        using var signer = new Secret(entry.Hex("signature_priv"));
        var framed = Framed(entry, kind);
        var context = Context(entry);

        if (kind == "application")
        {
            Assert.Throws<MlsMisuseException>(() => ContentSigning.SignNonCommit(Suite, WireFormat.PublicMessage, framed, context, signer));
            return;
        }

        var content = Sign(entry, framed, WireFormat.PublicMessage, signer);
        var bytes = new MlsMessage(PublicMessageProtection.Protect(Suite, content, context, membershipKey)).ToBytes();

        var decoded = Assert.IsType<PublicMessage>(MlsMessage.FromBytes(bytes).Body);
        var opened = PublicMessageProtection.Unprotect(Suite, decoded, context, membershipKey);
        ContentSigning.Verify(Suite, opened, context, entry.Hex("signature_pub"));
        Assert.Equal(entry.Hex(kind), Raw(opened.Content.Content));

        // A wrong membership key or a changed byte is rejected.
        using var otherKey = new Secret(new byte[32]);
        Assert.Throws<MlsValidationException>(() => PublicMessageProtection.Unprotect(Suite, decoded, context, otherKey));
        var tampered = (byte[])bytes.Clone();
        tampered[^40] ^= 1;
        Assert.ThrowsAny<MlsException>(() =>
        {
            var m = Assert.IsType<PublicMessage>(MlsMessage.FromBytes(tampered).Body);
            var c = PublicMessageProtection.Unprotect(Suite, m, context, membershipKey);
            ContentSigning.Verify(Suite, c, context, entry.Hex("signature_pub"));
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Given_private_message_unprotects_to_the_raw_value(int index, string kind)
    {
        var entry = TestVectors.LoadMls("message-protection.json")[index];
        using var tree = SecretTree(entry);
        using var senderData = new Secret(entry.Hex("sender_data_secret"));
        var message = Assert.IsType<PrivateMessage>(MlsMessage.FromBytes(entry.Hex(kind + "_priv")).Body);

        var decrypted = PrivateMessageProtection.Unprotect(Suite, message, tree, senderData, _ => true);
        ContentSigning.Verify(Suite, decrypted.Content, Context(entry), entry.Hex("signature_pub"));
        Assert.Equal(entry.Hex(kind), Raw(decrypted.Content.Content.Content));
        Assert.Equal(Sender.Member(1), decrypted.Content.Content.Sender);

        // The same message again: its key is gone (RFC 9420 §9.2 deletion), so it does not decrypt twice.
        Assert.Throws<MlsValidationException>(() => PrivateMessageProtection.Unprotect(Suite, message, tree, senderData, _ => true));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Private_message_protected_here_unprotects(int index, string kind)
    {
        var entry = TestVectors.LoadMls("message-protection.json")[index];
        using var signer = new Secret(entry.Hex("signature_priv"));
        using var senderData = new Secret(entry.Hex("sender_data_secret"));
        var framed = Framed(entry, kind);
        var content = Sign(entry, framed, WireFormat.PrivateMessage, signer);

        byte[] bytes;
        using (var senderTree = SecretTree(entry))
        {
            bytes = new MlsMessage(PrivateMessageProtection.Protect(Suite, content, senderTree, senderData, paddingBlock: 64)).ToBytes();
        }

        using var receiverTree = SecretTree(entry);
        var message = Assert.IsType<PrivateMessage>(MlsMessage.FromBytes(bytes).Body);

        // A non-member sender is refused before a key is used.
        Assert.Throws<MlsValidationException>(() => PrivateMessageProtection.Unprotect(Suite, message, receiverTree, senderData, _ => false));

        var decrypted = PrivateMessageProtection.Unprotect(Suite, message, receiverTree, senderData, _ => true);
        ContentSigning.Verify(Suite, decrypted.Content, Context(entry), entry.Hex("signature_pub"));
        Assert.Equal(entry.Hex(kind), Raw(decrypted.Content.Content.Content));
        Assert.Equal(0u, decrypted.Generation);
    }

    [Fact]
    public void Tampered_private_message_is_rejected()
    {
        var entry = TestVectors.LoadMls("message-protection.json")[0];
        using var senderData = new Secret(entry.Hex("sender_data_secret"));
        var bytes = entry.Hex("application_priv");
        for (var offset = bytes.Length - 20; offset < bytes.Length; offset += 7)
        {
            var tampered = (byte[])bytes.Clone();
            tampered[offset] ^= 0x80;
            using var tree = SecretTree(entry);
            var message = Assert.IsType<PrivateMessage>(MlsMessage.FromBytes(tampered).Body);
            Assert.Throws<MlsValidationException>(() => PrivateMessageProtection.Unprotect(Suite, message, tree, senderData, _ => true));
        }
    }

    private static GroupContext Context(JsonElement entry) => new()
    {
        CipherSuite = (CipherSuite)entry.GetProperty("cipher_suite").GetUInt16(),
        GroupId = entry.Hex("group_id"),
        Epoch = entry.GetProperty("epoch").GetUInt64(),
        TreeHash = entry.Hex("tree_hash"),
        ConfirmedTranscriptHash = entry.Hex("confirmed_transcript_hash"),
    };

    private static SecretTree SecretTree(JsonElement entry)
    {
        using var encryption = new Secret(entry.Hex("encryption_secret"));
        return new SecretTree(Suite, encryption, 2);
    }

    private static FramedContent Framed(JsonElement entry, string kind)
    {
        var raw = entry.Hex(kind);
        ContentBody body = kind switch
        {
            "proposal" => new ProposalContent { Proposal = Proposal.FromBytes(raw) },
            "commit" => new CommitContent { Commit = Commit.FromBytes(raw) },
            _ => new ApplicationContent { Data = raw },
        };
        return new FramedContent
        {
            GroupId = entry.Hex("group_id"),
            Epoch = entry.GetProperty("epoch").GetUInt64(),
            Sender = Sender.Member(1),
            Content = body,
        };
    }

    private static AuthenticatedContent Sign(JsonElement entry, FramedContent framed, WireFormat wireFormat, Secret signer)
    {
        if (framed.ContentType != ContentType.Commit)
        {
            return ContentSigning.SignNonCommit(Suite, wireFormat, framed, Context(entry), signer);
        }

        // Any tag will do for framing: confirmation tags are checked by the group, not here.
        var signature = ContentSigning.Sign(Suite, wireFormat, framed, Context(entry), signer);
        return new AuthenticatedContent
        {
            WireFormat = wireFormat,
            Content = framed,
            Auth = new FramedContentAuthData { Signature = signature, ConfirmationTag = new byte[32] },
        };
    }

    private static byte[] Raw(ContentBody body) => body switch
    {
        ProposalContent p => p.Proposal.ToBytes(),
        CommitContent c => c.Commit.ToBytes(),
        ApplicationContent a => a.Data.ToArray(),
        _ => throw new InvalidOperationException("Unknown content."),
    };
}
