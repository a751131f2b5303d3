using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Sqlite;

namespace CipherChat.Client.Tests.Integration;

/// <summary>A real server (SQLite in a temporary data folder, TLS off unless asked for) on a free loopback port.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly TempHome _data = new();
    private ChatServer? _server;

    private TestServer()
    {
    }

    public string DataDirectory => _data.Path;

    public int Port { get; private set; }

    /// <summary>The fingerprint of the server's self-signed certificate; null with TLS off.</summary>
    public string? Fingerprint => _server?.CertificateFingerprint;

    public static async Task<TestServer> StartAsync(bool tls = false)
    {
        var server = new TestServer();
        Directory.CreateDirectory(server._data.Path);
        var options = new ChatServerOptions
        {
            Listen = "127.0.0.1:0",
            Data = server._data.Path,
            Tls = tls ? "auto" : "off",
            ShutdownTimeoutSeconds = 2,

            // The tests send in bursts from one process.
            SendRatePerSecond = 1000,
            SendBurst = 1000,
        };
        var store = await SqliteChatStore.OpenAsync(server._data.Path);
        server._server = await ChatServer.StartAsync(options, store, ownsStore: true);
        server.Port = server._server.Endpoint.Port;
        return server;
    }

    /// <summary>Stops the server (its database is complete on disk afterwards).</summary>
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
        await StopAsync();
        _data.Dispose();
    }
}
