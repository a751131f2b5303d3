using System.Text;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>A client with fresh keys and a signed key_package leaf node.</summary>
internal sealed class TestClient : IDisposable
{
    public TestClient(string name, ulong notBefore = 0, ulong notAfter = ulong.MaxValue)
    {
        Signer = SignatureKeyPair.Generate();
        Encryption = MlsCipherSuite.Default.GenerateHpkeKeyPair();
        var unsigned = new LeafNode
        {
            EncryptionKey = Encryption.PublicKey,
            SignatureKey = Signer.PublicKey,
            Credential = Credential.Basic(Encoding.UTF8.GetBytes(name)),
            Capabilities = DefaultCapabilities,
            LeafNodeSource = LeafNodeSource.KeyPackage,
            Lifetime = new Lifetime { NotBefore = notBefore, NotAfter = notAfter },
            Signature = ReadOnlyMemory<byte>.Empty,
        };
        Leaf = Sign(unsigned, Signer, null, default);
    }

    public static Capabilities DefaultCapabilities { get; } = new()
    {
        Versions = [ProtocolVersion.Mls10],
        CipherSuites = [CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519],
        Credentials = [CredentialType.Basic],
    };

    public SignatureKeyPair Signer { get; }

    public HpkeKeyPair Encryption { get; }

    public LeafNode Leaf { get; }

    /// <summary>A copy of <paramref name="leaf"/> with a fresh signature over its content.</summary>
    public static LeafNode Sign(LeafNode leaf, SignatureKeyPair signer, LeafIndex? index, ReadOnlySpan<byte> groupId)
    {
        var tbs = index is null ? leaf.ToBeSignedBytes() : leaf.ToBeSignedBytes(groupId, index.Value.Value);
        return With(leaf, signature: MlsCipherSuite.Default.SignWithLabel(signer.PrivateKey, "LeafNodeTBS", tbs));
    }

    public static LeafNode With(
        LeafNode leaf,
        ReadOnlyMemory<byte>? encryptionKey = null,
        ReadOnlyMemory<byte>? signatureKey = null,
        Capabilities? capabilities = null,
        LeafNodeSource? source = null,
        ReadOnlyMemory<byte>? signature = null) => new()
        {
            EncryptionKey = encryptionKey ?? leaf.EncryptionKey,
            SignatureKey = signatureKey ?? leaf.SignatureKey,
            Credential = leaf.Credential,
            Capabilities = capabilities ?? leaf.Capabilities,
            LeafNodeSource = source ?? leaf.LeafNodeSource,
            Lifetime = (source ?? leaf.LeafNodeSource) == LeafNodeSource.KeyPackage ? leaf.Lifetime ?? new Lifetime { NotBefore = 0, NotAfter = ulong.MaxValue } : null,
            ParentHash = (source ?? leaf.LeafNodeSource) == LeafNodeSource.Commit ? leaf.ParentHash ?? ReadOnlyMemory<byte>.Empty : (ReadOnlyMemory<byte>?)null,
            Extensions = leaf.Extensions,
            Signature = signature ?? leaf.Signature,
        };

    public void Dispose()
    {
        Signer.Dispose();
        Encryption.Dispose();
    }
}

/// <summary>
/// A group built through the tree API alone: every member holds its own tree copy and private keys,
/// as real members would, so that the tests exercise TreeKEM end to end.
/// </summary>
internal sealed class TestGroup : IDisposable
{
    private static readonly byte[] ConfirmedTranscriptHash = new byte[32];

    private readonly Dictionary<uint, TestClient> _clients = [];
    private readonly Dictionary<uint, TreePrivateKeys> _keys = [];
    private ulong _epoch;

    public TestGroup(string creator)
    {
        var client = new TestClient(creator);
        Tree = RatchetTree.Create(client.Leaf);
        _clients[0] = client;
        _keys[0] = TreePrivateKeys.ForLeaf(new LeafIndex(0), client.Encryption.PrivateKey);
    }

    public byte[] GroupId { get; } = Encoding.UTF8.GetBytes("tree test group");

    /// <summary>The agreed tree of the current epoch.</summary>
    public RatchetTree Tree { get; private set; }

    public IReadOnlyDictionary<uint, TreePrivateKeys> Keys => _keys;

    public TestClient Client(uint leaf) => _clients[leaf];

    public GroupContext Context(byte[] treeHash) => new()
    {
        CipherSuite = CipherSuite.Mls128DhKemX25519Aes128GcmSha256Ed25519,
        GroupId = GroupId,
        Epoch = _epoch + 1,
        TreeHash = treeHash,
        ConfirmedTranscriptHash = ConfirmedTranscriptHash,
    };

    /// <summary>
    /// <paramref name="committer"/> adds the named clients and removes the given leaves with a
    /// path; every other existing member processes it; new members join with their path secret.
    /// Returns the commit secret all agreed on.
    /// </summary>
    public byte[] Commit(uint committer, string[]? add = null, uint[]? remove = null)
    {
        var next = Tree.Clone();
        foreach (var leaf in remove ?? [])
        {
            next.RemoveLeaf(new LeafIndex(leaf));
            _clients.Remove(leaf, out var gone);
            gone?.Dispose();
            _keys.Remove(leaf, out var goneKeys);
            goneKeys?.Dispose();
        }

        var joiners = new Dictionary<uint, TestClient>();
        foreach (var name in add ?? [])
        {
            var client = new TestClient(name);
            joiners[next.AddLeaf(client.Leaf).Value] = client;
        }

        var newMembers = joiners.Keys.Select(l => new LeafIndex(l)).ToHashSet();
        var committerTree = next.Clone();
        using var committerKeys = _keys[committer].WithoutStaleKeys(next);
        using var created = TreeKem.CreateUpdatePath(
            committerTree, committerKeys, _clients[committer].Signer, GroupId, newMembers, Context);
        var commitSecret = created.CommitSecret.ToArray();

        var newKeys = new Dictionary<uint, TreePrivateKeys>();
        foreach (var (leaf, keys) in _keys)
        {
            if (leaf == committer)
            {
                continue;
            }

            var receiverTree = next.Clone();
            using var processed = TreeKem.ProcessUpdatePath(
                receiverTree, keys, new LeafIndex(committer), created.Path, GroupId, newMembers, [], Context);
            Assert.Equal(commitSecret, processed.CommitSecret.ToArray());
            Assert.Equal(committerTree.Encode(), receiverTree.Encode());
            newKeys[leaf] = processed.TakeKeys();
        }

        newKeys[committer] = created.TakeKeys();
        foreach (var (leaf, client) in joiners)
        {
            var pathSecret = created.PathSecretFor(new LeafIndex(leaf));
            newKeys[leaf] = TreeKem.KeysForJoiner(
                committerTree, new LeafIndex(leaf), client.Encryption.PrivateKey, new LeafIndex(committer),
                pathSecret is null ? [] : pathSecret.Span);
            _clients[leaf] = client;
        }

        foreach (var keys in _keys.Values)
        {
            keys.Dispose();
        }

        _keys.Clear();
        foreach (var (leaf, keys) in newKeys)
        {
            _keys[leaf] = keys;
            keys.CheckConsistency(committerTree);
        }

        Tree = committerTree;
        _epoch++;
        return commitSecret;
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        foreach (var keys in _keys.Values)
        {
            keys.Dispose();
        }
    }
}
