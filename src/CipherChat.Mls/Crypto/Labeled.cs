using System.Security.Cryptography;
using System.Text;

namespace CipherChat.Mls.Crypto;

/// <summary>RFC 9180 §4 LabeledExtract and LabeledExpand.</summary>
internal static class Labeled
{
    private static readonly byte[] Version = Encoding.ASCII.GetBytes("HPKE-v1");

    public static byte[] Extract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        var labeledIkm = new byte[Version.Length + suiteId.Length + label.Length + ikm.Length];
        try
        {
            var span = labeledIkm.AsSpan();
            Version.CopyTo(span);
            suiteId.CopyTo(span[Version.Length..]);
            label.CopyTo(span[(Version.Length + suiteId.Length)..]);
            ikm.CopyTo(span[(Version.Length + suiteId.Length + label.Length)..]);
            return Kdf.Extract(salt, labeledIkm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(labeledIkm);
        }
    }

    public static byte[] Expand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        if (length is < 0 or > ushort.MaxValue)
        {
            throw new MlsMisuseException("HPKE output length out of range.");
        }

        var labeledInfo = new byte[2 + Version.Length + suiteId.Length + label.Length + info.Length];
        var span = labeledInfo.AsSpan();
        span[0] = (byte)(length >> 8);
        span[1] = (byte)length;
        Version.CopyTo(span[2..]);
        suiteId.CopyTo(span[(2 + Version.Length)..]);
        label.CopyTo(span[(2 + Version.Length + suiteId.Length)..]);
        info.CopyTo(span[(2 + Version.Length + suiteId.Length + label.Length)..]);
        return Kdf.Expand(prk, labeledInfo, length);
    }
}
