using System.Text;
using System.Text.Json;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Schedule;

/// <summary>key-schedule.json: every epoch, every derived secret, external_pub and MLS-Exporter.</summary>
public class KeyScheduleVectorTests
{
    private static readonly Lazy<JsonElement> Vector = new(() =>
        Assert.Single(TestVectors.LoadMls("key-schedule.json").EnumerateArray(), e => e.GetProperty("cipher_suite").GetInt32() == 1));

    private static MlsCipherSuite Suite => MlsCipherSuite.Default;

    [Fact]
    public void All_epochs_match()
    {
        var v = Vector.Value;
        var groupId = v.Hex("group_id");
        var epochs = v.GetProperty("epochs");
        Assert.Equal(5, epochs.GetArrayLength());

        var initSecret = new Secret(v.Hex("initial_init_secret"));
        ulong epochNumber = 0;
        foreach (var epoch in epochs.EnumerateArray())
        {
            var context = new GroupContext
            {
                CipherSuite = (CipherSuite)Suite.Id,
                GroupId = groupId,
                Epoch = epochNumber,
                TreeHash = epoch.Hex("tree_hash"),
                ConfirmedTranscriptHash = epoch.Hex("confirmed_transcript_hash"),
            };
            var contextBytes = context.ToBytes();
            Assert.Equal(epoch.Hex("group_context"), contextBytes);

            using var commitSecret = new Secret(epoch.Hex("commit_secret"));
            using var pskSecret = new Secret(epoch.Hex("psk_secret"));
            using var joiner = KeySchedule.JoinerSecret(Suite, initSecret, commitSecret, contextBytes);
            Assert.Equal(epoch.Hex("joiner_secret"), joiner.ToArray());

            using var secrets = KeySchedule.Derive(Suite, initSecret, commitSecret, pskSecret, context);
            Assert.Equal(epoch.Hex("joiner_secret"), secrets.JoinerSecret.ToArray());
            Assert.Equal(epoch.Hex("welcome_secret"), secrets.WelcomeSecret.ToArray());
            Assert.Equal(epoch.Hex("init_secret"), secrets.InitSecret.ToArray());
            Assert.Equal(epoch.Hex("sender_data_secret"), secrets.SenderDataSecret.ToArray());
            Assert.Equal(epoch.Hex("encryption_secret"), secrets.EncryptionSecret.ToArray());
            Assert.Equal(epoch.Hex("exporter_secret"), secrets.ExporterSecret.ToArray());
            Assert.Equal(epoch.Hex("epoch_authenticator"), secrets.EpochAuthenticator.ToArray());
            Assert.Equal(epoch.Hex("external_secret"), secrets.ExternalSecret.ToArray());
            Assert.Equal(epoch.Hex("confirmation_key"), secrets.ConfirmationKey.ToArray());
            Assert.Equal(epoch.Hex("membership_key"), secrets.MembershipKey.ToArray());
            Assert.Equal(epoch.Hex("resumption_psk"), secrets.ResumptionPsk.ToArray());
            Assert.Equal(epoch.Hex("external_pub"), secrets.ExternalPublicKey());

            // A joiner who only has joiner_secret reaches the same epoch.
            using var joined = KeySchedule.FromJoinerSecret(Suite, joiner, pskSecret, contextBytes);
            Assert.True(joined.EpochAuthenticator.Equals(secrets.EpochAuthenticator));
            using var welcome = KeySchedule.WelcomeSecret(Suite, joiner, pskSecret);
            Assert.Equal(epoch.Hex("welcome_secret"), welcome.ToArray());

            var exporter = epoch.GetProperty("exporter");
            using var exported = secrets.Export(
                exporter.GetProperty("label").GetString()!, exporter.Hex("context"), exporter.GetProperty("length").GetInt32());
            Assert.Equal(exporter.Hex("secret"), exported.ToArray());

            initSecret.Dispose();
            initSecret = secrets.InitSecret.Clone();
            epochNumber++;
        }

        initSecret.Dispose();
    }

    [Fact]
    public void Missing_commit_and_psk_secrets_are_the_zero_vector()
    {
        var context = Encoding.ASCII.GetBytes("group context");
        using var init = new Secret(new byte[32]);
        using var zero = Secret.Zero(32);
        using var withNulls = KeySchedule.Derive(Suite, init, null, null, context);
        using var withZeros = KeySchedule.Derive(Suite, init, zero, zero, context);
        Assert.True(withNulls.EpochAuthenticator.Equals(withZeros.EpochAuthenticator));
        Assert.True(withNulls.InitSecret.Equals(withZeros.InitSecret));
    }

    [Fact]
    public void External_init_secret_is_shared_through_the_external_key_pair()
    {
        using var init = KeySchedule.NewRandomInitSecret(Suite);
        using var secrets = KeySchedule.Derive(Suite, init, null, null, "ctx"u8);
        using var joinerInit = KeySchedule.ExternalInitSecret(Suite, secrets.ExternalPublicKey(), out var kemOutput);
        using var externalPair = secrets.ExternalKeyPair();
        using var memberInit = KeySchedule.ExternalInitSecret(Suite, externalPair, kemOutput);
        Assert.Equal(32, joinerInit.Length);
        Assert.True(joinerInit.Equals(memberInit));
    }

    [Fact]
    public void Welcome_key_and_nonce_have_suite_lengths()
    {
        using var welcomeSecret = new Secret(new byte[32]);
        var (key, nonce) = KeySchedule.WelcomeKeyAndNonce(Suite, welcomeSecret);
        using (key)
        {
            Assert.Equal(16, key.Length);
            Assert.Equal(12, nonce.Length);
            using var expectedKey = Suite.ExpandWithLabel(welcomeSecret, "key", [], 16);
            Assert.True(expectedKey.Equals(key));
        }
    }

    [Fact]
    public void Secrets_do_not_print()
    {
        using var init = new Secret(new byte[32]);
        using var secrets = KeySchedule.Derive(Suite, init, null, null, "ctx"u8);
        Assert.DoesNotContain(Convert.ToHexString(secrets.EpochAuthenticator.ToArray()), secrets.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("***", secrets.MembershipKey.ToString());
    }
}
