using CipherChat.Tui.ViewModels;
using Terminal.Gui.Drawing;
using Terminal.Gui.ViewBase;

namespace CipherChat.Tui.Views;

/// <summary>The rooms on the left: number, name, unread count; the shown room highlighted; a rule on the right edge.</summary>
internal sealed class RoomListView : View
{
    private readonly RoomListModel _rooms;

    public RoomListView(RoomListModel rooms)
    {
        _rooms = rooms;
        CanFocus = false;
    }

    protected override bool OnDrawingContent(DrawContext? context)
    {
        var width = Viewport.Width - 1;
        var height = Viewport.Height;
        if (width <= 0 || height <= 0)
        {
            return true;
        }

        var normal = GetAttributeForRole(VisualRole.Normal);
        // Keep the shown room visible when the list is taller than the view.
        var first = Math.Max(0, _rooms.ActiveIndex - height + 1);
        for (var y = 0; y < height; y++)
        {
            var index = first + y;
            Move(0, y);
            if (index < _rooms.Rooms.Count)
            {
                var entry = _rooms.Rooms[index];
                var attribute = index == _rooms.ActiveIndex ? Palette.Bar(normal)
                    : entry.Mentioned ? Palette.Mentioned(normal)
                    : entry.Unread > 0 ? Palette.Unread(normal)
                    : normal;
                SetAttribute(attribute);
                AddStr(Palette.Fit(RoomListModel.Label(entry, index), width));
            }
            else
            {
                SetAttribute(normal);
                AddStr(new string(' ', width));
            }

            SetAttribute(new Terminal.Gui.Drawing.Attribute(Color.DarkGray, normal.Background));
            AddStr("│");
        }

        return true;
    }
}
