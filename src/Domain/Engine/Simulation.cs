using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>Why an advance stopped.</summary>
/// <param name="PastHorizon">A run until idle (or until a condition) that stopped at its horizon: the time of the next pending
/// event, which lies past it (the clock stays at the last event processed). Null otherwise.</param>
public sealed record AdvanceResult(SimTime Now, long EventsProcessed, bool Truncated, bool Idle, SimTime? PastHorizon = null);

/// <summary>
/// An isolated simulated world: hosts, links, one virtual clock and one event queue. Single
/// threaded and synchronous; its state is a pure function of (profile, seed, commands).
/// </summary>
public sealed partial class Simulation
{
    readonly EventQueue _queue = new();
    readonly List<Host> _hosts = [];
    readonly Dictionary<string, Host> _hostsByName = new(StringComparer.Ordinal);
    readonly Dictionary<IPv4, Host> _hostsByAddress = [];
    readonly List<Link> _links = [];
    /// <summary>The links by their two host names (the lesser first, ordinal): a lookup per link added, not a scan of all.</summary>
    readonly Dictionary<(string, string), Link> _linksByPair = [];
    /// <summary>The link direction from one host to another, keyed by both hosts' indexes: one probe per segment sent.</summary>
    readonly Dictionary<string, Nat> _nats = new(StringComparer.Ordinal);
    readonly Dictionary<IPv4, Nat> _natsByAddress = [];
    IJournalSink _sink = new FullJournal();
    int _nextSocketId = 1;
    long _nextCallId = 1;
    long _journalSeq;
    long _lastSegmentId;

    public KernelProfile Profile { get; }
    public long Seed { get; }
    /// <summary>
    /// How much is journaled; setting it installs the in-memory sink of that level (before the
    /// first event — a sink is chosen once per run).
    /// </summary>
    public JournalLevel JournalLevel
    {
        get => _sink.Level;
        set => Sink = JournalSinks.For(value);
    }

    /// <summary>Where events go (<see cref="FullJournal"/> unless set before the first event).</summary>
    public IJournalSink Sink
    {
        get => _sink;
        set
        {
            if (_journalSeq != 0) throw new InvalidOperationException("the journal sink is chosen before the first event");
            _sink = value;
            _journaled = Max(value.Level, _journalFloor);
        }
    }
    public SimTime Now { get; private set; } = SimTime.Zero;

    /// <summary>
    /// The first moment the run left what the engine models (a kernel path the engine knows it does not follow, named
    /// by its docs/kernel-check.md row); null while the run has not. From there on the kernel's packets may differ.
    /// </summary>
    public ModelDeparture? LeftModel { get; private set; }

    /// <summary>Notes where the run left the model; only the first departure is kept (since session 40: D169's AccECN SYN-ACK, which the script and scenario parsers already refuse, and D161's paths not modelled — a probe above the route MTU, linux-4.4's tcp_mtup_init() order at tcp_mtu_probing 2 or more).</summary>
    internal void LeaveModel(string host, string socket, string row, string what) =>
        LeftModel ??= new ModelDeparture(Now, host, socket, row, what);

    /// <summary>
    /// The version of the rules by which commands meet this engine (<see cref="Commands.EngineRules"/>): what
    /// <see cref="Commands.CommandApplier"/> does around each command. A stored simulation's rebuild sets the version its row
    /// keeps; an engine made for anything new follows <see cref="Commands.EngineRules.Current"/>.
    /// </summary>
    public int EngineRules { get; set; } = Commands.EngineRules.Current;

    /// <summary>
    /// True while the engine is rebuilt from stored inputs (a stored scenario, the command log): a sysctl text is then
    /// also read as the engine read it when it was stored (<see cref="Network.SysctlCatalog.TryParseStored"/>).
    /// </summary>
    public bool RebuildingStored { get; set; }

    /// <summary>
    /// Checked between events by <see cref="RunUntil"/> and <see cref="RunUntilIdle"/>: once it is cancelled the
    /// loop stops with <see cref="OperationCanceledException"/>. The engine is then part-way through a command and
    /// must be thrown away — the caller rebuilds it from the command log. The engine never looks at a clock
    /// itself; whoever sets the token decides what bounds the work (a request's wall-time limit, a client leaving).
    /// </summary>
    public CancellationToken Interruption { get; set; }

    /// <summary>
    /// This engine's turn on a shared processor (<see cref="EngineTurn"/>), or null: asked between events to pass while
    /// other work waits. Set by whoever runs the engine, for the duration of that work.
    /// </summary>
    public EngineTurn? Turn { get; set; }

    /// <summary>
    /// The boundary between two events (and between two commands of a replay or rebuild): stops with
    /// <see cref="OperationCanceledException"/> once <see cref="Interruption"/> is cancelled, and passes the
    /// <see cref="Turn"/> while someone waits for it. Nothing is pending mid-way here: the simulation is between steps.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void BetweenSteps()
    {
        Interruption.ThrowIfCancellationRequested();
        if (Turn is { Wanted: true } turn) turn.Pass();
    }

