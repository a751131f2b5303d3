using CipherChat.Client.Identity;
using NSec.Cryptography;

namespace CipherChat.Client.Tests;

public sealed class DeviceIdentityTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 14, 3, 0, TimeSpan.Zero);

    [Fact]
    public void A_stored_key_signs_verifiably_after_loading()
    {
        using var created = DeviceIdentity.Create();
        var stored = created.ToStored(Now);
        using var loaded = DeviceIdentity.FromStored(stored);

        Assert.Equal(created.PublicKey, loaded.PublicKey);
        var data = "challenge"u8.ToArray();
        var signature = loaded.Sign(data);
        var publicKey = PublicKey.Import(SignatureAlgorithm.Ed25519, created.PublicKey, KeyBlobFormat.RawPublicKey);
        Assert.True(SignatureAlgorithm.Ed25519.Verify(publicKey, data, signature));
    }

    [Fact]
    public void A_damaged_or_unknown_stored_key_is_refused()
    {
        using var created = DeviceIdentity.Create();
        var stored = created.ToStored(Now);
        var wrongPublic = stored with { PublicKey = new byte[32] };
        Assert.Throws<ClientStateException>(() => DeviceIdentity.FromStored(wrongPublic));
        Assert.Throws<ClientStateException>(() => DeviceIdentity.FromStored(stored with { PrivateKey = [1, 2, 3] }));
        Assert.Throws<ClientStateException>(() => DeviceIdentity.FromStored(stored with { Protection = "argon2id-aes256gcm" }));
        Assert.Throws<ClientStateException>(() => DeviceIdentity.FromStored(stored with { Algorithm = "rsa" }));
    }
}
