using CipherChat.Cluster.Tests.Support;
using CipherChat.Protocol.V1;
using CipherChat.Server.Postgres;
using CipherChat.Server.Redis;
using Npgsql;

namespace CipherChat.Cluster.Tests;

/// <summary>PostgreSQL going away under a running node: requests fail clearly, then work again.</summary>
public sealed class DatabaseOutageTests
{
    [Fact]
    public async Task Sends_fail_with_a_clear_error_while_the_database_is_unreachable_and_work_again_after()
    {
        await using var cluster = await TestCluster.CreateAsync();

        // The node logs in as a role of its own, which the test can lock out and let back in.
        var role = "r_" + Guid.NewGuid().ToString("N");
        var admin = cluster.Database;
        try
        {
            await admin.ExecuteAsync($"CREATE ROLE {role} LOGIN; GRANT ALL ON SCHEMA {admin.Schema} TO {role};");
        }
        catch (PostgresException ex)
        {
            Assert.Skip($"the test role cannot create roles ({ex.SqlState}): this test needs a PostgreSQL superuser");
        }

        try
        {
            var nodeConnection = new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Username = role }.ToString();
            var bus = await RedisClusterBus.ConnectAsync(new RedisClusterOptions { Redis = cluster.Redis, Channel = cluster.Channel });
            await using var node = await PostgresChatServer.StartAsync(cluster.Options.Build(), nodeConnection, bus, cancellationToken: TestContext.Current.CancellationToken);
            await using var alice = await Clients.MemberAsync(node.Endpoint, "alice", "team");
            Assert.Equal(1UL, await Clients.SendOkAsync(alice, "team", [1]));

            await admin.ExecuteAsync($"ALTER ROLE {role} NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}';");
            var started = System.Diagnostics.Stopwatch.StartNew();
            var refused = await alice.SendMessageAsync("team", [2]);
            Assert.Equal(Frame.BodyOneofCase.Error, refused.BodyCase);
            Assert.Equal(ErrorCode.Internal, refused.Error.Code);
            Assert.Contains("storage unavailable", refused.Error.Message, StringComparison.Ordinal);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), "a send must fail, not hang, while the database is away");

            // The connection survives the outage; once the database is back the same client goes on.
            await admin.ExecuteAsync($"ALTER ROLE {role} LOGIN;");
            Assert.Equal(2UL, await Clients.SendOkAsync(alice, "team", [3]));
            Clients.AssertGapFree((await Clients.FetchAllAsync(alice, "team")).Select(e => e.Seq), 1, 2);
        }
        finally
        {
            await admin.ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'; DROP OWNED BY {role}; DROP ROLE {role};");
        }
    }
}
