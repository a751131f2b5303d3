using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CipherChat.Mls.Crypto;

/// <summary>
/// Hybrid Public Key Encryption (RFC 9180) with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and one
/// of AES-128-GCM, ChaCha20Poly1305 or export-only. All four modes are supported.
/// </summary>
public sealed class Hpke
{
    private readonly byte[] _suiteId;

    public Hpke(HpkeAeadId aead)
    {
        (KeyLength, NonceLength) = aead switch
        {
            HpkeAeadId.Aes128Gcm => (16, 12),
            HpkeAeadId.ChaCha20Poly1305 => (32, 12),
            HpkeAeadId.ExportOnly => (0, 0),
            _ => throw new MlsMisuseException("Unsupported HPKE AEAD."),
        };

        if (aead == HpkeAeadId.ChaCha20Poly1305 && !ChaCha20Poly1305.IsSupported)
        {
            throw new PlatformNotSupportedException("ChaCha20Poly1305 is not available on this platform.");
        }

        Aead = aead;

        // RFC 9180 §5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2)).
        _suiteId = new byte[10];
        "HPKE"u8.CopyTo(_suiteId);
        BinaryPrimitives.WriteUInt16BigEndian(_suiteId.AsSpan(4), (ushort)Kem);
        BinaryPrimitives.WriteUInt16BigEndian(_suiteId.AsSpan(6), (ushort)Kdf);
        BinaryPrimitives.WriteUInt16BigEndian(_suiteId.AsSpan(8), (ushort)aead);
    }

    /// <summary>The HPKE used by MLS cipher suite 1.</summary>
    public static Hpke X25519Sha256Aes128Gcm { get; } = new(HpkeAeadId.Aes128Gcm);

    public HpkeKemId Kem => HpkeKemId.DhkemX25519HkdfSha256;

    public HpkeKdfId Kdf => HpkeKdfId.HkdfSha256;

    public HpkeAeadId Aead { get; }

    /// <summary>Nk: AEAD key length in bytes (0 for export-only).</summary>
    public int KeyLength { get; }

    /// <summary>Nn: AEAD nonce length in bytes (0 for export-only).</summary>
    public int NonceLength { get; }

    /// <summary>Nenc, Npk: the length of an encapsulated key and of a public key.</summary>
    public int PublicKeyLength => X25519Kem.PublicKeyLength;

    /// <summary>Nsk: the length of a serialized private key.</summary>
    public int PrivateKeyLength => X25519Kem.PrivateKeyLength;

    public static HpkeKeyPair GenerateKeyPair() => X25519Kem.Generate();

    /// <summary>RFC 9180 §7.1.3 DeriveKeyPair: deterministic key pair from input keying material.</summary>
    public static HpkeKeyPair DeriveKeyPair(ReadOnlySpan<byte> ikm) => X25519Kem.DeriveKeyPair(ikm);

    /// <summary>SerializePrivateKey: the 32 raw bytes (libsodium clamps on use).</summary>
    public static byte[] SerializePrivateKey(HpkeKeyPair keyPair)
    {
        ArgumentNullException.ThrowIfNull(keyPair);
        return keyPair.PrivateKey.ToArray();
    }

    /// <summary>DeserializePrivateKey: rebuilds the key pair from 32 raw bytes.</summary>
    public static HpkeKeyPair DeserializePrivateKey(ReadOnlySpan<byte> privateKey) =>
        new(new Secret(privateKey), X25519Kem.PublicKeyOf(privateKey));

    /// <summary>The public key that belongs to a serialized private key.</summary>
    public static byte[] PublicKeyOf(Secret privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        return X25519Kem.PublicKeyOf(privateKey.Span);
    }

