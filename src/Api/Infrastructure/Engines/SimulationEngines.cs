using System.Collections.Concurrent;
using System.Runtime;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Observability;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// The live engines of this process, one per simulation, with the version (command count) each has applied.
/// A request takes a simulation's gate for as long as it uses the engine, so commands to one simulation run
/// one at a time and a reader never sees an engine mid-command. Engines are rebuilt from the database on a
/// miss (<see cref="LiveSimulations"/>); past <see cref="Capacity"/> engines, or past <see cref="MemoryBudgetBytes"/>
/// of estimated engine memory, the least recently used idle ones are dropped.
/// </summary>
public sealed class SimulationEngines(IConfiguration configuration, IHostApplicationLifetime lifetime) : IDisposable
{
    /// <summary>How many engines stay in memory (configuration <c>Engines:Capacity</c>).</summary>
    public int Capacity { get; } = configuration.GetValue("Engines:Capacity", 256);

    /// <summary>
    /// Estimated memory the live engines may hold together (configuration <c>Engines:MemoryBudgetMB</c>, default
    /// 512). An engine is estimated at <see cref="BytesPerJournalEvent"/> per event of its in-memory journal,
    /// <see cref="BytesPerSample"/> per sample of its workloads' time series, <see cref="BytesPerHost"/> per host,
    /// <see cref="BytesPerSocket"/> and the rest by kind (<see cref="EstimateBytes"/>), plus <see cref="BytesPerEngine"/>: the journal, or a workload's
    /// generated clients, dominate an engine's size (the hosts used to be left out: 20,000 generated clients, 2.4 GB of
    /// heap, were estimated at about 3 MB (their time series), and no budget evicted them).
    /// </summary>
    public long MemoryBudgetBytes { get; } = configuration.GetValue("Engines:MemoryBudgetMB", 512L) * 1024 * 1024;

    /// <summary>
    /// The most journal events one request may add (configuration <c>Limits:JournalEventsPerRequest</c>, default
    /// <see cref="DefaultJournalEventsPerRequest"/>); a request that needs more is refused whole. Rows past one journal
    /// page are written before the command's transaction, outside it (<see cref="Persistence.CommandLogWriter"/>), so a
    /// larger cap costs memory and disk, not other simulations' commits.
    /// </summary>
    public int JournalEventsPerRequest { get; } = Math.Max(1, configuration.GetValue("Limits:JournalEventsPerRequest", DefaultJournalEventsPerRequest));

    public const int DefaultJournalEventsPerRequest = 20_000;

    /// <summary>
    /// The most events a call's, kill's or injected segment's own instant may run in one request (configuration
    /// <c>Limits:InstantEventsPerRequest</c>, default as many as one advance request may process,
    /// <see cref="Features.Clock.AdvanceRequest.MaxEventBudget"/>; at most the rule's own bound,
    /// <see cref="CommandApplier.SameInstantBudget"/>). A command whose instant needs more is refused whole, a 422
    /// <c>work-limit</c>, and nothing of it applied: before session 26 only the rule's 10,000,000 bounded it, a hundred
    /// times what an advance may process, under no request's limit.
    /// </summary>
    public long InstantEventsPerRequest { get; } =
        Math.Clamp(configuration.GetValue("Limits:InstantEventsPerRequest", Features.Clock.AdvanceRequest.MaxEventBudget), 1, CommandApplier.SameInstantBudget);

    /// <summary>
    /// Events per stored journal page (configuration <c>Persistence:JournalPageEvents</c>, default
    /// <see cref="JournalPageCodec.DefaultPageEvents"/>, at most <see cref="JournalPageCodec.MaxEvents"/>): a request's events
    /// are written as rows of this many (<see cref="JournalPageBuilder"/>).
    /// </summary>
    public int JournalPageEvents { get; } =
        Math.Clamp(configuration.GetValue("Persistence:JournalPageEvents", JournalPageCodec.DefaultPageEvents), 1, JournalPageCodec.MaxEvents);

    public const long BytesPerJournalEvent = 400;
    public const long BytesPerEngine = 256 * 1024;

    /// <summary>A workload's time-series sample as held (a record of ten numbers and its list entry).</summary>
    public const long BytesPerSample = 80;

    /// <summary>Engines this large (estimated), or a collector holding this much at a delete, make the process give memory back.</summary>
    private const long CollectAboveBytes = 64L * 1024 * 1024;

