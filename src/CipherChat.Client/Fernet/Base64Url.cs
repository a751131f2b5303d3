using System.Buffers.Text;

namespace CipherChat.Client.Fernet;

/// <summary>
/// The url-safe base64 alphabet of RFC 4648 §5 with '=' padding, as Fernet uses it. Decoding accepts the
/// padded and unpadded forms, since implementations differ in whether they keep the padding.
/// </summary>
internal static class Base64Url
{
    private static readonly System.Buffers.SearchValues<char> Alphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    public static string Encode(ReadOnlySpan<byte> data)
    {
        var unpadded = System.Buffers.Text.Base64Url.EncodeToString(data);
        var padding = (4 - (unpadded.Length % 4)) % 4;
        return padding == 0 ? unpadded : unpadded + new string('=', padding);
    }

    /// <summary>Decodes, or returns null when the text is not valid url-safe base64.</summary>
    public static byte[]? TryDecode(ReadOnlySpan<char> text)
    {
        var trimmed = text.TrimEnd('=');
        if (text.Length - trimmed.Length > 2 || (text.Length != trimmed.Length && text.Length % 4 != 0))
        {
            return null;
        }

        // Check the alphabet first, so only the trailing-bits case reaches the decoder's exception.
        if (trimmed.Length % 4 == 1 || trimmed.ContainsAnyExcept(Alphabet))
        {
            return null;
        }

        var buffer = new byte[System.Buffers.Text.Base64Url.GetMaxDecodedLength(trimmed.Length)];
        int written;
        try
        {
            if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(trimmed, buffer, out written))
            {
                return null;
            }
        }
        catch (FormatException)
        {
            // Thrown (despite the Try name) for non-zero trailing bits in the last character.
            return null;
        }

        return written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
    }
}
