using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// Where a run left what the engine models (<see cref="Simulation.LeftModel"/>): when, on which host and socket, the
/// docs/kernel-check.md row that describes the difference, and what the kernel does there.
/// </summary>
public sealed record ModelDeparture(SimTime At, string Host, string Socket, string Row, string What)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"the run left what the engine models at {At}: {Host} {Socket}: {What} (docs/kernel-check.md {Row}); the kernel's packets may differ from here on";
}
