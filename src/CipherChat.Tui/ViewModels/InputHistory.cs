namespace CipherChat.Tui.ViewModels;

/// <summary>
/// Lines the user entered, browsed with Up and Down like a shell's history. What the user was typing
/// before pressing Up comes back after the newest entry.
/// </summary>
public sealed class InputHistory
{
    public const int Capacity = 500;

    private readonly List<string> _lines = [];
    private int _position; // == _lines.Count when not browsing
    private string _draft = string.Empty;

    public IReadOnlyList<string> Lines => _lines;

    /// <summary>Records an entered line (not blank lines, not a repeat of the last one) and stops browsing.</summary>
    public void Add(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!string.IsNullOrWhiteSpace(line) && (_lines.Count == 0 || _lines[^1] != line))
        {
            _lines.Add(line);
            if (_lines.Count > Capacity)
            {
                _lines.RemoveAt(0);
            }
        }

        _position = _lines.Count;
        _draft = string.Empty;
    }

    /// <summary>The previous line, or null at the oldest. <paramref name="current"/> is what the input shows now.</summary>
    public string? Up(string current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (_position == 0)
        {
            return null;
        }

        if (_position == _lines.Count)
        {
            _draft = current;
        }

        _position--;
        return _lines[_position];
    }

    /// <summary>The next line; after the newest, the draft the user was typing; null when not browsing.</summary>
    public string? Down()
    {
        if (_position >= _lines.Count)
        {
            return null;
        }

        _position++;
        return _position == _lines.Count ? _draft : _lines[_position];
    }
}
