using Microsoft.EntityFrameworkCore;
using SimService.Persistence.Entities;

namespace SimService.Persistence;

/// <summary>
/// The model shared by every provider. Each provider has a thin subclass with its own migrations
/// (EF Core docs: "Migrations with Multiple Providers"); handlers depend on this base type only.
/// Every query of <see cref="Simulations"/> sees only the current tenant's rows (a global query filter on
/// <see cref="TenantId"/>, EF Core docs "Multi-tenancy"), so another tenant's simulation is simply not found.
/// Contexts are pooled (EF Core docs "DbContext pooling"): a request rents one and gives it its
/// <see cref="Tenant"/>, the request's <see cref="TenantScope"/>.
/// </summary>
public abstract class SimDbContext(DbContextOptions options) : DbContext(options)
{
    /// <summary>The unit of work's tenant; set when the context is rented for a request (a pooled context has no other way in).</summary>
    public TenantScope Tenant { get; set; } = new();

    /// <summary>The tenant this context works for (null: API keys off); new simulations are stamped with it.</summary>
    public string? TenantId => Tenant.TenantId;

    public DbSet<SimulationRun> Simulations => Set<SimulationRun>();
    public DbSet<CommandRecord> Commands => Set<CommandRecord>();
    public DbSet<EventRecord> Events => Set<EventRecord>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<JournalWrite> JournalWrites => Set<JournalWrite>();

    /// <summary>
    /// A simulation's journal as readers may see it: the rows written in their command's transaction and those of
    /// committed <see cref="JournalWrite"/>s; never the pages of a write whose command was refused, rolled back, or
    /// whose process died before its transaction committed. Every reader of the journal starts here.
    /// </summary>
    public IQueryable<EventRecord> JournalOf(Guid runId) =>
        Events.AsNoTracking().Where(e => e.RunId == runId && (e.WriteId == 0 || JournalWrites.Any(w => w.Id == e.WriteId && w.Committed)));

    /// <summary>Starts a journal write of rows <paramref name="firstSeq"/>..<paramref name="lastSeq"/> (a short transaction of its own): its writer tag.</summary>
    public async Task<long> BeginJournalWriteAsync(Guid runId, long fromVersion, long firstSeq, long lastSeq, CancellationToken cancellationToken)
    {
        var write = new JournalWrite { RunId = runId, FromVersion = fromVersion, FirstSeq = firstSeq, LastSeq = lastSeq };
        JournalWrites.Add(write);
        try
        {
            await SaveChangesAsync(cancellationToken);
        }
        finally
        {
            ChangeTracker.Clear();
        }
        return write.Id;
    }

    /// <summary>
    /// Writes <paramref name="count"/> of <paramref name="rows"/> from <paramref name="offset"/> as rows of journal write
    /// <paramref name="writeId"/>, inside the current transaction (a page's). The default is EF Core's change tracker;
    /// a provider may write them faster.
    /// </summary>
    public virtual Task AppendJournalPageAsync(long writeId, IReadOnlyList<EventRecord> rows, int offset, int count, CancellationToken cancellationToken)
    {
        for (int i = offset; i < offset + count; i++)
        {
            var e = rows[i];
            Events.Add(new EventRecord
            {
                RunId = e.RunId, Seq = e.Seq, AtNs = e.AtNs, LastSeq = e.LastSeq, LastAtNs = e.LastAtNs, Types = e.Types, Type = e.Type, Host = e.Host,
                SocketId = e.SocketId, PayloadJson = e.PayloadJson, Page = e.Page, WriteId = writeId,
            });
        }
        return SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// Marks journal write <paramref name="writeId"/> committed, inside the command's transaction (after its version
    /// move succeeded); false when the write is gone (cleaned up as an orphan: the command must not commit).
    /// </summary>
    public virtual async Task<bool> CommitJournalWriteAsync(long writeId, CancellationToken cancellationToken) =>
        await JournalWrites.Where(w => w.Id == writeId).ExecuteUpdateAsync(set => set.SetProperty(w => w.Committed, true), cancellationToken) == 1;

    /// <summary>The writes that will never commit: not committed, and their simulation's version has moved past the one they were applied on.</summary>
    public Task<List<JournalWrite>> OrphanJournalWritesAsync(CancellationToken cancellationToken) =>
        JournalWrites.AsNoTracking()
            .Where(w => !w.Committed && !Simulations.IgnoreQueryFilters().Any(r => r.Id == w.RunId && r.Version == w.FromVersion))
            .ToListAsync(cancellationToken);

    /// <summary>Brings the database to the current schema; called once at start-up, never EnsureCreated.</summary>
    public virtual Task PrepareAsync(CancellationToken cancellationToken = default) =>
        Database.MigrateAsync(cancellationToken);

    /// <summary>
    /// The commands of a simulation's log with <paramref name="afterSeq"/> &lt; Seq ≤ <paramref name="toSeq"/>, in order,
    /// untracked: what a rebuild replays. The default is an EF Core query; a provider may read them faster.
    /// </summary>
    public virtual Task<List<CommandRecord>> ReadLogAsync(Guid runId, long afterSeq, long toSeq, CancellationToken cancellationToken) =>
        Commands.AsNoTracking().Where(c => c.RunId == runId && c.Seq > afterSeq && c.Seq <= toSeq).OrderBy(c => c.Seq)
            .ToListAsync(cancellationToken);

    /// <summary>
    /// The same commands as <see cref="ReadLogAsync"/>, one at a time as they are read, synchronously (the caller is an
    /// engine thread replaying them): a rebuild of a long log holds neither all its rows nor all their text at once, so
    /// what it reads dies young instead of being carried through the garbage collector's generations.
    /// </summary>
    public virtual IEnumerable<CommandRecord> StreamLog(Guid runId, long afterSeq, long toSeq) =>
        Commands.AsNoTracking().Where(c => c.RunId == runId && c.Seq > afterSeq && c.Seq <= toSeq).OrderBy(c => c.Seq).AsEnumerable();

    /// <summary>
    /// A read-only transaction in which every query sees the same committed state (a snapshot), that blocks no
    /// writer. The default is a repeatable-read transaction (PostgreSQL: a snapshot); SQLite overrides it, since
    /// its repeatable-read transaction is <c>BEGIN IMMEDIATE</c>, which takes the database's one write lock.
    /// </summary>
    public virtual async Task<IAsyncDisposable> BeginSnapshotAsync(CancellationToken cancellationToken) =>
        await Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);

