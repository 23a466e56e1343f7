using System.Runtime.CompilerServices;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Outputs;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Workloads;

/// <summary>
/// A running workload: an event target in the simulation's own queue that makes the socket calls
/// of every connection (through <see cref="Simulation.Call"/>, like any caller) and continues when
/// a blocked call returns. Clients use process "wN" (one process per connection, "wN-i", when the
/// close style is kill); the server accepts in process "wN-srv".
/// </summary>
public sealed partial class Workload : IEventTarget
{
    static readonly object ArrivalTick = new();
    static readonly object SampleTick = new();

    readonly Simulation _sim;
    readonly Host _server;
    readonly Host[] _clients;
    readonly Host[] _hosts;
    readonly string _clientProcess;
    readonly string _serverProcess;
    readonly SortedDictionary<string, long> _connectResults = new(StringComparer.Ordinal);
    readonly List<WorkloadSample>[] _series;
    readonly long[]?[] _mibAtStart;
    readonly int[] _logAtStart;
    readonly JournalLevel _floorBefore;
    /// <summary>The drain limit, armed at the last arrival; dropped when the workload finishes before it.</summary>
    readonly SimTimer _drain;
    int _listenerId;
    bool _ownListener;
    long _started, _clientsFinished, _accepted, _serversFinished, _unfinished;
    long _eventsAtStart;

    public int Id { get; }
    public WorkloadSpec Spec { get; }
    public SimTime StartedAt { get; }
    public SimTime EndedAt { get; private set; }
    public bool Done { get; private set; }
    public bool Truncated { get; internal set; }

    /// <summary>The time of the next event when its run stopped before the clock's maximum with it not done (null otherwise).</summary>
    public SimTime? PastHorizon { get; internal set; }

    /// <summary>The time series' sampling interval now: <see cref="WorkloadSpec.Resolution"/>, doubled each time the series was coarsened.</summary>
    public SimDuration Resolution { get; private set; }

    /// <summary>Connections not finished, a client's and a server's side each (when drained: those left unfinished).</summary>
    public long OpenConnections => Done ? _unfinished : (_started - _clientsFinished) + (_accepted - _serversFinished);

    /// <summary>Samples held now, all hosts together (for the engine's memory estimate).</summary>
    public long SampleCount => (long)_series[0].Count * _series.Length + _settledCount;

    /// <summary>Called after each sample is taken (tests compare it with sockstat at that instant).</summary>
    public Action<int>? OnSample { get; set; }

    Workload(Simulation sim, int id, WorkloadSpec spec, Host server, Host[] clients)
    {
        _sim = sim;
        Id = id;
        Spec = spec;
        _server = server;
        _clients = clients;
        _clientProcess = $"w{id}";
        _serverProcess = $"w{id}-srv";
        StartedAt = sim.Now;
        Resolution = spec.Resolution;
        // A host named twice in the client list (a round-robin weight) is sampled and reported once: per entry, a list of
        // 380,000 "client"s held as many series and counter snapshots (a one-connection workload ran out its 300 s).
        _hosts = [.. clients.Distinct(), server];
        _series = [.. _hosts.Select(_ => new List<WorkloadSample>())];
        var hosts = Hosts();
        // A generated client's counters are all 0 at the start: no copy (a long per counter, for each of 20,000 clients).
        _mibAtStart = [.. hosts.Select(h => h.Mib.SnapshotUnlessZero())];
        _logAtStart = [.. hosts.Select(h => h.KernelLog.Count)];
        _floorBefore = sim.JournalFloor;
        _eventsAtStart = sim.EventsProcessed;
        _drain = new SimTimer(this, 0);
        _settled = new Dictionary<long, HostSample>?[_hosts.Length];
    }

    /// <summary>The distinct client hosts in the order of the list, then the server: one series and one outcome each.</summary>
    Host[] Hosts() => _hosts;

