using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CipherChat.Client.Net;

/// <summary>A server's host and TCP port, written <c>HOST[:PORT]</c> (IPv6 as <c>[::1]:PORT</c>).</summary>
public sealed record ServerAddress(string Host, int Port)
{
    public const int DefaultPort = 12345;

    public static bool TryParse(string? text, [NotNullWhen(true)] out ServerAddress? address)
    {
        address = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 300)
        {
            return false;
        }

        text = text.Trim();
        string host;
        string? portText = null;
        if (text[0] == '[')
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 2)
            {
                return false;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    return false;
                }

                portText = rest[1..];
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && text.IndexOf(':', colon + 1) >= 0)
            {
                // A bare IPv6 address without a port.
                host = text;
            }
            else if (colon >= 0)
            {
                host = text[..colon];
                portText = text[(colon + 1)..];
            }
            else
            {
                host = text;
            }
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            return false;
        }

        var port = DefaultPort;
        if (portText is not null &&
            (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return false;
        }

        address = new ServerAddress(host, port);
        return true;
    }

    public static ServerAddress Parse(string? text) =>
        TryParse(text, out var address)
            ? address
            : throw new ChatClientException($"'{text}' is not a server address: use HOST or HOST:PORT (port 1-65535)");

    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal)
            ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
            : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}
