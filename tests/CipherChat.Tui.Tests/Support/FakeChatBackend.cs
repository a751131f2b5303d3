using CipherChat.Client;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.Tests.Support;

/// <summary>An in-memory chat server for one user: rooms, messages, and the calls the UI made.</summary>
internal sealed class FakeChatBackend : IChatBackend
{
    private readonly List<RoomInfo> _rooms = [];
    private readonly Dictionary<string, List<ChatMessage>> _history = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _time;
    private int _nextId;

    public FakeChatBackend(string user, TimeProvider time)
    {
        Username = user;
        _time = time;
    }

    public string ServerDisplay => "chat.test:12345";

    public string Username { get; }

    public ConnectionStatus Connection { get; private set; } = new(ConnectionState.Connecting);

    public List<(string Room, string Text)> Sent { get; } = [];

    public List<string> Calls { get; } = [];

    /// <summary>When set, every call except reads fails with this message.</summary>
    public string? FailWith { get; set; }

    /// <summary>When set, <see cref="WhoisAsync"/> reports the user's key as changed.</summary>
    public bool KeyChanged { get; set; }

    public event EventHandler<ConnectionStatus>? ConnectionChanged;

    public event EventHandler<ChatMessage>? MessageReceived;

    public event EventHandler<EventArgs>? RoomsChanged;

    public event EventHandler<string>? Warning;

    public void RaiseWarning(string text) => Warning?.Invoke(this, text);

    public void AddRoom(string name, string encryption = "shared key", params ChatMessage[] history)
    {
        _rooms.Add(new RoomInfo(name, encryption));
        _history[name] = [.. history];
    }

    public ChatMessage Message(string room, string from, string text, DateTimeOffset? at = null) =>
        new($"m{Interlocked.Increment(ref _nextId)}", room, from, at ?? _time.GetUtcNow(), text, null);

    public void Deliver(ChatMessage message) => MessageReceived?.Invoke(this, message);

    public void SetConnection(ConnectionStatus status)
    {
        Connection = status;
        ConnectionChanged?.Invoke(this, status);
    }

    public void RaiseRoomsChanged() => RoomsChanged?.Invoke(this, EventArgs.Empty);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        SetConnection(new ConnectionStatus(ConnectionState.Connected));
        return Task.CompletedTask;
    }

    public IReadOnlyList<RoomInfo> GetRooms() => [.. _rooms];

    public Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string room, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ChatMessage>>(_history.TryGetValue(room, out var list) ? [.. list] : []);

    public Task SendAsync(string room, string text, CancellationToken cancellationToken)
    {
        Check($"send {room}");
        Sent.Add((room, text));
        // The server echoes the user's own messages back as live events.
        Deliver(Message(room, Username, text));
        return Task.CompletedTask;
    }

    public Task<RoomInfo> JoinSharedKeyRoomAsync(string room, string key, CancellationToken cancellationToken)
    {
        Check($"join {room} {key}");
        if (key.Length != 44)
        {
            throw new ChatClientException("that is not a Fernet key (44 characters of url-safe base64)");
        }

        var info = new RoomInfo(room, "shared key");
        _rooms.Add(info);
        _history[room] = [];
        return Task.FromResult(info);
    }

    public Task<RoomInfo> CreateRoomAsync(string room, bool adminsOnly, CancellationToken cancellationToken)
    {
        Check(adminsOnly ? $"create {room} admins-only" : $"create {room}");
        var info = new RoomInfo(room, "MLS epoch 0, 1 member");
        _rooms.Add(info);
        return Task.FromResult(info);
    }

    public Task InviteAsync(string room, string user, CancellationToken cancellationToken)
    {
        Check($"invite {room} {user}");
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string room, string user, CancellationToken cancellationToken)
    {
        Check($"remove {room} {user}");
        return Task.CompletedTask;
    }

    public Task<RoomInfo> OpenDirectAsync(string user, CancellationToken cancellationToken)
    {
        Check($"dm {user}");
        var info = new RoomInfo("@" + user, "MLS epoch 1, 2 members");
        _rooms.Add(info);
        return Task.FromResult(info);
    }

    public Task LeaveAsync(string room, CancellationToken cancellationToken)
    {
        Check($"leave {room}");
        _rooms.RemoveAll(r => r.Name == room);
        return Task.CompletedTask;
    }

    public Task<WhoisInfo> WhoisAsync(string user, CancellationToken cancellationToken)
    {
        Check($"whois {user}");
        return Task.FromResult(new WhoisInfo(
            user,
            "SHA256:abcd",
            "12345 67890 12345 67890 12345 67890 12345 67890 12345 67890 12345 67890",
            "CIPHERCHAT-SN1:123456789012345678901234567890123456789012345678901234567890",
            KeyChanged ? $"THE KEY OF '{user}' HAS CHANGED" : null));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Check(string call)
    {
        Calls.Add(call);
        if (FailWith is not null)
        {
            throw new ConnectionFailedException(FailWith);
        }
    }
}