    /// <summary>
    /// <see cref="RunUntil"/>, <see cref="RunUntilIdle"/> and a workload's run (<see cref="RunWhile"/>) stop, reporting <c>Truncated</c>, once the journal
    /// holds this many events. A run stopped here would not replay the same way from its logged command, so
    /// whoever sets it must refuse the command that hit it (the API does, and rebuilds the engine).
    /// </summary>
    public long JournalLimit { get; set; } = long.MaxValue;

    /// <summary>
    /// Whether the journal has reached <see cref="JournalLimit"/>. Asked before every event: without a limit the sink (an
    /// interface) is not asked at all.
    /// </summary>
    public bool JournalFull => JournalLimit != long.MaxValue && _sink.Appended >= JournalLimit;

    /// <summary>Whether the journal holds more than <see cref="JournalLimit"/> events: what was run added more than allowed.</summary>
    public bool JournalOverLimit => _sink.Appended > JournalLimit;

    /// <summary>
    /// Set when a run stopped at <see cref="JournalLimit"/> with an event still due (<see cref="JournalFull"/> before it); the
    /// caller clears it. A run that processed every due event and filled the journal exactly on the last was not stopped.
    /// </summary>
    public bool JournalStopped { get; set; }

    /// <summary>The journal check made before each event: true (and <see cref="JournalStopped"/>) when the limit stops the run there.</summary>
    bool StopsAtJournalLimit()
    {
        if (!JournalFull) return false;
        JournalStopped = true;
        return true;
    }

    /// <summary>Full sockets allocated on all hosts (every host's sockstat <c>alloc</c> summed), kept as sockets are allocated and freed.</summary>
    public long SocketsAllocated { get; private set; }

    /// <summary>
    /// A workload's run (<see cref="RunWhile"/>), and any advance (a scenario's workload runs in its advances), stops,
    /// reporting <c>Truncated</c>, once more sockets than this are allocated
    /// (<see cref="SocketsFull"/>): the API's sockets quota, which bounds the work of the request that would pass it rather
    /// than refusing it after it ran (a workload that held its connections open built a million sockets first). As with
    /// <see cref="JournalLimit"/>, whoever sets it must refuse the command that hit it.
    /// </summary>
    public long SocketLimit { get; set; } = long.MaxValue;

    /// <summary>Whether more sockets than <see cref="SocketLimit"/> are allocated.</summary>
    public bool SocketsFull => SocketsAllocated > SocketLimit;

    internal void SocketAllocated(int change) => SocketsAllocated += change;
    public IRandomSource Rng { get; }

    /// <summary>Secret keys of the kernel's keyed hashes (ISN, timestamp offset, port offset), drawn from the seed.</summary>
    internal ulong IsnSecret { get; }
    internal ulong TsSecret { get; }
    internal ulong PortSecret { get; }

    public IReadOnlyList<Host> Hosts => _hosts;
    public IReadOnlyList<Link> Links => _links;
    /// <summary>The events the sink holds in memory (all of them for the in-memory journals).</summary>
    public IReadOnlyList<SimEvent> Journal => _sink.Held;
    public int PendingEvents => _queue.Count;

    /// <summary>The event queue's chunks in use and kept for reuse (<see cref="EventQueue.ChunksHeld"/>), for a memory estimate.</summary>
    public long QueueChunksHeld => _queue.ChunksHeld;

    /// <summary>When the next pending item is due (it may be a stale timer that will be skipped), or null when idle.</summary>
    public SimTime? NextEventTime => _queue.TryPeekTime(out var at) ? at : null;

    public Simulation(KernelProfile profile, long seed)
    {
        Profile = profile;
        Seed = seed;
        Rng = new Pcg32(seed);
        IsnSecret = NextUInt64();
        TsSecret = NextUInt64();
        PortSecret = NextUInt64();
    }

    ulong NextUInt64() => ((ulong)Rng.NextUInt32() << 32) | Rng.NextUInt32();

    // ---- world construction -------------------------------------------------------------