    /// <summary>
    /// A host as held with its tables (sysctls, ports, metrics, timewait page, process), measured: a heap dump of a
    /// workload's 3,000 generated clients, one connection each, held 56 MB (2026-12-06).
    /// </summary>
    public const long BytesPerHost = 20 * 1024;

    /// <summary>
    /// What an engine holds, by kind, fitted to the growth of <c>GC.GetTotalMemory(true)</c> over engines holding 5,000–40,000
    /// of a kind (session 30, <c>EngineMemoryEstimateTests</c>, which keeps the estimate between 1× and 1.5× of it): a full
    /// socket with its fd and table entries (socket() calls: 767 B with the call row), a call row, the data path a socket
    /// makes once it moves data or a FIN, a workload's connection object, a TIME-WAIT socket (≈ 226 B), a request socket
    /// (SYN_RECV, ≈ 260 B), a freed socket kept for reuse (≤ 1,024 of each kind a host), a free segment (the most once in
    /// flight together) and an event-queue chunk (64 items; a bucket of one instant holds at least one, so a held workload's
    /// think timers, each at its own instant, hold one each). A held workload socket is ≈ 2.2–2.5 KB with its share of
    /// chunks; until session 30 every socket was 1 KiB and nothing else was counted, so the tester's eight held workloads of
    /// 98,001 sockets were estimated at 503 MB and held 1.08 GB. The hosts' tables are counted apart, by the pages they hold
    /// (<c>Host.TableBytesHeld</c>: a table keeps its run's peak): 5,000 TIME-WAITs left by a workload whose sockets
    /// were open together held 8.90 MB and were estimated at 8.895 MB, under it, when the tables' share rode on each
    /// TIME-WAIT (the official CI of session 36's last commit failed on it); a TIME-WAIT is now 224 B (W2: 198 B) and the
    /// estimate 1.10× at 5,000 and 1.34× at 40,000.
    /// </summary>
    public const long BytesPerSocket = 768, BytesPerCall = 96, BytesPerDataPath = 512, BytesPerWorkloadConnection = 640,
        BytesPerTimeWait = 224, BytesPerRequestSocket = 512, BytesPerFreeSocket = BytesPerSocket + BytesPerDataPath, BytesPerSegment = 256;

    /// <summary>The engine's memory, counted by kind (<see cref="BytesPerSocket"/>); O(hosts), taken when an engine is kept.</summary>
    public static long EstimateBytes(Simulation engine)
    {
        long bytes = BytesPerEngine + engine.Journal.Count * BytesPerJournalEvent + engine.WorkloadSamples * BytesPerSample
            + engine.Hosts.Count * BytesPerHost + engine.WorkloadConnections * BytesPerWorkloadConnection
            + engine.Calls.Count * BytesPerCall + engine.QueueChunksHeld * EventQueue.ChunkBytes + engine.FreeSegmentsHeld * BytesPerSegment;
        foreach (var host in engine.Hosts)
            bytes += host.Allocated * BytesPerSocket + host.SocketsWithDataPath * BytesPerDataPath + host.TimeWaitCount * BytesPerTimeWait
                + (host.RequestCount + host.FreeRequestSocketsHeld) * BytesPerRequestSocket + host.FreeSocketsHeld * BytesPerFreeSocket
                + host.TableBytesHeld;
        return bytes;
    }

    /// <summary>Estimated memory of the engines held now.</summary>
    public long EstimatedBytes => _slots.Values.Sum(s => s.Estimate);

    private readonly ConcurrentDictionary<Guid, Slot> _slots = new();
    private long _clock;

    /// <summary>
    /// What <see cref="Trim"/> must know after every request, kept as engines come and go instead of counted over every
    /// slot each time: the slots in <see cref="_slots"/>, the engines they hold and those engines' estimates (each taken
    /// when its engine was last kept, <see cref="Slot.SetEngine"/>).
    /// </summary>
    private int _slotCount, _engineCount;
    private long _heldBytes;

    internal sealed class Slot(SimulationEngines owner)
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public Simulation? Engine { get; private set; }

        /// <summary>Cancelled when the simulation is deleted (<see cref="Forget"/>): the work running on it stops.</summary>
        public readonly CancellationTokenSource Deleted = new();

        /// <summary>The estimate of <see cref="Engine"/> counted in the owner's totals (0: not counted).</summary>
        private long _counted;

