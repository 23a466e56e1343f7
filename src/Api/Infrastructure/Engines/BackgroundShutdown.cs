using SimService.Persistence;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// The end of the host's stop, once the server has stopped serving requests (<see cref="StoppedAsync"/>, after every
/// hosted service's stop): the work that outlives requests stops — the rebuilds (<see cref="SimulationEngines.StopRebuildsAsync"/>)
/// and the command log writer's background work (<see cref="CommandLogWriter.CloseAsync"/>: the transaction being written
/// is awaited, no page, clean-up or purge starts after) — each awaited for a bounded time, and no longer than the host's
/// <c>ShutdownTimeout</c> allows (its token). When the host's stop returns (within that timeout),
/// nothing of the service touches the database any more (a test host's SQLite folder can be deleted; a process can exit
/// without a write in flight). Both stops are idempotent: a second stop of the host (the test host's and the
/// application's own) waits for the same.
/// </summary>
internal sealed class BackgroundShutdown(SimulationEngines engines, CommandLogWriter log) : IHostedLifecycleService
{
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        // Each wait is bounded (10 s) and all of them also by the host's ShutdownTimeout (cancellationToken): past it the
        // rebuilds are stopped and the writer closed all the same, only no longer awaited, and the host's stop goes on.
        const ConfigureAwaitOptions GoOn = ConfigureAwaitOptions.SuppressThrowing;
        await engines.StopRebuildsAsync().WaitAsync(cancellationToken).ConfigureAwait(GoOn); // a rebuild only reads; the writer may still commit what was queued
        await log.CloseAsync().WaitAsync(cancellationToken).ConfigureAwait(GoOn);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
