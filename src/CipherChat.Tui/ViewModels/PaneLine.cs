namespace CipherChat.Tui.ViewModels;

/// <summary>How a row of the message pane is drawn.</summary>
public enum LineStyle
{
    /// <summary>Someone else's message.</summary>
    Normal,

    /// <summary>The user's own message, set apart from the others.</summary>
    Own,

    /// <summary>A message that mentions the user.</summary>
    Mention,

    /// <summary>A message that could not be decrypted or verified.</summary>
    Undecryptable,

    /// <summary>A member's key changed.</summary>
    KeyChange,

    /// <summary>Output of the client itself: command results, notices, help.</summary>
    Info,

    /// <summary>A command that failed.</summary>
    Error,

    /// <summary>The line between two days.</summary>
    DateSeparator,
}

/// <summary>One row of the message pane, already wrapped to the pane's width.</summary>
public readonly record struct PaneLine(string Text, LineStyle Style);
