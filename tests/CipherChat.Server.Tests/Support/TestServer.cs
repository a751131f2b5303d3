using CipherChat.Server.Hosting;
using CipherChat.Server.Sqlite;
using CipherChat.Server.Storage;

namespace CipherChat.Server.Tests.Support;

/// <summary>Starts real servers on a free loopback port with test-friendly limits.</summary>
public static class TestServer
{
    public static ChatServerOptions Options(string dataDirectory, Action<ChatServerOptions>? configure = null)
    {
        var options = new ChatServerOptions
        {
            Listen = "127.0.0.1:0",
            Data = dataDirectory,
            Tls = "off",
            HandshakeTimeoutSeconds = 5,
            IdleTimeoutSeconds = 30,
            ShutdownTimeoutSeconds = 5,
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A server on an in-memory store.</summary>
    public static Task<ChatServer> StartInMemoryAsync(string dataDirectory, Action<ChatServerOptions>? configure = null, IChatStore? store = null) =>
        ChatServer.StartAsync(Options(dataDirectory, configure), store ?? new InMemoryChatStore(), ownsStore: store is null, cancellationToken: TestContext.Current.CancellationToken);

    /// <summary>A server on the SQLite database in <paramref name="dataDirectory"/>.</summary>
    public static Task<ChatServer> StartSqliteAsync(string dataDirectory, Action<ChatServerOptions>? configure = null) =>
        SqliteChatServer.StartAsync(Options(dataDirectory, configure), cancellationToken: TestContext.Current.CancellationToken);
}
