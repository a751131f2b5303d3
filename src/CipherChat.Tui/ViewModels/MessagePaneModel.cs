using System.Globalization;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.ViewModels;

/// <summary>
/// The messages of one room (or of the status window) as rows for a pane of a given width: a date
/// separator whenever the local day changes, <c>12:03 alice: hello</c> in local time, continuation
/// rows indented under the text, and a scrollback position counted in rows from the bottom.
/// </summary>
public sealed class MessagePaneModel
{
    /// <summary>Most entries kept per pane; older ones are dropped from the screen (not from the client's store).</summary>
    public const int MaxEntries = 5000;

    private const string TimeFormat = "HH:mm";
    private const int Indent = 6; // "HH:mm "

    private readonly List<Entry> _entries = [];
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly string _self;
    private readonly TimeZoneInfo _zone;
    private List<PaneLine>? _rendered;
    private int _renderedWidth = -1;

    public MessagePaneModel(string self, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(zone);
        _self = self;
        _zone = zone;
    }

    /// <summary>Rows between the bottom of the pane and the newest row; 0 follows new messages.</summary>
    public int ScrollOffset { get; private set; }

    public int EntryCount => _entries.Count;

    /// <summary>Raised whenever the pane's content or position changes.</summary>
    public event EventHandler? Changed;

    /// <summary>Adds a message unless one with the same id is already shown. Returns false for a duplicate.</summary>
    public bool AddMessage(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_ids.Add(message.Id))
        {
            return false;
        }

        var local = TimeZoneInfo.ConvertTime(message.SentAt, _zone);
        var style = message.Kind switch
        {
            MessageKind.KeyChange => LineStyle.KeyChange,
            MessageKind.Notice => LineStyle.Info,
            _ when message.Error is not null => LineStyle.Undecryptable,
            _ when string.Equals(message.Sender, _self, StringComparison.OrdinalIgnoreCase) => LineStyle.Own,
            _ when MentionDetector.Mentions(message.Text ?? string.Empty, _self) => LineStyle.Mention,
            _ => LineStyle.Normal,
        };

        var body = message.Kind switch
        {
            MessageKind.KeyChange => $"!! {message.Text}",
            MessageKind.Notice => $"-- {message.Text}",
            _ when message.Error is not null => $"{message.Sender}: [could not decrypt: {message.Error}]",
            _ => $"{message.Sender}: {message.Text}",
        };

        Append(new Entry(local, body, style, message.Id));
        return true;
    }

    /// <summary>Adds a line from the client itself (command output or an error), stamped with <paramref name="at"/>.</summary>
    public void AddInfo(string text, DateTimeOffset at, bool isError = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var local = TimeZoneInfo.ConvertTime(at, _zone);
        Append(new Entry(local, (isError ? "!! " : "-- ") + text, isError ? LineStyle.Error : LineStyle.Info, null));
    }

    /// <summary>All rows for a pane <paramref name="width"/> columns wide, oldest first.</summary>
    public IReadOnlyList<PaneLine> Render(int width)
    {
        width = Math.Max(Indent + 4, width);
        if (_rendered is not null && _renderedWidth == width)
        {
            return _rendered;
        }

        var rows = new List<PaneLine>();
        DateOnly? day = null;
        foreach (var entry in _entries)
        {
            var entryDay = DateOnly.FromDateTime(entry.LocalTime.DateTime);
            if (day != entryDay)
            {
                day = entryDay;
                rows.Add(new PaneLine(DateSeparator(entryDay, width), LineStyle.DateSeparator));
            }

            var stamp = entry.LocalTime.ToString(TimeFormat, CultureInfo.InvariantCulture) + " ";
            var wrapped = LineWrapper.Wrap(entry.Body, width - Indent, width - Indent);
            for (var i = 0; i < wrapped.Count; i++)
            {
                rows.Add(new PaneLine((i == 0 ? stamp : new string(' ', Indent)) + wrapped[i], entry.Style));
            }
        }

        _rendered = rows;
        _renderedWidth = width;
        return rows;
    }

    /// <summary>The rows a pane of this size shows at the current scroll position.</summary>
    public IReadOnlyList<PaneLine> Visible(int width, int height)
    {
        var all = Render(width);
        height = Math.Max(0, height);
        ScrollOffset = Math.Clamp(ScrollOffset, 0, Math.Max(0, all.Count - height));
        var end = all.Count - ScrollOffset;
        var start = Math.Max(0, end - height);
        return all.Skip(start).Take(end - start).ToList();
    }

    /// <summary>Whether rows newer than those shown exist (the user scrolled back).</summary>
    public bool IsScrolledBack => ScrollOffset > 0;

    public void PageUp(int width, int height)
    {
        var all = Render(width);
        ScrollOffset = Math.Min(ScrollOffset + Math.Max(1, height - 1), Math.Max(0, all.Count - height));
        Changed?.Invoke(this, EventArgs.Empty);
    }

    public void PageDown(int height)
    {
        ScrollOffset = Math.Max(0, ScrollOffset - Math.Max(1, height - 1));
        Changed?.Invoke(this, EventArgs.Empty);
    }

    public void ScrollToBottom()
    {
        ScrollOffset = 0;
        Changed?.Invoke(this, EventArgs.Empty);
    }

    private void Append(Entry entry)
    {
        var before = _rendered is null ? -1 : _rendered.Count;
        var width = _renderedWidth;
        _entries.Add(entry);
        if (_entries.Count > MaxEntries)
        {
            var dropped = _entries[0];
            _entries.RemoveAt(0);
            if (dropped.Id is not null)
            {
                _ids.Remove(dropped.Id);
            }
        }

        _rendered = null;
        if (ScrollOffset > 0 && before >= 0)
        {
            // Keep the rows the user is reading where they are.
            ScrollOffset += Math.Max(0, Render(width).Count - before);
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    private static string DateSeparator(DateOnly day, int width)
    {
        var label = " " + day.ToString("dddd, d MMMM yyyy", CultureInfo.InvariantCulture) + " ";
        var side = Math.Max(2, (width - label.Length) / 2);
        var text = new string('─', side) + label + new string('─', side);
        return text.Length > width ? text[..width] : text;
    }

    private sealed record Entry(DateTimeOffset LocalTime, string Body, LineStyle Style, string? Id);
}
