using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;

namespace SimService.Cli.Kernel;

/// <summary>
/// One segment as the difference report compares it: the link direction (host names), the ports, the flags, seq and
/// ack relative to each side's ISN (ack 0 when the ACK flag is off), the window field, the payload length, the options
/// that mean the same on both sides (<see cref="OptionsText"/>), whether the link dropped it, and when it was sent.
/// </summary>
internal sealed record OutcomePacket(long AtNs, string From, string To, int FromPort, int ToPort, string Flags, uint Seq, uint Ack, int Win,
    int Len, string Options, bool Dropped)
{
    internal static OutcomePacket Of(WirePacket p) => new(p.At.Ns, p.From, p.To, p.Tuple.Local.Port, p.Tuple.Remote.Port, p.Flags.ToLetters(),
        p.RelativeSeq, (p.Flags & TcpFlags.Ack) != 0 ? p.RelativeAck : 0, p.Win, p.Len, OptionsText(p), p.Dropped);

    /// <summary>
    /// The options a kernel and the engine can agree on: MSS and window scale values, SACK-permitted, the timestamp's
    /// presence (its values are clocks: only an echo of 0 is kept), the SACK blocks relative to the receiver's ISN.
    /// </summary>
    static string OptionsText(WirePacket p)
    {
        var o = p.Options;
        var parts = new List<string>();
        if (o.Mss > 0) parts.Add($"mss {o.Mss}");
        if (o.SackPermitted) parts.Add("sackOK");
        if (o.HasTimestamp) parts.Add(o.TsEcr == 0 ? "TS ecr 0" : "TS");
        if (o.WindowScale is { } w) parts.Add($"wscale {w}");
        if (o.HasSack) parts.Add("sack " + string.Join(' ', p.RelativeSack.Select(b => $"{b.Left}:{b.Right}")));
        return string.Join(',', parts);
    }
}

/// <summary>One row of a host's socket listing: state, whether it is a timewait socket, local port, remote host (name, or address) and port, the ss timer.</summary>
internal sealed record OutcomeSocket(string Host, string State, bool TimeWait, int LocalPort, string Remote, int RemotePort, string? Timer)
{
    /// <summary>A listing row; <paramref name="hostAt"/> names the host of an address (null: the address is shown). CLOSE rows give null (ss lists none).</summary>
    internal static OutcomeSocket? Of(SocketRow row, Func<IPv4, string?> hostAt) => row.State == TcpState.Close ? null : new(row.Host,
        ScenarioRunner.StateName(row.State).ToWireName(), row.Kind == SocketRowKind.TimeWait, row.Local.Port,
        row.Remote.Address == IPv4.Any ? "*" : hostAt(row.Remote.Address) ?? row.Remote.Address.ToString(), row.Remote.Port, row.TimerName);
}

/// <summary>The socket listings of every host taken at one instant.</summary>
internal sealed record OutcomeReading(long AtNs, IReadOnlyList<OutcomeSocket> Sockets);

/// <summary>
/// The listings at one point of the run: an <c>expect</c> step (<see cref="Label"/> its path) or the end ("end"). The engine
/// has one reading; the kernel several around the step's time (the readings its checks use), any of which may show it.
/// </summary>
internal sealed record OutcomeSnapshot(string Label, long AtNs, IReadOnlyList<OutcomeReading> Readings);

