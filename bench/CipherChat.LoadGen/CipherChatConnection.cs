using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using Google.Protobuf;
using NSec.Cryptography;

namespace CipherChat.LoadGen;

/// <summary>How a CipherChat connection gets its user logged in and into the room.</summary>
public enum CipherChatSetup
{
    /// <summary>Register the account and join the room (a fresh server).</summary>
    RegisterAndJoin,

    /// <summary>Log in to an account that is already a member (membership belongs to the user).</summary>
    Login,
}

/// <summary>
/// A CipherChat client for the benchmark: handshake, register or log in, join a PSK room, then send
/// pipelined <c>Send</c>s (not waiting for <c>SendOk</c>) and time the <c>MessageEvent</c>s it receives.
/// The 16-byte client message id carries the send time (8 bytes), the sender (4) and a counter (4).
/// </summary>
public sealed class CipherChatConnection : BenchConnection
{
    private const int FrameFieldRequestId = 1;
    private const int FrameFieldSendOk = 41;
    private const int FrameFieldMessageEvent = 42;
    private const int EventFieldClientMessageId = 5;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly BenchUser _user;
    private readonly object _waitLock = new();
    private ulong _nextRequestId;
    private ulong _waitingFor;
    private TaskCompletionSource<Frame>? _waiter;
    private int _maxFrameBytes = ProtocolLimits.DefaultMaxFrameBytes;

    private CipherChatConnection(Socket socket, Stream stream, int receiveBufferBytes, DeliveryRecorder recorder, BenchUser user)
        : base(socket, stream, receiveBufferBytes, recorder)
    {
        _user = user;
    }

