using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using TcpOption = SimService.Domain.Tcp.SocketOption;
using TcpShutdownHow = SimService.Domain.Tcp.ShutdownHow;

namespace SimService.Domain.Scenarios;

/// <summary>Steps: calls (with the alias table and call expectations), injected segments, link, sysctl and kill steps.</summary>
public sealed partial class ScenarioRunner
{
    /// <summary>The window an injected segment advertises when its step gives none (packetdrill's usual value).</summary>
    public const int DefaultInjectWindow = 65535;

    /// <summary>Alias → socket id, bound when the socket exists (accept: when it returns).</summary>
    readonly Dictionary<string, int> _aliases = new(StringComparer.Ordinal);

    /// <summary>
    /// Alias → the descriptor it names (socket()'s, accept()'s, or dup()'s result). A call through an alias
    /// names that descriptor: after a dup, closing one alias leaves the other open, and a closed alias is EBADF.
    /// </summary>
    readonly Dictionary<string, int> _aliasFds = new(StringComparer.Ordinal);

    /// <summary>Alias → why it names no socket yet (an accept not returned or failed).</summary>
    readonly Dictionary<string, string> _unbound = new(StringComparer.Ordinal);

    /// <summary>Calls issued by steps and not returned yet, by call id (sorted: deterministic end-of-run order).</summary>
    readonly SortedDictionary<long, (CallStep Step, SimTime Issued)> _pendingCalls = [];

    bool RunSteps()
    {
        foreach (var step in _doc.Steps)
        {
            // Steps that make no event (a million sysctl steps) stop at the caller's limit too, not only between two events
            // (tester41 MEDIUM-2: a SIGTERM waited 17 s for them, and the file was reported passed).
            _sim.Interruption.ThrowIfCancellationRequested();
            _runningAt = step.Path;
            if (!Advance(step.At, step.Path)) return false;
            if (step is WorkloadStep workload && _sim.Hosts.Count + (long)workload.Spec.GeneratedClients > _maxHosts)
                return HostsPastLimit(WorkloadStep.GeneratedClientsPath(step.Path), _sim.Hosts.Count + (long)workload.Spec.GeneratedClients);
            Execute(step);
            ObserveJournal();
            // A step whose own instant took the count past the budget stops the run at it, as an advance that ran out does.
            if (_eventsProcessed > _eventBudget) return BudgetSpent(step.Path, step.At);
            if (_sim.JournalFull) return JournalFilled(step.Path);
            if (_sim.SocketsFull) return SocketsPassed(step is WorkloadStep ? JsonPath.Member(step.Path, "workload") : step.Path);
        }
        return true;
    }

    void Execute(ScenarioStep step)
    {
        switch (step)
        {
            case CallStep call: Call(call); break;
            case InjectStep inject: Inject(inject); break;
            case LinkStep link: Report(step.Path, Apply(ChangeLink(link)).Error); break;
            case SysctlStep sysctl: SetSysctls(sysctl); break;
            case KillStep kill: Report(step.Path, Apply(new KillCommand(kill.Host, kill.Process, kill.Signal.ToWireName())).Error); break;
            case WorkloadStep workload: StartWorkload(workload); break;
            case ExpectStep expect:
                CheckState(expect.Expect, JsonPath.Member(step.Path, "expect"));
                _atExpect?.Invoke(expect, _sim);
                break;
            default: throw new InvalidOperationException($"unknown step type {step.GetType().Name} at {step.Path}");
        }
    }

    /// <summary>The paths of the workload steps started, by workload id − 1 (Simulation.StartWorkload numbers them in order).</summary>
    readonly List<string> _workloadPaths = [];

    /// <summary>
    /// Simulation.StartWorkload's rule, one workload at a time, said in the scenario's terms: a scenario has no clock to
    /// advance, as the engine's refusal tells an API client (tester39 LOW-5); and so is a port the last workload's connections still hold.
    /// </summary>
    void StartWorkload(WorkloadStep step)
    {
        if (_sim.Workloads.FirstOrDefault(w => !w.Done) is { } running)
        {
            Error(step.Path, $"the workload of {_workloadPaths[running.Id - 1]} is still running at {_sim.Now}: one workload runs at a time;"
                + " start this step after it ends (or give that workload a shorter drainLimit)");
            return;
        }
        var started = Apply(new WorkloadCommand(step.SpecUnder(_sim.EngineRules), RunToEnd: false));
        if (started.IsOk) _workloadPaths.Add(step.Path);
        // The port still held: a scenario has no clock to advance either; its writer starts the step later.
        Report(step.Path, started.Error is { Field: "port" } held
            ? held with { Message = held.Message.Replace(Workloads.Workload.WaitForThePort, "start this step later (a later \"at\"), once it is closed", StringComparison.Ordinal) }
            : started.Error);
    }

