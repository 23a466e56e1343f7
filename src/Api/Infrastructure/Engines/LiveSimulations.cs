using Microsoft.EntityFrameworkCore;
using SimService.Api.Features.Clock;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Observability;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Engine;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// How a handler reaches a simulation's live engine. Each call holds the simulation's gate (commands to one
/// simulation are serialized in this process), loads the simulation row, and brings the cached engine up to
/// the stored version: a miss or a restart rebuilds it by replaying the log once; commands that another API
/// process appended since are applied on top. Never a replay per request.
/// </summary>
public sealed partial class LiveSimulations(SimDbContext db, SimulationEngines engines, EngineThreads threads, CommandLogWriter log,
    TenantQuotas quotas, IServiceScopeFactory scopes, IHostApplicationLifetime lifetime, ILogger<LiveSimulations> logger)
{
    /// <summary>Runs a query against the engine (read only).</summary>
    public async ValueTask<Outcome<T>> ReadAsync<T>(Guid simulationId, Func<Simulation, SimulationRun, Outcome<T>> read,
        CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope(new SimulationLogScope(simulationId));
        using var lease = await AcquireAsync(simulationId, cancellationToken);
        var run = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, cancellationToken);
        if (run is null) return new SimulationNotFound(simulationId);
        var engine = await SyncAsync(lease, run, cancellationToken);
        lease.Keep(engine, run.Version, run);
        return await threads.RunAsync(RequestWork.Tracked(false, _ => read(engine, run)), heavy: false, cancellationToken);
    }

    /// <summary>
    /// Applies commands and saves them with the journal events they produced, in one transaction: the
    /// <see cref="CommandLogWriter"/>'s, shared with the commands other requests append meanwhile (group commit);
    /// the outcome is returned only after that transaction committed. <paramref name="expectedVersion"/> (If-Match)
    /// must equal the stored version. A failure leaves nothing persisted; an engine that a failed batch had
    /// changed is dropped, so the next request rebuilds it from the log. Finding the stored version moved on at
    /// commit (another process appended first) means this engine was stale: it is dropped, rebuilt from the log
    /// and the batch runs once more; a second loss is a 409. The commands run on an engine thread (<see cref="EngineThreads"/>);
    /// <paramref name="heavy"/> says they are long before they start (a workload).
    /// </summary>
    public async ValueTask<Outcome<T>> WriteAsync<T>(Guid simulationId, IfMatch? expectedVersion, Func<CommandBatch, Outcome<T>> write,
        CancellationToken cancellationToken, bool heavy = false) where T : LeftModelAnswer
    {
        using var scope = logger.BeginScope(new SimulationLogScope(simulationId));
        bool mayTrust = true;
        for (int attempt = 0, checkedAttempts = 0; checkedAttempts < 2; attempt++)
        {
            using var lease = await AcquireAsync(simulationId, cancellationToken);
            Simulation engine;
            SimulationRun run;
            long version;
            bool trusted = mayTrust && lease.Cached is { } cached && lease.Run is { } known && known.TenantId == db.TenantId
                && (expectedVersion is null || expectedVersion.Allows(cached.Version));
            mayTrust = false;
            if (trusted)
            {
                // The live engine is taken for the stored state: no read of the simulation's row per command. Had another
                // process appended meanwhile (or deleted the simulation), the append below finds the stored version moved
                // on (and an answer that appends nothing checks the version first); the next attempt reads the row.
                (engine, version, run) = (lease.Cached!.Value.Engine, lease.Cached!.Value.Version, lease.Run!);
            }
            else
            {
                checkedAttempts++;
                var stored = await db.Simulations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == simulationId, cancellationToken);
                if (stored is null) return new SimulationNotFound(simulationId);
                if (expectedVersion is { } expected && !expected.Allows(stored.Version)) return new VersionMismatch(simulationId, stored.Version, expected);
                (engine, version, run) = (await SyncAsync(lease, stored, cancellationToken), stored.Version, stored);
            }
            var batch = new CommandBatch(run.Id, engine, version, engines.JournalEventsPerRequest, engines.JournalPageEvents, engines.InstantEventsPerRequest);
            // The engine work also stops when the simulation is deleted meanwhile, and heavy work when the process is
            // stopping (light commands finish within the shutdown timeout).
            using var stop = heavy
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Deleted, lifetime.ApplicationStopping)
                : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Deleted);
            try
            {
                engine.Interruption = stop.Token;
                var outcome = await threads.RunAsync(RequestWork.Tracked(heavy, turn =>
                {
                    engine.Turn = turn; // heavy work passes its slot between events while other heavy work waits
                    // The answer says where the simulation left the model, the command that left it included.
                    return write(batch).Map(answer => LeftModelResponse.Of(engine) is { } left ? (T)(answer with { LeftModel = left }) : answer);
                }), heavy, stop.Token, run.TenantId);
                ServiceMetrics.EventsSimulated.Add(batch.EventsProcessed);
                if (batch.WorkLimitReached || outcome.IsFailure || !batch.Changed)
                {
                    if (batch.Changed) Drop(lease, engine, outcome);
                    else lease.Keep(engine, version, run);
                    // An answer from an engine taken on trust is given only if the stored version is still its version.
                    if (trusted && await StoredVersionAsync(simulationId, cancellationToken) != version)
                    {
                        lease.Drop();
                        continue;
                    }
                    if (!batch.WorkLimitReached) return outcome;
                    ServiceMetrics.WorkLimitHits.Add(1);
                    // The handler's refusal names the field as the request spells it (an advance's eventBudget, commands[3]).
                    outcome.TryGet(out _, out var refusal);
                    return new WorkLimitExceeded(simulationId, (refusal as CommandRefused)?.Field, batch.LimitMessage);
                }
                var addedBytes = TenantQuotas.Bytes(batch.Events);
                if (await quotas.CheckWriteAsync(db, simulationId, engine, addedBytes, cancellationToken) is { } quota)
                {
                    Drop<T>(lease, engine, quota);
                    return quota;
                }
                // The limit covers the commit too: a request that has gone before its transaction committed (and was
                // alone in it) has nothing written, is not acknowledged, and its engine is dropped below. Journal rows
                // past one page are written first, outside the command's transaction (CommandLogWriter, "Journal pages"),
                // which then only marks them committed: a big request no longer holds other simulations' commits.
                var appended = await AppendAsync(new LogAppend(run.Id, version, batch.Version, batch.Commands, batch.Events, addedBytes),
                    cancellationToken);
                if (appended == AppendResult.Committed)
                {
                    ServiceMetrics.CommandsApplied.Add(batch.Commands.Count);
                    lease.Keep(engine, batch.Version, run);
                    return outcome;
                }
                lease.Drop();
                LogWriteConflict(simulationId, version, attempt + 1);
            }
            catch (OperationCanceledException) when ((stop.IsCancellationRequested || log.Closed) && !cancellationToken.IsCancellationRequested)
            {
                // Deleted or stopping (or stopped: the log writer took no more appends): the engine is part-way through a
                // command and nothing was saved (as below).
                lease.Drop();
                if (lease.Deleted.IsCancellationRequested) return new SimulationNotFound(simulationId);
                return new ServiceStopping(simulationId);
            }
            catch
            {
                // Includes OperationCanceledException from the engine (time limit, client gone): the engine is
                // part-way through a command, nothing was saved, and the next request rebuilds it from the log.
                lease.Drop();
                throw;
            }
            finally
            {
                engine.Interruption = default;
                engine.Turn = null;
                engine.JournalLimit = long.MaxValue;
            }
        }
        return new WriteConflict(simulationId);
    }

    /// <summary>
    /// Appends through the group commit; journal rows past one page are pre-written first (tagged, invisible), and
    /// forgotten again when the append did not commit.
    /// </summary>
    private async Task<AppendResult> AppendAsync(LogAppend append, CancellationToken cancellationToken)
    {
        if (append.Events.Count <= log.PageRows) return await log.AppendAsync(append, cancellationToken);
        long writeId = await log.PreWriteAsync(append.RunId, append.FromVersion, append.Events, cancellationToken);
        var result = AppendResult.VersionMoved;
        try
        {
            result = await log.AppendAsync(append with { Events = [], JournalWriteId = writeId }, cancellationToken);
            return result;
        }
        finally
        {
            if (result != AppendResult.Committed) log.Forget(writeId);
        }
    }

    /// <summary>The simulation's stored version, or null when it is gone (or not this tenant's).</summary>
    /// <summary>Drops an engine the request changed and does not keep; one a quota refused gives its memory back (<see cref="SimulationEngines.QuotaRefused(Simulation)"/>).</summary>
    private static void Drop<T>(EngineLease lease, Simulation engine, Outcome<T> outcome)
    {
        lease.Drop();
        if (!outcome.TryGet(out _, out var failure) && failure is QuotaExceeded) SimulationEngines.QuotaRefused(engine);
    }

    private Task<long?> StoredVersionAsync(Guid simulationId, CancellationToken cancellationToken) =>
        db.Simulations.AsNoTracking().Where(r => r.Id == simulationId).Select(r => (long?)r.Version).SingleOrDefaultAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Simulation {SimulationId}: another process appended after version {Version}; attempt {Attempt} lost the race, the engine is rebuilt")]
    private partial void LogWriteConflict(Guid simulationId, long version, int attempt);

    /// <summary>Rebuilding a log this long is heavy work from its start (<see cref="EngineThreads"/>).</summary>
    private const int HeavyLog = 1_000;

    /// <summary>The engine at the stored version: cached, caught up, or rebuilt (on an engine thread).</summary>
    private async Task<Simulation> SyncAsync(EngineLease lease, SimulationRun run, CancellationToken cancellationToken)
    {
        if (lease.Cached is { } cached && cached.Version == run.Version) return cached.Engine;
        if (lease.Cached is { } behind && behind.Version < run.Version)
        {
            await CatchUpAsync(lease, behind.Engine, run, behind.Version, cancellationToken);
            return behind.Engine;
        }
        lease.Drop();
        var rebuild = lease.Rebuild(run, stop => RebuildAsync(run, stop));
        (Simulation Engine, long Version) rebuilt;
        try
        {
            RequestWork.Enter(WorkPhase.Rebuilding); // a request whose limit runs out now is told so: 503, retry
            rebuilt = await rebuild.WaitAsync(cancellationToken); // a request that gives up leaves the rebuild running
            RequestWork.Enter(WorkPhase.Running);
        }
        catch (Exception) when (rebuild.IsCompleted)
        {
            lease.TakeRebuild(); // it failed: the next request starts afresh
            throw;
        }
        lease.TakeRebuild();
        if (rebuilt.Version < run.Version) // rebuilt to an earlier request's version; another process appended since
            await CatchUpAsync(lease, rebuilt.Engine, run, rebuilt.Version, cancellationToken);
        return rebuilt.Engine;
    }

    /// <summary>
    /// Applies to <paramref name="engine"/> (at <paramref name="version"/>) what the log holds after it. A catch-up that
    /// stops part-way (its request cancelled while it waited for its turn, or any failure) leaves an engine some commands
    /// past the version it is cached at: it is dropped, and the next request rebuilds from the log.
    /// </summary>
    private async Task CatchUpAsync(EngineLease lease, Simulation engine, SimulationRun run, long version, CancellationToken cancellationToken)
    {
        try
        {
            var missing = await LogAsync(run, version, cancellationToken);
            await threads.RunAsync(RequestWork.Tracked(missing.Count >= HeavyLog, turn =>
            {
                engine.Turn = turn;
                try
                {
                    SimulationReplay.CatchUp(engine, run.Id, missing);
                }
                finally
                {
                    engine.Turn = null;
                }
                return true;
            }), missing.Count >= HeavyLog, cancellationToken, run.TenantId);
        }
        catch
        {
            lease.Drop();
            throw;
        }
    }

    /// <summary>
    /// Reads the log and replays it on a fresh engine, in a scope of its own (it may outlive the request that started
    /// it: <see cref="EngineLease.Rebuild"/>); <paramref name="stop"/> fires only when the simulation is deleted or the host has stopped.
    /// </summary>
    private async Task<(Simulation Engine, long Version)> RebuildAsync(SimulationRun run, CancellationToken stop)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        // The log is read as it is replayed, on the engine thread: no list of every command and its text held at once.
        var engine = await threads.RunAsync(turn => SimulationReplay.Rebuild(run, db.StreamLog(run.Id, 0, run.Version), stop, turn: turn),
            run.Version >= HeavyLog, stop, run.TenantId);
        return (engine, run.Version);
    }

    /// <summary>The simulation's gate: the request waits for the simulation's earlier requests (<see cref="WorkPhase.WaitingForSimulation"/>).</summary>
    private async Task<EngineLease> AcquireAsync(Guid simulationId, CancellationToken cancellationToken)
    {
        RequestWork.Enter(WorkPhase.WaitingForSimulation);
        var lease = await engines.AcquireAsync(simulationId, cancellationToken);
        RequestWork.Enter(WorkPhase.Running);
        return lease;
    }

    private Task<List<CommandRecord>> LogAsync(SimulationRun run, long afterSeq, CancellationToken cancellationToken) =>
        db.ReadLogAsync(run.Id, afterSeq, run.Version, cancellationToken);
}
