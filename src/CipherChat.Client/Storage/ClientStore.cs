using System.Globalization;
using CipherChat.Client.Net;
using Microsoft.Data.Sqlite;

namespace CipherChat.Client.Storage;

/// <summary>
/// The client's state in one SQLite file (<c>client.db</c>) under its home folder: account, device
/// key, pinned server identities, rooms, received messages and per-room acknowledged sequence.
/// Safe to use from several threads of one process and from several processes at once (WAL).
/// </summary>
public sealed class ClientStore : IDisposable
{
    /// <summary>Version of the schema this code writes; older files are migrated on open.</summary>
    public const int SchemaVersion = 1;

    public const string FileName = "client.db";

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    private ClientStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        FilePath = path;
    }

    public string FilePath { get; }

    /// <summary><c>CIPHERCHAT_HOME</c> when set, else the platform's per-user data folder.</summary>
    public static string DefaultHome()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("CIPHERCHAT_HOME");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment;
        }

        var baseFolder = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
        if (string.IsNullOrEmpty(baseFolder))
        {
            baseFolder = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        }

        return Path.Combine(baseFolder, "cipherchat");
    }

    public static ClientStore Open(string homeDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(homeDirectory);
        try
        {
            if (!Directory.Exists(homeDirectory))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(homeDirectory);
                }
                else
                {
                    // Keys live here: only the owner may enter.
                    Directory.CreateDirectory(homeDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }

            var path = Path.Combine(homeDirectory, FileName);
            var builder = new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                DefaultTimeout = 30,
            };
            var connection = new SqliteConnection(builder.ToString());
            connection.Open();
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var store = new ClientStore(connection, path);
            try
            {
                store.Initialize();
            }
            catch
            {
                store.Dispose();
                throw;
            }

            return store;
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new ClientStateException($"cannot open the client state in '{homeDirectory}': {OneLine(ex.Message)}", ex);
        }
    }

    private void Initialize()
    {
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA busy_timeout=10000;");
        Execute("PRAGMA foreign_keys=ON;");
        Execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
        var version = ScalarLong("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version';");
        if (version > SchemaVersion)
        {
            throw new ClientStateException(
                $"the client state in '{FilePath}' has schema version {version}, newer than this cipherchat understands ({SchemaVersion}): upgrade cipherchat");
        }

        if (version < 1)
        {
            using var tx = _connection.BeginTransaction();
            Execute("""
                CREATE TABLE account (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    host TEXT NOT NULL,
                    port INTEGER NOT NULL,
                    tls INTEGER NOT NULL,
                    username TEXT NOT NULL,
                    registered_at TEXT NOT NULL);
                CREATE TABLE device_key (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    algorithm TEXT NOT NULL,
                    public_key BLOB NOT NULL,
                    private_key BLOB NOT NULL,
                    protection TEXT NOT NULL DEFAULT 'none',
                    protection_params BLOB NULL,
                    created_at TEXT NOT NULL);
                CREATE TABLE known_servers (
                    endpoint TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    first_seen TEXT NOT NULL);
                CREATE TABLE rooms (
                    name TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    psk_key TEXT NULL,
                    joined_at TEXT NOT NULL,
                    last_acked_seq INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE messages (
                    room TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    message_id TEXT NOT NULL,
                    sender TEXT NOT NULL,
                    server_time TEXT NOT NULL,
                    received_at TEXT NOT NULL,
                    sent_at TEXT NULL,
                    text TEXT NULL,
                    error TEXT NULL,
                    printed INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (room, seq));
                CREATE UNIQUE INDEX messages_by_id ON messages (room, message_id);
                INSERT INTO meta (key, value) VALUES ('schema_version', '1')
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                """, tx);
            tx.Commit();
        }
    }

    // ---- account and device key ----

    public AccountInfo? GetAccount()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT host, port, tls, username, registered_at FROM account WHERE id = 1;");
            using var reader = cmd.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new AccountInfo(
                new ServerAddress(reader.GetString(0), reader.GetInt32(1)),
                reader.GetInt64(2) != 0,
                reader.GetString(3),
                ParseTime(reader.GetString(4)));
        }
    }

    public void SaveAccount(AccountInfo account)
    {
        ArgumentNullException.ThrowIfNull(account);
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT INTO account (id, host, port, tls, username, registered_at) VALUES (1, $host, $port, $tls, $user, $at)
                ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port, tls = excluded.tls,
                    username = excluded.username, registered_at = excluded.registered_at;
                """);
            cmd.Parameters.AddWithValue("$host", account.Server.Host);
            cmd.Parameters.AddWithValue("$port", account.Server.Port);
            cmd.Parameters.AddWithValue("$tls", account.Tls ? 1 : 0);
            cmd.Parameters.AddWithValue("$user", account.Username);
            cmd.Parameters.AddWithValue("$at", FormatTime(account.RegisteredAt));
            cmd.ExecuteNonQuery();
        }
    }

    public StoredDeviceKey? GetDeviceKey()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT algorithm, public_key, private_key, protection, protection_params, created_at FROM device_key WHERE id = 1;");
            using var reader = cmd.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new StoredDeviceKey(
                reader.GetString(0),
                (byte[])reader.GetValue(1),
                (byte[])reader.GetValue(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : (byte[])reader.GetValue(4),
                ParseTime(reader.GetString(5)));
        }
    }

    /// <summary>Stores the device key once; returns false when one is already stored (it is never replaced silently).</summary>
    public bool TryAddDeviceKey(StoredDeviceKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT OR IGNORE INTO device_key (id, algorithm, public_key, private_key, protection, protection_params, created_at)
                VALUES (1, $alg, $pub, $priv, $prot, $params, $at);
                """);
            cmd.Parameters.AddWithValue("$alg", key.Algorithm);
            cmd.Parameters.AddWithValue("$pub", key.PublicKey);
            cmd.Parameters.AddWithValue("$priv", key.PrivateKey);
            cmd.Parameters.AddWithValue("$prot", key.Protection);
            cmd.Parameters.AddWithValue("$params", (object?)key.ProtectionParameters ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$at", FormatTime(key.CreatedAt));
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>
    /// Replaces the stored private key with its protected form (same public key); returns false when the stored
    /// key is another one or already protected.
    /// </summary>
    public bool ProtectDeviceKey(StoredDeviceKey protectedKey)
    {
        ArgumentNullException.ThrowIfNull(protectedKey);
        lock (_gate)
        {
            using var cmd = Command("""
                UPDATE device_key SET private_key = $priv, protection = $prot, protection_params = $params
                WHERE id = 1 AND public_key = $pub AND protection = 'none';
                """);
            cmd.Parameters.AddWithValue("$pub", protectedKey.PublicKey);
            cmd.Parameters.AddWithValue("$priv", protectedKey.PrivateKey);
            cmd.Parameters.AddWithValue("$prot", protectedKey.Protection);
            cmd.Parameters.AddWithValue("$params", (object?)protectedKey.ProtectionParameters ?? DBNull.Value);
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    // ---- pinned server identities ----

    public string? GetPin(string endpoint)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT fingerprint FROM known_servers WHERE endpoint = $e;");
            cmd.Parameters.AddWithValue("$e", endpoint);
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>Pins <paramref name="fingerprint"/> for <paramref name="endpoint"/> unless a pin exists; returns the pin in force.</summary>
    public string AddPinIfAbsent(string endpoint, string fingerprint, DateTimeOffset now)
    {
        lock (_gate)
        {
            using (var cmd = Command("INSERT OR IGNORE INTO known_servers (endpoint, fingerprint, first_seen) VALUES ($e, $f, $t);"))
            {
                cmd.Parameters.AddWithValue("$e", endpoint);
                cmd.Parameters.AddWithValue("$f", fingerprint);
                cmd.Parameters.AddWithValue("$t", FormatTime(now));
                cmd.ExecuteNonQuery();
            }

            using var read = Command("SELECT fingerprint FROM known_servers WHERE endpoint = $e;");
            read.Parameters.AddWithValue("$e", endpoint);
            return (string)read.ExecuteScalar()!;
        }
    }

    public void ReplacePin(string endpoint, string fingerprint, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT INTO known_servers (endpoint, fingerprint, first_seen) VALUES ($e, $f, $t)
                ON CONFLICT (endpoint) DO UPDATE SET fingerprint = excluded.fingerprint, first_seen = excluded.first_seen;
                """);
            cmd.Parameters.AddWithValue("$e", endpoint);
            cmd.Parameters.AddWithValue("$f", fingerprint);
            cmd.Parameters.AddWithValue("$t", FormatTime(now));
            cmd.ExecuteNonQuery();
        }
    }

    public bool RemovePin(string endpoint)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM known_servers WHERE endpoint = $e;");
            cmd.Parameters.AddWithValue("$e", endpoint);
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    // ---- rooms ----

    public IReadOnlyList<RoomRecord> GetRooms()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT name, kind, psk_key, joined_at, last_acked_seq FROM rooms ORDER BY name;");
            return ReadRooms(cmd);
        }
    }

    public RoomRecord? GetRoom(string name)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT name, kind, psk_key, joined_at, last_acked_seq FROM rooms WHERE name = $n;");
            cmd.Parameters.AddWithValue("$n", name);
            var rooms = ReadRooms(cmd);
            return rooms.Count == 0 ? null : rooms[0];
        }
    }

    /// <summary>Adds the room or updates its kind and key; the acknowledged sequence of a known room is kept.</summary>
    public void UpsertRoom(RoomRecord room)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT INTO rooms (name, kind, psk_key, joined_at, last_acked_seq) VALUES ($n, $k, $key, $at, $seq)
                ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, psk_key = excluded.psk_key;
                """);
            cmd.Parameters.AddWithValue("$n", room.Name);
            cmd.Parameters.AddWithValue("$k", room.Kind);
            cmd.Parameters.AddWithValue("$key", (object?)room.PskKey ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$at", FormatTime(room.JoinedAt));
            cmd.Parameters.AddWithValue("$seq", room.LastAckedSeq);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Forgets the room and its key; received messages stay in the history.</summary>
    public bool RemoveRoom(string name)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM rooms WHERE name = $n;");
            cmd.Parameters.AddWithValue("$n", name);
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    /// <summary>Raises the room's acknowledged sequence (never lowers it).</summary>
    public void AdvanceAckedSeq(string room, long seq)
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE rooms SET last_acked_seq = $s WHERE name = $n AND last_acked_seq < $s;");
            cmd.Parameters.AddWithValue("$n", room);
            cmd.Parameters.AddWithValue("$s", seq);
            cmd.ExecuteNonQuery();
        }
    }

    // ---- messages ----

    /// <summary>Stores a received message; returns false when it is already known (same sequence or same message id).</summary>
    public bool TryAddMessage(StoredMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT OR IGNORE INTO messages (room, seq, message_id, sender, server_time, received_at, sent_at, text, error, printed)
                VALUES ($room, $seq, $id, $sender, $st, $rt, $sent, $text, $error, $printed);
                """);
            cmd.Parameters.AddWithValue("$room", message.Room);
            cmd.Parameters.AddWithValue("$seq", message.Seq);
            cmd.Parameters.AddWithValue("$id", message.MessageId);
            cmd.Parameters.AddWithValue("$sender", message.Sender);
            cmd.Parameters.AddWithValue("$st", FormatTime(message.ServerTime));
            cmd.Parameters.AddWithValue("$rt", FormatTime(message.ReceivedAt));
            cmd.Parameters.AddWithValue("$sent", message.SentAt is { } sent ? FormatTime(sent) : DBNull.Value);
            cmd.Parameters.AddWithValue("$text", (object?)message.Text ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$error", (object?)message.Error ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$printed", message.Printed ? 1 : 0);
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    public IReadOnlyList<StoredMessage> GetMessages(string room, bool unprintedOnly)
    {
        lock (_gate)
        {
            using var cmd = Command(
                "SELECT room, seq, message_id, sender, server_time, received_at, sent_at, text, error, printed FROM messages WHERE room = $room" +
                (unprintedOnly ? " AND printed = 0" : string.Empty) + " ORDER BY seq;");
            cmd.Parameters.AddWithValue("$room", room);
            using var reader = cmd.ExecuteReader();
            var list = new List<StoredMessage>();
            while (reader.Read())
            {
                list.Add(new StoredMessage(
                    reader.GetString(0),
                    reader.GetInt64(1),
                    reader.GetString(2),
                    reader.GetString(3),
                    ParseTime(reader.GetString(4)),
                    ParseTime(reader.GetString(5)),
                    reader.IsDBNull(6) ? null : ParseTime(reader.GetString(6)),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    reader.GetInt64(9) != 0));
            }

            return list;
        }
    }

    public void MarkPrinted(string room, long seq)
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE messages SET printed = 1 WHERE room = $room AND seq = $seq;");
            cmd.Parameters.AddWithValue("$room", room);
            cmd.Parameters.AddWithValue("$seq", seq);
            cmd.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        _connection.Dispose();
    }

    // ---- helpers ----

    private static List<RoomRecord> ReadRooms(SqliteCommand cmd)
    {
        using var reader = cmd.ExecuteReader();
        var list = new List<RoomRecord>();
        while (reader.Read())
        {
            list.Add(new RoomRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                ParseTime(reader.GetString(3)),
                reader.GetInt64(4)));
        }

        return list;
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = Command(sql, tx);
        cmd.ExecuteNonQuery();
    }

    private long ScalarLong(string sql)
    {
        using var cmd = Command(sql);
        return cmd.ExecuteScalar() is long value ? value : 0;
    }

    internal static string FormatTime(DateTimeOffset time) => time.ToString("o", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
