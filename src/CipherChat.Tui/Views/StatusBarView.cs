using CipherChat.Tui.ViewModels;
using Terminal.Gui.Drawing;
using Terminal.Gui.ViewBase;

namespace CipherChat.Tui.Views;

/// <summary>One reversed line with the status bar model's text.</summary>
internal sealed class StatusBarView : View
{
    private readonly StatusBarModel _status;
    private readonly TimeProvider _time;

    public StatusBarView(StatusBarModel status, TimeProvider time)
    {
        _status = status;
        _time = time;
        CanFocus = false;
    }

    protected override bool OnDrawingContent(DrawContext? context)
    {
        if (Viewport.Width <= 0)
        {
            return true;
        }

        SetAttribute(Palette.Bar(GetAttributeForRole(VisualRole.Normal)));
        Move(0, 0);
        AddStr(Palette.Fit(" " + _status.Render(_time.GetUtcNow()), Viewport.Width));
        return true;
    }
}
