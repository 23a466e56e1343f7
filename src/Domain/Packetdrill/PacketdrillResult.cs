using System.Collections.Immutable;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Packetdrill;

/// <summary>
/// Where and why a script failed, as packetdrill reports it: the script line, the message
/// packetdrill would print ("script.pkt:12: error handling packet: timing error: expected outbound
/// packet at 0.100000 sec but happened at 0.300000 sec; tolerance 0.004000 sec"), what the line
/// expected and what the simulated kernel did, and the virtual time.
/// </summary>
public sealed record PacketdrillFailure(int Line, int Column, string Message, string Expected, string Actual, SimTime At);

/// <summary>
/// A finished (or refused) run. A script with syntax errors or unsupported constructs does not run:
/// <see cref="Diagnostics"/> lists them with line and column and <see cref="Simulation"/> is null.
/// Otherwise the run stops at the first failure, as packetdrill does.
/// </summary>
public sealed record PacketdrillRunResult(
    ImmutableArray<ScriptDiagnostic> Diagnostics,
    PacketdrillFailure? Failure,
    Simulation? Simulation,
    /// <summary>The command log of the run: replayed on a fresh engine with the same profile and seed it makes the same journal.</summary>
    ImmutableArray<SimCommand> Commands,
    ImmutableArray<string> Log)
{
    /// <summary>What a record-mode run saw (<see cref="PacketdrillOptions.Record"/>); empty otherwise.</summary>
    public IReadOnlyList<RecordedEvent> Recording { get; init; } = [];

    /// <summary>The run stopped because it spent <see cref="PacketdrillOptions.EventBudget"/> (<see cref="Failure"/> says at which line).</summary>
    public bool EventBudgetSpent { get; init; }

    /// <summary>
    /// The run stopped after the event that took the journal past <see cref="PacketdrillOptions.JournalLimit"/>: the rest of
    /// the script did not run, and the result is not the script's.
    /// </summary>
    public bool JournalLimitPassed { get; init; }

    /// <summary>
    /// Where the run left what the engine models (<see cref="Engine.Simulation.LeftModel"/>), at the line of the script event
    /// that was running ("line 8"), as a scenario's run error says it: the run does not pass, whatever its lines held, since
    /// the kernel's packets may differ from there on (tester41 MEDIUM-4, LOW-3). Null while it did not.
    /// </summary>
    public Scenarios.ScenarioError? LeftModel { get; init; }

    /// <summary>The script ran, every event held, and the run stayed within what the engine models.</summary>
    public bool Passed => Diagnostics.IsEmpty && Failure is null && Simulation is not null && LeftModel is null;

    /// <summary>The script never ran: it did not parse or used something the simulator does not run.</summary>
    public bool Refused => Simulation is null;

    /// <summary>What packetdrill would print on stderr: the failure (or the refusals), nothing on success.</summary>
    public string Output => Failure is { } f ? f.Message
        : string.Join("\n", Diagnostics.Select(d => d.ToString()));
}
