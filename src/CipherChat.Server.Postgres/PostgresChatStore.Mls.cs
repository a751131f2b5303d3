using CipherChat.Server.Storage;
using Npgsql;

namespace CipherChat.Server.Postgres;

/// <summary>
/// The MLS delivery service on PostgreSQL. A commit locks its room's row first (the same lock every
/// append takes), so the epoch check, the append and the membership change form one step for all
/// nodes; the epoch moves with UPDATE ... WHERE epoch = @epoch in that transaction. Key-directory
/// changes lock the owner's user row, so concurrent fetches never hand out one KeyPackage twice.
/// </summary>
public sealed partial class PostgresChatStore
{
    /// <summary>Columns read by <see cref="ReadSummary"/>, from rooms r joined with members m.</summary>
    private const string SummaryColumns = "r.name, r.kind, r.last_seq, m.read_seq, r.group_id, r.epoch, m.role, r.admins_only";

    private const short AdminRole = 1;

    public ValueTask<KeyPackageUploadOutcome> UploadKeyPackagesAsync(string username, IReadOnlyList<NewKeyPackage> oneTime, NewKeyPackage? lastResort, int maxOneTime, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(oneTime);
        return new(WriteAsync(async (connection, transaction) =>
        {
            await LockUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
            foreach (var keyPackage in oneTime)
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO key_packages (user_name, ref, data, created_at) VALUES (@user, @ref, @data, @now) ON CONFLICT (user_name, ref) DO NOTHING;", connection, transaction);
                insert.Parameters.AddWithValue("user", username);
                insert.Parameters.AddWithValue("ref", keyPackage.Reference.ToArray());
                insert.Parameters.AddWithValue("data", keyPackage.Data.ToArray());
                insert.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var counts = await CountAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
            if (counts.OneTime > maxOneTime)
            {
                // Rolled back: nothing of this upload is stored.
                return (new KeyPackageUploadOutcome(KeyPackageUploadStatus.LimitExceeded, counts), false);
            }

            if (lastResort is not null)
            {
                await using var replace = new NpgsqlCommand(
                    """
                    INSERT INTO last_resort_key_packages (user_name, ref, data, created_at) VALUES (@user, @ref, @data, @now)
                    ON CONFLICT (user_name) DO UPDATE SET ref = EXCLUDED.ref, data = EXCLUDED.data, created_at = EXCLUDED.created_at;
                    """, connection, transaction);
                replace.Parameters.AddWithValue("user", username);
                replace.Parameters.AddWithValue("ref", lastResort.Reference.ToArray());
                replace.Parameters.AddWithValue("data", lastResort.Data.ToArray());
                replace.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                await replace.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                counts = counts with { HasLastResort = true };
            }

            return (new KeyPackageUploadOutcome(KeyPackageUploadStatus.Stored, counts), true);
        }, cancellationToken));
    }

    public ValueTask<KeyPackageCounts> CountKeyPackagesAsync(string username, CancellationToken cancellationToken) =>
        new(RunAsync(connection => CountAsync(connection, null, username, cancellationToken), cancellationToken));

