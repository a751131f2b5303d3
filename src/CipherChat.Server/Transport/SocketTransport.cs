using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using CipherChat.Server.Connections;

namespace CipherChat.Server.Transport;

/// <summary>
/// One accepted TCP connection, with or without TLS, as an <see cref="IChatTransport"/>.
/// </summary>
/// <remarks>
/// Output: frames wait in a small bounded queue until the connection's sender thread (see
/// <see cref="SendScheduler"/>) copies everything queued into one buffer and writes it with a
/// non-blocking send, through TLS when it is on. Only what the kernel does not take at once is
/// kept and written asynchronously; until that is done the queue fills, and a full queue is the
/// slow-consumer signal. Input: a pipe over the socket (or TLS) stream that waits for data with
/// zero-byte reads, so an idle connection holds no receive buffer.
/// </remarks>
internal sealed class SocketTransport : IChatTransport, IDisposable
{
    private readonly Socket _socket;
    private readonly SendScheduler.Sender _sender;
    private readonly int _maxQueuedFrames;
    private readonly Lock _lock = new();
    private Queue<ReadOnlyMemory<byte>>? _frames;
    private Queue<ArraySegment<byte>>? _unsent;
    private SslStream? _tls;
    private PipeReader? _input;
    private TaskCompletionSource<bool>? _outputDone;
    private int _scheduled;
    private bool _draining;
    private bool _outputEnding;
    private bool _closed;

    public SocketTransport(Socket socket, SendScheduler.Sender sender, int maxQueuedFrames)
    {
        _socket = socket;
        _sender = sender;
        _maxQueuedFrames = maxQueuedFrames;
        Stream = new SocketStream(this);

        // Writes never block a sender thread: what the kernel cannot take now is kept and sent later.
        socket.Blocking = false;
    }

    /// <summary>The raw byte stream: TLS runs over it, or the input pipe reads it directly.</summary>
    public Stream Stream { get; }

    /// <summary>
    /// The input pipe, made on first use after the TLS handshake. The read loop and the timeout
    /// sweep (which wakes it) may both be first, so exactly one instance is published.
    /// </summary>
    public PipeReader Input => Volatile.Read(ref _input) ?? CreateInput();

    internal Socket Socket => _socket;

    private PipeReader CreateInput()
    {
        var reader = PipeReader.Create(
            (Stream?)_tls ?? Stream,
            new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        return Interlocked.CompareExchange(ref _input, reader, null) ?? reader;
    }

    /// <summary>From now on frames are written through <paramref name="tls"/> (after its handshake).</summary>
    public void UseTls(SslStream tls) => _tls = tls;

    public SendResult TrySend(ReadOnlyMemory<byte> encodedFrame)
    {
        lock (_lock)
        {
            if (_closed || _outputEnding)
            {
                return SendResult.Closed;
            }

            _frames ??= new Queue<ReadOnlyMemory<byte>>(4);
            if (_frames.Count >= _maxQueuedFrames)
            {
                return SendResult.Full;
            }

            _frames.Enqueue(encodedFrame);
        }

        ScheduleFlush();
        return SendResult.Queued;
    }

    public Task<bool> CompleteOutputAsync()
    {
        Task<bool> done;
        lock (_lock)
        {
            _outputEnding = true;
            _outputDone ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            done = _outputDone.Task;
            if (_closed)
            {
                _outputDone.TrySetResult(false);
                return done;
            }
        }

        ScheduleFlush();
        return done;
    }

    public void Abort()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _frames?.Clear();
            if (!_draining)
            {
                // While draining, an asynchronous send may still read these buffers: it returns them.
                ReturnUnsent();
            }

            _outputDone?.TrySetResult(false);
        }

