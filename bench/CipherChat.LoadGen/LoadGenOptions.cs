using System.Globalization;
using System.Net;

namespace CipherChat.LoadGen;

/// <summary>The command line of the generator (see <see cref="Usage"/>).</summary>
public sealed class LoadGenOptions
{
    public const string Usage = """
        cipherchat-loadgen SCENARIO [options]
        cipherchat-loadgen summarize FILE   medians of the JSON lines in FILE, targets side by side

        Scenarios:
          fanout        R rooms x M members, every member sending at a fixed total offered rate;
                        with --find the rate is raised step by step until p99 >= 100 ms or messages go missing.
          connections   C idle connections, each in a room; connect time and server RSS per connection.

        Target:
          --target cipherchat|irc|nats   (default cipherchat)
          --server HOST:PORT[,HOST:PORT]  loopback address of the server (default 127.0.0.1:12345); with several
                                  (the nodes of a cluster), member i connects to address i mod N, so a
                                  room's members sit on every node and deliveries cross between nodes
          --tls on|off                   CipherChat only (default on)
          --fingerprint HEX              pin the server certificate's SHA-256 (default: accept the loopback server's)
          --server-pid PID[,PID]         read the server's CPU and memory from /proc/PID (summed over several)
          --label TEXT                   name of the target in the output (default: the target kind)

        Fan-out:
          --rooms R --members M          (default 1 x 100)
          --rate N                       total offered messages per second (default 2000)
          --rates N,N,...                explicit rate steps
          --find                         step the rate up from --rate by --factor (default 1.5), at most --max-steps (12)
          --retries N                    with --find, run a failing rate again up to N times (default 1) before
                                         calling it the limit: one latency spike does not end a search
          --duration S                   measured seconds per step (default 5)
          --warmup S                     unmeasured seconds before each step (default 1)
          --first-warmup S               unmeasured seconds before the first step (default: --warmup)
          --drain S                      longest wait for late deliveries after a step (default 2)
          --p99-limit MS                 the latency bar of --find (default 100)
          --payload-bytes N              plaintext bytes in each Fernet token (default 200)

        Connections:
          --connections C                (default 1000)
          --room-size N                  members per room (default 10)
          --hold S                       seconds to hold the idle connections (default 5)

        Common:
          --parallel N                   connections being set up at once (default 64)
          --source-addresses N           spread client sockets over 127.0.0.1..N (default 8)
          --prefix TEXT                  user and room name prefix (default: random)
          --json                         print one JSON object (one line) instead of the table
        """;

