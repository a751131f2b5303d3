using System.CommandLine;
using CipherChat.Tui;

namespace CipherChat.Cli.Commands;

/// <summary><c>cipherchat chat [--room NAME]</c>: the full-screen terminal UI.</summary>
public static class ChatCommand
{
    public static Command Create() => Create(CliEnvironment.FromProcess());

    public static Command Create(CliEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var room = new Option<string?>("--room") { Description = "The room to show first (NAME, #NAME or @USER)" };
        var command = new Command("chat", "Open the full-screen chat (registers this device first if needed); /help inside lists commands, Ctrl+Q quits")
        {
            room,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            if (Console.IsInputRedirected || Console.IsOutputRedirected)
            {
                CliErrors.Line(env, "'cipherchat chat' needs an interactive terminal; scripts can use 'cipherchat send' and 'cipherchat read'");
                return Task.FromResult(CliErrors.Usage);
            }

            // A passphrase prompt must come before the full-screen UI takes the terminal.
            return CommandRunner.RunAsync(env, new CommandContext("chat") { PassphraseFirst = true }, async (client, ct) =>
            {
                var registered = await ChatApp.RunAsync(client, parse.GetValue(room), env.Time, ct);
                if (!registered)
                {
                    CliErrors.Line(env, "not registered: run 'cipherchat chat' again, or 'cipherchat register --server HOST[:PORT] --user NAME'");
                    return CliErrors.Failure;
                }

                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }
}
