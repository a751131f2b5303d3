using System.Collections;
using System.Text;
using QRCoder;

namespace CipherChat.Client.Identity;

/// <summary>A safety number as a QR code drawn with Unicode half blocks, two modules per character cell.</summary>
public static class SafetyNumberQr
{
    /// <summary>Prefix of the QR payload; the 60 digits follow it.</summary>
    public const string PayloadPrefix = "CIPHERCHAT-SN1:";

    private const char Both = '\u2588';   // █
    private const char Upper = '\u2580';  // ▀
    private const char Lower = '\u2584';  // ▄

    /// <summary>The text the QR code carries for <paramref name="digits"/> (the 60 digits, no separators).</summary>
    public static string Payload(string digits)
    {
        _ = SafetyNumber.Format(digits); // validates
        return PayloadPrefix + digits;
    }

    /// <summary>
    /// The QR code of <paramref name="digits"/> as lines of text, with its quiet zone. With
    /// <paramref name="darkTerminal"/> the light modules are drawn (a light-on-dark terminal shows a normal
    /// dark-on-light code); otherwise the dark modules are.
    /// </summary>
    public static string Render(string digits, bool darkTerminal = true)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(Payload(digits), QRCodeGenerator.ECCLevel.M);
        return Render(data.ModuleMatrix, darkTerminal);
    }

    /// <summary>Draws a module matrix (true = dark), two rows per line.</summary>
    internal static string Render(IReadOnlyList<BitArray> modules, bool darkTerminal)
    {
        ArgumentNullException.ThrowIfNull(modules);
        var size = modules.Count;
        var builder = new StringBuilder();
        for (var row = 0; row < size; row += 2)
        {
            for (var column = 0; column < size; column++)
            {
                var top = Drawn(modules[row][column], darkTerminal);
                var bottom = row + 1 < size
                    ? Drawn(modules[row + 1][column], darkTerminal)

                    // Past the last row: the quiet zone, which is light.
                    : Drawn(false, darkTerminal);
                builder.Append((top, bottom) switch
                {
                    (true, true) => Both,
                    (true, false) => Upper,
                    (false, true) => Lower,
                    _ => ' ',
                });
            }

            builder.Append('\n');
        }

        return builder.ToString();
    }

    private static bool Drawn(bool dark, bool darkTerminal) => darkTerminal ? !dark : dark;
}
