using System.Security.Cryptography;
using System.Threading.Channels;
using CipherChat.Client.Fernet;
using CipherChat.Client.Identity;
using CipherChat.Client.Net;
using CipherChat.Client.Rooms;
using CipherChat.Client.Storage;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;

namespace CipherChat.Client;

/// <summary>The outcome of a registration.</summary>
public sealed record RegisterResult(string Username, ServerAddress Server, string ServerIdentity, bool PinnedNow);

/// <summary>The outcome of joining a room.</summary>
public sealed record JoinResult(string Room, bool Created, ulong LastSeq);

/// <summary>The outcome of a send: the message's place in the room.</summary>
public sealed record SendResult(string Room, string MessageId, ulong Seq, bool Duplicate);

/// <summary>
/// A room as the server lists it, with whether this device holds its key. A direct room is named "@peer";
/// <see cref="Epoch"/> is set for MLS rooms.
/// </summary>
public sealed record RoomSummary(string Name, string Kind, ulong LastSeq, bool HasKeyHere)
{
    /// <summary>The MLS group epoch the server reports (MLS rooms only).</summary>
    public ulong? Epoch { get; init; }

    /// <summary>Whether this user is an admin of the MLS room.</summary>
    public bool Admin { get; init; }

    /// <summary>The room's canonical name on the server ("@alice+bob" for a direct room).</summary>
    public string ServerName { get; init; } = Name;
}

/// <summary>
/// A CipherChat account on one device: registration, login, rooms, sending and receiving, with all
/// state in a <see cref="ClientStore"/>. No user interface: the CLI and the terminal UI sit on it.
/// Received messages are stored before they are acknowledged, and de-duplicated by sequence and id.
/// </summary>
public sealed partial class ChatClient : IAsyncDisposable
{
    private const int FetchPageSize = 200;
    private const int SendAttempts = 5;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private readonly string _clientName;
    private readonly Dictionary<string, IRoomCipher> _ciphers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _roomLock = new(1, 1);
    private ServerConnection? _connection;

    /// <param name="store">The client state.</param>
    /// <param name="time">The clock (tests use a fake one).</param>
    /// <param name="clientName">Sent in the handshake.</param>
    /// <param name="passphraseProvider">
    /// Asked at most once, when a secret key is first needed, for the passphrase that encrypts secret keys at rest;
    /// null or empty means none. Without a provider, <c>CIPHERCHAT_PASSPHRASE</c> is used when set.
    /// </param>
    public ChatClient(ClientStore store, TimeProvider? time = null, string clientName = "cipherchat", Func<string?>? passphraseProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        Store = store;
        _time = time ?? TimeProvider.System;
        _clientName = clientName;
        _passphraseProvider = passphraseProvider ?? (() => Environment.GetEnvironmentVariable(PassphraseKey.EnvironmentVariable));
    }

    public ClientStore Store { get; }

    /// <summary>The registered account; throws a clear error when there is none.</summary>
    public AccountInfo Account =>
        Store.GetAccount() ?? throw new ClientStateException("not registered yet: run 'cipherchat register --server HOST[:PORT] --user NAME' first");

    /// <summary>The server connection, when one is open.</summary>
    public ServerConnection? Connection => _connection is { IsOpen: true } c ? c : null;

    // ---- accounts ----

