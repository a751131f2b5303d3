using System.Net;
using System.Net.Sockets;
using CipherChat.Server.Postgres.Tests.Support;
using CipherChat.Server.Storage;

namespace CipherChat.Server.Postgres.Tests;

/// <summary>What PostgreSQL adds to the contract: schema versions, several nodes on one database, faults.</summary>
public sealed class PostgresChatStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Bytes(byte value, int length = 16) => Enumerable.Repeat(value, length).ToArray();

    private static async Task MemberAsync(IChatStore store, string room, string user)
    {
        if (await store.FindUserAsync(user, Ct) is null)
        {
            Assert.Equal(RegisterStatus.Created, await store.RegisterUserAsync(user, Bytes(9, 32), null, T0, Ct));
        }

        Assert.True((await store.JoinRoomAsync(room, RoomKind.Psk, Bytes(1), user, T0, Ct)).Succeeded);
    }

    [Fact]
    public async Task A_new_database_gets_the_latest_schema_and_reopening_keeps_the_data()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (var store = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct))
        {
            Assert.Equal(PostgresSchema.LatestVersion, await store.GetSchemaVersionAsync(Ct));
            await MemberAsync(store, "a", "alice");
            await store.AppendMessageAsync(new NewMessage("a", "alice", Bytes(1), new byte[] { 1, 2, 3 }, T0), Ct);
        }

        await using var reopened = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        Assert.Equal(PostgresSchema.LatestVersion, await reopened.GetSchemaVersionAsync(Ct));
        var page = await reopened.FetchMessagesAsync("a", "alice", 0, 10, Ct);
        Assert.Equal(new byte[] { 1, 2, 3 }, page!.Messages.Single().Payload.ToArray());
    }

    [Fact]
    public async Task Nodes_starting_together_migrate_once()
    {
        await using var database = await TestDatabase.CreateAsync();
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresChatStore.OpenAsync(database.ConnectionString, Ct)));
        try
        {
            foreach (var store in stores)
            {
                Assert.Equal(PostgresSchema.LatestVersion, await store.GetSchemaVersionAsync(Ct));
            }
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_database_newer_than_the_program_is_refused_with_a_clear_message()
    {
        await using var database = await TestDatabase.CreateAsync();
        await (await PostgresChatStore.OpenAsync(database.ConnectionString, Ct)).DisposeAsync();
        await database.ExecuteAsync($"UPDATE cipherchat_schema SET version = {PostgresSchema.LatestVersion + 1};");

        var ex = await Assert.ThrowsAsync<ChatStoreException>(() => PostgresChatStore.OpenAsync(database.ConnectionString, Ct));
        Assert.Contains("newer than this version of CipherChat", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Appends_through_two_nodes_at_once_stay_gap_free_and_deduplicated()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var node1 = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        await using var node2 = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        await MemberAsync(node1, "r", "alice");
        await MemberAsync(node2, "r", "bob");

        const int PerSender = 60;
        async Task<List<AppendOutcome>> Burst(IChatStore store, string sender, byte marker)
        {
            var outcomes = new List<AppendOutcome>();
            for (var i = 0; i < PerSender; i++)
            {
                var id = Bytes(marker);
                id[0] = (byte)i;
                outcomes.Add(await store.AppendMessageAsync(new NewMessage("r", sender, id, new byte[] { marker, (byte)i }, T0), Ct));
            }

            return outcomes;
        }

        // Two senders on two nodes, and each retry of alice's messages sent through the other node too.
        var results = await Task.WhenAll(
            Burst(node1, "alice", 0xA1),
            Burst(node2, "bob", 0xB2),
            Burst(node2, "alice", 0xA1));
        var stored = results.SelectMany(r => r).Where(o => o.Status == AppendStatus.Stored).Select(o => o.Seq).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 2 * PerSender).Select(i => (ulong)i), stored);

        // Each of alice's ids was stored once; the duplicate answer names the original seq.
        for (var i = 0; i < PerSender; i++)
        {
            Assert.Equal(results[0][i].Seq, results[2][i].Seq);
        }

        var page = await node1.FetchMessagesAsync("r", "bob", 0, 500, Ct);
        Assert.Equal(2 * PerSender, page!.Messages.Count);
        Assert.Equal(Enumerable.Range(1, 2 * PerSender).Select(i => (ulong)i), page.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task The_room_log_reads_without_a_member_and_reports_last_seqs()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var store = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        await MemberAsync(store, "r", "alice");
        await MemberAsync(store, "s", "alice");
        for (byte i = 1; i <= 5; i++)
        {
            await store.AppendMessageAsync(new NewMessage("r", "alice", Bytes(i), new byte[] { i }, T0), Ct);
        }

        var log = await store.ReadLogAsync("r", 2, 2, Ct);
        Assert.Equal(new ulong[] { 3, 4 }, log.Select(m => m.Seq));
        Assert.Empty(await store.ReadLogAsync("missing", 0, 10, Ct));

        var last = await store.GetLastSeqsAsync(["r", "s", "missing"], Ct);
        Assert.Equal(5UL, last["r"]);
        Assert.Equal(0UL, last["s"]);
        Assert.False(last.ContainsKey("missing"));
    }

    [Fact]
    public async Task An_unreachable_database_fails_fast_with_a_store_error()
    {
        TestDatabase.RequireConfigured();
        int port;
        using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            // A loopback port nobody listens on once this socket is closed.
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<ChatStoreException>(() =>
            PostgresChatStore.OpenAsync($"Host=127.0.0.1;Port={port};Username=cipherchat;Password=secret-word;Database=x", Ct));
        Assert.Contains("cannot be used", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-word", ex.Message, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), "refused connections must not hang");
    }

    [Fact]
    public async Task A_version_1_database_upgrades_to_mls_rooms_and_keeps_its_data()
    {
        await using var database = await TestDatabase.CreateAsync();
        await database.ExecuteAsync(PostgresSchema.Migrations[0] + """
            CREATE TABLE cipherchat_schema (version integer NOT NULL);
            INSERT INTO cipherchat_schema (version) VALUES (1);
            INSERT INTO users (name, public_key, created_at) VALUES ('alice', '\x00', 1), ('bob', '\x00', 1);
            INSERT INTO rooms (name, kind, key_check, last_seq, created_at) VALUES ('old', 1, '\x00', 1, 1);
            INSERT INTO members (room_id, user_name, joined_at, read_seq) SELECT id, 'alice', 1, 1 FROM rooms;
            INSERT INTO messages (room_id, seq, sender, client_message_id, server_time, payload) SELECT id, 1, 'alice', '\x00', 1, '\x0102' FROM rooms;
            """);

        await using var store = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        Assert.Equal(PostgresSchema.LatestVersion, await store.GetSchemaVersionAsync(Ct));
        var old = (await store.ListRoomsAsync("alice", Ct)).Single();
        Assert.Equal(("old", RoomKind.Psk, 1UL, 1UL, 0UL, false), (old.Name, old.Kind, old.LastSeq, old.ReadSeq, old.Epoch, old.Admin));
        Assert.Equal(new byte[] { 1, 2 }, (await store.FetchMessagesAsync("old", "alice", 0, 10, Ct))!.Messages.Single().Payload.ToArray());

        Assert.Equal(CreateRoomStatus.Created, (await store.CreateMlsRoomAsync("team", Bytes(3), false, "alice", T0, Ct)).Status);
        var commit = new NewCommit("team", "alice", Bytes(1), 0, new byte[] { 9 }, ["bob"], [], [new NewWelcome("bob", new byte[] { 7 })], T0);
        Assert.Equal(CommitStatus.Stored, (await store.SubmitCommitAsync(commit, Ct)).Status);
        Assert.Equal(1UL, (await store.ListRoomsAsync("bob", Ct)).Single().Epoch);
        Assert.Single(await store.ListWelcomesAsync("bob", Ct));
    }

    [Fact]
    public async Task Commits_through_two_nodes_for_one_epoch_have_one_winner()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var node1 = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        await using var node2 = await PostgresChatStore.OpenAsync(database.ConnectionString, Ct);
        foreach (var user in new[] { "alice", "bob" })
        {
            Assert.Equal(RegisterStatus.Created, await node1.RegisterUserAsync(user, Bytes(9, 32), null, T0, Ct));
        }

        await node1.CreateMlsRoomAsync("team", Bytes(3), false, "alice", T0, Ct);
        await node1.SubmitCommitAsync(new NewCommit("team", "alice", Bytes(1), 0, new byte[] { 1 }, ["bob"], [], [], T0), Ct);
        for (ulong epoch = 1; epoch <= 10; epoch++)
        {
            var e = epoch;
            var first = Task.Run(async () => await node1.SubmitCommitAsync(new NewCommit("team", "alice", Bytes((byte)(2 * e)), e, new byte[] { 2 }, [], [], [], T0), Ct), Ct);
            var second = Task.Run(async () => await node2.SubmitCommitAsync(new NewCommit("team", "bob", Bytes((byte)((2 * e) + 1)), e, new byte[] { 3 }, [], [], [], T0), Ct), Ct);
            var message = Task.Run(async () => await node2.AppendMessageAsync(new NewMessage("team", "bob", Bytes((byte)(100 + e)), new byte[] { 4 }, T0), Ct), Ct);
            var outcomes = await Task.WhenAll(first, second);
            Assert.Equal(AppendStatus.Stored, (await message).Status);
            Assert.Single(outcomes, o => o.Status == CommitStatus.Stored);
            Assert.Single(outcomes, o => o.Status == CommitStatus.EpochConflict && o.Epoch == e + 1);
        }

        var log = await node1.FetchMessagesAsync("team", "alice", 0, 500, Ct);
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (ulong)i), log!.Messages.Select(m => m.Seq));
    }
}
