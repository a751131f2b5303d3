using System.Net.Sockets;

namespace CipherChat.Server.Transport;

/// <summary>
/// The connection's socket as a <see cref="System.IO.Stream"/>, for TLS and for the input pipe:
/// reads are asynchronous receives, writes go through <see cref="SocketTransport.WriteToSocket"/>
/// and never wait. Socket failures surface as <see cref="IOException"/>, as from any stream.
/// </summary>
internal sealed class SocketStream(SocketTransport transport) : Stream
{
    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await transport.Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException("Receiving from the client failed: " + ex.SocketErrorCode, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("The connection is closed.", ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The connection is read asynchronously.");

    public override void Write(byte[] buffer, int offset, int count) => transport.WriteToSocket(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => transport.WriteToSocket(buffer);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        transport.WriteToSocket(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        transport.WriteToSocket(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
        // Writes are already handed to the socket.
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
