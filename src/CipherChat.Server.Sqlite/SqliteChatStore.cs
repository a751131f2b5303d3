using System.Data;
using System.Security.Cryptography;
using CipherChat.Server.Hosting;
using CipherChat.Server.Storage;
using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Sqlite;

/// <summary>
/// <see cref="IChatStore"/> on one SQLite file in write-ahead-log mode.
/// </summary>
/// <remarks>
/// Durability: synchronous=FULL, so a commit has reached the disk (the WAL is synced) before the
/// method returns, and the server acknowledges a message only after that. NORMAL would be faster in
/// WAL mode but may lose the newest commits on power failure, which would break "stored before
/// acknowledged". Writers are serialized in process (SQLite allows one writer at a time anyway);
/// readers use their own pooled connections and run alongside the writer.
/// </remarks>
public sealed partial class SqliteChatStore : IChatStore
{
    /// <summary>File name of the database inside the data folder.</summary>
    public const string FileName = "cipherchat.db";

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    private SqliteChatStore(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating when missing) the database in <paramref name="dataDirectory"/> and brings its schema up to date.</summary>
    /// <exception cref="ChatStoreException">The database is newer than this program, or not a CipherChat database.</exception>
    public static Task<SqliteChatStore> OpenAsync(string dataDirectory, CancellationToken cancellationToken = default)
    {
        DataDirectory.Ensure(dataDirectory);
        return OpenFileAsync(System.IO.Path.Combine(dataDirectory, FileName), cancellationToken);
    }

    /// <summary>Opens (creating when missing) the database file at <paramref name="path"/>.</summary>
    public static async Task<SqliteChatStore> OpenFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var store = new SqliteChatStore(System.IO.Path.GetFullPath(path));
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch (SqliteException ex)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new ChatStoreException($"The database {store.Path} cannot be used: {ex.Message}", ex);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The schema version of the open database.</summary>
    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadSchemaVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The journal mode of the database ("wal" when healthy).</summary>
    public async Task<string> GetJournalModeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (string)(await ScalarAsync(connection, null, "PRAGMA journal_mode;", cancellationToken).ConfigureAwait(false))!;
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            // Message payloads are ciphertext, but accounts and room names are nobody else's business.
            try
            {
                File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            catch (UnauthorizedAccessException)
            {
                // Not the owner (an operator running a tool as another user): leave the mode alone.
            }
        }

