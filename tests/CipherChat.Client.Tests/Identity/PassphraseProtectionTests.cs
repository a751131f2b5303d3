using System.Buffers.Binary;
using CipherChat.Client.Identity;
using CipherChat.Client.Storage;

namespace CipherChat.Client.Tests.Identity;

public sealed class PassphraseProtectionTests
{
    // Cheap settings keep the tests quick; the cost is stored in each blob.
    private static readonly Argon2idSettings Cheap = new(1024, 1);
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 15, 0, 0, TimeSpan.Zero);
    private const string Purpose = "test purpose";

    [Fact]
    public void Round_trip_with_the_right_passphrase()
    {
        using var key = PassphraseKey.Create("correct horse", Cheap);
        byte[] secret = [1, 2, 3, 4, 5];
        var blob = key.Protect(secret, Purpose);
        Assert.True(PassphraseKey.IsProtected(blob));
        Assert.DoesNotContain(blob.AsSpan(30).ToArray().Chunk(5), c => c.SequenceEqual(secret));
        Assert.Equal(secret, key.Unprotect(blob, Purpose));

        // Another key object from the same passphrase opens it (it derives with the blob's salt).
        using var other = PassphraseKey.Create("correct horse", Cheap);
        Assert.Equal(secret, other.Unprotect(blob, Purpose));
    }

    [Fact]
    public void Default_cost_works_and_is_recorded_in_the_blob()
    {
        using var key = PassphraseKey.Create("pass");
        var blob = key.Protect([9], Purpose);
        Assert.Equal((uint)Argon2idSettings.Default.MemoryKiB, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(6)));
        Assert.Equal((uint)Argon2idSettings.Default.Passes, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(10)));
        Assert.Equal(new byte[] { 9 }, key.Unprotect(blob, Purpose));
    }

    [Fact]
    public void Same_plaintext_gives_different_blobs()
    {
        using var key = PassphraseKey.Create("pass", Cheap);
        Assert.NotEqual(key.Protect([1, 2], Purpose), key.Protect([1, 2], Purpose));
    }

    [Fact]
    public void Wrong_passphrase_is_a_clear_error()
    {
        using var key = PassphraseKey.Create("right", Cheap);
        var blob = key.Protect([1, 2, 3], Purpose);
        using var wrong = PassphraseKey.Create("wrong", Cheap);
        var ex = Assert.Throws<WrongPassphraseException>(() => wrong.Unprotect(blob, Purpose));
        Assert.StartsWith("wrong passphrase", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_purpose_or_any_altered_byte_is_refused()
    {
        using var key = PassphraseKey.Create("pass", Cheap);
        var blob = key.Protect([1, 2, 3, 4], Purpose);
        Assert.Throws<WrongPassphraseException>(() => key.Unprotect(blob, "another purpose"));

        // Every byte after the format fields: salt, nonce, ciphertext, tag, and the cost fields.
        for (var i = 6; i < blob.Length; i++)
        {
            if (i == 14 + PassphraseKey.SaltLength)
            {
                continue; // the algorithm id, checked separately below
            }

            var altered = (byte[])blob.Clone();
            altered[i] ^= 0x01;
            Assert.ThrowsAny<ChatClientException>(() => key.Unprotect(altered, Purpose));
        }
    }

    [Fact]
    public void Foreign_truncated_or_unknown_blobs_are_damaged_state()
    {
        using var key = PassphraseKey.Create("pass", Cheap);
        var blob = key.Protect([1, 2, 3], Purpose);

        Assert.Throws<ClientStateException>(() => key.Unprotect([1, 2, 3], Purpose));
        Assert.Throws<ClientStateException>(() => key.Unprotect(blob.AsSpan(0, 40), Purpose));

        var version = (byte[])blob.Clone();
        version[4] = 2;
        Assert.Contains("version 2", Assert.Throws<ClientStateException>(() => key.Unprotect(version, Purpose)).Message, StringComparison.Ordinal);

        var algorithm = (byte[])blob.Clone();
        algorithm[14 + PassphraseKey.SaltLength] = 7;
        Assert.Throws<ClientStateException>(() => key.Unprotect(algorithm, Purpose));

        // A hostile cost is refused before any derivation is attempted.
        var huge = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(6), uint.MaxValue);
        Assert.Throws<ClientStateException>(() => key.Unprotect(huge, Purpose));
        var passes = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(passes.AsSpan(10), 0);
        Assert.Throws<ClientStateException>(() => key.Unprotect(passes, Purpose));
    }

    [Fact]
    public void Empty_passphrase_is_refused_and_the_key_prints_nothing()
    {
        Assert.Throws<ChatClientException>(() => PassphraseKey.Create(string.Empty, Cheap));
        using var key = PassphraseKey.Create("secret words", Cheap);
        Assert.DoesNotContain("secret", key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Device_key_locked_in_the_client_store_unlocks_to_a_working_identity()
    {
        using var home = new TempHome();
        using var identity = DeviceIdentity.Create();
        var plain = identity.ToStored(Now);
        using (var key = PassphraseKey.Create("device pass", Cheap))
        using (var store = ClientStore.Open(home.Path))
        {
            var locked = DeviceKeyProtection.Lock(plain, key);
            Assert.Equal(DeviceKeyProtection.Protection, locked.Protection);
            Assert.NotEqual(plain.PrivateKey, locked.PrivateKey);
            Assert.True(store.TryAddDeviceKey(locked));

            // Loading it without unlocking fails clearly rather than using the blob as a key.
            Assert.Throws<ClientStateException>(() => DeviceIdentity.FromStored(store.GetDeviceKey()!));
        }

        using (var store = ClientStore.Open(home.Path))
        {
            var stored = store.GetDeviceKey()!;
            Assert.Throws<ClientStateException>(() => DeviceKeyProtection.Unlock(stored, null));
            using (var wrong = PassphraseKey.Create("not it", Cheap))
            {
                Assert.Throws<WrongPassphraseException>(() => DeviceKeyProtection.Unlock(stored, wrong));
            }

            using var right = PassphraseKey.Create("device pass", Cheap);
            var unlocked = DeviceKeyProtection.Unlock(stored, right);
            Assert.Equal(plain.PrivateKey, unlocked.PrivateKey);
            using var loaded = DeviceIdentity.FromStored(unlocked);
            Assert.Equal(identity.PublicKey, loaded.PublicKey);
            Assert.Equal(identity.Sign("x"u8), loaded.Sign("x"u8));

            // A blob moved under another public key is refused.
            var swapped = stored with { PublicKey = new byte[32] };
            Assert.Throws<ClientStateException>(() => DeviceKeyProtection.Unlock(swapped, right));
        }
    }

    [Fact]
    public void Unprotected_device_key_passes_through_unchanged()
    {
        using var identity = DeviceIdentity.Create();
        var plain = identity.ToStored(Now);
        Assert.Same(plain, DeviceKeyProtection.Unlock(plain, null));
    }
}
