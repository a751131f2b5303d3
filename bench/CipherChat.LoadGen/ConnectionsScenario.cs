namespace CipherChat.LoadGen;

/// <summary>The idle-connections run.</summary>
public sealed record ConnectionsResult(
    string Target,
    int Connections,
    int RoomSize,
    bool Tls,
    double SetupSeconds,
    double ConnectSeconds,
    double ConnectP50Ms,
    double ConnectP99Ms,
    int Failures,
    int AliveAfterHold,
    double ServerRssBeforeMiB,
    double ServerRssAfterMiB,
    double RssPerConnectionKiB,
    double ServerPeakRssMiB,
    double LoadAverage,
    string? Error);

/// <summary>
/// C idle connections, each of a user in a room of --room-size. CipherChat users are registered and
/// join their rooms first on short-lived connections (membership belongs to the user); the measured
/// connections then only log in. The server's RSS is read before and after (after a short settle).
/// </summary>
public static class ConnectionsScenario
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(20);

    public static async Task<ConnectionsResult> RunAsync(LoadGenOptions options, TargetOptions target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var roomCount = (options.Connections + options.RoomSize - 1) / options.RoomSize;
        var users = Setup.CreateUsers(options, roomCount, options.RoomSize, tokensPerRoom: 1).Take(options.Connections).ToArray();
        var recorder = new DeliveryRecorder();
        double setupSeconds = 0;
        Setup.ConnectOutcome? outcome = null;
        try
        {
            var setup = CipherChatSetup.Login;
            if (options.Target == TargetKind.CipherChat)
            {
                var registered = await Setup.ConnectAllAsync(options, target, users, CipherChatSetup.RegisterAndJoin, recorder, keep: false, cancellationToken).ConfigureAwait(false);
                setupSeconds = registered.WallSeconds;
                if (registered.Failures > 0)
                {
                    return Failed(options, setupSeconds, $"{registered.Failures} registrations failed; first: {registered.FirstError}");
                }

                // Let the server settle after the registration burst before the baseline is read.
                await Task.Delay(Settle, cancellationToken).ConfigureAwait(false);
            }

            var before = ProcessSample.Take(options.ServerPids);
            outcome = await Setup.ConnectAllAsync(options, target, users, setup, recorder, keep: true, cancellationToken).ConfigureAwait(false);
            await Task.Delay(Settle, cancellationToken).ConfigureAwait(false);
            var after = ProcessSample.Take(options.ServerPids);
            var load = ProcessSample.LoadAverage();

            // Hold, keeping the connections alive where the protocol asks the client to speak.
            var holdUntil = DateTime.UtcNow + TimeSpan.FromSeconds(options.HoldSeconds);
            var nextKeepAlive = DateTime.UtcNow + KeepAliveEvery;
            while (DateTime.UtcNow < holdUntil)
            {
                if (DateTime.UtcNow >= nextKeepAlive)
                {
                    foreach (var c in outcome.Connections)
                    {
                        c?.KeepAlive();
                    }

                    nextKeepAlive = DateTime.UtcNow + KeepAliveEvery;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            }

            var alive = outcome.Connections.Count(c => c is { IsClosed: false });
            var opened = outcome.Connections.Count(c => c is not null);
            var rssBefore = before is { } b ? b.RssKiB / 1024.0 : double.NaN;
            var rssAfter = after is { } a ? a.RssKiB / 1024.0 : double.NaN;
            var perConnection = opened == 0 ? double.NaN : (rssAfter - rssBefore) * 1024.0 / opened;
            var closedReason = outcome.Connections.FirstOrDefault(c => c is { IsClosed: true })?.CloseReason;
            return new ConnectionsResult(
                options.TargetLabel, options.Connections, options.RoomSize, options.Tls, setupSeconds,
                outcome.WallSeconds, outcome.ConnectLatency.QuantileMs(0.5), outcome.ConnectLatency.QuantileMs(0.99),
                outcome.Failures, alive, rssBefore, rssAfter, perConnection,
                after is { } p ? p.PeakRssKiB / 1024.0 : double.NaN, load,
                outcome.Failures > 0 ? $"{outcome.Failures} connections failed; first: {outcome.FirstError}"
                    : alive < opened ? $"{opened - alive} connections closed during the hold; first reason: {closedReason}" : null);
        }
        finally
        {
            if (outcome is not null)
            {
                await Setup.CloseAllAsync(outcome.Connections).ConfigureAwait(false);
            }

            foreach (var user in users)
            {
                user.Dispose();
            }
        }
    }

    private static ConnectionsResult Failed(LoadGenOptions options, double setupSeconds, string error) =>
        new(options.TargetLabel, options.Connections, options.RoomSize, options.Tls, setupSeconds, double.NaN, double.NaN, double.NaN,
            options.Connections, 0, double.NaN, double.NaN, double.NaN, double.NaN, ProcessSample.LoadAverage(), error);
}
