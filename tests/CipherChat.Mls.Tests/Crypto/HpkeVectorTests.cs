using System.Text.Json;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests.Crypto;

/// <summary>RFC 9180 Appendix A known-answer tests: every entry of hpke/test-vectors.json.</summary>
public class HpkeVectorTests
{
    private static readonly Lazy<JsonElement> Vectors = new(() => TestVectors.LoadHpke("test-vectors.json"));

    public static TheoryData<string, string, int> Entries()
    {
        var data = new TheoryData<string, string, int>();
        var index = 0;
        foreach (var entry in Vectors.Value.EnumerateArray())
        {
            var mode = (HpkeMode)entry.GetProperty("mode").GetInt32();
            var aead = (HpkeAeadId)entry.GetProperty("aead_id").GetInt32();
            data.Add(mode.ToString(), aead.ToString(), index++);
        }

        return data;
    }

    [Fact]
    public void Vector_file_holds_all_four_modes_for_each_aead()
    {
        var pairs = Vectors.Value.EnumerateArray()
            .Select(e => (Mode: e.GetProperty("mode").GetInt32(), Aead: e.GetProperty("aead_id").GetInt32()))
            .ToHashSet();
        Assert.Equal(12, Vectors.Value.GetArrayLength());
        foreach (var aead in new[] { 1, 3, 0xFFFF })
        {
            for (var mode = 0; mode < 4; mode++)
            {
                Assert.Contains((mode, aead), pairs);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Hpke_vector_matches(string mode, string aead, int index)
    {
        var v = Vectors.Value[index];
        Assert.Equal(mode, ((HpkeMode)v.GetProperty("mode").GetInt32()).ToString());
        Assert.Equal(32, v.GetProperty("kem_id").GetInt32());
        Assert.Equal(1, v.GetProperty("kdf_id").GetInt32());

        var hpkeMode = (HpkeMode)v.GetProperty("mode").GetInt32();
        var hpke = new Hpke(Enum.Parse<HpkeAeadId>(aead));
        var authenticated = hpkeMode is HpkeMode.Auth or HpkeMode.AuthPsk;
        var withPsk = hpkeMode is HpkeMode.Psk or HpkeMode.AuthPsk;

        using var ephemeral = Hpke.DeriveKeyPair(v.Hex("ikmE"));
        using var recipient = Hpke.DeriveKeyPair(v.Hex("ikmR"));
        Assert.Equal(v.Hex("skEm"), Hpke.SerializePrivateKey(ephemeral));
        Assert.Equal(v.Hex("pkEm"), ephemeral.PublicKey);
        Assert.Equal(v.Hex("skRm"), Hpke.SerializePrivateKey(recipient));
        Assert.Equal(v.Hex("pkRm"), recipient.PublicKey);

        HpkeKeyPair? sender = null;
        if (authenticated)
        {
            sender = Hpke.DeriveKeyPair(v.Hex("ikmS"));
            Assert.Equal(v.Hex("skSm"), Hpke.SerializePrivateKey(sender));
            Assert.Equal(v.Hex("pkSm"), sender.PublicKey);
        }

        using var deserialized = Hpke.DeserializePrivateKey(v.Hex("skRm"));
        Assert.Equal(v.Hex("pkRm"), deserialized.PublicKey);

        var info = v.Hex("info");
        var psk = withPsk ? v.Hex("psk") : [];
        var pskId = withPsk ? v.Hex("psk_id") : [];

        using var senderContext = hpke.SetupSender(
            hpkeMode, recipient.PublicKey, info, psk, pskId, sender?.PrivateKey, ephemeral, out var enc, keepTrace: true);
        using var recipientContext = hpke.SetupRecipient(
            hpkeMode, enc, recipient.PrivateKey, info, psk, pskId, sender?.PublicKey ?? [], keepTrace: true);

        Assert.Equal(v.Hex("enc"), enc);
        foreach (var context in new[] { senderContext, recipientContext })
        {
            var trace = Assert.IsType<HpkeScheduleTrace>(context.Trace);
            Assert.Equal(v.Hex("shared_secret"), trace.SharedSecret);
            Assert.Equal(v.Hex("key_schedule_context"), trace.KeyScheduleContext);
            Assert.Equal(v.Hex("secret"), trace.Secret);
            Assert.Equal(v.Hex("key"), context.Key.ToArray());
            Assert.Equal(v.Hex("base_nonce"), context.BaseNonce.ToArray());
            Assert.Equal(v.Hex("exporter_secret"), context.ExporterSecret.ToArray());
        }

        var encryptions = v.GetProperty("encryptions");
        if (hpke.Aead == HpkeAeadId.ExportOnly)
        {
            Assert.Equal(0, encryptions.GetArrayLength());
            Assert.Throws<MlsMisuseException>(() => senderContext.Seal([], [1, 2, 3]));
            Assert.Throws<MlsMisuseException>(() => recipientContext.Open([], new byte[32]));
        }
        else
        {
            Assert.Equal(257, encryptions.GetArrayLength());
        }

        ulong sequence = 0;
        foreach (var encryption in encryptions.EnumerateArray())
        {
            var aad = encryption.Hex("aad");
            var plaintext = encryption.Hex("pt");
            var expected = encryption.Hex("ct");
            Assert.Equal(sequence, senderContext.SequenceNumber);
            Assert.Equal(encryption.Hex("nonce"), senderContext.ComputeNonce());
            Assert.Equal(encryption.Hex("nonce"), recipientContext.ComputeNonce());
            Assert.Equal(expected, senderContext.Seal(aad, plaintext));
            Assert.Equal(plaintext, recipientContext.Open(aad, expected));
            sequence++;
        }

        foreach (var export in v.GetProperty("exports").EnumerateArray())
        {
            var exporterContext = export.Hex("exporter_context");
            var length = export.GetProperty("L").GetInt32();
            Assert.Equal(export.Hex("exported_value"), senderContext.Export(exporterContext, length));
            Assert.Equal(export.Hex("exported_value"), recipientContext.Export(exporterContext, length));
        }

        sender?.Dispose();
    }
}
