using System.Threading.Channels;
using CipherChat.Client;
using CipherChat.Client.Net;
using CipherChat.Client.Rooms;
using CipherChat.Client.Storage;

namespace CipherChat.Tui.Backend;

/// <summary>
/// <see cref="IChatBackend"/> over the client library: rooms and history from the client's store,
/// sends through <see cref="ChatClient"/>, and one loop that follows every room's pushed events,
/// reconnecting with back-off.
/// </summary>
public sealed class ClientChatBackend : IChatBackend
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly ChatClient _client;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, long> _shownUpTo = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private ConnectionStatus _connection = new(ConnectionState.Connecting);

    public ClientChatBackend(ChatClient client, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(time);
        _client = client;
        _time = time;
        var account = client.Account;
        ServerDisplay = account.Server.ToString();
        Username = account.Username;
    }

    public string ServerDisplay { get; }

    public string Username { get; }

    public ConnectionStatus Connection => Volatile.Read(ref _connection);

    public event EventHandler<ConnectionStatus>? ConnectionChanged;

    public event EventHandler<ChatMessage>? MessageReceived;

    public event EventHandler<EventArgs>? RoomsChanged;

    public event EventHandler<string>? Warning;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => FollowAllAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public IReadOnlyList<RoomInfo> GetRooms() =>
        _client.Store.GetRooms().Select(Describe).ToList();

    public Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string room, CancellationToken cancellationToken)
    {
        var name = _client.ResolveRoomName(room);
        var stored = _client.Store.GetMessages(name, unprintedOnly: false);
        lock (_shownUpTo)
        {
            if (stored.Count > 0)
            {
                _shownUpTo[name] = Math.Max(_shownUpTo.GetValueOrDefault(name), stored[^1].Seq);
            }
        }

        return Task.FromResult<IReadOnlyList<ChatMessage>>(stored.Select(ToMessage).ToList());
    }

    public async Task SendAsync(string room, string text, CancellationToken cancellationToken)
    {
        var name = _client.ResolveRoomName(room);
        try
        {
            if (IsDirect(room) && _client.Store.GetRoom(name) is null)
            {
                // The first message of a direct conversation creates it and invites the peer.
                await _client.SendDirectAsync(room.TrimStart('@'), text, cancellationToken).ConfigureAwait(false);
                RoomsChanged?.Invoke(this, EventArgs.Empty);
            }
            else
            {
                await _client.SendAsync(name, text, cancellationToken).ConfigureAwait(false);
            }

            // Show the message as the server stored it, whether or not it is also pushed back to us.
            await SyncAndPublishAsync(name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            RaiseWarnings();
        }
    }

    public async Task<RoomInfo> JoinSharedKeyRoomAsync(string room, string key, CancellationToken cancellationToken)
    {
        var joined = await _client.JoinPskRoomAsync(room, key, cancellationToken).ConfigureAwait(false);
        await _client.SyncRoomAsync(joined.Room, cancellationToken).ConfigureAwait(false);
        RoomsChanged?.Invoke(this, EventArgs.Empty);
        return _client.Store.GetRoom(joined.Room) is { } record ? Describe(record) : new RoomInfo(joined.Room, "shared key");
    }

    public async Task<RoomInfo> CreateRoomAsync(string room, bool adminsOnly, CancellationToken cancellationToken)
    {
        try
        {
            var created = await _client.CreateRoomAsync(room, adminsOnly, cancellationToken).ConfigureAwait(false);
            RoomsChanged?.Invoke(this, EventArgs.Empty);
            return _client.Store.GetRoom(created.Room) is { } record ? Describe(record) : new RoomInfo(created.Room, "MLS");
        }
        finally
        {
            RaiseWarnings();
        }
    }

    public async Task InviteAsync(string room, string user, CancellationToken cancellationToken)
    {
        try
        {
            var name = _client.ResolveRoomName(room);
            await _client.InviteAsync(name, user, cancellationToken).ConfigureAwait(false);
            await SyncAndPublishAsync(name, cancellationToken).ConfigureAwait(false);
            RoomsChanged?.Invoke(this, EventArgs.Empty);
        }
        finally
        {
            RaiseWarnings();
        }
    }

    public async Task RemoveAsync(string room, string user, CancellationToken cancellationToken)
    {
        try
        {
            var name = _client.ResolveRoomName(room);
            await _client.RemoveAsync(name, user, cancellationToken).ConfigureAwait(false);
            await SyncAndPublishAsync(name, cancellationToken).ConfigureAwait(false);
            RoomsChanged?.Invoke(this, EventArgs.Empty);
        }
        finally
        {
            RaiseWarnings();
        }
    }

    /// <summary>
    /// Shows the direct conversation with <paramref name="user"/>: one the peer already started is opened
    /// from its pending invitation; otherwise the two-member group is created and the peer invited.
    /// </summary>
    public async Task<RoomInfo> OpenDirectAsync(string user, CancellationToken cancellationToken)
    {
        try
        {
            var direct = "@" + user.TrimStart('@');
            var name = _client.ResolveRoomName(direct);
            if (_client.Store.GetRoom(name) is null)
            {
                await _client.SyncAllAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_client.Store.GetRoom(name) is null)
            {
                await _client.CreateRoomAsync(name, adminsOnly: false, cancellationToken).ConfigureAwait(false);
                await _client.InviteAsync(name, user.TrimStart('@'), cancellationToken).ConfigureAwait(false);
            }

            RoomsChanged?.Invoke(this, EventArgs.Empty);
            return _client.Store.GetRoom(name) is { } record ? Describe(record) : new RoomInfo(direct, "MLS");
        }
        finally
        {
            RaiseWarnings();
        }
    }

    public async Task LeaveAsync(string room, CancellationToken cancellationToken)
    {
        var name = _client.ResolveRoomName(room);
        try
        {
            await _client.LeaveRoomAsync(name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            RaiseWarnings();
        }

        lock (_shownUpTo)
        {
            _shownUpTo.Remove(name);
        }

        RoomsChanged?.Invoke(this, EventArgs.Empty);
    }

    public async Task<WhoisInfo> WhoisAsync(string user, CancellationToken cancellationToken)
    {
        try
        {
            var who = await _client.WhoisAsync(user.TrimStart('@'), cancellationToken).ConfigureAwait(false);
            string? warning = null;
            if (who.KeyChanged)
            {
                warning = $"THE KEY OF '{who.User}' HAS CHANGED (was {who.PreviousFingerprint ?? "another key"}, now {who.Fingerprint}): " +
                    $"a new device, or someone impersonating {who.User}. Compare the safety number with them before trusting it.";
            }

            return new WhoisInfo(who.User, who.Fingerprint, who.SafetyNumber, who.QrText, warning);
        }
        finally
        {
            RaiseWarnings();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }

        _stop.Dispose();
    }

    private static bool IsDirect(string room) => room.StartsWith('@') && !room.Contains('+', StringComparison.Ordinal);

    private RoomInfo Describe(RoomRecord record) => new(
        _client.DisplayName(record.Name),
        record.Kind switch
        {
            RoomKinds.Psk => "shared key",
            RoomKinds.Mls => "MLS",
            _ => record.Kind,
        });

    private ChatMessage ToMessage(StoredMessage m) =>
        new(m.MessageId, _client.DisplayName(m.Room), m.Sender, m.SentAt ?? m.ServerTime, m.Text, m.Text is null ? m.Error ?? "unreadable" : m.Error);

    private void RaiseWarnings()
    {
        foreach (var warning in _client.TakeWarnings().Distinct(StringComparer.Ordinal))
        {
            Warning?.Invoke(this, warning);
        }
    }

    private async Task FollowAllAsync(CancellationToken ct)
    {
        var retry = FirstRetry;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                SetConnection(new ConnectionStatus(ConnectionState.Connecting));
                var connection = await _client.ConnectAsync(ct).ConfigureAwait(false);
                await CatchUpAllAsync(ct).ConfigureAwait(false);

                SetConnection(new ConnectionStatus(ConnectionState.Connected));
                retry = FirstRetry;
                await foreach (var message in connection.Events.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    if (_client.Store.GetRoom(message.Room) is not null)
                    {
                        // The client library stores, de-duplicates and acknowledges; we show what is new.
                        await SyncAndPublishAsync(message.Room, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        // A room this device has not opened yet, such as one we were just invited to.
                        await CatchUpAllAsync(ct).ConfigureAwait(false);
                    }

                    RaiseWarnings();
                }

                throw new ConnectionFailedException($"the connection to {ServerDisplay} was closed");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                var at = _time.GetUtcNow() + retry;
                SetConnection(new ConnectionStatus(ConnectionState.Reconnecting, at, ex.Message.ReplaceLineEndings(" ")));
                await Task.Delay(retry, _time, ct).ConfigureAwait(false);
                retry = retry * 2 > MaxRetry ? MaxRetry : retry * 2;
            }
            catch (ChatClientException ex)
            {
                // A changed server identity, a missing account: retrying cannot help.
                SetConnection(new ConnectionStatus(ConnectionState.Offline, null, ex.Message.ReplaceLineEndings(" ")));
                return;
            }
        }
    }

    /// <summary>Opens pending invitations, syncs every room and shows what is new.</summary>
    private async Task CatchUpAllAsync(CancellationToken ct)
    {
        var before = _client.Store.GetRooms().Count;
        await _client.SyncAllAsync(ct).ConfigureAwait(false);
        var rooms = _client.Store.GetRooms();
        if (rooms.Count != before)
        {
            RoomsChanged?.Invoke(this, EventArgs.Empty);
        }

        foreach (var room in rooms)
        {
            PublishNew(room.Name);
        }

        RaiseWarnings();
    }

    private async Task SyncAndPublishAsync(string room, CancellationToken ct)
    {
        await _client.SyncRoomAsync(room, ct).ConfigureAwait(false);
        PublishNew(room);
    }

    /// <summary>Raises <see cref="MessageReceived"/> for the stored messages of <paramref name="room"/> not shown yet.</summary>
    private void PublishNew(string room)
    {
        List<StoredMessage> fresh;
        lock (_shownUpTo)
        {
            var after = _shownUpTo.GetValueOrDefault(room);
            fresh = _client.Store.GetMessages(room, unprintedOnly: false).Where(m => m.Seq > after).ToList();
            if (fresh.Count > 0)
            {
                _shownUpTo[room] = fresh[^1].Seq;
            }
        }

        foreach (var m in fresh)
        {
            MessageReceived?.Invoke(this, ToMessage(m));
        }
    }

    private void SetConnection(ConnectionStatus status)
    {
        var before = Interlocked.Exchange(ref _connection, status);
        if (before != status)
        {
            ConnectionChanged?.Invoke(this, status);
        }
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        ConnectionFailedException => true,
        ServerErrorException s => s.IsTransient || s.Code == CipherChat.Protocol.V1.ErrorCode.SlowConsumer,
        ChannelClosedException => true,
        IOException => true,
        _ => false,
    };
}
