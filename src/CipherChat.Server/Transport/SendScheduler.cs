using System.Collections.Concurrent;

namespace CipherChat.Server.Transport;

/// <summary>
/// A few dedicated sender threads that write every connection with queued frames, as an event loop
/// does, instead of one write loop per connection woken through the thread pool.
/// </summary>
/// <remarks>
/// A delivery only queues the frame and, if the connection is not already waiting for its sender,
/// puts it on that sender's ready queue. A sender wakes once for everything that became ready
/// meanwhile and writes each connection with one non-blocking send; frames that arrive while a
/// sender is busy are coalesced into that connection's next send. Each connection belongs to one
/// sender, so its writes never run on two threads at once.
/// </remarks>
internal sealed class SendScheduler : IDisposable
{
    /// <summary>How many bytes a sender copies out of one connection's queue per send.</summary>
    internal const int ScratchBytes = 64 * 1024;

    private readonly Sender[] _senders;
    private int _next;

    public SendScheduler(int senders)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(senders, 1);
        _senders = new Sender[senders];
        for (var i = 0; i < senders; i++)
        {
            _senders[i] = new Sender(i);
        }
    }

    /// <summary>One sender per processor, at most four: a send costs the kernel more than us.</summary>
    public static int DefaultSenders => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>The sender a new connection is bound to for its whole life (round-robin).</summary>
    public Sender Assign() => _senders[(int)((uint)Interlocked.Increment(ref _next) % (uint)_senders.Length)];

    public void Dispose()
    {
        foreach (var sender in _senders)
        {
            sender.Dispose();
        }
    }

    internal sealed class Sender : IDisposable
    {
        private readonly ConcurrentQueue<SocketTransport> _ready = new();
        private readonly SemaphoreSlim _wake = new(0);
        private readonly Thread _thread;
        private int _signaled;
        private volatile bool _stopping;

        public Sender(int index)
        {
            _thread = new Thread(Run)
            {
                IsBackground = true,
                Name = "cipherchat-sender-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            _thread.Start();
        }

        /// <summary>Puts a connection on this sender's ready queue; the caller has marked it scheduled.</summary>
        public void Schedule(SocketTransport transport)
        {
            _ready.Enqueue(transport);
            if (Interlocked.Exchange(ref _signaled, 1) == 0)
            {
                _wake.Release();
            }
        }

        public void Dispose()
        {
            _stopping = true;
            _wake.Release();
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        private void Run()
        {
            var scratch = new byte[ScratchBytes];
            while (true)
            {
                _wake.Wait();
                if (_stopping)
                {
                    return;
                }

                // Cleared before draining: a connection queued from here on signals again, so
                // nothing put on the ready queue is left without a wake-up.
                Volatile.Write(ref _signaled, 0);
                while (_ready.TryDequeue(out var transport))
                {
                    transport.FlushFromSender(scratch);
                }
            }
        }
    }
}
