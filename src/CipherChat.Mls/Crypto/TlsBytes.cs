using System.Buffers.Binary;

namespace CipherChat.Mls.Crypto;

/// <summary>
/// The few RFC 9420 §2.1 encodings the cryptographic layer builds for itself (labels, vectors,
/// integers), written straight into a byte array so derivations do not allocate writers.
/// </summary>
internal static class TlsBytes
{
    public const uint MaxVarInt = 0x3FFF_FFFF;

    /// <summary>The length of the shortest RFC 9420 §2.1.2 varint for <paramref name="value"/>.</summary>
    public static int VarIntSize(int value) => value switch
    {
        < 0 => throw new MlsMisuseException("Negative length."),
        < 0x40 => 1,
        < 0x4000 => 2,
        <= (int)MaxVarInt => 4,
        _ => throw new MlsMisuseException("Value too large for an MLS variable-length integer."),
    };

    public static int VectorSize(int contentLength) => VarIntSize(contentLength) + contentLength;

    /// <summary>Writes a minimal varint and returns the number of bytes written.</summary>
    public static int WriteVarInt(Span<byte> destination, int value)
    {
        switch (VarIntSize(value))
        {
            case 1:
                destination[0] = (byte)value;
                return 1;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(0x4000 | value));
                return 2;
            default:
                BinaryPrimitives.WriteUInt32BigEndian(destination, 0x8000_0000u | (uint)value);
                return 4;
        }
    }

    /// <summary>Writes <c>opaque data&lt;V&gt;</c> and returns the number of bytes written.</summary>
    public static int WriteVector(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        var n = WriteVarInt(destination, value.Length);
        value.CopyTo(destination[n..]);
        return n + value.Length;
    }

    /// <summary>Writes <c>opaque data&lt;V&gt;</c> whose content is <paramref name="prefix"/> followed by <paramref name="value"/>.</summary>
    public static int WriteVector(Span<byte> destination, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> value)
    {
        var n = WriteVarInt(destination, prefix.Length + value.Length);
        prefix.CopyTo(destination[n..]);
        value.CopyTo(destination[(n + prefix.Length)..]);
        return n + prefix.Length + value.Length;
    }

    /// <summary>The encoding of a two-vector struct <c>{ opaque a&lt;V&gt;; opaque b&lt;V&gt;; }</c> where a = prefix || label.</summary>
    public static byte[] LabeledPair(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> label, ReadOnlySpan<byte> value)
    {
        var result = new byte[VectorSize(prefix.Length + label.Length) + VectorSize(value.Length)];
        var n = WriteVector(result, prefix, label);
        WriteVector(result.AsSpan(n), value);
        return result;
    }
}
