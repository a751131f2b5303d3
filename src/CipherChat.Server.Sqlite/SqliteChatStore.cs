using System.Security.Cryptography;
using CipherChat.Server.Hosting;
using CipherChat.Server.Storage;
using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Sqlite;

/// <summary>
/// <see cref="IChatStore"/> on one SQLite file in write-ahead-log mode.
/// </summary>
/// <remarks>
/// Durability: synchronous=FULL, so a commit has reached the disk (the WAL is synced) before a write
/// completes, and the server acknowledges a message only after that. NORMAL would be faster in WAL
/// mode but may lose the newest commits on power failure, which would break "stored before
/// acknowledged". Every write goes through one <see cref="SqliteWriter"/> (a dedicated thread with
/// group commit: whatever is queued shares one transaction and one sync); readers use their own
/// pooled connections and run alongside it.
/// </remarks>
public sealed partial class SqliteChatStore : IChatStore, IQueuedAppendStore
{
    /// <summary>File name of the database inside the data folder.</summary>
    public const string FileName = "cipherchat.db";

    private readonly string _connectionString;
    private SqliteWriter? _writer;
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

    /// <summary>Write transactions committed so far (one disk sync each) and the writes they carried.</summary>
    public (long Commits, long Writes) WriteStatistics => _writer is { } writer ? (writer.Batches, writer.Items) : (0, 0);

    internal SqliteWriter Writer => _writer ?? throw new ObjectDisposedException(nameof(SqliteChatStore));

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
        await using (var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
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
        }

