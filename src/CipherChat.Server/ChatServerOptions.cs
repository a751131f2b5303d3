using System.Net;
using CipherChat.Protocol;

namespace CipherChat.Server;

/// <summary>How a server runs. Bound from configuration section "Server" (CIPHERCHAT_Server__Listen, ...).</summary>
public sealed class ChatServerOptions
{
    /// <summary>The port CipherChat uses unless told otherwise.</summary>
    public const int DefaultPort = 12345;

    /// <summary>Address and port to listen on: "0.0.0.0:12345", "[::]:12345", "127.0.0.1:0" (any free port).</summary>
    public string Listen { get; set; } = "0.0.0.0:" + DefaultPort;

    /// <summary>Folder for the database and the self-signed certificate. Empty means <see cref="DefaultDataDirectory"/>.</summary>
    public string? Data { get; set; }

    /// <summary>"auto" (self-signed certificate in the data folder, or <see cref="Cert"/>) or "off" (plain TCP).</summary>
    public string Tls { get; set; } = "auto";

    /// <summary>A PFX file to use instead of the self-signed certificate.</summary>
    public string? Cert { get; set; }

    public string? CertPassword { get; set; }

    /// <summary>"open" or "invite".</summary>
    public string Registration { get; set; } = "open";

    /// <summary>Name announced in HelloOk.</summary>
    public string ServerName { get; set; } = "cipherchat";

    public int MaxFrameBytes { get; set; } = ProtocolLimits.DefaultMaxFrameBytes;

    public int MaxPayloadBytes { get; set; } = ProtocolLimits.DefaultMaxPayloadBytes;

    public double HandshakeTimeoutSeconds { get; set; } = 10;

    public double IdleTimeoutSeconds { get; set; } = 90;

    /// <summary>Sends per second a connection may sustain (token bucket refill rate).</summary>
    public double SendRatePerSecond { get; set; } = 20;

    /// <summary>Sends a connection may make in a burst (token bucket size).</summary>
    public int SendBurst { get; set; } = 50;

    /// <summary>Frames queued for one client before it counts as not reading and is disconnected.</summary>
    public int OutboundQueueFrames { get; set; } = 256;

    /// <summary>How long shutdown waits for connections to finish before cutting them.</summary>
    public double ShutdownTimeoutSeconds { get; set; } = 10;

    /// <summary>Optional address for the HTTP health endpoint (/healthz, /metrics), e.g. "127.0.0.1:9090".</summary>
    public string? Health { get; set; }

    /// <summary>The clock; tests may replace it.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The data folder when none is configured: the per-user data folder, "cipherchat/server" inside it.</summary>
    public static string DefaultDataDirectory
    {
        get
        {
            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return string.IsNullOrEmpty(root)
                ? Path.GetFullPath("cipherchat-data")
                : Path.Combine(root, "cipherchat", "server");
        }
    }

    public string DataDirectory => string.IsNullOrWhiteSpace(Data) ? DefaultDataDirectory : Path.GetFullPath(Data);

    public bool TlsEnabled => !string.Equals(Tls, "off", StringComparison.OrdinalIgnoreCase);

    public bool InviteRequired => string.Equals(Registration, "invite", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks every value and returns the parsed listen endpoint.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public IPEndPoint Validate()
    {
        var endpoint = ParseEndpoint(Listen, "Listen");
        if (!string.Equals(Tls, "auto", StringComparison.OrdinalIgnoreCase) && !string.Equals(Tls, "off", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("--tls must be auto or off.");
        }

        if (!string.Equals(Registration, "open", StringComparison.OrdinalIgnoreCase) && !InviteRequired)
        {
            throw new ArgumentException("--registration must be open or invite.");
        }

        if (MaxFrameBytes is < ProtocolLimits.MinMaxFrameBytes or > ProtocolLimits.MaxMaxFrameBytes)
        {
            throw new ArgumentException($"--max-frame-bytes must be between {ProtocolLimits.MinMaxFrameBytes} and {ProtocolLimits.MaxMaxFrameBytes}.");
        }

        // A Send with a full payload, and a FetchResult holding one, must fit in a frame.
        if (MaxPayloadBytes < 1 || MaxPayloadBytes > MaxFrameBytes - 1024)
        {
            throw new ArgumentException("MaxPayloadBytes must be at least 1 and at least 1 KiB below the frame limit.");
        }

        if (HandshakeTimeoutSeconds <= 0 || IdleTimeoutSeconds <= 0 || ShutdownTimeoutSeconds < 0)
        {
            throw new ArgumentException("Timeouts must be positive.");
        }

        if (SendRatePerSecond <= 0 || SendBurst < 1)
        {
            throw new ArgumentException("SendRatePerSecond and SendBurst must be positive.");
        }

        if (OutboundQueueFrames < 4)
        {
            throw new ArgumentException("OutboundQueueFrames must be at least 4.");
        }

        if (!string.IsNullOrWhiteSpace(Health))
        {
            ParseEndpoint(Health, "Health");
        }

        return endpoint;
    }

    /// <summary>Parses "host:port" where host is an IP address, "localhost" or "*".</summary>
    public static IPEndPoint ParseEndpoint(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text["localhost".Length..];
        }
        else if (text.StartsWith("*:", StringComparison.Ordinal))
        {
            text = "0.0.0.0" + text[1..];
        }

        if (!IPEndPoint.TryParse(text, out var endpoint) || text.IndexOf(':', StringComparison.Ordinal) < 0)
        {
            throw new ArgumentException($"{what} must be ADDRESS:PORT, for example 0.0.0.0:{DefaultPort}.");
        }

        return endpoint;
    }
}
