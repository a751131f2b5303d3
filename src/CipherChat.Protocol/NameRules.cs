using System.Diagnostics.CodeAnalysis;

namespace CipherChat.Protocol;

/// <summary>
/// Usernames and room names: 1 to 32 characters of <c>a-z 0-9 . _ -</c>, compared without regard to
/// case (upper-case ASCII letters are folded to lower case). A room name may start with one '#',
/// which is not part of the name. A direct conversation is the room "@" + two different usernames,
/// sorted (ordinal) and joined by "+", for example "@alice+bob".
/// </summary>
public static class NameRules
{
    /// <summary>Normalizes a username, or returns false when it breaks the rules.</summary>
    public static bool TryNormalizeUsername(string? input, [NotNullWhen(true)] out string? name) =>
        TryNormalize(input, out name);

    /// <summary>Normalizes a room name (dropping one leading '#'), or returns false when it breaks the rules.</summary>
    public static bool TryNormalizeRoomName(string? input, [NotNullWhen(true)] out string? name)
    {
        if (input is { Length: > 0 } && input[0] == '#')
        {
            input = input[1..];
        }

        return TryNormalize(input, out name);
    }

    /// <summary>
    /// Normalizes a direct room name "@a+b": two valid usernames, different, in ordinal order after
    /// normalization (there is exactly one spelling of each conversation). Returns the two users too.
    /// </summary>
    public static bool TryNormalizeDirectRoomName(string? input, [NotNullWhen(true)] out string? name, [NotNullWhen(true)] out string? first, [NotNullWhen(true)] out string? second)
    {
        name = first = second = null;
        if (input is null || input.Length < 4 || input.Length > MaxDirectRoomNameLength || input[0] != '@')
        {
            return false;
        }

        var plus = input.IndexOf('+', StringComparison.Ordinal);
        if (plus < 0
            || !TryNormalize(input[1..plus], out var a)
            || !TryNormalize(input[(plus + 1)..], out var b)
            || string.CompareOrdinal(a, b) >= 0)
        {
            return false;
        }

        first = a;
        second = b;
        name = "@" + a + "+" + b;
        return true;
    }

    /// <summary>The direct room of two different valid usernames, in either order.</summary>
    /// <exception cref="ArgumentException">A name is not a valid username, or both are the same user.</exception>
    public static string DirectRoomName(string userA, string userB)
    {
        if (!TryNormalize(userA, out var a) || !TryNormalize(userB, out var b) || a == b)
        {
            throw new ArgumentException("A direct room needs two different valid usernames.");
        }

        return string.CompareOrdinal(a, b) < 0 ? "@" + a + "+" + b : "@" + b + "+" + a;
    }

    /// <summary>Normalizes either a room name or a direct room name.</summary>
    public static bool TryNormalizeAnyRoomName(string? input, [NotNullWhen(true)] out string? name)
    {
        if (input is { Length: > 0 } && input[0] == '@')
        {
            return TryNormalizeDirectRoomName(input, out name, out _, out _);
        }

        return TryNormalizeRoomName(input, out name);
    }

    /// <summary>Whether a (normalized) room name denotes a direct conversation.</summary>
    public static bool IsDirectRoomName(string? name) => name is { Length: > 0 } && name[0] == '@';

    /// <summary>The longest direct room name: "@", two maximal usernames and "+".</summary>
    public const int MaxDirectRoomNameLength = (2 * ProtocolLimits.MaxNameLength) + 2;

    private static bool TryNormalize(string? input, [NotNullWhen(true)] out string? name)
    {
        name = null;
        if (input is null || input.Length is 0 or > ProtocolLimits.MaxNameLength)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[ProtocolLimits.MaxNameLength];
        for (var i = 0; i < input.Length; i++)
        {
            var c = input[i];
            if (c is >= 'A' and <= 'Z')
            {
                c = (char)(c + ('a' - 'A'));
            }

            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-'))
            {
                return false;
            }

            buffer[i] = c;
        }

        name = new string(buffer[..input.Length]);
        return true;
    }
}
