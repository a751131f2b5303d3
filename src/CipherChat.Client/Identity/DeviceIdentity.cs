using CipherChat.Client.Storage;
using NSec.Cryptography;

namespace CipherChat.Client.Identity;

/// <summary>The device's Ed25519 signing key, which is its account credential on the server.</summary>
public sealed class DeviceIdentity : IDisposable
{
    public const string AlgorithmName = "ed25519";

    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    private DeviceIdentity(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The raw 32-byte public key.</summary>
    public byte[] PublicKey { get; }

    public static DeviceIdentity Create() =>
        new(Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Loads the stored key; fails clearly on anything but an unprotected raw Ed25519 key.</summary>
    public static DeviceIdentity FromStored(StoredDeviceKey stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Algorithm != AlgorithmName)
        {
            throw new ClientStateException($"the stored device key uses '{stored.Algorithm}', which this cipherchat does not know");
        }

        if (stored.Protection != "none")
        {
            throw new ClientStateException($"the stored device key is protected with '{stored.Protection}', which this cipherchat cannot unlock");
        }

        if (!Key.TryImport(Algorithm, stored.PrivateKey, KeyBlobFormat.RawPrivateKey, out Key? key,
                new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }))
        {
            throw new ClientStateException("the stored device key is damaged");
        }

        var identity = new DeviceIdentity(key!);
        if (!identity.PublicKey.AsSpan().SequenceEqual(stored.PublicKey))
        {
            identity.Dispose();
            throw new ClientStateException("the stored device key does not match its public key: the client state is damaged");
        }

        return identity;
    }

    public StoredDeviceKey ToStored(DateTimeOffset now) =>
        new(AlgorithmName, PublicKey, _key.Export(KeyBlobFormat.RawPrivateKey), "none", null, now);

    public byte[] Sign(ReadOnlySpan<byte> data) => Algorithm.Sign(_key, data);

    public void Dispose() => _key.Dispose();
}
