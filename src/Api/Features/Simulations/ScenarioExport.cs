using System.Collections.Immutable;
using System.Text.RegularExpressions;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;
using ScenarioOption = SimService.Domain.Scenarios.SocketOption;
using ScenarioHow = SimService.Domain.Scenarios.ShutdownHow;
using TcpCall = SimService.Domain.Tcp.SocketCallKind;

namespace SimService.Api.Features.Simulations;

/// <summary>
/// Writes a simulation's command log as a scenario document (docs/scenario-format.md) whose run produces
/// the same journal. It replays the log on a fresh engine and turns each command into what the scenario
/// runner does with the same effect:
/// <list type="bullet">
/// <item>hosts (with their sysctls, as the kernel holds them) and links added at time 0 before anything else
/// are the document's <c>hosts</c> and <c>links</c>, set up in the same order;</item>
/// <item>every later command is a step at the virtual time it was applied (an absolute <c>at</c>); calls name
/// sockets <c>s&lt;socketId&gt;</c>, the socket an accept returned included;</item>
/// <item>advances are not steps: the runner runs the clock to each step's time (every event due at or before
/// it first), as the advances did; <c>runUntil</c> ends the run at the simulation's current time.</item>
/// </list>
/// What the format cannot say is refused (409) rather than exported wrong: a host or link added later (the
/// runner builds them first, and a host draws from the seeded generator when it is made), a blackhole (the
/// format has loss 1.0, which journals differently), SO_REUSEPORT, injected segments, NAT, and a command
/// applied while events at its own time were still pending (after an advance that stopped on its event
/// budget, or with a zero-delay link), since the runner processes those before every step.
/// </summary>
public static partial class ScenarioExport
{
    public static Outcome<string> ToScenario(SimulationRun run, IReadOnlyList<CommandRecord> log)
    {
        if (run.ScenarioJson is { } scenario)
            return log.Count == 0
                ? scenario
                : new NotExportable(run.Id, "The simulation was made from a scenario and then changed by commands; " +
                    "its commands cannot name the scenario's sockets. Export is only its scenario while it has no commands.", log[0].Seq);
        return new Writer(run).Write(log);
    }

    private sealed class Writer(SimulationRun run)
    {
        private readonly Simulation _engine = new(SimulationReplay.ProfileOf(run), run.Seed);
        private readonly List<ScenarioHost> _hosts = [];
        private readonly List<ScenarioLink> _links = [];
        private readonly List<Func<int, ScenarioStep>> _steps = [];
        private readonly HashSet<int> _named = [];
        private readonly HashSet<long> _acceptsPending = [];
        private readonly Dictionary<long, int> _accepted = [];
        private int _journalSeen;

        public Outcome<string> Write(IReadOnlyList<CommandRecord> log)
        {
            bool setup = true;
            foreach (var record in log)
            {
                var command = CommandTypeMap.FromPayload(record.Type, record.PayloadJson);
                if (setup && command is AddHostCommand or AddLinkCommand && _engine.Now == SimTime.Zero)
                {
                    if (Apply(record, command, out _) is { } refused) return refused;
                    if (command is AddHostCommand host && Host(host, record) is { } notHost) return notHost;
                    if (command is AddLinkCommand link) _links.Add(new ScenarioLink(link.A, link.B, link.Delay, link.Loss));
                    continue;
                }
                setup = false;
                if (command is AddHostCommand or AddLinkCommand or AddNatCommand)
                    return No(record, "hosts, NATs and links can be exported only when they were all added at time 0 before any other " +
                        "command (the scenario runner builds them first, and making a host draws from the seeded generator)");
                if (command is not AdvanceCommand && EventsDue())
                    return No(record, $"events due at {_engine.Now} were still pending when it was applied (after an advance that " +
                        "stopped on its event budget, or with a zero-delay link); a scenario processes them before every step");
                var at = _engine.Now;
                int journalStart = _engine.Journal.Count;
                if (Apply(record, command, out var outcome) is { } failure) return failure;
                if (Step(record, command, outcome, at, journalStart) is { } notStep) return notStep;
                ObserveAccepts();
            }
            if (EventsDue())
                return new NotExportable(run.Id, $"The last advance stopped on its event budget with events due at {_engine.Now} still " +
                    "pending; a scenario's run would process them.", null);
            return Document();
        }