    /// <summary>Both directions, or only <c>direction</c>'s ("a->b") when the step gives one.</summary>
    static ChangeLinkCommand ChangeLink(LinkStep link) => link.Direction is { } d
        ? new ChangeLinkCommand(d.From, d.To, OneDirection: true, link.Delay, link.Loss, Blackhole: null, link.LossBySegment)
        : new ChangeLinkCommand(link.A, link.B, OneDirection: false, link.Delay, link.Loss, Blackhole: null, link.LossBySegment);

    void SetSysctls(SysctlStep step)
    {
        var values = JsonPath.Member(JsonPath.Member(step.Path, "sysctl"), "values");
        foreach (var s in step.Values) Report(JsonPath.Member(values, s.Name), Apply(new SetSysctlCommand(step.Host, s.Name, s.Text)).Error);
    }

    // ---- calls --------------------------------------------------------------------------

    void Call(CallStep step)
    {
        int socketId = 0;
        if (step.Socket is { } alias && !TryResolve(alias, out socketId, out var why))
        {
            CallNotMade(step, why);
            return;
        }
        var issued = Apply(new SocketCallCommand(Request(step, socketId) with { Fd = DescriptorOf(step.Socket) }));
        if (!issued.IsOk)
        {
            CallNotMade(step, issued.Error!.Message);
            return;
        }
        var handle = issued.Call!.Value;
        if (step.As is { } name)
        {
            if (step.Call == SocketCall.Accept) _unbound[name] = $"the accept at {step.Path} has not returned";
            // socket() and the listen/connect forms that make one: EMFILE left no descriptor to name, as an accept that failed.
            else if (handle.SocketId == 0 && handle.Errno is { } errno) _unbound[name] = $"the {step.Call.ToWireName()} at {step.Path} failed with {errno}";
            else
            {
                _aliases[name] = handle.SocketId;
                _aliasFds[name] = step.Call is SocketCall.Dup or SocketCall.Dup2 ? (int)handle.Result : _sim.FindSocket(handle.SocketId)?.Fd ?? -1;
            }
        }
        _pendingCalls[handle.CallId] = (step, _sim.Now);
    }

    /// <summary>A call the runner could not make: a run error, and each of its expectations fails.</summary>
    void CallNotMade(CallStep step, string why)
    {
        Error(step.Path, why);
        if (step.Expect is { } expect) FailCallChecks(step, expect, $"call not made: {why}");
    }

    static SocketCallRequest Request(CallStep s, int socketId)
    {
        var request = new SocketCallRequest(s.Host, s.Process, KindOf(s.Call))
        {
            SocketId = socketId,
            Port = (ushort)(s.Port ?? 0),
            Backlog = s.Backlog ?? CallStep.DefaultBacklog,
            ReuseAddr = s.ReuseAddr,
            ToHost = s.To?.Host,
            ToPort = (ushort)(s.To?.Port ?? 0),
            BindPort = (ushort?)s.Bind?.Port,
            BindReuseAddr = s.Bind?.ReuseAddr ?? false,
            Bytes = s.Bytes ?? -1,
            How = s.How is { } how ? HowOf(how) : default,
            Option = s.Option is { } option ? OptionOf(option) : default,
            NonBlock = s.NonBlock ?? false,
            Events = s.Events ?? 0,
            TimeoutMs = s.TimeoutMs ?? 0,
            NewFd = s.NewFd ?? 0,
            Unspec = s.Unspec ?? false,
            Address = s.Address is { } address ? Ipv4Text.Format(address) : null,
            Flags = s.Flags ?? MsgFlags.None,
            RlimCur = s.Soft ?? 0,
            RlimMax = s.Hard ?? 0,
        };
        return s.Value switch
        {
            IntSockoptValue v => request with { Value = v.Value },
            LingerSockoptValue l => request with { Value = l.Seconds, LingerOnOff = l.OnOff },
            TimevalSockoptValue tv => request with { TvSec = tv.Sec, TvUsec = tv.Usec },
            PortRangeSockoptValue pr => request with { Value = unchecked((int)((uint)pr.Hi << 16 | (uint)pr.Lo)) },
            StringSockoptValue text => request with { Text = text.Text },
            _ => request,
        };
    }

