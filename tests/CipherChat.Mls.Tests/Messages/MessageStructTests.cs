using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>Hand-built structs: the cases the vector files do not reach, and the misuse checks.</summary>
public class MessageStructTests
{
    private static byte[] Bytes(string hex) => Convert.FromHexString(hex);

    private static LeafNode Leaf(LeafNodeSource source, Lifetime? lifetime = null, ReadOnlyMemory<byte>? parentHash = null) => new()
    {
        EncryptionKey = Bytes("0102"),
        SignatureKey = Bytes("0304"),
        Credential = Credential.Basic(Bytes("616c696365")),
        Capabilities = new Capabilities
        {
            Versions = [ProtocolVersion.Mls10],
            CipherSuites = [CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519, (CipherSuite)0x0a0a],
            Extensions = [(ExtensionType)0xfafa],
        },
        LeafNodeSource = source,
        Lifetime = lifetime,
        ParentHash = parentHash,
        Signature = Bytes("aabbccdd"),
    };

    [Fact]
    public void Group_secrets_without_path_secret_round_trip_as_absent()
    {
        using var secrets = new GroupSecrets
        {
            JoinerSecret = new Secret(Bytes("11223344")),
            Psks = [PreSharedKeyId.External(Bytes("aa"), Bytes("bb"))],
        };
        var bytes = secrets.ToBytes();
        Assert.Equal("0411223344" + "00" + "05" + "0101aa01bb", Convert.ToHexString(bytes).ToLowerInvariant());

        using var decoded = GroupSecrets.FromBytes(bytes);
        Assert.Null(decoded.PathSecret);
        Assert.True(decoded.JoinerSecret.Equals(Bytes("11223344")));
        Assert.Equal("***", decoded.JoinerSecret.ToString());
        Assert.Equal(bytes, decoded.ToBytes());
    }

    [Fact]
    public void Group_secrets_with_an_empty_path_secret_keep_it_present()
    {
        using var secrets = new GroupSecrets { JoinerSecret = new Secret([1]), PathSecret = new Secret([]) };
        using var decoded = GroupSecrets.FromBytes(secrets.ToBytes());
        Assert.NotNull(decoded.PathSecret);
        Assert.Equal(0, decoded.PathSecret.Length);
    }

    [Fact]
    public void Resumption_psk_id_round_trips()
    {
        var id = PreSharedKeyId.Resumption(ResumptionPskUsage.Branch, Bytes("0a0b"), 0x0102030405060708, Bytes("ff"));
        var bytes = id.ToBytes();
        Assert.Equal("02" + "03" + "020a0b" + "0102030405060708" + "01ff", Convert.ToHexString(bytes).ToLowerInvariant());
        var decoded = PreSharedKeyId.FromBytes(bytes);
        Assert.Equal(ResumptionPskUsage.Branch, decoded.Usage);
        Assert.Equal(0x0102030405060708UL, decoded.PskEpoch);
        Assert.Equal(bytes, decoded.ToBytes());
    }

    [Theory]
    [InlineData("00" + "0100")]
    [InlineData("03" + "0100")]
    [InlineData("02" + "00" + "00" + "0000000000000000" + "00")]
    [InlineData("02" + "04" + "00" + "0000000000000000" + "00")]
    public void Unknown_psk_types_and_usages_are_rejected(string hex)
    {
        var ex = Assert.Throws<MlsDecodeException>(() => PreSharedKeyId.FromBytes(Bytes(hex)));
        Assert.Equal(MlsDecodeError.UnknownValue, ex.Error);
    }

    [Fact]
    public void X509_credential_round_trips_with_its_certificate_chain()
    {
        var credential = Credential.X509([Bytes("3082"), Bytes("308203")]);
        var bytes = credential.ToBytes();
        Assert.Equal("0002" + "07" + "023082" + "03308203", Convert.ToHexString(bytes).ToLowerInvariant());
        var decoded = Credential.FromBytes(bytes);
        Assert.Equal(CredentialType.X509, decoded.CredentialType);
        Assert.Equal(2, decoded.Certificates.Count);
        Assert.Equal(bytes, decoded.ToBytes());
    }

