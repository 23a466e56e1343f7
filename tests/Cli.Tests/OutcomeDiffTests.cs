extern alias cli;

using cli::SimService.Cli.Commands;
using cli::SimService.Cli.Fuzz;
using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// The kernel difference report (<c>simservice kernel --diff</c>) on synthetic outcomes: an outcome equal to the engine's
/// (other ephemeral ports, times within 4 ms) reports nothing; a deliberately wrong one is reported at each packet,
/// socket state and counter it changes; alignment keeps the alike segments paired around one missing.
/// </summary>
public sealed class OutcomeDiffTests
{
    private const long Ms = 1_000_000;
    private const long Tolerance = 4 * Ms;

    /// <summary>An orderly close over 10 ms: client port <paramref name="port"/>, TIME-WAIT on the client, TW counted.</summary>
    internal static RunOutcome OrderlyClose(int port, long shift = 0, Func<OutcomePacket, OutcomePacket>? change = null,
        string clientState = "TIME-WAIT", long tw = 1, long delayedAcks = 0, Dictionary<string, long>? extra = null)
    {
        OutcomePacket P(long at, string from, string flags, uint seq, uint ack, int len = 0, string options = "TS")
        {
            bool up = from == "client";
            var p = new OutcomePacket(at * Ms + shift, from, up ? "server" : "client", up ? port : 80, up ? 80 : port, flags, seq, ack, 64, len, options, false);
            return change?.Invoke(p) ?? p;
        }
        List<OutcomePacket> packets =
        [
            P(0, "client", "S", 0, 0, options: "mss 1460,sackOK,TS ecr 0,wscale 10"),
            P(10, "server", "S.", 0, 1, options: "mss 1460,sackOK,TS,wscale 10"),
            P(20, "client", ".", 1, 1),
            P(100, "client", "F.", 1, 1),
            P(110, "server", "F.", 1, 2),
            P(120, "client", ".", 2, 2),
        ];
        var sockets = new List<OutcomeSocket>
        {
            new("server", "LISTEN", false, 80, "*", 0, null),
            new("client", clientState, clientState == "TIME-WAIT", port, "server", 80, "timewait"),
        };
        var counters = new Dictionary<string, long> { ["TcpExt.TW"] = tw, ["Tcp.ActiveOpens"] = 1, ["TcpExt.DelayedACKs"] = delayedAcks };
        foreach (var (name, value) in extra ?? []) counters[name] = value;
        return new RunOutcome(packets, [new OutcomeSnapshot("$.steps[5]", 130 * Ms, [new OutcomeReading(130 * Ms + shift, sockets)])],
            new Dictionary<string, Dictionary<string, long>> { ["client"] = counters, ["server"] = new() { ["TcpExt.TW"] = 0 } });
    }

    /// <summary>
    /// The kernel side, deliberately wrong: the client's FIN is an RST, the server's FIN. comes 8 ms later and with
    /// win 63, the client is left in FIN-WAIT-2, TW is 0, DelayedACKs 1, and a counter the engine has no name for moved.
    /// </summary>
    internal static RunOutcome WrongKernelOutcome() => OrderlyClose(51234, change: p => p switch
    {
        { From: "client", Flags: "F." } => p with { Flags = "R." },
        { From: "server", Flags: "F." } => p with { AtNs = p.AtNs + 8 * Ms, Win = 63 },
        _ => p,
    }, clientState: "FIN-WAIT-2", tw: 0, delayedAcks: 1, extra: new() { ["TcpExt.TCPSomethingNew"] = 2, ["TcpExt.TCPAbortOnData"] = 0 });

    [Fact]
    public void Compare_SameOutcomeOtherPortsWithinTolerance_ReportsNothing()
    {
        var report = OutcomeDiff.Compare(OrderlyClose(40000), OrderlyClose(51234, shift: 3 * Ms), Tolerance);

        Assert.Equal(0, report.Differences);
        Assert.Equal(0, report.Unmodelled);
        Assert.Empty(report.Lines);
    }

