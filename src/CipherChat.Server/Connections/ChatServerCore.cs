using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CipherChat.Server.Connections;

/// <summary>
/// The server without its transport: give it a connection's transport and it speaks the protocol on
/// it. Transport adapters (the TCP/TLS listener today, a WebSocket endpoint later) only accept
/// connections and call <see cref="RunConnectionAsync"/>.
/// </summary>
public sealed class ChatServerCore
{
    private int _connectionCounter;
    private int _shuttingDown;

    public ChatServerCore(ChatServerOptions options, IChatStore store, ILoggerFactory? loggerFactory = null)
        : this(options, store, loggerFactory, null)
    {
    }

    /// <summary>A server core that is one of several nodes sharing <paramref name="store"/>, connected by <paramref name="cluster"/>.</summary>
    public ChatServerCore(ChatServerOptions options, IChatStore store, ILoggerFactory? loggerFactory, IClusterBus? cluster)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        options.Validate();
        Options = options;
        Store = store;
        Metrics = new ServerMetrics();
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CipherChat.Server");
        Hub = new DeliveryHub(store, Metrics, options.MaxFrameBytes, cluster, Logger);
        Timeouts = new ConnectionTimeouts(options.HandshakeTimeoutSeconds, options.IdleTimeoutSeconds);
    }

    public ChatServerOptions Options { get; }

    public IChatStore Store { get; }

    public DeliveryHub Hub { get; }

    public ServerMetrics Metrics { get; }

    internal ILogger Logger { get; }

    internal ConnectionTimeouts Timeouts { get; }

    /// <summary>True once <see cref="BeginShutdown"/> has been called.</summary>
    public bool IsShuttingDown => Volatile.Read(ref _shuttingDown) != 0;

    /// <summary>
    /// Tells every connection, present and future, that the server is stopping: each finishes the
    /// request in progress and answers SHUTTING_DOWN, as when its own close is requested.
    /// </summary>
    public void BeginShutdown()
    {
        if (Interlocked.Exchange(ref _shuttingDown, 1) == 0)
        {
            Timeouts.WakeAll();
        }
    }

    /// <summary>
    /// Serves one connection until the peer leaves, the protocol requires closing, or the server
    /// shuts down (the request in progress is finished, then the client is told SHUTTING_DOWN).
    /// The returned task ends when the connection has; the caller then releases the transport.
    /// </summary>
    public Task RunConnectionAsync(IChatTransport transport, string remote)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var id = "c" + Interlocked.Increment(ref _connectionCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Metrics.ConnectionOpened();
        ServerLog.ConnectionOpened(Logger, id, remote);
        return new ChatConnection(this, transport, id).RunAsync();
    }
}