    /// <summary>
    /// A host with its primary <paramref name="address"/> and any <paramref name="extraAddresses"/> (each on its
    /// interface, like `ip addr add`); every host also has 127.0.0.1/8 on lo, which is never unique to it.
    /// </summary>
    public Result<Host> AddHost(string name, IPv4 address, HostKind kind = HostKind.Linux, IReadOnlyList<IPv4>? extraAddresses = null)
    {
        if (_hostsByName.ContainsKey(name)) return DomainError.Conflict($"host '{name}' already exists", "name");
        IPv4[] addresses = [address, .. extraAddresses ?? []];
        var firstAt = new Dictionary<IPv4, int>(addresses.Length); // linear: tester41 HIGH-1 (Array.IndexOf per address was O(n²))
        for (int i = 0; i < addresses.Length; i++)
        {
            string field = i == 0 ? "address" : $"addresses[{i - 1}]";
            if (addresses[i].IsLoopback || addresses[i] == IPv4.Any) return DomainError.Invalid(addresses[i].NotAHostAddress()!, field);
            // The request naming one address twice is its own mistake (400 at the second), not a clash with the world (409).
            if (!firstAt.TryAdd(addresses[i], i) && firstAt[addresses[i]] is var first)
                return DomainError.Invalid($"address {addresses[i]} appears twice in this host's addresses (also as {(first == 0 ? "address" : $"addresses[{first - 1}]")})", field);
            if (_hostsByAddress.ContainsKey(addresses[i]) || _natsByAddress.ContainsKey(addresses[i]))
                return DomainError.Conflict($"address {addresses[i]} is already used", field);
        }
        var host = new Host(this, name, address, kind, _hosts.Count, addresses);
        _hosts.Add(host);
        _hostsByName[name] = host;
        foreach (var a in addresses) _hostsByAddress[a] = host;
        return host;
    }

    /// <summary>The host of that name, or null — for no name too (a null from a request's JSON is not a host).</summary>
    public Host? FindHost(string? name) => name is null ? null : _hostsByName.GetValueOrDefault(name);

    /// <summary>Adds a NAT address that hosts can be placed behind.</summary>
    public Result<Nat> AddNat(string name, IPv4 address)
    {
        if (_nats.ContainsKey(name)) return DomainError.Conflict($"NAT '{name}' already exists", "name");
        if (_hostsByAddress.ContainsKey(address) || _natsByAddress.ContainsKey(address))
            return DomainError.Conflict($"address {address} is already used", "address");
        var nat = new Nat(name, address);
        _nats[name] = nat;
        _natsByAddress[address] = nat;
        return nat;
    }

    public Nat? FindNat(string name) => _nats.GetValueOrDefault(name);

    /// <summary>Puts a host behind a NAT: its segments to hosts outside leave with the NAT's address.</summary>
    public DomainError? PlaceBehindNat(string hostName, string natName)
    {
        var host = FindHost(hostName);
        if (host is null) return DomainError.NotFound($"host '{hostName}'", "host");
        var nat = FindNat(natName);
        if (nat is null) return DomainError.NotFound($"NAT '{natName}'", "behindNat");
        host.BehindNat = nat;
        return null;
    }

    public Host? FindHost(IPv4 address) => _hostsByAddress.GetValueOrDefault(address);

    public Result<Link> AddLink(string a, string b, SimDuration delay, double loss)
    {
        if (FindHost(a) is null) return DomainError.NotFound($"host '{a}'", "between[0]");
        if (FindHost(b) is null) return DomainError.NotFound($"host '{b}'", "between[1]");
        if (a == b) return DomainError.Invalid("a link joins two different hosts", "between");
        if (FindLink(a, b) is not null) return DomainError.Conflict($"hosts '{a}' and '{b}' are already linked", "between");
        if (delay < SimDuration.Zero) return DomainError.Invalid("delay must not be negative", "delay");
        if (loss is < 0 or > 1 || double.IsNaN(loss)) return DomainError.Invalid("loss is a probability in [0,1]", "loss");
        var link = new Link(a, b, delay, loss);
        _links.Add(link);
        _linksByPair.Add(Pair(a, b), link);
        int ia = _hostsByName[a].Index, ib = _hostsByName[b].Index;
        _hosts[ia].SetDirection(ib, link.AtoB);
        _hosts[ib].SetDirection(ia, link.BtoA);
        return link;
    }

    public Link? FindLink(string a, string b) => _linksByPair.GetValueOrDefault(Pair(a, b));

    static (string, string) Pair(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);

    /// <summary>The direction of the link from <paramref name="from"/> to <paramref name="to"/>, or null when they are not linked.</summary>
    static LinkDirection? DirectionBetween(Host from, Host to) => from.DirectionTo(to.Index);

    /// <summary>
    /// Models the FIB lookup of ip_route_output_key_hash_rcu() for a connect(): a host has a route to its
    /// own address, to the address of a host it is linked to, and to a NAT's address when it is linked to a
    /// host behind that NAT. Anything else has no route (fib_lookup fails, ENETUNREACH). A link that loses
    /// every segment or is blackholed is still a route, as an unplugged cable leaves the routing table alone.
    /// </summary>
    internal bool HasRoute(Host from, IPv4 destination)
    {
        if (from.IsLocal(destination)) return true; // the local table: lo and the host's own addresses
        if (FindHost(destination) is { } to) return DirectionBetween(from, to) is not null;
        if (!_natsByAddress.TryGetValue(destination, out var nat)) return false;
        // A loop, not Any(lambda): the lambda's closure would be allocated on every connect(), whichever branch it takes.
        foreach (var h in _hosts)
            if (h.BehindNat == nat && DirectionBetween(from, h) is not null) return true;
        return false;
    }

