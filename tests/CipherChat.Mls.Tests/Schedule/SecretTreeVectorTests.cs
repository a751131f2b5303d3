using System.Text.Json;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tests.Support;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Schedule;

/// <summary>secret-tree.json: sender-data key and nonce, and every leaf's ratchet keys at every listed generation.</summary>
public class SecretTreeVectorTests
{
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls("secret-tree.json"));

    private static MlsCipherSuite Suite => MlsCipherSuite.Default;

    public static TheoryData<int> Entries()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Vectors.Value.GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void All_three_entries_are_present()
    {
        Assert.Equal(3, Vectors.Value.GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Sender_data_matches(int index)
    {
        var v = Vectors.Value[index].GetProperty("sender_data");
        using var secret = new Secret(v.Hex("sender_data_secret"));
        var (key, nonce) = SenderDataKeys.Derive(Suite, secret, v.Hex("ciphertext"));
        using (key)
        using (nonce)
        {
            Assert.Equal(v.Hex("key"), key.ToArray());
            Assert.Equal(v.Hex("nonce"), nonce.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Ratchet_keys_match_for_every_leaf_and_generation(int index)
    {
        var v = Vectors.Value[index];
        var leaves = v.GetProperty("leaves");
        using var encryptionSecret = new Secret(v.Hex("encryption_secret"));
        using var tree = new SecretTree(Suite, encryptionSecret, (uint)leaves.GetArrayLength());

        var checkedCount = 0;
        for (uint leaf = 0; leaf < leaves.GetArrayLength(); leaf++)
        {
            foreach (var entry in leaves[(int)leaf].EnumerateArray())
            {
                var generation = entry.GetProperty("generation").GetUInt32();
                using var handshake = tree.ReceiveKey(new LeafIndex(leaf), RatchetKind.Handshake, generation);
                using var application = tree.ReceiveKey(new LeafIndex(leaf), RatchetKind.Application, generation);
                Assert.Equal(generation, handshake.Generation);
                Assert.Equal(entry.Hex("handshake_key"), handshake.Key.ToArray());
                Assert.Equal(entry.Hex("handshake_nonce"), handshake.Nonce.ToArray());
                Assert.Equal(entry.Hex("application_key"), application.Key.ToArray());
                Assert.Equal(entry.Hex("application_nonce"), application.Nonce.ToArray());
                checkedCount++;
            }
        }

        Assert.True(checkedCount >= leaves.GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void A_sender_gets_the_same_keys_in_order(int index)
    {
        var v = Vectors.Value[index];
        var leaves = v.GetProperty("leaves");
        using var encryptionSecret = new Secret(v.Hex("encryption_secret"));
        using var tree = new SecretTree(Suite, encryptionSecret, (uint)leaves.GetArrayLength());
        var last = (uint)leaves.GetArrayLength() - 1;
        var expected = leaves[(int)last].EnumerateArray().ToDictionary(e => e.GetProperty("generation").GetUInt32());
        var maxGeneration = expected.Keys.Max();
        for (uint generation = 0; generation <= maxGeneration; generation++)
        {
            using var key = tree.NextSendKey(new LeafIndex(last), RatchetKind.Application);
            Assert.Equal(generation, key.Generation);
            if (expected.TryGetValue(generation, out var entry))
            {
                Assert.Equal(entry.Hex("application_key"), key.Key.ToArray());
                Assert.Equal(entry.Hex("application_nonce"), key.Nonce.ToArray());
            }
        }
    }
}
