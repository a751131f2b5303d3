using System.Security.Cryptography;
using CipherChat.Client;
using CipherChat.Client.Fernet;
using CipherChat.Client.Net;
using CipherChat.Protocol.V1;
using Microsoft.Data.Sqlite;

namespace CipherChat.Cli;

/// <summary>Exit codes and the one-line error report of every command.</summary>
public static class CliErrors
{
    public const int Success = 0;

    /// <summary>The command failed (server unreachable, refused, state problem...).</summary>
    public const int Failure = 1;

    /// <summary>The command line itself is wrong (unknown option, bad name, a feature not available yet).</summary>
    public const int Usage = 2;

    /// <summary>Interrupted (Ctrl-C) before finishing.</summary>
    public const int Interrupted = 130;

    /// <summary>Writes one line for <paramref name="exception"/> to standard error and returns the exit code.</summary>
    public static int Report(CliEnvironment env, Exception exception) => Report(env, exception, null);

    internal static int Report(CliEnvironment env, Exception exception, CommandContext? context)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(exception);
        var (code, text) = exception switch
        {
            InvalidNameException or NotYetAvailableException => (Usage, exception.Message),
            ServerErrorException server => (Failure, Explain(server, context) ?? server.Message),
            ChatClientException => (Failure, exception.Message),
            FernetException => (Usage, "the room key is not a Fernet key: it must be the 44 characters printed by 'cipherchat keygen'"),
            SqliteException sql => (Failure, $"the client state in '{env.Home}' could not be used: {sql.Message}"),
            IOException { InnerException: System.Net.Sockets.SocketException } =>
                (Failure, $"the connection to the server broke ({exception.InnerException.Message.TrimEnd('.')}): try again; if it keeps happening, check that the server is running"),
            UnauthorizedAccessException or IOException => (Failure, exception.Message),
            CryptographicException => (Failure, "a cryptographic operation failed"),
            OperationCanceledException => (Interrupted, "interrupted"),
            _ => (Failure, $"unexpected error ({exception.GetType().Name}): {exception.Message}"),
        };
        Line(env, text);
        return code;
    }

    /// <summary>
    /// The server's refusal in the terms of the command that met it, with what to do next; null when
    /// the client's own description says it as well.
    /// </summary>
    internal static string? Explain(ServerErrorException error, CommandContext? context)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (context is null)
        {
            return null;
        }

        var room = context.Room is { } r ? Show(r) : "the room";
        var user = context.User;
        var me = context.Me ?? "YOUR_NAME";
        return error.Code switch
        {
            ErrorCode.NoKeyPackage when user is not null =>
                $"{user} has not logged in since registering, so the server holds no key package to add them with: ask {user} to run any cipherchat command (for example 'cipherchat rooms'), then try again",
            ErrorCode.UnknownUser when user is not null && context.LoggedIn =>
                $"there is no user '{user}' on this server: check the spelling (it is the name they gave to 'cipherchat register')",
            ErrorCode.NotAllowed when context.IsDirectRoom =>
                "a direct conversation has exactly two members: for more people, create a room ('cipherchat room create NAME') and invite them",
            ErrorCode.NotAllowed when context.Action is "invite" or "remove" =>
                $"only an admin of {room} may add or remove members there (the room was created with --admins-only): ask an admin",
            ErrorCode.NotAllowed =>
                $"the policy of {room} does not allow this: ask an admin of the room",
            ErrorCode.RoomExists =>
                $"the room {room} already exists: choose another name, or ask one of its members to invite you ('cipherchat room invite {context.Room} {me}')",
            ErrorCode.NotAMember when context.IsDirectRoom =>
                $"you are not in the direct conversation {room}: start it with 'cipherchat dm {context.Room!.TrimStart('@')} TEXT'",
            ErrorCode.NotAMember when context.Room is not null =>
                $"you are not a member of {room}: ask a member to invite you ('cipherchat room invite {context.Room} {me}'), or, for a shared-key room, join it with 'cipherchat room join {context.Room} --key KEY'",
            ErrorCode.RoomKindMismatch when context.Action == "join" =>
                $"{room} is an MLS room: it is joined by invitation, not with a key; ask a member to run 'cipherchat room invite {context.Room} {me}'",
            ErrorCode.RoomKindMismatch =>
                $"{room} exists as a shared-key room: choose another name for an MLS room",
            ErrorCode.UnsupportedRoomKind =>
                "this server does not offer MLS rooms: update the server to a version that does",
            ErrorCode.EpochConflict =>
                $"other members kept changing {room} at the same moment: try again in a moment",
            ErrorCode.InvalidKeyPackage when user is not null =>
                $"the key package the server handed out for {user} was refused: ask {user} to run any cipherchat command so their client uploads fresh ones, then try again",
            ErrorCode.InvalidKeyPackage or ErrorCode.KeyPackageLimit =>
                "the server refused this device's key packages: update cipherchat, or register this device again with a new CIPHERCHAT_HOME",
            _ => null,
        };
    }

    /// <summary>A room name as the user sees it: <c>#team</c>, or <c>@bob</c> for a direct conversation.</summary>
    internal static string Show(string room) => room.Length > 0 && room[0] == '@' ? room : "#" + room;

    /// <summary>Writes "cipherchat: TEXT" as one line to standard error.</summary>
    public static void Line(CliEnvironment env, string text)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(text);
        env.Error.WriteLine("cipherchat: " + text.ReplaceLineEndings(" "));
        env.Error.Flush();
    }
}