    /// <summary>
    /// Checks the spec, creates generated clients and the listener, and schedules the first arrival and sample. Every
    /// refusal comes before anything changes — hosts, sockets, socket ids, the journal floor — so a refused workload
    /// leaves the simulation exactly as it was (its command is not logged, and a rebuild must reach the same state).
    /// </summary>
    internal static Result<Workload> Start(Simulation sim, int id, WorkloadSpec spec)
    {
        if (spec.Validate() is { } invalid) return invalid;
        var server = sim.FindHost(spec.Server);
        if (server is null) return DomainError.NotFound($"host '{spec.Server}'", "server");
        if (server.Kind != HostKind.Linux) return DomainError.Invalid($"host '{spec.Server}' is scripted", "server");
        if (spec.GeneratedClients > 0)
        {
            for (int i = 0; i < spec.GeneratedClients; i++)
            {
                if (sim.FindHost(GeneratedName(id, i)) is not null || sim.FindHost(GeneratedAddress(id, i)) is not null)
                    return DomainError.Conflict($"generated client {GeneratedName(id, i)} ({GeneratedAddress(id, i)}) is already taken", "generatedClients");
            }
        }
        else
        {
            for (int i = 0; i < spec.Clients.Count; i++)
            {
                var c = sim.FindHost(spec.Clients[i]);
                if (c is null) return DomainError.NotFound($"host '{spec.Clients[i]}'", $"clients[{i}]");
                if (c.Kind != HostKind.Linux) return DomainError.Invalid($"host '{c.Name}' is scripted", $"clients[{i}]");
                if (c == server) return DomainError.Invalid("a client cannot be the server", $"clients[{i}]");
            }
        }
        // The listener's bind(), asked before its socket is made: the one refusal the kernel itself decides.
        if (OwnedListener(server, spec.Port) is null && server.WildcardBindConflicts(spec.Port, spec.ReuseAddr))
            return DomainError.Conflict(PortHeld(server, spec), "port");

        // Nothing below refuses: the checks above are every way it could.
        Host[] clients;
        if (spec.GeneratedClients > 0)
        {
            clients = new Host[spec.GeneratedClients];
            for (int i = 0; i < clients.Length; i++)
            {
                sim.Interruption.ThrowIfCancellationRequested(); // a large count stops at the caller's wall-time limit too
                clients[i] = Checked(sim.AddHost(GeneratedName(id, i), GeneratedAddress(id, i)));
                Checked(sim.AddLink(clients[i].Name, server.Name, spec.ClientLinkDelay, 0));
            }
        }
        else clients = [.. spec.Clients.Select(name => sim.FindHost(name)!)];
        var w = new Workload(sim, id, spec, server, clients);
        sim.JournalFloor = spec.Level;
        w.Listen();
        sim.Schedule(sim.Now, w, ArrivalTick);
        sim.Schedule(sim.Now, w, SampleTick);
        return w;
    }

    /// <summary>
    /// The workload's listener's bind() refused (tester38 LOW-10: it said "listen … failed", where bind() fails): another
    /// socket holds the port — a connection still closing, or a listener nobody's process owns — and what would let it
    /// bind. SO_REUSEADDR helps only where every socket holding the port set it too and none listens
    /// (inet_csk_bind_conflict() with sk_reuse on both sides), which <see cref="Host.WildcardBindConflicts"/> asks.
    /// </summary>
    static string PortHeld(Host server, WorkloadSpec spec) =>
        $"the workload's listener cannot bind {server.Name}:{spec.Port}: bind() failed with {Errno.EADDRINUSE}, another socket holds the port "
        + $"(a connection still closing, or a listener); {WaitForThePort}, or use another port"
        + (!spec.ReuseAddr && !server.WildcardBindConflicts(spec.Port, reuseAddr: true) ? ", or set reuseAddr (the sockets holding it set SO_REUSEADDR)" : "");

    /// <summary>What <see cref="PortHeld"/> tells an API client to do first; a scenario's run says it in a scenario's terms (ScenarioRunner.StartWorkload).</summary>
    internal const string WaitForThePort = "advance the clock until it is closed";

    static string GeneratedName(int id, int i) => $"w{id}-c{i + 1}";

    static IPv4 GeneratedAddress(int id, int i) => new(IPv4.Parse("100.64.0.0").Value + (uint)(((id - 1) & 15) << 18) + (uint)i + 1);

    static T Checked<T>(Result<T> r) => r.IsOk ? r.Value! : throw new InvalidOperationException($"workload setup refused after its checks: {r.Error!.Message}");

    /// <summary>The server's listener on the port that a process owns (the workload accepts on it), or null.</summary>
    static TcpSocket? OwnedListener(Host server, ushort port) =>
        server.FindListener(new Endpoint(server.Address, port)) is { Owner: not null } l ? l : null;

