using System.Buffers;
using System.Security.Cryptography;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;
using Google.Protobuf;
using NSec.Cryptography;
using StoreRoomKind = CipherChat.Server.Storage.RoomKind;
using WireRoomKind = CipherChat.Protocol.V1.RoomKind;

namespace CipherChat.Server.Connections;

/// <summary>
/// One client connection: the protocol state machine (handshake, login, requests) over a transport.
/// Requests are handled one at a time in arrival order; replies and pushed events leave through the
/// transport's bounded queue, so a client that stops reading fills only its own queue.
/// </summary>
internal sealed partial class ChatConnection : IDeliveryTarget
{
    private enum State
    {
        AwaitHello,
        AwaitAuth,
        Ready,
    }

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly ChatServerCore _core;
    private readonly ChatServerOptions _options;
    private readonly IChatTransport _transport;
    private readonly string _id;
    private readonly TokenBucket _sendBucket;
    private State _state = State.AwaitHello;
    private byte[] _challenge = [];
    private string _user = string.Empty;
    private volatile bool _closing;
    private volatile bool _aborted;
    private long _timeoutDeadline;

    public ChatConnection(ChatServerCore core, IChatTransport transport, string id)
    {
        _core = core;
        _options = core.Options;
        _transport = transport;
        _id = id;
        _sendBucket = new TokenBucket(_options.SendRatePerSecond, _options.SendBurst, _options.TimeProvider);
    }

    public string User => _user;

    /// <summary>When the current handshake or idle timeout expires, on <see cref="Environment.TickCount64"/>.</summary>
    internal long TimeoutDeadline => Volatile.Read(ref _timeoutDeadline);

    // Links in the server's list of connections watched for timeouts (guarded by its lock).
    internal ChatConnection? TimeoutNext { get; set; }

    internal ChatConnection? TimeoutPrevious { get; set; }

    /// <summary>
    /// Called by the timeout sweep once the deadline has passed, and at server shutdown: wakes the
    /// read loop, which finds out why.
    /// </summary>
    internal void WakeRead() => _transport.Input.CancelPendingRead();

    private bool ShutdownRequested => _core.IsShuttingDown;

    public bool TryDeliver(ReadOnlyMemory<byte> encodedFrame)
    {
        if (_closing)
        {
            return false;
        }

        switch (_transport.TrySend(encodedFrame))
        {
            case SendResult.Queued:
                return true;
            case SendResult.Full:
                DisconnectSlowConsumer();
                return false;
            default:
                return false;
        }
    }

