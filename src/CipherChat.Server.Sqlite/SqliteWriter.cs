using System.Threading.Channels;
using CipherChat.Server.Storage;
using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Sqlite;

/// <summary>
/// The one writer of a SQLite database: a dedicated thread that owns the write connection and runs
/// every write with group commit.
/// </summary>
/// <remarks>
/// Callers queue work and await a task; the thread takes everything queued (up to a batch limit),
/// runs each item inside its own SAVEPOINT within one transaction, commits once (one disk sync with
/// synchronous=FULL) and only then completes the callers' tasks, so nothing is reported done before
/// it is durable. An item that throws (or calls <see cref="SqliteWriteContext.Undo"/>) is rolled back
/// to its savepoint alone; the others of its batch still commit. No thread-pool thread ever waits for
/// the disk. The queue is bounded: when it is full, callers wait for room (back-pressure).
/// </remarks>
internal sealed class SqliteWriter : IAsyncDisposable
{
    /// <summary>Items run in one transaction at most; bounds the latency a batch adds to its last item.</summary>
    public const int DefaultMaxBatch = 512;

    /// <summary>Items that may wait for the writer before callers have to wait for room.</summary>
    public const int DefaultQueueCapacity = 8192;

    private readonly Channel<WriteItem> _queue;
    private readonly SqliteConnection _connection;
    private readonly SqliteWriteContext _context;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxBatch;
    private SqliteCheckpointer? _checkpointer;
    private long _batches;
    private long _items;
    private int _disposed;

