using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using SQLitePCL;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Sqlite;

/// <summary>
/// The embedded default: one SQLite file in write-ahead-log mode, every connection with the
/// <see cref="SqliteSynchronous"/> setting (NORMAL unless configured: durable across a crash of the process).
/// </summary>
public sealed class SqliteSimDbContext(DbContextOptions<SqliteSimDbContext> options) : SimDbContext(options)
{
    public const string DefaultConnectionString = "Data Source=data/simservice.db";

    /// <remarks>
    /// EF Core rebuilds a SQLite table for changes SQLite's ALTER TABLE cannot make (the JournalWrites migration's new
    /// primary key) and wraps the rebuild in <c>PRAGMA foreign_keys = 0</c> / <c>= 1</c>, which SQLite ignores inside a
    /// transaction, so EF runs those two statements outside the migration's transaction and warns (event 20410) on
    /// every fresh database. The pragma only sets the open connection's foreign-key checking; nothing of it is
    /// stored in the file, so a crash after it leaves no partly applied migration, and the rebuild itself stays in
    /// the transaction. The warning is logged at debug level; other warnings are unchanged.
    /// </remarks>
    public static void Configure(DbContextOptionsBuilder options, string connectionString, string synchronous = SqliteSynchronous.Normal) =>
        options.UseSqlite(connectionString).AddInterceptors(SqliteSynchronous.For(synchronous))
            .ConfigureWarnings(warnings => warnings.Log((RelationalEventId.NonTransactionalMigrationOperationWarning, Microsoft.Extensions.Logging.LogLevel.Debug)));