    static SocketCallKind KindOf(SocketCall call) => call switch
    {
        SocketCall.Socket => SocketCallKind.Socket,
        SocketCall.Bind => SocketCallKind.Bind,
        SocketCall.Listen => SocketCallKind.Listen,
        SocketCall.Connect => SocketCallKind.Connect,
        SocketCall.Accept => SocketCallKind.Accept,
        SocketCall.Send => SocketCallKind.Send,
        SocketCall.Recv => SocketCallKind.Recv,
        SocketCall.Shutdown => SocketCallKind.Shutdown,
        SocketCall.Close => SocketCallKind.Close,
        SocketCall.Setsockopt => SocketCallKind.Setsockopt,
        SocketCall.Getsockopt => SocketCallKind.Getsockopt,
        SocketCall.Getpeername => SocketCallKind.Getpeername,
        SocketCall.Fcntl => SocketCallKind.Fcntl,
        SocketCall.Poll => SocketCallKind.Poll,
        SocketCall.Dup => SocketCallKind.Dup,
        SocketCall.Dup2 => SocketCallKind.Dup2,
        SocketCall.Setrlimit => SocketCallKind.Setrlimit,
        _ => throw new ArgumentOutOfRangeException(nameof(call), call, null),
    };

    static TcpShutdownHow HowOf(ShutdownHow how) => how switch
    {
        ShutdownHow.Read => TcpShutdownHow.SHUT_RD,
        ShutdownHow.Write => TcpShutdownHow.SHUT_WR,
        ShutdownHow.ReadWrite => TcpShutdownHow.SHUT_RDWR,
        _ => throw new ArgumentOutOfRangeException(nameof(how), how, null),
    };

    static TcpOption OptionOf(SocketOption option) => option switch
    {
        SocketOption.SoLinger => TcpOption.SO_LINGER,
        SocketOption.TcpLinger2 => TcpOption.TCP_LINGER2,
        SocketOption.SoReuseAddr => TcpOption.SO_REUSEADDR,
        SocketOption.SoReusePort => TcpOption.SO_REUSEPORT,
        SocketOption.SoKeepAlive => TcpOption.SO_KEEPALIVE,
        SocketOption.TcpKeepIdle => TcpOption.TCP_KEEPIDLE,
        SocketOption.TcpKeepIntvl => TcpOption.TCP_KEEPINTVL,
        SocketOption.TcpKeepCnt => TcpOption.TCP_KEEPCNT,
        SocketOption.TcpUserTimeout => TcpOption.TCP_USER_TIMEOUT,
        SocketOption.SoSndBuf => TcpOption.SO_SNDBUF,
        SocketOption.SoRcvBuf => TcpOption.SO_RCVBUF,
        SocketOption.SoError => TcpOption.SO_ERROR,
        SocketOption.TcpInfo => TcpOption.TCP_INFO,
        SocketOption.SoMeminfo => TcpOption.SO_MEMINFO,
        SocketOption.SoSndTimeo => TcpOption.SO_SNDTIMEO,
        SocketOption.SoRcvTimeo => TcpOption.SO_RCVTIMEO,
        SocketOption.IpLocalPortRange => TcpOption.IP_LOCAL_PORT_RANGE,
        SocketOption.IpBindAddressNoPort => TcpOption.IP_BIND_ADDRESS_NO_PORT,
        SocketOption.TcpNoDelay => TcpOption.TCP_NODELAY,
        SocketOption.TcpCork => TcpOption.TCP_CORK,
        SocketOption.TcpQuickAck => TcpOption.TCP_QUICKACK,
        SocketOption.TcpSynCnt => TcpOption.TCP_SYNCNT,
        SocketOption.TcpDeferAccept => TcpOption.TCP_DEFER_ACCEPT,
        SocketOption.TcpMaxSeg => TcpOption.TCP_MAXSEG,
        SocketOption.TcpCongestion => TcpOption.TCP_CONGESTION,
        SocketOption.SoRcvLowat => TcpOption.SO_RCVLOWAT,
        SocketOption.TcpNotsentLowat => TcpOption.TCP_NOTSENT_LOWAT,
        SocketOption.TcpRtoMaxMs => TcpOption.TCP_RTO_MAX_MS,
        _ => throw new ArgumentOutOfRangeException(nameof(option), option, null),
    };

