using System.Buffers;
using System.Buffers.Text;

namespace CipherChat.LoadGen;

/// <summary>
/// The send time carried in text protocols (IRC, NATS): "T" and 16 upper-case hex digits of the
/// Stopwatch timestamp, a space, then the Fernet token.
/// </summary>
public static class TextStamp
{
    public const int Length = 18; // 'T' + 16 hex + ' '

    private static readonly StandardFormat Hex16 = new('X', 16);

    public static void Write(Span<byte> destination, long stamp)
    {
        destination[0] = (byte)'T';
        Utf8Formatter.TryFormat((ulong)stamp, destination.Slice(1, 16), out _, Hex16);
        destination[17] = (byte)' ';
    }

    public static bool TryRead(ReadOnlySpan<byte> text, out long stamp)
    {
        stamp = 0;
        if (text.Length < Length || text[0] != (byte)'T' || text[17] != (byte)' ')
        {
            return false;
        }

        if (!Utf8Parser.TryParse(text.Slice(1, 16), out ulong value, out var consumed, 'X') || consumed != 16)
        {
            return false;
        }

        stamp = (long)value;
        return true;
    }
}
