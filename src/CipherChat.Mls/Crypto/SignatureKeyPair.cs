using NSec.Cryptography;

namespace CipherChat.Mls.Crypto;

/// <summary>
/// An Ed25519 signing key pair. <see cref="PrivateKey"/> is the 32-byte seed (the form RFC 9420
/// vectors use), <see cref="PublicKey"/> the 32-byte raw public key.
/// </summary>
public sealed class SignatureKeyPair : IDisposable
{
    public const int PrivateKeyLength = 32;
    public const int PublicKeyLength = 32;

    private SignatureKeyPair(Secret privateKey, byte[] publicKey)
    {
        PrivateKey = privateKey;
        PublicKey = publicKey;
    }

    public Secret PrivateKey { get; }

    public byte[] PublicKey { get; }

    /// <summary>A fresh random key pair (libsodium's generator).</summary>
    public static SignatureKeyPair Generate()
    {
        var parameters = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        using var key = Key.Create(SignatureAlgorithm.Ed25519, in parameters);
        var seed = key.Export(KeyBlobFormat.RawPrivateKey);
        return new SignatureKeyPair(Secret.Own(seed), key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    /// <summary>Rebuilds the key pair from its 32-byte seed.</summary>
    public static SignatureKeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        using var key = Ed25519Keys.ImportPrivate(privateKey);
        return new SignatureKeyPair(new Secret(privateKey), key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public override string ToString() => $"SignatureKeyPair({Convert.ToHexString(PublicKey)})";

    public void Dispose() => PrivateKey.Dispose();
}

internal static class Ed25519Keys
{
    public static Key ImportPrivate(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != SignatureKeyPair.PrivateKeyLength)
        {
            throw new MlsMisuseException("An Ed25519 private key must be 32 bytes.");
        }

        return Key.Import(SignatureAlgorithm.Ed25519, privateKey, KeyBlobFormat.RawPrivateKey);
    }

    public static byte[] Sign(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> message)
    {
        using var key = ImportPrivate(privateKey);
        return SignatureAlgorithm.Ed25519.Sign(key, message);
    }

    /// <summary>False for any malformed key or signature: the bytes come from peers.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != SignatureKeyPair.PublicKeyLength || signature.Length != SignatureAlgorithm.Ed25519.SignatureSize)
        {
            return false;
        }

        if (!NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            return false;
        }

        return SignatureAlgorithm.Ed25519.Verify(key, message, signature);
    }
}
