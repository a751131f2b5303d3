using System.Collections.Concurrent;
using System.Diagnostics;

namespace CipherChat.LoadGen;

/// <summary>Users, rooms and connections shared by the scenarios.</summary>
public static class Setup
{
    /// <summary>Users numbered 0..count-1, member i of room i / roomSize, and their rooms' payloads.</summary>
    public static BenchUser[] CreateUsers(LoadGenOptions options, int roomCount, int roomSize, int tokensPerRoom)
    {
        ArgumentNullException.ThrowIfNull(options);
        var rooms = new RoomPayloads[roomCount];
        for (var r = 0; r < roomCount; r++)
        {
            rooms[r] = RoomPayloads.Create(r, $"{options.Prefix}r{r}", tokensPerRoom, options.PayloadBytes);
        }

        var users = new BenchUser[roomCount * roomSize];
        for (var i = 0; i < users.Length; i++)
        {
            users[i] = new BenchUser(i, $"{options.Prefix}u{i}", rooms[i / roomSize]);
        }

        return users;
    }

    public static async Task<BenchConnection> ConnectAsync(
        LoadGenOptions options, TargetOptions target, BenchUser user, CipherChatSetup setup, DeliveryRecorder recorder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(user);
        target = target.ForMember(user.Index);
        return options.Target switch
        {
            TargetKind.CipherChat => await CipherChatConnection.ConnectAsync(target, user, setup, recorder, cancellationToken).ConfigureAwait(false),
            TargetKind.Irc => await IrcConnection.ConnectAsync(target, user, recorder, cancellationToken).ConfigureAwait(false),
            _ => await NatsConnection.ConnectAsync(target, user, recorder, cancellationToken).ConfigureAwait(false),
        };
    }

    /// <summary>What connecting many users cost, and what went wrong.</summary>
    public sealed record ConnectOutcome(BenchConnection?[] Connections, double WallSeconds, LatencyHistogram ConnectLatency, int Failures, string? FirstError);

    /// <summary>Connects every user, <paramref name="parallel"/> at a time; keeps or closes the connections.</summary>
    public static async Task<ConnectOutcome> ConnectAllAsync(
        LoadGenOptions options, TargetOptions target, IReadOnlyList<BenchUser> users, CipherChatSetup setup,
        DeliveryRecorder recorder, bool keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(users);
        var connections = new BenchConnection?[users.Count];
        var latency = new LatencyHistogram();
        var errors = new ConcurrentQueue<string>();
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, users.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var begin = Stopwatch.GetTimestamp();
                try
                {
                    var connection = await ConnectAsync(options, target, users[i], setup, recorder, ct).ConfigureAwait(false);
                    latency.Record((long)Stopwatch.GetElapsedTime(begin).TotalMicroseconds);
                    if (keep)
                    {
                        connections[i] = connection;
                    }
                    else
                    {
                        await connection.DisposeAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or System.Security.Authentication.AuthenticationException)
                {
                    errors.Enqueue(ex.Message);
                }
            }).ConfigureAwait(false);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        errors.TryPeek(out var first);
        return new ConnectOutcome(connections, wall, latency, errors.Count, first);
    }

    public static async Task CloseAllAsync(IEnumerable<BenchConnection?> connections)
    {
        await Task.WhenAll(connections.Where(c => c is not null).Select(c => c!.DisposeAsync().AsTask())).ConfigureAwait(false);
    }
}