    public override async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        CreateDataDirectory();
        await base.PrepareAsync(cancellationToken);
        // WAL lets readers proceed while a writer commits; the mode is stored in the file, so this is idempotent.
        await Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    /// <summary>
    /// The group commit's transaction through SQLite's C API (SQLitePCL.raw) on statements prepared once per connection:
    /// <c>BEGIN IMMEDIATE</c> (the write lock, waited for up to the connection's timeout), then <c>COMMIT</c>, or
    /// <c>ROLLBACK</c> when disposed uncommitted. EF Core's transaction (interceptors, diagnostics, a new
    /// <c>SqliteTransaction</c> and a freshly prepared <c>BEGIN</c> each time) cost several times SQLite's own work for
    /// the one or two commands of a typical group. Durability is SQLite's: the database is in WAL mode with
    /// <see cref="SqliteSynchronous"/> set on the connection when it opened, so a committed group survives a crash of
    /// the process (NORMAL) or of the machine too (FULL).
    /// </summary>
    /// <remarks>
    /// A context configured with a transaction interceptor (tests hold the next transaction that way) keeps EF Core's
    /// transaction, which calls it; the statements inside are the same.
    /// </remarks>
    public override Task<GroupTransaction> BeginGroupAsync(CancellationToken cancellationToken)
    {
        _transactionsIntercepted ??= this.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.Interceptors?
            .OfType<IDbTransactionInterceptor>().Any() == true;
        if (_transactionsIntercepted == true) return base.BeginGroupAsync(cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        var statements = Raw();
        statements.Run(statements.Begin);
        return Task.FromResult<GroupTransaction>(new RawGroupTransaction(statements));
    }

    private bool? _transactionsIntercepted;

    /// <inheritdoc />
    public override void GroupCommitted() => Checkpoints()?.Committed();

    /// <inheritdoc />
    public override void PagedWork(bool starting) => Checkpoints()?.InCommits(starting);

    private WalCheckpoints? Checkpoints()
    {
        var connection = (SqliteConnection)Database.GetDbConnection();
        if (connection.Handle is null) return null;
        if (_checkpoints is null || _checkpointsOf != connection.Handle)
        {
            _checkpoints?.Dispose();
            (_checkpoints, _checkpointsOf) = (WalCheckpoints.Take(connection), connection.Handle);
        }
        return _checkpoints;
    }

    /// <summary>The background checkpoints of the log writer's connection (<see cref="WalCheckpoints"/>), once it committed.</summary>
    private WalCheckpoints? _checkpoints;
    private sqlite3? _checkpointsOf;

    private sealed class RawGroupTransaction(RawStatements statements) : GroupTransaction
    {
        private bool _done;

        public override Task CommitAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            statements.Run(statements.Commit);
            _done = true;
            return Task.CompletedTask;
        }

        public override ValueTask DisposeAsync()
        {
            // A failed statement or COMMIT may already have ended the transaction (SQLite rolls back by itself on some errors).
            if (!_done && raw.sqlite3_get_autocommit(statements.Db) == 0) statements.Run(statements.Rollback);
            _done = true;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// The command rows, each bound and stepped on a prepared statement through SQLite's C API, and the journal rows
    /// (<see cref="InsertEvents"/>), in the group commit's transaction: a workload at journal level full appends tens of
    /// thousands of events in one request, where EF Core's change tracker costs far more than SQLite's insert. Keys are
    /// written as EF Core writes them (a Guid as upper-case text), so EF reads the rows back.
    /// </summary>
    public override Task AppendLogRowsAsync(IReadOnlyList<CommandRecord> commands, IReadOnlyList<EventRecord> events,
        CancellationToken cancellationToken)
    {
        if (commands.Count > 0)
        {
            var statements = Raw();
            statements.MustBeInTransaction();
            var insert = statements.InsertCommand;
            var text = _utf8 ??= new byte[4096];
            foreach (var c in commands)
            {
                cancellationToken.ThrowIfCancellationRequested();
                raw.sqlite3_bind_text(insert, 1, statements.KeyOf(c.RunId));
                raw.sqlite3_bind_int64(insert, 2, c.Seq);
                raw.sqlite3_bind_int64(insert, 3, c.AtNs);
                raw.sqlite3_bind_text(insert, 4, Utf8(c.Type, ref text));
                raw.sqlite3_bind_text(insert, 5, Utf8(c.PayloadJson, ref text));
                statements.Run(insert);
            }
        }
        InsertEvents(0, events, 0, events.Count, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>A journal page: the same prepared INSERT as the group commit's, in the page's transaction.</summary>
    public override Task AppendJournalPageAsync(long writeId, IReadOnlyList<EventRecord> rows, int offset, int count, CancellationToken cancellationToken)
    {
        InsertEvents(writeId, rows, offset, count, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The journal rows, each bound and stepped through SQLite's own C API (SQLitePCL.raw) on one statement prepared
    /// per connection: SQLite's bulk path. <c>SqliteCommand.ExecuteNonQuery</c> costs several times the insert itself
    /// per row (it looks every parameter up by name, boxes every value and builds a reader), and at journal level full a
    /// request writes tens of thousands of rows. Runs inside the caller's transaction (the group commit's or a page's,
    /// both <c>BEGIN IMMEDIATE</c>: the write lock is held, so no step waits for it). Text is bound as UTF-8 once per
    /// distinct simulation key.
    /// </summary>
    private void InsertEvents(long writeId, IReadOnlyList<EventRecord> events, int offset, int count, CancellationToken cancellationToken)
    {
        if (count == 0) return;
        var statements = Raw();
        statements.MustBeInTransaction();
        var insert = statements.InsertEvent;
        var text = _utf8 ??= new byte[4096];
        for (int i = offset; i < offset + count; i++)
        {
            if ((i & 1023) == 0) cancellationToken.ThrowIfCancellationRequested();
            var e = events[i];
            raw.sqlite3_bind_text(insert, 1, statements.KeyOf(e.RunId));
            raw.sqlite3_bind_int64(insert, 2, e.Seq);
            raw.sqlite3_bind_int64(insert, 3, e.AtNs);
            BindTextOrNull(insert, 4, e.Type, ref text);
            BindTextOrNull(insert, 5, e.Host, ref text);
            if (e.SocketId is { } socket) raw.sqlite3_bind_int(insert, 6, socket);
            else raw.sqlite3_bind_null(insert, 6);
            BindTextOrNull(insert, 7, e.PayloadJson, ref text);
            raw.sqlite3_bind_int64(insert, 8, writeId);
            raw.sqlite3_bind_int64(insert, 9, e.LastSeq);
            raw.sqlite3_bind_int64(insert, 10, e.LastAtNs);
            raw.sqlite3_bind_int(insert, 11, e.Types);
            if (e.Page is { } page) raw.sqlite3_bind_blob(insert, 12, page);
            else raw.sqlite3_bind_null(insert, 12);
            statements.Run(insert);
        }
    }

    private void BindTextOrNull(sqlite3_stmt statement, int index, string? value, ref byte[] buffer)
    {
        if (value is null) raw.sqlite3_bind_null(statement, index);
        else raw.sqlite3_bind_text(statement, index, Utf8(value, ref buffer));
    }

    /// <summary>
    /// <paramref name="value"/> as UTF-8 in <paramref name="buffer"/> (grown when too small), reused from row to row:
    /// SQLite copies what is bound (SQLITE_TRANSIENT), so the buffer is free again after each bind.
    /// </summary>
    private ReadOnlySpan<byte> Utf8(string value, ref byte[] buffer)
    {
        int most = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        if (most > buffer.Length) _utf8 = buffer = new byte[Math.Max(most, buffer.Length * 2)];
        return buffer.AsSpan(0, System.Text.Encoding.UTF8.GetBytes(value, buffer));
    }

    private byte[]? _utf8;

    /// <summary>The conditional update on a prepared statement (EF Core's ExecuteUpdate builds and runs a query each time).</summary>
    public override Task<bool> TryMoveVersionAsync(Guid runId, long fromVersion, long toVersion, long addedJournalBytes,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var statements = Raw();
        statements.MustBeInTransaction();
        var update = statements.MoveVersion;
        raw.sqlite3_bind_int64(update, 1, toVersion);
        raw.sqlite3_bind_int64(update, 2, addedJournalBytes);
        raw.sqlite3_bind_text(update, 3, statements.KeyOf(runId));
        raw.sqlite3_bind_int64(update, 4, fromVersion);
        statements.Run(update);
        return Task.FromResult(raw.sqlite3_changes(statements.Db) > 0);
    }

    /// <summary>The writer's statements for the context's open connection, prepared when first needed on it.</summary>
    private RawStatements Raw()
    {
        var connection = (SqliteConnection)Database.GetDbConnection();
        if (connection.Handle is null) throw new InvalidOperationException("The log is appended on an open connection.");
        if (_raw is null || _raw.Connection != connection || _raw.Db != connection.Handle)
        {
            _raw?.Dispose();
            _raw = new RawStatements(connection);
        }
        return _raw;
    }

    private RawStatements? _raw;

    /// <summary>
    /// Statements of the group commit and of journal pages, prepared once per connection (the writer keeps its context and
    /// connection while groups keep coming), and the last simulation key bound, as UTF-8.
    /// </summary>
    private sealed class RawStatements : IDisposable
    {
        public readonly SqliteConnection Connection;
        public readonly sqlite3 Db;
        public readonly sqlite3_stmt Begin, Commit, Rollback, MoveVersion, InsertCommand, InsertEvent;
        private Guid _keyOf;
        private byte[] _key = [];

        public RawStatements(SqliteConnection connection)
        {
            Connection = connection;
            Db = connection.Handle!;
            // BEGIN IMMEDIATE waits for another connection's write lock (a journal page, another process) as EF Core's did.
            // Microsoft.Data.Sqlite's 0 means no timeout, SQLite's 0 no waiting at all: 0 (or a value past int's ms) waits as long as it can.
            long busyMs = connection.DefaultTimeout * 1000L;
            raw.sqlite3_busy_timeout(Db, busyMs <= 0 || busyMs > int.MaxValue ? int.MaxValue : (int)busyMs);
            Begin = Prepare("BEGIN IMMEDIATE");
            Commit = Prepare("COMMIT");
            Rollback = Prepare("ROLLBACK");
            MoveVersion = Prepare("UPDATE \"Simulations\" SET \"Version\" = ?1, \"JournalBytes\" = \"JournalBytes\" + ?2 WHERE \"Id\" = ?3 AND \"Version\" = ?4 AND NOT \"Deleted\"");
            InsertCommand = Prepare("INSERT INTO \"Commands\" (\"RunId\", \"Seq\", \"AtNs\", \"Type\", \"PayloadJson\") VALUES (?1, ?2, ?3, ?4, ?5)");
            InsertEvent = Prepare("INSERT INTO \"Events\" (\"RunId\", \"Seq\", \"AtNs\", \"Type\", \"Host\", \"SocketId\", \"PayloadJson\", \"WriteId\", \"LastSeq\", \"LastAtNs\", \"Types\", \"Page\") " +
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
        }

        private sqlite3_stmt Prepare(string sql)
        {
            Check(raw.sqlite3_prepare_v2(Db, sql, out var statement));
            return statement;
        }

        /// <summary>Steps <paramref name="statement"/> to its end and resets it; a failure is a <see cref="SqliteException"/>.</summary>
        public void Run(sqlite3_stmt statement)
        {
            int rc = raw.sqlite3_step(statement);
            raw.sqlite3_reset(statement);
            if (rc != raw.SQLITE_DONE) Check(rc);
        }

        public void MustBeInTransaction()
        {
            if (raw.sqlite3_get_autocommit(Db) != 0) throw new InvalidOperationException("Log rows are written inside a transaction.");
        }

        /// <summary>The simulation's key as EF Core stores it (upper-case text), UTF-8, kept for the next rows of the same simulation.</summary>
        public byte[] KeyOf(Guid runId)
        {
            if (runId != _keyOf || _key.Length == 0) (_keyOf, _key) = (runId, Utf8Key(runId));
            return _key;
        }

        private void Check(int rc)
        {
            if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE)) throw new SqliteException(raw.sqlite3_errmsg(Db).utf8_to_string(), rc);
        }

        public void Dispose()
        {
            foreach (var statement in new[] { Begin, Commit, Rollback, MoveVersion, InsertCommand, InsertEvent }) statement?.Dispose();
        }
    }

    public override void Dispose()
    {
        DisposeStatements()?.Dispose();
        base.Dispose();
    }

    public override async ValueTask DisposeAsync()
    {
        var checkpoints = DisposeStatements();
        if (checkpoints is not null) await checkpoints.DisposeAsync(); // awaits a checkpoint running, holding no thread
        await base.DisposeAsync();
    }

    /// <summary>Disposes the statements, and hands over the checkpoints for the caller to dispose (it waits for one running).</summary>
    private WalCheckpoints? DisposeStatements()
    {
        _raw?.Dispose();
        _raw = null;
        var checkpoints = _checkpoints;
        (_checkpoints, _checkpointsOf) = (null, null);
        return checkpoints;
    }

    /// <summary>
    /// One plain <c>SELECT</c> read with a data reader, the rows built directly: a rebuild after a restart reads the
    /// whole log, and EF Core's query pipeline cost several times SQLite's own reading (100,000 commands: 3.6 s
    /// through EF Core in a cold process). The rows are those EF Core reads (the key as upper-case text).
    /// </summary>
    public override async Task<List<CommandRecord>> ReadLogAsync(Guid runId, long afterSeq, long toSeq, CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var log = new List<CommandRecord>((int)Math.Clamp(toSeq - afterSeq, 0, 1 << 20));
            foreach (var record in ReadOpen(runId, afterSeq, toSeq))
            {
                cancellationToken.ThrowIfCancellationRequested();
                log.Add(record);
            }
            return log;
        }
        finally
        {
            await Database.CloseConnectionAsync();
        }
    }

    /// <summary>The same plain <c>SELECT</c> as <see cref="ReadLogAsync"/>, its rows handed out one at a time as read.</summary>
    public override IEnumerable<CommandRecord> StreamLog(Guid runId, long afterSeq, long toSeq)
    {
        Database.OpenConnection();
        try
        {
            foreach (var record in ReadOpen(runId, afterSeq, toSeq)) yield return record;
        }
        finally
        {
            Database.CloseConnection();
        }
    }

    private IEnumerable<CommandRecord> ReadOpen(Guid runId, long afterSeq, long toSeq)
    {
        using var select = ((SqliteConnection)Database.GetDbConnection()).CreateCommand();
        select.Transaction = (SqliteTransaction?)Database.CurrentTransaction?.GetDbTransaction();
        select.CommandText = "SELECT \"Seq\", \"AtNs\", \"Type\", \"PayloadJson\" FROM \"Commands\" " +
            "WHERE \"RunId\" = $run AND \"Seq\" > $after AND \"Seq\" <= $to ORDER BY \"Seq\"";
        select.Parameters.AddWithValue("$run", Key(runId));
        select.Parameters.AddWithValue("$after", afterSeq);
        select.Parameters.AddWithValue("$to", toSeq);
        using var reader = select.ExecuteReader();
        while (reader.Read())
            yield return new CommandRecord
            {
                RunId = runId, Seq = reader.GetInt64(0), AtNs = reader.GetInt64(1), Type = reader.GetString(2), PayloadJson = reader.GetString(3),
            };
    }

    /// <summary>
    /// <c>BEGIN DEFERRED</c>: in WAL mode the first read fixes the snapshot that every later read of the transaction
    /// sees, and no lock is taken that a writer would wait for (a repeatable-read transaction would be
    /// <c>BEGIN IMMEDIATE</c>, the write lock, held for as long as the reader takes).
    /// </summary>
    public override async Task<IAsyncDisposable> BeginSnapshotAsync(CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken);
        var transaction = ((SqliteConnection)Database.GetDbConnection()).BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: true);
        await Database.UseTransactionAsync(transaction, cancellationToken);
        return new Snapshot(this, transaction);
    }

    private sealed class Snapshot(SqliteSimDbContext context, SqliteTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await context.Database.UseTransactionAsync(null);
            await transaction.DisposeAsync(); // rolls back: it only read
            await context.Database.CloseConnectionAsync();
        }
    }

    private static string Key(Guid id) => id.ToString().ToUpperInvariant();

    /// <summary><see cref="Key"/> as UTF-8, formatted straight into its array (no strings on the way: a command's append needs it).</summary>
    private static byte[] Utf8Key(Guid id)
    {
        var key = new byte[36];
        id.TryFormat(key, out _, "D");
        System.Text.Ascii.ToUpperInPlace(key, out _);
        return key;
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTextConverter>();

    private void CreateDataDirectory()
    {
        var builder = new SqliteConnectionStringBuilder(Database.GetConnectionString());
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:") return;
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
    }
}

/// <summary>Used by <c>dotnet ef</c> only; it never opens the database when adding a migration.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteSimDbContext>
{
    public SqliteSimDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<SqliteSimDbContext>();
        SqliteSimDbContext.Configure(options, SqliteSimDbContext.DefaultConnectionString);
        return new SqliteSimDbContext(options.Options);
    }
}
