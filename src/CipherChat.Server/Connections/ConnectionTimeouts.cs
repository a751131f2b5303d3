namespace CipherChat.Server.Connections;

/// <summary>
/// Handshake and idle timeouts for every connection of a server, checked by one periodic sweep
/// instead of one timer (and a linked cancellation source) per connection: an idle connection then
/// costs a deadline and two list links rather than a timer, a token source and their registrations.
/// </summary>
/// <remarks>
/// A connection's timeout fires between its deadline and one sweep period later; the period is an
/// eighth of the shorter timeout, between 50 ms and 1 s. Deadlines are on the monotonic
/// <see cref="Environment.TickCount64"/> clock, as the timers they replace were.
/// </remarks>
internal sealed class ConnectionTimeouts
{
    private readonly Lock _lock = new();
    private readonly Timer _timer;
    private readonly TimeSpan _period;
    private readonly List<ChatConnection> _expired = [];
    private ChatConnection? _head;
    private int _count;
    private bool _running;

    public ConnectionTimeouts(double handshakeTimeoutSeconds, double idleTimeoutSeconds)
    {
        var shorter = Math.Min(handshakeTimeoutSeconds, idleTimeoutSeconds);
        _period = TimeSpan.FromSeconds(Math.Clamp(shorter / 8, 0.05, 1.0));
        _timer = new Timer(static state => ((ConnectionTimeouts)state!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Starts watching <paramref name="connection"/>; its deadline must be set first.</summary>
    public void Add(ChatConnection connection)
    {
        lock (_lock)
        {
            connection.TimeoutNext = _head;
            connection.TimeoutPrevious = null;
            if (_head is not null)
            {
                _head.TimeoutPrevious = connection;
            }

            _head = connection;
            _count++;
            if (!_running)
            {
                // The sweep runs only while there are connections, so an idle server (or a test's
                // core that is never disposed) keeps no timer firing.
                _running = true;
                _timer.Change(_period, _period);
            }
        }
    }

    /// <summary>Stops watching <paramref name="connection"/> (its read loop has ended).</summary>
    public void Remove(ChatConnection connection)
    {
        lock (_lock)
        {
            if (connection.TimeoutPrevious is null && _head != connection)
            {
                return;
            }

            if (connection.TimeoutPrevious is not null)
            {
                connection.TimeoutPrevious.TimeoutNext = connection.TimeoutNext;
            }
            else
            {
                _head = connection.TimeoutNext;
            }

            if (connection.TimeoutNext is not null)
            {
                connection.TimeoutNext.TimeoutPrevious = connection.TimeoutPrevious;
            }

            connection.TimeoutNext = null;
            connection.TimeoutPrevious = null;
            _count--;
        }
    }

    /// <summary>Wakes every watched connection's read at once (server shutdown).</summary>
    public void WakeAll()
    {
        var all = new List<ChatConnection>();
        lock (_lock)
        {
            for (var c = _head; c is not null; c = c.TimeoutNext)
            {
                all.Add(c);
            }
        }

        foreach (var connection in all)
        {
            connection.WakeRead();
        }
    }

    private void Sweep()
    {
        var now = Environment.TickCount64;
        ChatConnection[] expired;
        lock (_lock)
        {
            if (_count == 0)
            {
                _running = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }

            for (var c = _head; c is not null; c = c.TimeoutNext)
            {
                if (now >= c.TimeoutDeadline)
                {
                    _expired.Add(c);
                }
            }

            if (_expired.Count == 0)
            {
                return;
            }

            expired = [.. _expired];
            _expired.Clear();
        }

        // Outside the lock: cancelling a read can run the connection's read loop inline, and that
        // loop removes itself from the list.
        foreach (var connection in expired)
        {
            connection.WakeRead();
        }
    }
}