    [Fact]
    public void Compare_WrongKernelOutcome_ReportsEachPacketStateAndCounterItChanges()
    {
        var report = OutcomeDiff.Compare(OrderlyClose(40000), WrongKernelOutcome(), Tolerance);

        Assert.Equal(
        [
            "packets client:~1 > server:80: 4 on the engine, 4 on the kernel; 3 alike, 0 differ, 0 only in time, 1 engine only, 1 kernel only",
            "  engine only: 100ms ~1>80 F. seq=1 ack=1 win=64 len=0 <TS>",
            "  kernel only: 100ms ~1>80 R. seq=1 ack=1 win=64 len=0 <TS>",
            "packets server:80 > client:~1: 2 on the engine, 2 on the kernel; 1 alike, 1 differ, 0 only in time, 0 engine only, 0 kernel only",
            "  differ: engine 110ms 80>~1 F. seq=1 ack=2 win=64 len=0 <TS> | kernel 118ms 80>~1 F. seq=1 ack=2 win=63 len=0 <TS> — win 64 → 63, time +8.0 ms",
            "sockets at $.steps[5] (130ms; kernel reading 130ms):",
            "  engine only: client TIME-WAIT (timewait socket) :~1 > server:80",
            "  kernel only: client FIN-WAIT-2 :~1 > server:80",
            "counters client (engine → kernel): TcpExt.DelayedACKs 0 → 1, TcpExt.TW 1 → 0",
            "counters client the engine does not model (kernel deltas): other: TcpExt.TCPSomethingNew 2",
        ], report.Lines);
        Assert.Equal(7, report.Differences);
        Assert.Equal(1, report.Unmodelled);
    }

    /// <summary>
    /// Both FINs 8 ms late on the kernel and nothing else: the harness's timing (at most three jiffies), listed as timing
    /// lines and not counted as differences (tester35 LOW-1: they were two differences, and --strict failed on them); 20 ms
    /// late is a difference of time.
    /// </summary>
    [Fact]
    public void Compare_SegmentsLateByTheHarnessOnly_AreTimingNotDifferences()
    {
        RunOutcome Late(long ms) => OrderlyClose(51234, change: p => p.Flags == "F." ? p with { AtNs = p.AtNs + ms * Ms } : p);

        var report = OutcomeDiff.Compare(OrderlyClose(40000), Late(8), Tolerance);

        Assert.Equal((0, 2), (report.Differences, report.Timing));
        Assert.Equal(
        [
            "packets client:~1 > server:80: 4 on the engine, 4 on the kernel; 3 alike, 0 differ, 0 only in time, 1 harness timing, 0 engine only, 0 kernel only",
            "  timing: engine 100ms ~1>80 F. seq=1 ack=1 win=64 len=0 <TS> | kernel 108ms ~1>80 F. seq=1 ack=1 win=64 len=0 <TS> — time +8.0 ms",
            "packets server:80 > client:~1: 2 on the engine, 2 on the kernel; 1 alike, 0 differ, 0 only in time, 1 harness timing, 0 engine only, 0 kernel only",
            "  timing: engine 110ms 80>~1 F. seq=1 ack=2 win=64 len=0 <TS> | kernel 118ms 80>~1 F. seq=1 ack=2 win=64 len=0 <TS> — time +8.0 ms",
        ], report.Lines);
        Assert.All(report.Items, i => Assert.Equal("timing", i.What));

        var later = OutcomeDiff.Compare(OrderlyClose(40000), Late(20), Tolerance);
        Assert.Equal((2, 0), (later.Differences, later.Timing));
        Assert.All(later.Items, i => Assert.Equal("time", i.What));
    }

