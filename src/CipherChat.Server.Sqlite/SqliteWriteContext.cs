using Microsoft.Data.Sqlite;

namespace CipherChat.Server.Sqlite;

/// <summary>
/// What a write queued on <see cref="SqliteWriter"/> works with: the write connection, the batch's
/// transaction and prepared statements that live as long as the connection. Valid only inside the
/// work delegate, on the writer's thread.
/// </summary>
internal sealed class SqliteWriteContext : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);
    private readonly SqliteCommand _savepoint;
    private readonly SqliteCommand _release;
    private readonly SqliteCommand _rollbackTo;
    private SqliteTransaction? _transaction;

    public SqliteWriteContext(SqliteConnection connection)
    {
        Connection = connection;
        _savepoint = Raw("SAVEPOINT item;");
        _release = Raw("RELEASE item;");
        _rollbackTo = Raw("ROLLBACK TO item;");
    }

    public SqliteConnection Connection { get; }

    /// <summary>The transaction of the batch being run.</summary>
    public SqliteTransaction Transaction => _transaction ?? throw new InvalidOperationException("No write is running.");

    /// <summary>True when the running item asked for its changes to be undone.</summary>
    internal bool UndoRequested { get; private set; }

    /// <summary>
    /// Undoes everything the running item changed once it returns, while its result is still handed
    /// to its caller (for outcomes such as "invalid invite" that must leave no trace).
    /// </summary>
    public void Undo() => UndoRequested = true;

    /// <summary>
    /// A prepared statement for <paramref name="sql"/>, bound to the running transaction, with no
    /// parameters; prepared once per connection and reused.
    /// </summary>
    public SqliteCommand Command(string sql)
    {
        if (!_statements.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _statements[sql] = command;
        }

        command.Transaction = Transaction;
        command.Parameters.Clear();
        return command;
    }

    /// <summary><see cref="Command"/> with parameters, for the common one-liners.</summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        var command = Command(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    /// <summary>Runs a statement; the number of rows it changed.</summary>
    public int Execute(string sql, params ReadOnlySpan<(string Name, object Value)> parameters) =>
        Command(sql, parameters).ExecuteNonQuery();

    /// <summary>Runs a statement; the first column of its first row, or null.</summary>
    public object? Scalar(string sql, params ReadOnlySpan<(string Name, object Value)> parameters)
    {
        var value = Command(sql, parameters).ExecuteScalar();
        return value is DBNull ? null : value;
    }

    public void Dispose()
    {
        foreach (var command in _statements.Values)
        {
            command.Dispose();
        }

        _statements.Clear();
        _savepoint.Dispose();
        _release.Dispose();
        _rollbackTo.Dispose();
    }

    internal void Begin(SqliteTransaction transaction) => _transaction = transaction;

    internal void End() => _transaction = null;

    /// <summary>Starts an item that runs without a savepoint of its own.</summary>
    internal void BeginUnguarded() => UndoRequested = false;

    internal void Savepoint()
    {
        UndoRequested = false;
        RunRaw(_savepoint);
    }

    internal void Release() => RunRaw(_release);

    /// <summary>Undoes the running item; false when the transaction itself is gone.</summary>
    internal bool RollbackToSavepoint()
    {
        try
        {
            RunRaw(_rollbackTo);
            RunRaw(_release);
            return true;
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException)
        {
            return false;
        }
    }

    private SqliteCommand Raw(string sql)
    {
        var command = Connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private void RunRaw(SqliteCommand command)
    {
        command.Transaction = Transaction;
        command.ExecuteNonQuery();
    }
}
