using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>welcome.json, wire side: the Welcome and the KeyPackage decode and re-encode, and the KeyPackage and its leaf are signed over KeyPackageTBS / LeafNodeTBS as built here.</summary>
public class WelcomeWireTests
{
    public static TheoryData<int> Entries()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TestVectors.LoadMls("welcome.json").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Welcome_and_key_package_round_trip_and_the_key_package_signatures_verify(int index)
    {
        var entry = TestVectors.LoadMls("welcome.json")[index];

        var welcomeBytes = entry.Hex("welcome");
        var welcome = Assert.IsType<Welcome>(MlsMessage.FromBytes(welcomeBytes).Body);
        Assert.Equal(welcomeBytes, new MlsMessage(welcome).ToBytes());
        Assert.Equal(entry.GetProperty("cipher_suite").GetUInt16(), (ushort)welcome.CipherSuite);
        Assert.NotEmpty(welcome.Secrets);

        var keyPackageBytes = entry.Hex("key_package");
        var keyPackage = Assert.IsType<KeyPackage>(MlsMessage.FromBytes(keyPackageBytes).Body);
        Assert.Equal(keyPackageBytes, new MlsMessage(keyPackage).ToBytes());

        var leaf = keyPackage.LeafNode;
        Assert.Equal(LeafNodeSource.KeyPackage, leaf.LeafNodeSource);
        Assert.True(WireSignatures.Verify(leaf.SignatureKey.Span, "KeyPackageTBS", keyPackage.ToBeSignedBytes(), keyPackage.Signature.Span));
        Assert.True(WireSignatures.Verify(leaf.SignatureKey.Span, "LeafNodeTBS", leaf.ToBeSignedBytes(), leaf.Signature.Span));
    }
}