    /// <summary>Creates the device key if needed, registers <paramref name="username"/> and remembers the server.</summary>
    public async Task<RegisterResult> RegisterAsync(ServerAddress server, bool tls, string username, string? inviteCode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        var name = Names.NormalizeUser(username);
        if (Store.GetAccount() is { } existing)
        {
            throw new ClientStateException(
                $"this client is already registered as '{existing.Username}' on {existing.Server}: use another CIPHERCHAT_HOME for another account");
        }

        if (inviteCode is { Length: > ProtocolLimits.MaxInviteCodeLength })
        {
            throw new ChatClientException("the invite code is too long");
        }

        using var identity = LoadOrCreateIdentity();
        await DropConnectionAsync().ConfigureAwait(false);
        var connection = await ServerConnection.OpenAsync(server, tls, Store, _clientName, _time, PinPolicy.Verify, cancellationToken).ConfigureAwait(false);
        try
        {
            var challenge = connection.Hello.Challenge.Span;
            var signature = identity.Sign(AuthTranscript.ForRegister(challenge, name, identity.PublicKey));
            var reply = await connection.RequestAsync(
                new Frame
                {
                    Register = new Register
                    {
                        Username = name,
                        Ed25519PublicKey = Google.Protobuf.ByteString.CopyFrom(identity.PublicKey),
                        InviteCode = inviteCode ?? string.Empty,
                        Signature = Google.Protobuf.ByteString.CopyFrom(signature),
                    },
                },
                cancellationToken).ConfigureAwait(false);
            var registered = ExpectLoginOk(reply, name);
            Store.SaveAccount(new AccountInfo(server, tls, registered, _time.GetUtcNow()));
            _connection = connection;
            await TopUpKeyPackagesAsync(connection, cancellationToken).ConfigureAwait(false);
            return new RegisterResult(registered, server, connection.Identity, connection.PinnedNow);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Connects to <paramref name="server"/> and pins whatever identity it presents now, replacing an
    /// old pin. Returns the old pin (or null) and the new one.
    /// </summary>
    public async Task<(string? Previous, string Current)> TrustAsync(ServerAddress server, bool tls, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        var previous = Store.GetPin(server.ToString());
        await DropConnectionAsync().ConfigureAwait(false);
        await using var connection = await ServerConnection.OpenAsync(server, tls, Store, _clientName, _time, PinPolicy.Replace, cancellationToken).ConfigureAwait(false);
        return (previous, connection.Identity);
    }

    /// <summary>Opens (or reuses) a logged-in connection to the registered server.</summary>
    public async Task<ServerConnection> ConnectAsync(CancellationToken cancellationToken = default)
    {
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { IsOpen: true } open)
            {
                return open;
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }

            var account = Account;
            using var identity = DeviceIdentity.FromStored(UnlockedDeviceKey());
            var connection = await ServerConnection.OpenAsync(account.Server, account.Tls, Store, _clientName, _time, PinPolicy.Verify, cancellationToken).ConfigureAwait(false);
            try
            {
                var signature = identity.Sign(AuthTranscript.ForLogin(connection.Hello.Challenge.Span, account.Username));
                var reply = await connection.RequestAsync(
                    new Frame { Login = new Login { Username = account.Username, Signature = Google.Protobuf.ByteString.CopyFrom(signature) } },
                    cancellationToken).ConfigureAwait(false);
                ExpectLoginOk(reply, account.Username);
                _connection = connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            try
            {
                await TopUpKeyPackagesAsync(connection, cancellationToken).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                _connection = null;
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    // ---- rooms ----

    /// <summary>Joins (or creates) a pre-shared-key room with a Fernet key and keeps the key locally.</summary>
    public async Task<JoinResult> JoinPskRoomAsync(string room, string keyText, CancellationToken cancellationToken = default)
    {
        var name = Names.NormalizeRoom(room);
        if (name[0] == '@')
        {
            throw new InvalidNameException("a direct conversation is an MLS room: it has no shared key");
        }

        ArgumentNullException.ThrowIfNull(keyText);
        using var cipher = PskRoomCipher.FromKeyText(keyText);
        string canonicalKey;
        using (var parsed = ParseKey(keyText))
        {
            canonicalKey = parsed.Export();
        }

        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var reply = await connection.RequestAsync(
            new Frame
            {
                JoinRoom = new JoinRoom
                {
                    Room = name,
                    Kind = RoomKind.Psk,
                    KeyCheck = Google.Protobuf.ByteString.CopyFrom(cipher.ComputeKeyCheck(name)),
                },
            },
            cancellationToken).ConfigureAwait(false);
        if (reply.BodyCase != Frame.BodyOneofCase.JoinRoomOk)
        {
            throw UnexpectedReply("JoinRoom");
        }

        Store.UpsertRoom(new RoomRecord(name, RoomKinds.Psk, canonicalKey, _time.GetUtcNow(), 0));
        DropCipher(name);
        return new JoinResult(name, reply.JoinRoomOk.Created, reply.JoinRoomOk.Room?.LastSeq ?? 0);
    }

    /// <summary>
    /// Leaves the room on the server and forgets its key here (the history stays). In an MLS room this member first
    /// sends a proposal to remove itself, which a remaining member commits.
    /// </summary>
    public async Task LeaveRoomAsync(string room, CancellationToken cancellationToken = default)
    {
        var name = ResolveRoomName(room);
        var local = Store.GetRoom(name);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (local is { Kind: RoomKinds.Mls })
        {
            await ProposeLeaveAsync(connection, name, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var reply = await connection.RequestAsync(new Frame { LeaveRoom = new LeaveRoom { Room = name } }, cancellationToken).ConfigureAwait(false);
            if (reply.BodyCase != Frame.BodyOneofCase.LeaveRoomOk)
            {
                throw UnexpectedReply("LeaveRoom");
            }
        }
        catch (ServerErrorException ex) when (ex.Code == ErrorCode.NotAMember && local is not null)
        {
            // Already gone on the server; forgetting it here is all that is left to do.
        }
        catch (ServerErrorException ex) when (ex.Code == ErrorCode.NotAMember)
        {
            throw new ClientStateException($"you are not in room '{DisplayName(name)}'", ex);
        }

        DropCipher(name);
        if (local is { Kind: RoomKinds.Mls })
        {
            MlsState.RemoveRoom(name);
        }

        Store.RemoveRoom(name);
    }

    /// <summary>The rooms the server says this user is in (invitations waiting for this device are accepted first).</summary>
    public async Task<IReadOnlyList<RoomSummary>> ListRoomsAsync(CancellationToken cancellationToken = default)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
        var reply = await connection.RequestAsync(new Frame { ListRooms = new ListRooms() }, cancellationToken).ConfigureAwait(false);
        if (reply.BodyCase != Frame.BodyOneofCase.RoomList)
        {
            throw UnexpectedReply("ListRooms");
        }

        var result = new List<RoomSummary>();
        foreach (var info in reply.RoomList.Rooms)
        {
            var name = Names.TryNormalizeRoom(info.Name, out var n, out _) ? n : ServerErrorException.Sanitize(info.Name);
            var local = Store.GetRoom(name);
            var kind = info.Kind switch
            {
                RoomKind.Psk => RoomKinds.Psk,
                RoomKind.Mls => RoomKinds.Mls,
                _ => "unknown",
            };
            var hasKey = info.Kind == RoomKind.Mls ? local is { Kind: RoomKinds.Mls } && MlsState.HasRoom(name) : local?.PskKey is not null;
            result.Add(new RoomSummary(DisplayName(name), kind, info.LastSeq, hasKey)
            {
                Epoch = info.Kind == RoomKind.Mls ? info.Epoch : null,
                Admin = info.Admin,
                ServerName = name,
            });
        }

        return result;
    }

    // ---- messages ----

    /// <summary>
    /// Encrypts and sends <paramref name="text"/>; returns once the server has stored it. A send whose
    /// answer is lost is retried with the same message id, so it is stored once.
    /// </summary>
    public async Task<SendResult> SendAsync(string room, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var name = ResolveRoomName(room);
        var record = Store.GetRoom(name);
        if (record is null)
        {
            // Perhaps an invitation to this MLS room is waiting, or it is a direct conversation to start.
            var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
            record = Store.GetRoom(name);
            if (record is null && Names.IsDirectRoom(name, out var a, out var b))
            {
                return await SendDirectAsync(a == Account.Username ? b : a, text, cancellationToken).ConfigureAwait(false);
            }
        }

        if (record is { Kind: RoomKinds.Mls })
        {
            return await SendMlsAsync(name, text, cancellationToken).ConfigureAwait(false);
        }

        var account = Account;
        var cipher = GetCipher(name);
        var idBytes = ClientMessageIds.New();
        var messageId = Convert.ToHexStringLower(idBytes);
        var payload = cipher.Seal(new OutgoingContent(messageId, account.Username, _time.GetLocalNow(), text), _time.GetUtcNow());
        var reply = await SendPayloadAsync(name, idBytes, payload, cancellationToken).ConfigureAwait(false);
        return new SendResult(name, messageId, reply.Seq, reply.Duplicate);
    }

    // Sends a sealed payload, retrying transient failures with the same message id.
    private async Task<SendOk> SendPayloadAsync(string name, byte[] idBytes, byte[] payload, CancellationToken cancellationToken)
    {
        var frame = new Send
        {
            Room = name,
            ClientMessageId = Google.Protobuf.ByteString.CopyFrom(idBytes),
            Payload = Google.Protobuf.ByteString.CopyFrom(payload),
        };

        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
                var limit = connection.Hello.MaxPayloadBytes;
                if (limit != 0 && payload.Length > limit)
                {
                    throw new ChatClientException($"the message is too large: {payload.Length} bytes encrypted, the server takes at most {limit}");
                }

                var reply = await connection.RequestAsync(new Frame { Send = frame.Clone() }, cancellationToken).ConfigureAwait(false);
                if (reply.BodyCase != Frame.BodyOneofCase.SendOk)
                {
                    throw UnexpectedReply("Send");
                }

                return reply.SendOk;
            }
            catch (Exception ex) when (attempt < SendAttempts && IsTransient(ex))
            {
                if (ex is not ServerErrorException { Code: ErrorCode.RateLimited })
                {
                    await DropConnectionAsync().ConfigureAwait(false);
                }

                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = Min(delay * 2, MaxBackoff);
            }
        }
    }

    /// <summary>
    /// Fetches the room's messages after the last acknowledged one, stores them, then acknowledges.
    /// In an MLS room the log is processed in order (commits change the group; an invitation waiting for this
    /// device is accepted first). Returns how many new messages were stored.
    /// </summary>
    public async Task<int> SyncRoomAsync(string room, CancellationToken cancellationToken = default)
    {
        var name = ResolveRoomName(room);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        await DrainNoticesAsync(connection, cancellationToken).ConfigureAwait(false);
        if (Store.GetRoom(name) is null || name[0] == '@')
        {
            await ProcessWelcomesAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SyncLockedAsync(connection, name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _roomLock.Release();
        }
    }

    /// <summary>
    /// Keeps the room in sync until cancelled: catches up, then stores pushed messages as they arrive,
    /// reconnecting with back-off when the connection drops. <paramref name="onStored"/> runs after each
    /// batch of new messages is stored; <paramref name="onStatus"/> hears about reconnects.
    /// </summary>
    public async Task FollowAsync(string room, Func<CancellationToken, Task> onStored, Action<string>? onStatus, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onStored);
        var name = ResolveRoomName(room);
        var delay = TimeSpan.FromMilliseconds(250);
        var connectedOnce = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
                if (connectedOnce)
                {
                    onStatus?.Invoke($"reconnected to {connection.Server}");
                }

                await SyncRoomAsync(name, cancellationToken).ConfigureAwait(false);
                RequireRoom(name);
                connectedOnce = true;
                delay = TimeSpan.FromMilliseconds(250);
                await onStored(cancellationToken).ConfigureAwait(false);
                Task<bool>? events = null;
                Task<bool>? notices = null;
                while (true)
                {
                    while (connection.Notices.TryRead(out var notice))
                    {
                        if (await HandleNoticeAsync(connection, notice, name, cancellationToken).ConfigureAwait(false))
                        {
                            await onStored(cancellationToken).ConfigureAwait(false);
                        }
                    }

                    var stored = false;
                    while (connection.Events.TryRead(out var message))
                    {
                        if (string.Equals(message.Room, name, StringComparison.Ordinal)
                            && await HandleEventAsync(connection, name, message, cancellationToken).ConfigureAwait(false))
                        {
                            stored = true;
                        }
                    }

                    if (stored)
                    {
                        await onStored(cancellationToken).ConfigureAwait(false);
                    }

                    // One waiter per channel at a time; the one that did not fire is kept for the next round.
                    events ??= connection.Events.WaitToReadAsync(cancellationToken).AsTask();
                    notices ??= connection.Notices.WaitToReadAsync(cancellationToken).AsTask();
                    var fired = await Task.WhenAny(events, notices).ConfigureAwait(false);
                    if (!await fired.ConfigureAwait(false))
                    {
                        throw connectionClosed(connection);
                    }

                    if (fired == events)
                    {
                        events = null;
                    }
                    else
                    {
                        notices = null;
                    }
                }
            }
            catch (Exception ex) when (connectedOnce && IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                onStatus?.Invoke($"{OneLine(ex)}; reconnecting in {delay.TotalSeconds:0.##} s");
                await DropConnectionAsync().ConfigureAwait(false);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = Min(delay * 2, MaxBackoff);
            }
        }

        static ConnectionFailedException connectionClosed(ServerConnection c) => new($"the connection to {c.Server} was closed");
    }

