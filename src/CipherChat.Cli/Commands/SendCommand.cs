using System.CommandLine;
using CipherChat.Client;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat send --room NAME "text"</c> and <c>cipherchat dm USER "text"</c>: each exits 0 once the
/// server has stored the message.
/// </summary>
internal static class SendCommand
{
    public static Command Create(CliEnvironment env)
    {
        var room = new Option<string>("--room") { Description = "The room to send to: NAME, #NAME, or @USER for a direct conversation", Required = true };
        var text = new Argument<string>("TEXT") { Description = "The message" };
        var command = new Command("send", "Encrypt and send a message to a room; exits once the server has stored it") { room, text };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("send");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var message = RequireText(parse.GetValue(text));
                var target = parse.GetValue(room) ?? string.Empty;
                if (DirectPeer(target) is { } peer)
                {
                    await SendDirectAsync(client, context, peer, message, ct);
                    return CliErrors.Success;
                }

                var name = client.ResolveRoomName(target);
                context.Room = client.DisplayName(name);
                await CommandRunner.EnsureRoomAsync(client, name, ct);
                await client.SendAsync(name, message, ct);
                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }

    public static Command CreateDirect(CliEnvironment env)
    {
        var user = new Argument<string>("USER") { Description = "Who to write to (USER or @USER)" };
        var text = new Argument<string>("TEXT") { Description = "The message" };
        var command = new Command(
            "dm",
            "Send a message to USER alone: a two-member MLS group, created and USER invited on the first message. The other commands call it the room @USER")
        {
            user, text,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("dm");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var message = RequireText(parse.GetValue(text));
                var peer = Names.NormalizeUser((parse.GetValue(user) ?? string.Empty).TrimStart('@'));
                await SendDirectAsync(client, context, peer, message, ct);
                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>"@bob" names the direct conversation with bob; "@alice+bob" (the stored form) is a room name like any other.</summary>
    internal static string? DirectPeer(string target) =>
        target.Length > 1 && target[0] == '@' && !target.Contains('+', StringComparison.Ordinal) ? Names.NormalizeUser(target[1..]) : null;

    private static async Task SendDirectAsync(ChatClient client, CommandContext context, string peer, string message, CancellationToken ct)
    {
        context.User = peer;
        context.Room = "@" + peer;
        if (string.Equals(peer, context.Me, StringComparison.Ordinal))
        {
            throw new InvalidNameException("a direct conversation needs another user: you cannot send one to yourself");
        }

        await CommandRunner.LoginAsync(client, context, ct);
        await client.SendDirectAsync(peer, message, ct);
    }

    private static string RequireText(string? text) =>
        string.IsNullOrEmpty(text) ? throw new InvalidNameException("the message is empty") : text;
}