    [Fact]
    public void Unknown_credential_types_are_rejected()
    {
        var ex = Assert.Throws<MlsDecodeException>(() => Credential.FromBytes(Bytes("0a0a" + "00")));
        Assert.Equal(MlsDecodeError.UnknownValue, ex.Error);
    }

    [Theory]
    [InlineData(LeafNodeSource.KeyPackage)]
    [InlineData(LeafNodeSource.Update)]
    [InlineData(LeafNodeSource.Commit)]
    public void Leaf_nodes_of_every_source_round_trip(LeafNodeSource source)
    {
        var leaf = Leaf(
            source,
            source == LeafNodeSource.KeyPackage ? new Lifetime { NotBefore = 1, NotAfter = 2 } : null,
            // Cast: a null byte[] would convert to an empty but present memory.
            source == LeafNodeSource.Commit ? Bytes("5050") : (ReadOnlyMemory<byte>?)null);
        var bytes = leaf.ToBytes();
        var decoded = LeafNode.FromBytes(bytes);
        Assert.Equal(source, decoded.LeafNodeSource);
        Assert.Equal((CipherSuite)0x0a0a, decoded.Capabilities.CipherSuites[1]);
        Assert.Equal(bytes, decoded.ToBytes());
    }

    [Fact]
    public void Leaf_node_tbs_appends_group_id_and_index_for_update_and_commit_only()
    {
        var fromKeyPackage = Leaf(LeafNodeSource.KeyPackage, new Lifetime { NotBefore = 1, NotAfter = 2 });
        var content = fromKeyPackage.ToBytes()[..^5];
        Assert.Equal(content, fromKeyPackage.ToBeSignedBytes());
        Assert.Equal(content, fromKeyPackage.ToBeSignedBytes(Bytes("abcd"), 7));

        var update = Leaf(LeafNodeSource.Update);
        Assert.Equal([.. update.ToBytes()[..^5], 0x02, 0xab, 0xcd, 0, 0, 0, 7], update.ToBeSignedBytes(Bytes("abcd"), 7));
        Assert.Throws<MlsMisuseException>(() => update.ToBeSignedBytes());
    }

    [Fact]
    public void Leaf_nodes_missing_the_field_their_source_selects_cannot_be_encoded()
    {
        Assert.Throws<MlsMisuseException>(() => Leaf(LeafNodeSource.KeyPackage).ToBytes());
        Assert.Throws<MlsMisuseException>(() => Leaf(LeafNodeSource.Commit).ToBytes());
    }

    [Fact]
    public void Fields_the_source_does_not_select_are_not_encoded()
    {
        var plain = Leaf(LeafNodeSource.Update).ToBytes();
        Assert.Equal(plain, Leaf(LeafNodeSource.Update, new Lifetime { NotBefore = 1, NotAfter = 2 }, Bytes("5050")).ToBytes());

        var decoded = LeafNode.FromBytes(plain);
        Assert.Null(decoded.Lifetime);
        Assert.Null(decoded.ParentHash);
    }

    [Theory]
    [InlineData("00")]
    [InlineData("04")]
    public void Unknown_leaf_node_sources_are_rejected(string sourceHex)
    {
        var update = Leaf(LeafNodeSource.Update).ToBytes();

        // encryption_key(3) signature_key(3) credential(2+1+5) capabilities(...) then the source octet.
        var reader = new TlsReader(update.AsSpan(14));
        Capabilities.Decode(ref reader);
        var at = update.Length - reader.Remaining;
        Assert.Equal((byte)LeafNodeSource.Update, update[at]);
        update[at] = Bytes(sourceHex)[0];

        var ex = Assert.Throws<MlsDecodeException>(() => LeafNode.FromBytes(update));
        Assert.Equal(MlsDecodeError.UnknownValue, ex.Error);
    }

