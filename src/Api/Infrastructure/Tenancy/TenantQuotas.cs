using System.Text;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Infrastructure.Observability;
using SimService.Domain.Engine;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Infrastructure.Tenancy;

/// <summary>403: the request would take the tenant past a quota; nothing was stored. <see cref="Field"/>: the request field at
/// fault when one is known (a workload's <c>generatedClients</c>), else the endpoint's <see cref="WorkField"/>.</summary>
public sealed record QuotaExceeded(Guid? SimulationId, string Quota, long Limit, string Message, string? Field = null) : Failure;

/// <summary>
/// Per-tenant quotas (the single default tenant has them too): simulations a tenant keeps, stored journal bytes
/// over all its simulations, and hosts and full sockets (sockstat "alloc": listeners and connections, not
/// TIME-WAIT entries) in any one of its simulations. Checked after the engine ran a request and before anything is
/// saved: a request that would pass a quota is refused whole (403 <c>quota-exceeded</c> naming the quota) and its
/// engine is dropped, so the simulation stays as stored (and its memory given back, SimulationEngines.QuotaRefused). A
/// workload's run stops as soon as it passes the sockets quota (<see cref="BoundSockets"/>). Two requests of one tenant
/// racing on two simulations can overshoot the journal quota by one request; creates cannot overshoot the simulations
/// quota (<see cref="SaveNewAsync"/>).
/// </summary>
public sealed class TenantQuotas(IConfiguration configuration)
{
    public const long DefaultSimulations = 1_000;
    public const long DefaultJournalBytes = 1L << 30;
    public const long DefaultHosts = SimService.Domain.Scenarios.ScenarioRunOptions.DefaultHostsQuota;
    public const long DefaultSockets = SimService.Domain.Scenarios.ScenarioRunOptions.DefaultSocketsQuota;

    public long Simulations { get; } = configuration.GetValue("Quotas:Simulations", DefaultSimulations);
    public long JournalBytes { get; } = configuration.GetValue("Quotas:JournalBytes", DefaultJournalBytes);
    public long Hosts { get; } = configuration.GetValue("Quotas:HostsPerSimulation", DefaultHosts);
    public long Sockets { get; } = configuration.GetValue("Quotas:SocketsPerSimulation", DefaultSockets);

