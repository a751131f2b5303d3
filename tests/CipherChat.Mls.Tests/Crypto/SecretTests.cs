using CipherChat.Mls.Crypto;

namespace CipherChat.Mls.Tests.Crypto;

public class SecretTests
{
    [Fact]
    public void ToString_never_shows_the_bytes()
    {
        using var secret = new Secret([0xAB, 0xCD]);
        Assert.Equal("***", secret.ToString());
        Assert.Equal("***", $"{secret}");
    }

    [Fact]
    public void Equality_compares_contents()
    {
        using var a = new Secret([1, 2, 3]);
        using var b = new Secret([1, 2, 3]);
        using var c = new Secret([1, 2, 4]);
        using var d = new Secret([1, 2]);
        Assert.True(a.Equals(b));
        Assert.False(a.Equals(c));
        Assert.False(a.Equals(d));
        Assert.True(a.Equals(new byte[] { 1, 2, 3 }.AsSpan()));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Copies_its_input_and_its_output()
    {
        var input = new byte[] { 9, 9 };
        using var secret = new Secret(input);
        input[0] = 0;
        var copy = secret.ToArray();
        copy[1] = 0;
        Assert.Equal(new byte[] { 9, 9 }, secret.ToArray());
    }

    [Fact]
    public void Dispose_zeroes_and_blocks_further_use()
    {
        var secret = new Secret([7, 7, 7]);
        var clone = secret.Clone();
        secret.Dispose();
        Assert.Throws<ObjectDisposedException>(() => secret.ToArray());
        Assert.Throws<ObjectDisposedException>(() => secret.Span.Length);
        Assert.Equal(new byte[] { 7, 7, 7 }, clone.ToArray());
        clone.Dispose();
    }

    [Fact]
    public void Zero_secret_is_all_zero()
    {
        using var zero = Secret.Zero(32);
        Assert.Equal(new byte[32], zero.ToArray());
    }
}
