using System.Globalization;
using CipherChat.Client.Storage;
using Microsoft.Data.Sqlite;

namespace CipherChat.Client.Mls;

/// <summary>One MLS room's saved state: the group (versioned bytes of <c>MlsGroup.Save</c>) and, while a commit is in flight, the state it leads to.</summary>
internal sealed record StoredMlsRoom(
    string Room,
    byte[] GroupState,
    long Epoch,
    byte[]? PendingState,
    long? PendingEpoch,
    byte[]? PendingCommit,
    byte[]? PendingWelcome,
    string Rosters);

/// <summary>
/// Local facts about an MLS room beyond the group state: why it is inactive (removed), and when this member last
/// refreshed its own leaf with a path, for the regular self-update.
/// </summary>
public sealed record MlsRoomMeta(string Room, string? InactiveReason, DateTimeOffset UpdatedAt, int SentSinceUpdate);

/// <summary>A KeyPackage this device published, with its private keys until it is used.</summary>
internal sealed record StoredKeyPackage(byte[] Reference, byte[] KeyPackage, byte[] InitPrivateKey, byte[] EncryptionPrivateKey, bool LastResort, DateTimeOffset CreatedAt);

/// <summary>An application message from an epoch this member has not reached yet, kept until it has.</summary>
internal sealed record HeldMlsMessage(string Room, long Seq, string MessageId, string Sender, ulong Epoch, byte[] Payload);

/// <summary>
/// MLS state in the client's SQLite file, in tables of its own: groups (<c>mls_groups</c>), this device's unused
/// KeyPackages (<c>mls_key_packages</c>) and messages held for a later epoch (<c>mls_held</c>). Every secret column
/// (group states, private keys) is encrypted with the <see cref="PassphraseKey"/> when one is given.
/// </summary>
public sealed class MlsStateStore : IDisposable
{
    private const string GroupPurpose = "CipherChat MLS group state v1";
    private const string KeyPackagePurpose = "CipherChat MLS KeyPackage keys v1";

    private readonly SqliteConnection _connection;
    private readonly PassphraseKey? _protector;
    private readonly Lock _gate = new();

    private MlsStateStore(SqliteConnection connection, PassphraseKey? protector)
    {
        _connection = connection;
        _protector = protector;
    }