        // Closing the socket fails the pending receive, which ends the connection's read loop.
        _socket.Dispose();
    }

    public void Dispose()
    {
        Abort();
        _tls?.Dispose();
    }

    /// <summary>
    /// Runs on this connection's sender thread only: writes what is queued, a scratch buffer at a
    /// time, for a few rounds, then lets the other ready connections go first.
    /// </summary>
    internal void FlushFromSender(byte[] scratch)
    {
        Volatile.Write(ref _scheduled, 0);
        for (var round = 0; round < 4; round++)
        {
            var length = 0;
            ReadOnlyMemory<byte> large = default;
            lock (_lock)
            {
                if (_closed || _draining)
                {
                    // Closed: nothing to do. Draining: the asynchronous send schedules this again.
                    return;
                }

                if (_frames is null || _frames.Count == 0)
                {
                    if (_outputEnding)
                    {
                        EndOutputLocked();
                    }

                    return;
                }

                while (_frames.TryPeek(out var frame))
                {
                    if (length + frame.Length > scratch.Length)
                    {
                        if (length == 0)
                        {
                            large = _frames.Dequeue();
                        }

                        break;
                    }

                    frame.Span.CopyTo(scratch.AsSpan(length));
                    length += frame.Length;
                    _frames.Dequeue();
                }
            }

            var data = length > 0 ? new ReadOnlyMemory<byte>(scratch, 0, length) : large;
            if (!Write(data))
            {
                return;
            }
        }

        ScheduleFlush();
    }

    /// <summary>
    /// Sends <paramref name="data"/> now as far as the kernel takes it; keeps the rest and sends it
    /// asynchronously. Used for plain frames and for every byte TLS produces (handshake included).
    /// </summary>
    internal void WriteToSocket(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (_closed)
            {
                throw new IOException("The connection is closed.");
            }

            if (_draining)
            {
                KeepUnsent(data);
                return;
            }

            var sent = 0;
            while (sent < data.Length)
            {
                var n = _socket.Send(data[sent..], SocketFlags.None, out var error);
                if (error == SocketError.Success)
                {
                    sent += n;
                }
                else if (error == SocketError.WouldBlock)
                {
                    break;
                }
                else if (error != SocketError.Interrupted)
                {
                    throw new IOException("Sending to the client failed: " + error, new SocketException((int)error));
                }
            }

            if (sent == data.Length)
            {
                return;
            }

            KeepUnsent(data[sent..]);
            _draining = true;
        }

        _ = DrainAsync();
    }

    private bool Write(ReadOnlyMemory<byte> data)
    {
        try
        {
            if (_tls is null)
            {
                WriteToSocket(data.Span);
            }
            else if (MemoryMarshal.TryGetArray(data, out var segment))
            {
                // One TLS record per 16 KiB of coalesced frames, written through WriteToSocket.
                _tls.Write(segment.Array!, segment.Offset, segment.Count);
            }
            else
            {
                _tls.Write(data.Span);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            Abort();
            return false;
        }
    }

    private async Task DrainAsync()
    {
        try
        {
            while (true)
            {
                ArraySegment<byte> head;
                lock (_lock)
                {
                    if (_closed)
                    {
                        break;
                    }

                    if (!_unsent!.TryPeek(out head))
                    {
                        _draining = false;
                        break;
                    }
                }

                for (var sent = 0; sent < head.Count;)
                {
                    sent += await _socket.SendAsync(head.AsMemory(sent), SocketFlags.None).ConfigureAwait(false);
                }

                lock (_lock)
                {
                    if (_closed)
                    {
                        break;
                    }

                    ArrayPool<byte>.Shared.Return(_unsent.Dequeue().Array!);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Abort();
        }

        lock (_lock)
        {
            if (_closed)
            {
                // Only now, with no send left that reads them, may the buffers go back to the pool.
                _draining = false;
                ReturnUnsent();
                return;
            }
        }

        // Frames queued meanwhile (or the end of output) are the sender's again.
        ScheduleFlush();
    }

    private void KeepUnsent(ReadOnlySpan<byte> data)
    {
        var copy = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(copy);
        _unsent ??= new Queue<ArraySegment<byte>>(2);
        _unsent.Enqueue(new ArraySegment<byte>(copy, 0, data.Length));
    }

    private void ReturnUnsent()
    {
        if (_unsent is null)
        {
            return;
        }

        while (_unsent.TryDequeue(out var segment))
        {
            ArrayPool<byte>.Shared.Return(segment.Array!);
        }
    }

    private void EndOutputLocked()
    {
        if (_outputDone is null || _outputDone.Task.IsCompleted)
        {
            return;
        }

        try
        {
            // The peer reads the end of the stream after the last frame.
            _socket.Shutdown(SocketShutdown.Send);
            _outputDone.TrySetResult(true);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _outputDone.TrySetResult(false);
        }
    }

    private void ScheduleFlush()
    {
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            _sender.Schedule(this);
        }
    }
}
