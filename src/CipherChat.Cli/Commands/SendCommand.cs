using System.CommandLine;

namespace CipherChat.Cli.Commands;

/// <summary><c>cipherchat send --room NAME "text"</c>: exits 0 once the server has stored the message.</summary>
internal static class SendCommand
{
    public static Command Create(CliEnvironment env)
    {
        var room = new Option<string>("--room") { Description = "The room to send to", Required = true };
        var text = new Argument<string>("TEXT") { Description = "The message" };
        var command = new Command("send", "Encrypt and send a message to a room") { room, text };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, async (client, ct) =>
        {
            var message = parse.GetValue(text) ?? string.Empty;
            if (message.Length == 0)
            {
                throw new Client.InvalidNameException("the message is empty");
            }

            await client.SendAsync(parse.GetValue(room)!, message, ct);
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }
}
