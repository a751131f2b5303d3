using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace CipherChat.LoadGen;

/// <summary>
/// One client connection of the generator: a socket (optionally TLS), an outgoing pipe drained by a
/// pump task (so writes from the pacer never wait on the network and coalesce per connection), and a
/// receive loop that reads large chunks and hands whole protocol units to <see cref="Parse"/>.
/// </summary>
public abstract class BenchConnection : IAsyncDisposable
{
    private const int MaxReceiveBuffer = 4 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly Pipe _outgoing = new(new PipeOptions(
        pauseWriterThreshold: 0, // the pacer must never block; a backlog shows up as latency
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false));

    private readonly object _writeLock = new();
    private readonly Stream _stream;
    private byte[] _receiveBuffer;
    private Task _pump = Task.CompletedTask;
    private Task _receive = Task.CompletedTask;
    private int _closed;

    protected BenchConnection(Socket socket, Stream stream, int receiveBufferBytes, DeliveryRecorder recorder)
    {
        _socket = socket;
        _stream = stream;
        _receiveBuffer = new byte[receiveBufferBytes];
        Recorder = recorder;
    }

    public DeliveryRecorder Recorder { get; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public string? CloseReason { get; private set; }

    /// <summary>Opens a TCP connection (and TLS when asked) to <paramref name="endpoint"/>.</summary>
    public static async Task<(Socket Socket, Stream Stream)> OpenAsync(
        IPEndPoint endpoint, IPAddress? localAddress, bool tls, string? pinnedFingerprint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (localAddress is not null)
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }

            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                var options = new SslClientAuthenticationOptions
                {
                    TargetHost = "cipherchat",
                    EnabledSslProtocols = SslProtocols.None, // the system's choice: TLS 1.3 where available
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                        certificate is not null && MatchesPin(certificate.GetRawCertData(), pinnedFingerprint),
                };
                await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
                stream = ssl;
            }

            return (socket, stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The benchmark talks to a server it started on loopback: with no pin given, any certificate is
    /// accepted (as a first use would); with a pin, only the certificate whose SHA-256 matches.
    /// </summary>
    private static bool MatchesPin(byte[] der, string? pinnedFingerprint)
    {
        if (pinnedFingerprint is null)
        {
            return true;
        }

        var actual = Convert.ToHexString(SHA256.HashData(der));
        var expected = pinnedFingerprint.Replace(":", string.Empty, StringComparison.Ordinal);
        return string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Starts the receive loop and the send pump.</summary>
    protected void Start()
    {
        _receive = Task.Run(ReceiveLoopAsync);
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>
    /// Sends one benchmark message to the connection's room, stamped with the time it is written.
    /// Returns the stamp (Stopwatch ticks), or 0 when the connection is closed.
    /// </summary>
    public abstract long SendMessage(long counter);

    /// <summary>Keeps an idle connection alive where the protocol needs the client to speak.</summary>
    public virtual void KeepAlive()
    {
    }

    /// <summary>Appends bytes to the outgoing pipe under the write lock, then wakes the pump.</summary>
    protected void Write<TState>(TState state, Action<IBufferWriter<byte>, TState> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (IsClosed)
        {
            return;
        }

        lock (_writeLock)
        {
            write(_outgoing.Writer, state);
            var flush = _outgoing.Writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                // Cannot happen with pauseWriterThreshold 0; observe the task anyway.
                _ = flush.AsTask();
            }
        }
    }

    /// <summary>Appends raw bytes (text protocols).</summary>
    protected void Write(ReadOnlySpan<byte> bytes)
    {
        if (IsClosed)
        {
            return;
        }

        lock (_writeLock)
        {
            _outgoing.Writer.Write(bytes);
            var flush = _outgoing.Writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                _ = flush.AsTask();
            }
        }
    }

    /// <summary>
    /// Consumes complete units from <paramref name="data"/> and returns how many bytes were used.
    /// <paramref name="receivedStamp"/> is when this chunk arrived (Stopwatch ticks).
    /// </summary>
    protected abstract int Parse(ReadOnlySpan<byte> data, long receivedStamp);

    /// <summary>Called once when the connection ends, to fail whatever waits on it.</summary>
    protected abstract void OnClosed(string reason);

    protected void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        CloseReason = reason;
        OnClosed(reason);
        _outgoing.Writer.Complete();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }
        catch (ObjectDisposedException)
        {
            // Already gone.
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var start = 0;
        var end = 0;
        try
        {
            while (true)
            {
                if (end == _receiveBuffer.Length)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(_receiveBuffer, start, _receiveBuffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    else
                    {
                        if (_receiveBuffer.Length >= MaxReceiveBuffer)
                        {
                            Close("a unit from the server exceeds the receive buffer limit");
                            return;
                        }

                        Array.Resize(ref _receiveBuffer, _receiveBuffer.Length * 2);
                    }
                }

                var read = await _stream.ReadAsync(_receiveBuffer.AsMemory(end)).ConfigureAwait(false);
                if (read == 0)
                {
                    Close("closed by the server");
                    return;
                }

                end += read;
                var consumed = Parse(_receiveBuffer.AsSpan(start, end - start), Stopwatch.GetTimestamp());
                start += consumed;
                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidDataException or AuthenticationException)
        {
            Close(IsClosed ? "closed" : $"receive failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private async Task PumpAsync()
    {
        var reader = _outgoing.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await _stream.WriteAsync(segment).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Close($"send failed: {ex.GetType().Name}");
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close("closed by the generator");
        try
        {
            await Task.WhenAll(_pump, _receive).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A stuck peer; the socket is disposed below anyway.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        GC.SuppressFinalize(this);
    }
}
