using System.Globalization;
using System.Security.Cryptography;
using CipherChat.Client.Identity;
using Microsoft.Data.Sqlite;

namespace CipherChat.Client.Storage;

/// <summary>How a peer's presented key compares with the key pinned for that user.</summary>
public enum PeerKeyStatus
{
    /// <summary>No key was pinned: this one is now (trust on first use).</summary>
    FirstSeen,

    /// <summary>The key is the pinned one.</summary>
    Matches,

    /// <summary>The key differs from the pinned one; the pin is kept until the user accepts the new key.</summary>
    Changed,
}

/// <summary>The outcome of <see cref="PeerKeyStore.Check"/>; <see cref="Warning"/> is set exactly when the key changed.</summary>
public sealed record PeerKeyCheck(string Username, PeerKeyStatus Status, byte[] PinnedKey, byte[] PresentedKey, string? Warning);

/// <summary>A pinned peer key as stored.</summary>
public sealed record PinnedPeerKey(string Username, byte[] PublicKey, DateTimeOffset FirstSeen, byte[]? ChangedTo, DateTimeOffset? ChangedAt);

/// <summary>
/// Peers' Ed25519 device keys pinned on first use, in the client's state file (its own table, <c>peer_keys</c>).
/// A key that differs from the pin is not trusted silently: the pin stays, the new key is remembered, and
/// <see cref="WarningFor"/> returns a loud warning in every command that touches the user until the user
/// compares safety numbers and calls <see cref="Accept"/>.
/// </summary>
public sealed class PeerKeyStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    private PeerKeyStore(SqliteConnection connection) => _connection = connection;

    /// <summary>Opens the peer keys of the client state in <paramref name="homeDirectory"/> (creating the table).</summary>
    public static PeerKeyStore Open(string homeDirectory)
    {
        var connection = SideDatabase.Open(homeDirectory);
        try
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE IF NOT EXISTS peer_keys (
                    username TEXT PRIMARY KEY,
                    public_key BLOB NOT NULL,
                    first_seen TEXT NOT NULL,
                    changed_to BLOB NULL,
                    changed_at TEXT NULL);
                """;
            cmd.ExecuteNonQuery();
            return new PeerKeyStore(connection);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ClientStateException($"cannot open the peer keys in '{homeDirectory}': {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }

    /// <summary>
    /// Compares <paramref name="presentedKey"/> (as the server or an MLS credential gave it) with the pin for
    /// <paramref name="username"/>, pinning it when there is none.
    /// </summary>
    public PeerKeyCheck Check(string username, ReadOnlySpan<byte> presentedKey, DateTimeOffset now)
    {
        var user = Names.NormalizeUser(username);
        if (presentedKey.Length != SafetyNumber.Ed25519KeyLength)
        {
            throw new ArgumentException("An Ed25519 public key is 32 bytes.", nameof(presentedKey));
        }

        var presented = presentedKey.ToArray();
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            var pinned = Read(user, tx);
            if (pinned is null)
            {
                using var insert = Command("INSERT INTO peer_keys (username, public_key, first_seen) VALUES ($u, $k, $t);", tx);
                insert.Parameters.AddWithValue("$u", user);
                insert.Parameters.AddWithValue("$k", presented);
                insert.Parameters.AddWithValue("$t", ClientStore.FormatTime(now));
                insert.ExecuteNonQuery();
                tx.Commit();
                return new PeerKeyCheck(user, PeerKeyStatus.FirstSeen, presented, presented, null);
            }

            if (CryptographicOperations.FixedTimeEquals(pinned.PublicKey, presented))
            {
                tx.Commit();
                return new PeerKeyCheck(user, PeerKeyStatus.Matches, pinned.PublicKey, presented, null);
            }

            using (var update = Command("UPDATE peer_keys SET changed_to = $k, changed_at = $t WHERE username = $u;", tx))
            {
                update.Parameters.AddWithValue("$u", user);
                update.Parameters.AddWithValue("$k", presented);
                update.Parameters.AddWithValue("$t", ClientStore.FormatTime(now));
                update.ExecuteNonQuery();
            }

            tx.Commit();
            return new PeerKeyCheck(user, PeerKeyStatus.Changed, pinned.PublicKey, presented, Warning(user, pinned.PublicKey, presented));
        }
    }

    /// <summary>The warning about <paramref name="username"/>'s changed key, or null when nothing changed.</summary>
    public string? WarningFor(string username)
    {
        var pinned = Get(username);
        return pinned?.ChangedTo is { } changed ? Warning(pinned.Username, pinned.PublicKey, changed) : null;
    }

    /// <summary>
    /// Pins <paramref name="newKey"/> for the user after the user checked the new safety number; the warning
    /// stops. Returns false when <paramref name="newKey"/> is not the changed key last seen (nothing is done).
    /// </summary>
    public bool Accept(string username, ReadOnlySpan<byte> newKey, DateTimeOffset now)
    {
        var user = Names.NormalizeUser(username);
        var key = newKey.ToArray();
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            var pinned = Read(user, tx);
            if (pinned?.ChangedTo is not { } changed || !CryptographicOperations.FixedTimeEquals(changed, key))
            {
                return false;
            }

            using var update = Command("UPDATE peer_keys SET public_key = $k, first_seen = $t, changed_to = NULL, changed_at = NULL WHERE username = $u;", tx);
            update.Parameters.AddWithValue("$u", user);
            update.Parameters.AddWithValue("$k", key);
            update.Parameters.AddWithValue("$t", ClientStore.FormatTime(now));
            update.ExecuteNonQuery();
            tx.Commit();
            return true;
        }
    }

    public PinnedPeerKey? Get(string username)
    {
        var user = Names.NormalizeUser(username);
        lock (_gate)
        {
            return Read(user, null);
        }
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>The text shown when a peer's key changed: what happened, what it may mean, what to do.</summary>
    public static string Warning(string username, ReadOnlySpan<byte> pinnedKey, ReadOnlySpan<byte> presentedKey) =>
        $"WARNING: THE KEY OF '{username}' HAS CHANGED. " +
        $"Pinned {SafetyNumber.Fingerprint(pinnedKey)}, now {SafetyNumber.Fingerprint(presentedKey)}. " +
        $"Either '{username}' registered a new device, or someone (possibly the server) is impersonating them. " +
        $"Compare safety numbers with '{username}' in person or by a call ('cipherchat whois {username}') before trusting the new key, then accept it with 'cipherchat whois {username} --accept NEW-FINGERPRINT'.";

    private PinnedPeerKey? Read(string user, SqliteTransaction? tx)
    {
        using var cmd = Command("SELECT username, public_key, first_seen, changed_to, changed_at FROM peer_keys WHERE username = $u;", tx);
        cmd.Parameters.AddWithValue("$u", user);
        using var reader = cmd.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new PinnedPeerKey(
            reader.GetString(0),
            (byte[])reader.GetValue(1),
            ParseTime(reader.GetString(2)),
            reader.IsDBNull(3) ? null : (byte[])reader.GetValue(3),
            reader.IsDBNull(4) ? null : ParseTime(reader.GetString(4)));
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}

/// <summary>
/// A connection of its own to the client's state file (<see cref="ClientStore.FileName"/>), for stores that keep
/// their own tables beside <see cref="ClientStore"/>'s; WAL lets them share the file.
/// </summary>
internal static class SideDatabase
{
    public static SqliteConnection Open(string homeDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(homeDirectory);

        // Creates the folder and file with the owner-only permissions and the base schema.
        using (ClientStore.Open(homeDirectory))
        {
        }

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(homeDirectory, ClientStore.FileName),
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";
            cmd.ExecuteNonQuery();
            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ClientStateException($"cannot open the client state in '{homeDirectory}': {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }
}
