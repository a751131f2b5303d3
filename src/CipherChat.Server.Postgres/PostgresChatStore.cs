using System.Data;
using System.Net.Sockets;
using System.Security.Cryptography;
using CipherChat.Server.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CipherChat.Server.Postgres;

/// <summary>
/// <see cref="IChatStore"/> on PostgreSQL, shared by every node of a cluster. Also an
/// <see cref="IRoomLog"/>, so a node can push the messages other nodes stored.
/// </summary>
/// <remarks>
/// Ordering across nodes comes from the database, not from process memory: an append bumps the
/// room's last_seq with UPDATE ... RETURNING, whose row lock queues every other append to that room
/// (from any node) until this transaction ends, and inserts the message in the same transaction.
/// A retry with the same (room, sender, client message id) is answered with the original seq; a
/// unique index makes that hold even against a concurrent retry. Any failure to reach the database
/// becomes a <see cref="ChatStoreException"/>: the request fails at once with a clear error and
/// nothing is half-done. All SQL is parameterised.
/// </remarks>
public sealed partial class PostgresChatStore : IChatStore, IRoomLog
{
    private const int DefaultConnectTimeoutSeconds = 5;
    private const int DefaultCommandTimeoutSeconds = 15;

    private readonly NpgsqlDataSource _source;
    private int _disposed;

    private PostgresChatStore(NpgsqlDataSource source, string description)
    {
        _source = source;
        Description = description;
    }

    /// <summary>Host, port and database, for messages (never the password).</summary>
    public string Description { get; }

    /// <summary>
    /// Connects to the database named by <paramref name="connectionString"/> (Npgsql syntax, e.g.
    /// "Host=db;Username=cipherchat;Password=...;Database=cipherchat") and brings its schema up to date.
    /// </summary>
    /// <exception cref="ChatStoreException">The database cannot be reached, is newer than this program, or is not a CipherChat database.</exception>
    public static async Task<PostgresChatStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder settings;
        try
        {
            settings = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ChatStoreException("The PostgreSQL connection string is not valid: " + ex.Message, ex);
        }

