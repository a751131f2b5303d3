using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using CipherChat.Client.Storage;
using CipherChat.Protocol;
using CipherChat.Protocol.V1;

namespace CipherChat.Client.Net;

/// <summary>How a connection treats the server's pinned identity.</summary>
public enum PinPolicy
{
    /// <summary>Pin on first use, refuse a changed identity.</summary>
    Verify,

    /// <summary>Pin whatever the server presents now, replacing an old pin (the user chose to trust it).</summary>
    Replace,
}

/// <summary>
/// One connection to a server: TCP, TLS with a pinned certificate (or plain TCP), the version
/// handshake, requests matched to replies by request id, server-pushed message events and keep-alive
/// pings. Logging in is the caller's next step (<see cref="RequestAsync"/> with Register or Login).
/// </summary>
public sealed class ServerConnection : IAsyncDisposable
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<Frame>> _pending = new();
    private readonly Channel<MessageEvent> _events = Channel.CreateUnbounded<MessageEvent>(new UnboundedChannelOptions { SingleReader = true });

    // Bounded: a reader that never looks at notices (a one-shot command) must not let them pile up.
    private readonly Channel<Frame> _notices = Channel.CreateBounded<Frame>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TimeProvider _time;
    private ulong _nextRequestId;
    private int _maxIncomingFrameBytes = ProtocolLimits.DefaultMaxFrameBytes;
    private int _maxOutgoingFrameBytes = ProtocolLimits.DefaultMaxFrameBytes;
    private Task _readLoop = Task.CompletedTask;
    private Task _pingLoop = Task.CompletedTask;
    private volatile ChatClientException? _closeReason;
    private int _disposed;

    private ServerConnection(ServerAddress server, TcpClient tcp, Stream stream, string identity, bool pinnedNow, TimeProvider time)
    {
        Server = server;
        _tcp = tcp;
        _stream = stream;
        Identity = identity;
        PinnedNow = pinnedNow;
        _time = time;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public ServerAddress Server { get; }

    /// <summary>The server's identity: its certificate fingerprint, or "plaintext".</summary>
    public string Identity { get; }

    /// <summary>Whether this connection pinned the server's identity (first use or an explicit trust).</summary>
    public bool PinnedNow { get; }

    /// <summary>The server's handshake reply.</summary>
    public HelloOk Hello { get; private set; } = new();

    /// <summary>Messages the server pushes; completes (with the reason as exception) when the connection ends.</summary>
    public ChannelReader<MessageEvent> Events => _events.Reader;

    /// <summary>
    /// Other events the server pushes (MLS rooms: KeyPackagesLow, WelcomeEvent, CommitRequested); the oldest are
    /// dropped when nobody reads them. Completes when the connection ends.
    /// </summary>
    public ChannelReader<Frame> Notices => _notices.Reader;

    /// <summary>Completes when the connection has ended.</summary>
    public Task Completion => _readLoop;

    public bool IsOpen => _closeReason is null && _disposed == 0;

    /// <summary>Connects, sets up TLS and checks the pin, then exchanges Hello.</summary>
    public static async Task<ServerConnection> OpenAsync(
        ServerAddress server,
        bool tls,
        ClientStore pins,
        string clientName,
        TimeProvider? time = null,
        PinPolicy pinPolicy = PinPolicy.Verify,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(pins);
        time ??= TimeProvider.System;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);

        var tcp = new TcpClient();
        Stream? stream = null;
        try
        {
            try
            {
                await tcp.ConnectAsync(server.Host, server.Port, timeout.Token).ConfigureAwait(false);
                tcp.NoDelay = true;
            }
            catch (SocketException ex)
            {
                throw new ConnectionFailedException(DescribeSocketError(server, ex), ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ConnectionFailedException($"cannot connect to {server}: no answer within {ConnectTimeout.TotalSeconds:0} seconds", ex);
            }

            string identity;
            if (tls)
            {
                X509Certificate2? seen = null;
                var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
                stream = ssl;
                var options = new SslClientAuthenticationOptions
                {
                    TargetHost = server.Host,
                    CertificateChainPolicy = PinnedOnlyChainPolicy(),
                    // No chain or host-name check: the certificate is pinned by its fingerprint instead.
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    {
                        if (certificate is null)
                        {
                            return false;
                        }

                        seen = new X509Certificate2(certificate);
                        return true;
                    },
                };
                try
                {
                    await ssl.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw new ConnectionFailedException(
                        $"TLS handshake with {server} failed: if that server runs with --tls off, register with --tls off", ex);
                }

                using (seen)
                {
                    identity = seen is null ? ServerPins.Plaintext : ServerPins.Fingerprint(seen);
                }
            }
            else
            {
                stream = tcp.GetStream();
                identity = ServerPins.Plaintext;
            }

            // A changed identity is refused before a single byte is sent; a new one is pinned only once
            // the server has answered the handshake, so a mistake (wrong port, wrong --tls) pins nothing.
            var firstUse = pinPolicy == PinPolicy.Replace || ServerPins.Check(pins, server, identity);
            var connection = new ServerConnection(server, tcp, stream, identity, firstUse, time);
            try
            {
                connection.Start();
                var reply = await connection.RequestAsync(
                    new Frame { Hello = new Hello { ProtocolVersion = ProtocolLimits.ProtocolVersion, ClientName = clientName } },
                    timeout.Token).ConfigureAwait(false);
                if (reply.BodyCase != Frame.BodyOneofCase.HelloOk)
                {
                    throw new ConnectionFailedException($"{server} did not answer the handshake as a CipherChat server");
                }

                connection.Hello = reply.HelloOk;
                if (pinPolicy == PinPolicy.Replace)
                {
                    pins.ReplacePin(server.ToString(), identity, time.GetUtcNow());
                }
                else if (firstUse)
                {
                    ServerPins.Pin(pins, server, identity, time.GetUtcNow());
                }

                connection._maxIncomingFrameBytes = Math.Clamp((int)Math.Min(reply.HelloOk.MaxFrameBytes, int.MaxValue), ProtocolLimits.DefaultMaxFrameBytes, ProtocolLimits.MaxMaxFrameBytes);
                connection._maxOutgoingFrameBytes = Math.Clamp((int)Math.Min(reply.HelloOk.MaxFrameBytes, int.MaxValue), ProtocolLimits.MinMaxFrameBytes, ProtocolLimits.MaxMaxFrameBytes);
                connection.StartKeepAlive();
                return connection;
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw new ConnectionFailedException($"{server} did not finish the handshake in time", ex);
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            tcp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> with a fresh request id and returns the matching reply.
    /// An Error reply becomes <see cref="ServerErrorException"/>; a broken connection <see cref="ConnectionFailedException"/>.
    /// </summary>
    public async Task<Frame> RequestAsync(Frame request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfClosed();
        var id = Interlocked.Increment(ref _nextRequestId);
        request.RequestId = id;
        var pending = new TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = pending;
        try
        {
            await WriteAsync(request, cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            Frame reply;
            try
            {
                reply = await pending.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                Abort(new ConnectionFailedException($"{Server} did not answer within {RequestTimeout.TotalSeconds:0} seconds", ex));
                throw _closeReason!;
            }

            if (reply.BodyCase == Frame.BodyOneofCase.Error)
            {
                throw new ServerErrorException(reply.Error.Code, reply.Error.Message) { CurrentEpoch = reply.Error.CurrentEpoch };
            }

            return reply;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task WriteAsync(Frame frame, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            await FramePipe.WriteFrameAsync(_writer, frame, _maxOutgoingFrameBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (ProtocolException ex)
        {
            throw new ChatClientException("the request is too large for this server", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Abort(new ConnectionFailedException($"the connection to {Server} was lost", ex));
            throw _closeReason!;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
    }

    private void StartKeepAlive()
    {
        var idle = Hello.IdleTimeoutSeconds == 0 ? 90u : Hello.IdleTimeoutSeconds;
        var interval = TimeSpan.FromSeconds(Math.Clamp(idle / 3.0, 1, 30));
        _pingLoop = Task.Run(() => PingLoopAsync(interval));
    }

    private async Task PingLoopAsync(TimeSpan interval)
    {
        try
        {
            while (!_shutdown.IsCancellationRequested && IsOpen)
            {
                await Task.Delay(interval, _time, _shutdown.Token).ConfigureAwait(false);
                var reply = await RequestAsync(new Frame { Ping = new Ping() }, _shutdown.Token).ConfigureAwait(false);
                if (reply.BodyCase != Frame.BodyOneofCase.Pong)
                {
                    Abort(new ConnectionFailedException($"{Server} answered a ping with something else"));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChatClientException)
        {
            // The connection is closed; its reason is already recorded.
        }
    }

    private async Task ReadLoopAsync()
    {
        ChatClientException reason;
        try
        {
            while (true)
            {
                Frame? frame;
                try
                {
                    frame = await FramePipe.ReadFrameAsync(_reader, _maxIncomingFrameBytes, _shutdown.Token).ConfigureAwait(false);
                }
                catch (ProtocolException ex) when (ex.Code == ErrorCode.UnknownMessage)
                {
                    // A frame from a newer server version: already consumed, keep reading.
                    continue;
                }

                if (frame is null)
                {
                    reason = _closeReason ?? new ConnectionFailedException(
                        Hello.ProtocolVersion == 0
                            ? $"{Server} closed the connection during the handshake: if it runs with TLS, do not use --tls off"
                            : $"{Server} closed the connection");
                    break;
                }

                Dispatch(frame);
            }
        }
        catch (OperationCanceledException ex)
        {
            reason = _closeReason ?? new ConnectionFailedException("the connection was closed", ex);
        }
        catch (ProtocolException ex)
        {
            reason = new ConnectionFailedException($"{Server} sent an invalid frame ({ex.Message})", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            reason = _closeReason ?? new ConnectionFailedException($"the connection to {Server} was lost", ex);
        }

        Abort(reason);
    }

    private void Dispatch(Frame frame)
    {
        if (frame.RequestId != 0)
        {
            if (_pending.TryGetValue(frame.RequestId, out var pending))
            {
                pending.TrySetResult(frame);
            }

            return;
        }

        switch (frame.BodyCase)
        {
            case Frame.BodyOneofCase.MessageEvent:
                _events.Writer.TryWrite(frame.MessageEvent);
                break;
            case Frame.BodyOneofCase.KeyPackagesLow:
            case Frame.BodyOneofCase.WelcomeEvent:
            case Frame.BodyOneofCase.CommitRequested:
                _notices.Writer.TryWrite(frame);
                break;
            case Frame.BodyOneofCase.Error:
                // A final error before the server closes (timeout, shutting down, slow consumer...).
                _closeReason ??= new ServerErrorException(frame.Error.Code, frame.Error.Message);
                break;
            default:
                // Nothing else is pushed by version 1 servers; ignore what a newer one might send.
                break;
        }
    }

    private void Abort(ChatClientException reason)
    {
        _closeReason ??= reason;
        var final = _closeReason;
        foreach (var entry in _pending)
        {
            entry.Value.TrySetException(final);
        }

        _events.Writer.TryComplete(final);
        _notices.Writer.TryComplete(final);
        try
        {
            _shutdown.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        try
        {
            _tcp.Client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private void ThrowIfClosed()
    {
        if (_closeReason is { } reason)
        {
            throw reason;
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Abort(new ConnectionFailedException("the connection was closed"));
        try
        {
            await _readLoop.ConfigureAwait(false);
            await _pingLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChatClientException)
        {
        }

        await _reader.CompleteAsync().ConfigureAwait(false);
        await _writer.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _tcp.Dispose();
        _shutdown.Dispose();
        _writeLock.Dispose();
    }

    /// <summary>
    /// The policy of the X.509 chain that <see cref="SslStream"/> builds before the validation callback runs. The
    /// callback ignores that chain (the server is trusted by its pinned fingerprint alone), so building it must cost
    /// nothing more than it has to: no system roots, no revocation lookups, and above all no downloads of missing
    /// issuers (a chain that cannot be completed locally would otherwise fetch them from the URLs in the
    /// certificate: network traffic and seconds of waiting, for nothing).
    /// </summary>
    internal static X509ChainPolicy PinnedOnlyChainPolicy() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    private static string DescribeSocketError(ServerAddress server, SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => $"cannot connect to {server}: connection refused — is the server running?",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"cannot connect to {server}: unknown host '{server.Host}'",
        SocketError.TimedOut => $"cannot connect to {server}: timed out",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => $"cannot connect to {server}: network unreachable",
        _ => $"cannot connect to {server}: {ex.SocketErrorCode}",
    };
}
