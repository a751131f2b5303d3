using CipherChat.Mls.Crypto;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.TreeMath;

namespace CipherChat.Mls.Tests.Schedule;

public class SecretTreeBehaviourTests
{
    private static readonly LeafIndex Leaf = new(1);

    private static SecretTree NewTree(SecretTreeOptions? options = null)
    {
        using var root = new Secret(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        return new SecretTree(MlsCipherSuite.Default, root, 4, options);
    }

    [Fact]
    public void A_used_generation_cannot_be_used_again()
    {
        using var tree = NewTree();
        using var first = tree.ReceiveKey(Leaf, RatchetKind.Application, 0);
        Assert.Throws<MlsValidationException>(() => tree.ReceiveKey(Leaf, RatchetKind.Application, 0));
    }

    [Fact]
    public void Skipped_generations_stay_available_once()
    {
        using var tree = NewTree();
        using var sender = NewTree();
        var sent = Enumerable.Range(0, 5).Select(_ => sender.NextSendKey(Leaf, RatchetKind.Handshake)).ToList();

        using var fourth = tree.ReceiveKey(Leaf, RatchetKind.Handshake, 4);
        using var second = tree.ReceiveKey(Leaf, RatchetKind.Handshake, 2);
        Assert.True(sent[4].Key.Equals(fourth.Key));
        Assert.True(sent[2].Key.Equals(second.Key));
        Assert.True(sent[2].Nonce.Equals(second.Nonce));
        Assert.Throws<MlsValidationException>(() => tree.ReceiveKey(Leaf, RatchetKind.Handshake, 2));
        using var zero = tree.ReceiveKey(Leaf, RatchetKind.Handshake, 0);
        Assert.True(sent[0].Key.Equals(zero.Key));

        sent.ForEach(k => k.Dispose());
    }

    [Fact]
    public void Generations_too_far_ahead_are_refused()
    {
        using var tree = NewTree(new SecretTreeOptions { MaximumForwardDistance = 10 });
        Assert.Throws<MlsValidationException>(() => tree.ReceiveKey(Leaf, RatchetKind.Application, 11));
        using var ok = tree.ReceiveKey(Leaf, RatchetKind.Application, 10);
        Assert.Equal(10u, ok.Generation);
    }

    [Fact]
    public void Skipped_keys_older_than_the_tolerance_are_deleted()
    {
        using var tree = NewTree(new SecretTreeOptions { OutOfOrderTolerance = 3 });
        using var tenth = tree.ReceiveKey(Leaf, RatchetKind.Application, 10);
        Assert.Throws<MlsValidationException>(() => tree.ReceiveKey(Leaf, RatchetKind.Application, 6));
        using var seventh = tree.ReceiveKey(Leaf, RatchetKind.Application, 7);
        Assert.Equal(7u, seventh.Generation);
    }

    [Fact]
    public void Handshake_and_application_ratchets_are_independent()
    {
        using var tree = NewTree();
        using var handshake = tree.NextSendKey(Leaf, RatchetKind.Handshake);
        using var application = tree.NextSendKey(Leaf, RatchetKind.Application);
        Assert.Equal(0u, handshake.Generation);
        Assert.Equal(0u, application.Generation);
        Assert.False(handshake.Key.Equals(application.Key));
    }

    [Fact]
    public void Leaves_outside_the_tree_are_refused()
    {
        using var tree = NewTree();
        Assert.Throws<MlsValidationException>(() => tree.ReceiveKey(new LeafIndex(4), RatchetKind.Application, 0));
        using var root = Secret.Zero(32);
        Assert.Throws<MlsMisuseException>(() => new SecretTree(MlsCipherSuite.Default, root, 0));
        Assert.Throws<MlsMisuseException>(() => new SecretTree(MlsCipherSuite.Default, root, 3));
    }

    [Fact]
    public void Keys_are_wiped_when_disposed()
    {
        using var tree = NewTree();
        var key = tree.NextSendKey(Leaf, RatchetKind.Application);
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.Key.ToArray());
        Assert.Equal("RatchetKey(generation 0, ***)", key.ToString());
    }

    [Fact]
    public void A_disposed_tree_is_unusable()
    {
        var tree = NewTree();
        tree.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tree.NextSendKey(Leaf, RatchetKind.Application));
    }

    [Fact]
    public void Reuse_guard_is_xored_into_the_first_four_nonce_bytes()
    {
        using var tree = NewTree();
        using var key = tree.NextSendKey(Leaf, RatchetKind.Application);
        var plain = key.Nonce.ToArray();
        var guarded = key.NonceWithReuseGuard([0xFF, 0x00, 0x0F, 0xF0]);
        Assert.Equal((byte)(plain[0] ^ 0xFF), guarded[0]);
        Assert.Equal(plain[1], guarded[1]);
        Assert.Equal((byte)(plain[2] ^ 0x0F), guarded[2]);
        Assert.Equal((byte)(plain[3] ^ 0xF0), guarded[3]);
        Assert.Equal(plain[4..], guarded[4..]);
        Assert.Throws<MlsMisuseException>(() => key.NonceWithReuseGuard([1, 2, 3]));
    }

    [Fact]
    public void Creating_the_tree_from_epoch_secrets_wipes_the_encryption_secret()
    {
        using var init = new Secret(new byte[32]);
        using var secrets = KeySchedule.Derive(MlsCipherSuite.Default, init, null, null, "ctx"u8);
        var expected = secrets.EncryptionSecret.ToArray();
        using var tree = secrets.CreateSecretTree(2);
        Assert.Throws<ObjectDisposedException>(() => secrets.EncryptionSecret.ToArray());

        using var root = new Secret(expected);
        using var copy = new SecretTree(MlsCipherSuite.Default, root, 2);
        using var a = tree.NextSendKey(new LeafIndex(0), RatchetKind.Application);
        using var b = copy.NextSendKey(new LeafIndex(0), RatchetKind.Application);
        Assert.True(a.Key.Equals(b.Key));
    }

    [Fact]
    public void A_failed_decryption_does_not_consume_the_key()
    {
        using var tree = NewTree();
        using var sender = NewTree();
        using var sent = sender.NextSendKey(Leaf, RatchetKind.Application);

        Assert.Throws<MlsValidationException>(() =>
            tree.OpenWith<int>(Leaf, RatchetKind.Application, 0, _ => throw new MlsValidationException("forged")));
        var matched = tree.OpenWith(Leaf, RatchetKind.Application, 0, key => key.Key.Equals(sent.Key));
        Assert.True(matched);

        // A successful open consumes the key.
        Assert.Throws<MlsValidationException>(() => tree.OpenWith(Leaf, RatchetKind.Application, 0, _ => true));
    }
}