        // Fail fast rather than hang when the database is unreachable (Npgsql's defaults are 15 s and 30 s).
        var explicitKeys = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!explicitKeys.ContainsKey("Timeout"))
        {
            settings.Timeout = DefaultConnectTimeoutSeconds;
        }

        if (!explicitKeys.ContainsKey("Command Timeout") && !explicitKeys.ContainsKey("CommandTimeout"))
        {
            settings.CommandTimeout = DefaultCommandTimeoutSeconds;
        }

        settings.ApplicationName ??= "cipherchat";
        var description = $"PostgreSQL database {settings.Database ?? settings.Username ?? "?"} on {settings.Host ?? "localhost"}:{settings.Port}";
        var store = new PostgresChatStore(NpgsqlDataSource.Create(settings), description);
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch (Exception ex) when (IsDatabaseFault(ex))
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new ChatStoreException($"The {description} cannot be used: {ex.Message}", ex);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The schema version of the database.</summary>
    public Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default) =>
        RunAsync(async connection => await ReadSchemaVersionAsync(connection, null, cancellationToken).ConfigureAwait(false), cancellationToken);

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Nodes starting together migrate one after the other; the lock ends with the transaction.
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key);", connection, transaction))
        {
            command.Parameters.AddWithValue("key", PostgresSchema.MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS cipherchat_schema (version integer NOT NULL);", cancellationToken).ConfigureAwait(false);
        var version = await ReadSchemaVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (version > PostgresSchema.LatestVersion)
        {
            throw new ChatStoreException(
                $"The {Description} has schema version {version}, newer than this version of CipherChat understands ({PostgresSchema.LatestVersion}). Upgrade every node to a newer CipherChat, or restore a backup made with this version.");
        }

        for (var next = version + 1; next <= PostgresSchema.LatestVersion; next++)
        {
            await ExecuteAsync(connection, transaction, PostgresSchema.Migrations[next - 1], cancellationToken).ConfigureAwait(false);
        }

        if (version < PostgresSchema.LatestVersion)
        {
            await ExecuteAsync(connection, transaction, "DELETE FROM cipherchat_schema;", cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("INSERT INTO cipherchat_schema (version) VALUES (@version);", connection, transaction);
            command.Parameters.AddWithValue("version", PostgresSchema.LatestVersion);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> ReadSchemaVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var exists = new NpgsqlCommand("SELECT to_regclass('cipherchat_schema') IS NOT NULL;", connection, transaction);
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            return 0;
        }

        await using var command = new NpgsqlCommand("SELECT max(version) FROM cipherchat_schema;", connection, transaction);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    // ---- IChatStore --------------------------------------------------------------------------

    public ValueTask<UserRecord?> FindUserAsync(string username, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT public_key, created_at FROM users WHERE name = @name;", connection);
            command.Parameters.AddWithValue("name", username);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new UserRecord(username, reader.GetFieldValue<byte[]>(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)));
        }, cancellationToken));

    public ValueTask<RegisterStatus> RegisterUserAsync(string username, ReadOnlyMemory<byte> publicKey, ReadOnlyMemory<byte>? inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        new(WriteAsync(async (connection, transaction) =>
        {
            await using (var insert = new NpgsqlCommand(
                "INSERT INTO users (name, public_key, created_at) VALUES (@name, @key, @now) ON CONFLICT (name) DO NOTHING;", connection, transaction))
            {
                insert.Parameters.AddWithValue("name", username);
                insert.Parameters.AddWithValue("key", publicKey.ToArray());
                insert.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return (RegisterStatus.NameTaken, false);
                }
            }

            if (inviteCodeHash is { } hash)
            {
                await using var use = new NpgsqlCommand(
                    "UPDATE invites SET used_by = @name, used_at = @now WHERE code_hash = @hash AND used_by IS NULL;", connection, transaction);
                use.Parameters.AddWithValue("name", username);
                use.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                use.Parameters.AddWithValue("hash", hash.ToArray());
                if (await use.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return (RegisterStatus.InvalidInvite, false);
                }
            }

            return (RegisterStatus.Created, true);
        }, cancellationToken));

    public ValueTask AddInviteAsync(ReadOnlyMemory<byte> inviteCodeHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            await using var command = new NpgsqlCommand(
                "INSERT INTO invites (code_hash, created_at) VALUES (@hash, @now) ON CONFLICT (code_hash) DO NOTHING;", connection);
            command.Parameters.AddWithValue("hash", inviteCodeHash.ToArray());
            command.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken));

    public ValueTask<JoinOutcome> JoinRoomAsync(string room, RoomKind kind, ReadOnlyMemory<byte> keyCheck, string username, DateTimeOffset now, CancellationToken cancellationToken) =>
        new(WriteAsync(async (connection, transaction) =>
        {
            long roomId;
            ulong lastSeq = 0;
            var created = false;
            await using (var create = new NpgsqlCommand(
                "INSERT INTO rooms (name, kind, key_check, created_at) VALUES (@name, @kind, @check, @now) ON CONFLICT (name) DO NOTHING RETURNING id;", connection, transaction))
            {
                create.Parameters.AddWithValue("name", room);
                create.Parameters.AddWithValue("kind", (short)kind);
                create.Parameters.AddWithValue("check", keyCheck.ToArray());
                create.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                var id = await create.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                if (id is long newId)
                {
                    roomId = newId;
                    created = true;
                }
                else
                {
                    roomId = -1;
                }
            }

            if (!created)
            {
                await using var find = new NpgsqlCommand("SELECT id, kind, key_check, last_seq FROM rooms WHERE name = @name;", connection, transaction);
                find.Parameters.AddWithValue("name", room);
                await using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new ChatStoreException($"Room {room} vanished while joining it.");
                }

                roomId = reader.GetInt64(0);
                if ((RoomKind)reader.GetInt16(1) != kind)
                {
                    return (new JoinOutcome(JoinStatus.KindMismatch, null), false);
                }

                var stored = reader.IsDBNull(2) ? [] : reader.GetFieldValue<byte[]>(2);
                if (kind == RoomKind.Psk && !CryptographicOperations.FixedTimeEquals(stored, keyCheck.Span))
                {
                    return (new JoinOutcome(JoinStatus.WrongKey, null), false);
                }

                lastSeq = (ulong)reader.GetInt64(3);
            }

            await using var member = new NpgsqlCommand(
                """
                INSERT INTO members (room_id, user_name, joined_at) VALUES (@room, @user, @now)
                ON CONFLICT (room_id, user_name) DO UPDATE SET read_seq = members.read_seq
                RETURNING read_seq;
                """, connection, transaction);
            member.Parameters.AddWithValue("room", roomId);
            member.Parameters.AddWithValue("user", username);
            member.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
            var readSeq = (long)(await member.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            var summary = new RoomSummary(room, kind, lastSeq, (ulong)readSeq);
            return (new JoinOutcome(created ? JoinStatus.Created : JoinStatus.Joined, summary), true);
        }, cancellationToken));

    public ValueTask<bool> LeaveRoomAsync(string room, string username, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            // A member leaving an MLS room may still read up to the seq at which it left.
            await using var command = new NpgsqlCommand(
                """
                WITH gone AS (
                    DELETE FROM members m USING rooms r
                    WHERE m.room_id = r.id AND r.name = @room AND m.user_name = @user
                    RETURNING r.id, r.kind, r.last_seq),
                kept AS (
                    INSERT INTO former_members (room_id, user_name, until_seq)
                    SELECT id, @user, last_seq FROM gone WHERE kind = 2
                    ON CONFLICT (room_id, user_name) DO UPDATE SET until_seq = EXCLUDED.until_seq
                    RETURNING 1)
                SELECT count(*) FROM gone;
                """, connection);
            command.Parameters.AddWithValue("user", username);
            command.Parameters.AddWithValue("room", room);
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
        }, cancellationToken));

    public ValueTask<IReadOnlyList<RoomSummary>> ListRoomsAsync(string username, CancellationToken cancellationToken) =>
        new(RunAsync<IReadOnlyList<RoomSummary>>(async connection =>
        {
            await using var command = new NpgsqlCommand(
                $"SELECT {SummaryColumns} FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_name = @user ORDER BY r.name COLLATE \"C\";",
                connection);
            command.Parameters.AddWithValue("user", username);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var result = new List<RoomSummary>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(ReadSummary(reader));
            }

            return result;
        }, cancellationToken));

    public ValueTask<AppendOutcome> AppendMessageAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(WriteAsync(async (connection, transaction) =>
        {
            // Takes the room row's lock: appends to this room from every node queue here until commit.
            long roomId;
            long seq;
            await using (var bump = new NpgsqlCommand(
                """
                UPDATE rooms r SET last_seq = r.last_seq + 1
                FROM members m
                WHERE r.name = @room AND m.room_id = r.id AND m.user_name = @sender
                RETURNING r.id, r.last_seq;
                """, connection, transaction))
            {
                bump.Parameters.AddWithValue("room", message.Room);
                bump.Parameters.AddWithValue("sender", message.Sender);
                await using var reader = await bump.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (new AppendOutcome(AppendStatus.NotAMember, 0, default), false);
                }

                roomId = reader.GetInt64(0);
                seq = reader.GetInt64(1);
            }

            // Holding the room lock, an earlier append with this id is committed and visible here.
            await using (var duplicate = new NpgsqlCommand(
                "SELECT seq, server_time FROM messages WHERE room_id = @room AND sender = @sender AND client_message_id = @id;", connection, transaction))
            {
                duplicate.Parameters.AddWithValue("room", roomId);
                duplicate.Parameters.AddWithValue("sender", message.Sender);
                duplicate.Parameters.AddWithValue("id", message.ClientMessageId.ToArray());
                await using var reader = await duplicate.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // Rolled back, so the seq taken above is given back.
                    return (new AppendOutcome(AppendStatus.Duplicate, (ulong)reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))), false);
                }
            }

            var time = message.ServerTime.ToUnixTimeMilliseconds();
            await using (var insert = new NpgsqlCommand(
                "INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload) VALUES (@room, @seq, @sender, @id, @time, @payload);",
                connection, transaction))
            {
                insert.Parameters.AddWithValue("room", roomId);
                insert.Parameters.AddWithValue("seq", seq);
                insert.Parameters.AddWithValue("sender", message.Sender);
                insert.Parameters.AddWithValue("id", message.ClientMessageId.ToArray());
                insert.Parameters.AddWithValue("time", time);
                insert.Parameters.AddWithValue("payload", message.Payload.ToArray());
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return (new AppendOutcome(AppendStatus.Stored, (ulong)seq, DateTimeOffset.FromUnixTimeMilliseconds(time)), true);
        }, cancellationToken));
    }

    public ValueTask<FetchPage?> FetchMessagesAsync(string room, string username, ulong afterSeq, int limit, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            var (found, roomId, until) = await FindReadableRoomAsync(connection, room, username, cancellationToken).ConfigureAwait(false);
            if (!found)
            {
                return null;
            }

            var take = Math.Max(limit, 0);
            var messages = await ReadMessagesAsync(connection, roomId, room, afterSeq, take + 1, cancellationToken, until).ConfigureAwait(false);
            var hasMore = messages.Count > take;
            if (hasMore)
            {
                messages.RemoveAt(messages.Count - 1);
            }

            return new FetchPage(messages, hasMore);
        }, cancellationToken));

    public ValueTask<ulong?> AckAsync(string room, string username, ulong seq, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            await using var command = new NpgsqlCommand(
                """
                UPDATE members m SET read_seq = GREATEST(m.read_seq, LEAST(@seq, r.last_seq))
                FROM rooms r
                WHERE r.id = m.room_id AND r.name = @room AND m.user_name = @user
                RETURNING m.read_seq;
                """, connection);
            command.Parameters.AddWithValue("seq", ToInt64(seq));
            command.Parameters.AddWithValue("room", room);
            command.Parameters.AddWithValue("user", username);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value ? (ulong?)value : null;
        }, cancellationToken));

    // ---- IRoomLog ----------------------------------------------------------------------------

    public ValueTask<IReadOnlyList<StoredMessage>> ReadLogAsync(string room, ulong afterSeq, int limit, CancellationToken cancellationToken) =>
        new(RunAsync<IReadOnlyList<StoredMessage>>(async connection =>
        {
            await using var find = new NpgsqlCommand("SELECT id FROM rooms WHERE name = @room;", connection);
            find.Parameters.AddWithValue("room", room);
            if (await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long roomId)
            {
                return [];
            }

            return await ReadMessagesAsync(connection, roomId, room, afterSeq, Math.Max(limit, 0), cancellationToken).ConfigureAwait(false);
        }, cancellationToken));

    public ValueTask<IReadOnlyDictionary<string, ulong>> GetLastSeqsAsync(IReadOnlyCollection<string> rooms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        return new(RunAsync<IReadOnlyDictionary<string, ulong>>(async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT name, last_seq FROM rooms WHERE name = ANY(@names);", connection);
            command.Parameters.Add(new NpgsqlParameter("names", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rooms.ToArray() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result[reader.GetString(0)] = (ulong)reader.GetInt64(1);
            }

            return result;
        }, cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _source.DisposeAsync().ConfigureAwait(false);
    }

    // ---- Helpers -----------------------------------------------------------------------------

    private static async Task<List<StoredMessage>> ReadMessagesAsync(NpgsqlConnection connection, long roomId, string room, ulong afterSeq, int limit, CancellationToken cancellationToken, long until = long.MaxValue)
    {
        await using var command = new NpgsqlCommand(
            "SELECT seq, sender, server_time, client_message_id, payload FROM messages WHERE room_id = @room AND seq > @after AND seq <= @until ORDER BY seq LIMIT @limit;",
            connection);
        command.Parameters.AddWithValue("until", until);
        command.Parameters.AddWithValue("room", roomId);
        command.Parameters.AddWithValue("after", ToInt64(afterSeq));
        command.Parameters.AddWithValue("limit", (long)limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<StoredMessage>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(new StoredMessage(
                room,
                (ulong)reader.GetInt64(0),
                reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                reader.GetFieldValue<byte[]>(3),
                reader.GetFieldValue<byte[]>(4)));
        }

        return messages;
    }

    private static long ToInt64(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;

    /// <summary>Runs <paramref name="work"/> on a pooled connection, turning database faults into <see cref="ChatStoreException"/>.</summary>
    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDatabaseFault(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>Runs <paramref name="work"/> in a read-committed transaction; commits when it says so, else rolls back.</summary>
    private Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<(T Result, bool Commit)>> work, CancellationToken cancellationToken) =>
        RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
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
        }, cancellationToken);

    private ChatStoreException Unavailable(Exception ex) =>
        new($"The {Description} is unavailable: {ex.Message}", ex);

    private static bool IsDatabaseFault(Exception ex) =>
        ex is NpgsqlException or TimeoutException or SocketException or IOException;

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
