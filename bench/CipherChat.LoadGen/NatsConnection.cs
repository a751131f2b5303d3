using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace CipherChat.LoadGen;

/// <summary>
/// A NATS client for the benchmark, over its plain text protocol: CONNECT (echo off, so a publisher
/// does not receive its own messages, as in IRC and CipherChat), SUB to the room's subject, PUB to it.
/// Answers the server's PING.
/// </summary>
public sealed class NatsConnection : BenchConnection
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    private readonly BenchUser _user;
    private readonly byte[] _pubPrefix;
    private readonly object _waitLock = new();
    private TaskCompletionSource<bool>? _waiter;

    private NatsConnection(Socket socket, Stream stream, int receiveBufferBytes, DeliveryRecorder recorder, BenchUser user)
        : base(socket, stream, receiveBufferBytes, recorder)
    {
        _user = user;
        _pubPrefix = Encoding.ASCII.GetBytes($"PUB {user.Room.Name} ");
    }

    public static async Task<NatsConnection> ConnectAsync(TargetOptions target, BenchUser user, DeliveryRecorder recorder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(user);
        var (socket, stream) = await OpenAsync(target.Endpoint, target.LocalAddressFor(user.Index), tls: false, null, cancellationToken).ConfigureAwait(false);
        var connection = new NatsConnection(socket, stream, target.ReceiveBufferBytes, recorder, user);
        connection.Start();
        try
        {
            var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (connection._waitLock)
            {
                connection._waiter = waiter;
            }

            // The PING's PONG proves that CONNECT and SUB were processed.
            var hello = $"CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":false,\"name\":\"{user.Name}\",\"lang\":\"dotnet\",\"version\":\"1\",\"protocol\":1}}\r\n"
                + $"SUB {user.Room.Name} 1\r\nPING\r\n";
            connection.Write(Encoding.ASCII.GetBytes(hello));
            await waiter.Task.WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override long SendMessage(long counter)
    {
        if (IsClosed)
        {
            return 0;
        }

        var token = _user.Room.Tokens[(int)(counter % _user.Room.Tokens.Count)];
        var stamp = Stopwatch.GetTimestamp();
        Write((this, token, stamp), static (writer, s) =>
        {
            var prefix = s.Item1._pubPrefix;
            var payloadLength = TextStamp.Length + s.token.Length;
            var span = writer.GetSpan(prefix.Length + 12 + payloadLength + 2);
            prefix.CopyTo(span);
            var at = prefix.Length;
            Utf8Formatter.TryFormat(payloadLength, span[at..], out var digits);
            at += digits;
            span[at++] = (byte)'\r';
            span[at++] = (byte)'\n';
            TextStamp.Write(span[at..], s.stamp);
            at += TextStamp.Length;
            s.token.CopyTo(span[at..]);
            at += s.token.Length;
            span[at++] = (byte)'\r';
            span[at++] = (byte)'\n';
            writer.Advance(at);
        });
        return stamp;
    }

    protected override int Parse(ReadOnlySpan<byte> data, long receivedStamp)
    {
        var position = 0;
        while (true)
        {
            var rest = data[position..];
            var newline = rest.IndexOf((byte)'\n');
            if (newline < 0)
            {
                return position;
            }

            var line = rest[..newline];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.StartsWith("MSG "u8))
            {
                // MSG <subject> <sid> [reply-to] <#bytes>
                var lastSpace = line.LastIndexOf((byte)' ');
                if (!Utf8Parser.TryParse(line[(lastSpace + 1)..], out int length, out _) || length < 0)
                {
                    Close("malformed MSG line");
                    return data.Length;
                }

                var needed = newline + 1 + length + 2;
                if (rest.Length < needed)
                {
                    return position; // wait for the whole payload
                }

                if (TextStamp.TryRead(rest.Slice(newline + 1, length), out var stamp))
                {
                    Recorder.OnDelivered(stamp, receivedStamp);
                }

                position += needed;
                continue;
            }

            position += newline + 1;
            if (line.SequenceEqual("PING"u8))
            {
                Write("PONG\r\n"u8);
            }
            else if (line.SequenceEqual("PONG"u8))
            {
                Complete(null);
            }
            else if (line.StartsWith("-ERR"u8))
            {
                var text = Encoding.ASCII.GetString(line);
                Recorder.OnError(rateLimited: false);
                Complete(text);
            }
        }
    }

    private void Complete(string? error)
    {
        TaskCompletionSource<bool>? waiter;
        lock (_waitLock)
        {
            waiter = _waiter;
            _waiter = null;
        }

        if (waiter is null)
        {
            return;
        }

        if (error is null)
        {
            waiter.TrySetResult(true);
        }
        else
        {
            waiter.TrySetException(new IOException($"'{_user.Name}': {error}"));
        }
    }

    protected override void OnClosed(string reason) => Complete($"connection closed: {reason}");
}
