using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CipherChat.LoadGen;

/// <summary>
/// <c>cipherchat-loadgen summarize FILE</c>: reads the JSON lines of many runs and prints, per scenario,
/// the median over runs of each target side by side (a Markdown table, pasted into docs/PERFORMANCE.md).
/// </summary>
public static class Summary
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private sealed record Row(string Scenario, string Target, JsonElement Json);

    public static string Summarize(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var rows = new List<Row>();
        foreach (var line in lines)
        {
            var trimmed = line.Trim();
            if (!trimmed.StartsWith('{'))
            {
                continue;
            }

            JsonElement json;
            try
            {
                using var doc = JsonDocument.Parse(trimmed);
                json = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                continue;
            }

            if (!json.TryGetProperty("scenario", out var scenario) || !json.TryGetProperty("target", out var target))
            {
                continue;
            }

            var name = scenario.GetString() == "fanout"
                ? $"fan-out {json.GetProperty("rooms").GetInt32()}x{json.GetProperty("members").GetInt32()}"
                : $"connections {json.GetProperty("connections").GetInt32()}";
            rows.Add(new Row(name, target.GetString() ?? "?", json));
        }

        var text = new StringBuilder();
        foreach (var group in rows.GroupBy(r => r.Scenario))
        {
            var targets = group.Select(r => r.Target).Distinct().ToArray();
            text.AppendLine(Invariant, $"### {group.Key} (median of runs)");
            text.AppendLine();
            text.AppendLine("| metric | " + string.Join(" | ", targets) + " |");
            text.AppendLine("|---|" + string.Concat(targets.Select(_ => "---:|")));
            var metrics = group.Key.StartsWith("fan-out", StringComparison.Ordinal)
                ? new[] { ("runs", "runs"), ("best delivered msg/s (p99 < limit)", "delivered_per_s"), ("offered msg/s at best", "offered_per_s"), ("p50 ms at best", "p50_ms"), ("p99 ms at best", "p99_ms"), ("p999 ms at best", "p999_ms"), ("server CPU % at best", "server_cpu_percent"), ("server CPU µs per delivery", "cpu_us_per_delivery"), ("server peak RSS MiB", "server_peak_rss_mib"), ("generator CPU % at best", "generator_cpu_percent"), ("load average", "load_average") }
                : new[] { ("runs", "runs"), ("connect all, s", "connect_s"), ("connect p50 ms", "connect_p50_ms"), ("connect p99 ms", "connect_p99_ms"), ("failures", "failures"), ("alive after hold", "alive_after_hold"), ("server RSS after, MiB", "server_rss_after_mib"), ("RSS per connection, KiB", "rss_per_connection_kib"), ("load average", "load_average") };
            foreach (var (label, key) in metrics)
            {
                text.Append(Invariant, $"| {label} |");
                foreach (var target in targets)
                {
                    var runs = group.Where(r => r.Target == target).ToArray();
                    if (key == "runs")
                    {
                        text.Append(Invariant, $" {runs.Length} |");
                        continue;
                    }

                    var values = runs.Select(r => Value(r.Json, key)).Where(double.IsFinite).OrderBy(v => v).ToArray();
                    text.Append(values.Length == 0 ? " n/a |" : string.Create(Invariant, $" {Format(Median(values))} |"));
                }

                text.AppendLine();
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    private static double Value(JsonElement json, string key)
    {
        if (key == "cpu_us_per_delivery")
        {
            // Server CPU time per delivery at the best step: how the cost grows with room size.
            var cpu = Value(json, "server_cpu_percent");
            var delivered = Value(json, "delivered_per_s");
            return delivered > 0 ? cpu / 100 * 1e6 / delivered : double.NaN;
        }

        // Fan-out headline values are absent when no step passed: count that as 0 deliveries.
        if (!json.TryGetProperty(key, out var value) || value.ValueKind != JsonValueKind.Number)
        {
            return key == "delivered_per_s" ? 0 : double.NaN;
        }

        if (key == "delivered_per_s" && json.TryGetProperty("passed", out var passed) && passed.ValueKind == JsonValueKind.False)
        {
            return 0;
        }

        return value.GetDouble();
    }

    private static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;

    private static string Format(double value) =>
        Math.Abs(value) >= 1000 ? value.ToString("N0", Invariant) : value.ToString("0.##", Invariant);
}
