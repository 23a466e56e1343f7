using SimService.Api.Infrastructure.Hardening;
using SimService.Domain.Engine;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// Reads as heavy as a stored simulation's log — a replay, a look back in time (time series, past socket table), an export
/// — all run the same way: their engine work on an engine thread in one of the tenant's heavy slots, in turns with the
/// tenant's other heavy work (<see cref="EngineThreads"/>), under their request's token (the endpoint's
/// <see cref="HardeningSetup.HeavyPolicy"/>, <c>Limits:HeavySeconds</c>: a 422 once the work ran past it, a 429 busy while
/// it still waited for a slot; and the client leaving), and cancelled by a DELETE of the simulation (a 404) or the service
/// stopping (a 503) (<see cref="WorkStop"/>).
/// </summary>
public sealed class HeavyReads(SimulationEngines engines, EngineThreads threads)
{
    /// <summary>
    /// Runs <paramref name="read"/> (its database reads and its <see cref="HeavyRead.OnEngineAsync{T}"/> work) under the
    /// simulation's <see cref="WorkStop"/>; cancelled by the deletion or the stop, it is answered as that (404, 503).
    /// </summary>
    public async Task<Outcome<T>> RunAsync<T>(Guid simulationId, Func<HeavyRead, Task<Outcome<T>>> read, CancellationToken cancellationToken)
    {
        // Taken before the simulation is read: a delete after it cancels the work, one before it is the read's 404.
        using var stop = engines.StopFor(simulationId, cancellationToken);
        try
        {
            return await read(new HeavyRead(threads, stop.Token));
        }
        catch (OperationCanceledException) when (stop.Reason(simulationId) is { } reason)
        {
            return reason;
        }
    }
}

/// <summary>One heavy read: the token that stops it (its request, the simulation's deletion, the service stopping) and its engine work.</summary>
public readonly struct HeavyRead(EngineThreads threads, CancellationToken token)
{
    public CancellationToken Token => token;

    /// <summary>
    /// Runs <paramref name="work"/> on an engine thread in one of <paramref name="tenant"/>'s heavy slots (the request waits
    /// for it, then runs: <see cref="RequestWork.Tracked{T}"/>). The work gets the token to stop at and the slot's turn,
    /// which it sets on the engine it runs (<see cref="Simulation.Interruption"/>, <see cref="Simulation.Turn"/>).
    /// </summary>
    public Task<T> OnEngineAsync<T>(string? tenant, Func<CancellationToken, EngineTurn?, T> work)
    {
        var stop = token;
        return threads.RunAsync(RequestWork.Tracked(true, turn => work(stop, turn)), heavy: true, stop, tenant);
    }
}