    [Fact]
    public void Compare_KernelLacksOneAck_PairsTheRestAndReportsTheAckEngineOnly()
    {
        var engine = OrderlyClose(40000);
        var kernel = OrderlyClose(40000);
        kernel = kernel with { Packets = [.. kernel.Packets.Where(p => !(p.From == "client" && p.Flags == "." && p.Seq == 1))] };

        var report = OutcomeDiff.Compare(engine, kernel, Tolerance);

        Assert.Equal(1, report.Differences);
        Assert.Equal(
        [
            "packets client:~1 > server:80: 4 on the engine, 3 on the kernel; 3 alike, 0 differ, 0 only in time, 1 engine only, 0 kernel only",
            "  engine only: 20ms ~1>80 . seq=1 ack=1 win=64 len=0 <TS>",
        ], report.Lines);
    }

    /// <summary>
    /// Two connections from bound ports made in the same millisecond: the kernel picked the ports the other way round
    /// and sent the two connections' segments in the other order; connection by connection, nothing differs.
    /// </summary>
    [Fact]
    public void Compare_TwoConnectionsInterleavedOtherwise_ReportsNothing()
    {
        OutcomePacket Syn(long at, int port) => new(at, "client", "server", port, 80, "S", 0, 0, 64240, 0, "", false);
        OutcomePacket Rst(long at, int port, uint ack) => new(at, "client", "server", port, 80, "R.", 1, ack, 63, 0, "TS", false);
        var none = new Dictionary<string, Dictionary<string, long>>();
        var engine = new RunOutcome([Syn(0, 41001), Syn(0, 41002), Rst(100 * Ms, 41001, 1), Rst(100 * Ms, 41002, 101)], [], none);
        var kernel = new RunOutcome([Syn(1 * Ms, 50002), Syn(2 * Ms, 50001), Rst(101 * Ms, 50001, 101), Rst(102 * Ms, 50002, 1)], [], none);

        var report = OutcomeDiff.Compare(engine, kernel, Tolerance);

        Assert.Empty(report.Lines);
    }

    /// <summary>
    /// Two connections over 127.0.0.1 on one host (fuzz case options-26003-9): a listing names the far end of a lo
    /// socket by its address, 127.0.0.1, and the kernel lists its sockets in its hash's order, not the engine's; its
    /// ephemeral port also fell on the other side of the bound 50002. The far end's port is the same host's, named as
    /// lo's packets name it (by the order the connections were made), so nothing differs.
    /// </summary>
    [Fact]
    public void Compare_LoopbackConnectionsListedInAnotherOrder_NamesTheFarEndAsItsOwnHost()
    {
        OutcomePacket Syn(long ms, int port) => new(ms * Ms, "server", "server", port, 80, "S", 0, 0, 65495, 0, "", false);
        OutcomeSocket Connected(int port) => new("server", "ESTABLISHED", false, port, "127.0.0.1", 80, null);
        OutcomeSocket Accepted(int port) => new("server", "ESTABLISHED", false, 80, "127.0.0.1", port, null);
        RunOutcome Outcome(int first, int second, IEnumerable<OutcomeSocket> listed) => new([Syn(20, first), Syn(40, second)],
            [new OutcomeSnapshot("$.steps[25]", 247 * Ms, [new OutcomeReading(247 * Ms, [.. listed])])],
            new Dictionary<string, Dictionary<string, long>>());

        var engine = Outcome(50002, 52746, [Accepted(50002), Accepted(52746), Connected(50002), Connected(52746)]);
        var kernel = Outcome(50002, 41000, [Connected(41000), Accepted(41000), Connected(50002), Accepted(50002)]);
        var report = OutcomeDiff.Compare(engine, kernel, Tolerance);

        Assert.Empty(report.Lines);
    }