    public static async Task<CipherChatConnection> ConnectAsync(
        TargetOptions target, BenchUser user, CipherChatSetup setup, DeliveryRecorder recorder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(user);
        var (socket, stream) = await OpenAsync(target.Endpoint, target.LocalAddressFor(user.Index), target.Tls, target.Fingerprint, cancellationToken).ConfigureAwait(false);
        var connection = new CipherChatConnection(socket, stream, target.ReceiveBufferBytes, recorder, user);
        connection.Start();
        try
        {
            await connection.HandshakeAsync(setup, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task HandshakeAsync(CipherChatSetup setup, CancellationToken cancellationToken)
    {
        var hello = await RequestAsync(new Frame { Hello = new Hello { ProtocolVersion = ProtocolLimits.ProtocolVersion, ClientName = "cipherchat-loadgen" } }, Frame.BodyOneofCase.HelloOk, cancellationToken).ConfigureAwait(false);
        _maxFrameBytes = (int)Math.Min(hello.HelloOk.MaxFrameBytes, ProtocolLimits.MaxMaxFrameBytes);
        var challenge = hello.HelloOk.Challenge.Span;
        var algorithm = SignatureAlgorithm.Ed25519;
        Frame auth;
        if (setup == CipherChatSetup.RegisterAndJoin)
        {
            var publicKey = _user.DeviceKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
            var signature = algorithm.Sign(_user.DeviceKey, AuthTranscript.ForRegister(challenge, _user.Name, publicKey));
            auth = new Frame
            {
                Register = new Register
                {
                    Username = _user.Name,
                    Ed25519PublicKey = ByteString.CopyFrom(publicKey),
                    Signature = ByteString.CopyFrom(signature),
                },
            };
        }
        else
        {
            var signature = algorithm.Sign(_user.DeviceKey, AuthTranscript.ForLogin(challenge, _user.Name));
            auth = new Frame { Login = new Login { Username = _user.Name, Signature = ByteString.CopyFrom(signature) } };
        }

        await RequestAsync(auth, Frame.BodyOneofCase.LoginOk, cancellationToken).ConfigureAwait(false);
        if (setup == CipherChatSetup.RegisterAndJoin)
        {
            var join = new Frame { JoinRoom = new JoinRoom { Room = _user.Room.Name, Kind = RoomKind.Psk, KeyCheck = _user.Room.KeyCheck } };
            await RequestAsync(join, Frame.BodyOneofCase.JoinRoomOk, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a request and waits for its reply (setup only: one request in flight at a time).</summary>
    private async Task<Frame> RequestAsync(Frame request, Frame.BodyOneofCase expected, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitLock)
        {
            request.RequestId = ++_nextRequestId;
            _waitingFor = request.RequestId;
            _waiter = waiter;
        }

        Write(request, static (writer, frame) => FrameCodec.Write(writer, frame));
        if (IsClosed)
        {
            throw new IOException($"connection closed: {CloseReason}");
        }

        var reply = await waiter.Task.WaitAsync(RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (reply.BodyCase != expected)
        {
            var detail = reply.BodyCase == Frame.BodyOneofCase.Error ? $"{reply.Error.Code}: {reply.Error.Message}" : reply.BodyCase.ToString();
            throw new IOException($"{request.BodyCase} for '{_user.Name}' was answered with {detail}");
        }

        return reply;
    }

    public override long SendMessage(long counter)
    {
        if (IsClosed)
        {
            return 0;
        }

        var room = _user.Room;
        var id = new byte[ProtocolLimits.ClientMessageIdBytes];
        var stamp = Stopwatch.GetTimestamp();
        BinaryPrimitives.WriteInt64BigEndian(id, stamp);
        BinaryPrimitives.WriteInt32BigEndian(id.AsSpan(8), _user.Index);
        BinaryPrimitives.WriteInt32BigEndian(id.AsSpan(12), (int)counter);
        var frame = new Frame
        {
            RequestId = Interlocked.Increment(ref _nextRequestId),
            Send = new Send
            {
                Room = room.Name,
                ClientMessageId = UnsafeByteOperations.UnsafeWrap(id),
                Payload = room.TokenStrings[(int)(counter % room.TokenStrings.Count)],
            },
        };
        Write((frame, _maxFrameBytes), static (writer, s) => FrameCodec.Write(writer, s.frame, s.Item2));
        return stamp;
    }

    public override void KeepAlive() =>
        Write(new Frame { RequestId = Interlocked.Increment(ref _nextRequestId), Ping = new Ping() }, static (writer, frame) => FrameCodec.Write(writer, frame));

    protected override int Parse(ReadOnlySpan<byte> data, long receivedStamp)
    {
        var position = 0;
        while (data.Length - position >= ProtocolLimits.LengthPrefixBytes)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(data[position..]);
            if (length > (uint)_maxFrameBytes)
            {
                Close("the server sent a frame over the limit");
                return data.Length;
            }

            if (data.Length - position - ProtocolLimits.LengthPrefixBytes < length)
            {
                break;
            }

            var body = data.Slice(position + ProtocolLimits.LengthPrefixBytes, (int)length);
            position += ProtocolLimits.LengthPrefixBytes + (int)length;
            if (!TryHandleHot(body, receivedStamp))
            {
                HandleControl(body);
            }
        }

        return position;
    }

    /// <summary>
    /// The two frames that arrive by the million (MessageEvent, SendOk) are recognised by scanning the
    /// protobuf fields instead of building objects. Returns false for any other frame.
    /// </summary>
    private bool TryHandleHot(ReadOnlySpan<byte> body, long receivedStamp)
    {
        var i = 0;
        while (i < body.Length)
        {
            if (!TryReadVarint(body, ref i, out var tag))
            {
                return false;
            }

            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(body, ref i, out _) || field != FrameFieldRequestId)
                    {
                        return false;
                    }

                    break;
                case 2:
                    if (!TryReadVarint(body, ref i, out var length) || length > (ulong)(body.Length - i))
                    {
                        return false;
                    }

                    var inner = body.Slice(i, (int)length);
                    i += (int)length;
                    if (field == FrameFieldMessageEvent)
                    {
                        return TryHandleEvent(inner, receivedStamp);
                    }

                    if (field == FrameFieldSendOk)
                    {
                        Recorder.OnAcked();
                        return true;
                    }

                    return false;
                default:
                    return false;
            }
        }

        return false;
    }

    private bool TryHandleEvent(ReadOnlySpan<byte> body, long receivedStamp)
    {
        var i = 0;
        while (i < body.Length)
        {
            if (!TryReadVarint(body, ref i, out var tag))
            {
                return false;
            }

            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(body, ref i, out _))
                    {
                        return false;
                    }

                    break;
                case 2:
                    if (!TryReadVarint(body, ref i, out var length) || length > (ulong)(body.Length - i))
                    {
                        return false;
                    }

                    if ((int)(tag >> 3) == EventFieldClientMessageId && length == ProtocolLimits.ClientMessageIdBytes)
                    {
                        Recorder.OnDelivered(BinaryPrimitives.ReadInt64BigEndian(body[i..]), receivedStamp);
                        return true;
                    }

                    i += (int)length;
                    break;
                default:
                    return false;
            }
        }

        return false;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                return false;
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private void HandleControl(ReadOnlySpan<byte> body)
    {
        Frame frame;
        try
        {
            frame = Frame.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            Close("the server sent a malformed frame");
            return;
        }

        TaskCompletionSource<Frame>? waiter = null;
        lock (_waitLock)
        {
            if (_waiter is not null && frame.RequestId == _waitingFor)
            {
                waiter = _waiter;
                _waiter = null;
            }
        }

        if (waiter is not null)
        {
            waiter.TrySetResult(frame);
            return;
        }

        if (frame.BodyCase == Frame.BodyOneofCase.Error)
        {
            Recorder.OnError(frame.Error.Code == ErrorCode.RateLimited);
            if (frame.RequestId == 0)
            {
                Close($"server error {frame.Error.Code}: {frame.Error.Message}");
            }
        }
    }

    protected override void OnClosed(string reason)
    {
        TaskCompletionSource<Frame>? waiter;
        lock (_waitLock)
        {
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetException(new IOException($"connection closed: {reason}"));
    }
}