        /// <summary>
        /// The estimate of the engine held, taken when it was kept (under the simulation's gate). Never counted again from
        /// outside the gate: a workload on another engine thread adds hosts to it meanwhile, and its list's enumerator throws.
        /// </summary>
        public long Estimate => Interlocked.Read(ref _counted);
        private bool _counting = true;

        /// <summary>Holds <paramref name="engine"/> (null: none), and moves the owner's totals by the change.</summary>
        public void SetEngine(Simulation? engine)
        {
            lock (this)
            {
                Engine = engine;
                if (!_counting) return;
                long bytes = engine is null ? 0 : EstimateBytes(engine);
                int engines = (engine is null ? 0 : 1) - (_counted == 0 ? 0 : 1);
                if (engines != 0) Interlocked.Add(ref owner._engineCount, engines);
                Interlocked.Add(ref owner._heldBytes, bytes - _counted);
                _counted = bytes;
            }
        }

        /// <summary>Work that watches for the simulation's deletion without holding its gate (<see cref="WorkStop"/>): the slot stays.</summary>
        public int Watchers;

        /// <summary>The slot left the owner's dictionary: a watcher takes the simulation's new slot instead.</summary>
        public bool Gone;

        /// <summary>The slot left the owner's dictionary: its engine no longer counts, now or later.</summary>
        public void Removed()
        {
            lock (this)
            {
                Gone = true;
                if (_counted != 0)
                {
                    Interlocked.Decrement(ref owner._engineCount);
                    Interlocked.Add(ref owner._heldBytes, -_counted);
                }
                (_counted, _counting) = (0, false);
            }
            Interlocked.Decrement(ref owner._slotCount);
        }

        public long Version;
        public SimulationRun? Run;

