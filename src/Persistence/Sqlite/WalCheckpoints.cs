using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace SimService.Persistence.Sqlite;

/// <summary>
/// Checkpoints of the write-ahead log beside the group commit, not in it. SQLite checkpoints a WAL database when a
/// commit leaves more than <c>wal_autocheckpoint</c> pages (1,000) in the log, on the committing connection, inside its
/// <c>COMMIT</c>: every 1,000 log pages (some hundreds of small groups) the log writer copied ~4 MB into the database file and waited for two
/// fsyncs while every request queued behind it waited too — the slowest percent of W4's commands. Here the log
/// writer's connection does not checkpoint in its groups' commits (<c>sqlite3_wal_autocheckpoint(0)</c>); after every
/// <see cref="CommitsPerCheckpoint"/> groups a passive checkpoint
/// (<c>sqlite3_wal_checkpoint_v2(SQLITE_CHECKPOINT_PASSIVE)</c>) runs on a connection of its own on a thread-pool thread,
/// which copies what no reader still needs without waiting for readers or the writer, while the writer goes on
/// committing. It is repeated while commits landed meanwhile, so that it catches up and the next write transaction
/// starts the log from its beginning again. Should it fall behind anyway (readers holding old snapshots), past
/// <see cref="FallBackPages"/> pages the writer's connection checkpoints as before until the log is short again.
/// Durability is unchanged: a transaction is durable once it is in the log (<see cref="SqliteSynchronous"/>); a
/// checkpoint only moves committed pages into the database file, syncing the log first, as SQLite's own does.
/// </summary>
public sealed class WalCheckpoints : IDisposable, IAsyncDisposable
{
    /// <summary>Groups of the writer between two checkpoints (a small group writes about five pages).</summary>
    public const int CommitsPerCheckpoint = 64;

    /// <summary>Pages in the log past which the writer checkpoints itself again (SQLite's default size × 16, ≈ 64 MB).</summary>
    public const int FallBackPages = 16_000;

    /// <summary>SQLite's default <c>wal_autocheckpoint</c>, which the writer's connection gets back.</summary>
    private const int SqliteDefaultAutoCheckpoint = 1_000;

    /// <summary>Passive checkpoints in one run at most, when commits keep landing while it copies.</summary>
    private const int CatchUpRounds = 4;

    private readonly sqlite3 _writer;
    private readonly string _connectionString;
    private readonly string _synchronous;
    private int _commits, _logPages;
    private bool _writerCheckpoints, _paged, _behind;

    /// <summary>The checkpoint queued or running, completed when its <see cref="Run"/> ends; null when none is.</summary>
    private TaskCompletionSource? _run;

    /// <summary>Set by <see cref="Dispose"/>: a checkpoint queued and not yet begun does not open its connection.</summary>
    private volatile bool _disposed;

    /// <summary>How long <see cref="Dispose"/> waits for a checkpoint running (copying up to <see cref="FallBackPages"/> pages).</summary>
    private static readonly TimeSpan RunningWait = TimeSpan.FromSeconds(10);

    private WalCheckpoints(sqlite3 writer, string connectionString, string synchronous)
    {
        (_writer, _connectionString, _synchronous) = (writer, connectionString, synchronous);
        raw.sqlite3_wal_autocheckpoint(_writer, 0);
    }

    /// <summary>
    /// Takes over the checkpoints of <paramref name="connection"/>'s database (the log writer's open connection), or
    /// null when it is not a file in WAL mode (an in-memory database has no log to checkpoint).
    /// </summary>
    public static WalCheckpoints? Take(SqliteConnection connection)
    {
        if (connection.Handle is not { } handle || string.IsNullOrEmpty(connection.DataSource) || connection.DataSource == ":memory:") return null;
        using (var mode = connection.CreateCommand())
        {
            mode.CommandText = "PRAGMA journal_mode;";
            if (!string.Equals(mode.ExecuteScalar() as string, "wal", StringComparison.OrdinalIgnoreCase)) return null;
        }
        using var synchronous = connection.CreateCommand();
        synchronous.CommandText = "PRAGMA synchronous;";
        var level = Convert.ToInt64(synchronous.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) >= 2 ? SqliteSynchronous.Full : SqliteSynchronous.Normal;
        // ReadWrite: a checkpoint never creates a database file (one deleted meanwhile, a test's folder being removed).
        var builder = new SqliteConnectionStringBuilder(connection.ConnectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite };
        return new WalCheckpoints(handle, builder.ConnectionString, level);
    }

