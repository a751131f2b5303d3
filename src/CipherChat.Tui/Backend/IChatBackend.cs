namespace CipherChat.Tui.Backend;

/// <summary>
/// What the terminal UI needs from a chat connection. The production implementation adapts the
/// client library; tests use an in-memory one. Failures are reported as
/// <see cref="CipherChat.Client.ChatClientException"/> whose message is safe to show.
/// Events may be raised on any thread.
/// </summary>
public interface IChatBackend : IAsyncDisposable
{
    /// <summary>The server as the user would type it, e.g. <c>chat.example.org:12345</c>.</summary>
    string ServerDisplay { get; }

    /// <summary>The signed-in user's name.</summary>
    string Username { get; }

    ConnectionStatus Connection { get; }

    event EventHandler<ConnectionStatus>? ConnectionChanged;

    event EventHandler<ChatMessage>? MessageReceived;

    /// <summary>Raised when a room appears, disappears or its encryption status changes.</summary>
    event EventHandler<EventArgs>? RoomsChanged;

    /// <summary>A loud one-line warning to show at once, such as a member whose key changed.</summary>
    event EventHandler<string>? Warning;

    /// <summary>Connects, logs in and starts receiving live events; reconnects by itself afterwards.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    IReadOnlyList<RoomInfo> GetRooms();

    /// <summary>The messages this client holds for <paramref name="room"/>, oldest first.</summary>
    Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string room, CancellationToken cancellationToken);

    Task SendAsync(string room, string text, CancellationToken cancellationToken);

    /// <summary>Joins (or opens) a pre-shared-key room with its Fernet key.</summary>
    Task<RoomInfo> JoinSharedKeyRoomAsync(string room, string key, CancellationToken cancellationToken);

    /// <summary>Creates an end-to-end group room with the user as its first member and admin.</summary>
    /// <param name="adminsOnly">Only admins may add or remove members.</param>
    Task<RoomInfo> CreateRoomAsync(string room, bool adminsOnly, CancellationToken cancellationToken);

    Task InviteAsync(string room, string user, CancellationToken cancellationToken);

    Task RemoveAsync(string room, string user, CancellationToken cancellationToken);

    /// <summary>Opens the direct conversation with <paramref name="user"/> (the room <c>@user</c>).</summary>
    Task<RoomInfo> OpenDirectAsync(string user, CancellationToken cancellationToken);

    Task LeaveAsync(string room, CancellationToken cancellationToken);

    Task<WhoisInfo> WhoisAsync(string user, CancellationToken cancellationToken);
}