        var mode = (string?)await ScalarAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);

        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new ChatStoreException($"{Path}: the database could not be switched to write-ahead-log mode.");
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", cancellationToken).ConfigureAwait(false);
            var version = await ReadSchemaVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            if (version > SqliteSchema.LatestVersion)
            {
                throw new ChatStoreException(
                    $"The database {Path} has schema version {version}, newer than this version of CipherChat understands ({SqliteSchema.LatestVersion}). Run a newer CipherChat, or restore a backup made with this version.");
            }

            for (var next = version + 1; next <= SqliteSchema.LatestVersion; next++)
            {
                await ExecuteAsync(connection, transaction, SqliteSchema.Migrations[next - 1], cancellationToken).ConfigureAwait(false);
            }

            if (version < SqliteSchema.LatestVersion)
            {
                await ExecuteAsync(connection, transaction, "DELETE FROM schema_version;", cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, $"INSERT INTO schema_version (version) VALUES ({SqliteSchema.LatestVersion});", cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static async Task<int> ReadSchemaVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        var exists = await ScalarAsync(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';", cancellationToken).ConfigureAwait(false);
        if (Convert.ToInt64(exists, System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return 0;
        }

        var value = await ScalarAsync(connection, transaction, "SELECT max(version) FROM schema_version;", cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    // ---- IChatStore --------------------------------------------------------------------------

    public async ValueTask<UserRecord?> FindUserAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT public_key, created_at FROM users WHERE name = $name;", ("$name", username));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new UserRecord(username, (byte[])reader.GetValue(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)));
    }

    public async ValueTask<RegisterStatus> RegisterUserAsync(string username, ReadOnlyMemory<byte> publicKey, ReadOnlyMemory<byte>? inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return await WriteAsync(async (connection, transaction) =>
        {
            var inserted = await NonQueryAsync(connection, transaction,
                "INSERT INTO users (name, public_key, created_at) VALUES ($name, $key, $now) ON CONFLICT (name) DO NOTHING;",
                cancellationToken, ("$name", username), ("$key", publicKey.ToArray()), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            if (inserted == 0)
            {
                return (RegisterStatus.NameTaken, false);
            }

            if (inviteCodeHash is { } hash)
            {
                var used = await NonQueryAsync(connection, transaction,
                    "UPDATE invites SET used_by = $name, used_at = $now WHERE code_hash = $hash AND used_by IS NULL;",
                    cancellationToken, ("$name", username), ("$now", now.ToUnixTimeMilliseconds()), ("$hash", hash.ToArray())).ConfigureAwait(false);
                if (used == 0)
                {
                    return (RegisterStatus.InvalidInvite, false);
                }
            }

            return (RegisterStatus.Created, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask AddInviteAsync(ReadOnlyMemory<byte> inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await WriteAsync(async (connection, transaction) =>
        {
            await NonQueryAsync(connection, transaction,
                "INSERT INTO invites (code_hash, created_at) VALUES ($hash, $now) ON CONFLICT (code_hash) DO NOTHING;",
                cancellationToken, ("$hash", inviteCodeHash.ToArray()), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            return (true, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<JoinOutcome> JoinRoomAsync(string room, RoomKind kind, ReadOnlyMemory<byte> keyCheck, string username, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return await WriteAsync(async (connection, transaction) =>
        {
            long roomId;
            ulong lastSeq = 0;
            var created = false;
            await using (var command = Command(connection, transaction, "SELECT id, kind, key_check, last_seq FROM rooms WHERE name = $name;", ("$name", room)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    roomId = reader.GetInt64(0);
                    if ((RoomKind)reader.GetInt32(1) != kind)
                    {
                        return (new JoinOutcome(JoinStatus.KindMismatch, null), false);
                    }

                    var stored = reader.IsDBNull(2) ? [] : (byte[])reader.GetValue(2);
                    if (kind == RoomKind.Psk && !CryptographicOperations.FixedTimeEquals(stored, keyCheck.Span))
                    {
                        return (new JoinOutcome(JoinStatus.WrongKey, null), false);
                    }

                    lastSeq = (ulong)reader.GetInt64(3);
                }
                else
                {
                    roomId = -1;
                }
            }

            if (roomId < 0)
            {
                var id = await ScalarAsync(connection, transaction,
                    "INSERT INTO rooms (name, kind, key_check, created_at) VALUES ($name, $kind, $check, $now) RETURNING id;",
                    cancellationToken, ("$name", room), ("$kind", (int)kind), ("$check", keyCheck.ToArray()), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
                roomId = Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture);
                created = true;
            }

            await NonQueryAsync(connection, transaction,
                "INSERT INTO members (room_id, user_name, joined_at) VALUES ($room, $user, $now) ON CONFLICT (room_id, user_name) DO NOTHING;",
                cancellationToken, ("$room", roomId), ("$user", username), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            var readSeq = await ScalarAsync(connection, transaction,
                "SELECT read_seq FROM members WHERE room_id = $room AND user_name = $user;",
                cancellationToken, ("$room", roomId), ("$user", username)).ConfigureAwait(false);
            var summary = new RoomSummary(room, kind, lastSeq, (ulong)Convert.ToInt64(readSeq, System.Globalization.CultureInfo.InvariantCulture));
            return (new JoinOutcome(created ? JoinStatus.Created : JoinStatus.Joined, summary), true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> LeaveRoomAsync(string room, string username, CancellationToken cancellationToken)
    {
        return await WriteAsync(async (connection, transaction) =>
        {
            // A member leaving an MLS room may still read up to the seq at which it left.
            await NonQueryAsync(connection, transaction,
                """
                INSERT OR REPLACE INTO former_members (room_id, user_name, until_seq)
                SELECT r.id, m.user_name, r.last_seq FROM rooms r JOIN members m ON m.room_id = r.id AND m.user_name = $user
                WHERE r.name = $room AND r.kind = 2;
                """,
                cancellationToken, ("$user", username), ("$room", room)).ConfigureAwait(false);
            var removed = await NonQueryAsync(connection, transaction,
                "DELETE FROM members WHERE user_name = $user AND room_id = (SELECT id FROM rooms WHERE name = $room);",
                cancellationToken, ("$user", username), ("$room", room)).ConfigureAwait(false);
            return (removed > 0, removed > 0);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            $"SELECT {SummaryColumns} FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_name = $user ORDER BY r.name;",
            ("$user", username));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<RoomSummary>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadSummary(reader));
        }

        return result;
    }

    public async ValueTask<AppendOutcome> AppendMessageAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return await WriteAsync(async (connection, transaction) =>
        {
            long roomId;
            long lastSeq;
            await using (var command = Command(connection, transaction,
                "SELECT r.id, r.last_seq FROM rooms r JOIN members m ON m.room_id = r.id AND m.user_name = $sender WHERE r.name = $room;",
                ("$sender", message.Sender), ("$room", message.Room)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (new AppendOutcome(AppendStatus.NotAMember, 0, default), false);
                }

                roomId = reader.GetInt64(0);
                lastSeq = reader.GetInt64(1);
            }

            await using (var command = Command(connection, transaction,
                "SELECT seq, server_time FROM messages WHERE room_id = $room AND sender = $sender AND client_message_id = $id;",
                ("$room", roomId), ("$sender", message.Sender), ("$id", message.ClientMessageId.ToArray())))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (new AppendOutcome(AppendStatus.Duplicate, (ulong)reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))), false);
                }
            }

            var seq = lastSeq + 1;
            var time = message.ServerTime.ToUnixTimeMilliseconds();
            await NonQueryAsync(connection, transaction, "UPDATE rooms SET last_seq = $seq WHERE id = $room;", cancellationToken, ("$seq", seq), ("$room", roomId)).ConfigureAwait(false);
            await NonQueryAsync(connection, transaction,
                "INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload) VALUES ($room, $seq, $sender, $id, $time, $payload);",
                cancellationToken, ("$room", roomId), ("$seq", seq), ("$sender", message.Sender), ("$id", message.ClientMessageId.ToArray()), ("$time", time), ("$payload", message.Payload.ToArray())).ConfigureAwait(false);
            return (new AppendOutcome(AppendStatus.Stored, (ulong)seq, DateTimeOffset.FromUnixTimeMilliseconds(time)), true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<FetchPage?> FetchMessagesAsync(string room, string username, ulong afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: true);
        var (roomId, until) = await FindReadableRoomAsync(connection, transaction, room, username, cancellationToken).ConfigureAwait(false);
        if (roomId is null)
        {
            return null;
        }

        var after = afterSeq > long.MaxValue ? long.MaxValue : (long)afterSeq;
        var take = Math.Max(limit, 0);
        await using var command = Command(connection, transaction,
            "SELECT seq, sender, server_time, client_message_id, payload FROM messages WHERE room_id = $room AND seq > $after AND seq <= $until ORDER BY seq LIMIT $limit;",
            ("$room", roomId), ("$after", after), ("$until", until), ("$limit", take + 1));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<StoredMessage>();
        var hasMore = false;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (messages.Count == take)
            {
                hasMore = true;
                break;
            }

            messages.Add(new StoredMessage(
                room,
                (ulong)reader.GetInt64(0),
                reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                (byte[])reader.GetValue(3),
                (byte[])reader.GetValue(4)));
        }

        return new FetchPage(messages, hasMore);
    }

    public async ValueTask<ulong?> AckAsync(string room, string username, ulong seq, CancellationToken cancellationToken)
    {
        var target = seq > long.MaxValue ? long.MaxValue : (long)seq;
        return await WriteAsync(async (connection, transaction) =>
        {
            var value = await ScalarAsync(connection, transaction,
                """
                UPDATE members
                SET read_seq = max(read_seq, min($seq, (SELECT last_seq FROM rooms WHERE rooms.id = members.room_id)))
                WHERE user_name = $user AND room_id = (SELECT id FROM rooms WHERE name = $room)
                RETURNING read_seq;
                """,
                cancellationToken, ("$seq", target), ("$user", username), ("$room", room)).ConfigureAwait(false);
            ulong? result = value is null or DBNull ? null : (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            return (result, result is not null);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checkpoints the write-ahead log into the database file and closes pooled connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await using var connection = new SqliteConnection(_connectionString);
            try
            {
                await connection.OpenAsync().ConfigureAwait(false);
                await ExecuteAsync(connection, null, "PRAGMA wal_checkpoint(TRUNCATE);", CancellationToken.None).ConfigureAwait(false);
            }
            catch (SqliteException)
            {
                // The database could not be opened (for instance it was refused at start-up); nothing to flush.
            }

            SqliteConnection.ClearPool(connection);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // ---- Helpers -----------------------------------------------------------------------------

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, null, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="work"/> in an immediate transaction; commits when it says so, else rolls back.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<(T Result, bool Commit)>> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken).ConfigureAwait(false);
            var (result, commit) = await work(connection, transaction).ConfigureAwait(false);
            if (commit)
            {
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> NonQueryAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
