using Npgsql;

namespace CipherChat.Server.Postgres.Tests.Support;

/// <summary>
/// A private schema in the test PostgreSQL (CIPHERCHAT_TEST_POSTGRES, e.g. from .ci/services.sh),
/// dropped afterwards, so tests never see each other's rows. Tests skip themselves when no server is
/// configured or it cannot be reached.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string Variable = "CIPHERCHAT_TEST_POSTGRES";

    private readonly string _adminConnectionString;

    private TestDatabase(string adminConnectionString, string schema)
    {
        _adminConnectionString = adminConnectionString;
        Schema = schema;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { SearchPath = schema }.ToString();
    }

    public string Schema { get; }

    /// <summary>Connection string whose search path is the private schema.</summary>
    public string ConnectionString { get; }

    /// <summary>The configured server's connection string, or a skip.</summary>
    public static string RequireConfigured()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            Assert.Skip($"PostgreSQL is not configured: set {Variable} (eval \"$(.ci/services.sh start)\" starts one on loopback)");
        }

        return value;
    }

    public static async Task<TestDatabase> CreateAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(RequireConfigured()) { Timeout = 3 }.ToString();
        var schema = "t_" + Guid.NewGuid().ToString("N");
        try
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema};", connection);
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Assert.Skip($"PostgreSQL from {Variable} is unreachable: {ex.Message}");
        }

        return new TestDatabase(admin, schema);
    }

    /// <summary>Runs one statement in the private schema.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {Schema} CASCADE;", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // Best effort: a leftover schema holds only test rows.
        }
    }
}
