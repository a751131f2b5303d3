using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using CipherChat.Server;
using CipherChat.Server.Hosting;
using CipherChat.Server.Sqlite;
using CipherChat.Server.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat server</c>: runs the relay on the embedded SQLite database, and
/// <c>cipherchat server invite</c>: prints a one-time invite code.
/// </summary>
/// <remarks>
/// Settings come from, lowest precedence first: appsettings.json in the current folder (section
/// "Server"), CIPHERCHAT_ environment variables (CIPHERCHAT_Server__Listen=...), then the flags.
/// </remarks>
public static class ServerCommand
{
    public static Command Create()
    {
        var listen = new Option<string?>("--listen") { Description = "ADDRESS:PORT to listen on (default 0.0.0.0:12345)" };
        var data = new Option<string?>("--data") { Description = "Data folder for the database and certificate (default: " + ChatServerOptions.DefaultDataDirectory + ")" };
        var tls = new Option<string?>("--tls") { Description = "auto (self-signed certificate, or --cert) or off (plain TCP, trusted LAN only)" };
        tls.AcceptOnlyFromAmong("auto", "off");
        var registration = new Option<string?>("--registration") { Description = "open (anyone may register) or invite (an invite code is needed)" };
        registration.AcceptOnlyFromAmong("open", "invite");
        var maxFrame = new Option<int?>("--max-frame-bytes") { Description = "Largest frame accepted (default 1048576)" };
        var cert = new Option<string?>("--cert") { Description = "A PFX certificate to use instead of the self-signed one" };
        var certPassword = new Option<string?>("--cert-password") { Description = "Password of the --cert file" };
        var health = new Option<string?>("--health") { Description = "ADDRESS:PORT for an HTTP health endpoint (/healthz, /metrics), e.g. 127.0.0.1:9090" };
        var postgres = new Option<string?>("--postgres") { Description = "Keep data in PostgreSQL instead of SQLite (Npgsql connection string); for several nodes" };
        var redis = new Option<string?>("--redis") { Description = "HOST:PORT of the Redis that carries fan-out between nodes (needs --postgres)" };

        var command = new Command("server", "Run a CipherChat server")
        {
            listen, data, tls, registration, maxFrame, cert, certPassword, health, postgres, redis,
        };
        command.Subcommands.Add(CreateInvite());
        command.SetAction(async (parse, cancellationToken) =>
        {
            var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            void Flag(string key, string? value)
            {
                if (value is not null)
                {
                    flags["Server:" + key] = value;
                }
            }

            Flag("Listen", parse.GetValue(listen));
            Flag("Data", parse.GetValue(data));
            Flag("Tls", parse.GetValue(tls));
            Flag("Registration", parse.GetValue(registration));
            Flag("MaxFrameBytes", parse.GetValue(maxFrame)?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Flag("Cert", parse.GetValue(cert));
            Flag("CertPassword", parse.GetValue(certPassword));
            Flag("Health", parse.GetValue(health));
            if (parse.GetValue(postgres) is { } postgresValue)
            {
                flags["Storage:Postgres"] = postgresValue;
            }

            if (parse.GetValue(redis) is { } redisValue)
            {
                flags["ScaleOut:Redis"] = redisValue;
            }

            return await RunAsync(flags, cancellationToken);
        });
        return command;
    }

    private static Command CreateInvite()
    {
        var data = new Option<string?>("--data") { Description = "The server's data folder" };
        var postgres = new Option<string?>("--postgres") { Description = "The cluster's PostgreSQL connection string (instead of --data)" };
        var command = new Command("invite", "Print a new one-time invite code for a server with --registration invite") { data, postgres };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = BuildConfiguration(new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
            {
                ["Server:Data"] = parse.GetValue(data),
                ["Storage:Postgres"] = parse.GetValue(postgres),
            });
            var options = BindOptions(configuration);
            try
            {
                var code = ClusterNode.PostgresConnectionString(configuration) is null
                    ? await SqliteChatServer.CreateInviteAsync(options.DataDirectory, cancellationToken)
                    : await ClusterNode.CreateInviteAsync(configuration, cancellationToken);
                Console.Out.WriteLine(code);
                return 0;
            }
            catch (ChatStoreException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 1;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(Dictionary<string, string?> flags, CancellationToken cancellationToken)
    {
        IConfiguration configuration;
        ChatServerOptions options;
        try
        {
            configuration = BuildConfiguration(flags);
            options = BindOptions(configuration);
            options.Validate();
            ClusterNode.Validate(configuration);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync("cipherchat server: " + ex.Message);
            return 2;
        }

        using var loggerFactory = LoggerFactory.Create(logging =>
        {
            logging.AddConfiguration(configuration.GetSection("Logging"));
            logging.SetMinimumLevel(LogLevel.Information);
            logging.AddFilter("Microsoft", LogLevel.Warning);
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ ";
                console.UseUtcTimestamp = true;
            });
        });

        ChatServer server;
        try
        {
            server = ClusterNode.PostgresConnectionString(configuration) is null
                ? await SqliteChatServer.StartAsync(options, loggerFactory, cancellationToken)
                : await ClusterNode.StartAsync(options, configuration, loggerFactory, cancellationToken);
        }
        catch (Exception ex) when (ex is ChatStoreException or IOException or SocketException or UnauthorizedAccessException
            or System.Security.Cryptography.CryptographicException or InvalidOperationException)
        {
            var text = ex is IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } }
                or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
                ? $"{options.Listen} is already in use (is another server running?)"
                : ex.Message;
            await Console.Error.WriteLineAsync("cipherchat server: " + text);
            return 1;
        }