    /// <summary>
    /// Begins the group commit's transaction (<see cref="CommandLogWriter"/>), in which <see cref="TryMoveVersionAsync"/>,
    /// <see cref="CommitJournalWriteAsync"/> and <see cref="AppendLogRowsAsync"/> run; disposed without
    /// <see cref="GroupTransaction.CommitAsync"/>, it rolls back. The default is EF Core's transaction; a provider may
    /// begin and commit it more cheaply.
    /// </summary>
    public virtual async Task<GroupTransaction> BeginGroupAsync(CancellationToken cancellationToken) =>
        new EfGroupTransaction(await Database.BeginTransactionAsync(cancellationToken));

    /// <summary>
    /// The log writer (<see cref="CommandLogWriter"/>) committed a group on this context's connection. SQLite checkpoints
    /// its log beside the writer (<see cref="Sqlite.WalCheckpoints"/>); the default does nothing.
    /// </summary>
    public virtual void GroupCommitted()
    {
    }

    /// <summary>
    /// The log writer starts (<paramref name="starting"/>) or ends a page of paged work — a journal page, a clean-up or a
    /// purge — on this context's connection: on SQLite those transactions checkpoint in their own commits, as SQLite does by
    /// itself (a page is a big transaction; many in a row would keep a background checkpoint running); the default does nothing.
    /// </summary>
    public virtual void PagedWork(bool starting)
    {
    }

    /// <summary>The group commit's transaction: committed, or rolled back when disposed uncommitted.</summary>
    public abstract class GroupTransaction : IAsyncDisposable
    {
        public abstract Task CommitAsync(CancellationToken cancellationToken);

        public abstract ValueTask DisposeAsync();
    }

    private sealed class EfGroupTransaction(Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction) : GroupTransaction
    {
        public override Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

        public override ValueTask DisposeAsync() => transaction.DisposeAsync();
    }

    /// <summary>
    /// Moves a simulation's version from <paramref name="fromVersion"/> to <paramref name="toVersion"/> and adds
    /// <paramref name="addedJournalBytes"/> to its journal bytes, inside the current transaction, only if the stored
    /// version is still <paramref name="fromVersion"/> (a conditional update, <c>WHERE Version = from</c>); false when
    /// it is not (another writer appended first, or the simulation is gone or deleted). Any tenant's simulation: the caller checked.
    /// The default is EF Core's ExecuteUpdate; a provider may do it faster.
    /// </summary>
    public virtual async Task<bool> TryMoveVersionAsync(Guid runId, long fromVersion, long toVersion, long addedJournalBytes,
        CancellationToken cancellationToken) =>
        await Simulations
            .IgnoreQueryFilters()
            .Where(r => r.Id == runId && r.Version == fromVersion && !r.Deleted)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.Version, toVersion)
                .SetProperty(r => r.JournalBytes, r => r.JournalBytes + addedJournalBytes), cancellationToken) > 0;

    /// <summary>
    /// Inserts command-log and journal rows inside the current transaction (the group commit's). The default is
    /// EF Core's change tracker; a provider may write them faster.
    /// </summary>
    public virtual Task AppendLogRowsAsync(IReadOnlyList<CommandRecord> commands, IReadOnlyList<EventRecord> events,
        CancellationToken cancellationToken)
    {
        Commands.AddRange(commands);
        Events.AddRange(events);
        return SaveChangesAsync(cancellationToken);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(SimDbContext).Assembly);
        // Evaluated per query with this context's tenant; null matches null (IS NULL), the single-tenant default. A deleted
        // simulation is gone for every query at once, while its rows are removed in pages (CommandLogWriter.Purge).
        modelBuilder.Entity<SimulationRun>().HasQueryFilter(r => r.TenantId == TenantId && !r.Deleted);
    }
}