    [Fact]
    public void Align_RepeatedAlikeSegments_PairsByNearestTime()
    {
        OutcomePacket Ack(long ms) => new(ms * Ms, "a", "b", 80, 9, ".", 1, 1, 64, 0, "", false);
        var engine = new[] { Ack(100), Ack(200), Ack(300) };
        var kernel = new[] { Ack(201), Ack(301) };
        var outcome = new RunOutcome([.. engine, .. kernel], [], new Dictionary<string, Dictionary<string, long>>());

        var pairs = OutcomeDiff.Align(engine, kernel, Tolerance, new OutcomeDiff.PortNames(outcome, outcome));

        Assert.Equal([(0, -1), (1, 0), (2, 1)], pairs);
    }

    /// <summary>
    /// Seed 20, case 34 of <c>simservice fuzz</c> on 6.18.44: a burst's pure ACKs at 2200 ms, each window one unit lower on
    /// the kernel (the TUN device's truesize) and one ACK fewer. ACK pairs with ACK of the same number — the windows then
    /// differ by one, which the judge sets apart — not with the engine's next ACK, which has the kernel's window.
    /// </summary>
    [Fact]
    public void Align_PureAcksWithTheWindowOneLower_PairsBySameAck()
    {
        OutcomePacket Ack(uint ack, int win) => new(2200 * Ms, "server", "client", 80, 41000, ".", 1, ack, win, 0, "", false);
        var engine = new[] { Ack(5841, 75), Ack(7301, 75), Ack(8761, 74), Ack(10221, 73) };
        var kernel = new[] { Ack(5841, 75), Ack(7301, 74), Ack(8761, 73) };
        var outcome = new RunOutcome([.. engine, .. kernel], [], new Dictionary<string, Dictionary<string, long>>());

        var pairs = OutcomeDiff.Align(engine, kernel, Tolerance, new OutcomeDiff.PortNames(outcome, outcome));

        Assert.Equal([(0, 0), (1, 1), (2, 2), (3, -1)], pairs);
    }

    /// <summary>The engine's side of the report: every host's sockets at each expect step and at the end, the packets, the counters it models.</summary>
    [Fact]
    public void OfEngine_LingerZeroRst_TakesSocketsAtEachExpectStepPacketsAndCounters()
    {
        var text = File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios", "examples", "linger-zero-rst.json"));
        var outcome = RunOutcome.OfEngine(ScenarioParser.Parse(text).Document!);

        Assert.Equal(["$.steps[8]", RunOutcome.End], outcome.Snapshots.Select(s => s.Label));
        var atExpect = Assert.Single(outcome.Snapshots[0].Readings);
        Assert.Equal(1_000_000_000, atExpect.AtNs);
        Assert.Equal([new OutcomeSocket("server", "LISTEN", false, 80, "*", 0, null)], atExpect.Sockets);
        var rst = outcome.Packets[^1];
        Assert.Equal((200_000_000L, "client", "server", "R.", 101u, 1u, 0), (rst.AtNs, rst.From, rst.To, rst.Flags, rst.Seq, rst.Ack, rst.Len));
        Assert.Equal(1, outcome.Counters["client"]["TcpExt.TCPAbortOnData"]);
        Assert.Equal(1, outcome.Counters["client"]["Tcp.OutRsts"]);
        Assert.Equal(0, outcome.Counters["client"]["TcpExt.TW"]);
    }

    /// <summary>
    /// --diff's report opens with where the engine's run left its model (Simulation.LeftModel), when it did; review39a's
    /// healed black hole (tcp_mtu_probing 1) no longer does — its MTU probes are modelled (D161 closed, session 40) — and
    /// has no such line; an outcome that carries a departure has it first.
    /// </summary>
    [Fact]
    public void Compare_EngineLeftItsModel_FirstLineSaysWhere()
    {
        var inModel = RunOutcome.OfEngine(ScenarioParser.Parse(HealedBlackHole).Document!);
        var departure = new SimService.Domain.Engine.ModelDeparture(new SimService.Domain.Time.SimTime(7_093_000_000), "client",
            "10.0.0.1:40000->10.0.0.2:80", "D0", "what the kernel does there");
        var left = inModel with { LeftModel = departure.ToString() };

        Assert.Null(inModel.LeftModel);
        Assert.DoesNotContain(OutcomeDiff.Compare(inModel, inModel, Tolerance).Lines, l => l.StartsWith("engine:", StringComparison.Ordinal));
        Assert.Equal("engine: the run left what the engine models at 7.093s: client 10.0.0.1:40000->10.0.0.2:80: what the kernel does there"
            + " (docs/kernel-check.md D0); the kernel's packets may differ from here on", OutcomeDiff.Compare(left, left, Tolerance).Lines[0]);
    }

