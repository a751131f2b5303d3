using System.Diagnostics;

namespace CipherChat.LoadGen;

/// <summary>One rate step of the fan-out scenario.</summary>
public sealed record FanOutStep(
    double OfferedPerSecond,
    double SentPerSecond,
    double DeliveredPerSecond,
    double DeliveryRatio,
    double P50Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double ServerCpuPercent,
    double ServerRssMiB,
    double ServerPeakRssMiB,
    double GeneratorCpuPercent,
    double PacerLagMs,
    long Acked,
    long Errors,
    long RateLimited,
    int ClosedConnections,
    double LoadAverage,
    bool Passed,
    string? Failure);

/// <summary>The fan-out run: setup, then the rate steps.</summary>
public sealed record FanOutResult(string Target, int Rooms, int Members, bool Tls, double SetupSeconds, IReadOnlyList<FanOutStep> Steps, string? Error)
{
    /// <summary>The passing step with the most deliveries per second, if any.</summary>
    public FanOutStep? Best => Steps.Where(s => s.Passed).MaxBy(s => s.DeliveredPerSecond);
}

/// <summary>
/// R rooms of M members; every member sends to its room; the pacer offers a fixed total rate spread
/// evenly over the members (round robin, rooms interleaved), and every delivery is timed.
/// </summary>
public static class FanOutScenario
{
    private const int TokensPerRoom = 8;

    public static async Task<FanOutResult> RunAsync(LoadGenOptions options, TargetOptions target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var users = Setup.CreateUsers(options, options.Rooms, options.Members, TokensPerRoom);
        var recorder = new DeliveryRecorder();
        var outcome = await Setup.ConnectAllAsync(options, target, users, CipherChatSetup.RegisterAndJoin, recorder, keep: true, cancellationToken).ConfigureAwait(false);
        var steps = new List<FanOutStep>();
        try
        {
            if (outcome.Failures > 0)
            {
                return new FanOutResult(options.TargetLabel, options.Rooms, options.Members, options.Tls, outcome.WallSeconds, steps,
                    $"{outcome.Failures} of {users.Length} connections failed to set up; first: {outcome.FirstError}");
            }

            // Every entry is set (no failures); a dropped member's entry is replaced when it reconnects.
            var connections = outcome.Connections;

            // Senders interleaved by room: consecutive messages go to different rooms.
            var order = new int[connections.Length];
            var n = 0;
            for (var m = 0; m < options.Members; m++)
            {
                for (var r = 0; r < options.Rooms; r++)
                {
                    order[n++] = (r * options.Members) + m;
                }
            }

            var senders = order.Select(i => connections[i]!).ToArray();

            // Let the join traffic settle.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);

            foreach (var rate in Plan(options, steps))
            {
                // The first step may warm up longer: a server on a JIT runtime starts with unoptimized code.
                var warmup = steps.Count == 0 ? options.FirstWarmupSeconds ?? options.WarmupSeconds : options.WarmupSeconds;
                var step = await RunStepAsync(options, senders, recorder, rate, warmup, cancellationToken).ConfigureAwait(false);
                steps.Add(step);
                await SettleAsync(recorder, cancellationToken).ConfigureAwait(false);
                if (step.ClosedConnections > 0)
                {
                    // The server dropped members (too slow for them, or they for it): log them in again
                    // so that the search can go on at lower rates.
                    var error = await ReconnectAsync(options, target, users, connections, recorder, cancellationToken).ConfigureAwait(false);
                    if (error is not null)
                    {
                        return new FanOutResult(options.TargetLabel, options.Rooms, options.Members, options.Tls, outcome.WallSeconds, steps, error);
                    }

                    for (var k = 0; k < order.Length; k++)
                    {
                        senders[k] = connections[order[k]]!;
                    }
                }
            }

            return new FanOutResult(options.TargetLabel, options.Rooms, options.Members, options.Tls, outcome.WallSeconds, steps, null);
        }
        finally
        {
            await Setup.CloseAllAsync(outcome.Connections).ConfigureAwait(false);
            foreach (var user in users)
            {
                user.Dispose();
            }
        }
    }

