using System.Buffers;
using CipherChat.Mls.Codec;

// Not "...Tests.Codec": that would shadow CipherChat.Mls.Codec for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.CodecTests;

public class TlsReaderTests
{
    [Fact]
    public void Fixed_width_integers_are_big_endian()
    {
        var reader = new TlsReader(Convert.FromHexString("01" + "0203" + "04050607" + "08090a0b0c0d0e0f"));
        Assert.Equal(0x01, reader.ReadUInt8());
        Assert.Equal(0x0203, reader.ReadUInt16());
        Assert.Equal(0x04050607u, reader.ReadUInt32());
        Assert.Equal(0x08090a0b0c0d0e0fUL, reader.ReadUInt64());
        reader.EnsureEnd();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Every_fixed_width_read_checks_the_remaining_length(int width)
    {
        var ex = Assert.Throws<MlsDecodeException>(() =>
        {
            var reader = new TlsReader(new byte[width - 1]);
            _ = width switch
            {
                1 => reader.ReadUInt8(),
                2 => reader.ReadUInt16(),
                4 => reader.ReadUInt32(),
                _ => reader.ReadUInt64(),
            };
        });
        Assert.Equal(MlsDecodeError.Truncated, ex.Error);
    }

    [Fact]
    public void A_vector_returns_exactly_its_bytes()
    {
        var reader = new TlsReader(Convert.FromHexString("03aabbcc" + "00" + "dd"));
        Assert.Equal(Convert.FromHexString("aabbcc"), reader.ReadVector().ToArray());
        Assert.True(reader.ReadVector().IsEmpty);
        Assert.Equal(1, reader.Remaining);
        Assert.Equal(0xdd, reader.ReadUInt8());
        Assert.True(reader.IsAtEnd);
    }

    [Theory]
    [InlineData("bfffffff")]
    [InlineData("bfffffff00010203")]
    [InlineData("7fff00")]
    [InlineData("05aabbccdd")]
    public void A_length_prefix_beyond_the_input_is_truncation(string hex)
    {
        var ex = Assert.Throws<MlsDecodeException>(() => new TlsReader(Convert.FromHexString(hex)).ReadVector().ToArray());
        Assert.Equal(MlsDecodeError.Truncated, ex.Error);
    }

    [Theory]
    [InlineData("00", false)]
    [InlineData("01", true)]
    public void Presence_octets_zero_and_one_decode(string hex, bool expected)
    {
        var reader = new TlsReader(Convert.FromHexString(hex));
        Assert.Equal(expected, reader.ReadPresence());
    }

    [Theory]
    [InlineData("02")]
    [InlineData("ff")]
    public void Other_presence_octets_are_malformed(string hex)
    {
        var ex = Assert.Throws<MlsDecodeException>(() => new TlsReader(Convert.FromHexString(hex)).ReadPresence());
        Assert.Equal(MlsDecodeError.InvalidOptional, ex.Error);
    }

    [Fact]
    public void Optional_vector_distinguishes_absent_from_empty()
    {
        var reader = new TlsReader(Convert.FromHexString("00" + "0100" + "0102abcd"));
        Assert.Null(reader.ReadOptionalVectorBytes());
        var empty = reader.ReadOptionalVectorBytes();
        Assert.NotNull(empty);
        Assert.Equal(0, empty.Value.Length);
        Assert.Equal(Convert.FromHexString("abcd"), reader.ReadOptionalVectorBytes()!.Value.ToArray());
        reader.EnsureEnd();
    }

    [Fact]
    public void Vector_of_structs_reads_until_its_end()
    {
        var reader = new TlsReader(Convert.FromHexString("06" + "00010002ffff" + "77"));
        var values = reader.ReadVectorOf(static (ref TlsReader r) => r.ReadUInt16());
        Assert.Equal(new ushort[] { 1, 2, 0xffff }, values);
        Assert.Equal(0x77, reader.ReadUInt8());
    }

    [Fact]
    public void Vector_of_structs_whose_last_element_overruns_the_vector_is_truncated()
    {
        // Three bytes of vector cannot hold two uint16 values, even though the input has more.
        var ex = Assert.Throws<MlsDecodeException>(() =>
            new TlsReader(Convert.FromHexString("03" + "000100" + "02")).ReadVectorOf(static (ref TlsReader r) => r.ReadUInt16()));
        Assert.Equal(MlsDecodeError.Truncated, ex.Error);
    }

    [Fact]
    public void Vector_of_structs_with_an_element_that_consumes_nothing_is_malformed()
    {
        var ex = Assert.Throws<MlsDecodeException>(() =>
            new TlsReader(Convert.FromHexString("0100")).ReadVectorOf(static (ref TlsReader r) => 0));
        Assert.Equal(MlsDecodeError.Malformed, ex.Error);
    }

    [Fact]
    public void Vector_of_uint16_with_an_odd_length_is_malformed()
    {
        Assert.Throws<MlsDecodeException>(() => new TlsReader(Convert.FromHexString("03000100")).ReadVectorOfUInt16());
    }

    [Fact]
    public void EnsureEnd_rejects_trailing_bytes()
    {
        var ex = Assert.Throws<MlsDecodeException>(() =>
        {
            var reader = new TlsReader(Convert.FromHexString("0102"));
            reader.ReadUInt8();
            reader.EnsureEnd();
        });
        Assert.Equal(MlsDecodeError.TrailingBytes, ex.Error);
    }

    [Fact]
    public void Fixed_size_reads_reject_negative_counts()
    {
        Assert.Throws<MlsDecodeException>(() => new TlsReader(new byte[4]).ReadBytes(-1).ToArray());
    }
}

public class TlsWriterTests
{
    private static byte[] Write(Action<TlsWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new TlsWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void Integers_and_vectors_encode_as_specified()
    {
        var bytes = Write(w =>
        {
            w.WriteUInt8(1);
            w.WriteUInt16(0x0203);
            w.WriteUInt32(0x04050607);
            w.WriteUInt64(0x08090a0b0c0d0e0f);
            w.WriteVector([0xaa, 0xbb]);
            w.WritePresence(false);
            w.WriteOptionalVector(new byte[] { 0xcc });
        });
        Assert.Equal("01" + "0203" + "04050607" + "08090a0b0c0d0e0f" + "02aabb" + "00" + "0101cc", Convert.ToHexString(bytes).ToLowerInvariant());
    }

    [Theory]
    [InlineData(0, "00")]
    [InlineData(63, "3f")]
    [InlineData(64, "4040")]
    [InlineData(16383, "7fff")]
    [InlineData(16384, "80004000")]
    public void Nested_vectors_get_the_minimal_length_prefix(int length, string prefixHex)
    {
        var bytes = Write(w => w.WriteVector(length, static (inner, n) =>
        {
            for (var i = 0; i < n; i++)
            {
                inner.WriteUInt8((byte)i);
            }
        }));
        var prefix = Convert.FromHexString(prefixHex);
        Assert.Equal(prefix.Length + length, bytes.Length);
        Assert.Equal(prefix, bytes[..prefix.Length]);

        var reader = new TlsReader(bytes);
        Assert.Equal(length, reader.ReadVector().Length);
        reader.EnsureEnd();
    }

    [Fact]
    public void Vector_of_structs_round_trips_through_the_reader()
    {
        uint[] values = [0, 1, 0xdeadbeef, uint.MaxValue];
        var bytes = Write(w => w.WriteVectorOf(values, static (inner, v) => inner.WriteUInt32(v)));
        Assert.Equal(1 + 16, bytes.Length);

        var reader = new TlsReader(bytes);
        Assert.Equal(values, reader.ReadVectorOf(static (ref TlsReader r) => r.ReadUInt32()));
        reader.EnsureEnd();
    }
}