    private const string HealedBlackHole = """{"name":"mtu-probing-1-healed-blackhole","hosts":{"client":{"address":"10.0.0.1","sysctls":{"net.ipv4.tcp_mtu_probing":1}},"server":{"address":"10.0.0.2"}},"links":[{"between":["client","server"],"delay":"5ms"}],"steps":[{"at":"0ms","host":"server","call":"listen","port":80,"as":"l"},{"at":"1ms","host":"client","call":"connect","to":"server:80","as":"c","expect":{"result":0}},{"at":"1ms","host":"server","call":"accept","socket":"l","as":"s"},{"at":"100ms","link":{"between":["client","server"],"loss":1.0,"direction":"client->server"}},{"at":"100ms","host":"client","call":"send","socket":"c","bytes":200000},{"at":"3500ms","link":{"between":["client","server"],"loss":0.0,"direction":"client->server"}},{"at":"3500ms","host":"server","call":"recv","socket":"s","bytes":200000}],"runUntil":"9s"}""";

    /// <summary>
    /// tester37's t7: 3000 bytes and a FIN into a link that loses everything from the client between 90 ms and 3 s. On
    /// 6.18.44 (2026-12-07) the retransmissions came at 380 / 1760 / 3584 ms, the engine's at 372 / 1728 / 3520 ms: the
    /// runner's link emulator makes the RTT ~0.2 ms longer, and the RTO's jiffy and timer-wheel rounding turn that into
    /// retransmissions 32 and 64 ms later.
    /// </summary>
    private const string SilentPeer = """{"name":"t7-fin-retransmitted-to-silent-peer","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},"links":[{"between":["client","server"],"delay":"10ms"}],"steps":[{"at":"0ms","host":"server","call":"listen","port":80,"as":"l"},{"at":"1ms","host":"client","call":"connect","to":"server:80","as":"c","expect":{"result":0}},{"at":"1ms","host":"server","call":"accept","socket":"l","as":"s"},{"at":"90ms","link":{"between":["client","server"],"loss":1.0,"direction":"client->server"}},{"at":"100ms","host":"client","call":"send","socket":"c","bytes":3000},{"at":"100ms","host":"client","call":"close","socket":"c"},{"at":"3s","link":{"between":["client","server"],"loss":0.0,"direction":"client->server"}},{"at":"4s","host":"server","call":"recv","socket":"s"},{"at":"4100ms","host":"server","call":"close","socket":"s"}],"runUntil":"2s"}""";

    /// <summary>
    /// kernel --diff sets apart as the harness's timing (EDGE, as fuzz does) the differences the engine itself shows with its
    /// links slower by the runner's per-hop latency, and only those: a kernel outcome that is the engine's with links
    /// 0.2 ms slower has no difference — the engine's with links 0.1 ms slower, the smallest shift, is within the harness's
    /// timing of it (it had "differ" lines for the retransmissions, and tester37's "2 of 4 scenarios run differ" were
    /// such) — while one with links 3 ms slower still differs (tester37 MEDIUM-3).
    /// </summary>
    [Fact]
    public void Diff_AKernelOutcomeOfASlightlySlowerLink_IsHarnessTiming_AMuchSlowerOneDiffers()
    {
        var edge = KernelCommand.Diff(SilentPeer, Slower(0.2, lateNs: 190_000))!;
        var far = KernelCommand.Diff(SilentPeer, Slower(3, lateNs: 190_000))!;

        Assert.Equal((0, 0.2), (edge.Differences, edge.SlowerLinkMs));
        Assert.StartsWith("the engine as written differs ", edge.Lines[0], StringComparison.Ordinal);
        Assert.Contains(edge.Items, i => i is { Kind: "packet", What: "edge" });
        Assert.True(far.Differences > 0 && far.SlowerLinkMs is null, string.Join("\n", far.Lines));
    }

