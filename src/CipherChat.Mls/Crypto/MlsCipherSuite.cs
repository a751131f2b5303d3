using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CipherChat.Mls.Crypto;

/// <summary>
/// The RFC 9420 §5 operations of a cipher suite. CipherChat implements one suite:
/// 0x0001 MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (<see cref="Default"/>).
/// </summary>
public sealed class MlsCipherSuite
{
    /// <summary>RFC 9420 §17.1 value of MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.</summary>
    public const ushort Mls128DhkemX25519Aes128GcmSha256Ed25519 = 0x0001;

    private const int AeadTagLength = 16;

    // RFC 9420 §5.1.3 and §8: every label is prefixed with the protocol version string.
    private static readonly byte[] LabelPrefix = Encoding.ASCII.GetBytes("MLS 1.0 ");

    private MlsCipherSuite()
    {
    }

    /// <summary>Cipher suite 0x0001.</summary>
    public static MlsCipherSuite Default { get; } = new();

    public ushort Id => Mls128DhkemX25519Aes128GcmSha256Ed25519;

    /// <summary>KDF.Nh: output length of Hash and KDF.Extract.</summary>
    public int HashLength => Kdf.HashLength;

    /// <summary>AEAD.Nk.</summary>
    public int AeadKeyLength => 16;

    /// <summary>AEAD.Nn.</summary>
    public int AeadNonceLength => 12;

    public int SignatureLength => 64;

    /// <summary>The HPKE configuration of this suite.</summary>
    public Hpke Hpke => Hpke.X25519Sha256Aes128Gcm;

    /// <summary>The suite for a wire value; anything but 0x0001 is not supported.</summary>
    public static MlsCipherSuite FromId(ushort id) => id == Mls128DhkemX25519Aes128GcmSha256Ed25519
        ? Default
        : throw new MlsValidationException("Unsupported MLS cipher suite.");

    public static bool IsSupported(ushort id) => id == Mls128DhkemX25519Aes128GcmSha256Ed25519;

    public byte[] Hash(ReadOnlySpan<byte> data) => SHA256.HashData(data);

    /// <summary>RFC 9420 §5.2 RefHash(label, value) = Hash(RefHashInput).</summary>
    public byte[] RefHash(string label, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(label);
        var input = TlsBytes.LabeledPair([], Encoding.UTF8.GetBytes(label), value);
        return Hash(input);
    }

    /// <summary>RFC 9420 §5.2 KeyPackageRef.</summary>
    public byte[] MakeKeyPackageRef(ReadOnlySpan<byte> encodedKeyPackage) => RefHash("MLS 1.0 KeyPackage Reference", encodedKeyPackage);

    /// <summary>RFC 9420 §5.2 ProposalRef over an encoded AuthenticatedContent.</summary>
    public byte[] MakeProposalRef(ReadOnlySpan<byte> encodedAuthenticatedContent) => RefHash("MLS 1.0 Proposal Reference", encodedAuthenticatedContent);

