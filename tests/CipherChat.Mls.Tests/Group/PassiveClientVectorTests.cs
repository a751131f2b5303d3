using System.Text.Json;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Group;

/// <summary>
/// Every passive-client-*.json file in the vectors folder: join from the Welcome (tree in the Welcome or given
/// separately, external PSKs), check the epoch authenticator, then follow each epoch's proposals and commit.
/// </summary>
public class PassiveClientVectorTests
{
    public static TheoryData<string, int> Scenarios()
    {
        var data = new TheoryData<string, int>();
        foreach (var path in Directory.GetFiles(TestVectors.MlsFolder, "passive-client-*.json").Order(StringComparer.Ordinal))
        {
            var file = Path.GetFileName(path);
            for (var i = 0; i < TestVectors.LoadMls(file).GetArrayLength(); i++)
            {
                data.Add(file, i);
            }
        }

        return data;
    }

    [Fact]
    public void The_passive_client_files_are_present()
    {
        Assert.True(Scenarios().Count >= 2, "No passive-client-*.json vectors found in " + TestVectors.MlsFolder);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Passive_client_follows_the_group(string file, int index)
    {
        var entry = TestVectors.LoadMls(file)[index];
        var keyPackage = Assert.IsType<KeyPackage>(MlsMessage.FromBytes(entry.Hex("key_package")).Body);
        using var bundle = KeyPackageBundle.FromPrivateKeys(keyPackage, entry.Hex("init_priv"), entry.Hex("encryption_priv"));
        using var signer = SignatureKeyPair.FromPrivateKey(entry.Hex("signature_priv"));
        Assert.Equal(keyPackage.LeafNode.SignatureKey.ToArray(), signer.PublicKey);

        using var psks = new InMemoryPskStore();
        foreach (var psk in entry.GetProperty("external_psks").EnumerateArray())
        {
            psks.Add(psk.Hex("psk_id"), psk.Hex("psk"));
        }

        // The vectors' KeyPackages may have lifetimes long past: the scenario runs at a time inside them.
        var options = new MlsGroupOptions { Psks = psks, Time = new FixedTime(LifetimeMidpoint(keyPackage)) };
        var welcome = Assert.IsType<Welcome>(MlsMessage.FromBytes(entry.Hex("welcome")).Body);
        ReadOnlyMemory<byte>? tree = entry.GetProperty("ratchet_tree").ValueKind == JsonValueKind.String ? entry.Hex("ratchet_tree") : null;

        using var group = MlsGroup.Join(welcome, bundle, signer, tree, options);
        Assert.Equal(entry.Hex("initial_epoch_authenticator"), group.EpochAuthenticator());

        foreach (var epoch in entry.GetProperty("epochs").EnumerateArray())
        {
            foreach (var proposal in epoch.GetProperty("proposals").EnumerateArray())
            {
                Assert.IsType<ReceivedProposal>(group.Process(MlsMessage.FromBytes(proposal.Hex())));
            }

            var before = group.Epoch;
            var commit = Assert.IsType<ReceivedCommit>(group.Process(MlsMessage.FromBytes(epoch.Hex("commit"))));
            Assert.False(commit.RemovedThisMember);
            Assert.Equal(before + 1, group.Epoch);
            Assert.Equal(epoch.Hex("epoch_authenticator"), group.EpochAuthenticator());
        }
    }

    private static DateTimeOffset LifetimeMidpoint(KeyPackage keyPackage)
    {
        var lifetime = keyPackage.LeafNode.Lifetime!;
        var seconds = lifetime.NotBefore / 2 + lifetime.NotAfter / 2;
        return DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(seconds, 253402300799UL));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
