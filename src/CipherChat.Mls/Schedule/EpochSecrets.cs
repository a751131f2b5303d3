using CipherChat.Mls.Crypto;

namespace CipherChat.Mls.Schedule;

/// <summary>
/// The secrets of one epoch (RFC 9420 §8, "Epoch-Derived Secrets"). The epoch secret itself is
/// deleted as soon as these are derived (RFC 9420 §9.2). Disposing wipes every secret; callers should
/// dispose the previous epoch's init secret and, once any Welcome is built, this joiner secret.
/// </summary>
public sealed class EpochSecrets : IDisposable
{
    private readonly MlsCipherSuite _suite;

    internal EpochSecrets(MlsCipherSuite suite, Secret joinerSecret, Secret welcomeSecret, Secret epochSecret)
    {
        _suite = suite;
        JoinerSecret = joinerSecret;
        WelcomeSecret = welcomeSecret;
        SenderDataSecret = suite.DeriveSecret(epochSecret, "sender data");
        EncryptionSecret = suite.DeriveSecret(epochSecret, "encryption");
        ExporterSecret = suite.DeriveSecret(epochSecret, "exporter");
        ExternalSecret = suite.DeriveSecret(epochSecret, "external");
        ConfirmationKey = suite.DeriveSecret(epochSecret, "confirm");
        MembershipKey = suite.DeriveSecret(epochSecret, "membership");
        ResumptionPsk = suite.DeriveSecret(epochSecret, "resumption");
        EpochAuthenticator = suite.DeriveSecret(epochSecret, "authentication");
        InitSecret = suite.DeriveSecret(epochSecret, "init");
    }

    public Secret JoinerSecret { get; }

    public Secret WelcomeSecret { get; }

    public Secret SenderDataSecret { get; }

    /// <summary>The root of the secret tree (RFC 9420 §9).</summary>
    public Secret EncryptionSecret { get; }

    public Secret ExporterSecret { get; }

    public Secret ExternalSecret { get; }

    public Secret ConfirmationKey { get; }

    public Secret MembershipKey { get; }

    public Secret ResumptionPsk { get; }

    public Secret EpochAuthenticator { get; }

    /// <summary>init_secret_[n]: the input to the next epoch's key schedule.</summary>
    public Secret InitSecret { get; }

    /// <summary>external_priv, external_pub = KEM.DeriveKeyPair(external_secret).</summary>
    public HpkeKeyPair ExternalKeyPair() => _suite.DeriveHpkeKeyPair(ExternalSecret);

    /// <summary>external_pub, published in GroupInfo for external commits.</summary>
    public byte[] ExternalPublicKey()
    {
        using var pair = ExternalKeyPair();
        return pair.PublicKey;
    }

    /// <summary>RFC 9420 §8.5 MLS-Exporter(Label, Context, Length).</summary>
    public Secret Export(string label, ReadOnlySpan<byte> context, int length)
    {
        using var derived = _suite.DeriveSecret(ExporterSecret, label);
        return _suite.ExpandWithLabel(derived, "exported", _suite.Hash(context), length);
    }

    /// <summary>confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash).</summary>
    public byte[] ConfirmationTag(ReadOnlySpan<byte> confirmedTranscriptHash) =>
        TranscriptHash.ConfirmationTag(_suite, ConfirmationKey, confirmedTranscriptHash);

    /// <summary>
    /// The secret tree rooted at this epoch's encryption secret. RFC 9420 §9.2: the encryption secret is
    /// consumed by the tree and MUST be deleted, so it is wiped here and this can be called only once.
    /// </summary>
    public SecretTree CreateSecretTree(uint leafCount, SecretTreeOptions? options = null)
    {
        var tree = new SecretTree(_suite, EncryptionSecret, leafCount, options);
        EncryptionSecret.Dispose();
        return tree;
    }

    public override string ToString() => "EpochSecrets(***)";

    public void Dispose()
    {
        JoinerSecret.Dispose();
        WelcomeSecret.Dispose();
        SenderDataSecret.Dispose();
        EncryptionSecret.Dispose();
        ExporterSecret.Dispose();
        ExternalSecret.Dispose();
        ConfirmationKey.Dispose();
        MembershipKey.Dispose();
        ResumptionPsk.Dispose();
        EpochAuthenticator.Dispose();
        InitSecret.Dispose();
    }
}