    /// <summary>The socket an alias names now, or why it names none.</summary>
    /// <summary>The descriptor a call through <paramref name="alias"/> names (0, the socket's own, when unknown).</summary>
    int? DescriptorOf(string? alias) => alias is not null && _aliasFds.TryGetValue(alias, out int fd) && fd >= 0 ? fd : null;

    bool TryResolve(string alias, out int socketId, out string why)
    {
        why = "";
        if (_aliases.TryGetValue(alias, out socketId)) return true;
        why = $"socket alias \"{alias}\" names no socket yet: "
            + (_unbound.TryGetValue(alias, out var reason) ? reason : "no step run so far created it");
        return false;
    }

    /// <summary>A step's call returned: an accept binds its alias, and the call's expectations are settled.</summary>
    void OnCallReturned(CallReturned returned)
    {
        if (!_pendingCalls.Remove(returned.CallId, out var pending)) return;
        var step = pending.Step;
        if (step.Call == SocketCall.Accept && step.As is { } alias)
        {
            if (returned.Errno is null)
            {
                _aliases[alias] = returned.SocketId;
                _aliasFds[alias] = (int)returned.Result;
                _unbound.Remove(alias);
            }
            else _unbound[alias] = $"the accept at {step.Path} failed with {returned.Errno}";
        }
        if (step.Expect is { } expect) CheckCall(step, expect, returned);
    }

    void CheckCall(CallStep step, CallExpect expect, CallReturned returned) =>
        _checks.AddRange(CallChecks(step, expect, returned, HostPortAddress, SimDuration.Zero));

    /// <summary>
    /// The checks of a call's <c>expect</c> against what the call returned; <paramref name="hostPortAddress"/> turns a
    /// "host:port" value into the address the call reports, and <paramref name="slack"/> widens <c>returnsAfter</c>
    /// either way (zero for the engine; the real kernel's run allows packetdrill's 4 ms).
    /// </summary>
    internal static List<CheckResult> CallChecks(CallStep step, CallExpect expect, CallReturned returned, Func<string, string?> hostPortAddress, SimDuration slack)
    {
        var checks = new List<CheckResult>();
        var path = JsonPath.Member(step.Path, "expect");
        if (expect.Result is { } result)
        {
            bool passed = result.Errno is { } errno
                ? returned.Errno is { } got && CanonicalErrno(got) == errno.Canonical
                : returned.Errno is null && returned.Result == result.Value;
            checks.Add(new CheckResult(passed, CheckKinds.CallResult, JsonPath.Member(path, "result"), result.ToString(),
                returned.Errno ?? returned.Result.ToString(System.Globalization.CultureInfo.InvariantCulture), returned.At));
        }
        if (expect.ReturnsAfter is { } after)
            checks.Add(new CheckResult(after.Matches(returned.Blocked, slack), CheckKinds.CallReturnsAfter, JsonPath.Member(path, "returnsAfter"),
                $"returns after {after}", $"returned after {returned.Blocked}", returned.At));
        if (expect.Value is { } value)
            checks.Add(new CheckResult(ValueMatches(value, returned.Value, hostPortAddress), CheckKinds.CallValue, JsonPath.Member(path, "value"),
                value, returned.Value ?? (returned.Errno is { } e ? $"failed with {e}" : "no value"), returned.At));
        return checks;
    }

    /// <summary>
    /// A call's value against the expectation: an object matches when every member it names matches
    /// (others are not checked); a "host:port" naming a host of the scenario is that host's address.
    /// </summary>
    static bool ValueMatches(string expected, string? actual, Func<string, string?> hostPortAddress)
    {
        if (actual is null) return false;
        using var e = System.Text.Json.JsonDocument.Parse(expected);
        using var a = System.Text.Json.JsonDocument.Parse(actual);
        return Same(e.RootElement, a.RootElement);

        bool Same(System.Text.Json.JsonElement x, System.Text.Json.JsonElement y) => x.ValueKind switch
        {
            System.Text.Json.JsonValueKind.Object => y.ValueKind == System.Text.Json.JsonValueKind.Object
                && x.EnumerateObject().All(m => y.TryGetProperty(m.Name, out var v) && Same(m.Value, v)),
            System.Text.Json.JsonValueKind.String => y.ValueKind == System.Text.Json.JsonValueKind.String
                && (x.GetString() == y.GetString() || hostPortAddress(x.GetString()!) == y.GetString()),
            // Numbers by the integer rule values are read with (JsonInteger): an expected 1.0 is the 1 a call wrote.
            System.Text.Json.JsonValueKind.Number when JsonInteger.Read(x, long.MinValue, long.MaxValue, out long n) is null =>
                JsonInteger.Read(y, long.MinValue, long.MaxValue, out long m) is null && n == m,
            _ => x.GetRawText() == y.GetRawText(),
        };
    }

