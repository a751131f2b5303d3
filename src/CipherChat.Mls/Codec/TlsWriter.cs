using System.Buffers;
using System.Buffers.Binary;

namespace CipherChat.Mls.Codec;

/// <summary>
/// Writer for the TLS presentation language as extended by RFC 9420 §2.1, over any
/// <see cref="IBufferWriter{T}"/>.
/// </summary>
public sealed class TlsWriter
{
    /// <summary>The largest value a RFC 9420 §2.1.2 variable-length integer can hold (2^30 - 1).</summary>
    public const uint MaxVarInt = 0x3FFF_FFFF;

    private readonly IBufferWriter<byte> _output;

    public TlsWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    public void WriteUInt8(byte value)
    {
        var span = _output.GetSpan(1);
        span[0] = value;
        _output.Advance(1);
    }

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_output.GetSpan(2), value);
        _output.Advance(2);
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_output.GetSpan(4), value);
        _output.Advance(4);
    }

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_output.GetSpan(8), value);
        _output.Advance(8);
    }

    /// <summary>Writes raw bytes (a fixed-size field), with no length prefix.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value) => _output.Write(value);

    /// <summary>RFC 9420 §2.1.2 variable-length integer in its shortest form.</summary>
    public void WriteVarInt(uint value)
    {
        if (value < 0x40)
        {
            WriteUInt8((byte)value);
        }
        else if (value < 0x4000)
        {
            WriteUInt16((ushort)(0x4000 | value));
        }
        else if (value <= MaxVarInt)
        {
            WriteUInt32(0x8000_0000u | value);
        }
        else
        {
            throw new MlsMisuseException("Value too large for an MLS variable-length integer.");
        }
    }

    /// <summary>Writes <c>opaque data&lt;V&gt;</c>: varint length, then the bytes.</summary>
    public void WriteVector(ReadOnlySpan<byte> value)
    {
        WriteVarInt((uint)value.Length);
        WriteBytes(value);
    }

    /// <summary>Writes the presence octet of an <c>optional&lt;T&gt;</c>.</summary>
    public void WritePresence(bool present) => WriteUInt8(present ? (byte)1 : (byte)0);

    /// <summary>Writes <c>optional&lt;opaque data&lt;V&gt;&gt;</c>.</summary>
    public void WriteOptionalVector(ReadOnlyMemory<byte>? value)
    {
        WritePresence(value.HasValue);
        if (value.HasValue)
        {
            WriteVector(value.Value.Span);
        }
    }

    /// <summary>Writes an <c>optional&lt;T&gt;</c> of an encodable value.</summary>
    public void WriteOptional<T>(T? value)
        where T : class, ITlsEncodable
    {
        WritePresence(value is not null);
        value?.Encode(this);
    }

    /// <summary>
    /// Writes a vector whose length is not known in advance: <paramref name="body"/> writes into a
    /// scratch buffer, which is then emitted behind its varint length.
    /// </summary>
    public void WriteVector<TState>(TState state, Action<TlsWriter, TState> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scratch = new ArrayBufferWriter<byte>();
        body(new TlsWriter(scratch), state);
        WriteVector(scratch.WrittenSpan);

        // The scratch copy may hold plaintext content: zero it rather than leave it to the GC
        // (arrays it outgrew while writing are not reachable here).
        scratch.Clear();
    }

    /// <summary>Writes a vector of encodable structs.</summary>
    public void WriteVectorOf<T>(IReadOnlyList<T> items)
        where T : ITlsEncodable
    {
        ArgumentNullException.ThrowIfNull(items);
        WriteVector(items, static (writer, list) =>
        {
            for (var i = 0; i < list.Count; i++)
            {
                list[i].Encode(writer);
            }
        });
    }

    /// <summary>Writes a vector of elements with a custom element writer.</summary>
    public void WriteVectorOf<T>(IReadOnlyList<T> items, Action<TlsWriter, T> writeItem)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(writeItem);
        WriteVector((items, writeItem), static (writer, state) =>
        {
            for (var i = 0; i < state.items.Count; i++)
            {
                state.writeItem(writer, state.items[i]);
            }
        });
    }

    /// <summary>Writes a vector of uint16 values.</summary>
    public void WriteVectorOfUInt16(IReadOnlyList<ushort> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        WriteVarInt(checked((uint)items.Count * 2));
        for (var i = 0; i < items.Count; i++)
        {
            WriteUInt16(items[i]);
        }
    }
}
