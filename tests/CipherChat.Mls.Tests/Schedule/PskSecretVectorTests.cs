using System.Text.Json;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Schedule;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Schedule;

/// <summary>psk_secret.json: psk_secret from 0..n external PSKs.</summary>
public class PskSecretVectorTests
{
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadMls("psk_secret.json"));

    public static TheoryData<int> Entries()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Vectors.Value.GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void All_eleven_entries_are_present()
    {
        Assert.Equal(11, Vectors.Value.GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Psk_secret_matches(int index)
    {
        var v = Vectors.Value[index];
        Assert.Equal(1, v.GetProperty("cipher_suite").GetInt32());
        var inputs = v.GetProperty("psks").EnumerateArray()
            .Select(p => new PskInput(PreSharedKeyId.External(p.Hex("psk_id"), p.Hex("psk_nonce")), new Secret(p.Hex("psk"))))
            .ToList();

        using var pskSecret = PskSecret.Compute(MlsCipherSuite.Default, inputs);
        Assert.Equal(v.Hex("psk_secret"), pskSecret.ToArray());

        foreach (var input in inputs)
        {
            input.Psk.Dispose();
        }
    }

    [Fact]
    public void Order_of_psks_matters()
    {
        using var a = new Secret(new byte[32]);
        using var b = new Secret(Enumerable.Repeat((byte)1, 32).ToArray());
        var first = new PskInput(PreSharedKeyId.External(new byte[] { 1 }, new byte[32]), a);
        var second = new PskInput(PreSharedKeyId.External(new byte[] { 2 }, new byte[32]), b);
        using var ab = PskSecret.Compute(MlsCipherSuite.Default, [first, second]);
        using var ba = PskSecret.Compute(MlsCipherSuite.Default, [second, first]);
        Assert.False(ab.Equals(ba));
    }

    [Fact]
    public void A_psk_nonce_of_the_wrong_length_is_invalid()
    {
        using var psk = new Secret(new byte[32]);
        var input = new PskInput(PreSharedKeyId.External(new byte[] { 1 }, new byte[31]), psk);
        Assert.Throws<MlsValidationException>(() => PskSecret.Compute(MlsCipherSuite.Default, [input]));
        Assert.Equal(32, PskSecret.NewNonce(MlsCipherSuite.Default).Length);
    }
}
