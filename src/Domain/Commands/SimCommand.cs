using System.Text.Json.Serialization;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Commands;

/// <summary>
/// One entry of a simulation's command log: the source of truth. A simulation's state is a pure
/// function of (profile, seed, commands in order); replay applies the same list to a fresh engine.
/// </summary>
public abstract record SimCommand;

/// <summary>Creates a host (a Linux kernel, or a scripted packet source/sink) with sysctls applied in order.</summary>
public sealed record AddHostCommand(string Name, string Address, HostKind Kind, IReadOnlyList<KeyValuePair<string, string>> Sysctls,
    string? BehindNat = null, IReadOnlyList<string>? Addresses = null) : SimCommand
{
    /// <summary>
    /// The most further addresses a new host takes (a request's or a new scenario's <c>addresses</c>). Linux has no such
    /// limit of its own (each address is one in_ifaddr on the interface); this bounds a request's work and every segment's
    /// local-address lookup (<see cref="Network.Host.IsLocal"/>). Never asked of a stored log.
    /// </summary>
    public const int MaxAddresses = 1024;

    /// <summary>The problem of an <c>addresses</c> list longer than <see cref="MaxAddresses"/>, or null.</summary>
    public static string? TooManyAddresses(int count) =>
        count > MaxAddresses ? $"a host takes at most {MaxAddresses:N0} further addresses (got {count:N0})" : null;
}

/// <summary>Adds a NAT address that hosts can be placed behind (several clients sharing one address).</summary>
public sealed record AddNatCommand(string Name, string Address) : SimCommand;

/// <summary>Joins two hosts with a symmetric link.</summary>
/// <param name="LossBySegment">Draw the loss from what each segment is (<see cref="Network.SegmentLoss"/>, seeded with the
/// simulation's seed) rather than from the generator; left out of the log when false, so older logs read and replay as before.</param>
public sealed record AddLinkCommand(string A, string B, SimDuration Delay, double Loss,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool LossBySegment = false) : SimCommand;

/// <summary>Changes a link, both directions or only A→B; null fields are left as they are.</summary>
/// <param name="LossBySegment">Switch the whole link's loss to be drawn by segment (a fresh <see cref="Network.SegmentLoss"/>
/// seeded with the simulation's seed; already by segment: kept as it is) or back to the generator; null (left out of the log)
/// leaves it.</param>
public sealed record ChangeLinkCommand(string A, string B, bool OneDirection, SimDuration? Delay, double? Loss, bool? Blackhole,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? LossBySegment = null) : SimCommand;

/// <summary>`sysctl -w` on a host at run time.</summary>
public sealed record SetSysctlCommand(string Host, string Name, string Value) : SimCommand;

/// <summary>A system call by a process.</summary>
public sealed record SocketCallCommand(SocketCallRequest Request) : SimCommand;

/// <summary>Kills a process: its descriptors close as at exit.</summary>
public sealed record KillCommand(string Host, string Process, string Signal) : SimCommand;

/// <summary>A segment sent by a scripted host (numbers absolute, options as on the wire; null = none).</summary>
/// <param name="OptionBytes">The option bytes of its TCP header (th->doff · 4 − 20, a multiple of 4 up to 40) when they are
/// not what <paramref name="Options"/> lay out to (<see cref="Segment.OptionBytes"/>: an EOL-padded or repeated list, as a
/// packetdrill script may write); null — left out of the log — as laid out, so older logs read and replay as before.</param>
public sealed record InjectCommand(string From, ushort FromPort, string To, ushort ToPort, TcpFlags Flags, uint Seq, uint Ack, ushort Window, int Length,
    TcpOptions? Options = null, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? OptionBytes = null)
    : SimCommand;

/// <summary>How an advance is bounded.</summary>
public enum AdvanceMode
{
    /// <summary>By a duration from now.</summary>
    By,
    /// <summary>Until an absolute virtual time.</summary>
    To,
    /// <summary>Until no event is pending (never past <see cref="AdvanceCommand.Amount"/> from now).</summary>
    UntilIdle,
}

