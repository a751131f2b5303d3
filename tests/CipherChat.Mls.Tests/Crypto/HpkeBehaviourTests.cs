using CipherChat.Mls.Crypto;

namespace CipherChat.Mls.Tests.Crypto;

public class HpkeBehaviourTests
{
    private static readonly Hpke Suite = Hpke.X25519Sha256Aes128Gcm;

    [Fact]
    public void Base_mode_round_trips_with_fresh_keys()
    {
        using var recipient = Hpke.GenerateKeyPair();
        var (enc, ciphertext) = Suite.SealBase(recipient.PublicKey, "info"u8, "aad"u8, "hello"u8);
        Assert.Equal("hello"u8.ToArray(), Suite.OpenBase(enc, recipient.PrivateKey, "info"u8, "aad"u8, ciphertext));
    }

    [Fact]
    public void Tampered_ciphertext_is_rejected_and_sequence_does_not_advance()
    {
        using var recipient = Hpke.GenerateKeyPair();
        using var sender = Suite.SetupBaseSender(recipient.PublicKey, [], out var enc);
        var ciphertext = sender.Seal([], "message"u8);
        ciphertext[0] ^= 1;

        using var opener = Suite.SetupBaseRecipient(enc, recipient.PrivateKey, []);
        Assert.Throws<MlsValidationException>(() => opener.Open([], ciphertext));
        Assert.Equal(0UL, opener.SequenceNumber);
        ciphertext[0] ^= 1;
        Assert.Equal("message"u8.ToArray(), opener.Open([], ciphertext));
        Assert.Equal(1UL, opener.SequenceNumber);
    }

    [Fact]
    public void Wrong_info_or_aad_fails_to_open()
    {
        using var recipient = Hpke.GenerateKeyPair();
        var (enc, ciphertext) = Suite.SealBase(recipient.PublicKey, "info"u8, "aad"u8, "hello"u8);
        Assert.Throws<MlsValidationException>(() => Suite.OpenBase(enc, recipient.PrivateKey, "other"u8, "aad"u8, ciphertext));
        Assert.Throws<MlsValidationException>(() => Suite.OpenBase(enc, recipient.PrivateKey, "info"u8, "bad"u8, ciphertext));
        Assert.Throws<MlsValidationException>(() => Suite.OpenBase(enc, recipient.PrivateKey, "info"u8, "aad"u8, ciphertext.AsSpan(0, 10)));
    }

    [Fact]
    public void All_zero_public_key_is_rejected()
    {
        using var recipient = Hpke.GenerateKeyPair();
        Assert.Throws<MlsValidationException>(() => Suite.SetupBaseSender(new byte[32], [], out _));
        Assert.Throws<MlsValidationException>(() => Suite.SetupBaseRecipient(new byte[32], recipient.PrivateKey, []));
    }

    [Fact]
    public void Wrong_length_public_key_is_rejected()
    {
        using var recipient = Hpke.GenerateKeyPair();
        Assert.Throws<MlsValidationException>(() => Suite.SetupBaseSender(new byte[31], [], out _));
        Assert.Throws<MlsValidationException>(() => Suite.SetupBaseRecipient(new byte[33], recipient.PrivateKey, []));
    }

    [Fact]
    public void Psk_inputs_must_match_the_mode()
    {
        using var recipient = Hpke.GenerateKeyPair();
        using var psk = new Secret(new byte[32]);
        Assert.Throws<MlsMisuseException>(() => Suite.SetupPskSender(recipient.PublicKey, [], psk, [], out _));
        Assert.Throws<MlsMisuseException>(() => Suite.SetupSender(HpkeMode.Base, recipient.PublicKey, [], new byte[32], [1], null, null, out _));
        Assert.Throws<MlsMisuseException>(() => Suite.SetupSender(HpkeMode.Psk, recipient.PublicKey, [], [], [], null, null, out _));
    }

    [Fact]
    public void Auth_mode_binds_the_sender_key()
    {
        using var recipient = Hpke.GenerateKeyPair();
        using var sender = Hpke.GenerateKeyPair();
        using var impostor = Hpke.GenerateKeyPair();
        using var sealer = Suite.SetupAuthSender(recipient.PublicKey, "i"u8, sender.PrivateKey, out var enc);
        var ciphertext = sealer.Seal([], "secret"u8);

        using var right = Suite.SetupAuthRecipient(enc, recipient.PrivateKey, "i"u8, sender.PublicKey);
        Assert.Equal("secret"u8.ToArray(), right.Open([], ciphertext));
        using var wrong = Suite.SetupAuthRecipient(enc, recipient.PrivateKey, "i"u8, impostor.PublicKey);
        Assert.Throws<MlsValidationException>(() => wrong.Open([], ciphertext));
    }

    [Fact]
    public void A_context_only_works_in_its_own_direction()
    {
        using var recipient = Hpke.GenerateKeyPair();
        using var sender = Suite.SetupBaseSender(recipient.PublicKey, [], out var enc);
        using var opener = Suite.SetupBaseRecipient(enc, recipient.PrivateKey, []);
        Assert.Throws<MlsMisuseException>(() => sender.Open([], new byte[20]));
        Assert.Throws<MlsMisuseException>(() => opener.Seal([], [1]));
    }

    [Fact]
    public void Export_length_is_bounded()
    {
        using var recipient = Hpke.GenerateKeyPair();
        using var sender = Suite.SetupBaseSender(recipient.PublicKey, [], out _);
        Assert.Equal(255 * 32, sender.Export([], 255 * 32).Length);
        Assert.Throws<MlsMisuseException>(() => sender.Export([], (255 * 32) + 1));
    }
}