        private Outcome<string> Document()
        {
            var steps = _steps.Select((step, i) => step(i)).ToImmutableArray();
            var last = steps.IsEmpty ? SimTime.Zero : steps[^1].At;
            var document = new ScenarioDocument(Slug(run.Name), $"Exported from simulation {run.Id} (\"{run.Name}\") at version {run.Version}.",
                _engine.Profile, run.Seed, [.. _hosts], [], [.. _links], steps, null, _engine.Now - last);
            var json = ScenarioWriter.ToJson(document);
            var parsed = ScenarioParser.Parse(json);
            return parsed.IsValid
                ? json
                : new NotExportable(run.Id, "The scenario format cannot express this simulation: " +
                    string.Join("; ", parsed.Errors.Select(e => e.ToString())), null);
        }

        private NotExportable? Apply(CommandRecord record, SimCommand command, out CommandOutcome outcome)
        {
            outcome = CommandApplier.Apply(_engine, command);
            return outcome.IsOk ? null : No(record, $"the engine refused it on replay ({outcome.Error!.Message})");
        }

        /// <summary>Whether an event is due at or before now: RunUntil with no budget processes nothing and says so.</summary>
        private bool EventsDue() => _engine.RunUntil(_engine.Now, eventBudget: 0).Truncated;

        private NotExportable No(CommandRecord record, string why) =>
            new(run.Id, $"Command {record.Seq} ({record.Type}) cannot be exported: {why}.", record.Seq);

        private NotExportable? Host(AddHostCommand host, CommandRecord record)
        {
            if (host.BehindNat is not null) return No(record, "NAT is not exported yet");
            var sysctls = _engine.Journal.OfType<SysctlChanged>().Where(e => e.Host == host.Name)
                .Select(e => new SysctlSetting(e.Name, e.Value)).ToImmutableArray();
            _hosts.Add(new ScenarioHost(host.Name, _engine.FindHost(host.Name)!.Address.Value, sysctls, null,
                host.Kind == Domain.Network.HostKind.Scripted ? ScenarioHostKind.Scripted : ScenarioHostKind.Linux));
            return null;
        }

