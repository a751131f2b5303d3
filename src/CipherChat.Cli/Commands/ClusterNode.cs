using System.Runtime.CompilerServices;
using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Postgres;
using CipherChat.Server.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat server --postgres CONNSTRING [--redis HOST:PORT]</c>: a node of a cluster. Kept in its
/// own class, called only when PostgreSQL is configured, so the default SQLite server never loads
/// Npgsql or StackExchange.Redis.
/// </summary>
internal static class ClusterNode
{
    /// <summary>The PostgreSQL connection string from "Storage:Postgres" (flag --postgres, CIPHERCHAT_Storage__Postgres).</summary>
    public static string? PostgresConnectionString(IConfiguration configuration) => NullIfBlank(configuration["Storage:Postgres"]);

    /// <summary>Checks the scale-out settings before anything starts; throws ArgumentException with a clear message.</summary>
    public static void Validate(IConfiguration configuration)
    {
        var redis = NullIfBlank(configuration["ScaleOut:Redis"]);
        if (redis is not null && PostgresConnectionString(configuration) is null)
        {
            throw new ArgumentException("--redis needs --postgres: the nodes of a cluster share one PostgreSQL database.");
        }

        if (redis is not null)
        {
            BindRedis(configuration).Validate();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task<ChatServer> StartAsync(ChatServerOptions options, IConfiguration configuration, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var connectionString = PostgresConnectionString(configuration)!;
        RedisClusterBus? bus = null;
        if (NullIfBlank(configuration["ScaleOut:Redis"]) is not null)
        {
            bus = await RedisClusterBus.ConnectAsync(BindRedis(configuration), loggerFactory);
        }

        return await PostgresChatServer.StartAsync(options, connectionString, bus, loggerFactory, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Task<string> CreateInviteAsync(IConfiguration configuration, CancellationToken cancellationToken) =>
        PostgresChatServer.CreateInviteAsync(PostgresConnectionString(configuration)!, cancellationToken);

    /// <summary>One banner line describing where this node keeps its data and how it reaches the others.</summary>
    public static string Describe(IConfiguration configuration)
    {
        var redis = NullIfBlank(configuration["ScaleOut:Redis"]);
        return redis is null
            ? "Storage:      PostgreSQL (single node: add --redis HOST:PORT to run several nodes)"
            : $"Storage:      PostgreSQL, fan-out between nodes over Redis {redis.Split(',')[0]}";
    }

    private static RedisClusterOptions BindRedis(IConfiguration configuration)
    {
        var options = new RedisClusterOptions();
        configuration.GetSection("ScaleOut").Bind(options);
        return options;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
