using System.Security.Cryptography;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;

namespace CipherChat.Mls.Group;

/// <summary>What a new member learns from a Welcome: the group secrets and the still unverified GroupInfo.</summary>
public sealed class OpenedWelcome : IDisposable
{
    internal OpenedWelcome(GroupSecrets secrets, GroupInfo groupInfo, Secret pskSecret)
    {
        Secrets = secrets;
        GroupInfo = groupInfo;
        PskSecret = pskSecret;
    }

    public GroupSecrets Secrets { get; }

    public GroupInfo GroupInfo { get; }

    /// <summary>psk_secret of the PSKs listed in the GroupSecrets (all zero when none).</summary>
    public Secret PskSecret { get; }

    public void Dispose()
    {
        Secrets.Dispose();
        PskSecret.Dispose();
    }
}

/// <summary>RFC 9420 §12.4.3.1: building and opening the encrypted parts of a Welcome.</summary>
public static class WelcomeSecrets
{
    private const string WelcomeLabel = "Welcome";

    /// <summary>
    /// Finds the EncryptedGroupSecrets for <paramref name="keyPackageRef"/>, decrypts it with the KeyPackage's
    /// init private key, derives the welcome secret (with the PSKs from <paramref name="psks"/>) and decrypts
    /// the GroupInfo. Neither the GroupInfo signature nor its confirmation tag is checked here.
    /// </summary>
    public static OpenedWelcome Open(
        MlsCipherSuite suite, Welcome welcome, ReadOnlySpan<byte> keyPackageRef, Secret initPrivateKey, IPskStore? psks)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(welcome);
        ArgumentNullException.ThrowIfNull(initPrivateKey);

        // RFC 9420 §12.4.3.1: the Welcome's cipher suite MUST match the KeyPackage's.
        if ((ushort)welcome.CipherSuite != suite.Id)
        {
            throw new MlsValidationException("Welcome uses another cipher suite.");
        }

        EncryptedGroupSecrets? mine = null;
        foreach (var entry in welcome.Secrets)
        {
            if (entry.NewMember.Span.SequenceEqual(keyPackageRef))
            {
                mine = entry;
                break;
            }
        }

        if (mine is null)
        {
            throw new MlsValidationException("The Welcome holds no secrets for this KeyPackage.");
        }

        var plain = suite.DecryptWithLabel(
            initPrivateKey, WelcomeLabel, welcome.EncryptedGroupInfo.Span, mine.EncryptedSecrets.KemOutput.Span, mine.EncryptedSecrets.Ciphertext.Span);
        GroupSecrets secrets;
        try
        {
            secrets = GroupSecrets.FromBytes(plain);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }

        Secret? pskSecret = null;
        try
        {
            pskSecret = PskResolution.Compute(suite, secrets.Psks, psks);
            using var welcomeSecret = KeySchedule.WelcomeSecret(suite, secrets.JoinerSecret, pskSecret);
            var groupInfo = DecryptGroupInfo(suite, welcomeSecret, welcome.EncryptedGroupInfo.Span);
            return new OpenedWelcome(secrets, groupInfo, pskSecret);
        }
        catch
        {
            secrets.Dispose();
            pskSecret?.Dispose();
            throw;
        }
    }

    /// <summary>encrypted_group_info = AEAD.Seal(welcome_key, welcome_nonce, "", GroupInfo).</summary>
    public static byte[] EncryptGroupInfo(MlsCipherSuite suite, Secret welcomeSecret, GroupInfo groupInfo)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(groupInfo);
        var (key, nonce) = KeySchedule.WelcomeKeyAndNonce(suite, welcomeSecret);
        using (key)
        {
            return suite.AeadSeal(key.Span, nonce, [], groupInfo.ToBytes());
        }
    }

    /// <summary>The EncryptedGroupSecrets for one new member: HPKE to its init key with the encrypted GroupInfo as context.</summary>
    public static EncryptedGroupSecrets EncryptFor(
        MlsCipherSuite suite, ReadOnlySpan<byte> keyPackageRef, ReadOnlySpan<byte> initKey, GroupSecrets secrets, ReadOnlySpan<byte> encryptedGroupInfo)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(secrets);
        var plain = secrets.ToBytes();
        try
        {
            var (kemOutput, ciphertext) = suite.EncryptWithLabel(initKey, WelcomeLabel, encryptedGroupInfo, plain);
            return new EncryptedGroupSecrets
            {
                NewMember = keyPackageRef.ToArray(),
                EncryptedSecrets = new HpkeCiphertext { KemOutput = kemOutput, Ciphertext = ciphertext },
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>RFC 9420 §12.4.3.1: the joiner MUST verify the GroupInfo signature with the signer's key.</summary>
    public static void VerifyGroupInfoSignature(MlsCipherSuite suite, GroupInfo groupInfo, ReadOnlySpan<byte> signerPublicKey)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(groupInfo);
        if (!suite.VerifyWithLabel(signerPublicKey, "GroupInfoTBS", groupInfo.ToBeSignedBytes(), groupInfo.Signature.Span))
        {
            throw new MlsValidationException("GroupInfo signature does not verify.");
        }
    }

    private static GroupInfo DecryptGroupInfo(MlsCipherSuite suite, Secret welcomeSecret, ReadOnlySpan<byte> encrypted)
    {
        var (key, nonce) = KeySchedule.WelcomeKeyAndNonce(suite, welcomeSecret);
        using (key)
        {
            var plain = suite.AeadOpen(key.Span, nonce, [], encrypted);
            return GroupInfo.FromBytes(plain);
        }
    }
}