/// <summary>Moves the clock, processing events, within an event budget.</summary>
public sealed record AdvanceCommand(AdvanceMode Mode, SimDuration Amount, long EventBudget) : SimCommand;

/// <summary>
/// Starts a connection workload and, with <see cref="RunToEnd"/>, runs the clock until it is done
/// or <see cref="EventBudget"/> items were processed (then it is truncated, and later advances continue it).
/// </summary>
public sealed record WorkloadCommand(WorkloadSpec Spec, bool RunToEnd = true, long EventBudget = long.MaxValue) : SimCommand;

/// <summary>
/// What applying a command did: an error (nothing changed), a call handle, an advance result, an opened connection, or a workload's outcome.
/// A value, not an object: a socket call's outcome is returned on every call (a W6 pool makes two a connection), and as a
/// record class it was 104 B of garbage each among the sockets the pool holds (the W1–W6 notes, scale sessions 34–35).
/// </summary>
public readonly record struct CommandOutcome(DomainError? Error, CallHandle? Call = null, AdvanceResult? Advance = null, ConnectionOpened? Connection = null,
    WorkloadResult? Workload = null)
{
    public bool IsOk => Error is null;
    public static readonly CommandOutcome Ok = new((DomainError?)null);

    /// <summary>
    /// The command's own instant (<see cref="EngineRules.SameInstant"/>) ran out of the smaller budget it was applied with
    /// (<see cref="CommandApplier.Apply(Simulation, SimCommand, long)"/>: an API request's) with events still due at it:
    /// the engine is part-way through, and the caller refuses the command whole and rebuilds the engine from its log.
    /// </summary>
    public bool InstantCut { get; init; }
}

/// <summary>The one place commands meet the engine (live use and replay alike).</summary>
public static class CommandApplier
{
    public static CommandOutcome Apply(Simulation sim, SimCommand command) => Apply(sim, command, SameInstantBudget);

    /// <summary>
    /// Applies a command whose own instant may run at most <paramref name="instantBudget"/> events (at most
    /// <see cref="SameInstantBudget"/>, the rule's): past a smaller one the outcome says <see cref="CommandOutcome.InstantCut"/>,
    /// and the command must not be logged — its log entry would rebuild under the rule's budget and run on.
    /// </summary>
    public static CommandOutcome Apply(Simulation sim, SimCommand command, long instantBudget) => command switch
    {
        AddHostCommand c => AddHost(sim, c),
        AddNatCommand c => AddNat(sim, c),
        AddLinkCommand c => AddLink(sim, c),
        ChangeLinkCommand c => ChangeLink(sim, c),
        SetSysctlCommand c => FromResult(sim.SetSysctl(c.Host, c.Name, c.Value)),
        SocketCallCommand c => Call(sim, c, instantBudget),
        KillCommand c => Kill(sim, c, instantBudget),
        InjectCommand c => WithinTheInstant(sim, Inject(sim, c), instantBudget),
        AdvanceCommand c => Advance(sim, c),
        OpenConnectionCommand c => OpenConnection(sim, c),
        WorkloadCommand c => StartWorkload(sim, c),
        _ => throw new InvalidOperationException($"unknown command {command.GetType().Name}"),
    };

    /// <summary>
    /// What a command must meet as it arrives (a request's command, a new scenario document's host or step), beyond what
    /// the engine refuses: rules added after logs were stored with commands they refuse — host and NAT addresses the
    /// kernel drops as martian sources (<see cref="IPv4.NotAHostAddress"/>), process names that cannot be one path segment
    /// (<see cref="SimProcess.NameProblem"/>). Never asked of a stored log, which rebuilds and replays as it was accepted.
    /// </summary>
    public static DomainError? ArrivalProblem(SimCommand command) => command switch
    {
        AddHostCommand c => AddressProblem(c.Address, "address")
            ?? (AddHostCommand.TooManyAddresses(c.Addresses?.Count ?? 0) is { } tooMany ? DomainError.Invalid(tooMany, "addresses") : null)
            ?? (c.Addresses ?? []).Select((a, i) => AddressProblem(a, $"addresses[{i}]")).FirstOrDefault(p => p is not null),
        AddNatCommand c => AddressProblem(c.Address, "address"),
        SocketCallCommand c => ProcessProblem(c.Request.Process),
        KillCommand c => ProcessProblem(c.Process),
        _ => null,
    };

