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

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => FollowAllAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public IReadOnlyList<RoomInfo> GetRooms() =>
        _client.Store.GetRooms().Select(Describe).ToList();

    public Task<IReadOnlyList<ChatMessage>> GetHistoryAsync(string room, CancellationToken cancellationToken)
    {
        var stored = _client.Store.GetMessages(room, unprintedOnly: false);
        lock (_shownUpTo)
        {
            if (stored.Count > 0)
            {
                _shownUpTo[room] = Math.Max(_shownUpTo.GetValueOrDefault(room), stored[^1].Seq);
            }
        }

        return Task.FromResult<IReadOnlyList<ChatMessage>>(stored.Select(ToMessage).ToList());
    }

    public async Task SendAsync(string room, string text, CancellationToken cancellationToken)
    {
        await _client.SendAsync(room, text, cancellationToken).ConfigureAwait(false);
        // Show the message as the server stored it, whether or not it is also pushed back to us.
        await SyncAndPublishAsync(room, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RoomInfo> JoinSharedKeyRoomAsync(string room, string key, CancellationToken cancellationToken)
    {
        var joined = await _client.JoinPskRoomAsync(room, key, cancellationToken).ConfigureAwait(false);
        await _client.SyncRoomAsync(joined.Room, cancellationToken).ConfigureAwait(false);
        RoomsChanged?.Invoke(this, EventArgs.Empty);
        return _client.Store.GetRoom(joined.Room) is { } record ? Describe(record) : new RoomInfo(joined.Room, "shared key");
    }

    public Task<RoomInfo> CreateRoomAsync(string room, CancellationToken cancellationToken) =>
        throw MlsNotYet("/create");

    public Task InviteAsync(string room, string user, CancellationToken cancellationToken) =>
        throw MlsNotYet("/invite");

    public Task RemoveAsync(string room, string user, CancellationToken cancellationToken) =>
        throw MlsNotYet("/remove");

    public Task<RoomInfo> OpenDirectAsync(string user, CancellationToken cancellationToken) =>
        throw MlsNotYet("/dm");

    public async Task LeaveAsync(string room, CancellationToken cancellationToken)
    {
        await _client.LeaveRoomAsync(room, cancellationToken).ConfigureAwait(false);
        lock (_shownUpTo)
        {
            _shownUpTo.Remove(room);
        }

        RoomsChanged?.Invoke(this, EventArgs.Empty);
    }

    public Task<WhoisInfo> WhoisAsync(string user, CancellationToken cancellationToken) =>
        throw new NotYetAvailableException("/whois shows fingerprints and safety numbers of MLS identities, which arrive with MLS rooms in a later version");

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

    private static NotYetAvailableException MlsNotYet(string command) =>
        new($"{command} works on MLS rooms, which are not available yet; for now use a shared-key room: /join NAME KEY");

    private static RoomInfo Describe(RoomRecord record) => new(
        record.Name,
        record.Kind switch
        {
            RoomKinds.Psk => "shared key",
            RoomKinds.Mls => "MLS",
            _ => record.Kind,
        });

    private static ChatMessage ToMessage(StoredMessage m) =>
        new(m.MessageId, m.Room, m.Sender, m.SentAt ?? m.ServerTime, m.Text, m.Text is null ? m.Error ?? "unreadable" : m.Error);

    private async Task FollowAllAsync(CancellationToken ct)
    {
        var retry = FirstRetry;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                SetConnection(new ConnectionStatus(ConnectionState.Connecting));
                var connection = await _client.ConnectAsync(ct).ConfigureAwait(false);
                foreach (var room in _client.Store.GetRooms())
                {
                    await SyncAndPublishAsync(room.Name, ct).ConfigureAwait(false);
                }

                SetConnection(new ConnectionStatus(ConnectionState.Connected));
                retry = FirstRetry;
                await foreach (var message in connection.Events.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    if (_client.Store.GetRoom(message.Room) is not null)
                    {
                        // The client library stores, de-duplicates and acknowledges; we show what is new.
                        await SyncAndPublishAsync(message.Room, ct).ConfigureAwait(false);
                    }
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

    private async Task SyncAndPublishAsync(string room, CancellationToken ct)
    {
        await _client.SyncRoomAsync(room, ct).ConfigureAwait(false);
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
