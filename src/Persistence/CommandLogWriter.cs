using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SimService.Persistence.Entities;

namespace SimService.Persistence;

/// <summary>
/// What one request appends to one simulation's log: its commands and journal events, valid only if the stored
/// version is still <see cref="FromVersion"/> (no other writer appended meanwhile); the version becomes
/// <see cref="ToVersion"/>, and the simulation's <see cref="SimulationRun.JournalBytes"/> grows by <see cref="JournalBytes"/>.
/// </summary>
public sealed record LogAppend(Guid RunId, long FromVersion, long ToVersion, IReadOnlyList<CommandRecord> Commands,
    IReadOnlyList<EventRecord> Events, long JournalBytes = 0);

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
/// </summary>
public sealed class CommandLogWriter(IServiceScopeFactory scopes) : IAsyncDisposable
{
    /// <summary>The most appends one transaction holds.</summary>
    public const int MaxGroup = 256;

    private sealed record Pending(LogAppend Append, TaskCompletionSource<AppendResult> Done, CancellationToken Abandoned);

    private readonly Lock _gate = new();
    private List<Pending> _queue = [];
    private bool _writing;

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
            _queue.Add(pending);
            start = !_writing;
            _writing = true;
        }
        if (start) _ = Task.Run(WriteQueuedAsync);
        return pending.Done.Task;
    }

    /// <summary>
    /// The writer's database context (and its open connection), kept from one transaction to the next, not made again
    /// for every group; replaced after a failed group. Used only by the one running <see cref="WriteQueuedAsync"/>.
    /// </summary>
    private Writer? _writer;

    /// <summary>Writes what is queued, group after group, until the queue is empty; one writer at a time.</summary>
    private async Task WriteQueuedAsync()
    {
        while (true)
        {
            List<Pending> group;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _writing = false;
                    return;
                }
                if (_queue.Count <= MaxGroup)
                    (group, _queue) = (_queue, []);
                else
                {
                    group = _queue[..MaxGroup];
                    _queue.RemoveRange(0, MaxGroup);
                }
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

    /// <summary>Closes the writer's context (at shutdown: the container disposes its singletons).</summary>
    public async ValueTask DisposeAsync()
    {
        Writer? writer;
        lock (_gate)
        {
            if (_writing) return; // a transaction is being written: its context goes with the process
            (writer, _writer) = (_writer, null);
        }
        if (writer is not null) await writer.DisposeAsync();
    }

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
        private readonly List<CancellationTokenRegistration> _registrations = [];
        private int _waiting;

        public WhenAllAbandoned(List<Pending> group)
        {
            _waiting = group.Count;
            foreach (var pending in group) _registrations.Add(pending.Abandoned.Register(OneGone));
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
        await using var transaction = await db.Database.BeginTransactionAsync(allGone);
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
                commands.AddRange(append.Commands);
                events.AddRange(append.Events);
            }
            await db.AppendLogRowsAsync(commands, events, allGone);
            await transaction.CommitAsync(allGone);
        }
        finally
        {
            db.ChangeTracker.Clear(); // the rows written are not kept by the writer's long-lived context
        }
        Interlocked.Increment(ref _transactions);
        return results;
    }
}
