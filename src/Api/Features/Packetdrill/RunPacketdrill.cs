using Mediator;
using SimService.Api.Features.Clock;
using SimService.Api.Features.Scenarios;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Infrastructure.Hardening;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Features.Packetdrill;

/// <summary>Where and why the script failed, as packetdrill reports it.</summary>
/// <param name="Line">The script line of the event that failed.</param>
/// <param name="Column">Where that event starts on its line.</param>
/// <param name="Message">packetdrill's own message ("script.pkt:12: error handling packet: timing error: …"), with the script and actual packets.</param>
/// <param name="Expected">What the line expected.</param>
/// <param name="Actual">What the simulated kernel did.</param>
/// <param name="AtNs">Virtual time of the failure.</param>
public sealed record PacketdrillFailureView(int Line, int Column, string Message, string Expected, string Actual, long AtNs);

/// <param name="Passed">Every event of the script held.</param>
/// <param name="SimulationId">The simulation the run made: its journal, pcap, ss listings and /proc files are one request away.</param>
/// <param name="Checks">As in a scenario run: empty when the script passed, else the failed check (kind "packetdrill", path "line N").</param>
/// <param name="Errors">As in a scenario run: what went wrong other than a failed check — the run left what the engine models,
/// at the script line that was running ("line 8"; then <c>passed</c> is false and <c>leftModel</c> says where).</param>
/// <param name="Journal">Where the run's journal is.</param>
/// <param name="JournalEvents">Events in the journal.</param>
/// <param name="NowNs">Virtual time at the end of the run.</param>
/// <param name="Failure">The failure, with packetdrill's message; null when the script passed.</param>
/// <param name="Output">What packetdrill would print on stderr (empty when the script passed).</param>
/// <param name="Log">One line per event as it happened: time, script line, the call and its result or the segment.</param>
public sealed record PacketdrillRunResponse(bool Passed, Guid SimulationId, IReadOnlyList<CheckView> Checks, IReadOnlyList<RunErrorView> Errors,
    string Journal, long JournalEvents, long NowNs, PacketdrillFailureView? Failure, string Output, IReadOnlyList<string> Log) : LeftModelAnswer;

/// <summary>Runs a packetdrill script against a simulated host and keeps the run as a simulation.</summary>
public sealed record RunPacketdrill(string Script, KernelProfile Profile, long Seed, PacketdrillOptions Options, string Name)
    : ICommand<Outcome<PacketdrillRunResponse>>;

public sealed class RunPacketdrillHandler(SimDbContext db, SimulationEngines engines, EngineThreads threads, TenantQuotas quotas, TimeProvider clock)
    : ICommandHandler<RunPacketdrill, Outcome<PacketdrillRunResponse>>
{
    public async ValueTask<Outcome<PacketdrillRunResponse>> Handle(RunPacketdrill command, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        var run = new SimulationRun
        {
            TenantId = db.TenantId,
            Id = Guid.CreateVersion7(now),
            Name = command.Name,
            Profile = command.Profile.ToWireName(),
            Seed = command.Seed,
            EngineRules = EngineRules.Current,
            CreatedAt = now,
        };
        // The request's wall-time limit (and its client leaving) stops the run between events, as for every command, and so
        // does the service stopping (WorkStop: a 503, nothing stored). On an engine thread, heavy from its start, in turns
        // with other heavy work (EngineThreads).
        PacketdrillRunResult result;
        CommandBatch batch;
        using (var stop = engines.StopFor(null, cancellationToken))
            try
            {
                result = await threads.RunAsync(RequestWork.Tracked(true, turn => PacketdrillRunner.Run(command.Script, command.Options with
                {
                    Profile = command.Profile, Seed = command.Seed, ScriptName = command.Name, Interruption = stop.Token, Turn = turn,
                    EngineRules = run.EngineRules, JournalLimit = engines.JournalEventsPerRequest,
                })), heavy: true, stop.Token, db.TenantId);
                if (result.Simulation is null)
                    return new ScriptRefused([.. result.Diagnostics.Select(d => ($"line {d.At.Line}, column {d.At.Column}", (d.Unsupported ? "unsupported: " : "") + d.Message))]);
                // The run is an ordinary command log: replayed on a fresh engine it makes the same journal, and that
                // engine is the one kept, so a rebuild after a restart lands on the same state.
                batch = new CommandBatch(run.Id, new Simulation(command.Profile, command.Seed) { Interruption = stop.Token, EngineRules = run.EngineRules }, 0,
                    engines.JournalEventsPerRequest, engines.JournalPageEvents, CommandApplier.SameInstantBudget);
                await threads.RunAsync(RequestWork.Tracked(true, turn =>
                {
                    batch.Engine.Turn = turn;
                    // A command that fills the request's journal limit stops the replay: the commands after it are not
                    // recorded, so their engine would disagree with the stored log (the run is refused below).
                    foreach (var c in result.Commands)
                    {
                        batch.Apply(c);
                        if (batch.WorkLimitReached) break;
                    }
                    return true;
                }), heavy: true, stop.Token, db.TenantId);
            }
            catch (OperationCanceledException) when (stop.Reason(null) is { } reason)
            {
                return reason;
            }
        // A run whose log would add more journal events than one request may is refused whole, as any command is
        // (LiveSimulations): nothing stored. It was answered 200 with the log cut at the limit and the engine kept beyond it;
        // and, when the limit cut its last advance (which a request of its own would apply, truncated: CommandBatch.Cut), 200
        // with the log and the engine cut there, while its result came from the whole script.
        if (batch.Cut is { } cut) return WorkLimitExceeded.RunJournalFull("script", batch.MaxJournalEvents, cut.ToString());
        // The run stopped once its journal passed the limit (the rest of the script not run): its commands reach the limit
        // again above; should they not, the run is refused all the same.
        if (batch.WorkLimitReached || result.JournalLimitPassed)
            return WorkLimitExceeded.RunJournalFull("script", batch.MaxJournalEvents, $"the journal limit stopped the run at {batch.Engine.Now}");
        if (await quotas.SaveNewAsync(db, batch.Engine, batch.Events, () =>
            {
                db.Simulations.Add(run);
                run.Version = batch.Version;
                run.JournalBytes = TenantQuotas.Bytes(batch.Events);
                db.Commands.AddRange(batch.Commands);
                db.Events.AddRange(batch.Events);
                return db.SaveChangesAsync(cancellationToken);
            }, cancellationToken) is { } quota) return quota;
        var engine = batch.Engine;
        (engine.Interruption, engine.Turn) = (default, null);
        using (var lease = await engines.AcquireAsync(run.Id, cancellationToken)) lease.Keep(engine, run.Version, run);

        var failure = result.Failure is { } f
            ? new PacketdrillFailureView(f.Line, f.Column, f.Message, f.Expected, f.Actual, f.At.Ns)
            : null;
        IReadOnlyList<CheckView> checks = failure is null
            ? []
            : [new CheckView(false, "packetdrill", $"line {failure.Line}", failure.Expected, failure.Actual, result.Failure!.At.ToString(), failure.AtNs)];
        IReadOnlyList<RunErrorView> errors = result.LeftModel is { } left ? [new RunErrorView(left.Path, left.Message)] : [];
        return new PacketdrillRunResponse(result.Passed, run.Id, checks, errors, $"/api/v1/simulations/{run.Id}/journal", engine.Journal.Count,
            engine.Now.Ns, failure, result.Output, result.Log) { LeftModel = LeftModelResponse.Of(engine) };
    }
}
