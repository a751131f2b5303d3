using System.Buffers;

namespace CipherChat.Mls.Codec;

/// <summary>A value with a TLS presentation-language encoding.</summary>
public interface ITlsEncodable
{
    void Encode(TlsWriter writer);
}

/// <summary>A wire struct that can also be decoded. Decoders throw only <see cref="MlsDecodeException"/>.</summary>
public interface ITlsCodec<TSelf> : ITlsEncodable
    where TSelf : ITlsCodec<TSelf>
{
    static abstract TSelf Decode(ref TlsReader reader);
}

/// <summary>
/// Whole-buffer encode and decode. The same operations are available as <c>value.ToBytes()</c> and
/// <c>T.FromBytes(span)</c> through <see cref="TlsCodecExtensions"/>.
/// </summary>
public static class TlsCodec
{
    /// <summary>The encoding of <paramref name="value"/> as a new array.</summary>
    public static byte[] Encode(ITlsEncodable value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var buffer = new ArrayBufferWriter<byte>();
        value.Encode(new TlsWriter(buffer));
        var bytes = buffer.WrittenSpan.ToArray();

        // The working buffer may hold secrets (GroupSecrets) or plaintext: zero it (arrays it
        // outgrew while writing are not reachable here).
        buffer.Clear();
        return bytes;
    }

    /// <summary>Decodes exactly one <typeparamref name="T"/>; trailing bytes are malformed.</summary>
    public static T DecodeExact<T>(ReadOnlySpan<byte> data)
        where T : ITlsCodec<T>
    {
        var reader = new TlsReader(data);
        var value = T.Decode(ref reader);
        reader.EnsureEnd();
        return value;
    }
}
