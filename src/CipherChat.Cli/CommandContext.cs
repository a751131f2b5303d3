namespace CipherChat.Cli;

/// <summary>
/// What a command was doing, so a server refusal can be explained in the command's own terms
/// ("bob has not logged in yet" rather than "no key package").
/// </summary>
internal sealed class CommandContext(string action, string? room = null, string? user = null)
{
    /// <summary>The command, e.g. <c>invite</c>, <c>create</c>, <c>dm</c>.</summary>
    public string Action { get; } = action;

    /// <summary>The room as the user typed it (normalized), when the command names one.</summary>
    public string? Room { get; set; } = room;

    /// <summary>The other user the command names, if any.</summary>
    public string? User { get; set; } = user;

    /// <summary>
    /// Set once this device is logged in: before that, "unknown user" is about this account;
    /// after it, about <see cref="User"/>.
    /// </summary>
    public bool LoggedIn { get; set; }

    /// <summary>This account's user name, when known (for "ask them to invite YOU").</summary>
    public string? Me { get; set; }

    /// <summary>Register only: protect the new keys with a passphrase chosen now.</summary>
    public bool ChoosePassphrase { get; set; }

    /// <summary>
    /// Ask for the passphrase (when one is needed) before the command starts, not in its middle: for the
    /// full-screen UI, which owns the terminal once it runs.
    /// </summary>
    public bool PassphraseFirst { get; init; }

    public bool IsDirectRoom => Room is { Length: > 0 } r && r[0] == '@';
}
