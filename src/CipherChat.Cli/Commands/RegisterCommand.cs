using System.CommandLine;
using CipherChat.Client.Net;

namespace CipherChat.Cli.Commands;

/// <summary><c>cipherchat register --server HOST[:PORT] --user NAME [--invite CODE] [--tls on|off]</c>.</summary>
internal static class RegisterCommand
{
    public static Command Create(CliEnvironment env)
    {
        var server = new Option<string>("--server") { Description = "The server, HOST or HOST:PORT (default port 12345)", Required = true };
        var user = new Option<string>("--user") { Description = "Your user name: 1-32 characters of a-z 0-9 . _ -", Required = true };
        var invite = new Option<string?>("--invite") { Description = "An invite code, when the server registers by invitation only" };
        var tls = new Option<string>("--tls") { Description = "on (default): TLS with the certificate pinned on first use; off: plain TCP for a server started with --tls off" };
        tls.AcceptOnlyFromAmong("on", "auto", "off");
        var passphrase = new Option<bool>("--passphrase")
        {
            Description = "Encrypt this device's secret keys with a passphrase, asked now (or taken from CIPHERCHAT_PASSPHRASE); later commands ask for it at a terminal or read CIPHERCHAT_PASSPHRASE",
        };

        var command = new Command("register", "Create your device key and register your user name on a server (remembered for later commands)")
        {
            server, user, invite, tls, passphrase,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, new CommandContext("register") { ChoosePassphrase = parse.GetValue(passphrase) }, async (client, ct) =>
        {
            var address = ServerAddress.Parse(parse.GetValue(server));
            var useTls = CommandRunner.ParseTls(parse.GetValue(tls));
            var result = await client.RegisterAsync(address, useTls, parse.GetValue(user)!, parse.GetValue(invite), ct);
            env.Out.WriteLine($"registered '{result.Username}' on {result.Server}");
            if (!useTls)
            {
                env.Out.WriteLine("warning: this server is used without TLS; use that only on a network you trust");
            }
            else if (result.PinnedNow)
            {
                env.Out.WriteLine($"server certificate pinned on first use, SHA-256 {result.ServerIdentity}");
                env.Out.WriteLine("check that it matches the fingerprint the server printed when it started");
            }

            if (client.SecretsProtected)
            {
                env.Out.WriteLine("your keys on this device are encrypted with your passphrase: commands ask for it, or read CIPHERCHAT_PASSPHRASE");
            }

            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }
}