    [Theory]
    [InlineData("01" + "00000005", SenderType.Member, 5u)]
    [InlineData("02" + "00000001", SenderType.External, 1u)]
    [InlineData("03", SenderType.NewMemberProposal, 0u)]
    [InlineData("04", SenderType.NewMemberCommit, 0u)]
    public void Senders_round_trip(string hex, SenderType type, uint index)
    {
        var sender = Sender.FromBytes(Bytes(hex));
        Assert.Equal(new Sender(type, index), sender);
        Assert.Equal(Bytes(hex), sender.ToBytes());
    }

    [Theory]
    [InlineData("00")]
    [InlineData("05")]
    public void Unknown_sender_types_are_rejected(string hex)
    {
        Assert.Throws<MlsDecodeException>(() => Sender.FromBytes(Bytes(hex)));
    }

    [Fact]
    public void Unknown_proposal_types_are_rejected()
    {
        var ex = Assert.Throws<MlsDecodeException>(() => Proposal.FromBytes(Bytes("0008" + "00")));
        Assert.Equal(MlsDecodeError.UnknownValue, ex.Error);
    }

    [Fact]
    public void Proposal_references_round_trip_in_a_commit()
    {
        var commit = new Commit
        {
            Proposals = [ProposalOrRef.ByReference(Bytes("0102")), ProposalOrRef.ByValue(new RemoveProposal { Removed = 3 })],
        };
        var bytes = commit.ToBytes();
        Assert.Equal("0b" + "02020102" + "01000300000003" + "00", Convert.ToHexString(bytes).ToLowerInvariant());
        var decoded = Commit.FromBytes(bytes);
        Assert.Equal(ProposalOrRefType.Reference, decoded.Proposals[0].Type);
        Assert.Equal(3u, Assert.IsType<RemoveProposal>(decoded.Proposals[1].Proposal).Removed);
        Assert.Null(decoded.Path);
    }

    [Fact]
    public void Messages_of_other_versions_and_unknown_wire_formats_are_rejected()
    {
        var keyPackage = TestVectors.LoadMls("messages.json")[0].Hex("mls_key_package");

        byte[] otherVersion = [.. keyPackage];
        otherVersion[1] = 2;
        Assert.Equal(MlsDecodeError.UnsupportedVersion, Assert.Throws<MlsDecodeException>(() => MlsMessage.FromBytes(otherVersion)).Error);

        byte[] unknownFormat = [.. keyPackage];
        unknownFormat[3] = 6;
        Assert.Equal(MlsDecodeError.UnknownValue, Assert.Throws<MlsDecodeException>(() => MlsMessage.FromBytes(unknownFormat)).Error);
    }

    [Fact]
    public void A_public_message_from_a_member_needs_a_membership_tag_and_others_must_not_have_one()
    {
        var content = new FramedContent
        {
            GroupId = Bytes("01"),
            Epoch = 1,
            Sender = Sender.Member(0),
            Content = new ApplicationContent { Data = Bytes("02") },
        };
        var auth = new FramedContentAuthData { Signature = Bytes("03") };
        Assert.Throws<MlsMisuseException>(() => new PublicMessage { Content = content, Auth = auth }.ToBytes());

        var external = new FramedContent
        {
            GroupId = Bytes("01"),
            Epoch = 1,
            Sender = Sender.External(0),
            Content = new ProposalContent { Proposal = new RemoveProposal { Removed = 1 } },
        };
        Assert.Throws<MlsMisuseException>(() => new PublicMessage { Content = external, Auth = auth, MembershipTag = Bytes("04") }.ToBytes());

        var good = new PublicMessage { Content = external, Auth = auth };
        var decoded = PublicMessage.FromBytes(good.ToBytes());
        Assert.Null(decoded.MembershipTag);
        Assert.Null(decoded.Auth.ConfirmationTag);
    }