    /// <summary>
    /// Changes one or both directions of a link; null leaves a field as it is. <paramref name="lossBySegment"/> is the
    /// whole link's (both directions share one <see cref="SegmentLoss"/>): true switches a link drawing from the generator
    /// to a fresh draw by segment seeded with <see cref="Seed"/> (a link already drawing by segment keeps its counts),
    /// false back to the generator; with <paramref name="oneDirection"/> it is refused.
    /// </summary>
    public DomainError? ChangeLink(string a, string b, bool oneDirection, SimDuration? delay, double? loss, bool? blackhole, bool? lossBySegment = null)
    {
        if (FindHost(a) is null) return DomainError.NotFound($"host '{a}'", "between[0]");
        if (FindHost(b) is null) return DomainError.NotFound($"host '{b}'", "between[1]");
        var link = FindLink(a, b);
        if (link is null) return DomainError.NotFound($"link between '{a}' and '{b}'", "between");
        if (delay is { Ns: < 0 }) return DomainError.Invalid("delay must not be negative", "delay");
        if (loss is { } l && (l is < 0 or > 1 || double.IsNaN(l))) return DomainError.Invalid("loss is a probability in [0,1]", "loss");
        if (lossBySegment is not null && oneDirection)
            return DomainError.Invalid("lossBySegment is the whole link's: change it without oneWay", "lossBySegment");
        if (lossBySegment is true && !link.LossBySegment) link.LoseBySegment(Seed);
        if (lossBySegment is false) link.LoseByGenerator();
        var directions = oneDirection ? [(a, b)] : new[] { (a, b), (b, a) };
        foreach (var (from, to) in directions)
        {
            var d = link.From(from);
            if (delay is { } dl) d.Delay = dl;
            if (loss is { } ls) d.Loss = ls;
            if (blackhole is { } bh) d.Blackhole = bh;
            if (Journals(JournalLevel.States))
                Record(JournalLevel.States, new LinkChanged(Now, _journalSeq, from, to, d.Delay, d.Loss, d.Blackhole, link.LossBySegment));
        }
        return null;
    }

    /// <summary>
    /// Writes a sysctl at run time (`sysctl -w`), validated as the kernel validates it. Like
    /// Linux, a new value only governs what happens from now on: lowering tcp_max_tw_buckets does
    /// not kill existing TIME-WAIT sockets.
    /// </summary>
    public DomainError? SetSysctl(string hostName, string name, string text)
    {
        var host = FindHost(hostName);
        if (host is null) return DomainError.NotFound($"host '{hostName}'", "host");
        if (!host.Sysctls.TrySet(name, text, out var error, RebuildingStored)) return DomainError.Invalid(error, name);
        if (name == "net.ipv4.ip_local_port_range") host.WarnPortRangeParity();
        if (Journals(JournalLevel.States)) Record(JournalLevel.States, new SysctlChanged(Now, _journalSeq, host.Name, name, host.Sysctls.Format(name)));
        return null;
    }

    // ---- the clock ----------------------------------------------------------------------

    /// <summary>Processes every item due at or before <paramref name="until"/>, then sets the clock to it.</summary>
    public AdvanceResult RunUntil(SimTime until, long eventBudget = long.MaxValue)
    {
        bool truncated = RunDue(until, eventBudget, out long processed);
        return new AdvanceResult(Now, processed, truncated, !truncated && _queue.Count == 0);
    }

    /// <summary>
    /// <see cref="RunUntil(SimTime, long)"/> without its result object: true when the budget (or a full journal) stopped it
    /// with items still due. What every call's own instant runs (CommandApplier's same-instant rule), so a call allocates
    /// no <see cref="AdvanceResult"/> it would throw away.
    /// </summary>
    internal bool RunDue(SimTime until, long eventBudget, out long processed)
    {
        processed = 0;
        while (_queue.TryPeekTime(out var at) && at <= until)
        {
            if (processed >= eventBudget || StopsAtJournalLimit() || SocketsFull) return true;
            BetweenSteps();
            Step();
            processed++;
        }
        if (until > Now) MoveClock(until);
        return false;
    }

    /// <summary>Runs until nothing is pending, the horizon is reached, or the budget is spent.</summary>
    public AdvanceResult RunUntilIdle(SimTime horizon, long eventBudget = long.MaxValue)
    {
        long processed = 0;
        while (_queue.TryPeekTime(out var at))
        {
            if (at > horizon) return new AdvanceResult(Now, processed, false, false, at);
            if (processed >= eventBudget || StopsAtJournalLimit() || SocketsFull) return new AdvanceResult(Now, processed, true, false);
            BetweenSteps();
            Step();
            processed++;
        }
        return new AdvanceResult(Now, processed, false, true);
    }