    static DomainError? AddressProblem(string text, string field) =>
        IPv4.TryParse(text, out var address) && address.NotAHostAddress() is { } why ? DomainError.Invalid(why, field) : null;

    static DomainError? ProcessProblem(string? name) => SimProcess.NameProblem(name) is { } why ? DomainError.Invalid(why, "process") : null;

    static CommandOutcome AddLink(Simulation sim, AddLinkCommand c)
    {
        var added = sim.AddLink(c.A, c.B, c.Delay, c.Loss);
        if (added.Error is null && c.LossBySegment) added.Value!.LoseBySegment(sim.Seed);
        return FromResult(added.Error);
    }

    static CommandOutcome ChangeLink(Simulation sim, ChangeLinkCommand c) =>
        FromResult(sim.ChangeLink(c.A, c.B, c.OneDirection, c.Delay, c.Loss, c.Blackhole, c.LossBySegment));

    static CommandOutcome FromResult(DomainError? error) => error is null ? CommandOutcome.Ok : new CommandOutcome(error);

    /// <summary>
    /// A host with its sysctls, all or nothing: the sysctls are validated on a scratch table
    /// first, so a refused value leaves no half-made host behind.
    /// </summary>
    static CommandOutcome AddHost(Simulation sim, AddHostCommand c)
    {
        if (!IPv4.TryParse(c.Address, out var address)) return new(DomainError.Invalid($"'{c.Address}' is not an IPv4 address", "address"));
        if (c.BehindNat is not null && sim.FindNat(c.BehindNat) is null) return new(DomainError.NotFound($"NAT '{c.BehindNat}'", "behindNat"));
        var scratch = new SysctlTable(sim.Profile);
        foreach (var (name, value) in c.Sysctls)
            if (!scratch.TrySet(name, value, out var why, sim.RebuildingStored)) return new(DomainError.Invalid(why, $"sysctls.{name}"));
        var extra = new List<IPv4>();
        for (int i = 0; i < (c.Addresses?.Count ?? 0); i++)
        {
            if (!IPv4.TryParse(c.Addresses![i], out var more)) return new(DomainError.Invalid($"'{c.Addresses[i]}' is not an IPv4 address", $"addresses[{i}]"));
            extra.Add(more);
        }
        var host = sim.AddHost(c.Name, address, c.Kind, extra);
        if (!host.IsOk) return new(host.Error);
        foreach (var (name, value) in c.Sysctls) sim.SetSysctl(c.Name, name, value);
        if (c.BehindNat is not null) sim.PlaceBehindNat(c.Name, c.BehindNat);
        return CommandOutcome.Ok;
    }

    static CommandOutcome AddNat(Simulation sim, AddNatCommand c) =>
        !IPv4.TryParse(c.Address, out var address)
            ? new(DomainError.Invalid($"'{c.Address}' is not an IPv4 address", "address"))
            : FromResult(sim.AddNat(c.Name, address).Error);

    static CommandOutcome Call(Simulation sim, SocketCallCommand c, long instantBudget)
    {
        var r = sim.Call(c.Request);
        if (!r.IsOk) return new CommandOutcome(r.Error);
        if (sim.EngineRules < EngineRules.SameInstant) return new CommandOutcome(null, r.Value);
        bool cut = RunSameInstant(sim, instantBudget);
        return new CommandOutcome(null, AfterTheInstant(sim, r.Value)) { InstantCut = cut };
    }