    public string Scenario { get; private set; } = "";
    public TargetKind Target { get; private set; } = TargetKind.CipherChat;
    public string? Label { get; private set; }
    public IPEndPoint Server => Servers[0];
    public IReadOnlyList<IPEndPoint> Servers { get; private set; } = [new(IPAddress.Loopback, 12345)];
    public bool Tls { get; private set; } = true;
    public string? Fingerprint { get; private set; }
    public IReadOnlyList<int> ServerPids { get; private set; } = [];
    public int Rooms { get; private set; } = 1;
    public int Members { get; private set; } = 100;
    public double Rate { get; private set; } = 2000;
    public IReadOnlyList<double>? Rates { get; private set; }
    public bool Find { get; private set; }
    public double Factor { get; private set; } = 1.5;
    public int MaxSteps { get; private set; } = 12;
    public int Retries { get; private set; } = 1;
    public double DurationSeconds { get; private set; } = 5;
    public double WarmupSeconds { get; private set; } = 1;
    public double? FirstWarmupSeconds { get; private set; }
    public double DrainSeconds { get; private set; } = 2;
    public double P99LimitMs { get; private set; } = 100;
    public int PayloadBytes { get; private set; } = 200;
    public int Connections { get; private set; } = 1000;
    public int RoomSize { get; private set; } = 10;
    public double HoldSeconds { get; private set; } = 5;
    public int Parallel { get; private set; } = 64;
    public int SourceAddresses { get; private set; } = 8;
    public string Prefix { get; private set; } = "lg" + Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..5];
    public bool Json { get; private set; }

    public string TargetLabel => Label ?? Target switch
    {
        TargetKind.CipherChat => Tls ? "cipherchat-tls" : "cipherchat",
        TargetKind.Irc => "irc",
        _ => "nats",
    };

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static LoadGenOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new LoadGenOptions();
        if (args.Count == 0 || args[0] is not ("fanout" or "connections"))
        {
            throw new ArgumentException("the first argument is the scenario: fanout or connections");
        }

        o.Scenario = args[0];
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--target":
                    o.Target = Value() switch
                    {
                        "cipherchat" => TargetKind.CipherChat,
                        "irc" => TargetKind.Irc,
                        "nats" => TargetKind.Nats,
                        var v => throw new ArgumentException($"unknown target '{v}'"),
                    };
                    break;
                case "--server": o.Servers = Value().Split(',').Select(ParseEndpoint).ToArray(); break;
                case "--tls": o.Tls = Value() switch { "on" => true, "off" => false, var v => throw new ArgumentException($"--tls on|off, not '{v}'") }; break;
                case "--fingerprint": o.Fingerprint = Value(); break;
                case "--server-pid": o.ServerPids = Value().Split(',').Select(v => Int(v, name, 1)).ToArray(); break;
                case "--label": o.Label = Value(); break;
                case "--rooms": o.Rooms = Int(Value(), name, 1); break;
                case "--members": o.Members = Int(Value(), name, 2); break;
                case "--rate": o.Rate = Number(Value(), name); break;
                case "--rates": o.Rates = Value().Split(',').Select(v => Number(v, name)).ToArray(); break;
                case "--find": o.Find = true; break;
                case "--factor": o.Factor = Number(Value(), name); break;
                case "--max-steps": o.MaxSteps = Int(Value(), name, 1); break;
                case "--retries": o.Retries = Int(Value(), name, 0); break;
                case "--duration": o.DurationSeconds = Number(Value(), name); break;
                case "--warmup": o.WarmupSeconds = Number(Value(), name, allowZero: true); break;
                case "--first-warmup": o.FirstWarmupSeconds = Number(Value(), name, allowZero: true); break;
                case "--drain": o.DrainSeconds = Number(Value(), name, allowZero: true); break;
                case "--p99-limit": o.P99LimitMs = Number(Value(), name); break;
                case "--payload-bytes": o.PayloadBytes = Int(Value(), name, 1); break;
                case "--connections": o.Connections = Int(Value(), name, 1); break;
                case "--room-size": o.RoomSize = Int(Value(), name, 1); break;
                case "--hold": o.HoldSeconds = Number(Value(), name, allowZero: true); break;
                case "--parallel": o.Parallel = Int(Value(), name, 1); break;
                case "--source-addresses": o.SourceAddresses = Int(Value(), name, 1); break;
                case "--prefix": o.Prefix = Value(); break;
                case "--json": o.Json = true; break;
                default: throw new ArgumentException($"unknown option '{name}'");
            }
        }

        if (!o.Servers.All(s => IPAddress.IsLoopback(s.Address)))
        {
            throw new ArgumentException("the generator only targets loopback addresses (127.0.0.0/8, ::1)");
        }

        if (o.Factor <= 1)
        {
            throw new ArgumentException("--factor must be above 1");
        }

        if (o.Target != TargetKind.CipherChat)
        {
            o.Tls = false;
        }

        return o;
    }

    private static IPEndPoint ParseEndpoint(string text) =>
        IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port != 0
            ? endpoint
            : throw new ArgumentException($"--server wants HOST:PORT with a numeric loopback address, not '{text}'");

    private static int Int(string text, string name, int min) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min
            ? v
            : throw new ArgumentException($"{name} wants a whole number of at least {min}, not '{text}'");

    private static double Number(string text, string name, bool allowZero = false) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && (v > 0 || (allowZero && v == 0)) && double.IsFinite(v)
            ? v
            : throw new ArgumentException($"{name} wants a positive number, not '{text}'");
}