    /// <summary>The engine's outcome of <see cref="SilentPeer"/> with links <paramref name="ms"/> slower, as a kernel run's that measured <paramref name="lateNs"/>.</summary>
    private static RunOutcome Slower(double ms, long? lateNs) =>
        RunOutcome.OfEngine(ScenarioParser.Parse(FuzzEdge.Lengthened(SilentPeer, ms)!).Document!) with { LinkLatenessNs = lateNs };

    /// <summary>
    /// EDGE is tried with one shift only, the one nearest the run's measured lateness; a run that measured none — no
    /// handshake crossed a link, and no packet a link emulator — differs, where before the best of four shifts was taken
    /// whatever the run measured, and a rule within 0.4 ms of an RTT threshold could pass as timing (review37b S-3). A run
    /// not late at all (0 or less) tries none (review38a S-3).
    /// </summary>
    [Fact]
    public void Diff_TriesOnlyTheShiftNearestTheMeasuredLateness_NoneWhenNoneMeasured()
    {
        var slower = Slower(0.2, lateNs: null);
        var unmeasured = KernelCommand.Diff(SilentPeer, slower with { Packets = [.. slower.Packets.Where(p => !p.Flags.StartsWith('S'))] })!;

        Assert.True(unmeasured.Differences > 0 && unmeasured.SlowerLinkMs is null, string.Join("\n", unmeasured.Lines));
        Assert.Equal([null, null, null, 0.1, 0.1, 0.3, 0.4], new long?[] { null, -5_000, 0, 1, 149_999, 260_000, 3_000_000 }.Select(KernelCommand.EdgeShift));
    }

    /// <summary>
    /// The lateness is the first handshake's: its SYN-ACK came this much later after its SYN on the kernel than on the
    /// engine — one hop through the link emulator, the TUN devices and the peer's stack (review38a S-3). The link emulators'
    /// own median read 0.002 ms on 6.18.44 runs (README), missing the TUN and stack part: with it, 0.1 ms was tried on every
    /// run. A kernel outcome 0.2 ms a hop slower is EDGE at 0.2 ms whatever its emulators read.
    /// </summary>
    [Fact]
    public void Diff_LatenessMeasuredByTheHandshake_NotTheLinkEmulators()
    {
        var edge = KernelCommand.Diff(SilentPeer, Slower(0.2, lateNs: 2_000))!;

        Assert.Equal((0, 0.2), (edge.Differences, edge.SlowerLinkMs));
        Assert.Contains("the shift nearest the 0.2 ms its handshakes' SYN-ACKs came later than the engine's, by the median)", edge.Lines[0]);
    }

    /// <summary>
    /// A run that was not late — its handshake's SYN-ACK as soon after its SYN as the engine's — and whose packets still
    /// differ from the engine's by the retransmissions a 0.1 ms longer RTT moves a jiffy or a timer-wheel slot (here the
    /// engine's own outcome with links 0.1 ms slower, its handshake put back at the engine's times): a difference of the
    /// engine, reported as one. Before, the link emulators' 0.002 ms tried the 0.1 ms shift, which matched, and it was EDGE
    /// (review38a S-3).
    /// </summary>
    [Fact]
    public void Diff_ARunThatWasNotLate_ItsDifferencesStay_NoShiftTried()
    {
        var slower = Slower(0.1, lateNs: 2_000);
        var engine = RunOutcome.OfEngine(ScenarioParser.Parse(SilentPeer).Document!);
        var notLate = slower with { Packets = [.. slower.Packets.Select(p => p.Flags == "S." ? p with { AtNs = p.AtNs - 100_000 } : p)] };
        Assert.Equal(OutcomeDiff.HandshakeNs(engine), OutcomeDiff.HandshakeNs(notLate));

        var report = KernelCommand.Diff(SilentPeer, notLate)!;

        Assert.True(report.Differences > 0 && report.SlowerLinkMs is null, string.Join("\n", report.Lines));
    }

