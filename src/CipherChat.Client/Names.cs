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
            if (TryNormalizeDirect(text, out var first, out var second, out error))
            {
                name = DirectRoom(first, second);
                return true;
            }

            return false;
        }

        var body = text[0] == '#' ? text[1..] : text;
        return TryNormalizeCore(body, "room name", out name, out error);
    }

    /// <summary>
    /// Normalizes a room name (or a direct room "@a+b") or throws <see cref="InvalidNameException"/>; "@bob" alone
    /// throws <see cref="NotYetAvailableException"/>, as only <c>ChatClient.ResolveRoomName</c> can resolve it.
    /// </summary>
    public static string NormalizeRoom(string? text)
    {
        if (TryNormalizeRoom(text, out var name, out var error))
        {
            return name;
        }

        if (text is ['@', ..] && !text.Contains('+', StringComparison.Ordinal))
        {
            throw new NotYetAvailableException(error);
        }

        throw new InvalidNameException(error);
    }

    /// <summary>The direct room of two users: "@" and the two names, sorted, joined by "+" (for example "@alice+bob").</summary>
    public static string DirectRoom(string userA, string userB)
    {
        var a = NormalizeUser(userA);
        var b = NormalizeUser(userB);
        if (a == b)
        {
            throw new InvalidNameException("a direct conversation needs two different users");
        }

        return string.CompareOrdinal(a, b) < 0 ? $"@{a}+{b}" : $"@{b}+{a}";
    }

    /// <summary>True for a direct room name "@a+b"; gives its two users.</summary>
    public static bool IsDirectRoom(string room, [NotNullWhen(true)] out string? userA, [NotNullWhen(true)] out string? userB)
    {
        userA = userB = null;
        if (room is not ['@', ..] || !TryNormalizeDirect(room, out var a, out var b, out _))
        {
            return false;
        }

        (userA, userB) = (a, b);
        return true;
    }

    // "@a+b" in either order; "@bob" alone needs the caller's own name (ChatClient.ResolveRoomName).
    private static bool TryNormalizeDirect(string text, [NotNullWhen(true)] out string? first, [NotNullWhen(true)] out string? second, [NotNullWhen(false)] out string? error)
    {
        first = second = null;
        var plus = text.IndexOf('+', StringComparison.Ordinal);
        if (plus < 0)
        {
            // Only the client knows the user's own name (ChatClient.ResolveRoomName turns "@bob" into "@alice+bob").
            error = $"direct conversations are not available yet in this command: '{Shorten(text)}' needs your own user name to resolve";
            return false;
        }

        if (!TryNormalizeUser(text[1..plus], out var a, out error) || !TryNormalizeUser(text[(plus + 1)..], out var b, out error))
        {
            return false;
        }

        if (a == b)
        {
            error = "a direct conversation needs two different users";
            return false;
        }

        (first, second) = string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);
        error = null;
        return true;
    }

    private static string Shorten(string text) => text.Length <= 70 ? text : text[..70] + "...";

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
