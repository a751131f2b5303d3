namespace CipherChat.Server;

/// <summary>A token bucket: <c>burst</c> tokens at most, refilled at <c>ratePerSecond</c>. Not thread-safe; one per connection.</summary>
internal sealed class TokenBucket
{
    private readonly TimeProvider _time;
    private readonly double _ratePerTick;
    private readonly double _burst;
    private double _tokens;
    private long _lastTimestamp;

    public TokenBucket(double ratePerSecond, int burst, TimeProvider time)
    {
        _time = time;
        _burst = burst;
        _tokens = burst;
        _ratePerTick = ratePerSecond / time.TimestampFrequency;
        _lastTimestamp = time.GetTimestamp();
    }

    /// <summary>Takes one token if there is one.</summary>
    public bool TryTake()
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(_burst, _tokens + ((now - _lastTimestamp) * _ratePerTick));
        _lastTimestamp = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }
}