    /// <summary>
    /// A first SYN that went unanswered (dropped on the way) and its retransmission answered: the retransmission's own
    /// jitter is no hop's lateness, so that handshake is left out and, with no clean one, none is measured from the
    /// handshakes (review39a S-3: the first SYN was paired with the first SYN-ACK, and the ≈ 1 s timer's milliseconds of
    /// jitter picked the largest shift).
    /// </summary>
    [Fact]
    public void HandshakeNs_RetransmittedSyn_LeftOut_TheCleanOnesMedian()
    {
        static OutcomePacket Packet(long atNs, string from, int fromPort, string to, int toPort, string flags, bool dropped = false) =>
            new(atNs, from, to, fromPort, toPort, flags, 0, 0, 64, 0, "", dropped);
        var retried = new RunOutcome(
        [
            Packet(0, "client", 40000, "server", 80, "S", dropped: true),
            Packet(1_003_000_000, "client", 40000, "server", 80, "S"),
            Packet(1_013_000_000, "server", 80, "client", 40000, "S."),
        ], [], new Dictionary<string, Dictionary<string, long>>());
        Assert.Null(OutcomeDiff.HandshakeNs(retried));

        var clean = retried with
        {
            Packets =
            [
                .. retried.Packets,
                Packet(2_000_000_000, "client", 40001, "server", 80, "S"), Packet(2_010_100_000, "server", 80, "client", 40001, "S."),
                Packet(3_000_000_000, "client", 40002, "server", 80, "S"), Packet(3_010_300_000, "server", 80, "client", 40002, "S."),
                Packet(4_000_000_000, "client", 40003, "server", 80, "S"), Packet(4_010_200_000, "server", 80, "client", 40003, "S."),
            ],
        };
        Assert.Equal(10_200_000, OutcomeDiff.HandshakeNs(clean));

        // tcp_ecn 1: the SYN is SEW and the SYN-ACK S.E — a handshake all the same (review39b N-4).
        var ecn = retried with { Packets = [Packet(0, "client", 40005, "server", 80, "SEW"), Packet(10_400_000, "server", 80, "client", 40005, "S.E")] };
        Assert.Equal(10_400_000, OutcomeDiff.HandshakeNs(ecn));
    }

    /// <summary>
    /// An EDGE sets apart the packets only: a counter (or socket state, or connect() result) that differs from the engine as
    /// written stays a difference, counted (review37b S-3: the re-run's outcome replaced the report, and with it such a one).
    /// </summary>
    [Fact]
    public void Diff_Edge_KeepsACounterDifferenceCounted()
    {
        var slower = Slower(0.2, lateNs: 190_000);
        var kernel = slower with
        {
            Counters = slower.Counters.ToDictionary(h => h.Key, h => h.Key == "client"
                ? new Dictionary<string, long>(h.Value) { ["Tcp.RetransSegs"] = h.Value["Tcp.RetransSegs"] + 1 } : h.Value),
        };

        var report = KernelCommand.Diff(SilentPeer, kernel)!;

        Assert.Equal((1, 0.2), (report.Differences, report.SlowerLinkMs));
        Assert.Contains(report.Items, i => i is { Kind: "packet", What: "edge" });
        Assert.Contains(report.Items, i => i is { Kind: "counter", What: "differ", Where: "client" });
        Assert.EndsWith("; the other 1 stay differences:", report.Lines[0], StringComparison.Ordinal);
    }

