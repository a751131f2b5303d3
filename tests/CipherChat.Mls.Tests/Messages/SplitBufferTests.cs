using CipherChat.Mls.Codec;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>Encodings are prefix-free: no proper prefix decodes, and back-to-back values decode one by one.</summary>
public class SplitBufferTests
{
    private const int EntriesChecked = 4;

    public static TheoryData<int, string> Samples()
    {
        var data = new TheoryData<int, string>();
        for (var i = 0; i < EntriesChecked; i++)
        {
            foreach (var field in MessagesVectorTests.Fields)
            {
                data.Add(i, field);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_proper_prefix_is_reported_as_truncated(int index, string field)
    {
        var bytes = TestVectors.LoadMls("messages.json")[index].Hex(field);
        var roundTrip = WireCodecs.ForField(field);

        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var prefix = bytes[..cut];
            var ex = Assert.Throws<MlsDecodeException>(() => roundTrip(prefix));
            Assert.Equal(MlsDecodeError.Truncated, ex.Error);
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_extension_with_a_byte_is_reported_as_trailing(int index, string field)
    {
        var bytes = TestVectors.LoadMls("messages.json")[index].Hex(field);
        var ex = Assert.Throws<MlsDecodeException>(() => WireCodecs.ForField(field)([.. bytes, 0x00]));
        Assert.Equal(MlsDecodeError.TrailingBytes, ex.Error);
    }

    [Fact]
    public void Concatenated_messages_decode_one_after_another()
    {
        var entries = TestVectors.LoadMls("messages.json");
        string[] fields = ["mls_welcome", "public_message_commit", "private_message", "mls_key_package", "mls_group_info"];
        var parts = fields.Select(f => entries[0].Hex(f)).ToArray();
        var joined = parts.SelectMany(p => p).ToArray();

        var reader = new TlsReader(joined);
        foreach (var part in parts)
        {
            var message = MlsMessage.Decode(ref reader);
            Assert.Equal(part, message.ToBytes());
        }

        reader.EnsureEnd();
        Assert.Throws<MlsDecodeException>(() => MlsMessage.FromBytes(joined));
    }
}
