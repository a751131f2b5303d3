using System.Globalization;

namespace CipherChat.LoadGen;

/// <summary>CPU time and memory of a process, read from Linux's /proc.</summary>
public readonly record struct ProcessSample(long CpuTicks, long RssKiB, long PeakRssKiB, DateTime TakenAt)
{
    /// <summary>Clock ticks per second of utime/stime (USER_HZ), 100 on every Linux build in use.</summary>
    public const double TicksPerSecond = 100.0;

    /// <summary>Reads /proc/PID/stat and /proc/PID/status; null when the process is gone or not Linux.</summary>
    public static ProcessSample? Take(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name may hold spaces and parentheses; fields after the last ')' are fixed.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // rest[0] is field 3 (state); utime is field 14, stime field 15.
            var utime = long.Parse(rest[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(rest[12], CultureInfo.InvariantCulture);
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKiB(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = ParseKiB(line);
                }
            }

            return new ProcessSample(utime + stime, rss, hwm, DateTime.UtcNow);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The sum over several processes (the nodes of a cluster); null when none is given or one is gone.</summary>
    public static ProcessSample? Take(IReadOnlyList<int> pids)
    {
        ArgumentNullException.ThrowIfNull(pids);
        if (pids.Count == 0)
        {
            return null;
        }

        long cpu = 0, rss = 0, peak = 0;
        foreach (var pid in pids)
        {
            if (Take(pid) is not { } one)
            {
                return null;
            }

            cpu += one.CpuTicks;
            rss += one.RssKiB;
            peak += one.PeakRssKiB;
        }

        return new ProcessSample(cpu, rss, peak, DateTime.UtcNow);
    }

    /// <summary>CPU use between two samples, in percent of one core.</summary>
    public static double CpuPercent(ProcessSample? before, ProcessSample? after)
    {
        if (before is not { } b || after is not { } a)
        {
            return double.NaN;
        }

        var seconds = (a.TakenAt - b.TakenAt).TotalSeconds;
        return seconds <= 0 ? double.NaN : 100.0 * (a.CpuTicks - b.CpuTicks) / TicksPerSecond / seconds;
    }

    private static long ParseKiB(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    /// <summary>The machine's 1-minute load average, or NaN.</summary>
    public static double LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ')), CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return double.NaN;
        }
    }
}
