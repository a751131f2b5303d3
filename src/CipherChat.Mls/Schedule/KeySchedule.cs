using System.Security.Cryptography;
using System.Text;
using CipherChat.Mls.Codec;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;

namespace CipherChat.Mls.Schedule;

/// <summary>The RFC 9420 §8 key schedule: from the previous init secret to the secrets of a new epoch.</summary>
public static class KeySchedule
{
    // RFC 9420 §8.3: the exporter label of the external init secret.
    private static readonly byte[] ExternalInitLabel = Encoding.ASCII.GetBytes("MLS 1.0 external init secret");

    /// <summary>A fresh random init secret of KDF.Nh bytes, for the creator of a group (RFC 9420 §11).</summary>
    public static Secret NewRandomInitSecret(MlsCipherSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        return Secret.Own(RandomNumberGenerator.GetBytes(suite.HashLength));
    }

    /// <summary>
    /// joiner_secret = ExpandWithLabel(KDF.Extract(init_secret, commit_secret), "joiner", GroupContext, Nh).
    /// A null <paramref name="commitSecret"/> stands for the all-zero value (a Commit without a path).
    /// </summary>
    public static Secret JoinerSecret(MlsCipherSuite suite, Secret initSecret, Secret? commitSecret, ReadOnlySpan<byte> groupContext)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(initSecret);
        using var zero = commitSecret is null ? Secret.Zero(suite.HashLength) : null;
        using var extracted = suite.Extract(initSecret.Span, (commitSecret ?? zero!).Span);
        return suite.ExpandWithLabel(extracted, "joiner", groupContext, suite.HashLength);
    }

    /// <summary>Derives every secret of the new epoch from the previous epoch's init secret.</summary>
    public static EpochSecrets Derive(
        MlsCipherSuite suite, Secret initSecret, Secret? commitSecret, Secret? pskSecret, ReadOnlySpan<byte> groupContext)
    {
        using var joiner = JoinerSecret(suite, initSecret, commitSecret, groupContext);
        return FromJoinerSecret(suite, joiner, pskSecret, groupContext);
    }

    /// <inheritdoc cref="Derive(MlsCipherSuite, Secret, Secret?, Secret?, ReadOnlySpan{byte})"/>
    public static EpochSecrets Derive(MlsCipherSuite suite, Secret initSecret, Secret? commitSecret, Secret? pskSecret, GroupContext groupContext)
    {
        ArgumentNullException.ThrowIfNull(groupContext);
        return Derive(suite, initSecret, commitSecret, pskSecret, groupContext.ToBytes());
    }

    /// <summary>
    /// Derives the epoch from a joiner secret (a new member after decrypting GroupSecrets).
    /// A null <paramref name="pskSecret"/> stands for the all-zero value (no PSKs).
    /// </summary>
    public static EpochSecrets FromJoinerSecret(MlsCipherSuite suite, Secret joinerSecret, Secret? pskSecret, ReadOnlySpan<byte> groupContext)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(joinerSecret);
        using var intermediate = Intermediate(suite, joinerSecret, pskSecret);
        var welcome = suite.DeriveSecret(intermediate, "welcome");
        using var epoch = suite.ExpandWithLabel(intermediate, "epoch", groupContext, suite.HashLength);
        return new EpochSecrets(suite, joinerSecret.Clone(), welcome, epoch);
    }

    /// <inheritdoc cref="FromJoinerSecret(MlsCipherSuite, Secret, Secret?, ReadOnlySpan{byte})"/>
    public static EpochSecrets FromJoinerSecret(MlsCipherSuite suite, Secret joinerSecret, Secret? pskSecret, GroupContext groupContext)
    {
        ArgumentNullException.ThrowIfNull(groupContext);
        return FromJoinerSecret(suite, joinerSecret, pskSecret, groupContext.ToBytes());
    }

    /// <summary>welcome_secret = DeriveSecret(KDF.Extract(joiner_secret, psk_secret), "welcome").</summary>
    public static Secret WelcomeSecret(MlsCipherSuite suite, Secret joinerSecret, Secret? pskSecret)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(joinerSecret);
        using var intermediate = Intermediate(suite, joinerSecret, pskSecret);
        return suite.DeriveSecret(intermediate, "welcome");
    }

    /// <summary>RFC 9420 §12.4.3.1: the AEAD key and nonce that protect a Welcome's GroupInfo.</summary>
    public static (Secret Key, byte[] Nonce) WelcomeKeyAndNonce(MlsCipherSuite suite, Secret welcomeSecret)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var key = suite.ExpandWithLabel(welcomeSecret, "key", [], suite.AeadKeyLength);
        using var nonce = suite.ExpandWithLabel(welcomeSecret, "nonce", [], suite.AeadNonceLength);
        return (key, nonce.ToArray());
    }

    /// <summary>
    /// RFC 9420 §8.3, the joiner's side of an external commit: encapsulates to <paramref name="externalPublicKey"/>
    /// and returns the new init secret; <paramref name="kemOutput"/> goes into the ExternalInit proposal.
    /// </summary>
    public static Secret ExternalInitSecret(MlsCipherSuite suite, ReadOnlySpan<byte> externalPublicKey, out byte[] kemOutput)
    {
        ArgumentNullException.ThrowIfNull(suite);
        using var context = suite.Hpke.SetupBaseSender(externalPublicKey, [], out kemOutput);
        return Secret.Own(context.Export(ExternalInitLabel, suite.HashLength));
    }

    /// <summary>RFC 9420 §8.3, the members' side: recovers the init secret from an ExternalInit kem_output.</summary>
    public static Secret ExternalInitSecret(MlsCipherSuite suite, HpkeKeyPair externalKeyPair, ReadOnlySpan<byte> kemOutput)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(externalKeyPair);
        using var context = suite.Hpke.SetupBaseRecipient(kemOutput, externalKeyPair.PrivateKey, []);
        return Secret.Own(context.Export(ExternalInitLabel, suite.HashLength));
    }

    private static Secret Intermediate(MlsCipherSuite suite, Secret joinerSecret, Secret? pskSecret)
    {
        using var zero = pskSecret is null ? Secret.Zero(suite.HashLength) : null;
        return suite.Extract(joinerSecret.Span, (pskSecret ?? zero!).Span);
    }
}
