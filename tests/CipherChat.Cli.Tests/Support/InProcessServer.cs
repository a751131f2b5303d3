using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Sqlite;

namespace CipherChat.Cli.Tests.Support;

/// <summary>A real server (SQLite in a temp data folder) on a free loopback port, restartable on the same data.</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly TempFolder _data = new("server-data");
    private readonly bool _tls;
    private ChatServer? _server;

    private InProcessServer(bool tls)
    {
        _tls = tls;
    }

    public string DataDirectory => _data.Path;

    public int Port { get; private set; }

    public string Address => $"127.0.0.1:{Port}";

    public string? Fingerprint => _server?.CertificateFingerprint;

    public static async Task<InProcessServer> StartAsync(bool tls)
    {
        var server = new InProcessServer(tls);
        await server.StartOnAsync(0);
        return server;
    }

    private async Task StartOnAsync(int port)
    {
        var options = new ChatServerOptions
        {
            Listen = $"127.0.0.1:{port}",
            Data = _data.Path,
            Tls = _tls ? "auto" : "off",
            ShutdownTimeoutSeconds = 2,

            // Each command is a fresh process; on a busy test machine its first login can take longer than the default 10 s.
            HandshakeTimeoutSeconds = 60,
        };
        var store = await SqliteChatStore.OpenAsync(_data.Path);
        _server = await ChatServer.StartAsync(options, store, ownsStore: true);
        Port = _server.Endpoint.Port;
    }

    /// <summary>Stops the server and starts it again on the same port and data folder.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartOnAsync(Port);
    }

    /// <summary>Stops the server (cleanly) and keeps its data folder.</summary>
    public async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _data.Dispose();
    }
}