    /// <summary>"server:80" as the address the call reports ("10.0.0.2:80"), or null when it names no host.</summary>
    string? HostPortAddress(string text)
    {
        int colon = text.LastIndexOf(':');
        return colon > 0 && _sim.FindHost(text[..colon]) is { } host ? $"{host.Address}:{text[(colon + 1)..]}" : null;
    }

    static string CanonicalErrno(string name) => ErrnoName.TryParse(name, out var errno) ? errno.Canonical : name;

    /// <summary>At the end of the run: the expectations of calls still blocked fail.</summary>
    void FailUnreturnedCalls()
    {
        foreach (var (step, issued) in _pendingCalls.Values)
            if (step.Expect is { } expect)
                FailCallChecks(step, expect, $"still blocked at the end of the run (issued at {issued})");
    }

    void FailCallChecks(CallStep step, CallExpect expect, string actual) => _checks.AddRange(FailedCallChecks(step, expect, actual, _sim.Now));

    /// <summary>Each expectation of a call that was not made or never returned, failed with <paramref name="actual"/> as the reason.</summary>
    internal static List<CheckResult> FailedCallChecks(CallStep step, CallExpect expect, string actual, SimTime at)
    {
        var checks = new List<CheckResult>();
        var path = JsonPath.Member(step.Path, "expect");
        if (expect.Result is { } result)
            checks.Add(new CheckResult(false, CheckKinds.CallResult, JsonPath.Member(path, "result"), result.ToString(), actual, at));
        if (expect.ReturnsAfter is { } after)
            checks.Add(new CheckResult(false, CheckKinds.CallReturnsAfter, JsonPath.Member(path, "returnsAfter"), $"returns after {after}", actual, at));
        if (expect.Value is { } value)
            checks.Add(new CheckResult(false, CheckKinds.CallValue, JsonPath.Member(path, "value"), value, actual, at));
        return checks;
    }

    // ---- injected segments --------------------------------------------------------------

    /// <summary>
    /// A scripted host sends a segment: seq as written, ack relative to the first SYN the scripted
    /// host received on this connection (absolute when it has received none), as packetdrill does.
    /// </summary>
    void Inject(InjectStep step)
    {
        var from = _sim.FindHost(step.From.Host);
        var to = _sim.FindHost(step.To.Host);
        if (from is null || to is null)
        {
            Error(step.Path, $"host \"{(from is null ? step.From.Host : step.To.Host)}\" does not exist");
            return;
        }
        var tuple = new FourTuple(new Endpoint(from.Address, (ushort)step.From.Port), new Endpoint(to.Address, (ushort)step.To.Port));
        uint peerIsn = from.PeerIsn(tuple) ?? 0;
        uint ack = step.Ack is { } relative ? unchecked(relative + peerIsn) : 0;
        // The command carries absolute numbers, so replaying it needs no knowledge of the peer's ISN.
        Report(step.Path, Apply(new InjectCommand(step.From.Host, (ushort)step.From.Port, step.To.Host, (ushort)step.To.Port,
            step.Flags, step.Seq, ack, (ushort)(step.Win ?? DefaultInjectWindow), step.Len ?? 0,
            step.Options is { } options ? WireOptions(options, peerIsn, from.LastTsVal(tuple)) : null)).Error);
    }

    /// <summary>
    /// An inject step's options as they go on the wire: SACK edges made absolute with the peer's ISN
    /// (as ack is), an "echo" TSecr replaced by the last TSval the scripted host received (0 if none).
    /// </summary>
    static TcpOptions WireOptions(InjectOptions o, uint peerIsn, uint? lastTsVal)
    {
        var sack = o.Sack.Select(b => new SackBlock(unchecked(b.Left + peerIsn), unchecked(b.Right + peerIsn))).ToArray();
        return new TcpOptions(
            Mss: (ushort)(o.Mss ?? 0),
            WindowScale: (byte?)o.WindowScale,
            SackPermitted: o.SackPermitted,
            HasTimestamp: o.Timestamp is not null,
            TsVal: o.Timestamp?.Val ?? 0,
            TsEcr: o.Timestamp is { EchoLast: true } ? lastTsVal ?? 0 : o.Timestamp?.Ecr ?? 0,
            Sack: SackBlocks.Of(sack));
    }
}
