namespace CipherChat.Tui.ViewModels;

/// <summary>Finds the user's name in a message: as a whole word, with or without a leading '@', in any case.</summary>
public static class MentionDetector
{
    public static bool Mentions(string text, string username)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrEmpty(username))
        {
            return false;
        }

        var from = 0;
        while (true)
        {
            var at = text.IndexOf(username, from, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return false;
            }

            var end = at + username.Length;
            if (IsBoundary(text, at - 1) && IsBoundary(text, end))
            {
                return true;
            }

            from = at + 1;
        }
    }

    // Name characters are a-z 0-9 . _ -; a '.' or '-' right after the name ends a sentence or a word.
    private static bool IsBoundary(string text, int index)
    {
        if (index < 0 || index >= text.Length)
        {
            return true;
        }

        var c = text[index];
        return !(char.IsAsciiLetterOrDigit(c) || c == '_');
    }
}
