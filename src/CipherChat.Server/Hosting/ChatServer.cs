using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CipherChat.Protocol;
using CipherChat.Server.Connections;
using CipherChat.Server.Delivery;
using CipherChat.Server.Storage;
using CipherChat.Server.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CipherChat.Server.Hosting;

/// <summary>
/// A running CipherChat server: <see cref="ChatListener"/> accepts TCP connections (with TLS unless
/// turned off) and runs each through <see cref="ChatServerCore"/>; the optional health endpoint is
/// served over HTTP by Kestrel on its own address.
/// </summary>
public sealed class ChatServer : IAsyncDisposable
{
    private readonly ChatListener _listener;
    private readonly WebApplication? _health;
    private readonly IChatStore _store;
    private readonly bool _ownsStore;
    private readonly IClusterBus? _cluster;
    private readonly ILogger _logger;
    private int _stopped;

    private ChatServer(ChatListener listener, WebApplication? health, ChatServerCore core, IChatStore store, bool ownsStore, X509Certificate2? certificate, IPEndPoint? healthEndpoint, ILogger logger, IClusterBus? cluster)
    {
        _cluster = cluster;
        _listener = listener;
        _health = health;
        Core = core;
        _store = store;
        _ownsStore = ownsStore;
        Certificate = certificate;
        Endpoint = listener.Endpoint;
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

        ChatListener? listener = null;
        WebApplication? health = null;
        IPEndPoint? healthEndpoint = null;
        try
        {
            if (cluster is not null)
            {
                await cluster.StartAsync(core.Hub, cancellationToken).ConfigureAwait(false);
            }

            if (!string.IsNullOrWhiteSpace(options.Health))
            {
                (health, healthEndpoint) = await StartHealthAsync(core, ChatServerOptions.ParseEndpoint(options.Health, "Health"), loggerFactory, cancellationToken).ConfigureAwait(false);
            }

            listener = ChatListener.Start(core, endpoint, certificate);
        }
        catch
        {
            if (health is not null)
            {
                await health.DisposeAsync().ConfigureAwait(false);
            }

            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }

            certificate?.Dispose();
            throw;
        }

        ServerLog.Listening(logger, listener.Endpoint.ToString(), certificate is null ? "TCP" : "TLS");
        return new ChatServer(listener, health, core, store, ownsStore, certificate, healthEndpoint, logger, cluster);
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
            await _listener.StopAsync(grace.Token).ConfigureAwait(false);
            if (_health is not null)
            {
                await _health.StopAsync(grace.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
            if (_health is not null)
            {
                await _health.DisposeAsync().ConfigureAwait(false);
            }

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

    private static async Task<(WebApplication App, IPEndPoint Endpoint)> StartHealthAsync(ChatServerCore core, IPEndPoint endpoint, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddLogging();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, ExternallyControlledLifetime>();
        builder.WebHost.UseKestrelCore();
        ListenOptions? bound = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, listen => bound = listen);
        });
        var app = builder.Build();
        app.Run(context => ServeHealthAsync(core, context));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return (app, bound?.IPEndPoint ?? endpoint);
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