        private NotExportable? Step(CommandRecord record, SimCommand command, CommandOutcome outcome, SimTime at, int journalStart)
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
                    if (c.Blackhole is not null) return No(record, "the scenario format has no blackhole (loss 1.0 is its one-way fault)");
                    _steps.Add(i => new LinkStep(at, Path(i), c.A, c.B, c.OneDirection ? new LinkDirection(c.A, c.B) : null, c.Delay, c.Loss));
                    return null;
                case KillCommand k:
                    if (Enum.GetValues<KillSignal>().Where(s => s.ToWireName() == k.Signal).Select(s => (KillSignal?)s).FirstOrDefault() is not { } signal)
                        return No(record, $"the scenario format has no signal {k.Signal}");
                    _steps.Add(i => new KillStep(at, Path(i), k.Host, k.Process, signal));
                    return null;
                case SocketCallCommand call:
                    return Call(record, call.Request, outcome.Call!.Value, at);
                default:
                    return No(record, "the scenario format has no step for it");
            }
        }

        private NotExportable? Call(CommandRecord record, SocketCallRequest r, CallHandle handle, SimTime at)
        {
            bool onSocket = r.Call is not TcpCall.Socket && !(r.Call is TcpCall.Listen or TcpCall.Connect && r.SocketId == 0);
            if (onSocket && !_named.Contains(r.SocketId))
                return No(record, $"it acts on socket {r.SocketId} before a call that a scenario can name returned it");
            if (r.Call is TcpCall.Connect && _engine.FindHost(PeerName(r.ToHost!)) is null)
                return No(record, $"it connects to {r.ToHost}, which is no host's address (a scenario names its peers by host)");
            ScenarioOption? option = null;
            if (r.Call is TcpCall.Setsockopt or TcpCall.Getsockopt)
            {
                option = Enum.GetValues<ScenarioOption>().Where(o => o.ToWireName() == r.Option.ToString()).Select(o => (ScenarioOption?)o).FirstOrDefault();
                if (option is null) return No(record, $"the scenario format has no option {r.Option}");
            }
            long callId = handle.CallId;
            string? alias = null;
            if (r.Call is TcpCall.Socket || (r.Call is TcpCall.Listen or TcpCall.Connect && r.SocketId == 0))
            {
                alias = Alias(handle.SocketId);
                _named.Add(handle.SocketId);
            }
            else if (r.Call is TcpCall.Accept) _acceptsPending.Add(callId);

            var kind = Enum.Parse<SocketCall>(r.Call.ToString());
            var step = (int i) => new CallStep(at, Path(i), r.Host, r.Process, kind,
                r.Call is TcpCall.Accept ? AcceptAlias(callId) : alias,
                onSocket ? Alias(r.SocketId) : null,
                r.Call is TcpCall.Bind || (r.Call is TcpCall.Listen && r.SocketId == 0) ? r.Port : null,
                r.Call is TcpCall.Listen ? r.Backlog : null,
                r.Call is TcpCall.Listen && r.SocketId == 0 && r.ReuseAddr,
                r.Call is TcpCall.Connect ? new HostPort(PeerName(r.ToHost!), r.ToPort) : null,
                r.Call is TcpCall.Connect && r.BindPort is { } bindPort ? new BindOptions(bindPort, r.BindReuseAddr) : null,
                r.Call is TcpCall.Send || (r.Call is TcpCall.Recv && r.Bytes >= 0) ? r.Bytes : null,
                r.Call is TcpCall.Shutdown ? Enum.GetValues<ScenarioHow>().First(h => h.ToWireName() == r.How.ToString()) : null,
                option,
                r.Call is TcpCall.Setsockopt
                    ? (r.Option == Domain.Tcp.SocketOption.SO_LINGER ? new LingerSockoptValue(r.LingerOnOff, r.Value) : new IntSockoptValue(r.Value))
                    : null,
                null);
            _steps.Add(step);
            return null;
        }

        /// <summary>A scenario names peers by host: a connect made to "address:port" names the host with that address.</summary>
        private string PeerName(string toHost) =>
            _engine.FindHost(toHost) is null && Domain.Network.IPv4.TryParse(toHost, out var address) && _engine.FindHost(address) is { } host
                ? host.Name
                : toHost;

        private string AcceptAlias(long callId) => _accepted.TryGetValue(callId, out var socketId) ? Alias(socketId) : $"accept-{callId}";

        /// <summary>An accept that returned names the socket it returned.</summary>
        private void ObserveAccepts()
        {
            for (; _journalSeen < _engine.Journal.Count; _journalSeen++)
                if (_engine.Journal[_journalSeen] is CallReturned { Errno: null } r && _acceptsPending.Remove(r.CallId))
                {
                    _accepted[r.CallId] = r.SocketId;
                    _named.Add(r.SocketId);
                }
        }

        private static string Alias(int socketId) => $"s{socketId}";

        private static string Path(int index) => $"$.steps[{index}]";
    }

    [GeneratedRegex("[^a-z0-9-]+")]
    private static partial Regex NotNameCharacters();

    /// <summary>A scenario name ([a-z0-9-]+) from the simulation's name.</summary>
    public static string Slug(string name)
    {
        var slug = NotNameCharacters().Replace(name.ToLowerInvariant(), "-").Trim('-');
        return slug.Length == 0 ? "simulation" : slug;
    }
}
