using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CipherChat.Protocol;
using CipherChat.Server.Connections;
using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CipherChat.Server.Hosting;

/// <summary>
/// A running CipherChat server: Kestrel accepts TCP connections (with TLS unless turned off) and hands
/// each connection's duplex pipe to <see cref="ChatServerCore"/>.
/// </summary>
/// <remarks>
/// Kestrel rather than a hand-written accept loop: it brings a tested accept loop, TLS with handshake
/// timeouts, connection draining on shutdown and pipes, and the same host can serve the health
/// endpoint now and a WebSocket endpoint later. Only Kestrel's connection layer is used for chat; no
/// HTTP runs on that port.
/// </remarks>
public sealed class ChatServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IChatStore _store;
    private readonly bool _ownsStore;
    private readonly IClusterBus? _cluster;
    private readonly ILogger _logger;
    private int _stopped;

    private ChatServer(WebApplication app, ChatServerCore core, IChatStore store, bool ownsStore, X509Certificate2? certificate, IPEndPoint endpoint, IPEndPoint? healthEndpoint, ILogger logger, IClusterBus? cluster)
    {
        _cluster = cluster;
        _app = app;
        Core = core;
        _store = store;
        _ownsStore = ownsStore;
        Certificate = certificate;
        Endpoint = endpoint;
        HealthEndpoint = healthEndpoint;
        _logger = logger;
    }

    /// <summary>The address the server listens on, with the real port when port 0 was asked for.</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>The health endpoint's address, when one was configured.</summary>
    public IPEndPoint? HealthEndpoint { get; }

    /// <summary>The TLS certificate; null with TLS off.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>SHA-256 fingerprint of the certificate (see <see cref="CertificateFingerprint"/>); null with TLS off.</summary>
    public string? CertificateFingerprint => Certificate is null ? null : Protocol.CertificateFingerprint.Compute(Certificate.RawData);

    /// <summary>The transport-free server core (options, store, delivery hub, metrics).</summary>
    public ChatServerCore Core { get; }

    /// <summary>
    /// Starts a server. With <paramref name="ownsStore"/> the store is disposed when the server stops.
    /// For tests: Listen = "127.0.0.1:0" picks a free port, read it from <see cref="Endpoint"/>.
    /// </summary>
    public static Task<ChatServer> StartAsync(ChatServerOptions options, IChatStore store, ILoggerFactory? loggerFactory = null, bool ownsStore = true, CancellationToken cancellationToken = default) =>
        StartAsync(options, store, cluster: null, loggerFactory, ownsStore, cancellationToken);

    /// <summary>
    /// Starts one of several nodes sharing <paramref name="store"/> (which must be an
    /// <see cref="IRoomLog"/>), with <paramref name="cluster"/> carrying fan-out between nodes. The
    /// server starts the bus before accepting connections and disposes it when it stops.
    /// </summary>
    public static async Task<ChatServer> StartAsync(ChatServerOptions options, IChatStore store, IClusterBus? cluster, ILoggerFactory? loggerFactory = null, bool ownsStore = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        var endpoint = options.Validate();
        loggerFactory ??= NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger("CipherChat.Server");
        var core = new ChatServerCore(options, store, loggerFactory, cluster);

        X509Certificate2? certificate = null;
        if (options.TlsEnabled)
        {
            certificate = string.IsNullOrWhiteSpace(options.Cert)
                ? ServerCertificate.LoadOrCreateSelfSigned(options.DataDirectory)
                : ServerCertificate.LoadPfx(options.Cert, options.CertPassword);
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddLogging();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, ExternallyControlledLifetime>();
        builder.WebHost.UseKestrelCore();

        ListenOptions? chatListen = null;
        ListenOptions? healthListen = null;
        var healthEndpoint = string.IsNullOrWhiteSpace(options.Health) ? null : ChatServerOptions.ParseEndpoint(options.Health, "Health");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, listen =>
            {
                chatListen = listen;
                if (certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = certificate,
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        HandshakeTimeout = TimeSpan.FromSeconds(options.HandshakeTimeoutSeconds),
                    });
                }

                listen.Run(connection => ServeAsync(core, connection));
            });

            if (healthEndpoint is not null)
            {
                kestrel.Listen(healthEndpoint, listen => healthListen = listen);
            }
        });

        var app = builder.Build();
        if (healthEndpoint is not null)
        {
            app.Run(context => ServeHealthAsync(core, context));
        }

        try
        {
            if (cluster is not null)
            {
                await cluster.StartAsync(core.Hub, cancellationToken).ConfigureAwait(false);
            }

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }

            await app.DisposeAsync().ConfigureAwait(false);
            certificate?.Dispose();
            throw;
        }

        var bound = chatListen?.IPEndPoint ?? endpoint;
        ServerLog.Listening(logger, bound.ToString(), certificate is null ? "TCP" : "TLS");
        return new ChatServer(app, core, store, ownsStore, certificate, bound, healthListen?.IPEndPoint, logger, cluster);
    }

    /// <summary>
    /// Stops accepting connections, lets each connection finish the request it is handling, tells
    /// clients SHUTTING_DOWN, waits up to the shutdown timeout, then closes the store.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        ServerLog.ShuttingDown(_logger, (int)Core.Metrics.ConnectionsOpen);
        Core.BeginShutdown();
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(TimeSpan.FromSeconds(Core.Options.ShutdownTimeoutSeconds));
        try
        {
            await _app.StopAsync(grace.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync().ConfigureAwait(false);
            }

            if (_ownsStore)
            {
                await _store.DisposeAsync().ConfigureAwait(false);
            }

            Certificate?.Dispose();
            ServerLog.Stopped(_logger);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>
    /// The addresses of this machine that friends can use to reach a server listening on
    /// <paramref name="listen"/>: every up, non-loopback interface's unicast addresses (IPv4, and
    /// IPv6 when listening on IPv6), or just the listen address when it names one.
    /// </summary>
    public static IReadOnlyList<IPAddress> ReachableAddresses(IPEndPoint listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        if (!listen.Address.Equals(IPAddress.Any) && !listen.Address.Equals(IPAddress.IPv6Any))
        {
            return [listen.Address];
        }

        var result = new List<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }

                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    var address = unicast.Address;
                    var wanted = address.AddressFamily == AddressFamily.InterNetwork
                        || (address.AddressFamily == AddressFamily.InterNetworkV6 && listen.Address.Equals(IPAddress.IPv6Any) && !address.IsIPv6LinkLocal);
                    if (wanted && !IPAddress.IsLoopback(address))
                    {
                        result.Add(address);
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Interface enumeration is best effort; the listen address is still printed.
        }

        return result;
    }

    // Not async and no linked token source: the server's own shutdown reaches every connection
    // through ChatServerCore.BeginShutdown, so a connection holds only Kestrel's close-request token.
    private static Task ServeAsync(ChatServerCore core, ConnectionContext connection)
    {
        var closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        return core.RunConnectionAsync(connection.Transport, connection.RemoteEndPoint?.ToString() ?? "unknown", connection.Abort, closeRequested);
    }

    private static Task ServeHealthAsync(ChatServerCore core, HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                return context.Response.WriteAsync("ok\n");
            case "/metrics":
                context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                return context.Response.WriteAsync(core.Metrics.ToPrometheusText());
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
        }
    }

    /// <summary>The host's lifetime is driven by <see cref="StopAsync"/>; signals are handled by the caller.</summary>
    private sealed class ExternallyControlledLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