    /// <summary>Uses the server's listener on the port, or opens one (socket, options, bind, listen) and starts accepting.</summary>
    void Listen()
    {
        if (OwnedListener(_server, Spec.Port) is { } existing)
        {
            _listenerId = existing.Id;
            _serverProcessName = existing.Owner!.Name;
        }
        else
        {
            var s = Call(_server, _serverProcess, SocketCallKind.Socket);
            _listenerId = s.SocketId;
            SetOptions(_server, _serverProcess, _listenerId);
            var bound = Call(_server, _serverProcess, SocketCallKind.Bind, _listenerId, port: Spec.Port);
            var listened = bound.Errno is null ? Call(_server, _serverProcess, SocketCallKind.Listen, _listenerId, backlog: Spec.Backlog) : bound;
            if (listened.Errno is not null) // Start() asked the same rule before anything changed
                throw new InvalidOperationException($"listen on {_server.Name}:{Spec.Port} failed with {listened.Errno} after its check");
            _ownListener = true;
        }
        Accept();
    }

    /// <summary>The accept() asleep on the listener (its id; 0 before the first).</summary>
    long _acceptCallId;

    string? _serverProcessName;
    string ServerProcess => _serverProcessName ?? _serverProcess;

    void IEventTarget.OnDue(Simulation sim, object? payload)
    {
        if (payload is PendingCall call)
        {
            var errno = call.ReturnErrno;
            int child = call.ReturnSocketId;
            sim.RecycleCall(call); // its return is taken: the next call may reuse it
            if (!Done) Accepted(errno, child);
        }
        else if (Done) return;
        else if (ReferenceEquals(payload, ArrivalTick)) Arrive();
        else if (ReferenceEquals(payload, SampleTick)) Sample(scheduleNext: true);
        else if (ReferenceEquals(payload, _drain)) Finish(drained: true);
    }

    void Arrive()
    {
        long i = _started++;
        var client = _clients[i % _clients.Length];
        var process = Spec.CloseStyle == CloseStyle.Kill ? $"{_clientProcess}-{i}" : _clientProcess;
        (_freeClients.TryPop(out var free) ? free.Reuse(client, process) : new ClientConnection(this, client, process)).Begin();
        if (_started < Spec.Connections)
            _sim.Schedule(StartedAt + new SimDuration(Spec.ArrivalOffsetNs(_started)), this, ArrivalTick);
        else
            _sim.ScheduleTimer(_drain, _sim.Now + Spec.DrainLimit);
    }

    /// <summary>One accept() at a time: each returned child starts its server side and the next accept.</summary>
    void Accept()
    {
        var r = Call(_server, ServerProcess, SocketCallKind.Accept, _listenerId, waiter: this);
        if (!r.Blocked) Accepted(r.Errno, r.SocketId);
        else _acceptCallId = r.CallId;
    }

    void Accepted(string? errno, int childId)
    {
        if (errno is not null) return; // the listener went away
        _accepted++;
        (_freeServers.TryPop(out var free) ? free.Reuse(childId) : new ServerConnection(this, childId)).Begin();
        if (!Done) Accept();
    }

    /// <summary>
    /// Connections whose close() returned, taken again by the next ones (a churn keeps as many as are open at once,
    /// where it made two objects per connection).
    /// </summary>
    readonly Stack<ClientConnection> _freeClients = new();
    readonly Stack<ServerConnection> _freeServers = new();

    /// <summary>closeFirst both: the sides waiting for their peer to close with them, by the connection's 4-tuple as its client sees it.</summary>
    readonly Dictionary<FourTuple, Connection> _closingTogether = [];

    void ClientFinished()
    {
        _clientsFinished++;
        CheckDone();
    }

    void ServerFinished()
    {
        _serversFinished++;
        CheckDone();
    }

    void CheckDone()
    {
        if (_started == Spec.Connections && _clientsFinished == _started && _serversFinished == _accepted) Finish(drained: false);
    }

