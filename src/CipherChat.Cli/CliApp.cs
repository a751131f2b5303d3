using System.CommandLine;
using CipherChat.Cli.Commands;

namespace CipherChat.Cli;

/// <summary>The <c>cipherchat</c> command line: builds the command tree and runs one invocation.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot(CliEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var root = new RootCommand("CipherChat: self-hosted, end-to-end encrypted chat. State lives in CIPHERCHAT_HOME.");
        root.Subcommands.Add(ServerCommand.Create());
        root.Subcommands.Add(KeygenCommand.Create(env));
        root.Subcommands.Add(RegisterCommand.Create(env));
        root.Subcommands.Add(RoomCommands.CreateRoom(env));
        root.Subcommands.Add(RoomCommands.CreateRooms(env));
        root.Subcommands.Add(SendCommand.CreateDirect(env));
        root.Subcommands.Add(SendCommand.Create(env));
        root.Subcommands.Add(ReadCommand.Create(env));
        root.Subcommands.Add(WhoisCommand.Create(env));
        root.Subcommands.Add(TrustCommand.Create(env));
        root.Subcommands.Add(ChatCommand.Create(env));
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; a malformed command line is one line on standard error and exit code 2.</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment env, bool handleTermination = true, RootCommand? root = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        root ??= BuildRoot(env);
        // '@USER' names a direct conversation, not a response file.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            var path = command == root ? "cipherchat" : "cipherchat " + CommandPath(parse.CommandResult);
            // "Unrecognized command 'x'" says more than "Required command was not provided".
            var error = parse.Errors.FirstOrDefault(e => parse.UnmatchedTokens.Count > 0 && e.Message.Contains(parse.UnmatchedTokens[0], StringComparison.Ordinal))
                ?? parse.Errors[0];
            var text = error.Message;
            if (command != root && parse.UnmatchedTokens.Count == 0
                && command.Arguments.FirstOrDefault(a => parse.CommandResult.GetResult(a) is not { Tokens.Count: > 0 }) is { } missing)
            {
                // "Required argument missing" does not say which one; the usage line does.
                var usage = string.Join(' ', command.Arguments.Select(a => a.Name));
                text = $"{missing.Name} is missing: {path} {usage}";
            }

            CliErrors.Line(env, $"{text} (see '{path} --help')");
            return CliErrors.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = env.Out,
            Error = env.Error,
            EnableDefaultExceptionHandler = false,
        };
        if (!handleTermination)
        {
            configuration.ProcessTerminationTimeout = null;
        }

        try
        {
            return await parse.InvokeAsync(configuration, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return CliErrors.Report(env, ex);
        }
    }

    private static string CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = result; r is System.CommandLine.Parsing.CommandResult c && c.Parent is not null; r = r.Parent)
        {
            names.Add(c.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
