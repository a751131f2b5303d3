using System.Globalization;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.ViewModels;

/// <summary>The bottom line: who and where the user is, whether the connection is up, and how the shown room is protected.</summary>
public sealed class StatusBarModel
{
    public StatusBarModel(string server, string user)
    {
        Server = server;
        User = user;
    }

    public string Server { get; }

    public string User { get; }

    public ConnectionStatus Connection { get; set; } = new(ConnectionState.Connecting);

    /// <summary>The shown room, or null for the status window.</summary>
    public RoomInfo? Room { get; set; }

    public bool ScrolledBack { get; set; }

    public static string DescribeConnection(ConnectionStatus status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status.State switch
        {
            ConnectionState.Connected => "connected",
            ConnectionState.Connecting => "connecting",
            ConnectionState.Reconnecting when status.RetryAt is { } at && at > now =>
                "reconnecting in " + ((int)Math.Ceiling((at - now).TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s",
            ConnectionState.Reconnecting => "reconnecting",
            _ => "offline",
        };
    }

    public string Render(DateTimeOffset now)
    {
        var parts = new List<string>
        {
            $"{User}@{Server}",
            DescribeConnection(Connection, now),
            Room is null ? "no room" : $"{Room.Name}: {Room.Encryption}",
        };
        if (ScrolledBack)
        {
            parts.Add("-- more below (PgDn) --");
        }

        return string.Join(" | ", parts);
    }
}
