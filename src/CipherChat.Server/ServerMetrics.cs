namespace CipherChat.Server;

/// <summary>Counters served at /metrics. Thread-safe.</summary>
public sealed class ServerMetrics
{
    private long _connectionsOpen;
    private long _connectionsTotal;
    private long _messagesStored;
    private long _framesRejected;
    private long _slowConsumers;

    public long ConnectionsOpen => Interlocked.Read(ref _connectionsOpen);

    public long ConnectionsTotal => Interlocked.Read(ref _connectionsTotal);

    public long MessagesStored => Interlocked.Read(ref _messagesStored);

    public long FramesRejected => Interlocked.Read(ref _framesRejected);

    public long SlowConsumers => Interlocked.Read(ref _slowConsumers);

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsOpen);
        Interlocked.Increment(ref _connectionsTotal);
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _connectionsOpen);

    internal void MessageStored() => Interlocked.Increment(ref _messagesStored);

    internal void FrameRejected() => Interlocked.Increment(ref _framesRejected);

    internal void SlowConsumer() => Interlocked.Increment(ref _slowConsumers);

    /// <summary>The counters in the Prometheus text format.</summary>
    public string ToPrometheusText() =>
        $"""
        # TYPE cipherchat_connections_open gauge
        cipherchat_connections_open {ConnectionsOpen}
        # TYPE cipherchat_connections_total counter
        cipherchat_connections_total {ConnectionsTotal}
        # TYPE cipherchat_messages_stored_total counter
        cipherchat_messages_stored_total {MessagesStored}
        # TYPE cipherchat_frames_rejected_total counter
        cipherchat_frames_rejected_total {FramesRejected}
        # TYPE cipherchat_slow_consumers_total counter
        cipherchat_slow_consumers_total {SlowConsumers}

        """;
}
