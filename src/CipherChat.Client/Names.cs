using System.Diagnostics.CodeAnalysis;
using CipherChat.Protocol;

namespace CipherChat.Client;

/// <summary>
/// Naming rules shared by users and rooms: 1–32 characters of <c>a-z 0-9 . _ -</c>, compared
/// without regard to case (names are kept in lower case). A room name may start with '#', which is
/// dropped. A name starting with '@' denotes a direct conversation.
/// </summary>
public static class Names
{
    public const int MaxLength = ProtocolLimits.MaxNameLength;

    public static bool TryNormalizeUser(string? text, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? error)
    {
        name = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "a user name must not be empty";
            return false;
        }

        return TryNormalizeCore(text, "user name", out name, out error);
    }

    public static string NormalizeUser(string? text) =>
        TryNormalizeUser(text, out var name, out var error) ? name : throw new InvalidNameException(error);

    public static bool TryNormalizeRoom(string? text, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? error)
    {
        name = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "a room name must not be empty";
            return false;
        }

        if (text[0] == '@')
        {
            error = "direct conversations (@USER) are not available yet: they arrive with MLS rooms in a later version";
            return false;
        }

        var body = text[0] == '#' ? text[1..] : text;
        return TryNormalizeCore(body, "room name", out name, out error);
    }

    /// <summary>Normalizes a room name or throws <see cref="InvalidNameException"/> / <see cref="NotYetAvailableException"/>.</summary>
    public static string NormalizeRoom(string? text)
    {
        if (TryNormalizeRoom(text, out var name, out var error))
        {
            return name;
        }

        if (!string.IsNullOrEmpty(text) && text[0] == '@')
        {
            throw new NotYetAvailableException(error);
        }

        throw new InvalidNameException(error);
    }

    private static bool TryNormalizeCore(string body, string what, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? error)
    {
        // The protocol's rule decides; this class only explains a refusal.
        if (NameRules.TryNormalizeUsername(body, out name))
        {
            error = null;
            return true;
        }

        error = body.Length is 0 or > MaxLength
            ? $"a {what} must have 1 to {MaxLength} characters"
            : $"a {what} may contain only letters a-z, digits 0-9, '.', '_' and '-'";
        return false;
    }
}
