using System.Text;
using System.Text.Json;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Crypto;

/// <summary>crypto-basics.json: the RFC 9420 §5 suite operations for cipher suite 1.</summary>
public class CryptoBasicsVectorTests
{
    private static readonly Lazy<JsonElement> Vector = new(() =>
        Assert.Single(TestVectors.LoadMls("crypto-basics.json").EnumerateArray(), e => e.GetProperty("cipher_suite").GetInt32() == 1));

    private static MlsCipherSuite Suite => MlsCipherSuite.Default;

    [Fact]
    public void Ref_hash()
    {
        var v = Vector.Value.GetProperty("ref_hash");
        Assert.Equal(v.Hex("out"), Suite.RefHash(v.GetProperty("label").GetString()!, v.Hex("value")));
    }

    [Fact]
    public void Expand_with_label()
    {
        var v = Vector.Value.GetProperty("expand_with_label");
        using var output = Suite.ExpandWithLabel(
            v.Hex("secret"), v.GetProperty("label").GetString()!, v.Hex("context"), v.GetProperty("length").GetInt32());
        Assert.Equal(v.Hex("out"), output.ToArray());
    }

    [Fact]
    public void Derive_secret()
    {
        var v = Vector.Value.GetProperty("derive_secret");
        using var secret = new Secret(v.Hex("secret"));
        using var output = Suite.DeriveSecret(secret, v.GetProperty("label").GetString()!);
        Assert.Equal(v.Hex("out"), output.ToArray());
    }

    [Fact]
    public void Derive_tree_secret()
    {
        var v = Vector.Value.GetProperty("derive_tree_secret");
        using var secret = new Secret(v.Hex("secret"));
        using var output = Suite.DeriveTreeSecret(
            secret, v.GetProperty("label").GetString()!, v.GetProperty("generation").GetUInt32(), v.GetProperty("length").GetInt32());
        Assert.Equal(v.Hex("out"), output.ToArray());
    }

    [Fact]
    public void Sign_with_label()
    {
        var v = Vector.Value.GetProperty("sign_with_label");
        var label = v.GetProperty("label").GetString()!;
        var content = v.Hex("content");
        var publicKey = v.Hex("pub");
        Assert.True(Suite.VerifyWithLabel(publicKey, label, content, v.Hex("signature")));

        using var keyPair = SignatureKeyPair.FromPrivateKey(v.Hex("priv"));
        Assert.Equal(publicKey, keyPair.PublicKey);
        var signature = Suite.SignWithLabel(keyPair.PrivateKey, label, content);
        Assert.True(Suite.VerifyWithLabel(publicKey, label, content, signature));

        // Ed25519 is deterministic, so the fresh signature is the vector's.
        Assert.Equal(v.Hex("signature"), signature);

        // The label is bound: another label or tampered content fails.
        Assert.False(Suite.VerifyWithLabel(publicKey, label + "x", content, signature));
        content[0] ^= 1;
        Assert.False(Suite.VerifyWithLabel(publicKey, label, content, signature));
    }

    [Fact]
    public void Encrypt_with_label()
    {
        var v = Vector.Value.GetProperty("encrypt_with_label");
        var label = v.GetProperty("label").GetString()!;
        var context = v.Hex("context");
        var plaintext = v.Hex("plaintext");
        using var keyPair = Hpke.DeserializePrivateKey(v.Hex("priv"));
        Assert.Equal(v.Hex("pub"), keyPair.PublicKey);

        Assert.Equal(plaintext, Suite.DecryptWithLabel(keyPair.PrivateKey, label, context, v.Hex("kem_output"), v.Hex("ciphertext")));

        var (kemOutput, ciphertext) = Suite.EncryptWithLabel(v.Hex("pub"), label, context, plaintext);
        Assert.Equal(plaintext, Suite.DecryptWithLabel(keyPair.PrivateKey, label, context, kemOutput, ciphertext));

        Assert.Throws<MlsValidationException>(() => Suite.DecryptWithLabel(keyPair.PrivateKey, label + "x", context, kemOutput, ciphertext));
    }
}

public class CipherSuiteTests
{
    private static MlsCipherSuite Suite => MlsCipherSuite.Default;

    [Fact]
    public void Only_suite_one_is_supported()
    {
        Assert.Same(MlsCipherSuite.Default, MlsCipherSuite.FromId(1));
        Assert.Throws<MlsValidationException>(() => MlsCipherSuite.FromId(2));
        Assert.False(MlsCipherSuite.IsSupported(3));
    }

    [Fact]
    public void Aead_round_trips_and_rejects_tampering()
    {
        var key = new byte[16];
        var nonce = new byte[12];
        key[0] = 1;
        var sealed_ = Suite.AeadSeal(key, nonce, "aad"u8, "text"u8);
        Assert.Equal("text"u8.ToArray(), Suite.AeadOpen(key, nonce, "aad"u8, sealed_));
        sealed_[^1] ^= 1;
        Assert.Throws<MlsValidationException>(() => Suite.AeadOpen(key, nonce, "aad"u8, sealed_));
        Assert.Throws<MlsValidationException>(() => Suite.AeadOpen(key, nonce, "aad"u8, new byte[5]));
        Assert.Throws<MlsMisuseException>(() => Suite.AeadSeal(new byte[32], nonce, [], []));
    }

    [Fact]
    public void Mac_is_hmac_sha256_and_verifies_in_constant_time()
    {
        var tag = Suite.Mac("key"u8, "data"u8);
        Assert.Equal(System.Security.Cryptography.HMACSHA256.HashData("key"u8, "data"u8), tag);
        Assert.True(Suite.VerifyMac("key"u8, "data"u8, tag));
        tag[3] ^= 1;
        Assert.False(Suite.VerifyMac("key"u8, "data"u8, tag));
        Assert.False(Suite.VerifyMac("key"u8, "data"u8, tag.AsSpan(0, 16)));
    }

    [Fact]
    public void Generated_keys_work()
    {
        using var signer = Suite.GenerateSignatureKeyPair();
        var signature = Suite.SignWithLabel(signer.PrivateKey, "Test", "content"u8);
        Assert.True(Suite.VerifyWithLabel(signer.PublicKey, "Test", "content"u8, signature));
        Assert.False(Suite.VerifyWithLabel(signer.PublicKey, "Test", "content"u8, signature.AsSpan(1)));
        Assert.False(Suite.VerifyWithLabel(new byte[5], "Test", "content"u8, signature));

        using var hpke = Suite.GenerateHpkeKeyPair();
        var (kem, ct) = Suite.EncryptWithLabel(hpke.PublicKey, "Label", "ctx"u8, "pt"u8);
        Assert.Equal("pt"u8.ToArray(), Suite.DecryptWithLabel(hpke.PrivateKey, "Label", "ctx"u8, kem, ct));
    }

    [Fact]
    public void Derived_hpke_key_pair_is_deterministic()
    {
        using var a = Suite.DeriveHpkeKeyPair(Encoding.ASCII.GetBytes("path secret"));
        using var b = Suite.DeriveHpkeKeyPair(Encoding.ASCII.GetBytes("path secret"));
        Assert.Equal(a.PublicKey, b.PublicKey);
        Assert.True(a.PrivateKey.Equals(b.PrivateKey));
    }
}
