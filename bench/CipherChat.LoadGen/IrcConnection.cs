using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace CipherChat.LoadGen;

/// <summary>
/// An IRC client for the benchmark (RFC 2812 subset): NICK/USER, JOIN the room's channel, PRIVMSG to it.
/// Rooms are channels named "#" + room. Answers the server's PING.
/// </summary>
public sealed class IrcConnection : BenchConnection
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    private static readonly HashSet<string> FatalReplies =
        ["ERROR", "432", "433", "436", "437", "451", "461", "464", "465", "403", "405", "471", "473", "474", "475"];

    private readonly BenchUser _user;
    private readonly byte[] _privmsgPrefix;
    private readonly object _waitLock = new();
    private string? _waitingFor;
    private TaskCompletionSource<string>? _waiter;

    private IrcConnection(Socket socket, Stream stream, int receiveBufferBytes, DeliveryRecorder recorder, BenchUser user)
        : base(socket, stream, receiveBufferBytes, recorder)
    {
        _user = user;
        _privmsgPrefix = Encoding.ASCII.GetBytes($"PRIVMSG #{user.Room.Name} :");
    }

    public static async Task<IrcConnection> ConnectAsync(TargetOptions target, BenchUser user, DeliveryRecorder recorder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(user);
        var (socket, stream) = await OpenAsync(target.Endpoint, target.LocalAddressFor(user.Index), tls: false, null, cancellationToken).ConfigureAwait(false);
        var connection = new IrcConnection(socket, stream, target.ReceiveBufferBytes, recorder, user);
        connection.Start();
        try
        {
            await connection.CommandAsync($"NICK {user.Name}\r\nUSER {user.Name} 0 * :loadgen\r\n", "001", cancellationToken).ConfigureAwait(false);
            await connection.CommandAsync($"JOIN #{user.Room.Name}\r\n", "366", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task CommandAsync(string text, string expectedReply, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitLock)
        {
            _waitingFor = expectedReply;
            _waiter = waiter;
        }

        Write(Encoding.ASCII.GetBytes(text));
        if (IsClosed)
        {
            throw new IOException($"connection closed: {CloseReason}");
        }

        await waiter.Task.WaitAsync(StepTimeout, cancellationToken).ConfigureAwait(false);
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
            var prefix = s.Item1._privmsgPrefix;
            var total = prefix.Length + TextStamp.Length + s.token.Length + 2;
            var span = writer.GetSpan(total);
            prefix.CopyTo(span);
            TextStamp.Write(span[prefix.Length..], s.stamp);
            s.token.CopyTo(span[(prefix.Length + TextStamp.Length)..]);
            span[total - 2] = (byte)'\r';
            span[total - 1] = (byte)'\n';
            writer.Advance(total);
        });
        return stamp;
    }

    protected override int Parse(ReadOnlySpan<byte> data, long receivedStamp)
    {
        var position = 0;
        while (true)
        {
            var newline = data[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                return position;
            }

            var line = data.Slice(position, newline);
            position += newline + 1;
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            HandleLine(line, receivedStamp);
        }
    }

    private void HandleLine(ReadOnlySpan<byte> line, long receivedStamp)
    {
        // [":" prefix " "] command params
        var rest = line;
        if (!rest.IsEmpty && rest[0] == (byte)':')
        {
            var space = rest.IndexOf((byte)' ');
            if (space < 0)
            {
                return;
            }

            rest = rest[(space + 1)..];
        }

        var end = rest.IndexOf((byte)' ');
        var command = end < 0 ? rest : rest[..end];
        if (command.SequenceEqual("PRIVMSG"u8))
        {
            var textStart = rest.IndexOf(" :"u8);
            if (textStart >= 0 && TextStamp.TryRead(rest[(textStart + 2)..], out var stamp))
            {
                Recorder.OnDelivered(stamp, receivedStamp);
            }

            return;
        }

        if (command.SequenceEqual("PING"u8))
        {
            var reply = new byte[rest.Length + 2];
            "PONG"u8.CopyTo(reply);
            rest[4..].CopyTo(reply.AsSpan(4));
            reply[^2] = (byte)'\r';
            reply[^1] = (byte)'\n';
            Write(reply);
            return;
        }

        TaskCompletionSource<string>? waiter = null;
        var commandText = Encoding.ASCII.GetString(command);
        var fatal = FatalReplies.Contains(commandText);
        lock (_waitLock)
        {
            if (_waiter is not null && (fatal || commandText == _waitingFor))
            {
                waiter = _waiter;
                _waiter = null;
            }
        }

        if (waiter is null)
        {
            if (commandText == "ERROR")
            {
                Close($"server said: {Encoding.ASCII.GetString(line)}");
            }

            return;
        }

        if (fatal)
        {
            waiter.TrySetException(new IOException($"'{_user.Name}': server replied {Encoding.ASCII.GetString(line)}"));
        }
        else
        {
            waiter.TrySetResult(commandText);
        }
    }

    protected override void OnClosed(string reason)
    {
        TaskCompletionSource<string>? waiter;
        lock (_waitLock)
        {
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetException(new IOException($"connection closed: {reason}"));
    }
}
