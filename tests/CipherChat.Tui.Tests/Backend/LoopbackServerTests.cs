using CipherChat.Client.Net;
using CipherChat.Client.Storage;
using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Storage;

namespace CipherChat.Tui.Tests.Backend;

/// <summary>
/// A real server on a loopback port (in-memory store, TLS off) for one test, with a temporary folder for the
/// client homes; the clients, backends and stores a test opens are disposed with it.
/// </summary>
public abstract class LoopbackServerTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<ClientStore> _stores = [];
    private readonly string _root;
    private ChatServer? _server;

    private protected LoopbackServerTests(string folderPrefix) =>
        _root = Path.Combine(Path.GetTempPath(), folderPrefix + Guid.NewGuid().ToString("N")[..12]);

    private protected ChatServer Server => _server ?? throw new InvalidOperationException("the server starts before the test");

    private protected ServerAddress Address => new("127.0.0.1", Server.Endpoint.Port);

    /// <summary>"open" or "invite"; invite codes can be added in <see cref="OnStartedAsync"/>.</summary>
    private protected virtual string Registration => "open";

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var store = new InMemoryChatStore();
        _server = await ChatServer.StartAsync(
            new ChatServerOptions { Listen = "127.0.0.1:0", Data = Path.Combine(_root, "server"), Tls = "off", Registration = Registration, HandshakeTimeoutSeconds = 60, ShutdownTimeoutSeconds = 2 },
            store,
            ownsStore: true,
            cancellationToken: TestContext.Current.CancellationToken);
        await OnStartedAsync(store);
    }

    private protected virtual Task OnStartedAsync(InMemoryChatStore store) => Task.CompletedTask;

    /// <summary>Opens the client state of <paramref name="user"/> in this test's folder.</summary>
    private protected ClientStore OpenStore(string user)
    {
        var store = ClientStore.Open(Path.Combine(_root, user));
        _stores.Add(store);
        return store;
    }

    /// <summary>Disposes <paramref name="item"/> when the test ends (latest first).</summary>
    private protected T Own<T>(T item)
        where T : IAsyncDisposable
    {
        _owned.Add(item);
        return item;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned))
        {
            await d.DisposeAsync();
        }

        foreach (var s in _stores)
        {
            s.Dispose();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Temp area; a handle may linger for a moment.
        }

        GC.SuppressFinalize(this);
    }
}
