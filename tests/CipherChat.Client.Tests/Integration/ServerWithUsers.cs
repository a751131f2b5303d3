namespace CipherChat.Client.Tests.Integration;

/// <summary>
/// A real server in this process for one test, and the users registered on it (each with its own client home),
/// all disposed when the test ends.
/// </summary>
public abstract class ServerWithUsers : IAsyncLifetime
{
    protected const int Timeout = 60_000;
    private readonly List<TestUser> _users = [];
    private TestServer? _server;

    private protected TestServer Server => _server ?? throw new InvalidOperationException("the server starts before the test");

    public async ValueTask InitializeAsync() => _server = await TestServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var user in _users)
        {
            await user.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Registers <paramref name="name"/> on <paramref name="server"/> (this test's server by default).</summary>
    private protected async Task<TestUser> UserAsync(string name, string? passphrase = null, Action<ChatClient>? configure = null, TestServer? server = null)
    {
        var user = await TestUser.RegisterAsync(server ?? Server, name, passphrase, configure);
        _users.Add(user);
        return user;
    }
}
