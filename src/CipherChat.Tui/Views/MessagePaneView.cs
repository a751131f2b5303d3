using CipherChat.Tui.ViewModels;
using Terminal.Gui.Drawing;
using Terminal.Gui.ViewBase;

namespace CipherChat.Tui.Views;

/// <summary>Draws the shown pane's rows, newest at the bottom.</summary>
internal sealed class MessagePaneView : View
{
    private readonly ChatViewModel _vm;

    public MessagePaneView(ChatViewModel vm)
    {
        _vm = vm;
        CanFocus = false;
    }

    public int PageHeight => Math.Max(1, Viewport.Height);

    protected override bool OnDrawingContent(DrawContext? context)
    {
        var width = Viewport.Width;
        var height = Viewport.Height;
        if (width <= 0 || height <= 0)
        {
            return true;
        }

        var normal = GetAttributeForRole(VisualRole.Normal);
        var rows = _vm.CurrentPane.Visible(width, height);
        if (rows.Count == 0 && _vm.EmptyPaneHint is { } hint)
        {
            rows = LineWrapper.Wrap(hint, width, width).Select(r => new PaneLine(r, ViewModels.LineStyle.Info)).ToList();
        }

        var top = height - rows.Count;
        for (var y = 0; y < height; y++)
        {
            Move(0, y);
            if (y < top)
            {
                SetAttribute(normal);
                AddStr(new string(' ', width));
                continue;
            }

            var row = rows[y - top];
            SetAttribute(Palette.For(row.Style, normal));
            AddStr(Palette.Fit(row.Text, width));
        }

        return true;
    }
}
