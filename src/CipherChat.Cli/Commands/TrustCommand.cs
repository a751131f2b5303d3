using System.CommandLine;
using CipherChat.Client.Net;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat trust [--server HOST[:PORT]] [--tls on|off]</c>: pins the identity the server presents
/// now, replacing the old pin. For after the operator has confirmed a new certificate.
/// </summary>
internal static class TrustCommand
{
    public static Command Create(CliEnvironment env)
    {
        var server = new Option<string?>("--server") { Description = "The server, HOST or HOST:PORT (default: the registered server)" };
        var tls = new Option<string?>("--tls") { Description = "on (default) or off" };
        tls.AcceptOnlyFromAmong("on", "auto", "off");
        var command = new Command("trust", "Pin the certificate a server presents now, replacing a changed one (confirm it with the operator first)")
        {
            server, tls,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, async (client, ct) =>
        {
            var account = client.Store.GetAccount();
            var text = parse.GetValue(server);
            var address = text is null
                ? account?.Server ?? throw new Client.ClientStateException("give --server HOST[:PORT]: no server is registered yet")
                : ServerAddress.Parse(text);
            var tlsText = parse.GetValue(tls);
            var useTls = tlsText is null && account is not null && account.Server == address ? account.Tls : CommandRunner.ParseTls(tlsText);
            var (previous, current) = await client.TrustAsync(address, useTls, ct);
            env.Out.WriteLine(current == ServerPins.Plaintext
                ? $"{address}: pinned as a server without TLS"
                : $"{address}: pinned certificate SHA-256 {current}");
            if (previous is not null && previous != current)
            {
                env.Out.WriteLine($"(replaces {(previous == ServerPins.Plaintext ? "the plaintext pin" : "SHA-256 " + previous)})");
            }

            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }
}
