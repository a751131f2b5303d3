using System.Buffers.Binary;

namespace CipherChat.Mls.Codec;

/// <summary>Reads one element of a vector; used with <see cref="TlsReader.ReadVectorOf{T}"/>.</summary>
public delegate T TlsReadFunc<out T>(ref TlsReader reader);

/// <summary>
/// Reader for the TLS presentation language as extended by RFC 9420 §2.1 (optionals, variable-size
/// vector headers). Every read checks the remaining length first and throws
/// <see cref="MlsDecodeException"/>, and only that, on malformed input.
/// </summary>
public ref struct TlsReader
{
    private ReadOnlySpan<byte> _remaining;

    public TlsReader(ReadOnlySpan<byte> data)
    {
        _remaining = data;
    }

    /// <summary>Bytes not yet consumed.</summary>
    public readonly int Remaining => _remaining.Length;

    public readonly bool IsAtEnd => _remaining.IsEmpty;

    /// <summary>The bytes not yet consumed, without consuming them.</summary>
    public readonly ReadOnlySpan<byte> RemainingSpan => _remaining;

    public byte ReadUInt8()
    {
        if (_remaining.IsEmpty)
        {
            TlsThrow.Truncated();
        }

        var value = _remaining[0];
        _remaining = _remaining[1..];
        return value;
    }

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(ReadBytes(2));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(ReadBytes(4));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64BigEndian(ReadBytes(8));

    /// <summary>Reads exactly <paramref name="count"/> bytes (a fixed-size field).</summary>
    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || count > _remaining.Length)
        {
            TlsThrow.Truncated();
        }

        var value = _remaining[..count];
        _remaining = _remaining[count..];
        return value;
    }

    /// <summary>
    /// RFC 9420 §2.1.2 variable-length integer: 1, 2 or 4 bytes; the 0b11 prefix and
    /// non-minimal encodings are malformed.
    /// </summary>
    public uint ReadVarInt()
    {
        if (_remaining.IsEmpty)
        {
            TlsThrow.Truncated();
        }

        var first = _remaining[0];
        var prefix = first >> 6;
        switch (prefix)
        {
            case 0:
                _remaining = _remaining[1..];
                return first;
            case 1:
                {
                    var value = (uint)(ReadUInt16() & 0x3FFF);
                    if (value < 0x40)
                    {
                        TlsThrow.Decode(MlsDecodeError.NonMinimalVarInt, "Variable-length integer is not minimally encoded.");
                    }

                    return value;
                }

            case 2:
                {
                    var value = ReadUInt32() & 0x3FFF_FFFFu;
                    if (value < 0x4000)
                    {
                        TlsThrow.Decode(MlsDecodeError.NonMinimalVarInt, "Variable-length integer is not minimally encoded.");
                    }

                    return value;
                }

            default:
                // RFC 9420 §2.1.2: vectors whose length starts with the prefix 0b11 MUST be rejected.
                TlsThrow.Decode(MlsDecodeError.InvalidVarIntPrefix, "Variable-length integer uses the reserved 0b11 prefix.");
                return 0;
        }
    }

    /// <summary>
    /// Reads a <c>opaque data&lt;V&gt;</c> vector. The length is checked against the remaining input
    /// before slicing, so a huge length prefix never allocates.
    /// </summary>
    public ReadOnlySpan<byte> ReadVector()
    {
        var length = ReadVarInt();
        if (length > (uint)_remaining.Length)
        {
            TlsThrow.Truncated();
        }

        return ReadBytes((int)length);
    }

    /// <summary>Reads a <c>opaque data&lt;V&gt;</c> vector into a fresh array.</summary>
    public byte[] ReadVectorBytes() => ReadVector().ToArray();

    /// <summary>A reader over the body of the next vector; the caller must consume it entirely.</summary>
    public TlsReader ReadVectorReader() => new(ReadVector());

    /// <summary>Reads the presence octet of an <c>optional&lt;T&gt;</c> (RFC 9420 §2.1.1).</summary>
    public bool ReadPresence()
    {
        var present = ReadUInt8();
        if (present > 1)
        {
            TlsThrow.Decode(MlsDecodeError.InvalidOptional, "Optional presence octet is neither 0 nor 1.");
        }

        return present == 1;
    }

    /// <summary>Reads an <c>optional&lt;T&gt;</c> of a reference type; null when absent.</summary>
    public T? ReadOptional<T>(TlsReadFunc<T> read)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(read);
        return ReadPresence() ? read(ref this) : null;
    }

    /// <summary>Reads an <c>optional&lt;opaque data&lt;V&gt;&gt;</c>; null when absent.</summary>
    /// <remarks>Typed as a nullable memory on purpose: a null <c>byte[]</c> converts to an empty, non-null memory.</remarks>
    public ReadOnlyMemory<byte>? ReadOptionalVectorBytes() => ReadPresence() ? ReadVectorBytes() : (ReadOnlyMemory<byte>?)null;

    /// <summary>
    /// Reads a vector of structs: a variable-length byte count followed by elements that must
    /// fill it exactly. The element count is bounded by the byte count, which is bounded by the input.
    /// </summary>
    public T[] ReadVectorOf<T>(TlsReadFunc<T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var inner = ReadVectorReader();
        if (inner.IsAtEnd)
        {
            return [];
        }

        var items = new List<T>();
        while (!inner.IsAtEnd)
        {
            var before = inner.Remaining;
            items.Add(read(ref inner));
            if (inner.Remaining == before)
            {
                // An element that consumes nothing would repeat forever.
                TlsThrow.Decode(MlsDecodeError.Malformed, "Vector element has an empty encoding.");
            }
        }

        return [.. items];
    }

    /// <summary>Reads a vector of uint16 values (for example the lists in Capabilities).</summary>
    public ushort[] ReadVectorOfUInt16()
    {
        var body = ReadVector();
        if (body.Length % 2 != 0)
        {
            TlsThrow.Decode(MlsDecodeError.TrailingBytes, "Vector of uint16 has an odd byte length.");
        }

        var values = new ushort[body.Length / 2];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt16BigEndian(body.Slice(i * 2, 2));
        }

        return values;
    }

    /// <summary>Fails unless every byte has been consumed.</summary>
    public readonly void EnsureEnd()
    {
        if (!_remaining.IsEmpty)
        {
            TlsThrow.Decode(MlsDecodeError.TrailingBytes, "Unexpected bytes after the end of the structure.");
        }
    }
}