        /// <summary>A rebuild from the log under way (or finished and not yet taken), which outlives the request that started it.</summary>
        public Task<(Simulation Engine, long Version)>? Rebuild;
        public CancellationTokenSource? RebuildStop;
        public long LastUsed;
    }

    /// <summary>Waits for the simulation's gate; the lease releases it when disposed.</summary>
    public async Task<EngineLease> AcquireAsync(Guid simulationId, CancellationToken cancellationToken)
    {
        var slot = SlotOf(simulationId);
        await slot.Gate.WaitAsync(cancellationToken);
        slot.LastUsed = Interlocked.Increment(ref _clock);
        return new EngineLease(this, slot);
    }

    private Slot SlotOf(Guid simulationId)
    {
        if (_slots.TryGetValue(simulationId, out var slot)) return slot;
        var fresh = new Slot(this);
        slot = _slots.GetOrAdd(simulationId, fresh);
        if (slot == fresh) Interlocked.Increment(ref _slotCount);
        return slot;
    }

    /// <summary>
    /// What stops heavy work besides its request: the deletion of <paramref name="simulationId"/> (if it works on a stored
    /// simulation without holding its gate: a replay, a look back in time) and the process stopping. Take it before
    /// reading the simulation: a delete after that cancels the work, one before it is seen as a 404 by the read.
    /// </summary>
    public WorkStop StopFor(Guid? simulationId, CancellationToken request)
    {
        if (simulationId is not { } id) return new WorkStop(request, null, lifetime.ApplicationStopping);
        while (true)
        {
            var slot = SlotOf(id);
            lock (slot)
            {
                if (slot.Gone) continue; // removed meanwhile: the simulation's next slot is the one a delete cancels
                slot.Watchers++;
            }
            return new WorkStop(request, slot, lifetime.ApplicationStopping);
        }
    }

    /// <summary>
    /// Forgets a deleted simulation's engine and its slot (a later request finds the simulation gone anyway). A
    /// request still holding the slot keeps the engine only until it ends; then nothing refers to it. What the
    /// simulation's requests allocated (engine, journal, rows) is garbage now; the memory is given back once the
    /// simulation's rows are purged (<see cref="Purged(long)"/>): returns the engine's estimated bytes for that.
    /// </summary>
    public long Forget(Guid simulationId)
    {
        var bytes = _slots.TryRemove(simulationId, out var slot) ? slot.Estimate : 0;
        slot?.Removed();
        slot?.SetEngine(null);
        slot?.RebuildStop?.Cancel(); // a rebuild of a deleted simulation stops at its next command
        slot?.Deleted.Cancel(); // so does the work running on it (a workload): nothing of it is persisted, its slot is freed
        ServiceMetrics.Evictions.Add(1);
        return bytes;
    }

    /// <summary>
    /// A deleted simulation's rows are all gone (its engine of <paramref name="engineBytes"/> forgotten before): when it
    /// was big or the garbage collector holds more than <see cref="CollectAboveBytes"/>, the memory is given back to the
    /// system (<see cref="ProcessMemory"/>). Not at the delete itself: with the collection there, a million-row
    /// simulation left ≈ 110 MB after its purge — the collector's heap after its last collection was 147 MB while a heap
    /// dump (a full collection) found 19 MB live: garbage in the oldest generation that no later collection looked at.
    /// Completes once that give-back has run when the engine itself was big (the purge counts as finished only then: what
    /// the memory read after a purge needs); for a small engine at once, the give-back asked for only — a give-back runs at
    /// most every 5 s, and the purge of nearly every delete (the process holds more than 64 MB) waited up to that long.
    /// </summary>
    public static Task Purged(long engineBytes) =>
        Purged(engineBytes, GC.GetGCMemoryInfo().TotalCommittedBytes, ProcessMemory);

    /// <summary><see cref="Purged(long)"/> with the collector's committed bytes and the give-backs given.</summary>
    public static Task Purged(long engineBytes, long committedBytes, MemoryGiveBack giveBack)
    {
        if (engineBytes >= CollectAboveBytes) return giveBack.Ask();
        if (committedBytes > CollectAboveBytes) _ = giveBack.Ask();
        return Task.CompletedTask;
    }

    /// <summary>Cancelled when the host has stopped (<see cref="StopRebuildsAsync"/>): every rebuild's stop is linked to it.</summary>
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>The rebuilds running (<see cref="EngineLease.Rebuild"/>), each until it ends.</summary>
    private readonly ConcurrentDictionary<Task, byte> _rebuilding = new();

    /// <summary>How long <see cref="StopRebuildsAsync"/> waits for the rebuilds it stopped.</summary>
    public static readonly TimeSpan RebuildStopWait = TimeSpan.FromSeconds(10);

    /// <summary>Cancelled when the host has stopped; once the cache is disposed (<see cref="Dispose"/>), a cancelled token.</summary>
    internal CancellationToken Shutdown
    {
        get
        {
            try
            {
                return _shutdown.Token;
            }
            catch (ObjectDisposedException)
            {
                return new CancellationToken(canceled: true); // after the host: a rebuild asked for now starts stopped
            }
        }
    }

    internal void Rebuilding(Task rebuild, bool running)
    {
        if (running) _rebuilding.TryAdd(rebuild, 0);
        else _rebuilding.TryRemove(rebuild, out _);
    }

    /// <summary>
    /// At shutdown, once the server has stopped serving (<see cref="BackgroundShutdown"/>): the rebuilds still running —
    /// they outlive the requests that started them — stop at their next command, and one asked for later starts stopped;
    /// they are awaited for <see cref="RebuildStopWait"/> at most, so that none reads the database after the host stopped.
    /// </summary>
    public async Task StopRebuildsAsync()
    {
        await _shutdown.CancelAsync();
        await Task.WhenAll(_rebuilding.Keys).WaitAsync(RebuildStopWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// The container disposes the cache with the host, after its stop (<see cref="StopRebuildsAsync"/>): the shutdown's
    /// source goes; a rebuild that outlived the stop's wait keeps its own linked stop, already cancelled.
    /// </summary>
    public void Dispose() => _shutdown.Dispose();

    /// <summary>Rebuilds from the log started since start (a request that joins one under way starts none).</summary>
    public long Rebuilds => Interlocked.Read(ref _rebuilds);

    private long _rebuilds;

    internal void RebuildStarted()
    {
        Interlocked.Increment(ref _rebuilds);
        ServiceMetrics.Rebuilds.Add(1);
    }

    /// <summary>The number of engines held in memory now.</summary>
    public int Count => _slots.Values.Count(s => s.Engine is not null);

    internal void Trim()
    {
        // The common case first, in constant time: within capacity and budget, nothing to evict.
        if (Volatile.Read(ref _engineCount) <= Capacity && Interlocked.Read(ref _heldBytes) <= MemoryBudgetBytes
            && Volatile.Read(ref _slotCount) <= 4 * Capacity) return;
        var held = _slots.Where(s => s.Value.Engine is not null).Select(s => (s.Key, s.Value, Bytes: s.Value.Estimate)).ToList();
        long total = held.Sum(h => h.Bytes);
        int count = held.Count;
        foreach (var (id, slot, bytes) in held.OrderBy(h => h.Value.LastUsed))
        {
            if (count <= Capacity && total <= MemoryBudgetBytes) break;
            if (!slot.Gate.Wait(0)) continue; // in use: it is not the least recently used for long
            var engine = slot.Engine;
            slot.SetEngine(null);
            slot.Gate.Release();
            (count, total) = (count - 1, total - bytes);
            Evicted(engine, bytes);
        }
        // Slots of simulations that hold no engine (never found, evicted) are not kept for ever.
        if (_slots.Count > 4 * Capacity)
            foreach (var (id, slot) in _slots)
                if (slot.Engine is null && slot.Rebuild is null && slot.Gate.Wait(0))
                {
                    lock (slot) // a watcher of the deletion registers under it (StopFor)
                        if (slot.Rebuild is null && slot.Watchers == 0 && _slots.TryRemove(id, out _)) slot.Removed();
                    slot.Gate.Release();
                }
    }

    /// <summary>
    /// An engine left the cache to stay within the budget: a big one's memory is given back once it is unreachable. Not at
    /// once: the eviction runs as the request that used it last lets go of it (<see cref="EngineLease.Dispose"/>), whose
    /// frames still refer to it, and whose response (a workload's result: every host's series) is still to be written —
    /// a collection there found the engine alive (an evicted 7,000-client engine, 136 MB, stayed), and one 200 ms later
    /// the response (47 MB of heap kept). So after the request has ended (<see cref="RequestWork.AtEnd"/>).
    /// </summary>
    private static void Evicted(Simulation? engine, long bytes)
    {
        ServiceMetrics.Evictions.Add(1);
        if (bytes < CollectAboveBytes || engine is null) return;
        GiveBackOnceGone(engine, ProcessMemory);
    }

    /// <summary>
    /// A request a quota refused dropped <paramref name="engine"/>, changed by work that is not kept: its memory is given back
    /// once the request has ended, on the purge's terms (<see cref="Purged(long)"/>: a big engine, or a big heap). Before, a
    /// workload the sockets quota refused left the process 1.8 GB bigger until someone deleted the (unchanged) simulation.
    /// </summary>
    public static void QuotaRefused(Simulation engine) =>
        QuotaRefused(engine, EstimateBytes(engine), GC.GetGCMemoryInfo().TotalCommittedBytes, ProcessMemory);

    /// <summary><see cref="QuotaRefused(Simulation)"/> with the engine's estimated bytes, the collector's committed bytes and the give-backs given: whether one was asked for.</summary>
    public static bool QuotaRefused(object engine, long engineBytes, long committedBytes, MemoryGiveBack giveBack)
    {
        if (engineBytes < CollectAboveBytes && committedBytes <= CollectAboveBytes) return false;
        GiveBackOnceGone(engine, giveBack);
        return true;
    }

    /// <summary>Gives the memory back after the request has ended, and again while <paramref name="engine"/> is still reachable then (<see cref="Evicted"/>).</summary>
    private static void GiveBackOnceGone(object engine, MemoryGiveBack giveBack)
    {
        var gone = new WeakReference<object>(engine);
        RequestWork.AtEnd(() => giveBack.Ask(gone));
    }

    /// <summary>The process's give-backs (<see cref="MemoryGiveBack"/>): a full collection and <c>malloc_trim</c>, at most once every 5 s.</summary>
    public static readonly MemoryGiveBack ProcessMemory = new(CollectAndTrim, intervalMs: 5_000);

    /// <summary>Times the process gave memory back (full collections and <c>malloc_trim</c>; <c>/metrics</c>).</summary>
    public static long GiveBacks => ProcessMemory.Count;

    /// <summary>A give-back is scheduled or running (<c>/metrics</c>).</summary>
    public static bool GiveBackPending => ProcessMemory.Pending;

    /// <summary>
    /// Gives the memory back to the system: a full, compacting, aggressive collection (the large-object heap, where a
    /// journal's arrays live, compacted too), which decommits what the collector no longer needs (a server collector
    /// otherwise keeps it for later), then glibc's <c>malloc_trim(0)</c>, which returns the free native memory of its arenas
    /// (SQLite's, the runtime's). Each pauses every thread: <see cref="ProcessMemory"/> runs it at most once every 5 s.
    /// </summary>
    private static void CollectAndTrim()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (OperatingSystem.IsLinux()) _ = malloc_trim(0);
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int malloc_trim(nuint pad);
}

/// <summary>Exclusive use of one simulation's engine slot.</summary>
public sealed class EngineLease : IDisposable
{
    private readonly SimulationEngines _owner;
    private readonly SimulationEngines.Slot _slot;
    private bool _released;

    internal EngineLease(SimulationEngines owner, SimulationEngines.Slot slot) => (_owner, _slot) = (owner, slot);

    /// <summary>The cached engine and the number of commands it has applied, if there is one.</summary>
    public (Simulation Engine, long Version)? Cached => _slot.Engine is { } engine ? (engine, _slot.Version) : null;

    /// <summary>Fires when the simulation is deleted while this lease is held (or was deleted before).</summary>
    public CancellationToken Deleted => _slot.Deleted.Token;

    /// <summary>The simulation's row as last read with the engine kept (its tenant; its version is <see cref="Cached"/>'s).</summary>
    public SimulationRun? Run => _slot.Engine is null ? null : _slot.Run;

    /// <summary>
    /// Keeps the engine, which has applied exactly <paramref name="version"/> commands of the log, with the simulation's
    /// row (<paramref name="run"/>: its identity and tenant, so that a command needs not read it again).
    /// </summary>
    public void Keep(Simulation engine, long version, SimulationRun? run)
    {
        _slot.SetEngine(engine);
        _slot.Version = version;
        _slot.Run = run;
    }

    /// <summary>Drops the engine: it may hold changes that were not persisted. The next request rebuilds it.</summary>
    public void Drop() => _slot.SetEngine(null);

    /// <summary>
    /// The engine rebuilt from the log: the rebuild under way for this simulation if there is one (started by an
    /// earlier request that gave up waiting — the 10 s limit — or has gone), else a new one started by
    /// <paramref name="start"/>. The rebuild is not the request's: it runs to its end whether or not anyone waits for it,
    /// and the next request continues waiting for it instead of starting again from scratch. It stops only when the
    /// simulation is deleted, or when the host has stopped (<see cref="SimulationEngines.StopRebuildsAsync"/>, which awaits
    /// it). When it ends while no request holds the simulation, its engine is kept (see
    /// <see cref="SimulationEngines"/>); otherwise the request waiting for it takes it (<see cref="TakeRebuild"/>).
    /// </summary>
    public Task<(Simulation Engine, long Version)> Rebuild(SimulationRun run, Func<CancellationToken, Task<(Simulation Engine, long Version)>> start)
    {
        if (_slot.Rebuild is { } running) return running;
        _owner.RebuildStarted();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_owner.Shutdown); // and when the host has stopped
        var slot = _slot;
        var rebuild = Task.Run(() => start(stop.Token));
        (slot.Rebuild, slot.RebuildStop) = (rebuild, stop);
        _owner.Rebuilding(rebuild, running: true);
        _ = rebuild.ContinueWith(done =>
        {
            _owner.Rebuilding(done, running: false);
            if (!slot.Gate.Wait(0)) return; // a request holds the simulation: it waits for this rebuild and takes it
            try
            {
                if (slot.Rebuild != done) return;
                if (done.IsCompletedSuccessfully && slot.Engine is null)
                {
                    slot.SetEngine(done.Result.Engine);
                    (slot.Version, slot.Run) = (done.Result.Version, run);
                }
                (slot.Rebuild, slot.RebuildStop) = (null, null);
                stop.Dispose();
            }
            finally
            {
                slot.Gate.Release();
            }
            _owner.Trim();
        }, TaskScheduler.Default);
        return rebuild;
    }

    /// <summary>The holder has the rebuild's outcome (an engine it keeps, or a failure it reports): the slot forgets the rebuild.</summary>
    public void TakeRebuild()
    {
        _slot.RebuildStop?.Dispose();
        (_slot.Rebuild, _slot.RebuildStop) = (null, null);
    }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        _slot.Gate.Release();
        _owner.Trim();
    }
}

public static class SimulationEnginesSetup
{
    /// <summary>The process-wide engine cache and the scoped access to it that handlers use.</summary>
    public static IServiceCollection AddSimulationEngines(this IServiceCollection services) =>
        services.AddSingleton<SimulationEngines>().AddSingleton<EngineThreads>().AddSingleton<HeavyReads>().AddScoped<LiveSimulations>()
            .AddHostedService<BackgroundShutdown>();
}