    /// <summary>
    /// Runs event by event until <paramref name="done"/> holds, nothing is pending, the next event is past
    /// <paramref name="horizon"/>, or <paramref name="eventBudget"/> events were processed; then processes the
    /// events still due at the time it stopped (within what is left of the budget), so no event is left due
    /// at the current time — the state <c>RunUntil(Now, budget)</c> on the same start would reach.
    /// </summary>
    public AdvanceResult RunUntil(Func<bool> done, SimTime horizon, long eventBudget)
    {
        if (horizon > SimTime.MaxClock) horizon = SimTime.MaxClock; // the clock never passes it
        long processed = 0;
        SimTime? pastHorizon = null;
        while (!done() && processed < eventBudget)
        {
            var step = RunUntilIdle(horizon, eventBudget: 1);
            if (step.EventsProcessed == 0)
            {
                pastHorizon = step.PastHorizon; // stopped by the horizon: the next event's time, as an advance until idle says it
                break;
            }
            processed++;
        }
        var flush = RunUntil(Now, eventBudget - processed);
        processed += flush.EventsProcessed;
        bool truncated = flush.Truncated || (processed >= eventBudget && !done());
        return new AdvanceResult(Now, processed, truncated, _queue.Count == 0, pastHorizon);
    }

    /// <summary>
    /// Raised just before the clock moves forward, with the time it moves to: everything due up to
    /// the current time has happened. For observers that sample state over time (time series, the
    /// socket table at a past time); they must not change the simulation.
    /// </summary>
    public event Action<Simulation, SimTime>? ClockAdvancing;

    void MoveClock(SimTime to)
    {
        if (to > Now) ClockAdvancing?.Invoke(this, to);
        Now = to;
    }

    /// <summary>Pops one item: the only place the clock moves.</summary>
    void Step()
    {
        var item = _queue.Dequeue(out var at);
        MoveClock(at);
        EventsProcessed++;
        if (item.Vacated) return; // a cancelled or re-armed timer's slot: stale, as before, but pinning nothing
        if (item.Generation > 0)
        {
            if (item.Target is TimeWaitTable timeWaits)
            {
                PrefetchTimeWaitExpiries();
                // A timewait socket's tw_timer: the key names the entry and its arming (stale when either moved on).
                if (!timeWaits.Expire(item.Generation)) return;
                if (_polls.Count > 0) WakePolls();
                return;
            }
            ref var timer = ref item.Target is TcpSocket owner ? ref owner.TimerFor(item.Payload)
                : ref item.Target is SimTimer t ? ref t.State : ref ((ITimerOwner)item.Target).TimerFor(item.Payload);
            if (!timer.IsCurrent(item.Generation)) return; // cancelled or re-armed: stale
            timer.MarkFired();
        }
        Dispatch(item.Target, item.Payload);
        if (_polls.Count > 0) WakePolls();
    }

    /// <summary>
    /// Hands a due item to its target: a host (a segment's arrival) and a socket (its timers, a woken task) — most of a
    /// churn's items — by a type test and a direct call, the rest through the interface. The interface call site here
    /// sees every kind of target, so it went through the runtime's resolve stub for each item (the session-37 note in
    /// docs/benchmarks-history.md).
    /// </summary>
    void Dispatch(IEventTarget target, object? payload)
    {
        if (target is Host host) host.OnDue(this, payload);
        else if (target is TcpSocket socket) socket.OnDue(this, payload);
        else target.OnDue(this, payload);
    }

    /// <summary>
    /// Timewait expiries come in runs: every tw_timer armed within one timer-wheel granule (2 s for TIME-WAIT's 60 s) is
    /// due at the same jiffy, thousands in a churn, and each reads an entry, its hash chain and its port's bind bucket
    /// written a minute before — from memory, one after another. While one runs, the ones queued behind it start loading
    /// what they will read, a stage per distance (<see cref="TimeWaitTable.PrefetchExpiry"/>): hints, which neither read
    /// nor change anything the expiries decide on (the session-35 note in docs/benchmarks-history.md).
    /// </summary>
    void PrefetchTimeWaitExpiries()
    {
        for (int stage = 0; stage < TimeWaitTable.PrefetchStages; stage++)
            if (_queue.PeekBehind(TimeWaitTable.PrefetchDistance(stage), out var ahead) && ahead.Generation > 0 && ahead.Target is TimeWaitTable table)
                table.PrefetchExpiry(ahead.Generation, stage);
    }

    /// <summary>Items popped from the queue so far (stale timers included).</summary>
    public long EventsProcessed { get; private set; }

