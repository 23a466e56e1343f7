using System.Collections.Concurrent;
using SimService.Domain.Engine;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// The live engines of this process, one per simulation, with the version (command count) each has applied.
/// A request takes a simulation's gate for as long as it uses the engine, so commands to one simulation run
/// one at a time and a reader never sees an engine mid-command. Engines are rebuilt from the database on a
/// miss (<see cref="LiveSimulations"/>); past <see cref="Capacity"/> the least recently used idle ones are dropped.
/// </summary>
public sealed class SimulationEngines(IConfiguration configuration)
{
    /// <summary>How many engines stay in memory (configuration <c>Engines:Capacity</c>).</summary>
    public int Capacity { get; } = configuration.GetValue("Engines:Capacity", 256);

    private readonly ConcurrentDictionary<Guid, Slot> _slots = new();
    private long _clock;

    internal sealed class Slot
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public Simulation? Engine;
        public long Version;
        public long LastUsed;
    }

    /// <summary>Waits for the simulation's gate; the lease releases it when disposed.</summary>
    public async Task<EngineLease> AcquireAsync(Guid simulationId, CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(simulationId, _ => new Slot());
        await slot.Gate.WaitAsync(cancellationToken);
        slot.LastUsed = Interlocked.Increment(ref _clock);
        return new EngineLease(this, slot);
    }

    /// <summary>Forgets a deleted simulation's engine (a later request finds the simulation gone anyway).</summary>
    public void Forget(Guid simulationId)
    {
        if (_slots.TryGetValue(simulationId, out var slot) && slot.Gate.Wait(0))
        {
            slot.Engine = null;
            slot.Gate.Release();
        }
    }

    /// <summary>The number of engines held in memory now.</summary>
    public int Count => _slots.Values.Count(s => s.Engine is not null);

    internal void Trim()
    {
        var held = _slots.Where(s => s.Value.Engine is not null).ToList();
        if (held.Count <= Capacity) return;
        foreach (var (_, slot) in held.OrderBy(s => s.Value.LastUsed).Take(held.Count - Capacity))
        {
            if (!slot.Gate.Wait(0)) continue; // in use: it is not the least recently used for long
            slot.Engine = null;
            slot.Gate.Release();
        }
    }
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

    /// <summary>Keeps the engine, which has applied exactly <paramref name="version"/> commands of the log.</summary>
    public void Keep(Simulation engine, long version)
    {
        _slot.Engine = engine;
        _slot.Version = version;
    }

    /// <summary>Drops the engine: it may hold changes that were not persisted. The next request rebuilds it.</summary>
    public void Drop() => _slot.Engine = null;

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
        services.AddSingleton<SimulationEngines>().AddScoped<LiveSimulations>();
}
