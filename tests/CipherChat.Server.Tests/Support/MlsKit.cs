using System.Text;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;
using CipherChat.Protocol.V1;
using Google.Protobuf;
using NSec.Cryptography;
using CipherSuite = CipherChat.Mls.Messages.CipherSuite;

namespace CipherChat.Server.Tests.Support;

/// <summary>Real MLS bytes for driving the delivery service: KeyPackages, commits and Welcomes.</summary>
public static class MlsKit
{
    /// <summary>The client's device key as an MLS signature key (the same Ed25519 seed).</summary>
    public static SignatureKeyPair Signer(TestClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return SignatureKeyPair.FromPrivateKey(client.Key!.Export(KeyBlobFormat.RawPrivateKey));
    }

    /// <summary>A KeyPackage bundle of <paramref name="identity"/> signed with <paramref name="signer"/>.</summary>
    public static KeyPackageBundle Bundle(string identity, SignatureKeyPair signer) =>
        KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic(Encoding.UTF8.GetBytes(identity)), signer);

    /// <summary>A valid KeyPackage of the client's user and device key.</summary>
    public static byte[] KeyPackageOf(TestClient client)
    {
        using var signer = Signer(client);
        using var bundle = Bundle(client.Username!, signer);
        return bundle.KeyPackage.ToBytes();
    }

    /// <summary>A correctly signed KeyPackage that names another cipher suite.</summary>
    public static byte[] KeyPackageWithSuite(TestClient client, ushort suiteId)
    {
        using var signer = Signer(client);
        using var bundle = Bundle(client.Username!, signer);
        var original = bundle.KeyPackage;
        var unsigned = new KeyPackage
        {
            CipherSuite = (CipherSuite)suiteId,
            InitKey = original.InitKey,
            LeafNode = original.LeafNode,
            Extensions = original.Extensions,
            Signature = ReadOnlyMemory<byte>.Empty,
        };
        var resigned = new KeyPackage
        {
            CipherSuite = unsigned.CipherSuite,
            InitKey = unsigned.InitKey,
            LeafNode = unsigned.LeafNode,
            Extensions = unsigned.Extensions,
            Signature = MlsCipherSuite.Default.SignWithLabel(signer.PrivateKey, "KeyPackageTBS", unsigned.ToBeSignedBytes()),
        };
        return resigned.ToBytes();
    }

    public static byte[] GroupId(byte seed) => Enumerable.Repeat(seed, 16).ToArray();

    /// <summary>
    /// A well-formed MLSMessage PublicMessage commit for <paramref name="epoch"/>, for tests where the
    /// server's routing matters and no client has to process it (its signature and tags are filler).
    /// </summary>
    public static byte[] Commit(ulong epoch, byte seed = 0)
    {
        var message = new PublicMessage
        {
            Content = new FramedContent
            {
                GroupId = GroupId(1),
                Epoch = epoch,
                Sender = Sender.Member(seed),
                Content = new CommitContent { Commit = new CipherChat.Mls.Messages.Commit() },
            },
            Auth = new FramedContentAuthData { Signature = new byte[64], ConfirmationTag = new byte[32] },
            MembershipTag = new byte[32],
        };
        return new MlsMessage(message).ToBytes();
    }

    /// <summary>A well-formed MLSMessage Welcome (its contents are filler).</summary>
    public static byte[] Welcome(byte seed) =>
        new MlsMessage(new CipherChat.Mls.Messages.Welcome
        {
            CipherSuite = CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519,
            Secrets = [],
            EncryptedGroupInfo = Enumerable.Repeat(seed, 48).ToArray(),
        }).ToBytes();

    public static Frame Upload(IEnumerable<byte[]> oneTime, byte[]? lastResort = null)
    {
        var upload = new UploadKeyPackages { LastResort = ByteString.CopyFrom(lastResort ?? []) };
        upload.KeyPackages.AddRange(oneTime.Select(ByteString.CopyFrom));
        return new Frame { UploadKeyPackages = upload };
    }

    public static Frame CreateRoom(string room, byte[] groupId, bool adminsOnly = false) =>
        new() { CreateRoom = new CreateRoom { Room = room, GroupId = ByteString.CopyFrom(groupId), Policy = new RoomPolicy { AdminsOnlyMembership = adminsOnly } } };

    public static Frame SubmitCommit(string room, ulong epoch, byte[]? commit = null, string[]? added = null, string[]? removed = null, (string User, byte[] Welcome)[]? welcomes = null, byte[]? clientMessageId = null)
    {
        var request = new SubmitCommit
        {
            Room = room,
            Epoch = epoch,
            ClientMessageId = ByteString.CopyFrom(clientMessageId ?? Guid.NewGuid().ToByteArray()),
            Commit = ByteString.CopyFrom(commit ?? Commit(epoch)),
        };
        request.Added.AddRange(added ?? []);
        request.Removed.AddRange(removed ?? []);
        foreach (var (user, welcome) in welcomes ?? [])
        {
            request.Welcomes.Add(new WelcomeFor { User = user, Welcome = ByteString.CopyFrom(welcome) });
        }

        return new Frame { SubmitCommit = request };
    }
}
