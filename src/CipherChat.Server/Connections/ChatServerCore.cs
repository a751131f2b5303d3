using System.IO.Pipelines;
using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CipherChat.Server.Connections;

/// <summary>
/// The server without its transport: give it a connection's duplex pipe and it speaks the protocol on
/// it. Transport adapters (the Kestrel TCP/TLS listener today, a WebSocket endpoint later) only accept
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
    /// Serves one connection until the peer leaves, the protocol requires closing, or
    /// <paramref name="closeRequested"/> fires (server shutdown: the request in progress is finished,
    /// then the client is told SHUTTING_DOWN). <paramref name="abort"/> must cut the transport at once;
    /// it is called for clients that stop reading.
    /// </summary>
    public Task RunConnectionAsync(IDuplexPipe transport, string remote, Action abort, CancellationToken closeRequested)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(abort);
        var id = "c" + Interlocked.Increment(ref _connectionCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Metrics.ConnectionOpened();
        ServerLog.ConnectionOpened(Logger, id, remote);

        // Not awaited here: the connection counts itself closed when it ends, which saves an idle
        // connection one more suspended async method.
        return new ChatConnection(this, transport, id, abort, closeRequested).RunAsync();
    }
}
