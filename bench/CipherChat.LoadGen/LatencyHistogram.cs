using System.Numerics;

namespace CipherChat.LoadGen;

/// <summary>
/// A log-linear histogram of latencies in microseconds (about 1.5 % resolution, up to ~19 hours),
/// safe to record into from several threads. Fixed size: recording never allocates.
/// </summary>
public sealed class LatencyHistogram
{
    // Values below 128 µs are exact; above, each power of two is split into 64 sub-buckets.
    private const int LinearLimit = 128;
    private const int SubBuckets = 64;
    private const int Magnitudes = 30;

    private readonly long[] _counts = new long[LinearLimit + (Magnitudes * SubBuckets)];
    private long _total;
    private long _max;

    public long Count => Interlocked.Read(ref _total);

    public void Record(long microseconds)
    {
        if (microseconds < 0)
        {
            microseconds = 0;
        }

        var index = IndexOf(microseconds);
        Interlocked.Increment(ref _counts[index]);
        Interlocked.Increment(ref _total);
        long seen;
        while (microseconds > (seen = Interlocked.Read(ref _max)))
        {
            if (Interlocked.CompareExchange(ref _max, microseconds, seen) == seen)
            {
                break;
            }
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _max, 0);
    }

    /// <summary>The value at quantile <paramref name="q"/> (0..1) in milliseconds; NaN when empty.</summary>
    public double QuantileMs(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        if (q >= 1)
        {
            return Interlocked.Read(ref _max) / 1000.0;
        }

        var rank = (long)Math.Ceiling(q * total);
        if (rank < 1)
        {
            rank = 1;
        }

        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperBoundOf(i), Interlocked.Read(ref _max)) / 1000.0;
            }
        }

        return Interlocked.Read(ref _max) / 1000.0;
    }

    public double MaxMs => Interlocked.Read(ref _max) / 1000.0;

    private static int IndexOf(long us)
    {
        if (us < LinearLimit)
        {
            return (int)us;
        }

        // us >= 128: the top bit is at position 7 or above.
        var magnitude = 63 - BitOperations.LeadingZeroCount((ulong)us) - 6; // >= 1
        if (magnitude > Magnitudes)
        {
            return LinearLimit + (Magnitudes * SubBuckets) - 1;
        }

        var sub = (int)(us >> magnitude) - SubBuckets; // 0..63
        return LinearLimit + ((magnitude - 1) * SubBuckets) + sub;
    }

    private static long UpperBoundOf(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        var magnitude = ((index - LinearLimit) / SubBuckets) + 1;
        var sub = ((index - LinearLimit) % SubBuckets) + SubBuckets;
        return ((long)(sub + 1) << magnitude) - 1;
    }
}
