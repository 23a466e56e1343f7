using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SimService.Persistence.Entities;

namespace SimService.Persistence;

/// <summary>
/// What one request appends to one simulation's log: its commands and journal events, valid only if the stored
/// version is still <see cref="FromVersion"/> (no other writer appended meanwhile); the version becomes
/// <see cref="ToVersion"/>, and the simulation's <see cref="SimulationRun.JournalBytes"/> grows by <see cref="JournalBytes"/>.
/// A big request's journal rows are not in <see cref="Events"/> but pre-written in pages (<see cref="CommandLogWriter.PreWriteAsync"/>):
/// <see cref="JournalWriteId"/> names that write, which the transaction marks committed with the version move.
/// </summary>
public sealed record LogAppend(Guid RunId, long FromVersion, long ToVersion, IReadOnlyList<CommandRecord> Commands,
    IReadOnlyList<EventRecord> Events, long JournalBytes = 0, long JournalWriteId = 0);

/// <summary>How an append ended: written and committed, or refused because the stored version had moved on.</summary>
public enum AppendResult
{
    Committed,

    /// <summary>Another writer (process) appended to the simulation first, or it was deleted: nothing was written.</summary>
    VersionMoved,
}

/// <summary>
/// Group commit of the command log. Appends that arrive while a transaction is being written wait, and are then
/// written together in the next transaction (one commit, one WAL sync, for all of them); each caller's task
/// completes only after the transaction holding its rows has committed, so an acknowledged command is durable.
/// Within a transaction each append first moves its simulation's version with a conditional update
/// (<c>WHERE Version = FromVersion</c>): a lost race with another process is a value (<see cref="AppendResult.VersionMoved"/>),
/// never a failed statement, so no error is logged for it. Appends are written in simulation-id order, so two
/// processes' transactions take row locks in the same order (no deadlock on PostgreSQL). If a whole group fails,
/// each append is retried in its own transaction, so one bad append cannot fail the others. An append whose caller
/// has gone (its token cancelled) before its transaction starts is left out; a transaction whose callers have all
/// gone is rolled back (their tasks are cancelled: nothing of theirs is written). A caller that goes while others
/// of its group still wait cannot take its rows out of their transaction: they are committed, unacknowledged.
/// <para>
/// Journal pages. A request with more journal rows than one page (<see cref="PageRows"/>, configuration
/// <c>Persistence:JournalPageRows</c>) has them pre-written before its command's transaction, a page per short
/// transaction of their own (<see cref="PreWriteAsync"/>), tagged with a <see cref="JournalWrite"/> that readers ignore
/// until the command's transaction marks it committed (<see cref="SimDbContext.JournalOf"/>). On SQLite pages and
/// clean-ups are written by this same writer between groups, a page at a time, and a queued group always goes first: a
/// million rows being written delay another simulation's commit by one page at most, and they never contend for its
/// one write lock; on PostgreSQL a second writer writes them beside the groups (<see cref="_pagesApart"/>). A write whose command did not commit is deleted, a page at a time (<see cref="Forget"/>); so is every
/// write that can no longer commit (its simulation's version moved past the one it was applied on: refused, rolled
/// back, or its process died), found at start-up (<see cref="SweepOrphans"/>) and after commits.
/// </para>
/// <para>
/// Shutdown (<see cref="CloseAsync"/>, once the host has stopped serving, and <see cref="DisposeAsync"/>): nothing new
/// starts — no append, page, clean-up, sweep or purge, nor a purge's next page after its pause — and the transaction
/// being written is awaited, with the appends queued before it (their callers wait), for <see cref="CloseWait"/> at most.
/// What is left (pages, clean-ups, purges) the next start-up's sweeps finish; nothing of the writer touches the
/// database after.
/// </para>
/// </summary>
public sealed class CommandLogWriter(IServiceScopeFactory scopes, IConfiguration configuration, ILogger<CommandLogWriter> logger) : IAsyncDisposable
{
    private readonly ILogger _logger = logger;

    /// <summary>The most appends one transaction holds.</summary>
    public const int MaxGroup = 256;

