using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Scenarios;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// Builds a simulation from its stored inputs on a fresh engine: the profile and seed, the scenario it was
/// made from (if any), then every command of the log, in order, through <see cref="CommandApplier"/> — all under the engine
/// rules the row keeps (<see cref="SimulationRun.EngineRules"/>), so a log rebuilds under the rules it was recorded with.
/// </summary>
public static class SimulationReplay
{
    /// <summary>A fresh engine with the simulation's inputs before its first command.</summary>
    /// <param name="interruption">Stops the scenario a simulation was made from, between events.</param>
    /// <param name="turn">The heavy slot's turn (<see cref="EngineThreads"/>): the engine passes it while other heavy work waits.</param>
    /// <param name="attach">Called with the engine before anything runs on it (observers of a look back in time).</param>
    public static Simulation Start(SimulationRun run, CancellationToken interruption = default, Action<Simulation>? attach = null,
        EngineTurn? turn = null)
    {
        if (run.ScenarioJson is not { } json)
        {
            var sim = new Simulation(ProfileOf(run), run.Seed) { EngineRules = run.EngineRules, RebuildingStored = true };
            attach?.Invoke(sim);
            return sim;
        }
        var parsed = ScenarioParser.ParseStored(json);
        return parsed.Document is { } document
            ? ScenarioRunner.Run(document, ScenarioRunOptionsFor(interruption, turn, run.EngineRules) with { Attach = Stored(attach) }).Simulation
            : throw new InvalidOperationException($"The stored scenario of simulation {run.Id} no longer parses: {parsed.Errors[0]}");
    }

    /// <summary>Marks the engine as rebuilt from stored inputs (<see cref="Simulation.RebuildingStored"/>) before <paramref name="attach"/>.</summary>
    static Action<Simulation> Stored(Action<Simulation>? attach) => sim =>
    {
        sim.RebuildingStored = true;
        attach?.Invoke(sim);
    };

    /// <summary>Applies one logged command; the outcome says whether the engine accepted it again.</summary>
    public static CommandOutcome Apply(Simulation engine, CommandRecord record) =>
        CommandApplier.Apply(engine, CommandTypeMap.FromPayload(record.Type, record.PayloadJson));

    /// <summary>
    /// The limits a stored scenario runs with: the same budget it was first run with, the caller's interruption and turn,
    /// and the simulation's engine rules.
    /// </summary>
    public static ScenarioRunOptions ScenarioRunOptionsFor(CancellationToken interruption, EngineTurn? turn, int engineRules) =>
        new() { Interruption = interruption, Turn = turn, EngineRules = engineRules };

    /// <summary>Rebuilds the engine; a logged command the engine refuses now means replay is broken, a bug.</summary>
    /// <param name="interruption">Stops the rebuild between events; the half-built engine is then thrown away.</param>
    /// <param name="turn">The heavy slot's turn, passed between events while other heavy work waits; the rebuilt engine keeps none.</param>
    public static Simulation Rebuild(SimulationRun run, IEnumerable<CommandRecord> log, CancellationToken interruption = default,
        Action<Simulation>? attach = null, EngineTurn? turn = null)
    {
        var engine = Start(run, interruption, attach, turn);
        engine.Interruption = interruption;
        engine.Turn = turn;
        CatchUp(engine, run.Id, log);
        engine.Interruption = default;
        engine.Turn = null;
        return engine;
    }

    /// <summary>Applies commands another process appended since this engine last saw the log.</summary>
    public static void CatchUp(Simulation engine, Guid simulationId, IEnumerable<CommandRecord> log)
    {
        engine.RebuildingStored = true;
        try
        {
            foreach (var record in log)
            {
                engine.BetweenSteps();
                var outcome = Apply(engine, record);
                if (!outcome.IsOk)
                    throw new InvalidOperationException(
                        $"Command {record.Seq} of simulation {simulationId} was refused on replay: {outcome.Error!.Message}");
            }
        }
        finally
        {
            engine.RebuildingStored = false;
        }
    }

    public static KernelProfile ProfileOf(SimulationRun run) => KernelProfiles.TryParse(run.Profile, out var profile)
        ? profile
        : throw new InvalidOperationException($"Simulation {run.Id} has an unknown kernel profile '{run.Profile}'.");
}
