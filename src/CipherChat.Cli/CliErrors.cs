using System.Security.Cryptography;
using CipherChat.Client;
using CipherChat.Client.Fernet;
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
    public static int Report(CliEnvironment env, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(exception);
        var (code, text) = exception switch
        {
            InvalidNameException or NotYetAvailableException => (Usage, exception.Message),
            ChatClientException => (Failure, exception.Message),
            FernetException => (Usage, "the room key is not a Fernet key: it must be the 44 characters printed by 'cipherchat keygen'"),
            SqliteException sql => (Failure, $"the client state in '{env.Home}' could not be used: {sql.Message}"),
            UnauthorizedAccessException or IOException => (Failure, exception.Message),
            CryptographicException => (Failure, "a cryptographic operation failed"),
            OperationCanceledException => (Interrupted, "interrupted"),
            _ => (Failure, $"unexpected error ({exception.GetType().Name}): {exception.Message}"),
        };
        Line(env, text);
        return code;
    }

    /// <summary>Writes "cipherchat: TEXT" as one line to standard error.</summary>
    public static void Line(CliEnvironment env, string text)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(text);
        env.Error.WriteLine("cipherchat: " + text.ReplaceLineEndings(" "));
        env.Error.Flush();
    }
}