    /// <summary>
    /// Processes items while <paramref name="keepGoing"/> holds, something is pending and the budget lasts — never one
    /// past the clock's maximum (<see cref="SimTime.MaxClock"/>): it stops before it, its time the result's PastHorizon,
    /// as an advance until idle does (tester37 MEDIUM-2: a workload started 1 ms before the maximum ran the clock 103 ms
    /// past it, and the simulation could no longer be exported or advanced).
    /// </summary>
    internal AdvanceResult RunWhile(Func<bool> keepGoing, long eventBudget)
    {
        long processed = 0;
        while (keepGoing() && _queue.TryPeekTime(out var at))
        {
            if (at > SimTime.MaxClock) return new AdvanceResult(Now, processed, false, false, at);
            // The journal limit too: a Full workload past it ran on to its wall-time limit, to be refused anyway; and the socket limit.
            if (processed >= eventBudget || StopsAtJournalLimit() || SocketsFull) return new AdvanceResult(Now, processed, true, false);
            BetweenSteps(); // a workload too stops at the caller's wall-time limit, and passes its turn
            Step();
            processed++;
        }
        return new AdvanceResult(Now, processed, false, _queue.Count == 0);
    }

    internal void Schedule(SimTime at, IEventTarget target, object? payload) => _queue.Enqueue(at, target, payload);

    /// <summary>Queues the item of a timer kept in a table of structs (<see cref="TimeWaitTable"/>): the target and a positive key that names the entry and its arming.</summary>
    internal void ScheduleKeyed(SimTime at, IEventTarget target, long key, byte wheelRank) => _queue.Enqueue(at, target, null, key, wheelRank);

    /// <summary>
    /// Arms a timer that is not a socket's (a poll()'s hrtimer): cancellable like any timer, not journaled.
    /// An hrtimer is not on the timer wheel: it fires at its own expiry.
    /// </summary>
    internal void ScheduleTimer(SimTimer timer, SimTime expires) => _queue.EnqueueTimer(expires, timer, timer.Arm(expires, expires));

    /// <summary>
    /// Cancels a timer armed by <see cref="ScheduleTimer"/> that stands for no kernel timer (a workload's drain limit) and
    /// takes its item out of the queue: nothing is pending for it any more, so <see cref="RunUntilIdle"/> stops without
    /// running the clock to it (a cancelled kernel timer's slot stays and is popped, <see cref="CancelTimer(SimTimer, Host, int)"/>).
    /// </summary>
    internal void DropTimer(SimTimer timer)
    {
        _queue.Remove(ref timer.State, timer, timer);
        timer.Cancel();
    }

    /// <summary>
    /// Arms (or re-arms) a timer and journals it (sk_reset_timer / mod_timer): the one place any
    /// timer of a socket, request socket or timewait socket is armed.
    /// </summary>
    /// <remarks>
    /// <paramref name="expires"/> is the timer_list's expiry tick (<c>jiffies + timeout</c>). On
    /// linux-4.4 a socket timer goes through mod_timer(), whose apply_slack() may move that expiry
    /// later (<see cref="Jiffies.ApplySlack"/>); the TIME-WAIT and SYN-ACK timers use
    /// mod_timer_pinned() and the linger wait and SO_SNDTIMEO/SO_RCVTIMEO sleeps schedule_timeout()'s
    /// __mod_timer(), which take none.
    /// Re-arming a pending timer for the expiry it already has changes nothing (__mod_timer()'s
    /// "re-modified to have the same timeout" shortcut): its queue item keeps its place. The timer is queued for when the kernel's timer
    /// wheel runs it (<see cref="Jiffies.WheelFires"/>), and that firing time is what the journal's
    /// TimerArmed records.
    /// </remarks>
    internal void ArmTimer(SimTimer timer, Host host, int socketId, TcpTimerKind kind, SimTime expires) =>
        ArmTimer(ref timer.State, timer, timer, host, socketId, kind, expires);

    /// <summary>The same for a timer embedded in <paramref name="target"/> (an <see cref="ITimerOwner"/>), named by <paramref name="key"/>.</summary>
    internal void ArmTimer(ref TimerState timer, IEventTarget target, object key, Host host, int socketId, TcpTimerKind kind, SimTime expires)
    {
        if (Profile == KernelProfile.Linux44 && kind is not (TcpTimerKind.TimeWait or TcpTimerKind.SynAckRetransmit or TcpTimerKind.Linger
            or TcpTimerKind.SendTimeout or TcpTimerKind.ReceiveTimeout))
            expires = Jiffies.WithSlack(Now, expires);
        timer.ArmedAs = kind;
        if (timer.Armed && timer.Expires == expires)
        {
            // __mod_timer(): a pending timer "re-modified to have the same timeout" just returns — it stays where it
            // is in its wheel bucket, so its queue item stays too (no stale item left behind, no new one queued).
            JournalTimerArmed(host, socketId, kind, timer.FiresAt);
            return;
        }
        bool clockAhead = host.WheelClockAhead(kind, Now);
        var fires = Jiffies.WheelFires(Now, expires, Profile, clockAhead);
        var rank = Jiffies.WheelRank(Now, expires, Profile, Host.OnLocalBase(kind), clockAhead);
        if (rank != 0 && timer.Armed && timer.FiresAt == fires && EventQueue.RankOf(ref timer) == rank)
        {
            // __mod_timer(): a new expiry whose calc_wheel_index() is the pending timer's own index (same level, same
            // bucket) only updates timer->expires — the timer keeps its place in the bucket, so its item stays.
            timer.ExpiresInPlace(expires);
            JournalTimerArmed(host, socketId, kind, fires);
            return;
        }
        var generation = timer.Arm(target, key, expires, fires);
        _queue.EnqueueTimer(fires, target, key, ref timer, generation, rank);
        JournalTimerArmed(host, socketId, kind, fires);
    }