    /// <summary>Under <see cref="EngineRules.SameInstant"/>, an accepted command's events due at its instant run before it returns.</summary>
    static CommandOutcome WithinTheInstant(Simulation sim, CommandOutcome outcome, long instantBudget) =>
        outcome.IsOk && sim.EngineRules >= EngineRules.SameInstant && RunSameInstant(sim, instantBudget) ? outcome with { InstantCut = true } : outcome;

    /// <summary>
    /// Models the softirq a system call runs before it returns (<see cref="EngineRules.SameInstant"/>): a segment the call
    /// sends through lo goes loopback_xmit() → __netif_rx() — drivers/net/loopback.c — and the NET_RX softirq raised there
    /// runs at the rcu_read_unlock_bh() / local_bh_enable() of __dev_queue_xmit() — net/core/dev.c — still inside the call:
    /// the receiver takes the segment (tcp_v4_rcv()), and what it sends back to the caller's own socket waits in that
    /// socket's backlog until release_sock() — also before the call returns. Observed on Linux 6.18.44 (python in a fresh
    /// netns): after send() of 10 bytes on a 127.0.0.1 connection a recv(MSG_DONTWAIT) on the peer gets the 10 bytes. So
    /// every event the command left due at the current instant (a loopback segment, one over a zero-delay link, and what
    /// they cause at that instant) happens before the next command — the rule scenarios and packetdrill scripts have by
    /// running the clock to each step's time first. Bounded by <see cref="SameInstantBudget"/> events; what is left waits
    /// for the next advance. True when a smaller <paramref name="budget"/> (a caller's) stopped it with events still due.
    /// </summary>
    static bool RunSameInstant(Simulation sim, long budget) =>
        sim.RunDue(sim.Now, Math.Min(budget, SameInstantBudget), out _) && budget < SameInstantBudget;

    /// <summary>The most events one command runs at its own instant (<see cref="RunSameInstant"/>).</summary>
    public const long SameInstantBudget = 10_000_000;

    /// <summary>
    /// A blocking call as it stands once its instant has run: when those events completed it, it returned without
    /// sleeping. Models sk_wait_event() — include/net/sock.h — whose release_sock() processes the backlog (the SYN-ACK a
    /// loopback connect() got inside its own softirq) before the wait condition is tested: __inet_stream_connect() —
    /// net/ipv4/af_inet.c — then finds the socket ESTABLISHED and returns 0 at once (observed on 6.18.44: a blocking
    /// connect() to a 127.0.0.1 listener returns 0 in about 0.1 ms; a non-blocking one returns EINPROGRESS — it never
    /// waits, so it is a returned call already — and the socket is ESTABLISHED right after it).
    /// </summary>
    static CallHandle AfterTheInstant(Simulation sim, CallHandle handle) =>
        handle.Blocked && sim.ReturnedHandle(handle.CallId) is { } returned ? returned : handle;

    /// <summary>
    /// A kill under <see cref="EngineRules.SameInstant"/>: each descriptor's tcp_close() runs the events of its instant
    /// before the next one's (Simulation.Kill(), the softirq inside each ____fput()), and the last one's run here; each
    /// close's instant within the budget, as a close() call's is (a kill is as many closes as the process held descriptors).
    /// </summary>
    static CommandOutcome Kill(Simulation sim, KillCommand c, long instantBudget)
    {
        if (sim.EngineRules < EngineRules.SameInstant) return FromResult(sim.Kill(c.Host, c.Process, c.Signal));
        long budget = Math.Min(instantBudget, SameInstantBudget);
        var error = sim.Kill(c.Host, c.Process, c.Signal, budget, out bool truncated);
        if (error is not null) return new CommandOutcome(error);
        truncated = truncated || sim.RunDue(sim.Now, budget, out _);
        return truncated && instantBudget < SameInstantBudget ? CommandOutcome.Ok with { InstantCut = true } : CommandOutcome.Ok;
    }

