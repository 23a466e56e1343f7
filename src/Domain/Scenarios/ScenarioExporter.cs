using System.Collections.Immutable;
using System.Text.RegularExpressions;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Time;
using TcpCall = SimService.Domain.Tcp.SocketCallKind;

namespace SimService.Domain.Scenarios;

/// <summary>A simulation's inputs, as the exporter needs them: its profile, seed, name and command log.</summary>
/// <param name="ScenarioJson">The scenario the simulation was made from, if any (then it is the export while there are no commands).</param>
/// <param name="Description">The exported document's description.</param>
/// <param name="EngineRules">The rules the log was recorded under (<see cref="Commands.EngineRules"/>): the export replays it
/// under them and writes them as the document's <c>engineRules</c>, so the document's run follows them too.</param>
public sealed record ExportSource(string Name, string? Description, KernelProfile Profile, long Seed, string? ScenarioJson,
    IReadOnlyList<SimCommand> Commands, int EngineRules = global::SimService.Domain.Commands.EngineRules.Current);

/// <summary>Why a simulation cannot be exported; <see cref="CommandNumber"/> is the 1-based log position of the culprit.</summary>
public sealed record ExportRefusal(string Reason, long? CommandNumber);

/// <summary>A scenario document (JSON text) or the reason there is none.</summary>
public sealed record ExportResult(string? Json, ExportRefusal? Refusal)
{
    public bool IsOk => Refusal is null;
}

