using CipherChat.Tui.ViewModels;
using Terminal.Gui.Drawing;
using Attribute = Terminal.Gui.Drawing.Attribute;
using PaneStyle = CipherChat.Tui.ViewModels.LineStyle;

namespace CipherChat.Tui.Views;

/// <summary>The colours of the chat screen, on the terminal's own background.</summary>
internal static class Palette
{
    public static Attribute For(PaneStyle style, Attribute normal) => style switch
    {
        PaneStyle.Own => new Attribute(Color.BrightCyan, normal.Background),
        PaneStyle.Mention => new Attribute(Color.BrightYellow, normal.Background, TextStyle.Bold),
        PaneStyle.Undecryptable => new Attribute(Color.BrightRed, normal.Background, TextStyle.Italic),
        PaneStyle.KeyChange => new Attribute(Color.Black, Color.BrightYellow, TextStyle.Bold),
        PaneStyle.Info => new Attribute(Color.Green, normal.Background),
        PaneStyle.Error => new Attribute(Color.BrightRed, normal.Background),
        PaneStyle.DateSeparator => new Attribute(Color.DarkGray, normal.Background),
        _ => normal,
    };

    public static Attribute Bar(Attribute normal) => new(normal.Background, normal.Foreground);

    public static Attribute Unread(Attribute normal) => new(Color.White, normal.Background, TextStyle.Bold);

    public static Attribute Mentioned(Attribute normal) => new(Color.BrightYellow, normal.Background, TextStyle.Bold);

    /// <summary>Pads or cuts <paramref name="text"/> to exactly <paramref name="width"/> columns.</summary>
    public static string Fit(string text, int width)
    {
        var w = TextWidth.Of(text);
        if (w <= width)
        {
            return text + new string(' ', width - w);
        }

        var sb = new System.Text.StringBuilder();
        var used = 0;
        var e = System.Globalization.StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext())
        {
            var c = e.GetTextElement();
            var cw = TextWidth.OfCluster(c);
            if (used + cw > width - 1)
            {
                break;
            }

            sb.Append(c);
            used += cw;
        }

        sb.Append('…');
        used++;
        return sb.Append(' ', Math.Max(0, width - used)).ToString();
    }
}
