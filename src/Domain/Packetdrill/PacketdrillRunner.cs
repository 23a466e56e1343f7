using System.Collections.Immutable;
using System.Globalization;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Packetdrill;

/// <summary>
/// Runs a packetdrill script against one simulated Linux host (the device under test, "local")
/// wired with no delay to a scripted peer ("remote") that sends the script's inbound segments —
/// the tun device of real packetdrill, in virtual time. Semantics follow packetdrill's run.c,
/// run_packet.c and run_system_call.c: events in order, relative times anchored on the previous
/// event as it happened, outbound segments checked one by one in the order the kernel sent them
/// (sequence numbers relative to the kernel's ISN, inbound ones literal, acks mapped both ways),
/// blocking calls returning in the background, and the first failure ending the run.
/// </summary>
public sealed partial class PacketdrillRunner
{
    /// <summary>The scripted peer's host name.</summary>
    public const string RemoteHost = "remote";
    /// <summary>The host under test.</summary>
    public const string LocalHost = "local";
    /// <summary>The process making the script's calls.</summary>
    public const string Process = "packetdrill";
    /// <summary>packetdrill's default port: bind() and connect() with "..." addresses use 8080.</summary>
    public const ushort ScriptPort = 8080;
    /// <summary>The remote port of connections the scripted peer opens (packetdrill picks one; scripts never see it).</summary>
    public const ushort RemoteEphemeralPort = 47000;
    /// <summary>How long past an expected time the runner waits for an outbound packet or a blocked call.</summary>
    static readonly SimDuration WaitHorizon = SimDuration.FromSeconds(3600);

    readonly PacketdrillScript _script;
    readonly PacketdrillOptions _options;
    readonly Simulation _sim;
    readonly List<SimCommand> _commands = [];
    readonly List<string> _log = [];
    readonly SimDuration _tolerance;
    PacketdrillFailure? _failure;
    /// <summary>Record mode's notebook (null when the script's outbound segments and results are checked).</summary>
    readonly ScriptRecorder? _recorder;
    long _eventsProcessed;
    /// <summary>The script event being run (the last one once all ran): where a spent event budget is reported.</summary>
    ScriptEvent? _event;
    /// <summary>The line of the script event being run when the run left what the engine models (<see cref="Simulation.LeftModel"/>).</summary>
    int? _leftModelLine;
    bool _budgetSpent;
    SimTime _anchor = SimTime.Zero;

    PacketdrillRunner(PacketdrillScript script, PacketdrillOptions options)
    {
        _script = script;
        _options = options;
        _tolerance = SimDuration.FromMicroseconds(options.ToleranceUsecs);
        _sim = new Simulation(options.Profile, options.Seed)
        {
            JournalLevel = JournalLevel.Full, Interruption = options.Interruption, Turn = options.Turn, EngineRules = options.EngineRules,
        };
        _recorder = options.Record ? new ScriptRecorder() : null;
    }

    /// <summary>Reads and runs a script: the domain entry point the API and the CLI call.</summary>
    public static PacketdrillRunResult Run(string text, PacketdrillOptions? options = null)
    {
        options ??= new PacketdrillOptions();
        var parsed = ScriptParser.Parse(text, options.Interruption);
        if (parsed.Script is not { } script) return Refused(parsed.Errors);
        return Run(script, options);
    }

    /// <summary>Runs a parsed script; unsupported constructs refuse the whole run, with their positions.</summary>
    public static PacketdrillRunResult Run(PacketdrillScript script, PacketdrillOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        options ??= new PacketdrillOptions();
        var (effective, problems) = ScriptSupport.Check(script, options);
        if (!problems.IsEmpty) return Refused(problems);
        return new PacketdrillRunner(script, effective).Execute();
    }

    static PacketdrillRunResult Refused(ImmutableArray<ScriptDiagnostic> diagnostics) => new(diagnostics, null, null, [], []);

