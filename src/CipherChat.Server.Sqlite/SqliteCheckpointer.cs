using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Sqlite;

/// <summary>
/// Copies the write-ahead log back into the database file on its own thread and connection, so that
/// no commit waits for a checkpoint. Durability does not depend on it (a commit is durable once the
/// WAL is synced); it keeps the WAL from growing without end.
/// </summary>
/// <remarks>
/// PASSIVE checkpoints never block the writer or readers: they copy what no reader still needs and
/// leave the rest for the next round. One runs after <see cref="CommitsPerCheckpoint"/> commits, or
/// once a second when anything was committed.
/// </remarks>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    public const int CommitsPerCheckpoint = 512;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly string _connectionString;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pendingCommits;
    private long _checkpoints;
    private volatile bool _stopping;

    public SqliteCheckpointer(string connectionString)
    {
        _connectionString = connectionString;
        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = "cipherchat-sqlite-checkpoint",
        };
        _thread.Start();
    }

    /// <summary>Checkpoints run so far.</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Called by the writer after each commit.</summary>
    public void Committed()
    {
        if (Interlocked.Increment(ref _pendingCommits) == CommitsPerCheckpoint)
        {
            _wake.Set();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _wake.Set();
        await _stopped.Task.ConfigureAwait(false);
        _wake.Dispose();
    }

    private void Run()
    {
        try
        {
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout = 10000;";
            command.ExecuteNonQuery();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            while (!_stopping)
            {
                _wake.WaitOne(Interval);
                if (Interlocked.Exchange(ref _pendingCommits, 0) == 0)
                {
                    continue;
                }

                try
                {
                    command.ExecuteNonQuery();
                    Interlocked.Increment(ref _checkpoints);
                }
                catch (SqliteException)
                {
                    // Busy or interrupted: the next round tries again; the WAL only grows meanwhile.
                }
            }
        }
        catch (SqliteException)
        {
            // The database cannot be opened for checkpoints; the store closes with a full checkpoint anyway.
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }
}
