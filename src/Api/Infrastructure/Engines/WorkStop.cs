namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// The token heavy work runs under (<see cref="SimulationEngines.StopFor"/>): its request's (the wall-time limit, the
/// client leaving), the deletion of the simulation it works on, and the process stopping (SIGTERM) — heavy work is not
/// started, and heavy work running stops at its next event, once the service is stopping; light commands are left to
/// finish within the shutdown timeout. Disposing it stops watching.
/// </summary>
public sealed class WorkStop : IDisposable
{
    private readonly CancellationToken _request, _stopping;
    private readonly SimulationEngines.Slot? _watched;
    private readonly CancellationTokenSource _linked;

    internal WorkStop(CancellationToken request, SimulationEngines.Slot? watched, CancellationToken stopping)
    {
        (_request, _watched, _stopping) = (request, watched, stopping);
        _linked = watched is null
            ? CancellationTokenSource.CreateLinkedTokenSource(request, stopping)
            : CancellationTokenSource.CreateLinkedTokenSource(request, watched.Deleted.Token, stopping);
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>
    /// After the work was cancelled: why, as the request's answer — the simulation was deleted (404), the service is
    /// stopping (503, <see cref="ServiceStopping"/>) — or null when it was the request's own token (its wall-time limit
    /// or its client gone), which the framework answers.
    /// </summary>
    public Failure? Reason(Guid? simulationId)
    {
        if (_request.IsCancellationRequested || !_linked.IsCancellationRequested) return null;
        if (_watched is { } slot && slot.Deleted.IsCancellationRequested) return new SimulationNotFound(simulationId!.Value);
        return _stopping.IsCancellationRequested ? new ServiceStopping(simulationId) : null;
    }

    public void Dispose()
    {
        _linked.Dispose();
        if (_watched is { } slot)
            lock (slot)
                slot.Watchers--;
    }
}