/// <summary>
/// Writes a simulation's command log as a scenario document whose run produces the same journal. It replays
/// the log on a fresh engine and turns each command into what the scenario runner does with the same effect:
/// <list type="bullet">
/// <item>hosts (with their sysctls, as the kernel holds them) and links added at time 0 before anything else
/// are the document's <c>hosts</c> and <c>links</c>, set up in the same order;</item>
/// <item>every later command is a step at the virtual time it was applied (an absolute <c>at</c>); calls name
/// sockets <c>s&lt;socketId&gt;</c>, the socket an accept returned included; an opened connection is its
/// listen (when it made one), connect and accept steps;</item>
/// <item>advances are not steps: the runner runs the clock to each step's time (every event due at or before
/// it first), as the advances did; <c>runUntil</c> ends the run at the simulation's current time.</item>
/// </list>
/// What the format cannot say is refused rather than exported wrong: a host or link added later (the runner
/// builds them first, and a host draws from the seeded generator when it is made), a blackhole (the format has
/// loss 1.0, which journals differently), NAT, and a call made while events at
/// its own time were still pending (after an advance that stopped on its event budget, or, under
/// <see cref="EngineRules.Original"/>, with a zero-delay link), since the runner processes those before every step. The
/// document carries the log's engine rules (<c>engineRules</c>), so its run and later commands follow them.
/// The replay is as heavy as the log: it stops between commands and between events once <c>interruption</c> is
/// cancelled (an <see cref="OperationCanceledException"/>; nothing is returned), and passes its <c>turn</c> there while
/// other work waits for it (<see cref="Simulation.BetweenSteps"/>).
/// </summary>
public static partial class ScenarioExporter
{
    /// <param name="source">The simulation's inputs.</param>
    /// <param name="interruption">Stops the export between commands and between events (<see cref="OperationCanceledException"/>).</param>
    /// <param name="turn">The turn of a shared processor (<see cref="Simulation.Turn"/>), passed there while someone waits.</param>
    public static ExportResult Export(ExportSource source, CancellationToken interruption = default, EngineTurn? turn = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.ScenarioJson is { } scenario)
            return source.Commands.Count == 0
                ? new ExportResult(scenario, null)
                : new ExportResult(null, new ExportRefusal("The simulation was made from a scenario and then changed by commands; " +
                    "its commands cannot name the scenario's sockets. Export is only its scenario while it has no commands.", 1));
        return new Writer(source, interruption, turn).Write();
    }

    /// <summary>The log name of a command ("socket-call", "open-connection"), for messages.</summary>
    public static string KindOf(SimCommand command) =>
        KebabBoundary().Replace(command.GetType().Name.Replace("Command", "", StringComparison.Ordinal), "-$1").ToLowerInvariant();

    private sealed class Writer(ExportSource source, CancellationToken interruption, EngineTurn? turn)
    {
        private readonly Simulation _engine = new(source.Profile, source.Seed) { Interruption = interruption, Turn = turn, EngineRules = source.EngineRules };
        private readonly List<ScenarioHost> _hosts = [];
        private readonly List<ScenarioLink> _links = [];
        private readonly List<Func<int, ScenarioStep>> _steps = [];
        private readonly HashSet<int> _named = [];
        private readonly List<long> _acceptsPending = [];
        private readonly Dictionary<long, int> _accepted = [];
        /// <summary>(socket, descriptor) → the alias naming that descriptor: the socket's own, or a dup's.</summary>
        private readonly Dictionary<(int Socket, int Fd), string> _fdAliases = [];
        private long _number;
        private SimCommand _command = null!;
        /// <summary>The command before that stopped on its event budget ("command 4 (workload) stopped on its event budget (5 events) at 2ms"), or null.</summary>
        private string? _cut;
        private long? _cutNumber;

        public ExportResult Write()
        {
            bool setup = true;
            foreach (var command in source.Commands)
            {
                _engine.BetweenSteps(); // a long log stops here once cancelled (and its events between themselves)
                _number++;
                _command = command;
                if (setup && command is AddHostCommand or AddLinkCommand && _engine.Now == SimTime.Zero)
                {
                    if (Apply(command, out _) is { } refused) return Refused(refused);
                    if (command is AddHostCommand host && Host(host) is { } notHost) return Refused(notHost);
                    if (command is AddLinkCommand link) _links.Add(new ScenarioLink(link.A, link.B, link.Delay, link.Loss, link.LossBySegment));
                    continue;
                }
                setup = false;
                if (command is AddHostCommand or AddLinkCommand or AddNatCommand)
                    return Refused(No("hosts, NATs and links can be exported only when they were all added at time 0 before any other " +
                        "command (the scenario runner builds them first, and making a host draws from the seeded generator)"));
                if (command is not AdvanceCommand && EventsDue() is { } due) return Refused(due);
                var refusal = command is OpenConnectionCommand open ? Connection(open) : Other(command);
                if (refusal is not null) return Refused(refusal);
                ObserveAccepts();
            }
            if (_engine.RunUntil(_engine.Now, eventBudget: 0).Truncated)
                return Refused(new ExportRefusal(_cut is null
                    ? $"The last command left events due at {_engine.Now} still pending; a scenario's run would process them."
                    : $"{char.ToUpperInvariant(_cut[0])}{_cut[1..]} with events due then still pending; a scenario's run would process them.", _cutNumber));
            _engine.BetweenSteps();
            return Document();
        }

        private ExportRefusal? Other(SimCommand command)
        {
            var at = _engine.Now;
            int journalStart = _engine.Journal.Count;
            var through = command is SocketCallCommand c ? Through(c.Request) : null;
            if (Apply(command, out var outcome) is { } failure) return failure;
            return Step(command, outcome, at, journalStart, through);
        }

        /// <summary>The same command on the export engine, each of its calls a step (checked like any call).</summary>
        private ExportRefusal? Connection(OpenConnectionCommand open)
        {
            ExportRefusal? refusal = null;
            var opened = ConnectionOpener.Open(_engine, open, call =>
            {
                refusal ??= EventsDue();
                var at = _engine.Now;
                var through = Through(call.Request);
                var outcome = CommandApplier.Apply(_engine, call);
                if (outcome.Call is { } handle) refusal ??= Call(call.Request, handle, at, through);
                return outcome;
            });
            return opened.IsOk ? refusal : No($"the engine refused it on replay ({opened.Error!.Message})");
        }

        private static ExportResult Refused(ExportRefusal refusal) => new(null, refusal);

        private ExportResult Document()
        {
            var steps = _steps.Select((step, i) => step(i)).ToImmutableArray();
            var last = steps.IsEmpty ? SimTime.Zero : steps[^1].At;
            var document = new ScenarioDocument(Slug(source.Name), source.Description, _engine.Profile, source.Seed, [.. _hosts], [],
                [.. _links], steps, null, _engine.Now - last, source.EngineRules);
            var json = ScenarioWriter.ToJson(document);
            var parsed = ScenarioParser.Parse(json);
            return parsed.IsValid
                ? new ExportResult(json, null)
                : Refused(new ExportRefusal("The scenario format cannot express this simulation: " +
                    string.Join("; ", parsed.Errors.Select(e => e.ToString())), null));
        }

        private ExportRefusal? Apply(SimCommand command, out CommandOutcome outcome)
        {
            outcome = CommandApplier.Apply(_engine, command);
            // A workload's or an advance's event budget stops it where a scenario's steps cannot: say which command, and where.
            long? budget = (command, outcome) switch
            {
                (WorkloadCommand w, { Workload.Truncated: true }) => w.EventBudget,
                (AdvanceCommand a, { Advance.Truncated: true }) => a.EventBudget,
                _ => null,
            };
            _cutNumber = budget is null ? null : _number;
            _cut = budget is { } spent ? $"command {_number} ({KindOf(command)}) stopped on its event budget ({spent:N0} events) at {_engine.Now}" : null;
            return outcome.IsOk ? null : No($"the engine refused it on replay ({outcome.Error!.Message})");
        }

        /// <summary>An event due at or before now: RunUntil with no budget processes nothing and says so.</summary>
        private ExportRefusal? EventsDue() => _engine.RunUntil(_engine.Now, eventBudget: 0).Truncated
            ? No($"events due at {_engine.Now} were still pending when it was applied" +
                (_cut is null ? " (with a zero-delay link)" : $": {_cut}") + "; a scenario processes them before every step")
            : null;

        private ExportRefusal No(string why) => new($"Command {_number} ({KindOf(_command)}) cannot be exported: {why}.", _number);

        private ExportRefusal? Host(AddHostCommand host)
        {
            if (host.BehindNat is not null) return No("NAT is not exported yet");
            var sysctls = _engine.Journal.OfType<SysctlChanged>().Where(e => e.Host == host.Name)
                .Select(e => new SysctlSetting(e.Name, e.Value)).ToImmutableArray();
            var made = _engine.FindHost(host.Name)!;
            _hosts.Add(new ScenarioHost(host.Name, made.Address.Value, sysctls, null,
                host.Kind == Network.HostKind.Scripted ? ScenarioHostKind.Scripted : ScenarioHostKind.Linux,
                made.Addresses.Count > 1 ? [.. made.Addresses.Skip(1).Select(a => a.Value)] : null));
            return null;
        }

        private ExportRefusal? Step(SimCommand command, CommandOutcome outcome, SimTime at, int journalStart, string? through)
        {
            switch (command)
            {
                case AdvanceCommand:
                    return null;
                case SetSysctlCommand s:
                    var value = _engine.Journal.Skip(journalStart).OfType<SysctlChanged>().Single();
                    _steps.Add(i => new SysctlStep(at, Path(i), s.Host, [new SysctlSetting(value.Name, value.Value)]));
                    return null;
                case ChangeLinkCommand c:
                    if (c.Blackhole is not null) return No("the scenario format has no blackhole (loss 1.0 is its one-way fault)");
                    _steps.Add(i => new LinkStep(at, Path(i), c.A, c.B, c.OneDirection ? new LinkDirection(c.A, c.B) : null, c.Delay, c.Loss, c.LossBySegment));
                    return null;
                case KillCommand k:
                    if (Enum.GetValues<KillSignal>().Where(s => s.ToWireName() == k.Signal).Select(s => (KillSignal?)s).FirstOrDefault() is not { } signal)
                        return No($"the scenario format has no signal {k.Signal}");
                    _steps.Add(i => new KillStep(at, Path(i), k.Host, k.Process, signal));
                    return null;
                case SocketCallCommand call:
                    return Call(call.Request, outcome.Call!.Value, at, through);
                case WorkloadCommand workload:
                    // The runner starts it and its later steps (or runUntil) move the clock through it, as the run did.
                    _steps.Add(i => new WorkloadStep(at, Path(i), workload.Spec));
                    return null;
                // A header of exactly the laid-out length is the one an inject step writes (review39a N-4: it was refused too).
                case InjectCommand { OptionBytes: { } bytes } inject when bytes != (inject.Options ?? Network.TcpOptions.None).WireLength(inject.Flags):
                    return No($"its segment's header holds {bytes} option bytes, which the scenario format cannot write (it lays its options out in "
                        + $"{(inject.Options ?? Network.TcpOptions.None).WireLength(inject.Flags)} bytes)");
                case InjectCommand inject:
                    var injectStep = Inject(inject, at);
                    _steps.Add(i => injectStep with { Path = Path(i) });
                    return null;
                default:
                    return No("the scenario format has no step for it");
            }
        }

        /// <summary>
        /// An injected segment as the step the runner turns back into it: ack and SACK edges relative to the
        /// ISN the scripted host saw from its peer (the runner adds it again), the TSecr as the number it was.
        /// </summary>
        private InjectStep Inject(InjectCommand c, SimTime at)
        {
            var from = _engine.FindHost(c.From)!;
            var to = _engine.FindHost(c.To)!;
            var tuple = new Network.FourTuple(new Network.Endpoint(from.Address, c.FromPort), new Network.Endpoint(to.Address, c.ToPort));
            uint peerIsn = from.PeerIsn(tuple) ?? 0;
            InjectOptions? options = null;
            if (c.Options is { } o && o != Network.TcpOptions.None)
                options = new InjectOptions(o.Mss > 0 ? o.Mss : null, o.WindowScale, o.SackPermitted,
                    o.HasTimestamp ? new InjectTimestamp(o.TsVal, o.TsEcr, EchoLast: false) : null,
                    [.. o.Sack.ToArray().Select(b => new SeqRange(unchecked(b.Left - peerIsn), unchecked(b.Right - peerIsn)))]);
            return new InjectStep(at, "", new HostPort(c.From, c.FromPort), new HostPort(c.To, c.ToPort), c.Flags, c.Seq,
                c.Ack == 0 ? null : unchecked(c.Ack - peerIsn), c.Window, c.Length, options);
        }

        /// <param name="through">The alias of the descriptor the call went through (<see cref="Through"/>, read before it was applied).</param>
        private ExportRefusal? Call(SocketCallRequest r, CallHandle handle, SimTime at, string? through)
        {
            bool onSocket = r.Call is not (TcpCall.Socket or TcpCall.Setrlimit) && !(r.Call is TcpCall.Listen or TcpCall.Connect && r.SocketId == 0);
            if (onSocket && !_named.Contains(r.SocketId))
                return No($"it acts on socket {r.SocketId} before a call that a scenario can name returned it");
            // A peer is named as the call named it, by host or by address (the journal's CallIssued shows which): a connect
            // to a host's first address written as the host's name would run the same but journal "to=name:port".
            if (r.Call is TcpCall.Connect && !r.Unspec && _engine.FindHost(r.ToHost!) is null
                && !(Network.IPv4.TryParse(r.ToHost, out var literal) && (literal.IsLoopback || _engine.FindHost(literal) is not null)))
                return No($"it connects to {r.ToHost}, which is no host's address (a scenario names its peers by host, loopback or a host's further address)");
            SocketOption? option = null;
            if (r.Call is TcpCall.Setsockopt or TcpCall.Getsockopt)
            {
                option = Enum.GetValues<SocketOption>().Where(o => o.ToWireName() == r.Option.ToString()).Select(o => (SocketOption?)o).FirstOrDefault();
                if (option is null) return No($"the scenario format has no option {r.Option}");
            }
            long callId = handle.CallId;
            string? alias = null;
            if (r.Call is TcpCall.Socket || (r.Call is TcpCall.Listen or TcpCall.Connect && r.SocketId == 0))
            {
                // A call that made no socket (EMFILE: socket id 0) names none: an alias of its own, so that each is defined once.
                alias = handle.SocketId == 0 ? $"{r.Call.ToString().ToLowerInvariant()}-{callId}" : Alias(handle.SocketId);
                _named.Add(handle.SocketId);
                if (_engine.FindSocket(handle.SocketId) is { } created) _fdAliases[(created.Id, created.Fd)] = alias;
            }
            else if (r.Call is TcpCall.Accept) _acceptsPending.Add(callId);
            else if (r.Call is TcpCall.Dup or TcpCall.Dup2 && handle.Errno is null)
            {
                alias = $"{Alias(r.SocketId)}-dup{callId}";
                _fdAliases[(r.SocketId, (int)handle.Result)] = alias;
            }

            var kind = Enum.Parse<SocketCall>(r.Call.ToString());
            var step = (int i) => new CallStep(at, Path(i), r.Host, r.Process, kind,
                r.Call is TcpCall.Accept ? AcceptAlias(callId) : alias,
                onSocket ? through : null,
                r.Call is TcpCall.Bind || (r.Call is TcpCall.Listen && r.SocketId == 0) ? r.Port : null,
                r.Call is TcpCall.Listen ? r.Backlog : null,
                r.Call is TcpCall.Listen && r.SocketId == 0 && r.ReuseAddr,
                r.Call is TcpCall.Connect && !r.Unspec ? new HostPort(r.ToHost!, r.ToPort) : null,
                r.Call is TcpCall.Connect && r.BindPort is { } bindPort ? new BindOptions(bindPort, r.BindReuseAddr) : null,
                r.Call is TcpCall.Send || (r.Call is TcpCall.Recv && r.Bytes >= 0) ? r.Bytes : null,
                r.Call is TcpCall.Shutdown ? Enum.GetValues<ShutdownHow>().First(h => h.ToWireName() == r.How.ToString()) : null,
                option,
                r.Call is TcpCall.Setsockopt
                    ? r.Option switch
                    {
                        Tcp.SocketOption.SO_LINGER => new LingerSockoptValue(r.LingerOnOff, r.Value),
                        Tcp.SocketOption.SO_SNDTIMEO or Tcp.SocketOption.SO_RCVTIMEO => new TimevalSockoptValue(r.TvSec, r.TvUsec),
                        Tcp.SocketOption.IP_LOCAL_PORT_RANGE => new PortRangeSockoptValue(r.Value & 0xffff, (int)((uint)r.Value >> 16)),
                        Tcp.SocketOption.TCP_CONGESTION => new StringSockoptValue(r.Text ?? ""),
                        _ => new IntSockoptValue(r.Value),
                    }
                    : null,
                null,
                r.Call is TcpCall.Fcntl ? r.NonBlock : null,
                r.Call is TcpCall.Poll ? r.Events : null,
                r.Call is TcpCall.Poll && r.TimeoutMs != 0 ? r.TimeoutMs : null,
                r.Call is TcpCall.Dup2 ? r.NewFd : null,
                r.Call is TcpCall.Connect && r.Unspec ? true : null,
                r.Call is TcpCall.Bind || (r.Call is TcpCall.Listen && r.SocketId == 0) ? ExportedAddress(r.Address) : null,
                r.Call is TcpCall.Send or TcpCall.Recv && r.Flags != Tcp.MsgFlags.None ? r.Flags : null,
                r.Call is TcpCall.Setrlimit ? r.RlimCur : null,
                r.Call is TcpCall.Setrlimit ? r.RlimMax : null);
            _steps.Add(step);
            return null;
        }

        private static uint? ExportedAddress(string? address) => address is not null && Ipv4Text.TryParse(address, out var a) ? a : null;

        private string AcceptAlias(long callId) => _accepted.TryGetValue(callId, out var socketId) ? Alias(socketId) : $"accept-{callId}";

        /// <summary>An accept that returned names the socket it returned (read from the engine's call table).</summary>
        private void ObserveAccepts()
        {
            _acceptsPending.RemoveAll(callId =>
            {
                if (_engine.FindCall(callId) is not { Returned: true } call) return false;
                if (call.Errno is null)
                {
                    _accepted[callId] = call.SocketId;
                    _named.Add(call.SocketId);
                    _fdAliases[(call.SocketId, (int)call.Result)] = Alias(call.SocketId);
                }
                return true;
            });
        }

        private static string Alias(int socketId) => $"s{socketId}";

        /// <summary>
        /// The alias of the descriptor a call on a socket goes through, read before the call is applied: the one it names,
        /// or — named by socket only (an API call without "fd", a packetdrill call through a dup) — the one the engine takes,
        /// the socket's own descriptor, which is its lowest remaining one once its first was closed (SimProcess.ReleaseFd()).
        /// A scenario's alias names one descriptor, so a call through a dup after the socket's first descriptor was closed
        /// is written on the dup's alias (on the socket's it would fail EBADF, fdget() finding no file).
        /// </summary>
        private string Through(SocketCallRequest r)
        {
            int fd = r.Descriptor(source.EngineRules) ?? _engine.FindSocket(r.SocketId)?.Fd ?? 0;
            return _fdAliases.TryGetValue((r.SocketId, fd), out var alias) ? alias : Alias(r.SocketId);
        }

        private static string Path(int index) => $"$.steps[{index}]";
    }

    [GeneratedRegex("[^a-z0-9-]+")]
    private static partial Regex NotNameCharacters();

    [GeneratedRegex("(?<!^)([A-Z])")]
    private static partial Regex KebabBoundary();

    /// <summary>A scenario name ([a-z0-9-]+) from the simulation's name.</summary>
    public static string Slug(string name)
    {
        var slug = NotNameCharacters().Replace(name.ToLowerInvariant(), "-").Trim('-');
        return slug.Length == 0 ? "simulation" : slug;
    }
}
