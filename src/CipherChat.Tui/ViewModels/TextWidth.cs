using System.Globalization;
using System.Text;

namespace CipherChat.Tui.ViewModels;

/// <summary>
/// Terminal column widths of text, by grapheme cluster: wide East Asian characters and emoji take two
/// columns, combining marks and joiners none.
/// </summary>
public static class TextWidth
{
    public static int Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var width = 0;
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext())
        {
            width += OfCluster(e.GetTextElement());
        }

        return width;
    }

    /// <summary>The width of one grapheme cluster (as produced by <see cref="StringInfo"/>).</summary>
    public static int OfCluster(string cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.Length == 0)
        {
            return 0;
        }

        var width = 0;
        foreach (var rune in cluster.EnumerateRunes())
        {
            if (rune.Value == 0xFE0F)
            {
                // Emoji presentation selector: the cluster is shown as a (wide) emoji.
                return 2;
            }

            width = Math.Max(width, OfRune(rune));
        }

        return width;
    }

    public static int OfRune(Rune rune)
    {
        var v = rune.Value;
        if (v < 0x20 || (v >= 0x7F && v < 0xA0))
        {
            return 0;
        }

        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.EnclosingMark:
            case UnicodeCategory.Format:
                return 0;
        }

        return IsWide(v) ? 2 : 1;
    }

    private static bool IsWide(int v) =>
        (v >= 0x1100 && v <= 0x115F) ||
        (v >= 0x231A && v <= 0x231B) ||
        (v >= 0x2329 && v <= 0x232A) ||
        (v >= 0x23E9 && v <= 0x23EC) ||
        v == 0x23F0 || v == 0x23F3 ||
        (v >= 0x25FD && v <= 0x25FE) ||
        (v >= 0x2614 && v <= 0x2615) ||
        (v >= 0x2648 && v <= 0x2653) ||
        v == 0x267F || v == 0x2693 || v == 0x26A1 ||
        (v >= 0x26AA && v <= 0x26AB) ||
        (v >= 0x26BD && v <= 0x26BE) ||
        (v >= 0x26C4 && v <= 0x26C5) ||
        v == 0x26CE || v == 0x26D4 || v == 0x26EA ||
        (v >= 0x26F2 && v <= 0x26F3) ||
        v == 0x26F5 || v == 0x26FA || v == 0x26FD || v == 0x2705 ||
        (v >= 0x270A && v <= 0x270B) ||
        v == 0x2728 || v == 0x274C || v == 0x274E ||
        (v >= 0x2753 && v <= 0x2755) ||
        v == 0x2757 ||
        (v >= 0x2795 && v <= 0x2797) ||
        v == 0x27B0 || v == 0x27BF ||
        (v >= 0x2B1B && v <= 0x2B1C) ||
        v == 0x2B50 || v == 0x2B55 ||
        (v >= 0x2E80 && v <= 0x303E) ||
        (v >= 0x3041 && v <= 0x33FF) ||
        (v >= 0x3400 && v <= 0x4DBF) ||
        (v >= 0x4E00 && v <= 0x9FFF) ||
        (v >= 0xA000 && v <= 0xA4CF) ||
        (v >= 0xAC00 && v <= 0xD7A3) ||
        (v >= 0xF900 && v <= 0xFAFF) ||
        (v >= 0xFE30 && v <= 0xFE4F) ||
        (v >= 0xFF00 && v <= 0xFF60) ||
        (v >= 0xFFE0 && v <= 0xFFE6) ||
        (v >= 0x1F300 && v <= 0x1F64F) ||
        (v >= 0x1F680 && v <= 0x1F6FF) ||
        (v >= 0x1F900 && v <= 0x1F9FF) ||
        (v >= 0x1FA70 && v <= 0x1FAFF) ||
        (v >= 0x20000 && v <= 0x3FFFD);
}
