using System.Text.Json;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;
using CipherChat.Mls.Tree;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Tree;

/// <summary>
/// treekem.json: load every member's private state, process every UpdatePath (path secret, commit
/// secret, tree hash after), then create a fresh UpdatePath from each sender that every other
/// member processes to the same commit secret.
/// </summary>
public class TreeKemVectorTests
{
    private const string FileName = "treekem.json";
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls(FileName));
    private static readonly HashSet<LeafIndex> NoNewMembers = [];

    public static TheoryData<string> Cases() => TreeVectorData.Cases(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Private_state_is_consistent_with_the_tree(string caseName)
    {
        var v = TreeVectorData.Entry(Vectors.Value, caseName);
        var tree = RatchetTree.Decode(v.Hex("ratchet_tree"));
        var members = LoadPrivateState(v, tree);
        try
        {
            Assert.NotEmpty(members);
            foreach (var keys in members.Values)
            {
                Assert.NotEmpty(keys.Nodes);
            }
        }
        finally
        {
            Dispose(members);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_update_path_is_processed_by_every_other_member(string caseName)
    {
        var v = TreeVectorData.Entry(Vectors.Value, caseName);
        var tree = RatchetTree.Decode(v.Hex("ratchet_tree"));
        var members = LoadPrivateState(v, tree);
        var context = ContextFactory(v);
        var groupId = v.Hex("group_id");
        try
        {
            foreach (var entry in v.GetProperty("update_paths").EnumerateArray())
            {
                var sender = new LeafIndex(entry.U32("sender"));
                var path = TlsCodec.DecodeExact<UpdatePath>(entry.Hex("update_path"));
                var expectedSecrets = entry.GetProperty("path_secrets");
                var processedBy = 0;
                foreach (var (index, keys) in members)
                {
                    if (index == sender.Value)
                    {
                        continue;
                    }

                    var copy = tree.Clone();
                    using var processed = TreeKem.ProcessUpdatePath(copy, keys, sender, path, groupId, NoNewMembers, [], context);
                    Assert.Equal(expectedSecrets[(int)index].Hex(), processed.PathSecret.ToArray());
                    Assert.Equal(entry.Hex("commit_secret"), processed.CommitSecret.ToArray());
                    Assert.Equal(entry.Hex("tree_hash_after"), copy.TreeHash());
                    Assert.Equal(entry.Hex("tree_hash_after"), processed.TreeHash);
                    processed.Keys.CheckConsistency(copy);
                    processedBy++;
                }

                Assert.Equal(tree.MemberCount - 1, (uint)processedBy);

                // The merged tree is parent-hash valid and its leaves verify.
                var merged = tree.Clone();
                using (TreeKem.ProcessUpdatePath(merged, members.First(m => m.Key != sender.Value).Value, sender, path, groupId, NoNewMembers, [], context))
                {
                    RatchetTreeValidator.Validate(merged, groupId, []);
                }
            }
        }
        finally
        {
            Dispose(members);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_new_update_path_from_each_sender_is_processed_by_every_other_member(string caseName)
    {
        var v = TreeVectorData.Entry(Vectors.Value, caseName);
        var tree = RatchetTree.Decode(v.Hex("ratchet_tree"));
        var members = LoadPrivateState(v, tree);
        var context = ContextFactory(v);
        var groupId = v.Hex("group_id");
        try
        {
            foreach (var leaf in v.GetProperty("leaves_private").EnumerateArray())
            {
                var sender = new LeafIndex(leaf.U32("index"));
                using var signer = SignatureKeyPair.FromPrivateKey(leaf.Hex("signature_priv"));
                var senderTree = tree.Clone();
                using var created = TreeKem.CreateUpdatePath(senderTree, members[sender.Value], signer, groupId, NoNewMembers, context);

                // Round trip through the wire encoding, as a receiver would see it.
                var wirePath = TlsCodec.DecodeExact<UpdatePath>(TlsCodec.Encode(created.Path));
                created.Keys.CheckConsistency(senderTree);
                Assert.Equal(senderTree.TreeHash(), created.TreeHash);

                foreach (var (index, keys) in members)
                {
                    if (index == sender.Value)
                    {
                        continue;
                    }

                    var copy = tree.Clone();
                    using var processed = TreeKem.ProcessUpdatePath(copy, keys, sender, wirePath, groupId, NoNewMembers, [], context);
                    Assert.Equal(created.CommitSecret.ToArray(), processed.CommitSecret.ToArray());
                    Assert.Equal(created.TreeHash, copy.TreeHash());
                    Assert.Equal(senderTree.Encode(), copy.Encode());
                }

                RatchetTreeValidator.Validate(senderTree, groupId, []);
            }
        }
        finally
        {
            Dispose(members);
        }
    }

    private static Dictionary<uint, TreePrivateKeys> LoadPrivateState(JsonElement v, RatchetTree tree)
    {
        var members = new Dictionary<uint, TreePrivateKeys>();
        foreach (var leaf in v.GetProperty("leaves_private").EnumerateArray())
        {
            var index = new LeafIndex(leaf.U32("index"));
            using var leafKey = new Secret(leaf.Hex("encryption_priv"));
            var keys = TreePrivateKeys.ForLeaf(index, leafKey);
            foreach (var secret in leaf.GetProperty("path_secrets").EnumerateArray())
            {
                keys.SetPathSecret(new NodeIndex(secret.U32("node")), secret.Hex("path_secret"));
            }

            keys.CheckConsistency(tree);
            members.Add(index.Value, keys);
        }

        return members;
    }

    private static Func<byte[], GroupContext> ContextFactory(JsonElement v)
    {
        var groupId = v.Hex("group_id");
        var epoch = v.U64("epoch");
        var confirmed = v.Hex("confirmed_transcript_hash");
        var suite = (CipherSuite)v.U32("cipher_suite");
        return treeHash => new GroupContext
        {
            CipherSuite = suite,
            GroupId = groupId,
            Epoch = epoch,
            TreeHash = treeHash,
            ConfirmedTranscriptHash = confirmed,
            Extensions = [],
        };
    }

    private static void Dispose(Dictionary<uint, TreePrivateKeys> members)
    {
        foreach (var keys in members.Values)
        {
            keys.Dispose();
        }
    }
}