    /// <summary>
    /// Arms a socket's hrtimer (hrtimer_start_range_ns(), HRTIMER_MODE_REL) and journals it: not on the timer wheel,
    /// so no jiffy rounding and no linux-4.4 slack. The hrtimer may fire anywhere in [now + <paramref name="delay"/>,
    /// now + delay + <paramref name="slack"/>]; with nothing else due (the simulator's idle CPU) the clock event is
    /// programmed for the hard expiry, so it fires at now + delay + slack (as <see cref="PollTimeout"/>'s hrtimer).
    /// </summary>
    internal void ArmHrtimer(ref TimerState timer, IEventTarget target, object key, Host host, int socketId, TcpTimerKind kind, SimDuration delay, SimDuration slack)
    {
        var fires = Now + delay + slack;
        timer.ArmedAs = kind;
        var generation = timer.Arm(target, key, fires, fires);
        _queue.EnqueueTimer(fires, target, key, ref timer, generation);
        JournalTimerArmed(host, socketId, kind, fires);
    }

    /// <summary>
    /// Stops a timer (sk_stop_timer / del_timer) and journals it when it was armed, under the name it was armed as
    /// (<see cref="TimerState.ArmedAs"/>): the one place any timer is cancelled.
    /// </summary>
    internal void CancelTimer(SimTimer timer, Host host, int socketId) => CancelTimer(ref timer.State, timer, timer, host, socketId);

    /// <summary>The same for a timer embedded in <paramref name="target"/>, named by <paramref name="key"/>.</summary>
    internal void CancelTimer(ref TimerState timer, object target, object key, Host host, int socketId)
    {
        if (timer.Cancel(target, key)) JournalTimerCancelled(host, socketId, timer.ArmedAs);
    }

    /// <summary>Journals a timer's expiry (the handler runs next), under the name it was armed as.</summary>
    internal void TimerFired(Host host, int socketId, in TimerState timer) => TimerFired(host, socketId, timer.ArmedAs);