        _writer = SqliteWriter.Start(_connectionString);
        await _writer.WriteAsync(Migrate, cancellationToken).ConfigureAwait(false);
    }

    private bool Migrate(SqliteWriteContext write)
    {
        write.Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        var value = write.Scalar("SELECT max(version) FROM schema_version;");
        var version = value is null ? 0 : Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
        if (version > SqliteSchema.LatestVersion)
        {
            throw new ChatStoreException(
                $"The database {Path} has schema version {version}, newer than this version of CipherChat understands ({SqliteSchema.LatestVersion}). Run a newer CipherChat, or restore a backup made with this version.");
        }

        for (var next = version + 1; next <= SqliteSchema.LatestVersion; next++)
        {
            write.Execute(SqliteSchema.Migrations[next - 1]);
        }

        if (version < SqliteSchema.LatestVersion)
        {
            write.Execute("DELETE FROM schema_version;");
            write.Execute($"INSERT INTO schema_version (version) VALUES ({SqliteSchema.LatestVersion});");
        }

        return true;
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
        var key = publicKey.ToArray();
        var hash = inviteCodeHash?.ToArray();
        var time = now.ToUnixTimeMilliseconds();
        return await Writer.WriteAsync(write =>
        {
            var inserted = write.Execute(
                "INSERT INTO users (name, public_key, created_at) VALUES ($name, $key, $now) ON CONFLICT (name) DO NOTHING;",
                ("$name", username), ("$key", key), ("$now", time));
            if (inserted == 0)
            {
                return RegisterStatus.NameTaken;
            }

            if (hash is not null)
            {
                var used = write.Execute(
                    "UPDATE invites SET used_by = $name, used_at = $now WHERE code_hash = $hash AND used_by IS NULL;",
                    ("$name", username), ("$now", time), ("$hash", hash));
                if (used == 0)
                {
                    write.Undo();
                    return RegisterStatus.InvalidInvite;
                }
            }

            return RegisterStatus.Created;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask AddInviteAsync(ReadOnlyMemory<byte> inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hash = inviteCodeHash.ToArray();
        var time = now.ToUnixTimeMilliseconds();
        await Writer.WriteAsync(write => write.Execute(
            "INSERT INTO invites (code_hash, created_at) VALUES ($hash, $now) ON CONFLICT (code_hash) DO NOTHING;",
            ("$hash", hash), ("$now", time)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<JoinOutcome> JoinRoomAsync(string room, RoomKind kind, ReadOnlyMemory<byte> keyCheck, string username, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var check = keyCheck.ToArray();
        var time = now.ToUnixTimeMilliseconds();
        return await Writer.WriteAsync(write =>
        {
            long roomId = -1;
            ulong lastSeq = 0;
            using (var reader = write.Command("SELECT id, kind, key_check, last_seq FROM rooms WHERE name = $name;", ("$name", room)).ExecuteReader())
            {
                if (reader.Read())
                {
                    roomId = reader.GetInt64(0);
                    if ((RoomKind)reader.GetInt32(1) != kind)
                    {
                        return new JoinOutcome(JoinStatus.KindMismatch, null);
                    }

                    var stored = reader.IsDBNull(2) ? [] : (byte[])reader.GetValue(2);
                    if (kind == RoomKind.Psk && !CryptographicOperations.FixedTimeEquals(stored, check))
                    {
                        return new JoinOutcome(JoinStatus.WrongKey, null);
                    }

                    lastSeq = (ulong)reader.GetInt64(3);
                }
            }

            var created = false;
            if (roomId < 0)
            {
                var id = write.Scalar(
                    "INSERT INTO rooms (name, kind, key_check, created_at) VALUES ($name, $kind, $check, $now) RETURNING id;",
                    ("$name", room), ("$kind", (int)kind), ("$check", check), ("$now", time));
                roomId = Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture);
                created = true;
            }

            write.Execute(
                "INSERT INTO members (room_id, user_name, joined_at) VALUES ($room, $user, $now) ON CONFLICT (room_id, user_name) DO NOTHING;",
                ("$room", roomId), ("$user", username), ("$now", time));
            var readSeq = write.Scalar("SELECT read_seq FROM members WHERE room_id = $room AND user_name = $user;", ("$room", roomId), ("$user", username));
            var summary = new RoomSummary(room, kind, lastSeq, (ulong)Convert.ToInt64(readSeq, System.Globalization.CultureInfo.InvariantCulture));
            return new JoinOutcome(created ? JoinStatus.Created : JoinStatus.Joined, summary);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> LeaveRoomAsync(string room, string username, CancellationToken cancellationToken)
    {
        return await Writer.WriteAsync(write =>
        {
            // A member leaving an MLS room may still read up to the seq at which it left.
            write.Execute(
                """
                INSERT OR REPLACE INTO former_members (room_id, user_name, until_seq)
                SELECT r.id, m.user_name, r.last_seq FROM rooms r JOIN members m ON m.room_id = r.id AND m.user_name = $user
                WHERE r.name = $room AND r.kind = 2;
                """,
                ("$user", username), ("$room", room));
            return write.Execute(
                "DELETE FROM members WHERE user_name = $user AND room_id = (SELECT id FROM rooms WHERE name = $room);",
                ("$user", username), ("$room", room)) > 0;
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

    public async ValueTask<AppendOutcome> AppendMessageAsync(NewMessage message, CancellationToken cancellationToken) =>
        await (await QueueAppendAsync(message, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);

    public ValueTask<Task<AppendOutcome>> QueueAppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Writer.EnqueueAsync(write => Append(write, message), cancellationToken, singleStatement: true);
    }

    /// <summary>
    /// Stores a message with one statement: the insert takes the next seq only when the sender is a
    /// member, skips a duplicate (unique index on room, client message id, sender), and the
    /// <c>messages_advance_room</c> trigger moves the room's last seq on. Only when nothing was
    /// inserted do two reads find out why.
    /// </summary>
    private static AppendOutcome Append(SqliteWriteContext write, NewMessage message)
    {
        var time = message.ServerTime.ToUnixTimeMilliseconds();
        var clientMessageId = AsArray(message.ClientMessageId);
        var stored = write.Scalar(
            """
            INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload)
            SELECT r.id, r.last_seq + 1, $sender, $id, $time, $payload
            FROM rooms r JOIN members m ON m.room_id = r.id AND m.user_name = $sender
            WHERE r.name = $room
            ON CONFLICT (room_id, client_message_id, sender) DO NOTHING
            RETURNING seq;
            """,
            ("$sender", message.Sender), ("$id", clientMessageId), ("$time", time), ("$payload", AsArray(message.Payload)), ("$room", message.Room));
        if (stored is long seq)
        {
            return new AppendOutcome(AppendStatus.Stored, (ulong)seq, DateTimeOffset.FromUnixTimeMilliseconds(time));
        }

        var isMember = write.Scalar(
            "SELECT 1 FROM rooms r JOIN members m ON m.room_id = r.id AND m.user_name = $sender WHERE r.name = $room;",
            ("$sender", message.Sender), ("$room", message.Room));
        if (isMember is null)
        {
            return new AppendOutcome(AppendStatus.NotAMember, 0, default);
        }

        using var reader = write.Command(
            "SELECT m.seq, m.server_time FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.name = $room AND m.sender = $sender AND m.client_message_id = $id;",
            ("$room", message.Room), ("$sender", message.Sender), ("$id", clientMessageId)).ExecuteReader();
        if (!reader.Read())
        {
            throw new ChatStoreException("A message conflicted with one that cannot be found.");
        }

        return new AppendOutcome(AppendStatus.Duplicate, (ulong)reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)));
    }

    /// <summary>The bytes as an array for a parameter, without a copy when the memory is a whole array.</summary>
    private static byte[] AsArray(ReadOnlyMemory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

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
        return await Writer.WriteAsync(write =>
        {
            var value = write.Scalar(
                """
                UPDATE members
                SET read_seq = max(read_seq, min($seq, (SELECT last_seq FROM rooms WHERE rooms.id = members.room_id)))
                WHERE user_name = $user AND room_id = (SELECT id FROM rooms WHERE name = $room)
                RETURNING read_seq;
                """,
                ("$seq", target), ("$user", username), ("$room", room));
            return value is null ? (ulong?)null : (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finishes the queued writes, checkpoints the write-ahead log into the database file and closes pooled connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var writer = Interlocked.Exchange(ref _writer, null);
        if (writer is not null)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }

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

    // ---- Helpers -----------------------------------------------------------------------------

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Reads only: writes go through the writer's own connection.
            await ExecuteAsync(connection, null, "PRAGMA busy_timeout = 10000;", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the writer (inside the batch's transaction, in its own savepoint);
    /// its changes are kept when it says so, else undone. For writes written against the async ADO.NET
    /// API: Microsoft.Data.Sqlite completes those calls synchronously, so the work finishes on the writer's
    /// thread. It must not wait for anything else (least of all another write: the writer would wait
    /// for itself). New writes should prefer <see cref="SqliteWriter.WriteAsync{T}(Func{SqliteWriteContext, T}, CancellationToken)"/>.
    /// </summary>
    private Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<(T Result, bool Commit)>> work, CancellationToken cancellationToken) =>
        Writer.WriteAsync(write =>
        {
            var (result, commit) = work(write.Connection, write.Transaction).GetAwaiter().GetResult();
            if (!commit)
            {
                write.Undo();
            }

            return result;
        }, cancellationToken);

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
