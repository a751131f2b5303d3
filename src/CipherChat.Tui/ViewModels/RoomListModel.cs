using CipherChat.Tui.Backend;

namespace CipherChat.Tui.ViewModels;

/// <summary>One row of the room list.</summary>
/// <param name="Unread">Messages that arrived while another room was shown.</param>
/// <param name="Mentioned">Whether one of them mentions the user.</param>
public sealed record RoomEntry(RoomInfo Room, int Unread, bool Mentioned)
{
    public string Name => Room.Name;
}

/// <summary>
/// The rooms the user is in, in a stable order (rooms first, then direct conversations, each by name),
/// which one is shown, and how many messages each holds unread.
/// </summary>
public sealed class RoomListModel
{
    private readonly List<RoomEntry> _rooms = [];

    public IReadOnlyList<RoomEntry> Rooms => _rooms;

    /// <summary>The index of the shown room, or -1 when there is none.</summary>
    public int ActiveIndex { get; private set; } = -1;

    public RoomEntry? Active => ActiveIndex >= 0 ? _rooms[ActiveIndex] : null;

    public event EventHandler? Changed;

    /// <summary>Replaces the list, keeping unread counts and the active room where they still exist.</summary>
    public void SetRooms(IEnumerable<RoomInfo> rooms)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        var active = Active?.Name;
        var old = _rooms.ToDictionary(r => r.Name, StringComparer.OrdinalIgnoreCase);
        _rooms.Clear();
        foreach (var room in rooms.DistinctBy(r => r.Name, StringComparer.OrdinalIgnoreCase).OrderBy(r => r.IsDirect).ThenBy(r => r.Name, StringComparer.Ordinal))
        {
            _rooms.Add(old.TryGetValue(room.Name, out var before) ? before with { Room = room } : new RoomEntry(room, 0, false));
        }

        ActiveIndex = active is null ? -1 : IndexOf(active);
        if (ActiveIndex < 0 && _rooms.Count > 0)
        {
            ActiveIndex = 0;
            ClearUnread(0);
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    public int IndexOf(string name) => _rooms.FindIndex(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Shows the room called <paramref name="name"/>; false when the user is not in it.</summary>
    public bool Activate(string name)
    {
        var index = IndexOf(name);
        return index >= 0 && ActivateIndex(index);
    }

    /// <summary>Shows the room at <paramref name="index"/> (0-based); false when there is none.</summary>
    public bool ActivateIndex(int index)
    {
        if (index < 0 || index >= _rooms.Count)
        {
            return false;
        }

        ActiveIndex = index;
        ClearUnread(index);
        Changed?.Invoke(this, EventArgs.Empty);
        return true;
    }

    public bool Next() => _rooms.Count > 0 && ActivateIndex((ActiveIndex + 1) % _rooms.Count);

    public bool Previous() => _rooms.Count > 0 && ActivateIndex((ActiveIndex - 1 + _rooms.Count) % _rooms.Count);

    /// <summary>Counts a new message in <paramref name="room"/> unless that room is shown.</summary>
    public void CountMessage(string room, bool mention)
    {
        var index = IndexOf(room);
        if (index < 0 || index == ActiveIndex)
        {
            return;
        }

        var entry = _rooms[index];
        _rooms[index] = entry with { Unread = entry.Unread + 1, Mentioned = entry.Mentioned || mention };
        Changed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>The row's label: its number (for Alt+1..9), its name and its unread count, e.g. <c>2 general (3!)</c>.</summary>
    public static string Label(RoomEntry entry, int index)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var number = index < 9 ? (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : " ";
        var unread = entry.Unread switch
        {
            0 => string.Empty,
            > 999 => " (999+" + (entry.Mentioned ? "!)" : ")"),
            _ => " (" + entry.Unread.ToString(System.Globalization.CultureInfo.InvariantCulture) + (entry.Mentioned ? "!)" : ")"),
        };
        return $"{number} {entry.Name}{unread}";
    }

    private void ClearUnread(int index) => _rooms[index] = _rooms[index] with { Unread = 0, Mentioned = false };
}
