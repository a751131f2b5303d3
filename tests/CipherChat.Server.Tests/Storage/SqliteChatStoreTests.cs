using CipherChat.Server.Sqlite;
using CipherChat.Server.Storage;
using CipherChat.Server.Tests.Support;
using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Tests.Storage;

public sealed class SqliteChatStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private string DatabasePath => Path.Combine(_directory.Path, SqliteChatStore.FileName);

    [Fact]
    public async Task Database_is_in_WAL_mode_at_the_latest_schema()
    {
        await using var store = await SqliteChatStore.OpenAsync(_directory.Path, Ct);
        Assert.Equal("wal", await store.GetJournalModeAsync(Ct));
        Assert.Equal(SqliteSchema.LatestVersion, await store.GetSchemaVersionAsync(Ct));
    }

    [Fact]
    public async Task Data_survives_closing_and_reopening()
    {
        var now = DateTimeOffset.UtcNow;
        await using (var store = await SqliteChatStore.OpenAsync(_directory.Path, Ct))
        {
            await store.RegisterUserAsync("alice", new byte[32], null, now, Ct);
            await store.JoinRoomAsync("a", RoomKind.Psk, new byte[16], "alice", now, Ct);
            await store.AppendMessageAsync(new NewMessage("a", "alice", new byte[16], new byte[] { 1, 2, 3 }, now), Ct);
        }

        await using var reopened = await SqliteChatStore.OpenAsync(_directory.Path, Ct);
        var page = await reopened.FetchMessagesAsync("a", "alice", 0, 10, Ct);
        Assert.Equal(new byte[] { 1, 2, 3 }, page!.Messages.Single().Payload.ToArray());
        Assert.Equal(2UL, (await reopened.AppendMessageAsync(new NewMessage("a", "alice", Enumerable.Repeat((byte)1, 16).ToArray(), new byte[] { 4 }, now), Ct)).Seq);
    }

    [Fact]
    public async Task Stored_payload_bytes_are_exactly_the_opaque_payload()
    {
        var payload = System.Text.Encoding.ASCII.GetBytes("gAAAAAopaque-token-bytes");
        await using (var store = await SqliteChatStore.OpenAsync(_directory.Path, Ct))
        {
            await store.RegisterUserAsync("alice", new byte[32], null, DateTimeOffset.UtcNow, Ct);
            await store.JoinRoomAsync("a", RoomKind.Psk, new byte[16], "alice", DateTimeOffset.UtcNow, Ct);
            await store.AppendMessageAsync(new NewMessage("a", "alice", new byte[16], payload, DateTimeOffset.UtcNow), Ct);
        }

        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM messages;";
        Assert.Equal(payload, (byte[])(await command.ExecuteScalarAsync(Ct))!);
    }

    [Fact]
    public async Task A_database_from_a_newer_version_is_refused_with_a_clear_message()
    {
        await (await SqliteChatStore.OpenAsync(_directory.Path, Ct)).DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE schema_version SET version = 99;";
            await command.ExecuteNonQueryAsync(Ct);
        }

        var ex = await Assert.ThrowsAsync<ChatStoreException>(async () => await SqliteChatStore.OpenAsync(_directory.Path, Ct));
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused()
    {
        await File.WriteAllTextAsync(DatabasePath, new string('x', 4096), Ct);
        await Assert.ThrowsAsync<ChatStoreException>(async () => await SqliteChatStore.OpenAsync(_directory.Path, Ct));
    }

    [Fact]
    public async Task A_version_1_database_upgrades_to_mls_rooms_and_keeps_its_data()
    {
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = SqliteSchema.Migrations[0] + """
                CREATE TABLE schema_version (version INTEGER NOT NULL);
                INSERT INTO schema_version (version) VALUES (1);
                INSERT INTO users (name, public_key, created_at) VALUES ('alice', zeroblob(32), 1), ('bob', zeroblob(32), 1);
                INSERT INTO rooms (name, kind, key_check, last_seq, created_at) VALUES ('old', 1, zeroblob(16), 1, 1);
                INSERT INTO members (room_id, user_name, joined_at, read_seq) VALUES (1, 'alice', 1, 1);
                INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload) VALUES (1, 1, 'alice', zeroblob(16), 1, x'0102');
                """;
            await command.ExecuteNonQueryAsync(Ct);
        }

        var now = DateTimeOffset.UtcNow;
        await using var store = await SqliteChatStore.OpenAsync(_directory.Path, Ct);
        Assert.Equal(SqliteSchema.LatestVersion, await store.GetSchemaVersionAsync(Ct));
        var old = (await store.ListRoomsAsync("alice", Ct)).Single();
        Assert.Equal(("old", RoomKind.Psk, 1UL, 1UL, 0UL, false), (old.Name, old.Kind, old.LastSeq, old.ReadSeq, old.Epoch, old.Admin));
        Assert.Equal(new byte[] { 1, 2 }, (await store.FetchMessagesAsync("old", "alice", 0, 10, Ct))!.Messages.Single().Payload.ToArray());

        var groupId = new byte[16];
        Assert.Equal(CreateRoomStatus.Created, (await store.CreateMlsRoomAsync("team", groupId, false, "alice", now, Ct)).Status);
        var commit = new NewCommit("team", "alice", new byte[16], 0, new byte[] { 9 }, ["bob"], [], [new NewWelcome("bob", new byte[] { 7 })], now);
        Assert.Equal(CommitStatus.Stored, (await store.SubmitCommitAsync(commit, Ct)).Status);
        Assert.Equal(1UL, (await store.ListRoomsAsync("bob", Ct)).Single().Epoch);
        Assert.Single(await store.ListWelcomesAsync("bob", Ct));
    }
}
