using CipherChat.Client;
using CipherChat.Client.Storage;

namespace CipherChat.Cli;

/// <summary>
/// Where a command gets the passphrase that protects this device's secret keys: CIPHERCHAT_PASSPHRASE,
/// else a prompt without echo when standard input is a terminal. Never waits on input that is not a
/// terminal: it says what to set instead.
/// </summary>
internal static class PassphraseSource
{
    /// <summary>The passphrase to unlock the keys in <see cref="CliEnvironment.Home"/>; throws a clear error when there is no way to get one.</summary>
    public static string Unlock(CliEnvironment env, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (FromVariable(env) is { } set)
        {
            return set;
        }

        if (env.ReadSecret is null)
        {
            throw new ClientStateException(
                $"the keys in '{env.Home}' are protected by a passphrase and standard input is not a terminal: set {PassphraseKey.EnvironmentVariable}");
        }

        var typed = env.ReadSecret($"passphrase for '{env.Home}': ", cancellationToken);
        return string.IsNullOrEmpty(typed)
            ? throw new ClientStateException($"no passphrase given: the keys in '{env.Home}' cannot be opened without it")
            : typed;
    }

    /// <summary>
    /// A new passphrase to protect freshly created keys with, or null for none: the variable when set,
    /// else asked twice at a terminal (an empty answer means none); never asked when not a terminal.
    /// </summary>
    public static string? Choose(CliEnvironment env, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (FromVariable(env) is { } set)
        {
            return set;
        }

        if (env.ReadSecret is null)
        {
            return null;
        }

        var first = env.ReadSecret("passphrase to protect your keys on this device (empty for none): ", cancellationToken);
        if (string.IsNullOrEmpty(first))
        {
            return null;
        }

        var again = env.ReadSecret("the same passphrase again: ", cancellationToken);
        return string.Equals(first, again, StringComparison.Ordinal)
            ? first
            : throw new ClientStateException("the two passphrases differ: nothing was registered; run the command again");
    }

    /// <summary>
    /// What the client's passphrase provider answers: the variable when set; for keys already protected,
    /// the passphrase that opens them; for new keys with <paramref name="chooseNew"/>, a new one (asked
    /// twice at a terminal); otherwise none.
    /// </summary>
    public static string? ForClient(CliEnvironment env, ClientStore store, bool chooseNew, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(store);
        if (FromVariable(env) is { } set)
        {
            return set;
        }

        if (store.GetDeviceKey() is { Protection: not "none" })
        {
            return Unlock(env, cancellationToken);
        }

        if (!chooseNew)
        {
            return null;
        }

        if (env.ReadSecret is null)
        {
            throw new ClientStateException(
                $"--passphrase needs a terminal to ask for it, and standard input is not one: set {PassphraseKey.EnvironmentVariable} instead");
        }

        return Choose(env, cancellationToken) ?? throw new ClientStateException("no passphrase given: nothing was registered; run the command again, or leave out --passphrase");
    }

    private static string? FromVariable(CliEnvironment env) =>
        env.Variable(PassphraseKey.EnvironmentVariable) is { Length: > 0 } value ? value : null;
}
