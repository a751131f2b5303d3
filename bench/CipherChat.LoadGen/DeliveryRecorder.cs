using System.Diagnostics;

namespace CipherChat.LoadGen;

/// <summary>
/// Counts deliveries of messages stamped inside the measurement window and records their latency.
/// Shared by every connection of a run; the window is set before a rate step starts.
/// </summary>
public sealed class DeliveryRecorder
{
    private long _windowStart = long.MaxValue;
    private long _windowEnd = long.MinValue;
    private long _delivered;
    private long _receivedTotal;
    private long _acked;
    private long _errors;
    private long _rateLimited;

    public LatencyHistogram Latency { get; } = new();

    public long Delivered => Interlocked.Read(ref _delivered);

    public long ReceivedTotal => Interlocked.Read(ref _receivedTotal);

    public long Acked => Interlocked.Read(ref _acked);

    public long Errors => Interlocked.Read(ref _errors);

    public long RateLimited => Interlocked.Read(ref _rateLimited);

    /// <summary>Starts a new window [start, end) in Stopwatch ticks and clears the counts.</summary>
    public void OpenWindow(long start, long end)
    {
        Latency.Reset();
        Interlocked.Exchange(ref _delivered, 0);
        Interlocked.Exchange(ref _receivedTotal, 0);
        Interlocked.Exchange(ref _acked, 0);
        Interlocked.Exchange(ref _errors, 0);
        Interlocked.Exchange(ref _rateLimited, 0);
        Volatile.Write(ref _windowEnd, end);
        Volatile.Write(ref _windowStart, start);
    }

    /// <summary>A message sent at <paramref name="sentStamp"/> arrived at <paramref name="receivedStamp"/>.</summary>
    public void OnDelivered(long sentStamp, long receivedStamp)
    {
        Interlocked.Increment(ref _receivedTotal);
        if (sentStamp >= Volatile.Read(ref _windowStart) && sentStamp < Volatile.Read(ref _windowEnd))
        {
            Interlocked.Increment(ref _delivered);
            Latency.Record((receivedStamp - sentStamp) * 1_000_000 / Stopwatch.Frequency);
        }
    }

    public void OnAcked() => Interlocked.Increment(ref _acked);

    public void OnError(bool rateLimited)
    {
        Interlocked.Increment(ref _errors);
        if (rateLimited)
        {
            Interlocked.Increment(ref _rateLimited);
        }
    }
}
