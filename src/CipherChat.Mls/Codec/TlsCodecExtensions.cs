using CipherChat.Mls.Codec;

// In the root namespace so that every CipherChat.Mls namespace, and any code that already
// imports CipherChat.Mls for the exception types, sees ToBytes/FromBytes without another using.
namespace CipherChat.Mls;

/// <summary>Whole-buffer encode and decode for wire structs: <c>value.ToBytes()</c> and <c>T.FromBytes(span)</c>.</summary>
public static class TlsCodecExtensions
{
    /// <summary>The encoding of <paramref name="value"/> as a new array.</summary>
    public static byte[] ToBytes(this ITlsEncodable value) => TlsCodec.Encode(value);

    extension<T>(T)
        where T : ITlsCodec<T>
    {
        /// <summary>Decodes exactly one value; trailing bytes are malformed.</summary>
        public static T FromBytes(ReadOnlySpan<byte> data) => TlsCodec.DecodeExact<T>(data);
    }
}