    /// <summary>Stores one pushed message (or fills a gap before it); returns whether anything new was stored.</summary>
    private async Task<bool> HandleEventAsync(ServerConnection connection, string room, MessageEvent message, CancellationToken cancellationToken)
    {
        await _roomLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var record = RequireRoom(room);
            var acked = (ulong)Math.Max(0, record.LastAckedSeq);
            if (message.Seq <= acked)
            {
                return false;
            }

            if (message.Seq != acked + 1 || record.Kind == RoomKinds.Mls)
            {
                // A gap: fetch what is missing (the fetch includes this message). An MLS room always reads its log,
                // which also commits what needs committing.
                return await SyncLockedAsync(connection, room, cancellationToken).ConfigureAwait(false) > 0;
            }

            var added = StoreMessage(room, message);
            Store.AdvanceAckedSeq(room, (long)message.Seq);
            await AckAsync(connection, room, message.Seq, cancellationToken).ConfigureAwait(false);
            return added;
        }
        finally
        {
            _roomLock.Release();
        }
    }

    private async Task<int> SyncLockedAsync(ServerConnection connection, string room, CancellationToken cancellationToken)
    {
        var record = RequireRoom(room);
        if (record.Kind == RoomKinds.Mls)
        {
            return await SyncMlsLockedAsync(connection, room, reconcile: true, cancellationToken).ConfigureAwait(false);
        }

        var added = 0;
        for (var page = 0; page < 100_000; page++)
        {
            record = RequireRoom(room);
            var after = (ulong)Math.Max(0, record.LastAckedSeq);
            var reply = await FetchAsync(connection, room, after, cancellationToken).ConfigureAwait(false);
            var highest = after;
            foreach (var message in reply.Messages)
            {
                // Oldest first and after the cursor; anything else is ignored rather than trusted.
                if (message.Seq <= highest || !string.Equals(message.Room, room, StringComparison.Ordinal) && message.Room.Length != 0)
                {
                    continue;
                }

                if (StoreMessage(room, message))
                {
                    added++;
                }

                highest = message.Seq;
            }

            if (highest > after)
            {
                // Stored first, acknowledged after: a crash in between only means fetching again.
                Store.AdvanceAckedSeq(room, (long)highest);
                await AckAsync(connection, room, highest, cancellationToken).ConfigureAwait(false);
            }

            if (!reply.HasMore || highest == after)
            {
                break;
            }
        }

        return added;
    }

    private static async Task<FetchResult> FetchAsync(ServerConnection connection, string room, ulong after, CancellationToken cancellationToken)
    {
        var reply = await connection.RequestAsync(
            new Frame { Fetch = new Fetch { Room = room, AfterSeq = after, Limit = FetchPageSize } },
            cancellationToken).ConfigureAwait(false);
        return reply.BodyCase == Frame.BodyOneofCase.FetchResult ? reply.FetchResult : throw UnexpectedReply("Fetch");
    }

    private static async Task AckAsync(ServerConnection connection, string room, ulong seq, CancellationToken cancellationToken)
    {
        try
        {
            await connection.RequestAsync(new Frame { Ack = new Ack { Room = room, Seq = seq } }, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerErrorException ex) when (!ex.IsTransient)
        {
            // The server's read cursor is a convenience; the local cursor is what counts.
        }
    }

    private bool StoreMessage(string room, MessageEvent message)
    {
        var now = _time.GetUtcNow();
        var messageId = MessageIdOf(message);
        var sender = SenderOf(message);
        var cipher = GetCipher(room);
        var opened = cipher.Open(message.Payload.Span, sender, messageId, now);
        return Store.TryAddMessage(new StoredMessage(room, (long)message.Seq, messageId, sender, ServerTimeOf(message, now), now, opened.SentAt, opened.Text, opened.Error, false));
    }

    private static string MessageIdOf(MessageEvent message) =>
        Convert.ToHexStringLower(message.ClientMessageId.Span[..Math.Min(message.ClientMessageId.Length, 64)]);

    private static string SenderOf(MessageEvent message) =>
        Names.TryNormalizeUser(message.Sender, out var s, out _) ? s : "?";

    private static DateTimeOffset ServerTimeOf(MessageEvent message, DateTimeOffset fallback)
    {
        try
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(message.ServerTime);
        }
        catch (ArgumentOutOfRangeException)
        {
            return fallback;
        }
    }

    // ---- helpers ----

    private RoomRecord RequireRoom(string room) =>
        Store.GetRoom(room) ?? throw new ClientStateException(
            room[0] == '@'
                ? $"there is no direct conversation '{DisplayName(room)}' on this device yet: start it with 'cipherchat dm USER \"text\"'"
                : $"you are not in room '{room}' on this device: create it ('cipherchat room create {room}'), ask a member to invite you, or join a shared-key room with 'cipherchat room join {room} --key KEY'");

    private IRoomCipher GetCipher(string room)
    {
        lock (_ciphers)
        {
            if (_ciphers.TryGetValue(room, out var cached))
            {
                return cached;
            }

            var record = RequireRoom(room);
            IRoomCipher cipher = record.Kind switch
            {
                RoomKinds.Psk when record.PskKey is not null => new PskRoomCipher(ParseKey(record.PskKey)),
                RoomKinds.Mls => LoadMlsCipher(room),
                _ => throw new ClientStateException($"room '{room}' has no usable key on this device: join it again with --key"),
            };
            _ciphers[room] = cipher;
            return cipher;
        }
    }

    private void DropCipher(string room)
    {
        lock (_ciphers)
        {
            if (_ciphers.Remove(room, out var cipher))
            {
                cipher.Dispose();
            }
        }
    }

    private static FernetKey ParseKey(string text)
    {
        try
        {
            return FernetKey.Parse(text);
        }
        catch (FernetException ex)
        {
            throw new ChatClientException("the room key is not a Fernet key: it must be the 44 characters printed by 'cipherchat keygen'", ex);
        }
    }

    private DeviceIdentity LoadOrCreateIdentity()
    {
        if (Store.GetDeviceKey() is not null)
        {
            return DeviceIdentity.FromStored(UnlockedDeviceKey());
        }

        var identity = DeviceIdentity.Create();
        var plain = identity.ToStored(_time.GetUtcNow());
        var passphrase = Passphrase();
        if (!Store.TryAddDeviceKey(passphrase is null ? plain : DeviceKeyProtection.Lock(plain, passphrase)))
        {
            identity.Dispose();
            return DeviceIdentity.FromStored(UnlockedDeviceKey());
        }

        return identity;
    }

    private static string ExpectLoginOk(Frame reply, string requested)
    {
        if (reply.BodyCase != Frame.BodyOneofCase.LoginOk)
        {
            throw UnexpectedReply("Login");
        }

        return Names.TryNormalizeUser(reply.LoginOk.Username, out var name, out _) ? name : requested;
    }

    private static ChatClientException UnexpectedReply(string request) =>
        new ConnectionFailedException($"the server answered {request} with an unexpected message");

    private async Task DropConnectionAsync()
    {
        var old = Interlocked.Exchange(ref _connection, null);
        if (old is not null)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        ConnectionFailedException => true,
        ServerErrorException s => s.IsTransient || s.Code == ErrorCode.SlowConsumer,
        ChannelClosedException => true,
        _ => false,
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string OneLine(Exception ex) => ex.Message.ReplaceLineEndings(" ");

    public async ValueTask DisposeAsync()
    {
        await DropConnectionAsync().ConfigureAwait(false);
        lock (_ciphers)
        {
            foreach (var cipher in _ciphers.Values)
            {
                cipher.Dispose();
            }

            _ciphers.Clear();
        }

        DisposeSecrets();
        _connectLock.Dispose();
        _roomLock.Dispose();
    }
}
