using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CipherChat.Server.Connections;
using Microsoft.Extensions.Logging;

namespace CipherChat.Server.Transport;

/// <summary>
/// The chat port: an accept loop over a listening socket that runs each connection (after the TLS
/// handshake, when TLS is on) through <see cref="ChatServerCore"/>, and on shutdown waits for the
/// connections to finish before cutting the rest.
/// </summary>
/// <remarks>
/// Written here rather than taken from Kestrel's connection layer: a chat server holds thousands of
/// mostly idle connections, and Kestrel's per-connection transport (two pipes, their send and
/// receive loops, and two more pipes for TLS) was most of what an idle connection cost. Here an
/// idle connection is a socket, a pending zero-byte receive and the protocol state.
/// </remarks>
internal sealed class ChatListener : IAsyncDisposable
{
    private readonly ChatServerCore _core;
    private readonly Socket _listener;
    private readonly SslServerAuthenticationOptions? _tls;
    private readonly SendScheduler _senders;
    private readonly Lock _gate = new();
    private readonly HashSet<SocketTransport> _open = [];
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _acceptLoop = Task.CompletedTask;
    private bool _stopping;

    private ChatListener(ChatServerCore core, Socket listener, SslServerAuthenticationOptions? tls)
    {
        _core = core;
        _listener = listener;
        _tls = tls;
        _senders = new SendScheduler(SendScheduler.DefaultSenders);
    }

    /// <summary>The bound address (the real port when port 0 was asked for).</summary>
    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Binds <paramref name="endpoint"/> and starts accepting. Throws <see cref="SocketException"/> when the address is taken.</summary>
    public static ChatListener Start(ChatServerCore core, IPEndPoint endpoint, X509Certificate2? certificate)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                // [::] takes IPv4 clients too, as people expect from "all addresses".
                socket.DualMode = true;
            }

            if (!OperatingSystem.IsWindows())
            {
                // A restarted server can bind again while old connections linger in TIME_WAIT.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(endpoint);
            socket.Listen(1024);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        SslServerAuthenticationOptions? tls = null;
        if (certificate is not null)
        {
            tls = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
        }

        var listener = new ChatListener(core, socket, tls);
        listener._acceptLoop = listener.AcceptLoopAsync();
        return listener;
    }

    /// <summary>
    /// Stops accepting, waits until every connection has ended (the server core has told them to
    /// finish) or <paramref name="cancellationToken"/> fires, then cuts what is left.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _stopping = true;
            if (_open.Count == 0)
            {
                _allClosed.TrySetResult();
            }
        }

        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        try
        {
            await _allClosed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            SocketTransport[] left;
            lock (_gate)
            {
                left = [.. _open];
            }

            foreach (var transport in left)
            {
                transport.Abort();
            }

            await _allClosed.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _senders.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The client gave up before it was accepted: nothing to report, nothing to wait for.
                continue;
            }
            catch (SocketException ex)
            {
                // Out of descriptors, for example: the listener is fine; pause a little so that a full
                // process table does not become a busy loop (and a flood of log lines).
                ServerLog.AcceptFailed(_core.Logger, ex.SocketErrorCode);
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }

            _ = RunAsync(socket);
        }
    }

    private async Task RunAsync(Socket socket)
    {
        socket.NoDelay = true;
        var transport = new SocketTransport(socket, _senders.Assign(), _core.Options.OutboundQueueFrames);
        lock (_gate)
        {
            if (_stopping)
            {
                transport.Dispose();
                return;
            }

            _open.Add(transport);
        }

        var remote = socket.RemoteEndPoint?.ToString() ?? "unknown";
        try
        {
            if (_tls is null || await HandshakeAsync(transport, remote).ConfigureAwait(false))
            {
                await _core.RunConnectionAsync(transport, remote).ConfigureAwait(false);
            }
        }
        finally
        {
            transport.Dispose();
            lock (_gate)
            {
                _open.Remove(transport);
                if (_stopping && _open.Count == 0)
                {
                    _allClosed.TrySetResult();
                }
            }
        }
    }

    private async Task<bool> HandshakeAsync(SocketTransport transport, string remote)
    {
        var tls = new SslStream(transport.Stream, leaveInnerStreamOpen: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_core.Options.HandshakeTimeoutSeconds));
        try
        {
            await tls.AuthenticateAsServerAsync(_tls!, timeout.Token).ConfigureAwait(false);
            transport.UseTls(tls);
            return true;
        }
        catch (Exception ex)
        {
            // Not a TLS client, too slow, gone, or a handshake the TLS library refused: whatever
            // the reason, nothing reaches the protocol and only this connection ends.
            ServerLog.TlsHandshakeFailed(_core.Logger, remote, ex.GetType().Name);
            await tls.DisposeAsync().ConfigureAwait(false);
            return false;
        }
    }
}
