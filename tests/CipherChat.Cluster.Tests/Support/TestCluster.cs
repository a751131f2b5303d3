using CipherChat.Server.Hosting;
using CipherChat.Server.Postgres;
using CipherChat.Server.Postgres.Tests.Support;
using CipherChat.Server.Redis;
using CipherChat.Server.Tests.Support;
using StackExchange.Redis;

namespace CipherChat.Cluster.Tests.Support;

/// <summary>
/// Server nodes in this process sharing one private PostgreSQL schema and one Redis channel (so
/// tests running at once never hear each other). Skips when PostgreSQL or Redis is missing.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public const string RedisVariable = "CIPHERCHAT_TEST_REDIS";

    private readonly List<ChatServer> _nodes = [];
    private readonly TempDirectory _directory = new();

    private TestCluster(TestDatabase database, string redis)
    {
        Database = database;
        Redis = redis;
    }

    public TestDatabase Database { get; }

    /// <summary>HOST:PORT of the Redis the nodes use.</summary>
    public string Redis { get; set; }

    public string Channel { get; } = "cipherchat:test:" + Guid.NewGuid().ToString("N");

    public string DataDirectory => _directory.Path;

    /// <summary>A cluster on the configured services; <paramref name="redis"/> overrides the Redis address.</summary>
    public static async Task<TestCluster> CreateAsync(string? redis = null)
    {
        redis ??= await RequireRedisAsync();
        var database = await TestDatabase.CreateAsync();
        return new TestCluster(database, redis);
    }

    /// <summary>The configured Redis, or a skip when it is not configured or does not answer.</summary>
    public static async Task<string> RequireRedisAsync()
    {
        var value = Environment.GetEnvironmentVariable(RedisVariable);
        if (string.IsNullOrWhiteSpace(value))
        {
            Assert.Skip($"Redis is not configured: set {RedisVariable} (eval \"$(.ci/services.sh start)\" starts one on loopback)");
        }

        try
        {
            await using var probe = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { value }, ConnectTimeout = 3000, AbortOnConnectFail = true });
            await probe.GetDatabase().PingAsync();
        }
        catch (RedisException ex)
        {
            Assert.Skip($"Redis from {RedisVariable} is unreachable: {ex.Message}");
        }

        return value;
    }

    /// <summary>Options for a node: loopback, any port, no TLS, no send rate limit in the way.</summary>
    public ChatServerOptionsBuilder Options => new(DataDirectory);

    /// <summary>Starts one more node on the shared database and Redis.</summary>
    /// <remarks>
    /// <paramref name="catchUpIntervalSeconds"/> is how often the node compares its rooms with the
    /// database; an hour leaves Redis as the only fast path, to prove it carries the fan-out.
    /// </remarks>
    public async Task<ChatServer> StartNodeAsync(double catchUpIntervalSeconds = 0.5)
    {
        var bus = await RedisClusterBus.ConnectAsync(new RedisClusterOptions { Redis = Redis, Channel = Channel, CatchUpIntervalSeconds = catchUpIntervalSeconds });
        var node = await PostgresChatServer.StartAsync(Options.Build(), Database.ConnectionString, bus, cancellationToken: TestContext.Current.CancellationToken);
        _nodes.Add(node);
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync();
        }

        await Database.DisposeAsync();
        _directory.Dispose();
    }

    internal sealed class ChatServerOptionsBuilder(string dataDirectory)
    {
        public CipherChat.Server.ChatServerOptions Build() => TestServer.Options(dataDirectory, o =>
        {
            o.SendRatePerSecond = 100_000;
            o.SendBurst = 100_000;
            o.OutboundQueueFrames = 4096;
        });
    }
}