    private static async Task<string?> ReconnectAsync(
        LoadGenOptions options, TargetOptions target, BenchUser[] users, BenchConnection?[] connections, DeliveryRecorder recorder, CancellationToken cancellationToken)
    {
        var closed = Enumerable.Range(0, connections.Length).Where(i => connections[i] is { IsClosed: true }).ToArray();
        string? error = null;
        await Parallel.ForEachAsync(
            closed,
            new ParallelOptions { MaxDegreeOfParallelism = options.Parallel, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                await connections[i]!.DisposeAsync().ConfigureAwait(false);
                try
                {
                    connections[i] = await Setup.ConnectAsync(options, target, users[i], CipherChatSetup.Login, recorder, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or System.Security.Authentication.AuthenticationException)
                {
                    error ??= $"reconnecting a dropped member failed: {ex.Message}";
                }
            }).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        return error;
    }

    /// <summary>
    /// The rates to try. With --find: from --rate, multiplied by --factor while steps pass; a failing
    /// rate is run again (up to --retries times) before it counts as failed; after that, one step
    /// halfway (geometrically) between the last pass and the failure. When the first rate fails, the
    /// rate is divided by --factor until a step passes, then refined the same way.
    /// </summary>
    private static IEnumerable<double> Plan(LoadGenOptions options, IReadOnlyList<FanOutStep> done)
    {
        if (options.Rates is { } rates)
        {
            foreach (var rate in rates)
            {
                yield return rate;
            }

            yield break;
        }

        if (!options.Find)
        {
            yield return options.Rate;
            yield break;
        }

        var next = options.Rate;
        var goingUp = true;
        var retriesLeft = options.Retries;
        double? lastPassed = null;
        double? lastFailed = null;
        for (var i = 0; i < options.MaxSteps; i++)
        {
            yield return next;
            if (done[^1].Passed)
            {
                lastPassed = next;
                retriesLeft = options.Retries;
                if (!goingUp)
                {
                    break;
                }

                next = Math.Round(next * options.Factor);
                continue;
            }

            if (retriesLeft > 0)
            {
                retriesLeft--;
                continue;
            }

            lastFailed = next;
            retriesLeft = options.Retries;
            if (lastPassed is not null)
            {
                break;
            }

            goingUp = false;
            next = Math.Max(1, Math.Round(next / options.Factor));
        }

        // The boundary lies between the last pass and the first failure above it: try once between them.
        if (lastPassed is { } low && lastFailed is { } high && high > low && done.Count < options.MaxSteps)
        {
            yield return Math.Round(Math.Sqrt(low * high));
        }
    }

    private static async Task<FanOutStep> RunStepAsync(
        LoadGenOptions options, BenchConnection[] senders, DeliveryRecorder recorder, double rate, double warmupSeconds, CancellationToken cancellationToken)
    {
        var frequency = Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp() + (frequency / 20);
        var windowStart = start + (long)(warmupSeconds * frequency);
        var windowEnd = windowStart + (long)(options.DurationSeconds * frequency);
        recorder.OpenWindow(windowStart, windowEnd);

        var pacer = new Pacer(senders, rate, start, windowStart, windowEnd);
        var thread = new Thread(pacer.Run) { IsBackground = true, Name = "pacer", Priority = ThreadPriority.AboveNormal };
        thread.Start();

        await DelayUntilAsync(windowStart, cancellationToken).ConfigureAwait(false);
        var serverBefore = ProcessSample.Take(options.ServerPids);
        var selfBefore = ProcessSample.Take(Environment.ProcessId);
        await DelayUntilAsync(windowEnd, cancellationToken).ConfigureAwait(false);
        var serverAfter = ProcessSample.Take(options.ServerPids);
        var selfAfter = ProcessSample.Take(Environment.ProcessId);
        var load = ProcessSample.LoadAverage();
        thread.Join();

        // Wait for late deliveries: until everything expected arrived, nothing arrived for a while, or the drain time is up.
        var recipients = options.Members - 1;
        var expected = pacer.SentInWindow * recipients;
        var drainEnd = Stopwatch.GetTimestamp() + (long)(options.DrainSeconds * frequency);
        var lastCount = -1L;
        var quietSince = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < drainEnd)
        {
            var count = recorder.Delivered;
            if (count >= expected)
            {
                break;
            }

            if (count != lastCount)
            {
                lastCount = count;
                quietSince = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(quietSince) > TimeSpan.FromMilliseconds(500))
            {
                break;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        var seconds = options.DurationSeconds;
        var delivered = recorder.Delivered;
        var ratio = expected == 0 ? 0 : (double)delivered / expected;
        var latency = recorder.Latency;
        var p99 = latency.QuantileMs(0.99);
        var closed = senders.Count(c => c.IsClosed);
        string? failure = null;
        if (closed > 0)
        {
            failure = $"{closed} connections closed; first reason: {senders.First(c => c.IsClosed).CloseReason}";
        }
        else if (pacer.Skipped > 0)
        {
            failure = $"{pacer.Skipped} sends skipped";
        }
        else if (recorder.Errors > 0)
        {
            failure = $"{recorder.Errors} error replies ({recorder.RateLimited} rate limited)";
        }
        else if (ratio < 0.99)
        {
            failure = $"only {ratio:P1} of the expected deliveries arrived";
        }
        else if (!(p99 < options.P99LimitMs))
        {
            failure = $"p99 {p99:F1} ms is not under {options.P99LimitMs} ms";
        }

        var generatorCpu = ProcessSample.CpuPercent(selfBefore, selfAfter);
        if (failure is not null && generatorCpu >= 90)
        {
            // One core cannot receive more: the server's own limit lies higher than this step shows.
            failure += $" (generator saturated at {generatorCpu:F0}% CPU)";
        }

        return new FanOutStep(
            OfferedPerSecond: rate,
            SentPerSecond: pacer.SentInWindow / seconds,
            DeliveredPerSecond: delivered / seconds,
            DeliveryRatio: ratio,
            P50Ms: latency.QuantileMs(0.50),
            P99Ms: p99,
            P999Ms: latency.QuantileMs(0.999),
            MaxMs: latency.MaxMs,
            ServerCpuPercent: ProcessSample.CpuPercent(serverBefore, serverAfter),
            ServerRssMiB: serverAfter is { } a ? a.RssKiB / 1024.0 : double.NaN,
            ServerPeakRssMiB: serverAfter is { } b ? b.PeakRssKiB / 1024.0 : double.NaN,
            GeneratorCpuPercent: generatorCpu,
            PacerLagMs: pacer.MaxLagMs,
            Acked: recorder.Acked,
            Errors: recorder.Errors,
            RateLimited: recorder.RateLimited,
            ClosedConnections: closed,
            LoadAverage: load,
            Passed: failure is null,
            Failure: failure);
    }

    /// <summary>
    /// Lets a backlog left by an overloaded step drain before the next one starts (so one step's
    /// leftovers do not load the next): waits until nothing has arrived for 500 ms, at most 20 s.
    /// </summary>
    private static async Task SettleAsync(DeliveryRecorder recorder, CancellationToken cancellationToken)
    {
        var limit = Stopwatch.GetTimestamp() + (20 * Stopwatch.Frequency);
        var last = recorder.ReceivedTotal;
        var quietSince = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < limit && Stopwatch.GetElapsedTime(quietSince) < TimeSpan.FromMilliseconds(500))
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            var now = recorder.ReceivedTotal;
            if (now != last)
            {
                last = now;
                quietSince = Stopwatch.GetTimestamp();
            }
        }
    }

