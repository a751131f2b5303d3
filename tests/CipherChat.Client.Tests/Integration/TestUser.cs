using CipherChat.Client.Net;
using CipherChat.Client.Storage;

namespace CipherChat.Client.Tests.Integration;

/// <summary>One user's device: a client home of its own, its store and a <see cref="ChatClient"/> on it.</summary>
internal sealed class TestUser : IAsyncDisposable
{
    /// <summary>Cheap Argon2id for tests; the cost does not change what is tested.</summary>
    public static readonly Argon2idSettings CheapArgon = new(Argon2idSettings.MinMemoryKiB, 1);

    private readonly TempHome _home;
    private readonly bool _ownsHome;
    private readonly string? _passphrase;

    private TestUser(string name, TempHome home, bool ownsHome, string? passphrase, Action<ChatClient>? configure)
    {
        Name = name;
        _home = home;
        _ownsHome = ownsHome;
        _passphrase = passphrase;
        Store = ClientStore.Open(home.Path);
        Client = NewClient(configure);
    }

    public string Name { get; }

    public string Home => _home.Path;

    public ClientStore Store { get; private set; }

    public ChatClient Client { get; private set; }

    public static async Task<TestUser> RegisterAsync(TestServer server, string name, string? passphrase = null, Action<ChatClient>? configure = null)
    {
        var user = new TestUser(name, new TempHome(), ownsHome: true, passphrase, configure);
        await user.Client.RegisterAsync(new ServerAddress("127.0.0.1", server.Port), tls: false, name, inviteCode: null, TestContext.Current.CancellationToken);
        return user;
    }

    /// <summary>Drops the client (as a process that ends or crashes would) and opens the same home again.</summary>
    public async Task RestartAsync(string? passphrase = null, Action<ChatClient>? configure = null)
    {
        await Client.DisposeAsync();
        Store.Dispose();
        Store = ClientStore.Open(_home.Path);
        Client = NewClient(configure, passphrase ?? _passphrase);
    }

    /// <summary>The texts this device holds for <paramref name="room"/>, oldest first.</summary>
    public IReadOnlyList<string> Texts(string room) =>
        Store.GetMessages(Client.ResolveRoomName(room), unprintedOnly: false).Where(m => m.Text is not null).Select(m => m.Text!).ToList();

    public IReadOnlyList<StoredMessage> Messages(string room) =>
        Store.GetMessages(Client.ResolveRoomName(room), unprintedOnly: false);

    private ChatClient NewClient(Action<ChatClient>? configure, string? passphrase = null)
    {
        var secret = passphrase ?? _passphrase;
        var client = new ChatClient(Store, clientName: "client-tests", passphraseProvider: () => secret) { PassphraseCost = CheapArgon };
        configure?.Invoke(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        Store.Dispose();
        if (_ownsHome)
        {
            _home.Dispose();
        }
    }
}
