using CipherChat.Mls.Codec;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Codec": that would shadow CipherChat.Mls.Codec for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.CodecTests;

/// <summary>deserialization.json: variable-length vector headers decode to the given length.</summary>
public class DeserializationVectorTests
{
    public static TheoryData<int> Entries()
    {
        var data = new TheoryData<int>();
        var count = TestVectors.LoadMls("deserialization.json").GetArrayLength();
        for (var i = 0; i < count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Header_decodes_to_the_given_length(int index)
    {
        var entry = TestVectors.LoadMls("deserialization.json")[index];
        var header = entry.Hex("vlbytes_header");
        var expected = entry.GetProperty("length").GetUInt32();

        var reader = new TlsReader(header);
        var length = reader.ReadVarInt();
        reader.EnsureEnd();

        Assert.Equal(expected, length);
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Length_reencodes_to_the_same_header(int index)
    {
        var entry = TestVectors.LoadMls("deserialization.json")[index];
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        new TlsWriter(buffer).WriteVarInt(entry.GetProperty("length").GetUInt32());

        Assert.Equal(entry.Hex("vlbytes_header"), buffer.WrittenSpan.ToArray());
    }
}
