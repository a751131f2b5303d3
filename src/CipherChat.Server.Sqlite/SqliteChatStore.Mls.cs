using System.Globalization;
using CipherChat.Server.Storage;
using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Sqlite;

/// <summary>The MLS delivery service on SQLite. Every change runs in one write transaction.</summary>
public sealed partial class SqliteChatStore
{
    /// <summary>Columns read by <see cref="ReadSummary"/>, from rooms r joined with members m.</summary>
    private const string SummaryColumns = "r.name, r.kind, r.last_seq, m.read_seq, r.group_id, r.epoch, m.role, r.admins_only";

    private const int AdminRole = 1;

    public async ValueTask<KeyPackageUploadOutcome> UploadKeyPackagesAsync(string username, IReadOnlyList<NewKeyPackage> oneTime, NewKeyPackage? lastResort, int maxOneTime, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(oneTime);
        return await WriteAsync(async (connection, transaction) =>
        {
            foreach (var keyPackage in oneTime)
            {
                await NonQueryAsync(connection, transaction,
                    "INSERT INTO key_packages (user_name, ref, data, created_at) VALUES ($user, $ref, $data, $now) ON CONFLICT (user_name, ref) DO NOTHING;",
                    cancellationToken, ("$user", username), ("$ref", keyPackage.Reference.ToArray()), ("$data", keyPackage.Data.ToArray()), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            }

            var counts = await CountAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
            if (counts.OneTime > maxOneTime)
            {
                // Rolled back: nothing of this upload is stored.
                return (new KeyPackageUploadOutcome(KeyPackageUploadStatus.LimitExceeded, counts), false);
            }

            if (lastResort is not null)
            {
                await NonQueryAsync(connection, transaction,
                    "INSERT OR REPLACE INTO last_resort_key_packages (user_name, ref, data, created_at) VALUES ($user, $ref, $data, $now);",
                    cancellationToken, ("$user", username), ("$ref", lastResort.Reference.ToArray()), ("$data", lastResort.Data.ToArray()), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
                counts = counts with { HasLastResort = true };
            }

            return (new KeyPackageUploadOutcome(KeyPackageUploadStatus.Stored, counts), true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<KeyPackageCounts> CountKeyPackagesAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await CountAsync(connection, null, username, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<TakenKeyPackage?> TakeKeyPackageAsync(string username, CancellationToken cancellationToken)
    {
        return await WriteAsync<TakenKeyPackage?>(async (connection, transaction) =>
        {
            var data = await ScalarAsync(connection, transaction,
                "DELETE FROM key_packages WHERE id = (SELECT id FROM key_packages WHERE user_name = $user ORDER BY id LIMIT 1) RETURNING data;",
                cancellationToken, ("$user", username)).ConfigureAwait(false);
            if (data is byte[] oneTime)
            {
                var left = await CountAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
                return (new TakenKeyPackage(oneTime, false, left.OneTime), true);
            }

            var last = await ScalarAsync(connection, transaction,
                "SELECT data FROM last_resort_key_packages WHERE user_name = $user;", cancellationToken, ("$user", username)).ConfigureAwait(false);
            return (last is byte[] lastResort ? new TakenKeyPackage(lastResort, true, 0) : null, false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<CreateRoomOutcome> CreateMlsRoomAsync(string room, ReadOnlyMemory<byte> groupId, bool adminsOnlyMembership, string creator, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return await WriteAsync(async (connection, transaction) =>
        {
            var id = await ScalarAsync(connection, transaction,
                "INSERT INTO rooms (name, kind, group_id, admins_only, created_at) VALUES ($name, 2, $group, $policy, $now) ON CONFLICT (name) DO NOTHING RETURNING id;",
                cancellationToken, ("$name", room), ("$group", groupId.ToArray()), ("$policy", adminsOnlyMembership ? 1 : 0), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            if (id is null or DBNull)
            {
                return (new CreateRoomOutcome(CreateRoomStatus.Exists, null), false);
            }

            await NonQueryAsync(connection, transaction,
                "INSERT INTO members (room_id, user_name, joined_at, role) VALUES ($room, $user, $now, 1);",
                cancellationToken, ("$room", id), ("$user", creator), ("$now", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            var summary = new RoomSummary(room, RoomKind.Mls, 0, 0)
            {
                GroupId = groupId.ToArray(),
                Admin = true,
                AdminsOnlyMembership = adminsOnlyMembership,
            };
            return (new CreateRoomOutcome(CreateRoomStatus.Created, summary), true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<CommitOutcome> SubmitCommitAsync(NewCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return await WriteAsync(async (connection, transaction) =>
        {
            long roomId;
            RoomKind kind;
            long epoch;
            bool adminsOnly;
            long lastSeq;
            await using (var command = Command(connection, transaction, "SELECT id, kind, epoch, admins_only, last_seq FROM rooms WHERE name = $room;", ("$room", commit.Room)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (Refused(CommitStatus.NotAMember), false);
                }

                roomId = reader.GetInt64(0);
                kind = (RoomKind)reader.GetInt32(1);
                epoch = reader.GetInt64(2);
                adminsOnly = reader.GetInt64(3) != 0;
                lastSeq = reader.GetInt64(4);
            }

            // A retry gets the first outcome, even when that commit ended the sender's membership.
            await using (var command = Command(connection, transaction,
                "SELECT m.seq, m.server_time, c.new_epoch FROM messages m LEFT JOIN commits c ON c.room_id = m.room_id AND c.seq = m.seq WHERE m.room_id = $room AND m.sender = $sender AND m.client_message_id = $id;",
                ("$room", roomId), ("$sender", commit.Sender), ("$id", commit.ClientMessageId.ToArray())))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
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
                async user => await ScalarAsync(connection, transaction, "SELECT 1 FROM users WHERE name = $user;", cancellationToken, ("$user", user)).ConfigureAwait(false) is not null,
                async user => await RoleAsync(connection, transaction, roomId, user, cancellationToken).ConfigureAwait(false) is not null,
                async user => await ScalarAsync(connection, transaction,
                    "SELECT 1 FROM former_members WHERE room_id = $room AND user_name = $user;", cancellationToken, ("$room", roomId), ("$user", user)).ConfigureAwait(false) is not null,
                removedMembers).ConfigureAwait(false);
            if (refused is not null)
            {
                return (refused, false);
            }

            var seq = lastSeq + 1;
            var time = commit.ServerTime.ToUnixTimeMilliseconds();
            var bumped = await NonQueryAsync(connection, transaction,
                "UPDATE rooms SET last_seq = $seq, epoch = epoch + 1 WHERE id = $room AND epoch = $epoch;",
                cancellationToken, ("$seq", seq), ("$room", roomId), ("$epoch", epoch)).ConfigureAwait(false);
            if (bumped != 1)
            {
                throw new ChatStoreException("The room's epoch changed inside its own write transaction.");
            }

            await NonQueryAsync(connection, transaction,
                "INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload) VALUES ($room, $seq, $sender, $id, $time, $payload);",
                cancellationToken, ("$room", roomId), ("$seq", seq), ("$sender", commit.Sender), ("$id", commit.ClientMessageId.ToArray()), ("$time", time), ("$payload", commit.Payload.ToArray())).ConfigureAwait(false);
            await NonQueryAsync(connection, transaction,
                "INSERT INTO commits (room_id, seq, new_epoch) VALUES ($room, $seq, $epoch);",
                cancellationToken, ("$room", roomId), ("$seq", seq), ("$epoch", epoch + 1)).ConfigureAwait(false);
            foreach (var user in commit.Added)
            {
                await NonQueryAsync(connection, transaction,
                    "INSERT INTO members (room_id, user_name, joined_at) VALUES ($room, $user, $time);",
                    cancellationToken, ("$room", roomId), ("$user", user), ("$time", time)).ConfigureAwait(false);
                await NonQueryAsync(connection, transaction,
                    "DELETE FROM former_members WHERE room_id = $room AND user_name = $user;",
                    cancellationToken, ("$room", roomId), ("$user", user)).ConfigureAwait(false);
            }

            foreach (var user in removedMembers)
            {
                await NonQueryAsync(connection, transaction,
                    "DELETE FROM members WHERE room_id = $room AND user_name = $user;",
                    cancellationToken, ("$room", roomId), ("$user", user)).ConfigureAwait(false);
                await NonQueryAsync(connection, transaction,
                    "INSERT OR REPLACE INTO former_members (room_id, user_name, until_seq) VALUES ($room, $user, $seq);",
                    cancellationToken, ("$room", roomId), ("$user", user), ("$seq", seq)).ConfigureAwait(false);
            }

            foreach (var welcome in commit.Welcomes)
            {
                await NonQueryAsync(connection, transaction,
                    "INSERT INTO welcomes (user_name, room, from_user, welcome, join_seq, server_time) VALUES ($user, $room, $from, $welcome, $seq, $time);",
                    cancellationToken, ("$user", welcome.User), ("$room", commit.Room), ("$from", commit.Sender), ("$welcome", welcome.Welcome.ToArray()), ("$seq", seq), ("$time", time)).ConfigureAwait(false);
            }

            return (new CommitOutcome(CommitStatus.Stored, (ulong)seq, (ulong)epoch + 1, DateTimeOffset.FromUnixTimeMilliseconds(time)), true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<StoredWelcome>> ListWelcomesAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            "SELECT room, from_user, welcome, join_seq, server_time FROM welcomes WHERE user_name = $user ORDER BY id;", ("$user", username));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<StoredWelcome>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new StoredWelcome(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), (ulong)reader.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }

        return result;
    }

    public async ValueTask<bool> AckWelcomeAsync(string username, string room, ulong joinSeq, CancellationToken cancellationToken)
    {
        var seq = joinSeq > long.MaxValue ? long.MaxValue : (long)joinSeq;
        return await WriteAsync(async (connection, transaction) =>
        {
            var deleted = await NonQueryAsync(connection, transaction,
                "DELETE FROM welcomes WHERE user_name = $user AND room = $room AND join_seq = $seq;",
                cancellationToken, ("$user", username), ("$room", room), ("$seq", seq)).ConfigureAwait(false);
            return (deleted > 0, deleted > 0);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<RoomDetailRecord?> GetRoomDetailAsync(string room, string username, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: true);
        RoomSummary summary;
        long roomId;
        await using (var command = Command(connection, transaction,
            $"SELECT {SummaryColumns}, r.id FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_name = $user AND r.name = $room;",
            ("$user", username), ("$room", room)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            summary = ReadSummary(reader);
            roomId = reader.GetInt64(8);
        }

        var members = new List<string>();
        var admins = new List<string>();
        await using (var command = Command(connection, transaction, "SELECT user_name, role FROM members WHERE room_id = $room ORDER BY user_name;", ("$room", roomId)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var name = reader.GetString(0);
                members.Add(name);
                if (reader.GetInt64(1) == AdminRole)
                {
                    admins.Add(name);
                }
            }
        }

        return new RoomDetailRecord(summary, members, admins);
    }

    public async ValueTask<PolicyOutcome> SetRoomPolicyAsync(string room, string username, bool adminsOnlyMembership, CancellationToken cancellationToken)
    {
        return await WriteAsync(async (connection, transaction) =>
        {
            RoomSummary? summary = null;
            long roomId = 0;
            await using (var command = Command(connection, transaction,
                $"SELECT {SummaryColumns}, r.id FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_name = $user AND r.name = $room;",
                ("$user", username), ("$room", room)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
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

            await NonQueryAsync(connection, transaction, "UPDATE rooms SET admins_only = $policy WHERE id = $room;",
                cancellationToken, ("$policy", adminsOnlyMembership ? 1 : 0), ("$room", roomId)).ConfigureAwait(false);
            // CheckPolicyChange refused a null summary above.
            return (new PolicyOutcome(PolicyStatus.Updated, summary! with { AdminsOnlyMembership = adminsOnlyMembership }), true);
        }, cancellationToken).ConfigureAwait(false);
    }

    // ---- Helpers -----------------------------------------------------------------------------

    private static CommitOutcome Refused(CommitStatus status, string? user = null) => MlsMembershipRules.Refused(status, user);

    private static RoomSummary ReadSummary(SqliteDataReader reader) =>
        new(reader.GetString(0), (RoomKind)reader.GetInt32(1), (ulong)reader.GetInt64(2), (ulong)reader.GetInt64(3))
        {
            GroupId = reader.IsDBNull(4) ? ReadOnlyMemory<byte>.Empty : (byte[])reader.GetValue(4),
            Epoch = (ulong)reader.GetInt64(5),
            Admin = reader.GetInt64(6) == AdminRole,
            AdminsOnlyMembership = reader.GetInt64(7) != 0,
        };

    private static async Task<KeyPackageCounts> CountAsync(SqliteConnection connection, SqliteTransaction? transaction, string username, CancellationToken cancellationToken)
    {
        var oneTime = await ScalarAsync(connection, transaction, "SELECT count(*) FROM key_packages WHERE user_name = $user;", cancellationToken, ("$user", username)).ConfigureAwait(false);
        var last = await ScalarAsync(connection, transaction, "SELECT count(*) FROM last_resort_key_packages WHERE user_name = $user;", cancellationToken, ("$user", username)).ConfigureAwait(false);
        return new KeyPackageCounts(Convert.ToInt32(oneTime, CultureInfo.InvariantCulture), Convert.ToInt64(last, CultureInfo.InvariantCulture) > 0);
    }

    private static async Task<long?> RoleAsync(SqliteConnection connection, SqliteTransaction transaction, long roomId, string user, CancellationToken cancellationToken)
    {
        var role = await ScalarAsync(connection, transaction, "SELECT role FROM members WHERE room_id = $room AND user_name = $user;",
            cancellationToken, ("$room", roomId), ("$user", user)).ConfigureAwait(false);
        return role is null or DBNull ? null : Convert.ToInt64(role, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The room's id and the last seq <paramref name="username"/> may read: every seq for a member, up
    /// to the end of the membership for a former member of an MLS room; a null id for anyone else.
    /// </summary>
    private static async Task<(object? RoomId, long Until)> FindReadableRoomAsync(SqliteConnection connection, SqliteTransaction transaction, string room, string username, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction,
            """
            SELECT r.id, CASE WHEN m.user_name IS NOT NULL THEN NULL ELSE f.until_seq END
            FROM rooms r
            LEFT JOIN members m ON m.room_id = r.id AND m.user_name = $user
            LEFT JOIN former_members f ON f.room_id = r.id AND f.user_name = $user
            WHERE r.name = $room AND (m.user_name IS NOT NULL OR f.user_name IS NOT NULL);
            """,
            ("$user", username), ("$room", room));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (null, 0);
        }

        return (reader.GetInt64(0), reader.IsDBNull(1) ? long.MaxValue : reader.GetInt64(1));
    }
}
