using System.Buffers;
using CipherChat.Mls.Codec;

// Not "...Tests.Codec": that would shadow CipherChat.Mls.Codec for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.CodecTests;

public class VarIntTests
{
    private static byte[] Encode(uint value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new TlsWriter(buffer).WriteVarInt(value);
        return buffer.WrittenSpan.ToArray();
    }

    private static uint Decode(byte[] bytes)
    {
        var reader = new TlsReader(bytes);
        var value = reader.ReadVarInt();
        reader.EnsureEnd();
        return value;
    }

    [Theory]
    [InlineData(0u, "00")]
    [InlineData(37u, "25")]
    [InlineData(63u, "3f")]
    [InlineData(64u, "4040")]
    [InlineData(15293u, "7bbd")]
    [InlineData(16383u, "7fff")]
    [InlineData(16384u, "80004000")]
    [InlineData(494878333u, "9d7f3e7d")]
    [InlineData(0x3FFFFFFFu, "bfffffff")]
    public void Boundary_values_use_the_shortest_form_and_round_trip(uint value, string hex)
    {
        var bytes = Convert.FromHexString(hex);
        Assert.Equal(bytes, Encode(value));
        Assert.Equal(value, Decode(bytes));
    }

    [Theory]
    [InlineData("4000")]
    [InlineData("403f")]
    [InlineData("80000000")]
    [InlineData("80003fff")]
    [InlineData("80000001")]
    public void Non_minimal_encodings_are_rejected(string hex)
    {
        var ex = Assert.Throws<MlsDecodeException>(() => Decode(Convert.FromHexString(hex)));
        Assert.Equal(MlsDecodeError.NonMinimalVarInt, ex.Error);
    }

    [Theory]
    [InlineData("c0")]
    [InlineData("c000000000000000")]
    [InlineData("ffffffff")]
    public void The_0b11_prefix_is_rejected(string hex)
    {
        var ex = Assert.Throws<MlsDecodeException>(() => Decode(Convert.FromHexString(hex)));
        Assert.Equal(MlsDecodeError.InvalidVarIntPrefix, ex.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("40")]
    [InlineData("80")]
    [InlineData("8000")]
    [InlineData("800040")]
    public void Truncated_varints_are_rejected(string hex)
    {
        var ex = Assert.Throws<MlsDecodeException>(() => Decode(Convert.FromHexString(hex)));
        Assert.Equal(MlsDecodeError.Truncated, ex.Error);
    }

    [Fact]
    public void Values_above_two_to_the_thirty_cannot_be_written()
    {
        Assert.Throws<MlsMisuseException>(() => Encode(0x4000_0000u));
    }
}
