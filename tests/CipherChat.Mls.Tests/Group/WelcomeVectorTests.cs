using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Group;

/// <summary>welcome.json: open the Welcome with init_priv, verify the GroupInfo signature and confirmation tag.</summary>
public class WelcomeVectorTests
{
    private static readonly MlsCipherSuite Suite = MlsCipherSuite.Default;

    public static TheoryData<int> Cases()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TestVectors.LoadMls("welcome.json").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Welcome_opens_and_its_group_info_verifies(int index)
    {
        var entry = TestVectors.LoadMls("welcome.json")[index];
        var keyPackageBytes = entry.Hex("key_package");
        var keyPackage = Assert.IsType<KeyPackage>(MlsMessage.FromBytes(keyPackageBytes).Body);
        var welcome = Assert.IsType<Welcome>(MlsMessage.FromBytes(entry.Hex("welcome")).Body);
        var reference = Suite.MakeKeyPackageRef(keyPackage.ToBytes());
        using var initPriv = new Secret(entry.Hex("init_priv"));

        using var opened = WelcomeSecrets.Open(Suite, welcome, reference, initPriv, null);
        WelcomeSecrets.VerifyGroupInfoSignature(Suite, opened.GroupInfo, entry.Hex("signer_pub"));

        using var epoch = KeySchedule.FromJoinerSecret(Suite, opened.Secrets.JoinerSecret, null, opened.GroupInfo.GroupContext);
        Assert.True(TranscriptHash.VerifyConfirmationTag(
            Suite, epoch.ConfirmationKey, opened.GroupInfo.GroupContext.ConfirmedTranscriptHash.Span, opened.GroupInfo.ConfirmationTag.Span));

        // A wrong signer key, a wrong init key and an unknown KeyPackage are all refused.
        Assert.Throws<MlsValidationException>(() => WelcomeSecrets.VerifyGroupInfoSignature(Suite, opened.GroupInfo, keyPackage.LeafNode.SignatureKey.Span));
        using var otherInit = Suite.GenerateHpkeKeyPair();
        Assert.Throws<MlsValidationException>(() => WelcomeSecrets.Open(Suite, welcome, reference, otherInit.PrivateKey, null));
        Assert.Throws<MlsValidationException>(() => WelcomeSecrets.Open(Suite, welcome, new byte[32], initPriv, null));
    }
}
