using CipherChat.Server.Sqlite;
using CipherChat.Server.Tests.Support;
using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Tests.Storage;

public sealed class SqliteWriterTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private SqliteWriter _writer = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory.Path, "w.db"), Pooling = false }.ToString();

    public async ValueTask InitializeAsync()
    {
        _writer = SqliteWriter.Start(ConnectionString, queueCapacity: 4);
        await _writer.WriteAsync(write => write.Execute("PRAGMA journal_mode=WAL; CREATE TABLE t (v INTEGER NOT NULL UNIQUE);"), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>Queues an item that holds the writer's thread until the returned gate is set.</summary>
    private async Task<(ManualResetEventSlim Gate, Task<int> Held)> HoldWriterAsync()
    {
        var gate = new ManualResetEventSlim();
        var started = new ManualResetEventSlim();
        var held = await _writer.EnqueueAsync(_ =>
        {
            started.Set();
            gate.Wait(TimeSpan.FromSeconds(30));
            return 0;
        }, Ct);
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)));
        return (gate, held);
    }

    private long[] ReadBack()
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT v FROM t ORDER BY v;";
        using var reader = command.ExecuteReader();
        var values = new List<long>();
        while (reader.Read())
        {
            values.Add(reader.GetInt64(0));
        }

        return [.. values];
    }

    private Task<int> Insert(long value) =>
        _writer.WriteAsync(write => write.Execute("INSERT INTO t (v) VALUES ($v);", ("$v", value)), Ct);

    [Fact]
    public async Task Writes_queued_while_a_commit_runs_share_the_next_commit()
    {
        var (gate, held) = await HoldWriterAsync();
        // Counted once a batch is done, so the held one is not counted yet.
        var batchesBefore = _writer.Batches;
        var itemsBefore = _writer.Items;
        var writes = new List<Task<int>>();
        for (var i = 1; i <= 3; i++)
        {
            var value = (long)i;
            writes.Add(await _writer.EnqueueAsync(write => write.Execute("INSERT INTO t (v) VALUES ($v);", ("$v", value)), Ct));
        }

        Assert.All(writes, w => Assert.False(w.IsCompleted));
        gate.Set();
        await held;
        Assert.Equal(new[] { 1, 1, 1 }, await Task.WhenAll(writes));

        // The held item's batch, then one commit for the three.
        Assert.Equal(batchesBefore + 2, _writer.Batches);
        Assert.Equal(itemsBefore + 4, _writer.Items);
        Assert.Equal([1L, 2L, 3L], ReadBack());
    }

    [Fact]
    public Task A_failing_item_is_undone_alone_and_its_batch_commits() =>
        AssertOnlyTheFailingItemIsLostAsync(
            write =>
            {
                write.Execute("INSERT INTO t (v) VALUES (2);");
                write.Execute("INSERT INTO t (v) VALUES (1);"); // violates UNIQUE
                return 0;
            },
            singleStatement: false);

    // One statement inserting two rows, the second violating UNIQUE: SQLite undoes the statement whole.
    [Fact]
    public Task A_failing_single_statement_item_without_a_savepoint_fails_alone() =>
        AssertOnlyTheFailingItemIsLostAsync(write => write.Execute("INSERT INTO t (v) VALUES (2), (1);"), singleStatement: true);

    /// <summary>
    /// Queues a good insert, <paramref name="failing"/> and another good insert into one batch; only
    /// the failing item's change is lost.
    /// </summary>
    private async Task AssertOnlyTheFailingItemIsLostAsync(Func<SqliteWriteContext, int> failing, bool singleStatement)
    {
        var (gate, held) = await HoldWriterAsync();
        var first = await _writer.EnqueueAsync(write => write.Execute("INSERT INTO t (v) VALUES (1);"), Ct, singleStatement);
        var failed = await _writer.EnqueueAsync(failing, Ct, singleStatement);
        var third = await _writer.EnqueueAsync(write => write.Execute("INSERT INTO t (v) VALUES (3);"), Ct, singleStatement);
        gate.Set();
        await held;

        Assert.Equal(1, await first);
        await Assert.ThrowsAsync<SqliteException>(() => failed);
        Assert.Equal(1, await third);
        Assert.Equal([1L, 3L], ReadBack());
    }

    [Fact]
    public async Task Undo_returns_the_result_and_leaves_no_change()
    {
        var result = await _writer.WriteAsync(write =>
        {
            write.Execute("INSERT INTO t (v) VALUES (7);");
            write.Undo();
            return "refused";
        }, Ct);
        Assert.Equal("refused", result);
        await Insert(8);
        Assert.Equal([8L], ReadBack());
    }

    [Fact]
    public async Task A_completed_write_is_visible_to_other_connections()
    {
        await Insert(5);
        Assert.Equal([5L], ReadBack());
    }

    [Fact]
    public async Task Work_runs_on_the_writer_thread_not_the_thread_pool()
    {
        var (pool, name) = await _writer.WriteAsync(_ => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name), Ct);
        Assert.False(pool);
        Assert.Equal("cipherchat-sqlite-writer", name);
    }

    [Fact]
    public async Task A_full_queue_makes_callers_wait_for_room()
    {
        var (gate, held) = await HoldWriterAsync();
        var queued = new List<Task<int>>();
        for (var i = 0; i < 4; i++)
        {
            var value = (long)(10 + i);
            queued.Add(await _writer.EnqueueAsync(write => write.Execute("INSERT INTO t (v) VALUES ($v);", ("$v", value)), Ct));
        }

        var waiting = _writer.EnqueueAsync(write => write.Execute("INSERT INTO t (v) VALUES (20);"), Ct).AsTask();
        Assert.False(waiting.IsCompleted);
        gate.Set();
        await held;
        Assert.Equal(1, await await waiting);
        await Task.WhenAll(queued);
        Assert.Equal([10L, 11L, 12L, 13L, 20L], ReadBack());
    }

    [Fact]
    public async Task Disposing_finishes_what_was_queued_and_then_refuses_writes()
    {
        var (gate, held) = await HoldWriterAsync();
        var queued = await _writer.EnqueueAsync(write => write.Execute("INSERT INTO t (v) VALUES (1);"), Ct);
        var disposing = _writer.DisposeAsync().AsTask();
        gate.Set();
        await disposing;
        await held;
        Assert.Equal(1, await queued);
        Assert.Equal([1L], ReadBack());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Insert(2));
    }

    [Fact]
    public async Task Commits_do_not_checkpoint_and_the_checkpointer_does_beside_the_writer()
    {
        for (var i = 0; i < 20; i++)
        {
            await Insert(100 + i);
        }

        // The writer's own connection never checkpoints; the checkpointer runs within about a second.
        Assert.Equal(0L, await _writer.WriteAsync(write => (long)write.Scalar("PRAGMA wal_autocheckpoint;")!, Ct));
        for (var waited = 0; waited < 100 && _writer.Checkpoints == 0; waited++)
        {
            await Task.Delay(100, Ct);
        }

        Assert.True(_writer.Checkpoints > 0);
        Assert.Equal(Enumerable.Range(100, 20).Select(i => (long)i), ReadBack());
    }
}