    private static async Task DelayUntilAsync(long stamp, CancellationToken cancellationToken)
    {
        var remaining = stamp - Stopwatch.GetTimestamp();
        if (remaining > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Offers messages on a schedule (message k is due at start + k / rate) on its own thread, sleeping
    /// in between; a backlog is sent at once, so a slow server shows up as latency, never as a lower
    /// offered rate (open loop).
    /// </summary>
    private sealed class Pacer(BenchConnection[] senders, double rate, long start, long windowStart, long windowEnd)
    {
        public long SentInWindow { get; private set; }

        public long Skipped { get; private set; }

        public double MaxLagMs { get; private set; }

        public void Run()
        {
            var ticksPerMessage = Stopwatch.Frequency / rate;
            long k = 0;
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= windowEnd)
                {
                    return;
                }

                if (now >= start)
                {
                    var due = (long)((now - start) / ticksPerMessage) + 1;
                    if (due > k)
                    {
                        var lag = (now - (start + (long)(k * ticksPerMessage))) * 1000.0 / Stopwatch.Frequency;
                        if (lag > MaxLagMs)
                        {
                            MaxLagMs = lag;
                        }
                    }

                    for (; k < due; k++)
                    {
                        var stamp = senders[k % senders.Length].SendMessage(k);
                        if (stamp == 0)
                        {
                            Skipped++;
                        }
                        else if (stamp >= windowStart && stamp < windowEnd)
                        {
                            SentInWindow++;
                        }
                    }
                }

                Thread.Sleep(1);
            }
        }
    }
}
