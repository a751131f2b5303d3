using System.Security.Cryptography;
using NSec.Cryptography;

namespace CipherChat.Mls.Crypto;

/// <summary>RFC 9180 §4.1 DHKEM(X25519, HKDF-SHA256); the curve arithmetic is libsodium's, through NSec.</summary>
internal static class X25519Kem
{
    public const int PublicKeyLength = 32;
    public const int PrivateKeyLength = 32;
    public const int SharedSecretLength = 32;

    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    // RFC 9180 §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2)).
    private static readonly byte[] SuiteId = [.. "KEM"u8, 0x00, 0x20];

    public static HpkeKeyPair Generate()
    {
        var ikm = RandomNumberGenerator.GetBytes(PrivateKeyLength);
        try
        {
            return DeriveKeyPair(ikm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
        }
    }

    /// <summary>RFC 9180 §7.1.3 DeriveKeyPair for X25519.</summary>
    public static HpkeKeyPair DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var dkpPrk = Labeled.Extract(SuiteId, [], "dkp_prk"u8, ikm);
        try
        {
            var sk = Labeled.Expand(SuiteId, dkpPrk, "sk"u8, [], PrivateKeyLength);
            var privateKey = Secret.Own(sk);
            return new HpkeKeyPair(privateKey, PublicKeyOf(privateKey.Span));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dkpPrk);
        }
    }

    public static byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        using var key = ImportPrivate(privateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>Encap (RFC 9180 §4.1), or AuthEncap when <paramref name="senderPrivateKey"/> is given.</summary>
    public static byte[] Encap(
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> senderPrivateKey,
        bool authenticated,
        HpkeKeyPair ephemeral,
        out byte[] enc)
    {
        enc = (byte[])ephemeral.PublicKey.Clone();
        byte[]? senderPublic = null;
        var dh = new byte[authenticated ? 2 * SharedSecretLength : SharedSecretLength];
        try
        {
            Agree(ephemeral.PrivateKey.Span, recipientPublicKey, dh.AsSpan(0, SharedSecretLength));
            if (authenticated)
            {
                Agree(senderPrivateKey, recipientPublicKey, dh.AsSpan(SharedSecretLength));
                senderPublic = PublicKeyOf(senderPrivateKey);
            }

            return ExtractAndExpand(dh, KemContext(enc, recipientPublicKey, senderPublic));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>Decap (RFC 9180 §4.1), or AuthDecap when <paramref name="authenticated"/> is set.</summary>
    public static byte[] Decap(
        ReadOnlySpan<byte> enc,
        ReadOnlySpan<byte> recipientPrivateKey,
        ReadOnlySpan<byte> senderPublicKey,
        bool authenticated)
    {
        var dh = new byte[authenticated ? 2 * SharedSecretLength : SharedSecretLength];
        try
        {
            Agree(recipientPrivateKey, enc, dh.AsSpan(0, SharedSecretLength));
            if (authenticated)
            {
                Agree(recipientPrivateKey, senderPublicKey, dh.AsSpan(SharedSecretLength));
            }

            var recipientPublic = PublicKeyOf(recipientPrivateKey);
            return ExtractAndExpand(dh, KemContext(enc, recipientPublic, authenticated ? senderPublicKey : null));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    private static byte[] KemContext(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> recipientPublic, ReadOnlySpan<byte> senderPublic)
    {
        var context = new byte[enc.Length + recipientPublic.Length + senderPublic.Length];
        enc.CopyTo(context);
        recipientPublic.CopyTo(context.AsSpan(enc.Length));
        senderPublic.CopyTo(context.AsSpan(enc.Length + recipientPublic.Length));
        return context;
    }

    private static byte[] ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> kemContext)
    {
        var eaePrk = Labeled.Extract(SuiteId, [], "eae_prk"u8, dh);
        try
        {
            return Labeled.Expand(SuiteId, eaePrk, "shared_secret"u8, kemContext, SharedSecretLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(eaePrk);
        }
    }

    private static void Agree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> output)
    {
        if (publicKey.Length != PublicKeyLength)
        {
            throw new MlsValidationException("An X25519 public key must be 32 bytes.");
        }

        using var key = ImportPrivate(privateKey);
        var peer = PublicKey.Import(Algorithm, publicKey, KeyBlobFormat.RawPublicKey);
        var parameters = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

        // RFC 9180 §7.1.4: the all-zero X25519 output (a small-order peer key) MUST be rejected;
        // NSec returns null in exactly that case.
        using var shared = Algorithm.Agree(key, peer, in parameters)
            ?? throw new MlsValidationException("X25519 key agreement produced the all-zero value.");
        if (!shared.TryExport(SharedSecretBlobFormat.RawSharedSecret, output, out var written) || written != SharedSecretLength)
        {
            throw new CryptographicException("X25519 shared secret export failed.");
        }
    }

    private static Key ImportPrivate(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != PrivateKeyLength)
        {
            throw new MlsMisuseException("An X25519 private key must be 32 bytes.");
        }

        // libsodium clamps the scalar when it is used, so the serialized form stays the raw 32 bytes
        // that DeriveKeyPair produced (the form the RFC 9180 and RFC 9420 vectors carry).
        return Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey);
    }
}