    /// <summary>Journal rows per page (configuration <c>Persistence:JournalPageRows</c>, default <see cref="DefaultPageRows"/>).</summary>
    public int PageRows { get; } =
        int.TryParse(configuration["Persistence:JournalPageRows"], System.Globalization.CultureInfo.InvariantCulture, out var rows) && rows > 0 ? rows : DefaultPageRows;

    public const int DefaultPageRows = 2_000;

    /// <summary>
    /// Sequence numbers a purge deletes per statement (configuration <c>Persistence:PurgePageRows</c>, default
    /// <see cref="DefaultPurgePageRows"/>): a deleted row costs more than an inserted one (a million-row simulation's
    /// 2,000-row pages took ≈ 20 ms each at load 15), and a queued group waits for one page.
    /// </summary>
    public int PurgePageRows { get; } =
        int.TryParse(configuration["Persistence:PurgePageRows"], System.Globalization.CultureInfo.InvariantCulture, out var purge) && purge > 0 ? purge : DefaultPurgePageRows;

    public const int DefaultPurgePageRows = 500;

    /// <summary>Work done a page at a time between groups: pre-writes, clean-ups and purges, a page of each in turn.</summary>
    private readonly Queue<PagedJob> _jobs = new();

    /// <summary>Writes being deleted (or queued for it), so that a write found orphaned twice is deleted once.</summary>
    private readonly HashSet<long> _forgetting = [];

    /// <summary>When commits last looked for orphaned writes (<see cref="Environment.TickCount64"/>).</summary>
    private long _lastSweep = long.MinValue / 2;

    private sealed record Pending(LogAppend Append, TaskCompletionSource<AppendResult> Done, CancellationToken Abandoned);

    private readonly Lock _gate = new();
    private List<Pending> _queue = [];
    private bool _writing;

    /// <summary>
    /// PostgreSQL: pages, clean-ups and purges are written beside the groups, by a second writer on a connection of its
    /// own, instead of between them. PostgreSQL has no single write lock — a page's rows and another simulation's commit
    /// touch different rows — so a queued group need not wait for a page (a 2,000-row binary <c>COPY</c> of a million-row
    /// request, or a purge's page). SQLite has one writer:
    /// there the two would only take turns at its lock, waiting for each other in <c>busy_timeout</c>, so they take turns
    /// in one writer.
    /// </summary>
    private readonly bool _pagesApart = string.Equals(configuration["Persistence:Provider"], "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>The second writer's loop is running (<see cref="_pagesApart"/> only).</summary>
    private bool _paging;

    /// <summary>Transactions committed since start (for tests and metrics).</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    private long _transactions;

    /// <summary>Appends waiting for the next transaction (the one being written excluded).</summary>
    public int Queued
    {
        get
        {
            lock (_gate) return _queue.Count;
        }
    }

    /// <summary>
    /// Queues the append and waits until its transaction has committed (or failed). The task is cancelled only
    /// when nothing of the append was written (see the class); otherwise it says how the append ended, so the
    /// caller learns whether to keep or drop its engine.
    /// </summary>
    /// <param name="abandoned">The caller has gone (request aborted or out of time).</param>
    public Task<AppendResult> AppendAsync(LogAppend append, CancellationToken abandoned = default)
    {
        var pending = new Pending(append, new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously), abandoned);
        bool start;
        lock (_gate)
        {
            if (_closed) return Task.FromCanceled<AppendResult>(new CancellationToken(true)); // nothing written: not acknowledged
            _queue.Add(pending);
            start = !_writing;
            _writing = true;
        }
        if (start) _ = WriteQueuedAsync(leader: true);
        return pending.Done.Task;
    }

    /// <summary>
    /// Writes <paramref name="rows"/> (a request's journal rows, in sequence order, applied on <paramref name="fromVersion"/>)
    /// in pages, each in a transaction of its own, before the command's transaction; returns the write's tag for
    /// <see cref="LogAppend.JournalWriteId"/>. Nothing of it is visible until that transaction commits. Cancelled
    /// (<paramref name="abandoned"/>) part-way, what was written is deleted.
    /// </summary>
    public Task<long> PreWriteAsync(Guid runId, long fromVersion, IReadOnlyList<EventRecord> rows, CancellationToken abandoned = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(rows.Count);
        var job = new PreWrite(this, runId, fromVersion, rows, abandoned);
        Enqueue(job);
        return job.Done.Task;
    }