    /// <summary>SetupBaseS: returns the encapsulated key and a sender context.</summary>
    public HpkeContext SetupBaseSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, out byte[] enc) =>
        SetupSender(HpkeMode.Base, recipientPublicKey, info, [], [], null, null, out enc);

    /// <summary>SetupBaseR.</summary>
    public HpkeContext SetupBaseRecipient(ReadOnlySpan<byte> enc, Secret recipientPrivateKey, ReadOnlySpan<byte> info) =>
        SetupRecipient(HpkeMode.Base, enc, recipientPrivateKey, info, [], [], []);

    /// <summary>SetupPSKS.</summary>
    public HpkeContext SetupPskSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, Secret psk, ReadOnlySpan<byte> pskId, out byte[] enc)
    {
        ArgumentNullException.ThrowIfNull(psk);
        return SetupSender(HpkeMode.Psk, recipientPublicKey, info, psk.Span, pskId, null, null, out enc);
    }

    /// <summary>SetupPSKR.</summary>
    public HpkeContext SetupPskRecipient(ReadOnlySpan<byte> enc, Secret recipientPrivateKey, ReadOnlySpan<byte> info, Secret psk, ReadOnlySpan<byte> pskId)
    {
        ArgumentNullException.ThrowIfNull(psk);
        return SetupRecipient(HpkeMode.Psk, enc, recipientPrivateKey, info, psk.Span, pskId, []);
    }

    /// <summary>SetupAuthS.</summary>
    public HpkeContext SetupAuthSender(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, Secret senderPrivateKey, out byte[] enc) =>
        SetupSender(HpkeMode.Auth, recipientPublicKey, info, [], [], senderPrivateKey, null, out enc);

    /// <summary>SetupAuthR.</summary>
    public HpkeContext SetupAuthRecipient(ReadOnlySpan<byte> enc, Secret recipientPrivateKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> senderPublicKey) =>
        SetupRecipient(HpkeMode.Auth, enc, recipientPrivateKey, info, [], [], senderPublicKey);

    /// <summary>SetupAuthPSKS.</summary>
    public HpkeContext SetupAuthPskSender(
        ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, Secret psk, ReadOnlySpan<byte> pskId, Secret senderPrivateKey, out byte[] enc)
    {
        ArgumentNullException.ThrowIfNull(psk);
        return SetupSender(HpkeMode.AuthPsk, recipientPublicKey, info, psk.Span, pskId, senderPrivateKey, null, out enc);
    }

    /// <summary>SetupAuthPSKR.</summary>
    public HpkeContext SetupAuthPskRecipient(
        ReadOnlySpan<byte> enc, Secret recipientPrivateKey, ReadOnlySpan<byte> info, Secret psk, ReadOnlySpan<byte> pskId, ReadOnlySpan<byte> senderPublicKey)
    {
        ArgumentNullException.ThrowIfNull(psk);
        return SetupRecipient(HpkeMode.AuthPsk, enc, recipientPrivateKey, info, psk.Span, pskId, senderPublicKey);
    }

    /// <summary>Single-shot SealBase: (enc, ciphertext).</summary>
    public (byte[] Enc, byte[] Ciphertext) SealBase(
        ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        using var context = SetupBaseSender(recipientPublicKey, info, out var enc);
        return (enc, context.Seal(aad, plaintext));
    }

    /// <summary>Single-shot OpenBase; throws <see cref="MlsValidationException"/> when the ciphertext does not authenticate.</summary>
    public byte[] OpenBase(
        ReadOnlySpan<byte> enc, Secret recipientPrivateKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        using var context = SetupBaseRecipient(enc, recipientPrivateKey, info);
        return context.Open(aad, ciphertext);
    }

    /// <summary>
    /// The general sender setup. <paramref name="ephemeral"/> fixes the ephemeral key pair (known-answer
    /// tests only); when null a fresh one is generated.
    /// </summary>
    internal HpkeContext SetupSender(
        HpkeMode mode,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        Secret? senderPrivateKey,
        HpkeKeyPair? ephemeral,
        out byte[] enc,
        bool keepTrace = false)
    {
        var authenticated = mode is HpkeMode.Auth or HpkeMode.AuthPsk;
        if (authenticated && senderPrivateKey is null)
        {
            throw new MlsMisuseException("Authenticated HPKE modes need the sender's private key.");
        }

        if (recipientPublicKey.Length != PublicKeyLength)
        {
            throw new MlsValidationException("HPKE recipient public key has the wrong length.");
        }

        var ownEphemeral = ephemeral is null;
        ephemeral ??= GenerateKeyPair();
        try
        {
            var sharedSecret = X25519Kem.Encap(
                recipientPublicKey, authenticated ? senderPrivateKey!.Span : [], authenticated, ephemeral, out enc);
            try
            {
                return KeySchedule(HpkeRole.Sender, mode, sharedSecret, info, psk, pskId, keepTrace);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(sharedSecret);
            }
        }
        finally
        {
            if (ownEphemeral)
            {
                ephemeral.Dispose();
            }
        }
    }

    /// <summary>The general recipient setup.</summary>
    internal HpkeContext SetupRecipient(
        HpkeMode mode,
        ReadOnlySpan<byte> enc,
        Secret recipientPrivateKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> senderPublicKey,
        bool keepTrace = false)
    {
        ArgumentNullException.ThrowIfNull(recipientPrivateKey);
        var authenticated = mode is HpkeMode.Auth or HpkeMode.AuthPsk;
        if (enc.Length != PublicKeyLength)
        {
            throw new MlsValidationException("HPKE encapsulated key has the wrong length.");
        }

        if (authenticated && senderPublicKey.Length != PublicKeyLength)
        {
            throw new MlsValidationException("HPKE sender public key has the wrong length.");
        }

        var sharedSecret = X25519Kem.Decap(enc, recipientPrivateKey.Span, senderPublicKey, authenticated);
        try
        {
            return KeySchedule(HpkeRole.Recipient, mode, sharedSecret, info, psk, pskId, keepTrace);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    /// <summary>RFC 9180 §5.1 KeySchedule. <paramref name="keepTrace"/> keeps intermediate values for known-answer tests.</summary>
    internal HpkeContext KeySchedule(
        HpkeRole role, HpkeMode mode, ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> info, ReadOnlySpan<byte> psk, ReadOnlySpan<byte> pskId, bool keepTrace)
    {
        VerifyPskInputs(mode, psk, pskId);

        var pskIdHash = Labeled.Extract(_suiteId, [], "psk_id_hash"u8, pskId);
        var infoHash = Labeled.Extract(_suiteId, [], "info_hash"u8, info);
        var keyScheduleContext = new byte[1 + pskIdHash.Length + infoHash.Length];
        keyScheduleContext[0] = (byte)mode;
        pskIdHash.CopyTo(keyScheduleContext, 1);
        infoHash.CopyTo(keyScheduleContext, 1 + pskIdHash.Length);

        var secret = Labeled.Extract(_suiteId, sharedSecret, "secret"u8, psk);
        try
        {
            var key = KeyLength == 0 ? [] : Labeled.Expand(_suiteId, secret, "key"u8, keyScheduleContext, KeyLength);
            var baseNonce = NonceLength == 0 ? [] : Labeled.Expand(_suiteId, secret, "base_nonce"u8, keyScheduleContext, NonceLength);
            var exporterSecret = Labeled.Expand(_suiteId, secret, "exp"u8, keyScheduleContext, Crypto.Kdf.HashLength);
            return new HpkeContext(
                this,
                role,
                Secret.Own(key),
                baseNonce,
                Secret.Own(exporterSecret),
                keepTrace ? new HpkeScheduleTrace(sharedSecret.ToArray(), keyScheduleContext, secret.AsSpan().ToArray()) : null);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    internal byte[] LabeledExpand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length) =>
        Labeled.Expand(_suiteId, prk, label, info, length);

    // RFC 9180 §5.1 VerifyPSKInputs: psk and psk_id come together, and only in the PSK modes.
    private static void VerifyPskInputs(HpkeMode mode, ReadOnlySpan<byte> psk, ReadOnlySpan<byte> pskId)
    {
        var gotPsk = !psk.IsEmpty;
        var gotPskId = !pskId.IsEmpty;
        if (gotPsk != gotPskId)
        {
            throw new MlsMisuseException("Inconsistent HPKE PSK inputs.");
        }

        var pskMode = mode is HpkeMode.Psk or HpkeMode.AuthPsk;
        if (gotPsk != pskMode)
        {
            throw new MlsMisuseException(pskMode ? "Missing required HPKE PSK input." : "HPKE PSK input given for a non-PSK mode.");
        }
    }
}

/// <summary>Which side of an HPKE context this is; a context can only Seal or only Open.</summary>
public enum HpkeRole
{
    Sender,
    Recipient,
}

/// <summary>Intermediate key-schedule values kept for known-answer tests.</summary>
internal sealed record HpkeScheduleTrace(byte[] SharedSecret, byte[] KeyScheduleContext, byte[] Secret);