    /// <summary>Opens the MLS tables of the client state in <paramref name="homeDirectory"/>; <paramref name="protector"/> encrypts secrets at rest.</summary>
    public static MlsStateStore Open(string homeDirectory, PassphraseKey? protector = null)
    {
        var connection = SideDatabase.Open(homeDirectory);
        try
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE IF NOT EXISTS mls_groups (
                    room TEXT PRIMARY KEY,
                    group_state BLOB NOT NULL,
                    epoch INTEGER NOT NULL,
                    pending_state BLOB NULL,
                    pending_epoch INTEGER NULL,
                    pending_commit BLOB NULL,
                    pending_welcome BLOB NULL,
                    rosters TEXT NOT NULL DEFAULT '{}',
                    updated_at TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS mls_key_packages (
                    reference BLOB PRIMARY KEY,
                    key_package BLOB NOT NULL,
                    private_keys BLOB NOT NULL,
                    last_resort INTEGER NOT NULL,
                    created_at TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS mls_held (
                    room TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    message_id TEXT NOT NULL,
                    sender TEXT NOT NULL,
                    epoch INTEGER NOT NULL,
                    payload BLOB NOT NULL,
                    PRIMARY KEY (room, seq));
                CREATE TABLE IF NOT EXISTS mls_room_meta (
                    room TEXT PRIMARY KEY,
                    inactive_reason TEXT NULL,
                    updated_at TEXT NOT NULL,
                    sent_since_update INTEGER NOT NULL DEFAULT 0);
                """;
            cmd.ExecuteNonQuery();
            var store = new MlsStateStore(connection, protector);
            store.ProtectPlainSecrets();
            return store;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ClientStateException($"cannot open the MLS state in '{homeDirectory}': {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
    }

    public bool IsProtected => _protector is not null;

    // ---- groups ----

    internal StoredMlsRoom? GetRoom(string room)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT room, group_state, epoch, pending_state, pending_epoch, pending_commit, pending_welcome, rosters FROM mls_groups WHERE room = $r;");
            cmd.Parameters.AddWithValue("$r", room);
            using var reader = cmd.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new StoredMlsRoom(
                reader.GetString(0),
                Open((byte[])reader.GetValue(1), GroupPurpose),
                reader.GetInt64(2),
                reader.IsDBNull(3) ? null : Open((byte[])reader.GetValue(3), GroupPurpose),
                reader.IsDBNull(4) ? null : reader.GetInt64(4),
                reader.IsDBNull(5) ? null : (byte[])reader.GetValue(5),
                reader.IsDBNull(6) ? null : (byte[])reader.GetValue(6),
                reader.GetString(7));
        }
    }

    /// <summary>Writes the whole row in one statement, so a crash leaves either the old or the new row.</summary>
    internal void PutRoom(StoredMlsRoom room, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT INTO mls_groups (room, group_state, epoch, pending_state, pending_epoch, pending_commit, pending_welcome, rosters, updated_at)
                VALUES ($r, $s, $e, $ps, $pe, $pc, $pw, $ro, $t)
                ON CONFLICT (room) DO UPDATE SET group_state = excluded.group_state, epoch = excluded.epoch,
                    pending_state = excluded.pending_state, pending_epoch = excluded.pending_epoch,
                    pending_commit = excluded.pending_commit, pending_welcome = excluded.pending_welcome,
                    rosters = excluded.rosters, updated_at = excluded.updated_at;
                """);
            cmd.Parameters.AddWithValue("$r", room.Room);
            cmd.Parameters.AddWithValue("$s", Seal(room.GroupState, GroupPurpose));
            cmd.Parameters.AddWithValue("$e", room.Epoch);
            cmd.Parameters.AddWithValue("$ps", room.PendingState is { } ps ? Seal(ps, GroupPurpose) : DBNull.Value);
            cmd.Parameters.AddWithValue("$pe", (object?)room.PendingEpoch ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$pc", (object?)room.PendingCommit ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$pw", (object?)room.PendingWelcome ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ro", room.Rosters);
            cmd.Parameters.AddWithValue("$t", ClientStore.FormatTime(now));
            cmd.ExecuteNonQuery();
        }
    }

    public bool RemoveRoom(string room)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM mls_groups WHERE room = $r; DELETE FROM mls_held WHERE room = $r; DELETE FROM mls_room_meta WHERE room = $r;");
            cmd.Parameters.AddWithValue("$r", room);
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    public bool HasRoom(string room)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT COUNT(*) FROM mls_groups WHERE room = $r;");
            cmd.Parameters.AddWithValue("$r", room);
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
        }
    }

    // ---- room facts ----

    public MlsRoomMeta? GetMeta(string room)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT room, inactive_reason, updated_at, sent_since_update FROM mls_room_meta WHERE room = $r;");
            cmd.Parameters.AddWithValue("$r", room);
            using var reader = cmd.ExecuteReader();
            return reader.Read()
                ? new MlsRoomMeta(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), ParseTime(reader.GetString(2)), (int)Math.Min(int.MaxValue, reader.GetInt64(3)))
                : null;
        }
    }

    /// <summary>Records a fresh leaf for this member (joined, created, or committed with a path): active, nothing sent since.</summary>
    public void MarkUpdated(string room, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT INTO mls_room_meta (room, inactive_reason, updated_at, sent_since_update) VALUES ($r, NULL, $t, 0)
                ON CONFLICT (room) DO UPDATE SET inactive_reason = NULL, updated_at = excluded.updated_at, sent_since_update = 0;
                """);
            cmd.Parameters.AddWithValue("$r", room);
            cmd.Parameters.AddWithValue("$t", ClientStore.FormatTime(now));
            cmd.ExecuteNonQuery();
        }
    }

    public void CountSent(string room)
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE mls_room_meta SET sent_since_update = sent_since_update + 1 WHERE room = $r;");
            cmd.Parameters.AddWithValue("$r", room);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Forgets the group state (its secrets) and remembers why the room can no longer be used.</summary>
    public void MarkInactive(string room, string reason, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = Command("""
                DELETE FROM mls_groups WHERE room = $r;
                DELETE FROM mls_held WHERE room = $r;
                INSERT INTO mls_room_meta (room, inactive_reason, updated_at, sent_since_update) VALUES ($r, $why, $t, 0)
                ON CONFLICT (room) DO UPDATE SET inactive_reason = excluded.inactive_reason;
                """);
            cmd.Parameters.AddWithValue("$r", room);
            cmd.Parameters.AddWithValue("$why", reason);
            cmd.Parameters.AddWithValue("$t", ClientStore.FormatTime(now));
            cmd.ExecuteNonQuery();
        }
    }

    // ---- KeyPackages ----

    internal void AddKeyPackage(StoredKeyPackage keyPackage)
    {
        var keys = new byte[keyPackage.InitPrivateKey.Length + keyPackage.EncryptionPrivateKey.Length + 1];
        keys[0] = (byte)keyPackage.InitPrivateKey.Length;
        keyPackage.InitPrivateKey.CopyTo(keys, 1);
        keyPackage.EncryptionPrivateKey.CopyTo(keys, 1 + keyPackage.InitPrivateKey.Length);
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT INTO mls_key_packages (reference, key_package, private_keys, last_resort, created_at) VALUES ($ref, $kp, $keys, $lr, $t);
                """);
            cmd.Parameters.AddWithValue("$ref", keyPackage.Reference);
            cmd.Parameters.AddWithValue("$kp", keyPackage.KeyPackage);
            cmd.Parameters.AddWithValue("$keys", Seal(keys, KeyPackagePurpose));
            cmd.Parameters.AddWithValue("$lr", keyPackage.LastResort ? 1 : 0);
            cmd.Parameters.AddWithValue("$t", ClientStore.FormatTime(keyPackage.CreatedAt));
            cmd.ExecuteNonQuery();
        }

        System.Security.Cryptography.CryptographicOperations.ZeroMemory(keys);
    }

    internal IReadOnlyList<StoredKeyPackage> GetKeyPackages()
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT reference, key_package, private_keys, last_resort, created_at FROM mls_key_packages ORDER BY created_at, reference;");
            using var reader = cmd.ExecuteReader();
            var list = new List<StoredKeyPackage>();
            while (reader.Read())
            {
                var keys = Open((byte[])reader.GetValue(2), KeyPackagePurpose);
                if (keys.Length < 1 || keys[0] >= keys.Length)
                {
                    throw new ClientStateException("a stored KeyPackage's private keys are damaged");
                }

                var initLength = keys[0];
                list.Add(new StoredKeyPackage(
                    (byte[])reader.GetValue(0),
                    (byte[])reader.GetValue(1),
                    keys.AsSpan(1, initLength).ToArray(),
                    keys.AsSpan(1 + initLength).ToArray(),
                    reader.GetInt64(3) != 0,
                    DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)));
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(keys);
            }

            return list;
        }
    }

    internal bool RemoveKeyPackage(ReadOnlySpan<byte> reference)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM mls_key_packages WHERE reference = $ref;");
            cmd.Parameters.AddWithValue("$ref", reference.ToArray());
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    // ---- held messages ----

    internal void Hold(HeldMlsMessage message)
    {
        lock (_gate)
        {
            using var cmd = Command("""
                INSERT OR IGNORE INTO mls_held (room, seq, message_id, sender, epoch, payload) VALUES ($r, $s, $id, $from, $e, $p);
                """);
            cmd.Parameters.AddWithValue("$r", message.Room);
            cmd.Parameters.AddWithValue("$s", message.Seq);
            cmd.Parameters.AddWithValue("$id", message.MessageId);
            cmd.Parameters.AddWithValue("$from", message.Sender);
            cmd.Parameters.AddWithValue("$e", (long)message.Epoch);
            cmd.Parameters.AddWithValue("$p", message.Payload);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Held messages of <paramref name="room"/> whose epoch is at most <paramref name="epoch"/>, oldest first.</summary>
    internal IReadOnlyList<HeldMlsMessage> HeldUpTo(string room, ulong epoch)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT room, seq, message_id, sender, epoch, payload FROM mls_held WHERE room = $r AND epoch <= $e ORDER BY seq;");
            cmd.Parameters.AddWithValue("$r", room);
            cmd.Parameters.AddWithValue("$e", (long)epoch);
            using var reader = cmd.ExecuteReader();
            var list = new List<HeldMlsMessage>();
            while (reader.Read())
            {
                list.Add(new HeldMlsMessage(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), (ulong)reader.GetInt64(4), (byte[])reader.GetValue(5)));
            }

            return list;
        }
    }

    internal int HeldCount(string room)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT COUNT(*) FROM mls_held WHERE room = $r;");
            cmd.Parameters.AddWithValue("$r", room);
            return Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
    }

    internal void Release(string room, long seq)
    {
        lock (_gate)
        {
            using var cmd = Command("DELETE FROM mls_held WHERE room = $r AND seq = $s;");
            cmd.Parameters.AddWithValue("$r", room);
            cmd.Parameters.AddWithValue("$s", seq);
            cmd.ExecuteNonQuery();
        }
    }

    public void Dispose() => _connection.Dispose();

    // Secrets written before a passphrase was set are encrypted as soon as one is given.
    private void ProtectPlainSecrets()
    {
        if (_protector is null)
        {
            return;
        }

        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var (table, key, column, purpose) in new[]
            {
                ("mls_groups", "room", "group_state", GroupPurpose),
                ("mls_groups", "room", "pending_state", GroupPurpose),
                ("mls_key_packages", "reference", "private_keys", KeyPackagePurpose),
            })
            {
                var plain = new List<(object Key, byte[] Value)>();
                using (var select = Command($"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL;"))
                {
                    select.Transaction = tx;
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                    {
                        var value = (byte[])reader.GetValue(1);
                        if (!PassphraseKey.IsProtected(value))
                        {
                            plain.Add((reader.GetValue(0), value));
                        }
                    }
                }

                foreach (var (rowKey, value) in plain)
                {
                    using var update = Command($"UPDATE {table} SET {column} = $v WHERE {key} = $k;");
                    update.Transaction = tx;
                    update.Parameters.AddWithValue("$v", _protector.Protect(value, purpose));
                    update.Parameters.AddWithValue("$k", rowKey);
                    update.ExecuteNonQuery();
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(value);
                }
            }

            tx.Commit();
        }
    }

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);

    private byte[] Seal(byte[] secret, string purpose) => _protector is null ? secret : _protector.Protect(secret, purpose);

    private byte[] Open(byte[] stored, string purpose)
    {
        if (_protector is null)
        {
            if (PassphraseKey.IsProtected(stored))
            {
                throw new ClientStateException($"the MLS state is protected by a passphrase: set {PassphraseKey.EnvironmentVariable} or type it when asked");
            }

            return stored;
        }

        return _protector.Unprotect(stored, purpose);
    }

    private SqliteCommand Command(string sql)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd;
    }
}
