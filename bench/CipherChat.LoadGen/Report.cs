using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CipherChat.LoadGen;

/// <summary>The human table and the one-line JSON of a run.</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Table(FanOutResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder();
        text.AppendLine(Invariant, $"fan-out {result.Rooms}x{result.Members} against {result.Target} (TLS {(result.Tls ? "on" : "off")}), setup {result.SetupSeconds:F1} s");
        if (result.Error is not null)
        {
            text.AppendLine(Invariant, $"error: {result.Error}");
        }

        text.AppendLine("offered/s  sent/s     delivered/s  ratio   p50 ms  p99 ms  p999 ms  max ms   srv cpu%  srv rss MiB  srv peak MiB  gen cpu%  lag ms  errors  load  result");
        foreach (var s in result.Steps)
        {
            text.AppendLine(Invariant,
                $"{s.OfferedPerSecond,9:F0}  {s.SentPerSecond,9:F0}  {s.DeliveredPerSecond,11:F0}  {s.DeliveryRatio,6:P1}  {s.P50Ms,6:F2}  {s.P99Ms,6:F2}  {s.P999Ms,7:F2}  {s.MaxMs,7:F1}  {s.ServerCpuPercent,8:F0}  {s.ServerRssMiB,11:F1}  {s.ServerPeakRssMiB,12:F1}  {s.GeneratorCpuPercent,8:F0}  {s.PacerLagMs,6:F1}  {s.Errors,6}  {s.LoadAverage,4:F1}  {(s.Passed ? "pass" : "FAIL: " + s.Failure)}");
        }

        var best = result.Best;
        text.AppendLine(best is null
            ? "best: no step passed"
            : string.Create(Invariant, $"best: {best.DeliveredPerSecond:F0} deliveries/s at offered {best.OfferedPerSecond:F0} msg/s, p99 {best.P99Ms:F2} ms"));
        return text.ToString();
    }

    public static string Table(ConnectionsResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var text = new StringBuilder();
        text.AppendLine(Invariant, $"connections: {r.Connections} idle, rooms of {r.RoomSize}, against {r.Target} (TLS {(r.Tls ? "on" : "off")})");
        if (r.Error is not null)
        {
            text.AppendLine(Invariant, $"error: {r.Error}");
        }

        text.AppendLine(Invariant, $"  account setup        {r.SetupSeconds,10:F2} s");
        text.AppendLine(Invariant, $"  connect all          {r.ConnectSeconds,10:F2} s   ({r.Connections / r.ConnectSeconds:F0} connections/s)");
        text.AppendLine(Invariant, $"  connect p50 / p99    {r.ConnectP50Ms,10:F2} / {r.ConnectP99Ms:F2} ms");
        text.AppendLine(Invariant, $"  failures             {r.Failures,10}");
        text.AppendLine(Invariant, $"  alive after hold     {r.AliveAfterHold,10}");
        text.AppendLine(Invariant, $"  server RSS before    {r.ServerRssBeforeMiB,10:F1} MiB");
        text.AppendLine(Invariant, $"  server RSS after     {r.ServerRssAfterMiB,10:F1} MiB");
        text.AppendLine(Invariant, $"  RSS per connection   {r.RssPerConnectionKiB,10:F2} KiB");
        text.AppendLine(Invariant, $"  server peak RSS      {r.ServerPeakRssMiB,10:F1} MiB");
        text.AppendLine(Invariant, $"  load average         {r.LoadAverage,10:F2}");
        return text.ToString();
    }

    public static string Json(FanOutResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("scenario", "fanout");
            w.WriteString("target", result.Target);
            w.WriteNumber("rooms", result.Rooms);
            w.WriteNumber("members", result.Members);
            w.WriteBoolean("tls", result.Tls);
            w.WriteNumber("setup_s", Round(result.SetupSeconds));
            if (result.Error is not null)
            {
                w.WriteString("error", result.Error);
            }

            // The headline: the best passing step, or the only step of a single-rate run.
            var headline = result.Best ?? (result.Steps.Count == 1 ? result.Steps[0] : null);
            if (headline is not null)
            {
                WriteStep(w, headline);
            }

            w.WritePropertyName("steps");
            w.WriteStartArray();
            foreach (var step in result.Steps)
            {
                w.WriteStartObject();
                WriteStep(w, step);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Json(ConnectionsResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("scenario", "connections");
            w.WriteString("target", r.Target);
            w.WriteNumber("connections", r.Connections);
            w.WriteNumber("room_size", r.RoomSize);
            w.WriteBoolean("tls", r.Tls);
            Number(w, "setup_s", r.SetupSeconds);
            Number(w, "connect_s", r.ConnectSeconds);
            Number(w, "connect_p50_ms", r.ConnectP50Ms);
            Number(w, "connect_p99_ms", r.ConnectP99Ms);
            w.WriteNumber("failures", r.Failures);
            w.WriteNumber("alive_after_hold", r.AliveAfterHold);
            Number(w, "server_rss_before_mib", r.ServerRssBeforeMiB);
            Number(w, "server_rss_after_mib", r.ServerRssAfterMiB);
            Number(w, "rss_per_connection_kib", r.RssPerConnectionKiB);
            Number(w, "server_peak_rss_mib", r.ServerPeakRssMiB);
            Number(w, "load_average", r.LoadAverage);
            if (r.Error is not null)
            {
                w.WriteString("error", r.Error);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteStep(Utf8JsonWriter w, FanOutStep s)
    {
        Number(w, "offered_per_s", s.OfferedPerSecond);
        Number(w, "sent_per_s", s.SentPerSecond);
        Number(w, "delivered_per_s", s.DeliveredPerSecond);
        Number(w, "delivery_ratio", s.DeliveryRatio);
        Number(w, "p50_ms", s.P50Ms);
        Number(w, "p99_ms", s.P99Ms);
        Number(w, "p999_ms", s.P999Ms);
        Number(w, "max_ms", s.MaxMs);
        Number(w, "server_cpu_percent", s.ServerCpuPercent);
        Number(w, "server_rss_mib", s.ServerRssMiB);
        Number(w, "server_peak_rss_mib", s.ServerPeakRssMiB);
        Number(w, "generator_cpu_percent", s.GeneratorCpuPercent);
        Number(w, "pacer_lag_ms", s.PacerLagMs);
        w.WriteNumber("acked", s.Acked);
        w.WriteNumber("errors", s.Errors);
        w.WriteNumber("rate_limited", s.RateLimited);
        w.WriteNumber("closed_connections", s.ClosedConnections);
        Number(w, "load_average", s.LoadAverage);
        w.WriteBoolean("passed", s.Passed);
        if (s.Failure is not null)
        {
            w.WriteString("failure", s.Failure);
        }
    }

    /// <summary>JSON has no NaN: an unknown value is null.</summary>
    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, Round(value));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static double Round(double value) => Math.Round(value, 3);
}
