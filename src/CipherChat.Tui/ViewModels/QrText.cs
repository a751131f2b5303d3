using System.Text;
using QRCoder;

namespace CipherChat.Tui.ViewModels;

/// <summary>
/// A QR code as rows of half-block characters, two modules per character cell vertically. Light
/// modules are drawn as blocks so the code scans on the usual dark terminal background.
/// </summary>
public static class QrText
{
    private const int QuietZone = 2; // modules kept around the code; QRCoder's matrix carries 4

    public static IReadOnlyList<string> Render(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        var matrix = data.ModuleMatrix;
        var trim = 4 - QuietZone;
        var size = matrix.Count - (2 * trim);
        bool Light(int row, int col) =>
            row >= size || !matrix[row + trim][col + trim];

        var rows = new List<string>();
        for (var y = 0; y < size; y += 2)
        {
            var sb = new StringBuilder(size);
            for (var x = 0; x < size; x++)
            {
                sb.Append((Light(y, x), Light(y + 1, x)) switch
                {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    _ => ' ',
                });
            }

            rows.Add(sb.ToString());
        }

        return rows;
    }
}
