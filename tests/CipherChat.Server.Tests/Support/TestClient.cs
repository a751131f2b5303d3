using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;
using Google.Protobuf;
using NSec.Cryptography;

namespace CipherChat.Server.Tests.Support;

/// <summary>
/// A minimal protocol client over a real socket, for driving the server in tests: it can also send
/// raw bytes, stop reading, and observe the server closing the connection.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private ulong _nextRequestId;
    private bool _ownsKey;

    private TestClient(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
    }

    /// <summary>Events (request id 0) received while waiting for replies.</summary>
    public Queue<Frame> Events { get; } = new();

    public Key? Key { get; private set; }

    public string? Username { get; private set; }

    public byte[] Challenge { get; private set; } = [];

    /// <summary>The server certificate's fingerprint seen in the TLS handshake.</summary>
    public string? ServerFingerprint { get; private set; }

    public static async Task<TestClient> ConnectAsync(IPEndPoint endpoint, int? receiveBufferBytes = null, bool tls = false)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBufferBytes is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(endpoint, TestContext.Current.CancellationToken);
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        string? fingerprint = null;
        if (tls)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, certificate, _, _) =>
            {
                // Pinning, not chain validation: record what the server presented.
                fingerprint = certificate is null ? null : CertificateFingerprint.Compute(certificate.GetRawCertData());
                return certificate is not null;
            });
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "cipherchat" }, TestContext.Current.CancellationToken);
            stream = ssl;
        }

        return new TestClient(socket, stream) { ServerFingerprint = fingerprint };
    }

    /// <summary>Connects, says Hello and registers a new account with a fresh key.</summary>
    public static async Task<TestClient> RegisteredAsync(IPEndPoint endpoint, string username, string? invite = null, bool tls = false, int? receiveBufferBytes = null)
    {
        var client = await ConnectAsync(endpoint, receiveBufferBytes, tls);
        await client.HelloAsync();
        var reply = await client.RegisterAsync(username, invite);
        Assert.True(reply.BodyCase == Frame.BodyOneofCase.LoginOk, $"register failed: {reply}");
        return client;
    }

    /// <summary>Connects, says Hello and logs in with an existing key.</summary>
    public static async Task<TestClient> LoggedInAsync(IPEndPoint endpoint, string username, Key key)
    {
        var client = await ConnectAsync(endpoint);
        await client.HelloAsync();
        var reply = await client.LoginAsync(username, key);
        Assert.True(reply.BodyCase == Frame.BodyOneofCase.LoginOk, $"login failed: {reply}");
        return client;
    }

    public static Key NewKey() => Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    public async Task<HelloOk> HelloAsync(uint version = ProtocolLimits.ProtocolVersion)
    {
        var reply = await RequestAsync(new Frame { Hello = new Hello { ProtocolVersion = version, ClientName = "test" } });
        Assert.Equal(Frame.BodyOneofCase.HelloOk, reply.BodyCase);
        Challenge = reply.HelloOk.Challenge.ToByteArray();
        return reply.HelloOk;
    }

    public async Task<Frame> RegisterAsync(string username, string? invite = null, Key? key = null)
    {
        var owned = key is null;
        key ??= NewKey();
        var publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var signature = SignatureAlgorithm.Ed25519.Sign(key, AuthTranscript.ForRegister(Challenge, username, publicKey));
        var reply = await RequestAsync(new Frame
        {
            Register = new Register
            {
                Username = username,
                Ed25519PublicKey = ByteString.CopyFrom(publicKey),
                InviteCode = invite ?? string.Empty,
                Signature = ByteString.CopyFrom(signature),
            },
        });
        if (reply.BodyCase == Frame.BodyOneofCase.LoginOk)
        {
            Key = key;
            _ownsKey = owned;
            Username = reply.LoginOk.Username;
        }
        else if (owned)
        {
            key.Dispose();
        }

        return reply;
    }

    public async Task<Frame> LoginAsync(string username, Key key)
    {
        var signature = SignatureAlgorithm.Ed25519.Sign(key, AuthTranscript.ForLogin(Challenge, username));
        var reply = await RequestAsync(new Frame { Login = new Login { Username = username, Signature = ByteString.CopyFrom(signature) } });
        if (reply.BodyCase == Frame.BodyOneofCase.LoginOk)
        {
            Key = key;
            Username = reply.LoginOk.Username;
        }

        return reply;
    }

    public Task<Frame> JoinAsync(string room, byte[]? keyCheck = null) =>
        RequestAsync(new Frame { JoinRoom = new JoinRoom { Room = room, Kind = RoomKind.Psk, KeyCheck = ByteString.CopyFrom(keyCheck ?? KeyCheck(1)) } });

    public static byte[] KeyCheck(byte seed) => Enumerable.Repeat(seed, 32).ToArray();

    public Task<Frame> SendMessageAsync(string room, byte[] payload, byte[]? clientMessageId = null) =>
        RequestAsync(new Frame
        {
            Send = new Send
            {
                Room = room,
                ClientMessageId = ByteString.CopyFrom(clientMessageId ?? Guid.NewGuid().ToByteArray()),
                Payload = ByteString.CopyFrom(payload),
            },
        });

    public Task<Frame> FetchAsync(string room, ulong afterSeq, uint limit = 0) =>
        RequestAsync(new Frame { Fetch = new Fetch { Room = room, AfterSeq = afterSeq, Limit = limit } });

    /// <summary>Sends a request and returns its reply; events that arrive first go to <see cref="Events"/>.</summary>
    public async Task<Frame> RequestAsync(Frame request)
    {
        var id = await SendAsync(request);
        while (true)
        {
            var frame = await ReadAsync() ?? throw new InvalidOperationException("the server closed the connection");
            if (frame.RequestId == id)
            {
                return frame;
            }

            Assert.Equal(0UL, frame.RequestId);
            Events.Enqueue(frame);
        }
    }

    /// <summary>Sends a request without waiting; returns its request id.</summary>
    public async Task<ulong> SendAsync(Frame request)
    {
        request.RequestId = ++_nextRequestId;
        await SendRawAsync(FrameCodec.Encode(request, ProtocolLimits.MaxMaxFrameBytes));
        return request.RequestId;
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes, TestContext.Current.CancellationToken);
        await _stream.FlushAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Closes the sending direction (the server sees end of stream).</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>The next frame, or null when the server closed the connection.</summary>
    public async Task<Frame?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            return await FramePipe.ReadFrameAsync(_reader, ProtocolLimits.MaxMaxFrameBytes, cts.Token);
        }
        catch (IOException)
        {
            return null; // reset by the server
        }
    }

    /// <summary>The next pushed event (from the queue first).</summary>
    public async Task<Frame> NextEventAsync()
    {
        if (Events.TryDequeue(out var queued))
        {
            return queued;
        }

        var frame = await ReadAsync() ?? throw new InvalidOperationException("the server closed the connection");
        Assert.Equal(0UL, frame.RequestId);
        return frame;
    }

    /// <summary>Reads the error the server sends before closing, then checks that it did close.</summary>
    public async Task<Error> ExpectErrorAndCloseAsync()
    {
        var frame = await ReadAsync();
        Assert.NotNull(frame);
        Assert.Equal(Frame.BodyOneofCase.Error, frame.BodyCase);
        Assert.True(await IsClosedAsync(), "the server should close the connection after this error");
        return frame.Error;
    }

    /// <summary>Reads (and drops) frames until the server closes the connection; false when it stays open.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? timeout = null)
    {
        try
        {
            while (await ReadAsync(timeout ?? DefaultTimeout) is not null)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (ProtocolException)
        {
            return true; // ended inside a frame: the server cut the connection
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        await _stream.DisposeAsync();
        _socket.Dispose();
        if (_ownsKey)
        {
            Key?.Dispose();
        }
    }
}