    void Finish(bool drained)
    {
        if (Done) return;
        _unfinished = drained ? (_started - _clientsFinished) + (_accepted - _serversFinished) : 0;
        Sample(scheduleNext: false);
        Done = true;
        EndedAt = _sim.Now;
        // Nothing takes a connection object again: the free ones go (a finished workload of 100,000 kept up to as many).
        _freeClients.Clear();
        _freeServers.Clear();
        _sim.DropTimer(_drain); // nothing stays pending for a finished workload (untilIdle ends with it)
        // Its accept() ends with it — on an adopted listener too (engine rules 4), where it slept on in the owner's process
        // and took the owner's next connection (an accept() the owner never made; what a log stored under older rules
        // rebuilds). The thread the workload ran is signalled: inet_csk_wait_for_connect() returns sock_intr_errno()
        // (EINTR) and the listener stays the owner's.
        _sim.JournalFloor = Spec.Level;
        if (_ownListener || _sim.EngineRules >= EngineRules.WorkloadAcceptEndsWithIt) _sim.InterruptCall(_acceptCallId);
        if (_ownListener) Call(_server, ServerProcess, SocketCallKind.Close, _listenerId);
        _sim.JournalFloor = _floorBefore;
    }

    /// <summary>
    /// Reads every host's counts (O(1) each: the state counters TransitionTo keeps) and schedules the next sample. Samples
    /// lie on a grid of <see cref="Resolution"/> from the start (the last one, at the end, may lie between); past
    /// <see cref="WorkloadSpec.MaxSamples"/> the series is coarsened (<see cref="Coarsen"/>) and the next sample is the
    /// next point of the coarser grid.
    /// </summary>
    void Sample(bool scheduleNext)
    {
        int k = 0;
        foreach (var h in Hosts())
        {
            _series[k++].Add(new WorkloadSample(_sim.Now.Ns, h.CountInState(TcpState.Established), h.TimeWaitRows, h.FinWait2Rows,
                h.CountInState(TcpState.CloseWait),
                h.OrphanCount, h.TcpMemPages, h.InUse, h.TimeWaitCount, h.Allocated));
        }
        if (!_watchingClock)
        {
            _sim.ClockAdvancing += OnClockLeaving; // until the clock leaves this instant (Workload.Settled.cs)
            _watchingClock = true;
        }
        OnSample?.Invoke(_series[0].Count - 1);
        if (_series[0].Count > WorkloadSpec.MaxSamples) Coarsen(keepLast: !scheduleNext);
        if (!scheduleNext) return;
        long since = _sim.Now.Ns - StartedAt.Ns, step = Resolution.Ns;
        _sim.Schedule(new SimTime(StartedAt.Ns + (since / step + 1) * step), this, SampleTick);
    }

    /// <summary>
    /// Halves the series: the resolution doubles and the samples off the new grid (every other one, from the second) go,
    /// so a long run's series never holds more than <see cref="WorkloadSpec.MaxSamples"/> samples per host.
    /// </summary>
    /// <param name="keepLast">The last sample is the end's (off the grid): it stays.</param>
    void Coarsen(bool keepLast)
    {
        Resolution = new SimDuration(Resolution.Ns * 2);
        foreach (var series in _series)
        {
            var last = series[^1];
            int kept = 0;
            for (int i = 0; i < series.Count; i += 2) series[kept++] = series[i];
            series.RemoveRange(kept, series.Count - kept);
            if (keepLast && !ReferenceEquals(series[^1], last)) series.Add(last);
        }
        ForgetSettledOffTheSeries();
    }

    /// <summary>
    /// What moved after the start as it stood at the workload's end, once <see cref="Freeze"/> took it: later commands and
    /// advances move the hosts' counters, log lines and the simulation's events, not what the workload did (tester38
    /// MEDIUM-8: a GET after an advance answered the last connection's TIME-WAIT and later events as the workload's, where
    /// its POST had not). The rest of a finished workload's outcome (series, connect results, end) no longer changes.
    /// </summary>
    (List<HostOutcome> Hosts, long Events)? _atEnd;

    /// <summary>
    /// Takes the outcome of a finished workload for good: when the command that ran it to its end returns (what its answer
    /// says), else when the clock leaves the instant it ended at (<see cref="OnClockLeaving"/>) — every event due at that
    /// instant counted, as the command's run counts them. A rebuild replays the same commands, so it takes the same outcome.
    /// </summary>
    internal void Freeze()
    {
        if (Done && _atEnd is null) _atEnd = (Outcomes(), _sim.EventsProcessed - _eventsAtStart);
    }