    private SqliteWriter(SqliteConnection connection, int queueCapacity, int maxBatch)
    {
        _connection = connection;
        _maxBatch = maxBatch;
        _context = new SqliteWriteContext(connection);
        _queue = Channel.CreateBounded<WriteItem>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = "cipherchat-sqlite-writer",
        };
    }

    /// <summary>Transactions committed so far (each one disk sync).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Checkpoints of the write-ahead log run beside the writer so far.</summary>
    public long Checkpoints => _checkpointer?.Checkpoints ?? 0;

    /// <summary>Items run so far.</summary>
    public long Items => Interlocked.Read(ref _items);

    /// <summary>Opens the write connection (synchronous=FULL) and starts the writer thread.</summary>
    public static SqliteWriter Start(string connectionString, int queueCapacity = DefaultQueueCapacity, int maxBatch = DefaultMaxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using (var command = connection.CreateCommand())
            {
                // FULL: the WAL is synced at every commit, so a completed write survives power loss.
                // No automatic checkpoint: it would run inside a commit (copying the WAL into the
                // database and syncing it) and hold up every write queued behind it; the
                // checkpointer thread does it beside the writer instead.
                command.CommandText = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 0;";
                command.ExecuteNonQuery();
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        var writer = new SqliteWriter(connection, queueCapacity, maxBatch);
        writer._checkpointer = new SqliteCheckpointer(connectionString);
        writer._thread.Start();
        return writer;
    }

    /// <summary>
    /// Queues <paramref name="work"/>; the returned task completes with its result once the
    /// transaction that ran it is committed, or fails with what it threw (its changes then undone).
    /// <paramref name="cancellationToken"/> only stops waiting for room in the queue.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<SqliteWriteContext, T> work, CancellationToken cancellationToken = default) =>
        await (await EnqueueAsync(work, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);

    /// <inheritdoc cref="WriteAsync{T}(Func{SqliteWriteContext, T}, CancellationToken)"/>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return WriteAsync(write => work(write.Connection, write.Transaction), cancellationToken);
    }

    /// <summary>
    /// Queues <paramref name="work"/> and returns once it is in the queue (its place in the order of
    /// writes fixed); the inner task is the one <see cref="WriteAsync{T}(Func{SqliteWriteContext, T}, CancellationToken)"/> returns.
    /// </summary>
    /// <remarks>
    /// <paramref name="singleStatement"/>: the work changes the database with at most one statement,
    /// which SQLite applies whole or not at all, and never calls <see cref="SqliteWriteContext.Undo"/>;
    /// it then runs without a savepoint of its own (two statements fewer per item).
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The writer was stopped.</exception>
    public ValueTask<Task<T>> EnqueueAsync<T>(Func<SqliteWriteContext, T> work, CancellationToken cancellationToken = default, bool singleStatement = false)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new WriteItem<T>(work, singleStatement);
        if (_queue.Writer.TryWrite(item))
        {
            return ValueTask.FromResult(item.Task);
        }

        return WaitForRoomAsync(item, cancellationToken);
    }

    private async ValueTask<Task<T>> WaitForRoomAsync<T>(WriteItem<T> item, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException(nameof(SqliteWriter), ex);
        }

        return item.Task;
    }

    /// <summary>Lets the queued writes finish, stops the thread and closes the write connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
        if (_checkpointer is not null)
        {
            await _checkpointer.DisposeAsync().ConfigureAwait(false);
        }

        _context.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private void Run()
    {
        var batch = new List<WriteItem>(_maxBatch);
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                if (!reader.TryRead(out var first))
                {
                    // Blocks this dedicated thread only; no pool thread waits here.
                    if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }

                    continue;
                }

                batch.Add(first);
                while (batch.Count < _maxBatch && reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                try
                {
                    RunBatch(batch);
                }
                catch (Exception ex)
                {
                    // A fault of the writer itself: fail what is still open rather than stop writing.
                    foreach (var item in batch)
                    {
                        item.Complete(ex);
                    }
                }

                batch.Clear();
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void RunBatch(List<WriteItem> batch)
    {
        var start = 0;
        while (start < batch.Count)
        {
            start = RunTransaction(batch, start);
        }

        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _items, batch.Count);
        _checkpointer?.Committed();
    }

    /// <summary>
    /// Runs batch[start..] in one transaction and completes them. Returns the index of the first item
    /// not yet run: when SQLite aborted the whole transaction under an item (disk full, I/O error), the
    /// items before it fail and the rest go into a new transaction.
    /// </summary>
    private int RunTransaction(List<WriteItem> batch, int start)
    {
        SqliteTransaction transaction;
        try
        {
            transaction = _connection.BeginTransaction(deferred: false);
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            for (var i = start; i < batch.Count; i++)
            {
                batch[i].Complete(ex);
            }

            return batch.Count;
        }

        using (transaction)
        {
            _context.Begin(transaction);
            var end = batch.Count;
            for (var i = start; i < batch.Count; i++)
            {
                if (!RunItem(batch[i]))
                {
                    // The transaction is gone: what ran before item i is lost with it.
                    var lost = new ChatStoreException("The database aborted a write transaction.");
                    for (var j = start; j < i; j++)
                    {
                        batch[j].Complete(lost);
                    }

                    _context.End();
                    return i + 1;
                }
            }

            Exception? failure = null;
            try
            {
                transaction.Commit();
            }
            catch (SqliteException ex)
            {
                failure = ex;
                TryRollback(transaction);
            }

            _context.End();
            for (var i = start; i < end; i++)
            {
                batch[i].Complete(failure);
            }

            return end;
        }
    }

    /// <summary>Runs one item inside a savepoint. False when the whole transaction was lost.</summary>
    private bool RunItem(WriteItem item)
    {
        if (item.SingleStatement)
        {
            return RunSingleStatementItem(item);
        }

        try
        {
            _context.Savepoint();
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            item.Complete(ex);
            return false;
        }

        item.Run(_context);
        if (item.Failed || _context.UndoRequested)
        {
            if (!_context.RollbackToSavepoint())
            {
                item.Complete(item.Failure ?? new ChatStoreException("The database aborted a write transaction."));
                return false;
            }

            return true;
        }

        try
        {
            _context.Release();
            return true;
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            item.Complete(ex);
            return false;
        }
    }

    /// <summary>
    /// Runs an item whose one change is atomic by itself: when its statement fails, SQLite has undone
    /// it, and the batch goes on unless the error ended the whole transaction.
    /// </summary>
    private bool RunSingleStatementItem(WriteItem item)
    {
        _context.BeginUnguarded();
        item.Run(_context);
        if (_context.UndoRequested)
        {
            // A misuse: without a savepoint the item's change can only be undone with the whole
            // transaction. Fail it that way rather than let the exception end the writer's thread.
            item.Complete(new InvalidOperationException("A single-statement write cannot ask for an undo."));
            return false;
        }

        if (!item.Failed)
        {
            return true;
        }

        // Still inside the batch's transaction (not back in autocommit mode): only the item failed.
        if (SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
        {
            return true;
        }

        item.Complete(item.Failure);
        return false;
    }

    private static void TryRollback(SqliteTransaction transaction)
    {
        try
        {
            transaction.Rollback();
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            // SQLite already rolled it back.
        }
    }

    private abstract class WriteItem(bool singleStatement)
    {
        public bool SingleStatement { get; } = singleStatement;

        public abstract bool Failed { get; }

        public abstract Exception? Failure { get; }

        public abstract void Run(SqliteWriteContext context);

        /// <summary>Completes the caller's task: with the item's own outcome, or with <paramref name="batchFailure"/>.</summary>
        public abstract void Complete(Exception? batchFailure);
    }

    private sealed class WriteItem<T>(Func<SqliteWriteContext, T> work, bool singleStatement) : WriteItem(singleStatement)
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _failure;

        public Task<T> Task => _completion.Task;

        public override bool Failed => _failure is not null;

        public override Exception? Failure => _failure;

        public override void Run(SqliteWriteContext context)
        {
            try
            {
                _result = work(context);
            }
            catch (Exception ex)
            {
                _failure = ex;
            }
        }

        public override void Complete(Exception? batchFailure)
        {
            if (_failure is not null)
            {
                _completion.TrySetException(_failure);
            }
            else if (batchFailure is not null)
            {
                _completion.TrySetException(batchFailure);
            }
            else
            {
                _completion.TrySetResult(_result!);
            }
        }
    }
}