    /// <summary>KDF.Extract(salt, ikm).</summary>
    public Secret Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ikm) => Secret.Own(Kdf.Extract(salt, ikm));

    /// <summary>KDF.Expand(secret, info, length), without a label.</summary>
    public Secret Expand(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> info, int length) => Secret.Own(Kdf.Expand(secret, info, length));

    /// <summary>RFC 9420 §8 ExpandWithLabel(Secret, Label, Context, Length).</summary>
    public Secret ExpandWithLabel(Secret secret, string label, ReadOnlySpan<byte> context, int length)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return ExpandWithLabel(secret.Span, label, context, length);
    }

    /// <inheritdoc cref="ExpandWithLabel(Secret, string, ReadOnlySpan{byte}, int)"/>
    public Secret ExpandWithLabel(ReadOnlySpan<byte> secret, string label, ReadOnlySpan<byte> context, int length)
    {
        ArgumentNullException.ThrowIfNull(label);
        return ExpandWithLabel(secret, Encoding.UTF8.GetBytes(label), context, length);
    }

    internal Secret ExpandWithLabel(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, int length)
    {
        // KDFLabel.length is a uint16.
        if (length is < 0 or > ushort.MaxValue)
        {
            throw new MlsMisuseException("ExpandWithLabel length out of range.");
        }

        var kdfLabel = new byte[2 + TlsBytes.VectorSize(LabelPrefix.Length + label.Length) + TlsBytes.VectorSize(context.Length)];
        BinaryPrimitives.WriteUInt16BigEndian(kdfLabel, (ushort)length);
        var n = 2 + TlsBytes.WriteVector(kdfLabel.AsSpan(2), LabelPrefix, label);
        TlsBytes.WriteVector(kdfLabel.AsSpan(n), context);
        return Secret.Own(Kdf.Expand(secret, kdfLabel, length));
    }

    /// <summary>RFC 9420 §8 DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", Nh).</summary>
    public Secret DeriveSecret(Secret secret, string label) => ExpandWithLabel(secret, label, [], HashLength);

    /// <inheritdoc cref="DeriveSecret(Secret, string)"/>
    public Secret DeriveSecret(ReadOnlySpan<byte> secret, string label) => ExpandWithLabel(secret, label, [], HashLength);

    /// <summary>RFC 9420 §9 DeriveTreeSecret(Secret, Label, Generation, Length).</summary>
    public Secret DeriveTreeSecret(Secret secret, string label, uint generation, int length)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return DeriveTreeSecret(secret.Span, label, generation, length);
    }

    /// <inheritdoc cref="DeriveTreeSecret(Secret, string, uint, int)"/>
    public Secret DeriveTreeSecret(ReadOnlySpan<byte> secret, string label, uint generation, int length)
    {
        Span<byte> context = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(context, generation);
        return ExpandWithLabel(secret, label, context, length);
    }

    /// <summary>MAC(key, data): HMAC-SHA256.</summary>
    public byte[] Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => HMACSHA256.HashData(key, data);

    /// <summary>Recomputes the MAC and compares it in constant time.</summary>
    public bool VerifyMac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> tag)
    {
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, data, expected);
        return tag.Length == expected.Length && CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    /// <summary>RFC 9420 §5.1.2 SignWithLabel: Ed25519 over SignContent { "MLS 1.0 " + Label, Content }.</summary>
    public byte[] SignWithLabel(Secret signaturePrivateKey, string label, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(signaturePrivateKey);
        ArgumentNullException.ThrowIfNull(label);
        var signContent = TlsBytes.LabeledPair(LabelPrefix, Encoding.UTF8.GetBytes(label), content);
        return Ed25519Keys.Sign(signaturePrivateKey.Span, signContent);
    }

    /// <summary>RFC 9420 §5.1.2 VerifyWithLabel; false for a bad signature or a malformed key.</summary>
    public bool VerifyWithLabel(ReadOnlySpan<byte> signaturePublicKey, string label, ReadOnlySpan<byte> content, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(label);
        var signContent = TlsBytes.LabeledPair(LabelPrefix, Encoding.UTF8.GetBytes(label), content);
        return Ed25519Keys.Verify(signaturePublicKey, signContent, signature);
    }

    /// <summary>
    /// RFC 9420 §5.1.3 EncryptWithLabel: HPKE SealBase with info = EncryptContext { "MLS 1.0 " + Label, Context }
    /// and empty aad. Returns the HPKECiphertext fields.
    /// </summary>
    public (byte[] KemOutput, byte[] Ciphertext) EncryptWithLabel(
        ReadOnlySpan<byte> publicKey, string label, ReadOnlySpan<byte> context, ReadOnlySpan<byte> plaintext)
    {
        ArgumentNullException.ThrowIfNull(label);
        var info = TlsBytes.LabeledPair(LabelPrefix, Encoding.UTF8.GetBytes(label), context);
        return Hpke.SealBase(publicKey, info, [], plaintext);
    }

    /// <summary>RFC 9420 §5.1.3 DecryptWithLabel; throws <see cref="MlsValidationException"/> if decryption fails.</summary>
    public byte[] DecryptWithLabel(
        Secret privateKey, string label, ReadOnlySpan<byte> context, ReadOnlySpan<byte> kemOutput, ReadOnlySpan<byte> ciphertext)
    {
        ArgumentNullException.ThrowIfNull(label);
        var info = TlsBytes.LabeledPair(LabelPrefix, Encoding.UTF8.GetBytes(label), context);
        return Hpke.OpenBase(kemOutput, privateKey, info, [], ciphertext);
    }

    /// <summary>AEAD.Seal with AES-128-GCM: ciphertext followed by the 16-byte tag.</summary>
    public byte[] AeadSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        CheckAeadInputs(key, nonce);
        var output = new byte[plaintext.Length + AeadTagLength];
        using var aes = new AesGcm(key, AeadTagLength);
        aes.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), aad);
        return output;
    }

    /// <summary>AEAD.Open with AES-128-GCM; throws <see cref="MlsValidationException"/> when the ciphertext does not authenticate.</summary>
    public byte[] AeadOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        CheckAeadInputs(key, nonce);
        if (ciphertext.Length < AeadTagLength)
        {
            throw new MlsValidationException("AEAD ciphertext is shorter than the authentication tag.");
        }

        var plaintext = new byte[ciphertext.Length - AeadTagLength];
        using var aes = new AesGcm(key, AeadTagLength);
        try
        {
            aes.Decrypt(nonce, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], plaintext, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new MlsValidationException("AEAD ciphertext failed authentication.");
        }

        return plaintext;
    }

    public HpkeKeyPair GenerateHpkeKeyPair() => Hpke.GenerateKeyPair();

    /// <summary>KEM.DeriveKeyPair(secret), e.g. for node keys from path secrets and for external_pub.</summary>
    public HpkeKeyPair DeriveHpkeKeyPair(ReadOnlySpan<byte> secret) => Hpke.DeriveKeyPair(secret);

    /// <inheritdoc cref="DeriveHpkeKeyPair(ReadOnlySpan{byte})"/>
    public HpkeKeyPair DeriveHpkeKeyPair(Secret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Hpke.DeriveKeyPair(secret.Span);
    }

    public SignatureKeyPair GenerateSignatureKeyPair() => SignatureKeyPair.Generate();

    private void CheckAeadInputs(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != AeadKeyLength || nonce.Length != AeadNonceLength)
        {
            throw new MlsMisuseException("AEAD key or nonce has the wrong length.");
        }
    }
}