    public ValueTask<TakenKeyPackage?> TakeKeyPackageAsync(string username, CancellationToken cancellationToken) =>
        new(WriteAsync<TakenKeyPackage?>(async (connection, transaction) =>
        {
            await LockUserAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
            await using (var take = new NpgsqlCommand(
                "DELETE FROM key_packages WHERE id = (SELECT id FROM key_packages WHERE user_name = @user ORDER BY id LIMIT 1) RETURNING data;", connection, transaction))
            {
                take.Parameters.AddWithValue("user", username);
                if (await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] oneTime)
                {
                    var left = await CountAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
                    return (new TakenKeyPackage(oneTime, false, left.OneTime), true);
                }
            }

            await using var last = new NpgsqlCommand("SELECT data FROM last_resort_key_packages WHERE user_name = @user;", connection, transaction);
            last.Parameters.AddWithValue("user", username);
            var data = await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return (data is byte[] lastResort ? new TakenKeyPackage(lastResort, true, 0) : null, false);
        }, cancellationToken));

    public ValueTask<CreateRoomOutcome> CreateMlsRoomAsync(string room, ReadOnlyMemory<byte> groupId, bool adminsOnlyMembership, string creator, DateTimeOffset now, CancellationToken cancellationToken) =>
        new(WriteAsync(async (connection, transaction) =>
        {
            long roomId;
            await using (var create = new NpgsqlCommand(
                "INSERT INTO rooms (name, kind, group_id, admins_only, created_at) VALUES (@name, 2, @group, @policy, @now) ON CONFLICT (name) DO NOTHING RETURNING id;", connection, transaction))
            {
                create.Parameters.AddWithValue("name", room);
                create.Parameters.AddWithValue("group", groupId.ToArray());
                create.Parameters.AddWithValue("policy", adminsOnlyMembership);
                create.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                if (await create.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long id)
                {
                    return (new CreateRoomOutcome(CreateRoomStatus.Exists, null), false);
                }

                roomId = id;
            }

            await using (var member = new NpgsqlCommand("INSERT INTO members (room_id, user_name, joined_at, role) VALUES (@room, @user, @now, 1);", connection, transaction))
            {
                member.Parameters.AddWithValue("room", roomId);
                member.Parameters.AddWithValue("user", creator);
                member.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
                await member.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var summary = new RoomSummary(room, RoomKind.Mls, 0, 0)
            {
                GroupId = groupId.ToArray(),
                Admin = true,
                AdminsOnlyMembership = adminsOnlyMembership,
            };
            return (new CreateRoomOutcome(CreateRoomStatus.Created, summary), true);
        }, cancellationToken));

    public ValueTask<CommitOutcome> SubmitCommitAsync(NewCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return new(WriteAsync(async (connection, transaction) =>
        {
            long roomId;
            RoomKind kind;
            long epoch;
            bool adminsOnly;

            // The room row's lock: every append and commit of this room, from any node, waits here.
            await using (var find = new NpgsqlCommand("SELECT id, kind, epoch, admins_only FROM rooms WHERE name = @room FOR UPDATE;", connection, transaction))
            {
                find.Parameters.AddWithValue("room", commit.Room);
                await using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (Refused(CommitStatus.NotAMember), false);
                }

                roomId = reader.GetInt64(0);
                kind = (RoomKind)reader.GetInt16(1);
                epoch = reader.GetInt64(2);
                adminsOnly = reader.GetBoolean(3);
            }

            // A retry gets the first outcome, even when that commit ended the sender's membership.
            await using (var duplicate = new NpgsqlCommand(
                "SELECT m.seq, m.server_time, c.new_epoch FROM messages m LEFT JOIN commits c ON c.room_id = m.room_id AND c.seq = m.seq WHERE m.room_id = @room AND m.sender = @sender AND m.client_message_id = @id;",
                connection, transaction))
            {
                duplicate.Parameters.AddWithValue("room", roomId);
                duplicate.Parameters.AddWithValue("sender", commit.Sender);
                duplicate.Parameters.AddWithValue("id", commit.ClientMessageId.ToArray());
                await using var reader = await duplicate.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (reader.IsDBNull(2)
                        ? Refused(CommitStatus.IdInUse)
                        : new CommitOutcome(CommitStatus.Duplicate, (ulong)reader.GetInt64(0), (ulong)reader.GetInt64(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))), false);
                }
            }

            var role = await RoleAsync(connection, transaction, roomId, commit.Sender, cancellationToken).ConfigureAwait(false);
            if (MlsMembershipRules.CheckRoom(commit, role is not null, kind, (ulong)epoch) is { } notHere)
            {
                return (notHere, false);
            }

            var mayChangeOthers = !adminsOnly || role == AdminRole;
            var removedMembers = new List<string>();
            var refused = await MlsMembershipRules.CheckAsync(
                commit,
                mayChangeOthers,
                async user =>
                {
                    await using var exists = new NpgsqlCommand("SELECT 1 FROM users WHERE name = @user;", connection, transaction);
                    exists.Parameters.AddWithValue("user", user);
                    return await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
                },
                async user => await RoleAsync(connection, transaction, roomId, user, cancellationToken).ConfigureAwait(false) is not null,
                async user =>
                {
                    await using var former = new NpgsqlCommand("SELECT 1 FROM former_members WHERE room_id = @room AND user_name = @user;", connection, transaction);
                    former.Parameters.AddWithValue("room", roomId);
                    former.Parameters.AddWithValue("user", user);
                    return await former.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
                },
                removedMembers).ConfigureAwait(false);
            if (refused is not null)
            {
                return (refused, false);
            }

            // RFC 9420 leaves ordering to the delivery service: one commit per epoch, decided here.
            long seq;
            await using (var bump = new NpgsqlCommand(
                "UPDATE rooms SET last_seq = last_seq + 1, epoch = epoch + 1 WHERE id = @room AND epoch = @epoch RETURNING last_seq;", connection, transaction))
            {
                bump.Parameters.AddWithValue("room", roomId);
                bump.Parameters.AddWithValue("epoch", epoch);
                if (await bump.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long next)
                {
                    return (new CommitOutcome(CommitStatus.EpochConflict, 0, (ulong)epoch + 1, default), false);
                }

                seq = next;
            }

            var time = commit.ServerTime.ToUnixTimeMilliseconds();
            await ExecuteAsync(connection, transaction,
                "INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload) VALUES (@room, @seq, @sender, @id, @time, @payload);",
                cancellationToken, ("room", roomId), ("seq", seq), ("sender", commit.Sender), ("id", commit.ClientMessageId.ToArray()), ("time", time), ("payload", commit.Payload.ToArray())).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO commits (room_id, seq, new_epoch) VALUES (@room, @seq, @epoch);",
                cancellationToken, ("room", roomId), ("seq", seq), ("epoch", epoch + 1)).ConfigureAwait(false);
            foreach (var user in commit.Added)
            {
                await ExecuteAsync(connection, transaction, "INSERT INTO members (room_id, user_name, joined_at) VALUES (@room, @user, @time);",
                    cancellationToken, ("room", roomId), ("user", user), ("time", time)).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "DELETE FROM former_members WHERE room_id = @room AND user_name = @user;",
                    cancellationToken, ("room", roomId), ("user", user)).ConfigureAwait(false);
            }

            foreach (var user in removedMembers)
            {
                await ExecuteAsync(connection, transaction, "DELETE FROM members WHERE room_id = @room AND user_name = @user;",
                    cancellationToken, ("room", roomId), ("user", user)).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction,
                    "INSERT INTO former_members (room_id, user_name, until_seq) VALUES (@room, @user, @seq) ON CONFLICT (room_id, user_name) DO UPDATE SET until_seq = EXCLUDED.until_seq;",
                    cancellationToken, ("room", roomId), ("user", user), ("seq", seq)).ConfigureAwait(false);
            }

            foreach (var welcome in commit.Welcomes)
            {
                await ExecuteAsync(connection, transaction,
                    "INSERT INTO welcomes (user_name, room, from_user, welcome, join_seq, server_time) VALUES (@user, @room, @from, @welcome, @seq, @time);",
                    cancellationToken, ("user", welcome.User), ("room", commit.Room), ("from", commit.Sender), ("welcome", welcome.Welcome.ToArray()), ("seq", seq), ("time", time)).ConfigureAwait(false);
            }

            return (new CommitOutcome(CommitStatus.Stored, (ulong)seq, (ulong)epoch + 1, DateTimeOffset.FromUnixTimeMilliseconds(time)), true);
        }, cancellationToken));
    }

    public ValueTask<IReadOnlyList<StoredWelcome>> ListWelcomesAsync(string username, CancellationToken cancellationToken) =>
        new(RunAsync<IReadOnlyList<StoredWelcome>>(async connection =>
        {
            await using var command = new NpgsqlCommand(
                "SELECT room, from_user, welcome, join_seq, server_time FROM welcomes WHERE user_name = @user ORDER BY id;", connection);
            command.Parameters.AddWithValue("user", username);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var result = new List<StoredWelcome>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(new StoredWelcome(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), (ulong)reader.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
            }

            return result;
        }, cancellationToken));

    public ValueTask<bool> AckWelcomeAsync(string username, string room, ulong joinSeq, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            await using var command = new NpgsqlCommand("DELETE FROM welcomes WHERE user_name = @user AND room = @room AND join_seq = @seq;", connection);
            command.Parameters.AddWithValue("user", username);
            command.Parameters.AddWithValue("room", room);
            command.Parameters.AddWithValue("seq", ToInt64(joinSeq));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken));

    public ValueTask<RoomDetailRecord?> GetRoomDetailAsync(string room, string username, CancellationToken cancellationToken) =>
        new(RunAsync(async connection =>
        {
            // One statement, one snapshot: the caller's row and the member list agree.
            await using var command = new NpgsqlCommand(
                $"""
                SELECT {SummaryColumns}, all_m.user_name, all_m.role
                FROM members m JOIN rooms r ON r.id = m.room_id JOIN members all_m ON all_m.room_id = r.id
                WHERE m.user_name = @user AND r.name = @room
                ORDER BY all_m.user_name COLLATE "C";
                """, connection);
            command.Parameters.AddWithValue("user", username);
            command.Parameters.AddWithValue("room", room);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            RoomSummary? summary = null;
            var members = new List<string>();
            var admins = new List<string>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                summary ??= ReadSummary(reader);
                var name = reader.GetString(8);
                members.Add(name);
                if (reader.GetInt16(9) == AdminRole)
                {
                    admins.Add(name);
                }
            }

            return summary is null ? null : new RoomDetailRecord(summary, members, admins);
        }, cancellationToken));

    public ValueTask<PolicyOutcome> SetRoomPolicyAsync(string room, string username, bool adminsOnlyMembership, CancellationToken cancellationToken) =>
        new(WriteAsync(async (connection, transaction) =>
        {
            RoomSummary? summary = null;
            long roomId = 0;
            await using (var find = new NpgsqlCommand(
                $"SELECT {SummaryColumns}, r.id FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_name = @user AND r.name = @room FOR UPDATE OF r;",
                connection, transaction))
            {
                find.Parameters.AddWithValue("user", username);
                find.Parameters.AddWithValue("room", room);
                await using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    summary = ReadSummary(reader);
                    roomId = reader.GetInt64(8);
                }
            }

            if (MlsMembershipRules.CheckPolicyChange(summary) is { } refused)
            {
                return (refused, false);
            }

            await ExecuteAsync(connection, transaction, "UPDATE rooms SET admins_only = @policy WHERE id = @room;",
                cancellationToken, ("policy", adminsOnlyMembership), ("room", roomId)).ConfigureAwait(false);
            // CheckPolicyChange refused a null summary above.
            return (new PolicyOutcome(PolicyStatus.Updated, summary! with { AdminsOnlyMembership = adminsOnlyMembership }), true);
        }, cancellationToken));

    // ---- Helpers -----------------------------------------------------------------------------

    private static CommitOutcome Refused(CommitStatus status, string? user = null) => MlsMembershipRules.Refused(status, user);

    private static RoomSummary ReadSummary(NpgsqlDataReader reader) =>
        new(reader.GetString(0), (RoomKind)reader.GetInt16(1), (ulong)reader.GetInt64(2), (ulong)reader.GetInt64(3))
        {
            GroupId = reader.IsDBNull(4) ? ReadOnlyMemory<byte>.Empty : reader.GetFieldValue<byte[]>(4),
            Epoch = (ulong)reader.GetInt64(5),
            Admin = reader.GetInt16(6) == AdminRole,
            AdminsOnlyMembership = reader.GetBoolean(7),
        };

    private static async Task LockUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string username, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM users WHERE name = @user FOR UPDATE;", connection, transaction);
        command.Parameters.AddWithValue("user", username);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<KeyPackageCounts> CountAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string username, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM key_packages WHERE user_name = @user), EXISTS (SELECT 1 FROM last_resort_key_packages WHERE user_name = @user);",
            connection, transaction);
        command.Parameters.AddWithValue("user", username);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new KeyPackageCounts((int)reader.GetInt64(0), reader.GetBoolean(1));
    }

    private static async Task<short?> RoleAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long roomId, string user, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT role FROM members WHERE room_id = @room AND user_name = @user;", connection, transaction);
        command.Parameters.AddWithValue("room", roomId);
        command.Parameters.AddWithValue("user", user);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is short role ? role : null;
    }

    /// <summary>
    /// The room's id and the last seq <paramref name="username"/> may read: every seq for a member, up
    /// to the end of the membership for a former member of an MLS room; not found for anyone else.
    /// </summary>
    private static async Task<(bool Found, long RoomId, long Until)> FindReadableRoomAsync(NpgsqlConnection connection, string room, string username, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT r.id, CASE WHEN m.user_name IS NOT NULL THEN NULL ELSE f.until_seq END
            FROM rooms r
            LEFT JOIN members m ON m.room_id = r.id AND m.user_name = @user
            LEFT JOIN former_members f ON f.room_id = r.id AND f.user_name = @user
            WHERE r.name = @room AND (m.user_name IS NOT NULL OR f.user_name IS NOT NULL);
            """, connection);
        command.Parameters.AddWithValue("user", username);
        command.Parameters.AddWithValue("room", room);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (false, 0, 0);
        }

        return (true, reader.GetInt64(0), reader.IsDBNull(1) ? long.MaxValue : reader.GetInt64(1));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