    /// <summary>
    /// For a request that creates a simulation (empty, or run from a scenario or script) with these events: the quotas
    /// checked and, when none is passed, <paramref name="save"/> run (it adds the row and saves it), as one step per tenant.
    /// The simulations quota counts stored rows, so two creates that both counted before either saved went past it
    /// (tester35: 1000 creates 4 at a time stored 1002 of a quota of 1000); now a tenant's creates check and save one at a
    /// time in this process. Two service processes on one database can still race by the creates they make at once.
    /// </summary>
    public async Task<QuotaExceeded?> SaveNewAsync(SimDbContext db, Simulation? engine, IEnumerable<EventRecord> events, Func<Task> save,
        CancellationToken cancellationToken)
    {
        var gate = _creates.GetOrAdd(db.TenantId ?? "", _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await CheckNewAsync(db, engine, events, cancellationToken) is { } exceeded) return exceeded;
            await save();
            return null;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Per tenant: held from a create's count of its simulations to the end of its save (<see cref="SaveNewAsync"/>).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _creates = new();

    private async Task<QuotaExceeded?> CheckNewAsync(SimDbContext db, Simulation? engine, IEnumerable<EventRecord> events, CancellationToken cancellationToken)
    {
        if (await db.Simulations.LongCountAsync(cancellationToken) >= Simulations)
            return Hit(null, "simulations", Simulations, $"The tenant keeps {Simulations} simulations already; delete one first.");
        return (engine is null ? null : CheckEngine(null, engine)) ?? await CheckJournalAsync(db, null, Bytes(events), cancellationToken);
    }

    /// <summary>For a command batch on <paramref name="simulationId"/> that left <paramref name="engine"/> as it is.</summary>
    public async Task<QuotaExceeded?> CheckWriteAsync(SimDbContext db, Guid simulationId, Simulation engine, long addedBytes, CancellationToken cancellationToken) =>
        CheckEngine(simulationId, engine) ?? await CheckJournalAsync(db, simulationId, addedBytes, cancellationToken);

    /// <summary>
    /// Before a request that adds <paramref name="adding"/> hosts at once (a workload's generated clients, up to 200,000) runs:
    /// the hosts quota refuses it up front rather than after the engine built them all (4 GB and minutes for 200,000).
    /// </summary>
    public QuotaExceeded? CheckHostsToAdd(Guid? simulationId, int existing, long adding, string field) =>
        existing + adding > Hosts
            ? Hit(simulationId, "hosts", Hosts, $"A simulation may have {Hosts} hosts; this request would make {existing + adding}.") with { Field = field }
            : null;

    /// <summary>Stored bytes of the events (pages' encodings, older rows' UTF-8 payloads), as <see cref="SimulationRun.JournalBytes"/> counts them.</summary>
    public static long Bytes(IEnumerable<EventRecord> events) => events.Sum(e => e.StoredBytes);

    /// <inheritdoc cref="Bytes(IEnumerable{EventRecord})"/>
    public static long Bytes(IReadOnlyList<EventRecord> events)
    {
        long bytes = 0;
        for (int i = 0; i < events.Count; i++) bytes += events[i].StoredBytes; // no enumerator per command
        return bytes;
    }

    private QuotaExceeded? CheckEngine(Guid? simulationId, Simulation engine)
    {
        if (engine.Hosts.Count > Hosts)
            return Hit(simulationId, "hosts", Hosts, $"A simulation may have {Hosts} hosts; this request would make {engine.Hosts.Count}.");
        return engine.SocketsAllocated > Sockets
            ? Hit(simulationId, "sockets", Sockets, $"{SocketsQuota}; this request would make {engine.SocketsAllocated}.")
            : null;
    }

    private string SocketsQuota => $"A simulation may have {Sockets} sockets (listeners and connections, TIME-WAIT not counted)";

    /// <summary>
    /// Runs <paramref name="work"/> (a workload) with the engine stopping once it holds more sockets than the quota
    /// (<see cref="Simulation.SocketLimit"/>), and refuses it, naming <paramref name="field"/>, if it got there: a workload
    /// whose connections stay open built 1,032,192 sockets in 197 s (+1.8 GB) before the check after it refused them.
    /// </summary>
    public Outcome<T> BoundSockets<T>(Guid simulationId, Simulation engine, string field, Func<Outcome<T>> work)
    {
        long limit = engine.SocketLimit;
        engine.SocketLimit = Sockets;
        try
        {
            var outcome = work();
            return engine.SocketsFull ? SocketsPassed(simulationId, engine, field) : outcome;
        }
        finally
        {
            engine.SocketLimit = limit;
        }
    }

    /// <summary>
    /// The refusal of a run the sockets quota stopped (<see cref="Simulation.SocketLimit"/>, set to <see cref="Sockets"/>):
    /// where it passed the quota, naming <paramref name="field"/> (a workload's count, a scenario step's).
    /// </summary>
    public QuotaExceeded SocketsPassed(Guid? simulationId, Simulation engine, string field) =>
        Hit(simulationId, "sockets", Sockets, $"{SocketsQuota}; this request passed that at {engine.Now} of virtual time and was stopped there.") with { Field = field };

    private async Task<QuotaExceeded?> CheckJournalAsync(SimDbContext db, Guid? simulationId, long addedBytes, CancellationToken cancellationToken)
    {
        if (addedBytes == 0) return null;
        var key = db.TenantId ?? "";
        if (_journalUsage.TryGetValue(key, out var known) && known.TryAdd(addedBytes, JournalBytes)) return null;
        var stored = await db.Simulations.SumAsync(r => r.JournalBytes, cancellationToken);
        if (stored + addedBytes > JournalBytes)
            return Hit(simulationId, "journalBytes", JournalBytes,
                $"The tenant's stored journals would grow to {stored + addedBytes} bytes, past its {JournalBytes}; delete simulations or advance less.");
        _journalUsage[key] = new JournalUsage(stored + addedBytes);
        return null;
    }

    /// <summary>
    /// How long a tenant's stored journal bytes, as last summed, are believed: a command that stays below the quota by
    /// that sum plus what this process let through since needs no query; one that would pass it sums again.
    /// </summary>
    public static readonly TimeSpan JournalSumInterval = TimeSpan.FromSeconds(1);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, JournalUsage> _journalUsage = new();

    /// <summary>
    /// A tenant's journal bytes as summed from the database, plus what this process allowed since (counted whether or
    /// not it was then committed: an over-estimate, which only makes the next check near the quota sum again). Deletes
    /// and other processes' appends are seen at the next sum, at most <see cref="JournalSumInterval"/> later; so the
    /// decision at the quota is always made on a fresh sum.
    /// </summary>
    private sealed class JournalUsage(long bytes)
    {
        private long _bytes = bytes;
        private readonly long _until = Environment.TickCount64 + (long)JournalSumInterval.TotalMilliseconds;

        public bool TryAdd(long added, long limit)
        {
            if (Environment.TickCount64 >= _until) return false;
            long now = Interlocked.Add(ref _bytes, added);
            if (now <= limit) return true;
            Interlocked.Add(ref _bytes, -added);
            return false;
        }
    }

    private static QuotaExceeded Hit(Guid? simulationId, string quota, long limit, string message)
    {
        ServiceMetrics.QuotaHits.Add(1, new KeyValuePair<string, object?>("quota", quota));
        return new QuotaExceeded(simulationId, quota, limit, message);
    }
}