    [Fact]
    public void Commit_content_needs_a_confirmation_tag()
    {
        var auth = new FramedContentAuthData { Signature = Bytes("03") };
        var body = new CommitContent { Commit = new Commit() };
        Assert.Throws<MlsMisuseException>(() => new PrivateMessageContent { Content = body, Auth = auth }.ToBytes());
    }

    [Fact]
    public void Private_message_content_padding_must_be_zero()
    {
        var content = new PrivateMessageContent
        {
            Content = new ApplicationContent { Data = Bytes("68656c6c6f") },
            Auth = new FramedContentAuthData { Signature = Bytes("0102") },
            PaddingLength = 300,
        };
        var bytes = content.ToBytes();
        Assert.Equal(6 + 3 + 300, bytes.Length);

        var decoded = PrivateMessageContent.Decode(bytes, ContentType.Application);
        Assert.Equal(300, decoded.PaddingLength);
        Assert.Equal(bytes, decoded.ToBytes());

        bytes[^1] = 1;
        Assert.Throws<MlsDecodeException>(() => PrivateMessageContent.Decode(bytes, ContentType.Application));
    }

    [Fact]
    public void Sender_data_has_a_four_byte_reuse_guard()
    {
        var data = new SenderData { LeafIndex = 1, Generation = 2, ReuseGuard = Bytes("0a0b0c0d") };
        Assert.Equal("00000001" + "00000002" + "0a0b0c0d", Convert.ToHexString(data.ToBytes()).ToLowerInvariant());
        Assert.Throws<MlsMisuseException>(() => new SenderData { LeafIndex = 1, Generation = 2, ReuseGuard = Bytes("0a0b0c") });
        Assert.Throws<MlsDecodeException>(() => SenderData.FromBytes(Bytes("0000000100000002" + "0a0b0c")));
    }

    [Fact]
    public void Ratchet_tree_keeps_blank_nodes()
    {
        var tree = new RatchetTreeNodes
        {
            Nodes = [Node.FromLeaf(Leaf(LeafNodeSource.Update)), null, Node.FromParent(new ParentNode { EncryptionKey = Bytes("09"), ParentHash = default, UnmergedLeaves = [0u, 1u] })],
        };
        var decoded = RatchetTreeNodes.FromBytes(tree.ToBytes());
        Assert.Equal(3, decoded.Nodes.Count);
        Assert.Null(decoded.Nodes[1]);
        Assert.Equal(NodeType.Parent, decoded.Nodes[2]!.NodeType);
        Assert.Equal([0u, 1u], decoded.Nodes[2]!.Parent!.UnmergedLeaves);
        Assert.Equal(tree.ToBytes(), decoded.ToBytes());
    }

    [Fact]
    public void Extension_payloads_round_trip()
    {
        var required = new RequiredCapabilities { ExtensionTypes = [ExtensionType.ExternalSenders], ProposalTypes = [], CredentialTypes = [CredentialType.Basic] };
        Assert.Equal("020005" + "00" + "020001", Convert.ToHexString(required.ToBytes()).ToLowerInvariant());
        Assert.Equal(required.ToBytes(), RequiredCapabilities.FromBytes(required.ToBytes()).ToBytes());

        var senders = new ExternalSenders { Senders = [new ExternalSender { SignatureKey = Bytes("0102"), Credential = Credential.Basic(Bytes("62")) }] };
        Assert.Equal(senders.ToBytes(), ExternalSenders.FromBytes(senders.ToBytes()).ToBytes());

        var pub = new ExternalPub { PublicKey = Bytes("0a") };
        Assert.Equal(Bytes("010a"), pub.ToBytes());
    }

    [Fact]
    public void Decoded_values_do_not_alias_the_input_buffer()
    {
        var bytes = TestVectors.LoadMls("messages.json")[0].Hex("mls_key_package");
        var keyPackage = Assert.IsType<KeyPackage>(MlsMessage.FromBytes(bytes).Body);
        var initKey = keyPackage.InitKey.ToArray();
        Array.Clear(bytes);
        Assert.Equal(initKey, keyPackage.InitKey.ToArray());
    }
}