    /// <summary>The counters each host moved since the start, and the kernel log lines it printed.</summary>
    List<HostOutcome> Outcomes()
    {
        var counters = Enum.GetValues<MibCounter>();
        return [.. Hosts().Select((h, k) =>
        {
            var moved = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var c in counters)
            {
                long delta = h.Mib[c] - (_mibAtStart[k] is { } start ? start[(int)c] : 0);
                if (delta != 0) moved[$"{Mib.Group(c)}.{Mib.Name(c)}"] = delta;
            }
            return new HostOutcome(h.Name, moved, [.. h.KernelLog.Skip(_logAtStart[k])]);
        })];
    }

    /// <summary>The outcome so far; once the workload ended, as it stood then (<see cref="Freeze"/>).</summary>
    public WorkloadResult Result()
    {
        var hosts = Hosts();
        var (outcomes, events) = _atEnd ?? (Outcomes(), _sim.EventsProcessed - _eventsAtStart);
        // Completed only when every connection finished: one its drain limit ended says so, with the sides still open then.
        bool drainedOut = Done && _unfinished > 0;
        return new WorkloadResult(Id, Done && !drainedOut, Truncated, Spec.Connections, _started, _clientsFinished,
            OpenConnections,
            StartedAt.Ns, (Done ? EndedAt : _sim.Now).Ns, events,
            ConnectResults(),
            [.. hosts.Select((h, k) => new HostSeries(h.Name, [.. _series[k]]))], outcomes, Resolution.Ns,
            drainedOut ? WorkloadResult.StoppedByDrainLimit : Done || PastHorizon is null ? null : "horizon", Done ? null : PastHorizon?.Ns);
    }

    // ---- calls ------------------------------------------------------------------------------

    /// <remarks>
    /// Never inlined: its <see cref="CallArgs"/> (≈ 200 B, with references) is then one temporary of this frame, where
    /// inlined into a connection's step each call site kept one of its own, all zeroed whenever the step ran (600–770 B
    /// a step; scale session 29's profile).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    CallHandle Call(Host host, string process, SocketCallKind kind, int socketId = 0, IEventTarget? waiter = null, ushort port = 0,
        int backlog = 128, long bytes = -1, SocketOption option = default, int value = 0, int onOff = 0, ShutdownHow how = default,
        string? toHost = null, ushort toPort = 0)
    {
        // No request object and no name lookups per call: the host (and connect()'s destination, always the
        // server) are already resolved.
        var args = new CallArgs(host.Name, process, kind)
        {
            SocketId = socketId, Port = port, Backlog = backlog, Bytes = bytes, Option = option, Value = value, LingerOnOff = onOff,
            How = how, ToHost = toHost, ToPort = toPort, HostRef = host,
            Remote = toHost is null ? null : new Endpoint(_server.Address, toPort),
        };
        var r = _sim.Call(in args, waiter);
        if (r.IsOk) return r.Value;
        // The socket went under the workload: a scenario step or a call between commands closed it, or killed the process
        // holding it (the workload's "wN"/"wN-srv", or the owner of a listener it adopted). A program's next call on the
        // closed descriptor fails EBADF (fdget() finds no file): so does the workload's, and the connection ends on it.
        if (r.Error!.Code == "not-found" && socketId != 0) return new CallHandle(0, socketId, Blocked: false, Result: -1, Errno.EBADF);
        throw new InvalidOperationException($"workload call refused: {r.Error.Message}"); // every other reference is the workload's own
    }

    void SetOptions(Host host, string process, int socketId)
    {
        if (Spec.ReuseAddr) Call(host, process, SocketCallKind.Setsockopt, socketId, option: SocketOption.SO_REUSEADDR, value: 1);
        if (Spec.Linger2 is { } l2) Call(host, process, SocketCallKind.Setsockopt, socketId, option: SocketOption.TCP_LINGER2, value: l2);
        if (Spec.KeepAlive) Call(host, process, SocketCallKind.Setsockopt, socketId, option: SocketOption.SO_KEEPALIVE, value: 1);
        if (Spec.UserTimeoutMs > 0) Call(host, process, SocketCallKind.Setsockopt, socketId, option: SocketOption.TCP_USER_TIMEOUT, value: Spec.UserTimeoutMs);
    }

    bool HasOptions => Spec.ReuseAddr || Spec.Linger2 is not null || Spec.KeepAlive || Spec.UserTimeoutMs > 0;
}