/// <summary>
/// What a run of a scenario did, on the engine or on the kernel, for the difference report: every segment on the links
/// and loopbacks, every host's sockets at each expect step and at the end, and each host's Tcp/TcpExt counters over the
/// run (the kernel's as deltas of /proc/net/snmp and netstat; the engine's every counter it models, zeros included).
/// </summary>
internal sealed record RunOutcome(IReadOnlyList<OutcomePacket> Packets, IReadOnlyList<OutcomeSnapshot> Snapshots,
    IReadOnlyDictionary<string, Dictionary<string, long>> Counters)
{
    /// <summary>
    /// Each workload step's connect() results by errno ("0": success), by the step's path: records, which the kernel run's
    /// child sends its parent as JSON — tuples have no properties to serialize, so they arrived empty and nothing was compared
    /// (review37b M-2).
    /// </summary>
    public IReadOnlyList<StepConnectResults> ConnectResults { get; init; } = [];

    /// <summary>
    /// Where the engine's run left what the engine models (<c>Simulation.LeftModel</c>: a kernel path it knows it does not
    /// follow; D161's MTU probe was one until session 40); null when it did not, and always on the kernel.
    /// </summary>
    public string? LeftModel { get; init; }

    /// <summary>
    /// A kernel run's measured harness lateness: the median of how late (ns) its link emulators wrote each packet after the
    /// packet's delay — what the kernel's links are slower than the engine's by. Null on the engine, or when no packet
    /// crossed a link. <c>--diff</c> tries the one link shift nearest it (<c>KernelCommand.EdgeShift</c>).
    /// </summary>
    public long? LinkLatenessNs { get; init; }

    /// <summary>The label of the snapshot taken when the run is over.</summary>
    public const string End = "end";

    /// <summary>
    /// /proc/net/snmp's Tcp values that are not counters (constants of the kernel, or gauges only CurrEstab of which
    /// the engine computes): left out of the comparison of deltas.
    /// </summary>
    static readonly HashSet<string> NotCounters = ["Tcp.RtoAlgorithm", "Tcp.RtoMin", "Tcp.RtoMax", "Tcp.MaxConn"];

    /// <summary>The Tcp and TcpExt counters' deltas between two readings of one host's /proc/net files.</summary>
    public static Dictionary<string, long> Deltas(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after) =>
        after.Where(c => (c.Key.StartsWith("Tcp.", StringComparison.Ordinal) || c.Key.StartsWith("TcpExt.", StringComparison.Ordinal)) && !NotCounters.Contains(c.Key))
            .ToDictionary(c => c.Key, c => c.Value - before.GetValueOrDefault(c.Key), StringComparer.Ordinal);

    /// <summary>
    /// The engine's outcome of <paramref name="doc"/>: runs it (as <c>simservice run</c> does), taking every host's
    /// listing at each expect step and at the end, and each host's Tcp/TcpExt counters (with CurrEstab) at the end.
    /// </summary>
    /// <summary>
    /// The document with its workloads at journal level "full": a workload's level decides only which events are kept, not
    /// what happens, and a comparison or a trace keeps every packet (at "counters" or "states" the engine's run recorded
    /// none of a workload's segments).
    /// </summary>
    public static ScenarioDocument EveryPacketKept(ScenarioDocument doc) =>
        doc with { Steps = [.. doc.Steps.Select(s => s is WorkloadStep w ? w with { Spec = w.Spec with { Level = Domain.Journal.JournalLevel.Full } } : s)] };

    public static RunOutcome OfEngine(ScenarioDocument doc)
    {
        var snapshots = new List<OutcomeSnapshot>();
        static OutcomeReading Listing(Domain.Engine.Simulation sim) => new(sim.Now.Ns,
            [.. sim.Hosts.SelectMany(SocketListing.Rows).Select(r => OutcomeSocket.Of(r, a => sim.FindHost(a)?.Name)).OfType<OutcomeSocket>()]);
        doc = EveryPacketKept(doc);
        var run = ScenarioRunner.Run(doc, new ScenarioRunOptions
        {
            AtExpect = (step, sim) => snapshots.Add(new OutcomeSnapshot(step.Path, step.At.Ns, [Listing(sim)])),
        });
        var sim = run.Simulation;
        snapshots.Add(new OutcomeSnapshot(End, sim.Now.Ns, [Listing(sim)]));
        var packets = ScenarioRunner.CapturePackets(sim.Journal, a => sim.FindHost(a)?.Name).Select(OutcomePacket.Of).ToList();
        var counters = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var host in sim.Hosts)
        {
            var mine = Mib.In(sim.Profile).Where(c => Mib.Group(c) is "Tcp" or "TcpExt")
                .ToDictionary(c => $"{Mib.Group(c)}.{Mib.Name(c)}", c => host.Mib[c], StringComparer.Ordinal);
            mine["Tcp.CurrEstab"] = ProcNetSnmp.TcpGauge(host, "CurrEstab") ?? 0;
            counters[host.Name] = mine;
        }
        return new RunOutcome(packets, snapshots, counters) { ConnectResults = ByStep(doc, run), LeftModel = sim.LeftModel?.ToString() };
    }

    /// <summary>
    /// Each workload step's connect() results, paired by step: a step the engine refused (another workload still running)
    /// started no workload and is said refused, and the next workload started is the next step's (review37b S-5: paired by
    /// position, the refused step took the next one's results and every later pair was shifted). A step the run never
    /// reached has none.
    /// </summary>
    static List<StepConnectResults> ByStep(ScenarioDocument doc, ScenarioRunResult run)
    {
        var results = new List<StepConnectResults>();
        int started = 0;
        foreach (var step in doc.Steps.OfType<WorkloadStep>())
        {
            var path = JsonPath.Member(step.Path, "workload");
            if (run.Errors.FirstOrDefault(e => e.Path == step.Path) is { } refused)
                results.Add(new StepConnectResults(path, new Dictionary<string, long>()) { Refused = refused.Message });
            else if (started < run.Simulation.Workloads.Count)
                results.Add(new StepConnectResults(path, run.Simulation.Workloads[started++].Result().ConnectResults));
        }
        return results;
    }
}

/// <summary>A workload step's connect() results by errno ("0": success), by the step's path.</summary>
internal sealed record StepConnectResults(string Path, IReadOnlyDictionary<string, long> Results)
{
    /// <summary>Why the step made no workload (the engine refused it, the kernel's listener failed); null when it ran.</summary>
    public string? Refused { get; init; }
}
