using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Domain.Engine;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Simulations;

public sealed record CreateSimulationRequest
{
    [Required, StringLength(SimulationRun.NameMaxLength, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>"linux-6" or "linux-4.4".</summary>
    [Required, KernelProfileName]
    public string? Profile { get; init; }

    /// <summary>Seeds the simulation's random source (initial sequence numbers, link loss).</summary>
    [Required, Range(0, long.MaxValue, ErrorMessage = "The seed must be zero or positive.")]
    public long? Seed { get; init; }

    /// <summary>Called only after validation has passed, so every field is present and valid.</summary>
    public CreateSimulation ToCommand() => KernelProfiles.TryParse(Profile, out var profile)
        ? new CreateSimulation(Name!, profile, Seed!.Value)
        : throw new InvalidOperationException("ToCommand was called on a request that did not pass validation.");
}

public sealed record CreateSimulation(string Name, KernelProfile Profile, long Seed) : ICommand<SimulationResponse>;

public sealed class CreateSimulationHandler(SimDbContext db, TimeProvider clock)
    : ICommandHandler<CreateSimulation, SimulationResponse>
{
    public async ValueTask<SimulationResponse> Handle(CreateSimulation command, CancellationToken cancellationToken)
    {
        // Microseconds are what PostgreSQL keeps: the response then equals what a later read returns.
        var now = clock.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        var run = new SimulationRun
        {
            // Version 7: ids sort by creation time. Ids are wall-clock metadata, not simulation state.
            Id = Guid.CreateVersion7(now),
            Name = command.Name,
            Profile = command.Profile.ToWireName(),
            Seed = command.Seed,
            CreatedAt = now,
        };
        db.Simulations.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        return SimulationResponse.From(run);
    }
}
