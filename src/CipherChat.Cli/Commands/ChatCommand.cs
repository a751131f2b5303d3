using System.CommandLine;
using System.Runtime.CompilerServices;
using CipherChat.Tui;
using Terminal.Gui.Configuration;

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

            ApplyUiConfiguration();

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

    /// <summary>
    /// In the native executable, does what Terminal.Gui's module initializer does in a JIT process, which the native
    /// build leaves out so that other commands do not pay for it at start-up (NativeStartup.Substitutions.xml).
    /// </summary>
    private static void ApplyUiConfiguration()
    {
        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            // Not native: the library has configured itself when it was loaded.
            return;
        }

        try
        {
            TuiConfigurationBuilder.Shared.ApplyToStaticFacades();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // As the library's own initializer does: keep the defaults, report at shutdown.
            TuiJsonErrors.Add($"Applying configuration failed: {ex.Message}. Running with default settings.");
        }
    }
}
