using System.Runtime.InteropServices;

namespace CipherChat.Cli;

/// <summary>
/// Keeps this process from loading the operating system's trusted certificates, for commands that trust a
/// server by its pinned certificate fingerprint and nothing else.
/// </summary>
/// <remarks>
/// On Linux, <see cref="System.Net.Security.SslStream"/> builds an X.509 chain for the server's certificate before
/// the validation callback runs, even when the callback decides alone, and the first chain a process builds reads
/// and parses every certificate of the system store (the bundle and each file in <c>/etc/ssl/certs</c>; the runtime
/// loads its system intermediates even for a chain with custom root trust): about 95 ms of CPU, the largest part of
/// a one-shot <c>cipherchat send</c>. The runtime takes the store's locations from OpenSSL's
/// <c>SSL_CERT_FILE</c> and <c>SSL_CERT_DIR</c> when it first needs them; empty values name no file and no folder,
/// so the chain is built against nothing. The chain was never what decided: the pin check in
/// <c>ServerConnection</c> still refuses any certificate but the pinned one.
/// </remarks>
internal static partial class SystemTrustStore
{
    /// <summary>The top-level commands whose only TLS peer is a server pinned by fingerprint (all but <c>server</c>).</summary>
    internal static readonly IReadOnlySet<string> PinnedOnlyCommands = new HashSet<string>(StringComparer.Ordinal)
    {
        "keygen", "register", "room", "rooms", "dm", "send", "read", "whois", "trust", "chat",
    };

    /// <summary>
    /// Whether the command in <paramref name="args"/> can do without the system store. The server cannot: its
    /// certificate chain and its TLS connections to PostgreSQL and Redis are checked against it.
    /// </summary>
    public static bool NotNeededFor(string[] args) => args.Length > 0 && PinnedOnlyCommands.Contains(args[0]);

    /// <summary>
    /// Points OpenSSL's trust store at nothing for the rest of this process. Call it first thing in <c>Main</c>:
    /// it changes the process environment, which must not happen while other threads may read it.
    /// </summary>
    public static void SkipForThisProcess()
    {
        if (!OperatingSystem.IsLinux())
        {
            // macOS and Windows validate through the platform's own TLS stack, not OpenSSL's store.
            return;
        }

        // The managed Environment keeps its own copy of the variables; OpenSSL reads the C library's. A failure
        // (out of memory) leaves the store to be loaded as before: slower, not less safe.
        _ = SetEnvironmentVariable("SSL_CERT_FILE", string.Empty, 1);
        _ = SetEnvironmentVariable("SSL_CERT_DIR", string.Empty, 1);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironmentVariable(string name, string value, int overwrite);
}