    /// <summary>Deletes journal write <paramref name="writeId"/> and its rows, a page at a time (its command did not commit).</summary>
    public void Forget(long writeId)
    {
        lock (_gate)
            if (_closed || !_forgetting.Add(writeId)) return; // closed: the next start-up's sweep deletes it
        Enqueue(new Cleanup(this, writeId));
    }

    /// <summary>Looks for journal writes that can no longer commit and deletes them (at start-up: a process that died left them).</summary>
    public void SweepOrphans() => Enqueue(new Sweep(this));

    /// <summary>
    /// Removes deleted simulation <paramref name="runId"/>'s rows (<see cref="SimulationRun.Deleted"/>, set by the delete in a
    /// short transaction of its own): its journal, then its command log, a page of <see cref="PurgePageRows"/> sequence
    /// numbers per statement (each its own short transaction), then its journal writes and its row. A purge cut short (the
    /// process died) is finished by the next one (<see cref="SweepDeleted"/>, at start-up), from the rows left.
    /// </summary>
    /// <param name="purged">Called once the rows are all gone (on the writer's thread); the purge counts as finished
    /// (<see cref="Purging"/>, <see cref="SimulationsPurged"/>, <see cref="WhenIdleAsync"/>) once the task it returns has
    /// completed — the memory the simulation held given back — and is not waited for on the writer's thread.</param>
    public void Purge(Guid runId, Func<Task>? purged = null)
    {
        lock (_gate)
        {
            if (_closed) return; // the next start-up's sweep purges it (SweepDeleted)
            if (_purging.Count == 0) _purgesDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_purging.Add(runId)) return;
        }
        Enqueue(new PurgeJob(this, runId, purged));
    }

    /// <summary>Completes when no purge is under way (reset when one starts).</summary>
    private TaskCompletionSource _purgesDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Finishes the purge of every simulation marked deleted (at start-up: a process that died left them half-removed).</summary>
    public void SweepDeleted() => Enqueue(new SweepDeletedJob(this));

    /// <summary>Simulations being purged (or queued for it).</summary>
    private readonly HashSet<Guid> _purging = [];

    /// <summary>Deleted simulations whose rows are being removed now (for metrics).</summary>
    public int Purging
    {
        get
        {
            lock (_gate) return _purging.Count;
        }
    }

    /// <summary>Deleted simulations whose rows were all removed since start (for tests and metrics).</summary>
    public long SimulationsPurged => Interlocked.Read(ref _simulationsPurged);

    private long _simulationsPurged;

    /// <summary>Statements (pages) purges ran since start, each its own short transaction (for tests).</summary>
    public long PurgePages => Interlocked.Read(ref _purgePages);

    private long _purgePages;

    /// <summary>Journal writes deleted as orphans or forgotten since start (for tests).</summary>
    public long WritesForgotten => Interlocked.Read(ref _writesForgotten);

    private long _writesForgotten;

    private TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once nothing is queued or being written: groups, pages, clean-ups and purges all done (for tests).</summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task idle, purges;
            lock (_gate)
            {
                if (!_writing && !_paging && _purging.Count == 0) return;
                (idle, purges) = (_writing || _paging ? _idle.Task : Task.CompletedTask, _purging.Count > 0 ? _purgesDone.Task : Task.CompletedTask);
            }
            await idle;
            await purges; // a purge pauses between its pages, out of the queue
        }
    }

    private void Enqueue(PagedJob job)
    {
        bool start;
        lock (_gate)
        {
            if (_closed)
            {
                job.Abandon();
                return;
            }
            _jobs.Enqueue(job);
            if (_pagesApart) (start, _paging) = (!_paging, true);
            else (start, _writing) = (!_writing, true);
        }
        if (start) _ = Task.Run(_pagesApart ? PageQueuedAsync : () => WriteQueuedAsync());
    }

    /// <summary>
    /// Under the lock, in the loop that runs the paged work: once the writer is closed, the queued pages, clean-ups and
    /// purges are left (<see cref="PagedJob.Abandon"/>) and true is returned; none starts.
    /// </summary>
    private bool LeaveJobsIfClosed()
    {
        if (!_closed) return false;
        while (_jobs.TryDequeue(out var left)) left.Abandon();
        return true;
    }

    /// <summary>Called under the lock when a loop stops: completes <see cref="WhenIdleAsync"/> once neither runs.</summary>
    private void Stopped()
    {
        if (_writing || _paging) return;
        _idle.TrySetResult();
        _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The second writer (<see cref="_pagesApart"/>): the queued jobs, a page each in turn, until none is left.</summary>
    private async Task PageQueuedAsync()
    {
        while (true)
        {
            PagedJob? job;
            lock (_gate)
                if (LeaveJobsIfClosed() || !_jobs.TryPeek(out job))
                {
                    _paging = false;
                    Stopped();
                    return;
                }
            await StepAsync(job, apart: true);
        }
    }

    /// <summary>The second writer's context and connection (<see cref="_pagesApart"/>).</summary>
    private Writer? _pageWriter;

    /// <summary>
    /// The writer's database context (and its open connection), kept from one transaction to the next, not made again
    /// for every group; replaced after a failed group. Used only by the one running <see cref="WriteQueuedAsync"/>.
    /// </summary>
    private Writer? _writer;

    /// <summary>
    /// Writes what is queued, group after group, until the queue is empty; one writer at a time. The append that finds
    /// no writer running leads (<paramref name="leader"/>): it writes the first group, its own, on its caller's thread
    /// (with SQLite, whose statements complete synchronously, the caller then finds its task completed and goes on
    /// without a thread hop); what was queued meanwhile is handed to a thread-pool writer, so the leader's caller
    /// waits for one transaction only.
    /// </summary>
    private async Task WriteQueuedAsync(bool leader = false)
    {
        for (bool first = true; ; first = false)
        {
            List<Pending> group;
            PagedJob? job = null;
            lock (_gate)
            {
                // Closed: the appends queued before are still written (their callers wait); the paged work is left.
                if (_queue.Count == 0 && (_pagesApart || LeaveJobsIfClosed() || !_jobs.TryPeek(out job)))
                {
                    _writing = false;
                    Stopped();
                    return;
                }
                if (leader && !first)
                {
                    _ = Task.Run(() => WriteQueuedAsync());
                    return;
                }
                if (job is not null)
                    group = [];
                else if (_queue.Count <= MaxGroup)
                    (group, _queue) = (_queue, []);
                else
                {
                    group = _queue[..MaxGroup];
                    _queue.RemoveRange(0, MaxGroup);
                }
            }
            if (job is not null)
            {
                await StepAsync(job);
                continue;
            }
            foreach (var gone in group.Where(p => p.Abandoned.IsCancellationRequested)) gone.Done.TrySetCanceled(gone.Abandoned);
            group.RemoveAll(p => p.Abandoned.IsCancellationRequested);
            if (group.Count == 0) continue;
            group.Sort((a, b) => a.Append.RunId.CompareTo(b.Append.RunId));
            using var allGone = new WhenAllAbandoned(group);
            try
            {
                _writer ??= new Writer(scopes);
                var results = await WriteAsync(_writer.Db, group, allGone.Token);
                for (int i = 0; i < group.Count; i++) group[i].Done.TrySetResult(results[i]);
                await SweepAfterCommitAsync(_writer.Db, group);
            }
            catch (Exception failure)
            {
                if (_writer is { } broken) await broken.DisposeAsync();
                _writer = null;
                if (failure is OperationCanceledException && allGone.IsCancellationRequested)
                    foreach (var gone in group) gone.Done.TrySetCanceled(gone.Abandoned);
                else if (group.Count > 1)
                    foreach (var one in group) await WriteAloneAsync(one);
                else
                    group[0].Done.TrySetException(failure);
            }
        }
    }

    /// <summary>One page of the first job; the job leaves the queue when it is done or failed.</summary>
    private async Task StepAsync(PagedJob job, bool apart = false)
    {
        bool more;
        try
        {
            var writer = apart ? _pageWriter ??= new Writer(scopes) : _writer ??= new Writer(scopes);
            writer.Db.PagedWork(starting: true);
            more = await job.StepAsync(writer.Db);
            writer.Db.PagedWork(starting: false);
        }
        catch (Exception failure)
        {
            Writer? broken;
            if (apart) (broken, _pageWriter) = (_pageWriter, null);
            else (broken, _writer) = (_writer, null);
            if (broken is not null) await broken.DisposeAsync();
            job.Fail(failure);
            more = false;
        }
        lock (_gate)
        {
            _jobs.Dequeue();
            // A page each in turn: a long job (a million-row simulation's purge) does not hold up another's pre-write.
            if (more) _jobs.Enqueue(job);
        }
    }

    /// <summary>
    /// After a group committed: a later command of a simulation makes every write of it still uncommitted an orphan.
    /// Looked for after every group that committed a pre-written journal, else at most once a second (one indexed query
    /// over the writes not committed, which are few: those in flight).
    /// </summary>
    private async Task SweepAfterCommitAsync(SimDbContext db, List<Pending> group)
    {
        long now = Environment.TickCount64;
        if (!group.Exists(p => p.Append.JournalWriteId != 0) && now - _lastSweep < 1000) return;
        _lastSweep = now;
        try
        {
            foreach (var orphan in await db.OrphanJournalWritesAsync(CancellationToken.None)) Forget(orphan.Id);
        }
        catch (Exception)
        {
            // A clean-up is not the group's business: the next commit or start-up looks again.
        }
    }

    /// <summary>Work the writer does a page (a short transaction) at a time between groups.</summary>
    private abstract class PagedJob
    {
        /// <summary>Writes one page; false when the job is done.</summary>
        public abstract Task<bool> StepAsync(SimDbContext db);

        public abstract void Fail(Exception failure);

        /// <summary>
        /// The writer closed before the job's next page (under its lock): the job stops where it is. Only a pre-write has a
        /// caller waiting, whose task is cancelled; what it wrote the next start-up's sweep deletes (<see cref="SweepOrphans"/>).
        /// </summary>
        public virtual void Abandon()
        {
        }
    }

    /// <summary>A request's journal rows, a page per transaction, under a new <see cref="JournalWrite"/>.</summary>
    private sealed class PreWrite(CommandLogWriter writer, Guid runId, long fromVersion, IReadOnlyList<EventRecord> rows, CancellationToken abandoned)
        : PagedJob
    {
        public readonly TaskCompletionSource<long> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _writeId;
        private int _written;

        public override async Task<bool> StepAsync(SimDbContext db)
        {
            if (abandoned.IsCancellationRequested)
            {
                Fail(new OperationCanceledException(abandoned));
                return false;
            }
            if (_writeId == 0)
            {
                _writeId = await db.BeginJournalWriteAsync(runId, fromVersion, rows[0].Seq, rows[^1].LastSeq, abandoned);
                return true;
            }
            int count = Math.Min(writer.PageRows, rows.Count - _written);
            await using (var transaction = await db.Database.BeginTransactionAsync(abandoned))
            {
                // Cleaned up meanwhile (another process committed this simulation first): stop writing rows nobody will read.
                if (!await db.JournalWrites.AnyAsync(w => w.Id == _writeId, abandoned))
                {
                    Done.TrySetResult(_writeId); // the command's version move will be refused
                    return false;
                }
                await db.AppendJournalPageAsync(_writeId, rows, _written, count, abandoned);
                await transaction.CommitAsync(abandoned);
            }
            db.ChangeTracker.Clear();
            _written += count;
            if (_written < rows.Count) return true;
            Done.TrySetResult(_writeId);
            return false;
        }

        public override void Abandon() => Done.TrySetCanceled();

        public override void Fail(Exception failure)
        {
            if (_writeId != 0) writer.Forget(_writeId);
            if (failure is OperationCanceledException && abandoned.IsCancellationRequested) Done.TrySetCanceled(abandoned);
            else Done.TrySetException(failure);
        }
    }

    /// <summary>Deletes a journal write's rows, a page of sequence numbers per statement, then the write itself.</summary>
    private sealed class Cleanup(CommandLogWriter writer, long writeId) : PagedJob
    {
        private JournalWrite? _write;
        private long _next;

        public override async Task<bool> StepAsync(SimDbContext db)
        {
            if (_write is null)
            {
                _write = await db.JournalWrites.AsNoTracking().SingleOrDefaultAsync(w => w.Id == writeId);
                if (_write is null || _write.Committed) return Done();
                _next = _write.FirstSeq;
            }
            if (_next <= _write.LastSeq)
            {
                long from = _next, to = _next + writer.PageRows;
                await db.Events.Where(e => e.RunId == _write.RunId && e.Seq >= from && e.Seq < to && e.WriteId == writeId).ExecuteDeleteAsync();
                _next = to;
                return true;
            }
            // Deleted only if still not committed: a write is never taken from under a command that committed it.
            await db.JournalWrites.Where(w => w.Id == writeId && !w.Committed).ExecuteDeleteAsync();
            Interlocked.Increment(ref writer._writesForgotten);
            return Done();
        }

        private bool Done()
        {
            lock (writer._gate) writer._forgetting.Remove(writeId);
            return false;
        }

        public override void Fail(Exception failure) => Done();
    }

    /// <summary>Finds the writes that can no longer commit and queues their clean-up.</summary>
    private sealed class Sweep(CommandLogWriter writer) : PagedJob
    {
        public override async Task<bool> StepAsync(SimDbContext db)
        {
            foreach (var orphan in await db.OrphanJournalWritesAsync(CancellationToken.None)) writer.Forget(orphan.Id);
            return false;
        }

        public override void Fail(Exception failure)
        {
        }
    }

    /// <summary>
    /// A deleted simulation's rows, a page of <see cref="PurgePageRows"/> sequence numbers per statement: journal, command
    /// log, journal writes, then its row. Each table's lowest and highest sequence numbers are read once, and the pages
    /// walk up from there (a fresh lowest each page would, on PostgreSQL, scan the index entries of every row deleted
    /// before, not yet vacuumed: quadratic); a purge cut short starts again from what is left.
    /// </summary>
    /// <para>
    /// Paced: after each page the job leaves the queue for as long as the page took (at most 50 ms), so that a purge takes at
    /// most about half of the writer's time and of a processor; nobody waits for it, and the commands of other simulations
    /// on a small machine need the processor more.
    /// </para>
    private sealed class PurgeJob(CommandLogWriter writer, Guid runId, Func<Task>? purged) : PagedJob
    {
        private int _table; // 0: journal, 1: command log, 2: the rest
        private long _next = -1, _last;

        public override async Task<bool> StepAsync(SimDbContext db)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            if (!await PageAsync(db)) return false;
            _failures = 0;
            var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            _ = PauseThenQueueAsync(took < TimeSpan.FromMilliseconds(50) ? took : TimeSpan.FromMilliseconds(50));
            return false;
        }

        /// <summary>The pause ends early when the writer closes; the job is then left (<see cref="Enqueue"/>).</summary>
        private async Task PauseThenQueueAsync(TimeSpan pause)
        {
            await Task.Delay(pause, writer._closing.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            writer.Enqueue(this);
        }

        private async Task<bool> PageAsync(SimDbContext db)
        {
            if (_table < 2)
            {
                if (_next < 0)
                {
                    var (first, last) = _table == 0
                        ? (await db.Events.Where(e => e.RunId == runId).MinAsync(e => (long?)e.Seq), await db.Events.Where(e => e.RunId == runId).MaxAsync(e => (long?)e.Seq))
                        : (await db.Commands.Where(c => c.RunId == runId).MinAsync(c => (long?)c.Seq), await db.Commands.Where(c => c.RunId == runId).MaxAsync(c => (long?)c.Seq));
                    if (first is null) _table++;
                    else (_next, _last) = (first.Value, last!.Value);
                    return true;
                }
                long from = _next, to = _next + writer.PurgePageRows;
                if (_table == 0) await db.Events.Where(e => e.RunId == runId && e.Seq >= from && e.Seq < to).ExecuteDeleteAsync();
                else await db.Commands.Where(c => c.RunId == runId && c.Seq >= from && c.Seq < to).ExecuteDeleteAsync();
                Interlocked.Increment(ref writer._purgePages);
                _next = to;
                if (_next > _last) (_table, _next) = (_table + 1, -1);
                return true;
            }
            Interlocked.Increment(ref writer._purgePages);
            await db.JournalWrites.Where(w => w.RunId == runId).ExecuteDeleteAsync();
            // The row last (what a page written meanwhile by a request still in flight left is cascaded with it).
            bool removed = await db.Simulations.IgnoreQueryFilters().Where(r => r.Id == runId && r.Deleted).ExecuteDeleteAsync() > 0;
            // Finished once the callback's work is (the memory given back), away from the writer's queue. It was counted
            // finished as the callback only scheduled the give-back: a reader saw the purge done with the memory still held.
            _ = FinishAsync(removed);
            return false;
        }

        private async Task FinishAsync(bool removed)
        {
            try
            {
                if (purged is not null) await purged().ConfigureAwait(false);
            }
            catch (Exception failure) // nobody awaits this task: said here, or it went unseen
            {
                writer._logger.LogError(failure, "The purge of simulation {RunId}: its callback failed after its rows were removed", runId);
            }
            finally
            {
                if (removed) Interlocked.Increment(ref writer._simulationsPurged);
                Done();
            }
        }

        private bool Done()
        {
            lock (writer._gate)
                if (writer._purging.Remove(runId) && writer._purging.Count == 0) writer._purgesDone.TrySetResult();
            return false;
        }

        /// <summary>
        /// A page that failed (SQLite busy past its timeout, a PostgreSQL deadlock) rolled back: the same page is tried
        /// again a second later, up to <see cref="PurgeAttempts"/> times in a row; after that the next start-up's sweep
        /// finishes the purge.
        /// </summary>
        public override void Fail(Exception failure)
        {
            if (++_failures < PurgeAttempts) _ = PauseThenQueueAsync(TimeSpan.FromSeconds(1));
            else Done();
        }

        private const int PurgeAttempts = 5;
        private int _failures;
    }

    /// <summary>Queues the purge of every simulation marked deleted.</summary>
    private sealed class SweepDeletedJob(CommandLogWriter writer) : PagedJob
    {
        public override async Task<bool> StepAsync(SimDbContext db)
        {
            foreach (var id in await db.Simulations.IgnoreQueryFilters().Where(r => r.Deleted).Select(r => r.Id).ToListAsync()) writer.Purge(id);
            return false;
        }

        public override void Fail(Exception failure)
        {
        }
    }

    /// <summary>How long <see cref="CloseAsync"/> waits for the transaction being written (and the appends queued before it).</summary>
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(10);

    /// <summary>Set (under the lock) by <see cref="CloseAsync"/>: nothing new starts.</summary>
    private bool _closed;

    /// <summary>The writer is closed (<see cref="CloseAsync"/>): an append's task is cancelled, nothing of it written.</summary>
    public bool Closed
    {
        get
        {
            lock (_gate) return _closed;
        }
    }

    /// <summary>Cancelled by <see cref="CloseAsync"/>, after <see cref="_closed"/> is set: ends the purges' pauses.</summary>
    private readonly CancellationTokenSource _closing = new();

    /// <summary>Cancelled once the writer is closed (<see cref="Closed"/> already true): work still running then is the last (for tests).</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>The close under way or done: every call waits for the same one.</summary>
    private TaskCompletionSource? _closedTask;

    /// <summary>
    /// Stops the writer at shutdown, once the host has stopped serving requests: after it nothing starts — an append's task
    /// is cancelled (nothing of it written, not acknowledged), a pre-write's too; pages, clean-ups, sweeps and purges
    /// (and a purge's next page, after its pause) are left, for the next start-up's sweeps (<see cref="SweepOrphans"/>,
    /// <see cref="SweepDeleted"/>) to finish. The transaction being written is awaited, and the appends queued before the
    /// close (their callers wait for them) are written, for <see cref="CloseWait"/> at most; a transaction still running
    /// then (SQLite busy past its timeout) keeps its context and goes with the process. Then the writer's contexts are
    /// closed. Any number of calls, from any thread, wait for the same close.
    /// </summary>
    public Task CloseAsync()
    {
        Task idle;
        TaskCompletionSource closed;
        lock (_gate)
        {
            if (_closedTask is { } closing) return closing.Task;
            (_closed, _closedTask) = (true, closed = new(TaskCreationOptions.RunContinuationsAsynchronously));
            // The purges and clean-ups under way stop at their next page: none is waited for any more (WhenIdleAsync).
            _purging.Clear();
            _purgesDone.TrySetResult();
            _forgetting.Clear();
            idle = _writing || _paging ? _idle.Task : Task.CompletedTask;
        }
        _closing.Cancel(); // outside the lock: a purge's pause ends, and its Enqueue takes the lock
        return CloseAfterAsync(idle, closed);
    }

    private async Task CloseAfterAsync(Task idle, TaskCompletionSource closed)
    {
        try
        {
            await idle.WaitAsync(CloseWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Writer? writer = null, pageWriter = null;
            lock (_gate)
            {
                // A transaction still being written keeps its context: it goes with the process.
                if (!_writing) (writer, _writer) = (_writer, null);
                if (!_paging) (pageWriter, _pageWriter) = (_pageWriter, null);
            }
            if (writer is not null) await writer.DisposeAsync();
            if (pageWriter is not null) await pageWriter.DisposeAsync();
        }
        finally
        {
            closed.TrySetResult();
        }
    }

    /// <summary>Closes the writer (<see cref="CloseAsync"/>) if the host has not (the container disposes its singletons).</summary>
    public async ValueTask DisposeAsync() => await CloseAsync();

    /// <summary>The writer's own scope and context; its connection is opened by the first group and kept open.</summary>
    private sealed class Writer(IServiceScopeFactory scopes) : IAsyncDisposable
    {
        private readonly AsyncServiceScope _scope = scopes.CreateAsyncScope();

        public SimDbContext Db => _scope.ServiceProvider.GetRequiredService<SimDbContext>();

        public ValueTask DisposeAsync() => _scope.DisposeAsync();
    }

    private async Task WriteAloneAsync(Pending pending)
    {
        try
        {
            await using var writer = new Writer(scopes);
            pending.Done.TrySetResult((await WriteAsync(writer.Db, [pending], CancellationToken.None))[0]);
        }
        catch (Exception exception)
        {
            pending.Done.TrySetException(exception);
        }
    }

    /// <summary>A token cancelled once every caller of the group has gone.</summary>
    private sealed class WhenAllAbandoned : IDisposable
    {
        private readonly CancellationTokenSource _allGone = new();
        private readonly List<CancellationTokenRegistration> _registrations;
        private int _waiting;

        public WhenAllAbandoned(List<Pending> group)
        {
            _waiting = group.Count;
            _registrations = new(group.Count);
            Action oneGone = OneGone; // one delegate for the group
            foreach (var pending in group) _registrations.Add(pending.Abandoned.Register(oneGone));
        }

        public CancellationToken Token => _allGone.Token;

        public bool IsCancellationRequested => _allGone.IsCancellationRequested;

        private void OneGone()
        {
            if (Interlocked.Decrement(ref _waiting) == 0) _allGone.Cancel();
        }

        public void Dispose()
        {
            foreach (var registration in _registrations) registration.Dispose();
            _allGone.Dispose();
        }
    }

    /// <summary>One transaction for the whole group.</summary>
    private async Task<AppendResult[]> WriteAsync(SimDbContext db, List<Pending> group, CancellationToken allGone)
    {
        var results = new AppendResult[group.Count];
        List<CommandRecord> commands = [];
        List<EventRecord> events = [];
        if (db.Database.GetDbConnection().State != System.Data.ConnectionState.Open)
            await db.Database.OpenConnectionAsync(allGone); // kept open for the writer's next groups (closed with its context)
        await using var transaction = await db.BeginGroupAsync(allGone);
        try
        {
            for (int i = 0; i < group.Count; i++)
            {
                var append = group[i].Append;
                if (!await db.TryMoveVersionAsync(append.RunId, append.FromVersion, append.ToVersion, append.JournalBytes, allGone))
                {
                    results[i] = AppendResult.VersionMoved;
                    continue;
                }
                // The pre-written journal becomes visible with the version move, in this transaction, or not at all.
                if (append.JournalWriteId != 0 && !await db.CommitJournalWriteAsync(append.JournalWriteId, allGone))
                    throw new InvalidOperationException($"Journal write {append.JournalWriteId} of simulation {append.RunId} is gone; its command cannot commit.");
                commands.AddRange(append.Commands);
                events.AddRange(append.Events);
            }
            await db.AppendLogRowsAsync(commands, events, allGone);
            await transaction.CommitAsync(allGone);
            db.GroupCommitted();
        }
        finally
        {
            db.ChangeTracker.Clear(); // the rows written are not kept by the writer's long-lived context
        }
        Interlocked.Increment(ref _transactions);
        return results;
    }
}
