using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
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

    public static void Configure(DbContextOptionsBuilder options, string connectionString, string synchronous = SqliteSynchronous.Normal) =>
        options.UseSqlite(connectionString).AddInterceptors(SqliteSynchronous.For(synchronous));

    public override async Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        CreateDataDirectory();
        await base.PrepareAsync(cancellationToken);
        // WAL lets readers proceed while a writer commits; the mode is stored in the file, so this is idempotent.
        await Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    /// <summary>
    /// Two prepared INSERT statements, bound and stepped once per row, in the group commit's transaction: a
    /// workload at journal level full appends tens of thousands of events in one request, where EF Core's change
    /// tracker costs far more than SQLite's insert. Keys are written as EF Core writes them (a Guid as upper-case
    /// text), so EF reads the rows back.
    /// </summary>
    public override Task AppendLogRowsAsync(IReadOnlyList<CommandRecord> commands, IReadOnlyList<EventRecord> events,
        CancellationToken cancellationToken)
    {
        if (commands.Count > 0)
        {
            var insert = Prepared(ref _insertCommand, "INSERT INTO \"Commands\" (\"RunId\", \"Seq\", \"AtNs\", \"Type\", \"PayloadJson\") VALUES ($0, $1, $2, $3, $4)", 5);
            foreach (var c in commands)
                Step(insert, cancellationToken, Key(c.RunId), c.Seq, c.AtNs, c.Type, c.PayloadJson);
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
        if (Database.CurrentTransaction is null) throw new InvalidOperationException("Journal rows are written inside a transaction.");
        var connection = (SqliteConnection)Database.GetDbConnection();
        var db = connection.Handle!;
        if (_rawInsertEvent is null || _rawInsertConnection != connection)
        {
            _rawInsertEvent?.Dispose();
            Check(db, raw.sqlite3_prepare_v2(db,
                "INSERT INTO \"Events\" (\"RunId\", \"Seq\", \"AtNs\", \"Type\", \"Host\", \"SocketId\", \"PayloadJson\", \"WriteId\") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                out _rawInsertEvent));
            _rawInsertConnection = connection;
        }
        var insert = _rawInsertEvent;
        Guid keyOf = Guid.Empty;
        byte[] key = [];
        var text = _utf8 ??= new byte[4096];
        for (int i = offset; i < offset + count; i++)
        {
            if ((i & 1023) == 0) cancellationToken.ThrowIfCancellationRequested();
            var e = events[i];
            if (e.RunId != keyOf || key.Length == 0) (keyOf, key) = (e.RunId, System.Text.Encoding.UTF8.GetBytes(Key(e.RunId)));
            raw.sqlite3_bind_text(insert, 1, key);
            raw.sqlite3_bind_int64(insert, 2, e.Seq);
            raw.sqlite3_bind_int64(insert, 3, e.AtNs);
            raw.sqlite3_bind_text(insert, 4, Utf8(e.Type, ref text));
            if (e.Host is null) raw.sqlite3_bind_null(insert, 5);
            else raw.sqlite3_bind_text(insert, 5, Utf8(e.Host, ref text));
            if (e.SocketId is { } socket) raw.sqlite3_bind_int(insert, 6, socket);
            else raw.sqlite3_bind_null(insert, 6);
            raw.sqlite3_bind_text(insert, 7, Utf8(e.PayloadJson, ref text));
            raw.sqlite3_bind_int64(insert, 8, writeId);
            int rc = raw.sqlite3_step(insert);
            raw.sqlite3_reset(insert);
            if (rc != raw.SQLITE_DONE) Check(db, rc);
        }
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
    private sqlite3_stmt? _rawInsertEvent;
    private SqliteConnection? _rawInsertConnection;

    private static void Check(sqlite3 db, int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE)) throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
    }

    /// <summary>The conditional update as one prepared statement (EF Core's ExecuteUpdate builds and runs a query each time).</summary>
    public override Task<bool> TryMoveVersionAsync(Guid runId, long fromVersion, long toVersion, long addedJournalBytes,
        CancellationToken cancellationToken)
    {
        var update = Prepared(ref _moveVersion,
            "UPDATE \"Simulations\" SET \"Version\" = $0, \"JournalBytes\" = \"JournalBytes\" + $1 WHERE \"Id\" = $2 AND \"Version\" = $3 AND NOT \"Deleted\"", 4);
        cancellationToken.ThrowIfCancellationRequested();
        update.Parameters[0].Value = toVersion;
        update.Parameters[1].Value = addedJournalBytes;
        update.Parameters[2].Value = Key(runId);
        update.Parameters[3].Value = fromVersion;
        return Task.FromResult(update.ExecuteNonQuery() > 0);
    }

    // Statements of the group commit, prepared once per context (the writer keeps its context while groups keep coming).
    private SqliteCommand? _insertCommand, _moveVersion;

    /// <summary>
    /// <paramref name="command"/>, prepared on first use, bound to the current transaction (the group commit's): a
    /// statement is prepared once per connection, not once per transaction.
    /// </summary>
    private SqliteCommand Prepared(ref SqliteCommand? command, string sql, int parameters)
    {
        var connection = (SqliteConnection)Database.GetDbConnection();
        var transaction = (SqliteTransaction?)Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Log rows are appended inside the group commit's transaction.");
        if (command is null || command.Connection != connection)
        {
            command?.Dispose();
            command = connection.CreateCommand();
            command.CommandText = sql;
            for (int i = 0; i < parameters; i++) command.Parameters.Add(new SqliteParameter($"${i}", null));
        }
        command.Transaction = transaction;
        return command;
    }

    public override void Dispose()
    {
        DisposeStatements();
        base.Dispose();
    }

    public override ValueTask DisposeAsync()
    {
        DisposeStatements();
        return base.DisposeAsync();
    }

    private void DisposeStatements()
    {
        _insertCommand?.Dispose();
        _moveVersion?.Dispose();
        _rawInsertEvent?.Dispose();
        (_insertCommand, _moveVersion, _rawInsertEvent, _rawInsertConnection) = (null, null, null, null);
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

    private static void Step(SqliteCommand insert, CancellationToken cancellationToken, params object?[] values)
    {
        cancellationToken.ThrowIfCancellationRequested();
        for (int i = 0; i < values.Length; i++) insert.Parameters[i].Value = values[i] ?? DBNull.Value;
        insert.ExecuteNonQuery();
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