    PacketdrillRunResult Execute()
    {
        SetUp();
        bool journalPassed = false;
        foreach (var ev in _script.Events)
        {
            // Lines that make no event (a million getsockopt()s) stop at the caller's limit too, not only between two events.
            _sim.Interruption.ThrowIfCancellationRequested();
            _event = ev;
            if (!RunEvent(ev)) break;
            // Past the caller's journal limit the run is refused whatever follows (tester34 LOW-3: a 60,000-line script ran
            // whole, then was refused): its commands so far reach the limit when replayed.
            journalPassed = _sim.Sink.Appended > _options.JournalLimit;
            if (journalPassed) break;
        }
        if (_failure is null && !journalPassed) FinishPendingCall();
        // Record mode runs on one tolerance past the last event, as the kernel runner waits for what is still on its way.
        if (_recorder is not null && _failure is null && !journalPassed) RunTo(_sim.Now + _tolerance);
        return new PacketdrillRunResult([], _failure, _sim, [.. _commands], [.. _log])
        {
            Recording = _recorder?.Events ?? [], EventBudgetSpent = _budgetSpent, JournalLimitPassed = journalPassed,
            LeftModel = _sim.LeftModel is { } departure ? new($"line {_leftModelLine}", departure.ToString()) : null,
        };
    }

    /// <summary>The two hosts and the zero-delay link; the local host gets packetdrill's defaults.sh values first.</summary>
    void SetUp()
    {
        Apply(new AddHostCommand(LocalHost, _options.LocalIp, HostKind.Linux, []));
        Apply(new AddHostCommand(RemoteHost, _options.RemoteIp, HostKind.Scripted, []));
        Apply(new AddLinkCommand(LocalHost, RemoteHost, SimDuration.Zero, 0));
    }

    bool RunEvent(ScriptEvent ev) => ev switch
    {
        PacketEvent { Direction: PacketDirection.Inbound } p => Inbound(p),
        PacketEvent p when _recorder is not null => Fail(p, "error handling packet: ", "record mode records outbound packets; the script states none", "", ""),
        PacketEvent p => Outbound(p),
        SyscallEvent s => Syscall(s),
        ShellEvent c => Shell(c),
        CodeEvent c => Code(c),
        _ => throw new InvalidOperationException($"unknown event {ev.GetType().Name}"),
    };

    // ---- time ---------------------------------------------------------------------------------

    /// <summary>An event's script start time: absolute as written, relative to the anchor (the previous event as it happened).</summary>
    SimTime StartOf(EventTime t) => t.Kind switch
    {
        EventTimeKind.Absolute or EventTimeKind.AbsoluteRange => new SimTime(t.StartUs * 1_000),
        EventTimeKind.Relative or EventTimeKind.RelativeRange => _anchor + SimDuration.FromMicroseconds(t.StartUs),
        _ => _sim.Now,
    };

    SimTime EndOf(EventTime t) => t.Kind switch
    {
        EventTimeKind.AbsoluteRange => new SimTime(t.EndUs * 1_000),
        EventTimeKind.RelativeRange => _anchor + SimDuration.FromMicroseconds(t.EndUs),
        _ => StartOf(t),
    };

    /// <summary>
    /// Models verify_time() of packetdrill's run.c: a time within the tolerance of the script's, or
    /// within a range widened by it; <c>*</c> matches any time. Null when it holds, else the message.
    /// </summary>
    string? VerifyTime(EventTime kind, SimTime expected, SimTime expectedEnd, SimTime actual, string description)
    {
        if (kind.Kind == EventTimeKind.Any) return null;
        if (kind.Kind is EventTimeKind.AbsoluteRange or EventTimeKind.RelativeRange)
        {
            if (actual >= expected - _tolerance && actual <= expectedEnd + _tolerance) return null;
            return $"timing error: expected {description} in time range {Secs(expected)} ~ {Secs(expectedEnd)} sec, but happened at {Secs(actual)} sec";
        }
        if (actual >= expected - _tolerance && actual <= expected + _tolerance) return null;
        return $"timing error: expected {description} at {Secs(expected)} sec but happened at {Secs(actual)} sec; tolerance {Secs(new SimTime(_tolerance.Ns))} sec";
    }

    /// <summary>
    /// Models wait_for_event() → check_event_time() of packetdrill's run.c for an event it starts (an inbound packet, a
    /// system call, a command, a code block): at an absolute time the run is already past by more than the tolerance —
    /// an earlier event took the clock beyond it (a relative one, a blocking call, a late outbound packet) — the event runs
    /// at once and verify_time() stops the script at its line. get_next_event() only refuses an absolute time before
    /// the time of an absolute event right before it ("time goes backward in script"), so an absolute time after a
    /// relative event gets here. A relative time is anchored on the previous event as it happened, so never late.
    /// </summary>
    bool StartsOnTime(ScriptEvent ev, SimTime start, string description)
    {
        // An absolute range (0.1~0.2) is late only past its end: verify_time() gets time_usecs_end.
        if (!ev.Time.IsAbsolute) return true;
        var end = EndOf(ev.Time);
        if (_sim.Now <= end + _tolerance) return true;
        return Fail(ev, "", VerifyTime(ev.Time, start, end, _sim.Now, description)!, Secs(start), Secs(_sim.Now));
    }

