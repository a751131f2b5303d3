using System.Globalization;
using System.Text;

namespace CipherChat.Tui.ViewModels;

/// <summary>Wraps text to a column width, at spaces where possible, never splitting a grapheme cluster.</summary>
public static class LineWrapper
{
    /// <summary>
    /// Splits <paramref name="text"/> into rows: the first at most <paramref name="firstWidth"/> columns,
    /// the rest at most <paramref name="restWidth"/>. Line breaks in the text start new rows.
    /// </summary>
    public static IReadOnlyList<string> Wrap(string text, int firstWidth, int restWidth)
    {
        ArgumentNullException.ThrowIfNull(text);
        firstWidth = Math.Max(1, firstWidth);
        restWidth = Math.Max(2, restWidth);
        var rows = new List<string>();
        var paragraphs = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        foreach (var paragraph in paragraphs)
        {
            WrapParagraph(paragraph, rows.Count == 0 ? firstWidth : restWidth, restWidth, rows);
        }

        return rows;
    }

    private static void WrapParagraph(string text, int firstWidth, int restWidth, List<string> rows)
    {
        var clusters = new List<(string Text, int Width)>();
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext())
        {
            var c = e.GetTextElement();
            // Tabs and other controls would move the terminal cursor: show them as a space.
            if (c.Length == 1 && char.IsControl(c[0]))
            {
                c = " ";
            }

            clusters.Add((c, TextWidth.OfCluster(c)));
        }

        var width = firstWidth;
        var start = 0;
        while (true)
        {
            // Fit as many clusters as possible in this row.
            var used = 0;
            var end = start;
            while (end < clusters.Count && used + clusters[end].Width <= width)
            {
                used += clusters[end].Width;
                end++;
            }

            if (end == start && end < clusters.Count)
            {
                // A cluster wider than the row: take it anyway so the loop advances.
                end++;
            }

            if (end < clusters.Count && clusters[end].Text != " ")
            {
                // Break after the last space in the row, if there is one beyond the row's start.
                for (var i = end; i > start; i--)
                {
                    if (clusters[i - 1].Text == " " && i - 1 > start)
                    {
                        end = i;
                        break;
                    }
                }
            }

            var row = new StringBuilder();
            for (var i = start; i < end; i++)
            {
                row.Append(clusters[i].Text);
            }

            rows.Add(end < clusters.Count ? row.ToString().TrimEnd(' ') : row.ToString());
            if (end >= clusters.Count)
            {
                return;
            }

            start = end;
            while (start < clusters.Count && clusters[start].Text == " ")
            {
                // The space at a wrap point is not carried to the next row.
                start++;
            }

            if (start >= clusters.Count)
            {
                return;
            }

            width = restWidth;
        }
    }
}
