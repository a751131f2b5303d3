using System.Diagnostics.CodeAnalysis;

namespace CipherChat.Mls.Codec;

/// <summary>Throwing lives here, out of line, so that the hot read methods stay small.</summary>
internal static class TlsThrow
{
    [DoesNotReturn]
    public static void Truncated() =>
        throw new MlsDecodeException(MlsDecodeError.Truncated, "Input ends before the structure does.");

    [DoesNotReturn]
    public static void Decode(MlsDecodeError error, string message) =>
        throw new MlsDecodeException(error, message);

    [DoesNotReturn]
    public static T Unknown<T>(string what) =>
        throw new MlsDecodeException(MlsDecodeError.UnknownValue, "Unknown " + what + ".");
}
