using System.ComponentModel.DataAnnotations;
using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Simulations;

/// <summary>Every field is optional: <c>{}</c> (or no body at all) creates a linux-6 simulation with seed 0 and a generated name.</summary>
public sealed record CreateSimulationRequest
{
    /// <summary>A label for people; default "simulation-" and 8 hex digits of the id.</summary>
    /// <example>close-wait demo</example>
    [CharacterLength(SimulationRun.NameMaxLength, MinimumLength = 1)]
    [RegularExpression(@"[\s\S]*\S[\s\S]*", ErrorMessage = "The name must not be blank.")]
    [NoControlCharacters]
    public string? Name { get; init; }

    /// <summary>The kernel whose rules the simulation follows: "linux-6" (default) or "linux-4.4".</summary>
    /// <example>linux-6</example>
    [KernelProfileName]
    public string? Profile { get; init; }

    /// <summary>Seeds the simulation's random source (initial sequence numbers, link loss); default 0.</summary>
    /// <example>42</example>
    [Int64Range(0, long.MaxValue, ErrorMessage = "The seed must be zero or positive.")]
    public long? Seed { get; init; }

    public const string DefaultProfile = "linux-6";

    /// <summary>Called only after validation has passed, so every field given is valid.</summary>
    public CreateSimulation ToCommand() => KernelProfiles.TryParse(Profile ?? DefaultProfile, out var profile)
        ? new CreateSimulation(Name, profile, Seed ?? 0)
        : throw new InvalidOperationException("ToCommand was called on a request that did not pass validation.");
}

/// <param name="Name">Null: a name is made from the id.</param>
public sealed record CreateSimulation(string? Name, KernelProfile Profile, long Seed) : ICommand<Outcome<SimulationResponse>>;

public sealed class CreateSimulationHandler(SimDbContext db, TenantQuotas quotas, TimeProvider clock)
    : ICommandHandler<CreateSimulation, Outcome<SimulationResponse>>
{
    public async ValueTask<Outcome<SimulationResponse>> Handle(CreateSimulation command, CancellationToken cancellationToken)
    {
        // Microseconds are what PostgreSQL keeps: the response then equals what a later read returns.
        var now = clock.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        // Version 7: ids sort by creation time. Ids are wall-clock metadata, not simulation state.
        var id = Guid.CreateVersion7(now);
        var run = new SimulationRun
        {
            TenantId = db.TenantId,
            Id = id,
            // The last hex digits of a version 7 id are random: two simulations made in the same millisecond differ.
            Name = command.Name ?? "simulation-" + id.ToString("N")[^8..],
            Profile = command.Profile.ToWireName(),
            Seed = command.Seed,
            EngineRules = EngineRules.Current,
            CreatedAt = now,
        };
        if (await quotas.SaveNewAsync(db, null, [], () =>
            {
                db.Simulations.Add(run);
                return db.SaveChangesAsync(cancellationToken);
            }, cancellationToken) is { } quota) return quota;
        return SimulationResponse.From(run);
    }
}
