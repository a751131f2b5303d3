namespace CipherChat.Mls.Crypto;

/// <summary>
/// An X25519 key pair. <see cref="PrivateKey"/> holds the HPKE SerializePrivateKey form (32 raw
/// bytes), <see cref="PublicKey"/> the SerializePublicKey form (32 raw bytes).
/// </summary>
public sealed class HpkeKeyPair : IDisposable
{
    public HpkeKeyPair(Secret privateKey, byte[] publicKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        ArgumentNullException.ThrowIfNull(publicKey);
        PrivateKey = privateKey;
        PublicKey = publicKey;
    }

    public Secret PrivateKey { get; }

    public byte[] PublicKey { get; }

    public override string ToString() => $"HpkeKeyPair({Convert.ToHexString(PublicKey)})";

    public void Dispose() => PrivateKey.Dispose();
}