    /// <summary>Checkpoint runs completed (for tests).</summary>
    public long Runs => Interlocked.Read(ref _runs);

    private long _runs;

    /// <summary>Pages in the log at the last checkpoint (for tests).</summary>
    public int LogPages => Volatile.Read(ref _logPages);

    /// <summary>
    /// The writer committed a group on its connection: every <see cref="CommitsPerCheckpoint"/> a checkpoint starts in the
    /// background unless one runs.
    /// </summary>
    public void Committed()
    {
        _behind = Volatile.Read(ref _logPages) > FallBackPages;
        Apply();
        if (++_commits < CommitsPerCheckpoint || Volatile.Read(ref _run) is not null
            || Interlocked.CompareExchange(ref _run, new(TaskCreationOptions.RunContinuationsAsynchronously), null) is not null) return;
        _commits = 0;
        ThreadPool.UnsafeQueueUserWorkItem(static self => self.Run(), this, preferLocal: false);
    }

    /// <summary>
    /// Paged work (journal pages, clean-ups, purges: big transactions, many in a row) starts or ends on the writer's
    /// connection: meanwhile its commits checkpoint by themselves, as SQLite does, rather than keep a background checkpoint
    /// copying (and syncing) beside every page while other simulations' groups wait to write.
    /// </summary>
    public void InCommits(bool paged)
    {
        _paged = paged;
        Apply();
    }

    /// <summary>SQLite's own checkpoints on the writer's connection while it writes pages or the log has grown too long.</summary>
    private void Apply()
    {
        bool own = _paged || _behind;
        if (own == _writerCheckpoints) return;
        raw.sqlite3_wal_autocheckpoint(_writer, own ? SqliteDefaultAutoCheckpoint : 0);
        _writerCheckpoints = own;
    }

    private void Run()
    {
        try
        {
            if (_disposed) return;
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = $"PRAGMA synchronous={_synchronous};";
                pragma.ExecuteNonQuery();
            }
            for (int round = 0; round < CatchUpRounds; round++)
            {
                int rc = raw.sqlite3_wal_checkpoint_v2(connection.Handle, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out int log, out int copied);
                if (rc != raw.SQLITE_OK) break; // SQLITE_BUSY: another checkpoint runs; the next commits ask again
                Volatile.Write(ref _logPages, log);
                if (copied >= log) break; // all copied: the writer's next transaction starts the log afresh
            }
            Interlocked.Increment(ref _runs);
        }
        catch (Exception)
        {
            // A checkpoint is housekeeping: the log keeps every committed transaction, and the next one tries again.
        }
        finally
        {
            Interlocked.Exchange(ref _run, null)?.TrySetResult();
        }
    }

    /// <summary>
    /// Gives the writer's connection its own checkpoints back (it returns to the connection pool), once the background
    /// checkpoint running, if any, has ended (for <see cref="RunningWait"/> at most): none runs on after the writer's
    /// context is closed (at shutdown, <see cref="CommandLogWriter.CloseAsync"/>, through <see cref="DisposeAsync"/>: no
    /// thread is held while it waits).
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        Volatile.Read(ref _run)?.Task.Wait(RunningWait);
        GiveBack();
    }

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (Volatile.Read(ref _run) is { } run) await run.Task.WaitAsync(RunningWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        GiveBack();
    }

    private void GiveBack()
    {
        if (!_writer.IsInvalid) raw.sqlite3_wal_autocheckpoint(_writer, SqliteDefaultAutoCheckpoint);
    }
}