        PrintBanner(server, options);

        // Stop on Ctrl-C, SIGTERM or SIGQUIT. The command-line library also reacts to these and may return
        // from Main before this action finishes, so the process-exit hook waits for the shutdown too: it
        // either completes (requests finished, database closed) or the grace period runs out.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var gate = new Lock();
        Task? stopping = null;
        Task StopOnce()
        {
            lock (gate)
            {
                return stopping ??= StopServerAsync(server);
            }
        }

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        void OnProcessExit(object? sender, EventArgs e)
        {
            stop.Cancel();
            StopOnce().Wait(TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds + 5));
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }

        await StopOnce();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        return 0;
    }

    private static async Task StopServerAsync(ChatServer server)
    {
        // Written directly: the console logger's queue may not be flushed if the process ends right after.
        Console.Out.WriteLine("Shutting down: finishing requests in progress...");
        Console.Out.Flush();
        await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
        Console.Out.WriteLine("Stopped; the database is closed.");
        Console.Out.Flush();
    }

    private static IConfiguration BuildConfiguration(Dictionary<string, string?> flags) =>
        new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false)
            .AddEnvironmentVariables("CIPHERCHAT_")
            .AddInMemoryCollection(flags)
            .Build();

    private static ChatServerOptions BindOptions(IConfiguration configuration)
    {
        var options = new ChatServerOptions();
        configuration.GetSection("Server").Bind(options);
        return options;
    }

    private static void PrintBanner(ChatServer server, ChatServerOptions options)
    {
        var output = Console.Out;
        var port = server.Endpoint.Port;
        output.WriteLine($"CipherChat server listening on {server.Endpoint} ({(server.Certificate is null ? "plain TCP, no TLS" : "TLS")})");
        output.WriteLine($"Data folder:  {options.DataDirectory}");
        output.WriteLine($"Registration: {(options.InviteRequired ? "invite only (make codes with: cipherchat server invite --data " + options.DataDirectory + ")" : "open")}");
        if (server.CertificateFingerprint is { } fingerprint)
        {
            output.WriteLine("Certificate SHA-256 fingerprint:");
            output.WriteLine("  " + fingerprint);
            output.WriteLine("Clients pin this certificate the first time they connect. Tell your friends this fingerprint");
            output.WriteLine("and ask them to check it against what 'cipherchat register' shows them.");
        }

        var addresses = ChatServer.ReachableAddresses(server.Endpoint);
        if (addresses.Count > 0)
        {
            output.WriteLine("Friends can connect to:");
            foreach (var address in addresses)
            {
                var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
                output.WriteLine($"  {host}:{port}");
            }
        }

        if (IPAddress.IsLoopback(server.Endpoint.Address))
        {
            output.WriteLine("(listening on loopback only: other machines cannot connect)");
        }

        if (server.HealthEndpoint is { } healthEndpoint)
        {
            output.WriteLine($"Health: http://{healthEndpoint}/healthz  metrics: http://{healthEndpoint}/metrics");
        }

        output.WriteLine("Press Ctrl-C to stop.");
        output.Flush();
    }
}
