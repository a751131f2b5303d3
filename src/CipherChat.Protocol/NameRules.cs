using System.Diagnostics.CodeAnalysis;

namespace CipherChat.Protocol;

/// <summary>
/// Usernames and room names: 1 to 32 characters of <c>a-z 0-9 . _ -</c>, compared without regard to
/// case (upper-case ASCII letters are folded to lower case). A room name may start with one '#',
/// which is not part of the name.
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