    /// <summary>--strict fails a file that passed with an EDGE and no difference (review37b S-3: it passed); without --strict it passes.</summary>
    [Fact]
    public void Strict_AnEdgeOnlyFile_Fails()
    {
        var edge = KernelCommand.Diff(SilentPeer, Slower(0.2, lateNs: 190_000))!;
        cli::SimService.Cli.Running.FileResult Passed(bool strict) => new("t7.json", "scenario", cli::SimService.Cli.Running.FileOutcome.Passed, [], [], null, 2_000 * Ms, null, 1)
        {
            Diff = edge.ToResult(strict),
        };

        Assert.Equal((1, 0), (KernelCommand.Outcome([Passed(true)], strict: true), KernelCommand.Outcome([Passed(false)], strict: false)));
    }
    /// <summary>
    /// A keepalive chain (tcp_keepalive_intvl 1 s, the link dark, so every probe dropped): the engine's probes at 2420, 3424
    /// and its RST at 4448 ms; <paramref name="kernelMs"/> the kernel's.
    /// </summary>
    static (RunOutcome Engine, RunOutcome Kernel) KeepaliveChain(params double[] kernelMs)
    {
        (long, string, uint)[] engine = [(2420 * Ms, ".", 1000), (3424 * Ms, ".", 1000), (4448 * Ms, "R.", 1001)];
        RunOutcome Of(IEnumerable<long> at, int port) => new([.. at.Zip(engine, (t, p) => new OutcomePacket(t, "client", "server", port, 80, p.Item2, p.Item3, 1, 502, 0, "", true))],
            [], new Dictionary<string, Dictionary<string, long>>());
        return (Of(engine.Select(p => p.Item1), 40000), Of(kernelMs.Select(t => (long)Math.Round(t * Ms)), 51234));
    }

    /// <summary>
    /// tester40 LOW-4 (f4-keepalive-tw-buckets-ecn-toggle.json, 1 run of 2): the kernel's first probe one jiffy late (+4.058 ms,
    /// the harness), so its keepalive_intvl timer (250 jiffies, wheel level 1, 8-jiffy buckets) rounded a bucket later: +36.091
    /// and +32.106 ms for the rest of the chain. The chain is the harness's timing too, each line saying why; no difference.
    /// </summary>
    [Fact]
    public void Compare_ChainAfterAHarnessLateTimer_SetApartAsTiming()
    {
        var (engine, kernel) = KeepaliveChain(2424.058, 3460.091, 4480.106);

        var report = OutcomeDiff.Compare(engine, kernel, Tolerance);

        Assert.Equal((0, 3), (report.Differences, report.Timing));
        Assert.Contains("  timing: engine 3424ms ~1>~1 . seq=1000 ack=1 win=502 len=0 (dropped) | kernel 3460.091ms ~1>~1 . seq=1000 ack=1 win=502 len=0 (dropped) "
            + "— time +36.091 ms, a timer chain after a late one: +32.033 ms through the wheel's 32 ms buckets", report.Lines);
    }

    /// <summary>
    /// The chain rule sets apart only what the wheel explains: the same +36 ms with the first probe on time (nothing late to
    /// follow), or a second probe 80 ms late after a late first one (more than a 32 ms bucket and a jiffy), stay differences.
    /// </summary>
    [Theory]
    [InlineData(new[] { 2420.2, 3460.091, 4480.106 }, 2)]
    [InlineData(new[] { 2424.058, 3504.0, 4528.0 }, 2)]
    public void Compare_ShiftTheWheelDoesNotExplain_StaysADifference(double[] kernelMs, int differences)
    {
        var (engine, kernel) = KeepaliveChain(kernelMs);

        var report = OutcomeDiff.Compare(engine, kernel, Tolerance);

        Assert.Equal(differences, report.Differences);
        Assert.Contains(report.Items, item => item is { Kind: "packet", What: "time" });
    }
}