    public async Task RunAsync()
    {
        try
        {
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_aborted)
        {
            // Cut off (slow consumer or transport gone).
        }
        catch (IOException)
        {
            // The transport failed under us; nothing to tell the peer.
        }
        catch (Exception ex)
        {
            ServerLog.ConnectionFailure(_core.Logger, _id, ex);
            Enqueue(Frames.Error(ErrorCode.Internal, "internal error"));
        }
        finally
        {
            _closing = true;
            if (_state == State.Ready)
            {
                _core.Hub.Disconnect(this);
            }

            try
            {
                // What is queued still goes out (a last error, SHUTTING_DOWN), unless the client
                // does not take it in time.
                try
                {
                    await _transport.CompleteOutputAsync().WaitAsync(DrainTimeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    _transport.Abort();
                }

                await _transport.Input.CompleteAsync().ConfigureAwait(false);
            }
            finally
            {
                _core.Metrics.ConnectionClosed();
                ServerLog.ConnectionClosed(_core.Logger, _id);
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        // No per-connection timer or linked token source: the server's timeout sweep and shutdown
        // both wake a pending read with CancelPendingRead, and the loop then looks at why.
        SetTimeout(_options.HandshakeTimeoutSeconds);
        _core.Timeouts.Add(this);
        if (_core.IsShuttingDown)
        {
            // Shutdown began before this connection was in the list that it wakes.
            WakeRead();
        }

        try
        {
            while (true)
            {
                Frame? frame;
                try
                {
                    frame = await FramePipe.ReadFrameAsync(_transport.Input, _options.MaxFrameBytes).ConfigureAwait(false);
                }
                catch (ProtocolException ex)
                {
                    _core.Metrics.FrameRejected();
                    Refuse(ex.Code, ex.Message, ex.RequestId);
                    if (ex.IsFatal)
                    {
                        return;
                    }

                    continue;
                }
                catch (OperationCanceledException) when (!_aborted)
                {
                    if (ShutdownRequested)
                    {
                        Enqueue(Frames.Error(ErrorCode.ShuttingDown, "server is shutting down"));
                        return;
                    }

                    if (Environment.TickCount64 < TimeoutDeadline)
                    {
                        // The sweep saw an old deadline just before a frame moved it on.
                        continue;
                    }

                    Refuse(ErrorCode.Timeout, _state == State.Ready ? "idle timeout" : "handshake timeout", 0);
                    return;
                }

                if (frame is null)
                {
                    return;
                }

                if (ShutdownRequested)
                {
                    // Read before shutdown began but not yet handled: refuse it whole.
                    Enqueue(Frames.Error(ErrorCode.ShuttingDown, "server is shutting down", frame.RequestId));
                    return;
                }

                var keepOpen = _state switch
                {
                    State.AwaitHello => HandleHello(frame),
                    State.AwaitAuth => await HandleAuthAsync(frame).ConfigureAwait(false),
                    _ => await HandleRequestAsync(frame).ConfigureAwait(false),
                };
                if (!keepOpen)
                {
                    return;
                }

                if (_state == State.Ready)
                {
                    SetTimeout(_options.IdleTimeoutSeconds);
                }
            }
        }
        finally
        {
            _core.Timeouts.Remove(this);
        }
    }

    private void SetTimeout(double seconds) =>
        Volatile.Write(ref _timeoutDeadline, Environment.TickCount64 + (long)Math.Ceiling(seconds * 1000));

    private void Enqueue(Frame frame)
    {
        if (_transport.TrySend(FrameCodec.Encode(frame, ProtocolLimits.MaxMaxFrameBytes)) == SendResult.Full && !_closing)
        {
            DisconnectSlowConsumer();
        }
    }

    private void Reply(ulong requestId, Frame frame)
    {
        frame.RequestId = requestId;
        Enqueue(frame);
    }

    private void Refuse(ErrorCode code, string message, ulong requestId)
    {
        if (_state != State.Ready)
        {
            ServerLog.ConnectionRefused(_core.Logger, _id, code);
        }
        else
        {
            ServerLog.RequestRefused(_core.Logger, _id, code);
        }

        Enqueue(Frames.Error(code, message, requestId));
    }

    private void DisconnectSlowConsumer()
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        _core.Metrics.SlowConsumer();
        ServerLog.SlowConsumer(_core.Logger, _id, _user);
        _aborted = true;
        _transport.Abort();

        // Wake a pending read at once, whatever the transport does on abort.
        _transport.Input.CancelPendingRead();
    }

    // ---- Handshake ---------------------------------------------------------------------------

    private bool HandleHello(Frame frame)
    {
        if (frame.BodyCase != Frame.BodyOneofCase.Hello)
        {
            Refuse(ErrorCode.ProtocolViolation, "expected Hello", frame.RequestId);
            return false;
        }

        if (frame.Hello.ProtocolVersion != ProtocolLimits.ProtocolVersion)
        {
            Refuse(ErrorCode.UnsupportedVersion, "server speaks version 1", frame.RequestId);
            return false;
        }

        _challenge = RandomNumberGenerator.GetBytes(ProtocolLimits.ChallengeBytes);
        _state = State.AwaitAuth;
        Reply(frame.RequestId, new Frame
        {
            HelloOk = new HelloOk
            {
                ProtocolVersion = ProtocolLimits.ProtocolVersion,
                ServerName = _options.ServerName,
                Challenge = ByteString.CopyFrom(_challenge),
                MaxFrameBytes = (uint)_options.MaxFrameBytes,
                MaxPayloadBytes = (uint)_options.MaxPayloadBytes,
                ServerTime = Now.ToUnixTimeMilliseconds(),
                InviteRequired = _options.InviteRequired,
                IdleTimeoutSeconds = (uint)Math.Ceiling(_options.IdleTimeoutSeconds),
            },
        });
        return true;
    }

    private async ValueTask<bool> HandleAuthAsync(Frame frame)
    {
        switch (frame.BodyCase)
        {
            case Frame.BodyOneofCase.Ping:
                Reply(frame.RequestId, new Frame { Pong = new Pong { ServerTime = Now.ToUnixTimeMilliseconds() } });
                return true;
            case Frame.BodyOneofCase.Register:
                return await RegisterAsync(frame.RequestId, frame.Register).ConfigureAwait(false);
            case Frame.BodyOneofCase.Login:
                return await LoginAsync(frame.RequestId, frame.Login).ConfigureAwait(false);
            default:
                Refuse(ErrorCode.ProtocolViolation, "log in first", frame.RequestId);
                return false;
        }
    }

    private async ValueTask<bool> RegisterAsync(ulong requestId, Register request)
    {
        if (!NameRules.TryNormalizeUsername(request.Username, out var username))
        {
            Refuse(ErrorCode.InvalidUsername, "usernames are 1-32 characters of a-z 0-9 . _ -", requestId);
            return false;
        }

        if (request.Ed25519PublicKey.Length != ProtocolLimits.Ed25519PublicKeyBytes
            || !PublicKey.TryImport(SignatureAlgorithm.Ed25519, request.Ed25519PublicKey.Span, KeyBlobFormat.RawPublicKey, out var publicKey)
            || publicKey is null)
        {
            Refuse(ErrorCode.InvalidKey, "invalid public key", requestId);
            return false;
        }

        var transcript = AuthTranscript.ForRegister(_challenge, request.Username, request.Ed25519PublicKey.Span);
        if (!VerifySignature(publicKey, transcript, request.Signature))
        {
            Refuse(ErrorCode.AuthFailed, "signature does not verify", requestId);
            return false;
        }

        // Typed as a nullable memory: a null byte[] would convert to an empty, non-null hash.
        ReadOnlyMemory<byte>? inviteHash = null;
        if (_options.InviteRequired)
        {
            if (request.InviteCode.Length == 0)
            {
                Refuse(ErrorCode.InviteRequired, "this server registers only with an invite code", requestId);
                return false;
            }

            if (request.InviteCode.Length > ProtocolLimits.MaxInviteCodeLength)
            {
                Refuse(ErrorCode.InvalidInvite, "invalid or used invite code", requestId);
                return false;
            }

            inviteHash = InviteCodes.Hash(request.InviteCode);
        }

        RegisterStatus status;
        try
        {
            status = await _core.Store.RegisterUserAsync(username, request.Ed25519PublicKey.ToByteArray(), inviteHash, Now, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ServerLog.StoreFailure(_core.Logger, _id, ex);
            Refuse(ErrorCode.Internal, "internal error", requestId);
            return false;
        }

        switch (status)
        {
            case RegisterStatus.NameTaken:
                Refuse(ErrorCode.UsernameTaken, "username is taken", requestId);
                return false;
            case RegisterStatus.InvalidInvite:
                Refuse(ErrorCode.InvalidInvite, "invalid or used invite code", requestId);
                return false;
            default:
                ServerLog.UserRegistered(_core.Logger, username);
                return await CompleteLoginAsync(requestId, username).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> LoginAsync(ulong requestId, Login request)
    {
        if (!NameRules.TryNormalizeUsername(request.Username, out var username))
        {
            Refuse(ErrorCode.InvalidUsername, "usernames are 1-32 characters of a-z 0-9 . _ -", requestId);
            return false;
        }

        UserRecord? user;
        try
        {
            user = await _core.Store.FindUserAsync(username, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ServerLog.StoreFailure(_core.Logger, _id, ex);
            Refuse(ErrorCode.Internal, "internal error", requestId);
            return false;
        }

        if (user is null)
        {
            Refuse(ErrorCode.UnknownUser, "no such user on this server", requestId);
            return false;
        }

        var transcript = AuthTranscript.ForLogin(_challenge, request.Username);
        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, user.PublicKey.Span, KeyBlobFormat.RawPublicKey, out var publicKey)
            || publicKey is null
            || !VerifySignature(publicKey, transcript, request.Signature))
        {
            Refuse(ErrorCode.AuthFailed, "signature does not verify", requestId);
            return false;
        }

        return await CompleteLoginAsync(requestId, username).ConfigureAwait(false);
    }

    private static bool VerifySignature(PublicKey publicKey, byte[] transcript, ByteString signature) =>
        signature.Length == ProtocolLimits.Ed25519SignatureBytes
        && SignatureAlgorithm.Ed25519.Verify(publicKey, transcript, signature.Span);

    private async ValueTask<bool> CompleteLoginAsync(ulong requestId, string username)
    {
        IReadOnlyList<RoomSummary> rooms;
        _user = username;
        try
        {
            rooms = await _core.Store.ListRoomsAsync(username, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ServerLog.StoreFailure(_core.Logger, _id, ex);
            Refuse(ErrorCode.Internal, "internal error", requestId);
            return false;
        }

        _state = State.Ready;
        _core.Hub.Connect(this, rooms.Select(r => r.Name));
        _challenge = [];
        ServerLog.LoggedIn(_core.Logger, _id, username);
        Reply(requestId, new Frame { LoginOk = new LoginOk { Username = username, ServerTime = Now.ToUnixTimeMilliseconds() } });
        return true;
    }

    // ---- Requests after login ----------------------------------------------------------------

    private async ValueTask<bool> HandleRequestAsync(Frame frame)
    {
        var requestId = frame.RequestId;
        try
        {
            switch (frame.BodyCase)
            {
                case Frame.BodyOneofCase.Ping:
                    Reply(requestId, new Frame { Pong = new Pong { ServerTime = Now.ToUnixTimeMilliseconds() } });
                    return true;
                case Frame.BodyOneofCase.JoinRoom:
                    await JoinRoomAsync(requestId, frame.JoinRoom).ConfigureAwait(false);
                    return true;
                case Frame.BodyOneofCase.LeaveRoom:
                    await LeaveRoomAsync(requestId, frame.LeaveRoom).ConfigureAwait(false);
                    return true;
                case Frame.BodyOneofCase.ListRooms:
                    await ListRoomsAsync(requestId).ConfigureAwait(false);
                    return true;
                case Frame.BodyOneofCase.Send:
                    await SendAsync(requestId, frame.Send).ConfigureAwait(false);
                    return true;
                case Frame.BodyOneofCase.Fetch:
                    await FetchAsync(requestId, frame.Fetch).ConfigureAwait(false);
                    return true;
                case Frame.BodyOneofCase.Ack:
                    await AckAsync(requestId, frame.Ack).ConfigureAwait(false);
                    return true;
                default:
                    if (await HandleMlsRequestAsync(frame).ConfigureAwait(false))
                    {
                        return true;
                    }

                    // Hello/Register/Login again, or a frame only a server sends.
                    Refuse(ErrorCode.ProtocolViolation, "unexpected message", requestId);
                    return false;
            }
        }
        catch (ChatStoreException ex)
        {
            // The database cannot be reached; a retried send is de-duplicated, so the client may simply retry.
            ServerLog.StoreFailure(_core.Logger, _id, ex);
            Refuse(ErrorCode.Internal, "storage unavailable: try again later", requestId);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A storage fault: the store's operations are atomic, so nothing was half-done.
            ServerLog.StoreFailure(_core.Logger, _id, ex);
            Refuse(ErrorCode.Internal, "internal error", requestId);
            return true;
        }
    }

    private bool TryRoom(string input, ulong requestId, out string room)
    {
        if (NameRules.TryNormalizeAnyRoomName(input, out var name))
        {
            room = name;
            return true;
        }

        room = string.Empty;
        Refuse(ErrorCode.InvalidRoomName, "room names are 1-32 characters of a-z 0-9 . _ -", requestId);
        return false;
    }

    private async ValueTask JoinRoomAsync(ulong requestId, JoinRoom request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        if (request.Kind == WireRoomKind.Mls)
        {
            Refuse(ErrorCode.UnsupportedRoomKind, "MLS rooms are created with CreateRoom and joined by being added in a commit", requestId);
            return;
        }

        if (NameRules.IsDirectRoomName(room))
        {
            Refuse(ErrorCode.InvalidRoomName, "direct rooms are MLS rooms", requestId);
            return;
        }

        if (request.Kind != WireRoomKind.Psk)
        {
            Refuse(ErrorCode.InvalidRequest, "room kind missing", requestId);
            return;
        }

        if (request.KeyCheck.Length is < ProtocolLimits.MinKeyCheckBytes or > ProtocolLimits.MaxKeyCheckBytes)
        {
            Refuse(ErrorCode.InvalidRequest, "key check must be 16-64 bytes", requestId);
            return;
        }

        var outcome = await _core.Store.JoinRoomAsync(room, StoreRoomKind.Psk, request.KeyCheck.ToByteArray(), _user, Now, CancellationToken.None).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case JoinStatus.WrongKey:
                Refuse(ErrorCode.WrongRoomKey, "wrong key for this room", requestId);
                return;
            case JoinStatus.KindMismatch:
                Refuse(ErrorCode.RoomKindMismatch, "the room exists with another kind", requestId);
                return;
            case JoinStatus.Created:
                ServerLog.RoomCreated(_core.Logger, room);
                break;
        }

        _core.Hub.UserJoined(_user, room);
        Reply(requestId, new Frame { JoinRoomOk = new JoinRoomOk { Room = ToInfo(outcome.Room!), Created = outcome.Status == JoinStatus.Created } });
    }

    private async ValueTask LeaveRoomAsync(ulong requestId, LeaveRoom request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        var mls = await IsMlsMemberAsync(room).ConfigureAwait(false);
        if (!await _core.Store.LeaveRoomAsync(room, _user, CancellationToken.None).ConfigureAwait(false))
        {
            Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
            return;
        }

        _core.Hub.UserLeft(_user, room);
        if (mls)
        {
            RequestCommit(room);
        }

        Reply(requestId, new Frame { LeaveRoomOk = new LeaveRoomOk { Room = room } });
    }

    private async ValueTask ListRoomsAsync(ulong requestId)
    {
        var rooms = await _core.Store.ListRoomsAsync(_user, CancellationToken.None).ConfigureAwait(false);
        var list = new RoomList();
        list.Rooms.AddRange(rooms.Select(ToInfo));
        Reply(requestId, new Frame { RoomList = list });
    }

    private async ValueTask SendAsync(ulong requestId, Send request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        if (request.ClientMessageId.Length != ProtocolLimits.ClientMessageIdBytes)
        {
            Refuse(ErrorCode.InvalidRequest, "client message id must be 16 bytes", requestId);
            return;
        }

        if (request.Payload.Length == 0)
        {
            Refuse(ErrorCode.InvalidRequest, "empty payload", requestId);
            return;
        }

        if (request.Payload.Length > _options.MaxPayloadBytes)
        {
            Refuse(ErrorCode.MessageTooLarge, "too large", requestId);
            return;
        }

        if (!_sendBucket.TryTake())
        {
            Refuse(ErrorCode.RateLimited, "slow down", requestId);
            return;
        }

        // A parsed ByteString owns its bytes and never changes: no copy needed.
        var message = new NewMessage(room, _user, request.ClientMessageId.Memory, request.Payload.Memory, Now);
        var outcome = await _core.Hub.SendAsync(message, this, CancellationToken.None).ConfigureAwait(false);
        if (outcome.Status == AppendStatus.NotAMember)
        {
            Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
            return;
        }

        Reply(requestId, new Frame
        {
            SendOk = new SendOk
            {
                Room = room,
                Seq = outcome.Seq,
                ServerTime = outcome.ServerTime.ToUnixTimeMilliseconds(),
                Duplicate = outcome.Status == AppendStatus.Duplicate,
            },
        });
    }

    private async ValueTask FetchAsync(ulong requestId, Fetch request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        var limit = request.Limit == 0 ? ProtocolLimits.DefaultFetchLimit : (int)Math.Min(request.Limit, ProtocolLimits.MaxFetchLimit);
        var page = await _core.Store.FetchMessagesAsync(room, _user, request.AfterSeq, limit, CancellationToken.None).ConfigureAwait(false);
        if (page is null)
        {
            Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
            return;
        }

        // Fill the reply up to the frame limit; the rest is left for the next Fetch.
        var result = new FetchResult { Room = room, HasMore = page.HasMore };
        var budget = _options.MaxFrameBytes - 128;
        var used = 0;
        for (var i = 0; i < page.Messages.Count; i++)
        {
            var ev = DeliveryHub.ToEvent(page.Messages[i]);
            var size = 1 + CodedOutputStream.ComputeMessageSize(ev);
            if (i > 0 && used + size > budget)
            {
                result.HasMore = true;
                break;
            }

            used += size;
            result.Messages.Add(ev);
        }

        Reply(requestId, new Frame { FetchResult = result });
    }

    private async ValueTask AckAsync(ulong requestId, Ack request)
    {
        if (!TryRoom(request.Room, requestId, out var room))
        {
            return;
        }

        var cursor = await _core.Store.AckAsync(room, _user, request.Seq, CancellationToken.None).ConfigureAwait(false);
        if (cursor is null)
        {
            Refuse(ErrorCode.NotAMember, "you are not in this room", requestId);
            return;
        }

        Reply(requestId, new Frame { AckOk = new AckOk { Room = room, ReadSeq = cursor.Value } });
    }

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private static RoomInfo ToInfo(RoomSummary summary) => new()
    {
        Name = summary.Name,
        Kind = summary.Kind == StoreRoomKind.Mls ? WireRoomKind.Mls : WireRoomKind.Psk,
        LastSeq = summary.LastSeq,
        ReadSeq = summary.ReadSeq,
        GroupId = summary.Kind == StoreRoomKind.Mls ? ByteString.CopyFrom(summary.GroupId.Span) : ByteString.Empty,
        Epoch = summary.Epoch,
        Admin = summary.Admin,
        AdminsOnlyMembership = summary.AdminsOnlyMembership,
    };
}
