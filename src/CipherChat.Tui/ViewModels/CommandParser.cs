namespace CipherChat.Tui.ViewModels;

public enum InputKind
{
    /// <summary>Nothing but white space.</summary>
    Empty,

    /// <summary>Text to send to the shown room.</summary>
    Message,

    /// <summary>A slash command.</summary>
    Command,
}

/// <summary>An input line, split: a message, or a command name (lower case, without '/') and its arguments.</summary>
public sealed record ParsedInput(InputKind Kind, string Text, string Name, IReadOnlyList<string> Arguments)
{
    public static readonly ParsedInput Nothing = new(InputKind.Empty, string.Empty, string.Empty, []);
}

/// <summary>A command the input line understands, with the text <c>/help</c> shows for it.</summary>
/// <param name="Brief">A few words for the <c>/help</c> list, which must fit an 80-column screen.</param>
public sealed record CommandInfo(string Name, string Usage, string Summary, int MinArguments, int MaxArguments, string Brief);

/// <summary>
/// Splits what the user typed. A line starting with '/' is a command (arguments separated by white
/// space); "//" sends a line that starts with '/'; anything else is a message, kept as typed.
/// </summary>
public static class CommandParser
{
    public static readonly IReadOnlyList<CommandInfo> Commands =
    [
        new("join", "/join NAME [KEY]", "join the shared-key room NAME with its key (make one with: cipherchat keygen), or show NAME if you are in it", 1, 2, "join a shared-key room"),
        new("create", "/create NAME [--admins-only]", "create an end-to-end encrypted (MLS) room, with you as its first member and admin; --admins-only: only admins may add or remove members", 1, 2, "create an MLS room"),
        new("invite", "/invite USER", "add USER to the shown MLS room", 1, 1, "add USER to this room"),
        new("remove", "/remove USER", "remove USER from the shown MLS room", 1, 1, "remove USER from this room"),
        new("dm", "/dm USER", "open the direct conversation with USER (the room @USER)", 1, 1, "talk to USER alone"),
        new("leave", "/leave", "leave the shown room", 0, 0, "leave this room"),
        new("whois", "/whois USER", "show USER's key fingerprint, your safety number with them and its QR code", 1, 1, "USER's fingerprint, safety number"),
        new("rooms", "/rooms", "list the rooms you are in", 0, 0, "list your rooms"),
        new("switch", "/switch NAME|N", "show room NAME, or the N-th in the list (also Alt+1..9, Ctrl+N, Ctrl+P)", 1, 1, "show another room"),
        new("help", "/help [COMMAND]", "list the commands and keys, or explain one command", 0, 1, "this list, or one command"),
        new("quit", "/quit", "leave the chat screen (also Ctrl+Q)", 0, 0, "leave (also Ctrl+Q)"),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["exit"] = "quit",
        ["j"] = "join",
        ["q"] = "quit",
        ["query"] = "dm",
        ["msg"] = "dm",
        ["part"] = "leave",
        ["window"] = "switch",
        ["w"] = "switch",
    };

    public static CommandInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        name = name.TrimStart('/').ToLowerInvariant();
        if (Aliases.TryGetValue(name, out var target))
        {
            name = target;
        }

        return Commands.FirstOrDefault(c => c.Name == name);
    }

    public static ParsedInput Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (string.IsNullOrWhiteSpace(line))
        {
            return ParsedInput.Nothing;
        }

        if (!line.StartsWith('/'))
        {
            return new ParsedInput(InputKind.Message, line, string.Empty, []);
        }

        if (line.StartsWith("//", StringComparison.Ordinal))
        {
            return new ParsedInput(InputKind.Message, line[1..], string.Empty, []);
        }

        var parts = line[1..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            // A lone "/" is a message like any other.
            return new ParsedInput(InputKind.Message, line, string.Empty, []);
        }

        var name = parts[0].ToLowerInvariant();
        if (Aliases.TryGetValue(name, out var target))
        {
            name = target;
        }

        return new ParsedInput(InputKind.Command, line, name, parts[1..]);
    }
}