    /// <summary>Seconds with microseconds, as packetdrill prints times (%.6f).</summary>
    internal static string Secs(SimTime t) => (t.Ns / 1e9).ToString("F6", CultureInfo.InvariantCulture);

    /// <summary>Processes every engine event due at or before <paramref name="until"/> (never moving the clock back).</summary>
    void RunTo(SimTime until)
    {
        if (until < _sim.Now) return;
        // A poll() asleep on several descriptors is woken by whichever event makes one ready, or by its timeout:
        // the clock goes one due time (or the timeout) at a time while it sleeps.
        CheckPollWait(); // what the last command did (an injected segment, a call) may have woken it already
        while (_pollWait is { } w && _failure is null)
        {
            var step = w.Deadline < until ? w.Deadline : until;
            if (_sim.NextEventTime is { } next && next < step) step = next;
            AdvanceTo(step);
            CheckPollWait();
            if (step == until) break;
        }
        AdvanceTo(until);
        CheckPendingCall();
        RecordOutbound();
    }

    void AdvanceTo(SimTime until)
    {
        if (until < _sim.Now) return;
        long left = _options.EventBudget - _eventsProcessed;
        if (left <= 0 && _sim.NextEventTime is { } due && due <= until)
        {
            BudgetSpent(until);
            return;
        }
        var outcome = Apply(new AdvanceCommand(AdvanceMode.To, new SimDuration(until.Ns), Math.Max(1, left)));
        if (outcome.Advance is { Truncated: true }) BudgetSpent(until);
    }

    /// <summary>
    /// The budget ran out with events still due by <paramref name="until"/>: the run stops at the line being run, since
    /// what follows would be checked against a simulation that never got there.
    /// </summary>
    void BudgetSpent(SimTime until)
    {
        if (_failure is not null || _event is not { } ev) return;
        _budgetSpent = true;
        Fail(ev, "", $"the event budget of {_options.EventBudget} events was spent at {Secs(_sim.Now)} sec, before {Secs(until)} sec: the run stopped there",
            $"the events due by {Secs(until)} sec processed", $"the event budget of {_options.EventBudget} events spent at {Secs(_sim.Now)} sec");
    }

    /// <summary>Runs the engine one due time at a time until <paramref name="done"/> holds, nothing is pending, or the horizon passes.</summary>
    bool RunUntil(Func<bool> done, SimTime horizon)
    {
        while (!done())
        {
            if (_failure is not null) return false;
            if (_sim.NextEventTime is not { } next || next > horizon || _eventsProcessed >= _options.EventBudget) return false;
            RunTo(next);
        }
        return true;
    }

    /// <summary>
    /// Applies one command, counting against the budget every event it ran: an advance's, and those a call or an injected
    /// segment ran at its own instant (<see cref="EngineRules.SameInstant"/>). A call that takes the count past the budget
    /// stops the run at its line, as an advance that ran out does.
    /// </summary>
    CommandOutcome Apply(SimCommand command)
    {
        long before = _sim.EventsProcessed;
        var outcome = CommandApplier.Apply(_sim, command);
        _eventsProcessed += _sim.EventsProcessed - before;
        if (outcome.IsOk) _commands.Add(command);
        if (_sim.LeftModel is not null) _leftModelLine ??= _event?.At.Line ?? 0;
        if (command is not AdvanceCommand && _eventsProcessed > _options.EventBudget) BudgetSpent(_sim.Now);
        return outcome;
    }

    bool Fail(ScriptEvent ev, string kind, string error, string expected, string actual)
    {
        if (_failure is not null) return false;
        var message = $"{_options.ScriptName}:{ev.At.Line}: {kind}{error}";
        _failure = new PacketdrillFailure(ev.At.Line, ev.At.Column, message, expected, actual, _sim.Now);
        return false;
    }
}