    /// <summary>The same for a timer whose use is its only one (a timewait socket's tw_timer, a request socket's rsk_timer).</summary>
    internal void TimerFired(Host host, int socketId, TcpTimerKind kind)
    {
        host.WheelRan(kind, Now);
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new TimerFired(Now, _journalSeq, host.Name, socketId, kind));
    }

    /// <summary>
    /// The one writer of <see cref="Journal.TimerArmed"/> (the arming helpers above and the timewait table's
    /// inet_twsk_schedule()); <paramref name="fires"/> is when the wheel runs it.
    /// </summary>
    internal void JournalTimerArmed(Host host, int socketId, TcpTimerKind kind, SimTime fires)
    {
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new TimerArmed(Now, _journalSeq, host.Name, socketId, kind, fires));
    }

    /// <summary>The one writer of <see cref="Journal.TimerCancelled"/> (<see cref="CancelTimer(ref TimerState, object, object, Host, int)"/> and inet_twsk_deschedule_put()).</summary>
    internal void JournalTimerCancelled(Host host, int socketId, TcpTimerKind kind)
    {
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new TimerCancelled(Now, _journalSeq, host.Name, socketId, kind));
    }

    internal int NextSocketId() => _nextSocketId++;
    internal long NextCallId() => _nextCallId++;

    // ---- the wire -----------------------------------------------------------------------

    /// <summary>Puts a segment on the link from <paramref name="from"/> toward the segment's destination address.</summary>
    /// <summary>Free segments (singly linked through NextFree), handed out by <see cref="NewSegment"/>.</summary>
    Segment? _freeSegments;
    int _freeSegmentCount;

    /// <summary>Segments on the free list (as many as were once in flight together): memory an estimate counts.</summary>
    public int FreeSegmentsHeld => _freeSegmentCount;

    /// <summary>
    /// The segments of the TSO chunk a socket is sending over lo, but its latest (TcpSocket.SendChunkTail() joins or
    /// sends them and empties the list before the send returns; one list for the simulation, nothing per segment).
    /// </summary>
    internal List<Segment> LoChunk { get; } = new(8);

    /// <summary>The emptied queue lists of destroyed sockets, for the next sockets (<see cref="Tcp.FreeQueues"/>).</summary>
    internal FreeQueues FreeQueues { get; } = new();

    /// <summary>A segment the engine builds to send: a free one reused, else a new one (see <see cref="Segment"/>).</summary>
    internal Segment NewSegment(FourTuple tuple, TcpFlags flags, uint seq, uint ack, ushort window, int length, in TcpOptions options)
    {
        if (_freeSegments is not { } seg)
        {
            seg = new Segment(tuple, flags, seq, ack, window, length, options);
            seg.MarkPooled();
            return seg;
        }
        _freeSegments = seg.NextFree;
        _freeSegmentCount--;
        seg.Reuse(tuple, flags, seq, ack, window, length, options);
        return seg;
    }

    /// <summary>A delivered segment its receiver has handled: back to the free list if it came from there.</summary>
    internal void RecycleSegment(Segment seg)
    {
        if (!seg.Pooled) return;
        seg.NextFree = _freeSegments;
        _freeSegments = seg;
        _freeSegmentCount++;
    }

    internal void Transmit(Host from, Segment seg, string reason)
    {
        if (seg.Id != 0) seg = seg with { }; // the same object sent again is a new transmission
        seg.Id = ++_lastSegmentId;
        var sent = seg;
        var to = Route(from, ref seg);
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new SegmentSent(Now, _journalSeq, from.Name, sent.Tuple, sent.Flags, sent.Seq, sent.Ack, sent.Length,
            sent.Window, sent.Options, reason, to?.Name, sent.Id, sent.OptionLength != sent.Options.WireLength(sent.Flags) ? sent.OptionLength : null));
        if (ReferenceEquals(to, from))
        {
            // A segment to one of the host's own addresses goes through the loopback device: no link, no delay, no loss.
            ScheduleLo(from, seg);
            return;
        }
        var direction = to is null ? null : DirectionBetween(from, to);
        if (to is null || direction is null)
        {
            RecordDrop(from, sent, "no route");
            return;
        }
        if (direction.Blackhole)
        {
            RecordDrop(from, sent, "blackhole");
            return;
        }
        if (direction.Loses(Rng, sent.Source, sent.Destination, sent.Flags, sent.Seq, sent.Ack, sent.Length))
        {
            RecordDrop(from, sent, "loss");
            return;
        }
        Schedule(Now + direction.Delay, to, seg);
    }

    /// <summary>
    /// The destination host of a segment, translating through NATs: a segment from a host behind a
    /// NAT to a host outside it leaves with the NAT's address; one to a NAT's address is mapped back
    /// to the inside host (or has nowhere to go).
    /// </summary>
    Host? Route(Host from, ref Segment seg)
    {
        var dst = seg.Destination.Address;
        // fib_lookup() finds a RTN_LOCAL route for 127.0.0.0/8 and the host's own addresses: out through lo.
        if (from.IsLocal(dst)) return from;
        var to = FindHost(dst);
        if (from.BehindNat is { } nat && to?.BehindNat != nat)
            seg = seg with { Tuple = nat.Outbound(seg.Tuple) };
        if (to is null && _natsByAddress.TryGetValue(dst, out var inbound))
        {
            var inner = inbound.Inbound(seg.Destination, seg.Source);
            if (inner is null) return null;
            seg = seg with { Tuple = new FourTuple(seg.Source, inner.Value) };
            to = FindHost(inner.Value.Address);
        }
        return to;
    }

    void RecordDrop(Host from, Segment seg, string why)
    {
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new SegmentDropped(Now, _journalSeq, from.Name, seg.Tuple, seg.Flags, seg.Seq, seg.Ack, seg.Length, why, seg.Id));
    }

    // ---- the journal --------------------------------------------------------------------

    /// <summary>Whether events of this level are being kept.</summary>
    internal bool Journals(JournalLevel level) => level >= _journaled;

    /// <summary>
    /// The finest level kept: the coarser of the sink's level and <see cref="JournalFloor"/>, worked out when either is
    /// set — so the many <see cref="Journals"/> tests of a hot path are one compare, not a call through the sink.
    /// </summary>
    JournalLevel _journaled = JournalLevel.Full;
    JournalLevel _journalFloor = JournalLevel.Full;

    static JournalLevel Max(JournalLevel a, JournalLevel b) => a > b ? a : b;

    /// <summary>While a workload runs, events finer than its level are not built (whatever the sink takes).</summary>
    public JournalLevel JournalFloor
    {
        get => _journalFloor;
        internal set
        {
            _journalFloor = value;
            _journaled = Max(_sink.Level, value);
        }
    }

    internal long JournalSeq => _journalSeq;

    /// <summary>Appends an event if the simulation keeps events of its level.</summary>
    internal void Record(JournalLevel level, SimEvent e)
    {
        if (level < _journaled) return;
        _sink.Append(e);
        _journalSeq++;
    }
}
