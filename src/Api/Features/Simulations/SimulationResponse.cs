using SimService.Persistence.Entities;

namespace SimService.Api.Features.Simulations;

/// <param name="Profile">Kernel profile: "linux-6" or "linux-4.4".</param>
/// <param name="CreatedAt">Wall-clock creation time (UTC); the simulation's own clock is virtual.</param>
public sealed record SimulationResponse(Guid Id, string Name, string Profile, long Seed, DateTimeOffset CreatedAt)
{
    public static SimulationResponse From(SimulationRun run) =>
        new(run.Id, run.Name, run.Profile, run.Seed, run.CreatedAt);
}