    static CommandOutcome OpenConnection(Simulation sim, OpenConnectionCommand c)
    {
        var opened = ConnectionOpener.Open(sim, c, call => Call(sim, call, SameInstantBudget));
        return opened.IsOk ? new CommandOutcome(null, Connection: opened.Value) : new CommandOutcome(opened.Error);
    }

    static CommandOutcome Inject(Simulation sim, InjectCommand c)
    {
        var from = sim.FindHost(c.From);
        var to = sim.FindHost(c.To);
        if (from is null) return new(DomainError.NotFound($"host '{c.From}'", "from"));
        if (to is null) return new(DomainError.NotFound($"host '{c.To}'", "to"));
        var options = c.Options ?? TcpOptions.None;
        if (c.OptionBytes is { } bytes && (bytes % 4 != 0 || bytes is < 0 or > TcpConstants.MaxOptionBytes))
            return new(DomainError.Invalid($"optionBytes {bytes} is no TCP header's option length: a multiple of 4 from 0 to {TcpConstants.MaxOptionBytes}", "optionBytes"));
        // Nor one too short for the options it carries, which no th->doff could hold (review39a N-4).
        if (c.OptionBytes is { } few && few < options.LeastLength(c.Flags))
            return new(DomainError.Invalid($"optionBytes {few} cannot hold the segment's options: they take at least {options.LeastLength(c.Flags)} bytes", "optionBytes"));
        var seg = new Segment(new FourTuple(new Endpoint(from.Address, c.FromPort), new Endpoint(to.Address, c.ToPort)),
            c.Flags, c.Seq, c.Ack, c.Window, c.Length, options) { OptionBytes = c.OptionBytes };
        return FromResult(from.Inject(seg));
    }

    static CommandOutcome Advance(Simulation sim, AdvanceCommand c)
    {
        if (c.Amount.Ns < 0) return new(DomainError.Invalid("an advance cannot go backwards", "amount"));
        if (c.EventBudget <= 0) return new(DomainError.Invalid("the event budget must be positive", "eventBudget"));
        // The clock never passes SimTime.MaxClock; an untilIdle bound past it is only a bound, so it is clamped.
        Int128 wanted = c.Mode == AdvanceMode.To ? c.Amount.Ns : (Int128)sim.Now.Ns + c.Amount.Ns;
        if (wanted > SimTime.MaxClock.Ns && c.Mode != AdvanceMode.UntilIdle)
            return new(DomainError.Invalid(
                $"the clock may not pass {SimTime.MaxClock.Ns} ns (100 years of virtual time); this advance would take it to {wanted} ns",
                "amount"));
        var target = new SimTime((long)Int128.Min(wanted, SimTime.MaxClock.Ns));
        var result = c.Mode switch
        {
            AdvanceMode.By => sim.RunUntil(target, c.EventBudget),
            AdvanceMode.To when c.Amount.Ns < sim.Now.Ns => null,
            AdvanceMode.To => sim.RunUntil(target, c.EventBudget),
            _ => sim.RunUntilIdle(target, c.EventBudget),
        };
        return result is null
            ? new(DomainError.Invalid($"{new SimTime(c.Amount.Ns)} is before the current time {sim.Now}", "until"))
            : new CommandOutcome(null, Advance: result);
    }

    static CommandOutcome StartWorkload(Simulation sim, WorkloadCommand c)
    {
        var started = sim.StartWorkload(c.Spec, c.RunToEnd, c.EventBudget);
        return started.IsOk ? new CommandOutcome(null, Workload: started.Value!.Result()) : new CommandOutcome(started.Error);
    }

    /// <summary>Runs a command log on a fresh engine (replay) under the rules it was recorded with.</summary>
    public static Simulation Replay(KernelProfile profile, long seed, IEnumerable<SimCommand> commands, int engineRules = EngineRules.Current)
    {
        var sim = new Simulation(profile, seed) { EngineRules = engineRules };
        foreach (var c in commands) Apply(sim, c);
        return sim;
    }
}
