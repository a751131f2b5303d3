using System.CommandLine;
using System.Globalization;
using CipherChat.Client;
using CipherChat.Client.Identity;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat whois USER [--no-qr]</c>: USER's key fingerprint and the safety number the two of you
/// compare, as digits and as a QR code; a loud warning when USER's key changed since it was pinned.
/// </summary>
internal static class WhoisCommand
{
    public static Command Create(CliEnvironment env)
    {
        var user = new Argument<string>("USER") { Description = "The user to look up (USER or @USER)" };
        var noQr = new Option<bool>("--no-qr") { Description = "Leave out the QR code (for scripts and narrow terminals)" };
        var accept = new Option<string?>("--accept")
        {
            Description = "After comparing the new safety number with USER: pin USER's changed key, given by the fingerprint whois shows, and stop the warning",
            HelpName = "FINGERPRINT",
        };
        var command = new Command(
            "whois",
            "Show USER's key fingerprint and your safety number with them (12 groups of 5 digits, and a QR code); compare it with theirs in person or on a call")
        {
            user, noQr, accept,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("whois");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var name = Names.NormalizeUser((parse.GetValue(user) ?? string.Empty).TrimStart('@'));
                context.User = name;
                await CommandRunner.LoginAsync(client, context, ct);
                var accepting = parse.GetValue(accept);
                var who = accepting is null
                    ? await client.WhoisAsync(name, ct)
                    : await client.AcceptPeerKeyAsync(name, accepting, ct);
                Print(env, who, context.Me, parse.GetValue(noQr));
                if (accepting is not null)
                {
                    env.Out.WriteLine($"accepted: the key {who.Fingerprint} is now pinned for {who.User}; the warning stops.");
                    env.Out.Flush();
                }

                var warnings = client.TakeWarnings();
                foreach (var warning in warnings.Distinct(StringComparer.Ordinal))
                {
                    CliErrors.Line(env, warning);
                }

                if (who.KeyChanged && !warnings.Any(w => w.Contains($"'{who.User}'", StringComparison.Ordinal)))
                {
                    CliErrors.Line(env, ChangedWarning(who));
                }

                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }

    internal static void Print(CliEnvironment env, WhoisResult who, string? me, bool noQr)
    {
        var output = env.Out;
        output.WriteLine($"user:           {who.User}");
        output.WriteLine($"fingerprint:    {who.Fingerprint}");
        output.WriteLine($"safety number:  {who.SafetyNumber}");
        output.WriteLine($"key first seen: {who.FirstSeen.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}");
        if (who.KeyChanged)
        {
            output.WriteLine($"KEY CHANGED:    was {who.PreviousFingerprint ?? "another key"}");
        }

        if (!noQr)
        {
            var digits = new string(who.SafetyNumber.Where(char.IsAsciiDigit).ToArray());
            output.WriteLine();
            output.Write(SafetyNumberQr.Render(digits));
        }

        output.WriteLine();
        var you = me ?? "you";
        output.WriteLine($"{who.User} runs 'cipherchat whois {you}' and reads out the safety number (or you scan the QR code on their screen):");
        output.WriteLine("if the numbers match, nobody, not even the server, sits between you.");
        output.Flush();
    }

    internal static string ChangedWarning(WhoisResult who) =>
        $"WARNING: THE KEY OF '{who.User}' HAS CHANGED since it was first seen (was {who.PreviousFingerprint ?? "another key"}, now {who.Fingerprint}): " +
        $"either {who.User} registered again on a new device, or someone (possibly the server) is impersonating them; compare the safety number above with {who.User} in person or by a call before trusting it";
}
