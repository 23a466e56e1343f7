using System.Text.Json;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Workloads;

/// <summary>Workloads on small configurations whose numbers can be worked out by hand.</summary>
public class WorkloadTests
{
    /// <summary>client (10.0.0.1) and server (10.0.0.2), 1 ms apart, with sysctls on the client and server.</summary>
    static Simulation World(IEnumerable<KeyValuePair<string, string>>? client = null, IEnumerable<KeyValuePair<string, string>>? server = null,
        JournalLevel level = JournalLevel.Full)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 11) { JournalLevel = level };
        Apply(sim, new AddHostCommand("client", "10.0.0.1", HostKind.Linux, [.. client ?? []]));
        Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, [.. server ?? []]));
        Apply(sim, new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0));
        return sim;
    }

    static CommandOutcome Apply(Simulation sim, SimCommand c)
    {
        var o = CommandApplier.Apply(sim, c);
        Assert.True(o.IsOk, o.Error?.Message);
        return o;
    }

    static WorkloadSpec Spec(long count, double rate) => new()
    {
        Clients = ["client"], Server = "server", Port = 80, Count = count, Rate = rate,
        RequestBytes = 100, ResponseBytes = 200, CloseFirst = CloseFirst.Client,
    };

    static WorkloadResult Run(Simulation sim, WorkloadSpec spec) => Apply(sim, new WorkloadCommand(spec)).Workload!;

    static KeyValuePair<string, string> Sysctl(string name, string value) => new(name, value);

    static long Counter(WorkloadResult r, string host, string name) => r.Hosts.Single(h => h.Host == host).Counters.GetValueOrDefault(name);

    /// <summary>
    /// The journal limit (<see cref="Simulation.JournalLimit"/>, the API's per-request cap) stops a workload's run at the
    /// event that reached it, truncated, as it stops an advance: a Full workload of 2,000 connections journaled all of
    /// them (through the API, a large one ran to its 300 s wall-time limit) before being refused for the limit.
    /// </summary>
    [Fact]
    public void Workload_FullLevelPastTheJournalLimit_StopsAtTheEventThatReachedIt()
    {
        var sim = World();
        long limit = sim.Sink.Appended + 50;
        sim.JournalLimit = limit;

        var r = Run(sim, Spec(2000, 1000) with { Level = JournalLevel.Full });

        Assert.True(r.Truncated);
        Assert.True(sim.JournalFull);
        // The event before the last left the journal short of the limit: one event journals a few entries at most.
        Assert.InRange(sim.Sink.Appended, limit, limit + 5);
        Assert.InRange(r.Started, 1, 5);
    }

    /// <summary>
    /// The socket limit (<see cref="Simulation.SocketLimit"/>, the API's sockets quota) stops a workload's run at the event
    /// that passed it, truncated: a workload holding its connections open (an hour's think time) built all of them first,
    /// 1,032,192 sockets in 197 s through the API, before the quota refused it.
    /// </summary>
    [Fact]
    public void Workload_ConnectionsHeldOpenPastTheSocketLimit_StopsAtTheEventThatPassedIt()
    {
        var sim = World(level: JournalLevel.Counters);
        sim.SocketLimit = 100;

        var r = Run(sim, Spec(1000, 1000) with { ThinkTime = SimDuration.FromSeconds(3600) });

        Assert.True(r.Truncated);
        Assert.True(sim.SocketsFull);
        // A client socket at each connect (0, 1, …, 50 ms: 51), a server child at each handshake's last ACK, 3 ms after its
        // connect: at 50 ms 51 + 48 + the listener = 100 sockets; the 49th child, at 51 ms, made the 101st.
        Assert.Equal(101, sim.SocketsAllocated);
        Assert.Equal(sim.Hosts.Sum(h => (long)h.Allocated), sim.SocketsAllocated);
        Assert.Equal((51L, 51, 50), (r.Started, sim.FindHost("client")!.Allocated, sim.FindHost("server")!.Allocated));
        Assert.Equal(51_000_000, sim.Now.Ns);
    }

    /// <summary>
    /// A workload its command's event budget stopped goes on at later advances; once an advance has run every connection to
    /// its end it reads completed (tester37b LOW-3: it stayed "completed":false with all 100 finished), still truncated — its
    /// command stopped it — and while it runs a second workload is refused naming it and the way on.
    /// </summary>
    [Fact]
    public void Workload_CutByItsEventBudgetThenRunToItsEndByAnAdvance_ReadsCompletedAndStillTruncated()
    {
        var sim = World(level: JournalLevel.Counters);

        var cut = Apply(sim, new WorkloadCommand(Spec(100, 1000), EventBudget: 10)).Workload!;
        var second = CommandApplier.Apply(sim, new WorkloadCommand(Spec(1, 1000) with { Port = 81 }));
        Apply(sim, new AdvanceCommand(AdvanceMode.UntilIdle, SimDuration.FromSeconds(400), 1_000_000));
        var done = sim.FindWorkload(1)!.Result();

        Assert.Equal((false, true, 0L), (cut.Completed, cut.Truncated, cut.Finished));
        Assert.Equal(("conflict", null), (second.Error!.Code, second.Error.Field));
        Assert.Equal("workload 1 is still running: its command stopped it on its event budget, and one workload runs at a time; "
            + "advance the clock (an advance with untilIdle runs it to its end), then start this one", second.Error.Message);
        Assert.Equal((true, true, 100L, 0L), (done.Completed, done.Truncated, done.Finished, done.Unfinished));
    }

    [Fact]
    public void Workload_TenLifecycles_EachSideReadsAndClosesAndTheClientHoldsTimeWait()
    {
        var sim = World();
        var r = Run(sim, Spec(10, 100) with { Level = JournalLevel.States });
        Assert.True(r.Completed);
        Assert.False(r.Truncated);
        Assert.Equal((10L, 10L, 0L), (r.Started, r.Finished, r.Unfinished));
        Assert.Equal(new Dictionary<string, long> { ["0"] = 10 }, r.ConnectResults);
        Assert.Equal(10, Counter(r, "client", "Tcp.ActiveOpens"));
        Assert.Equal(10, Counter(r, "server", "Tcp.PassiveOpens"));
        // The workload ends when the last close() returns; its FIN exchange completes 2 ms later, after the workload's end:
        // the host holds a tenth TIME-WAIT, the workload's outcome (taken at its end) still its 9.
        Assert.Equal(9, sim.FindHost("client")!.TimeWaitCount);
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 1_000_000));
        Assert.Equal((9L, 9L), (Counter(r, "client", "TcpExt.TW"), Counter(sim.FindWorkload(1)!.Result(), "client", "TcpExt.TW")));
        Assert.Equal(10, sim.FindHost("client")!.TimeWaitCount);
        // Every byte of every request and response reached its reader.
        var calls = sim.Journal.OfType<CallReturned>().Where(c => c.Call == SocketCallKind.Recv && c.Result > 0).Sum(c => c.Result);
        Assert.Equal(10 * (100 + 200), calls);
        // Connection 9 starts at 90 ms; 1 ms links: the last close is a few ms later.
        Assert.InRange(r.EndedAtNs, 90_000_000, 100_000_000);
    }

    /// <summary>
    /// closeFirst both (tester35 MEDIUM-2): once the response is read, both ends close at one instant, so the FINs cross and
    /// each end goes FIN-WAIT-1 → CLOSING → TIME-WAIT, as a simultaneous close does on Linux: TIME-WAIT on both hosts. It
    /// was the server's close right after its send, whose FIN followed the response: the client answered it from
    /// CLOSE-WAIT (LAST-ACK) and only the server held TIME-WAIT.
    /// </summary>
    [Fact]
    public void Workload_CloseFirstBoth_FinsCrossAndBothEndsHoldTimeWait()
    {
        var sim = World(level: JournalLevel.States);
        var r = Run(sim, Spec(5, 10) with { CloseFirst = CloseFirst.Both, Level = JournalLevel.States });
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 1_000_000));

        Assert.Equal((5L, 5L, 0L), (r.Started, r.Finished, r.Unfinished));
        Assert.Equal((5, 5), (sim.FindHost("client")!.TimeWaitCount, sim.FindHost("server")!.TimeWaitCount));
        // The first connection (connect at 0, 1 ms links): the response is read at 4 ms, both ends close then, each FIN
        // reaches its peer in FIN-WAIT-1 at 5 ms (CLOSING), and each ACK of it at 6 ms (TIME-WAIT: the full socket closes).
        string FirstConnection(string host) => string.Join("; ", sim.Journal.OfType<StateChanged>()
            .Where(e => e.Host == host && e.At.Ns < 100_000_000).Select(e => $"{e.At} {e.From}->{e.To}"));
        Assert.Equal("0s Close->SynSent; 2ms SynSent->Established; 4ms Established->FinWait1; 5ms FinWait1->Closing; 6ms Closing->TimeWait; 6ms Closing->Close",
            FirstConnection("client"));
        Assert.Equal("0s Close->Listen; 3ms Close->SynRecv; 3ms SynRecv->Established; 4ms Established->FinWait1; 5ms FinWait1->Closing; "
            + "6ms Closing->TimeWait; 6ms Closing->Close", FirstConnection("server"));
        // The hosts' counters: the last connection's ACKs (TIME-WAIT) come 2 ms after the workload's end, past its outcome.
        Assert.Equal((5L, 5L), (sim.FindHost("client")!.Mib[MibCounter.TcpExtTW], sim.FindHost("server")!.Mib[MibCounter.TcpExtTW]));
        Assert.DoesNotContain(sim.Journal.OfType<StateChanged>(), e => e.To is TcpState.CloseWait or TcpState.LastAck);
    }

    [Fact]
    public void Workload_Completed_LeavesNothingDueAtItsLastInstantAndExportsAsAScenario()
    {
        // The last close() returns in the middle of an instant (its segment is sent, the peer's ACK timer may share
        // the time): what is still due then happens within the command, as an advance to now would do, so the
        // simulation exports as a scenario whose run gives the same journal.
        var sim = World();
        var log = new List<SimCommand>
        {
            new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
            new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
            new WorkloadCommand(Spec(20, 1000)),
        };
        var r = Run(sim, Spec(20, 1000));
        Assert.True(r.Completed);
        Assert.True(sim.NextEventTime is null || sim.NextEventTime > sim.Now, $"an event is still due at {sim.Now}");
        var export = ScenarioExporter.Export(new ExportSource("w", "workload", KernelProfile.Linux6, 11, null, log));
        Assert.Null(export.Refusal);
    }

    /// <summary>
    /// A workload started 1 ms before the clock's maximum (<see cref="SimTime.MaxClock"/>) stops before it as an advance or
    /// a connection there does — stoppedBy "horizon", its next event past the maximum, nothing run past it — where it ran
    /// the clock 103 ms past it, and the simulation could then be neither exported nor advanced (tester37 MEDIUM-2).
    /// </summary>
    [Fact]
    public void Workload_StartedJustBeforeTheClocksMaximum_StopsBeforeIt_SaysHorizon_Exports()
    {
        var sim = World();
        var before = new AdvanceCommand(AdvanceMode.To, new SimDuration(SimTime.MaxClock.Ns - 1_000_000), 1000);
        var log = new List<SimCommand>
        {
            new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
            new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
            before, new WorkloadCommand(Spec(100, 1000)),
        };
        Apply(sim, before);

        var r = Run(sim, Spec(100, 1000));

        Assert.Equal((false, false, "horizon"), (r.Completed, r.Truncated, r.StoppedBy));
        // Two arrivals (1 ms before the maximum and at it); the second's SYN reaches the server 1 ms past it.
        Assert.Equal((SimTime.MaxClock.Ns, SimTime.MaxClock.Ns, SimTime.MaxClock.Ns + 1_000_000, 2L), (sim.Now.Ns, r.EndedAtNs, r.NextEventNs, r.Started));
        Assert.Null(ScenarioExporter.Export(new ExportSource("w", null, KernelProfile.Linux6, 11, null, log)).Refusal);
        Assert.True(CommandApplier.Apply(sim, new AdvanceCommand(AdvanceMode.UntilIdle, new SimDuration(long.MaxValue), 1000)).IsOk);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    public void Workload_TenPorts_TheEleventhConnectFailsWithEaddrnotavail(string twReuse)
    {
        // ip_local_port_range 40000–40009: 10 ports. The client closes first, so each connection leaves a
        // TIME-WAIT holding its 4-tuple for 60 s; the 11th connect (at 100 ms) finds no port whose 4-tuple
        // is free — with tcp_tw_reuse too, as every TIME-WAIT is younger than tcp_tw_reuse_delay (1 s).
        var sim = World(client: [Sysctl("net.ipv4.ip_local_port_range", "40000 40009"), Sysctl("net.ipv4.tcp_tw_reuse", twReuse)]);
        var r = Run(sim, Spec(11, 100));
        Assert.Equal(new Dictionary<string, long> { ["0"] = 10, ["EADDRNOTAVAIL"] = 1 }, r.ConnectResults);
        Assert.True(r.Completed);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1", 5)]
    public void Workload_TenPortsInTimeWait_FiveMoreTwoSecondsLaterReuseThemOnlyWithTwReuse(string twReuse, int recycled)
    {
        // The 10 ports are all in TIME-WAIT (entered at 3–93 ms); 5 more connections at 2 s: without
        // tcp_tw_reuse every one fails; with it each takes over a TIME-WAIT older than 1 s (TWRecycled).
        var sim = World(client: [Sysctl("net.ipv4.ip_local_port_range", "40000 40009"), Sysctl("net.ipv4.tcp_tw_reuse", twReuse)]);
        Run(sim, Spec(10, 100));
        Apply(sim, new AdvanceCommand(AdvanceMode.To, SimDuration.FromSeconds(2), 1_000_000));
        var r = Run(sim, Spec(5, 100));
        var expected = recycled == 0 ? new Dictionary<string, long> { ["EADDRNOTAVAIL"] = 5 } : new Dictionary<string, long> { ["0"] = 5 };
        Assert.Equal(expected, r.ConnectResults);
        Assert.Equal(recycled, Counter(r, "client", "TcpExt.TWRecycled"));
    }

    [Fact]
    public void Workload_MaxTwBucketsFive_TheSixthTimeWaitOverflows()
    {
        // tcp_max_tw_buckets=5: connections 0–4 get a timewait socket (orphan FIN_WAIT2, then TIME_WAIT);
        // for 5–7 inet_twsk_alloc() fails: TCPTimeWaitOverflow 3.
        var sim = World(client: [Sysctl("net.ipv4.tcp_max_tw_buckets", "5")]);
        Run(sim, Spec(8, 10));
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 1_000_000));
        var r = sim.FindWorkload(1)!.Result();
        // The host's counters: the last connection's FIN exchange ends after the workload (its outcome stops at its end).
        var client = sim.FindHost("client")!.Mib;
        Assert.Equal((3L, 5L), (client[MibCounter.TcpExtTCPTimeWaitOverflow], client[MibCounter.TcpExtTW]));
        Assert.Equal(5, sim.FindHost("client")!.TimeWaitCount);
        Assert.Equal(new Dictionary<string, long> { ["0"] = 8 }, r.ConnectResults);
    }

    [Fact]
    public void Workload_ServerClosesFirstToABlackholedClient_EveryOrphanOverTcpMaxOrphansIsKilled()
    {
        // tcp_max_orphans=0: every orphan is one too many. Four connections 500 ms apart; the server
        // thinks 2 s, and at 1.8 s the client goes silent (both directions blackholed). Each response
        // + FIN leaves an orphan in FIN-WAIT-1; at its first RTO tcp_out_of_resources() sees the cached
        // orphan count 1 > 0 and kills it with an RST: TCPAbortOnMemory 4, the log line, no orphan left.
        var sim = World(server: [Sysctl("net.ipv4.tcp_max_orphans", "0")], level: JournalLevel.States);
        var spec = Spec(4, 2) with { CloseFirst = CloseFirst.Server, ThinkTime = SimDuration.FromSeconds(2), DrainLimit = SimDuration.FromSeconds(30), Level = JournalLevel.States };
        Apply(sim, new WorkloadCommand(spec, RunToEnd: false));
        Apply(sim, new AdvanceCommand(AdvanceMode.To, SimDuration.FromMilliseconds(1800), 1_000_000));
        Apply(sim, new ChangeLinkCommand("client", "server", false, null, null, true));
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(60), 10_000_000));
        var r = sim.FindWorkload(1)!.Result();
        Assert.Equal(4, Counter(r, "server", "TcpExt.TCPAbortOnMemory"));
        Assert.Contains("TCP: too many orphaned sockets", r.Hosts.Single(h => h.Host == "server").KernelLog);
        Assert.Equal(0, sim.FindHost("server")!.OrphanCount);
        // Each died 209 ms after its close (the first RTO: 200 ms + RTT, in jiffies).
        Assert.Equal(4, sim.Journal.OfType<StateChanged>().Count(e => e.Host == "server" && e.Cause == "tcp_out_of_resources"));
        // The clients never heard the responses: their reads end the drain limit unfinished, and the workload says so
        // (it read completed: true until session 38).
        Assert.Equal((false, "drainLimit", 4L), (r.Completed, r.StoppedBy, r.Unfinished));
        Assert.True(sim.FindWorkload(1)!.Done);
    }

    [Fact]
    public void Workload_EverySample_AgreesWithSockstatAndSs()
    {
        var sim = World(client: [Sysctl("net.ipv4.tcp_tw_reuse", "1")]);
        var spec = Spec(300, 50) with { Resolution = SimDuration.FromMilliseconds(100), ThinkTime = SimDuration.FromMilliseconds(30) };
        Apply(sim, new WorkloadCommand(spec, RunToEnd: false));
        var w = sim.FindWorkload(1)!;
        int checkedSamples = 0;
        w.OnSample = k =>
        {
            var result = w.Result();
            foreach (var series in result.Series)
            {
                var host = sim.FindHost(series.Host)!;
                var s = series.Samples[k];
                Assert.Equal(sim.Now.Ns, s.AtNs);
                var tcp = ProcNetSockstat.Format(host).Split('\n')[1];
                Assert.Equal($"TCP: inuse {s.InUse} orphan {s.Orphans} tw {s.Tw} alloc {s.Alloc} mem {s.MemPages}", tcp);
                var rows = SocketListing.Rows(host);
                Assert.Equal(rows.Count(r => r.State == TcpState.Established), s.Established);
                Assert.Equal(rows.Count(r => r.State == TcpState.TimeWait), s.TimeWait);
                Assert.Equal(rows.Count(r => r.State == TcpState.FinWait2), s.FinWait2);
                Assert.Equal(rows.Count(r => r.State == TcpState.CloseWait), s.CloseWait);
            }
            checkedSamples++;
        };
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(20), 10_000_000));
        Assert.True(w.Done);
        Assert.True(checkedSamples >= 60);
        Assert.Contains(w.Result().Series[0].Samples, s => s.Established > 0 && s.TimeWait > 0);
    }

    /// <summary>
    /// The listener's backlog is any int, as listen() takes it (__sys_listen_socket(): a negative one, compared unsigned,
    /// is somaxconn): ten connects 1 µs apart with backlog -1 run as with 4096, and with 0 the SYN queue is full once one
    /// request is in it (inet_csk_reqsk_queue_is_full(): qlen &gt; 0; tcp_syncookies 1 sends cookies).
    /// </summary>
    [Fact]
    public void Workload_BacklogAnyInt_NegativeIsSomaxconnAndZeroIsAQueueOfOne()
    {
        var burst = Spec(10, 1e6);
        var negative = Run(World(), burst with { Backlog = -1 });
        var somaxconn = Run(World(), burst with { Backlog = 4096 });
        var zero = Run(World(), burst with { Backlog = 0 });

        Assert.Equal(JsonSerializer.Serialize(somaxconn), JsonSerializer.Serialize(negative));
        Assert.Equal(0, Counter(somaxconn, "server", "TcpExt.SyncookiesSent"));
        Assert.True(zero.Completed);
        Assert.Equal(new Dictionary<string, long> { ["0"] = 10 }, zero.ConnectResults);
        // The first SYN's request fills the SYN queue of one: the nine others get cookies, whose ACKs make the children;
        // the server accepts each at once, so the accept queue of one never overflows, and the run ends as with 4096.
        Assert.Equal((9L, 9L, 9L, 0L), (Counter(zero, "server", "TcpExt.TCPReqQFullDoCookies"), Counter(zero, "server", "TcpExt.SyncookiesSent"),
            Counter(zero, "server", "TcpExt.SyncookiesRecv"), Counter(zero, "server", "TcpExt.ListenOverflows")));
        Assert.Equal(somaxconn.EndedAtNs, zero.EndedAtNs);
    }

    [Fact]
    public void Workload_SameWorkloadTwice_IdenticalResultsAndJournals()
    {
        var spec = Spec(200, 400) with { CloseStyle = CloseStyle.ShutdownThenClose, CloseFirst = CloseFirst.Both, ThinkTime = SimDuration.FromMilliseconds(3) };
        var a = World(level: JournalLevel.Full);
        var b = World(level: JournalLevel.Full);
        var ra = Run(a, spec with { Level = JournalLevel.Full });
        var rb = Run(b, spec with { Level = JournalLevel.Full });
        Assert.Equal(JsonSerializer.Serialize(ra), JsonSerializer.Serialize(rb));
        Assert.Equal(a.Journal, b.Journal);
        Assert.NotEmpty(a.Journal.OfType<SegmentSent>());
    }

    /// <summary>
    /// A finished workload's outcome is what it was when it ended (tester38 MEDIUM-8): a later advance (the last
    /// connection's FIN exchange, its TIME-WAIT expiring) and a later workload moved the hosts' counters and the events, and
    /// the outcome read them as its own — events 94 → 185 after a 100 s advance and a second workload. Whether its own
    /// command ran it to its end or an advance did (a scenario's step), the outcome is the same, and a replay reads it too.
    /// </summary>
    [Fact]
    public void Workload_FinishedThenTheClockMovesOn_ItsOutcomeIsTheOneAtItsEnd()
    {
        var spec = Spec(5, 100);
        var log = new List<SimCommand>
        {
            new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
            new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
            new WorkloadCommand(spec),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(100), 1_000_000),
            new WorkloadCommand(spec with { Port = 81 }),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(100), 1_000_000),
        };
        var sim = new Simulation(KernelProfile.Linux6, 5);
        var answered = log.Select(c => Apply(sim, c).Workload).ToList().OfType<WorkloadResult>().First();
        // By an advance: the step starts it, the advance runs it to its end and past it.
        var stepped = new Simulation(KernelProfile.Linux6, 5);
        foreach (var c in log.Take(3)) Apply(stepped, c);
        Apply(stepped, new WorkloadCommand(spec, RunToEnd: false));
        Apply(stepped, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(100), 1_000_000));

        var json = JsonSerializer.Serialize(answered);
        Assert.Equal(json, JsonSerializer.Serialize(sim.FindWorkload(1)!.Result()));
        Assert.Equal(json, JsonSerializer.Serialize(CommandApplier.Replay(KernelProfile.Linux6, 5, log).FindWorkload(1)!.Result()));
        Assert.Equal(json, JsonSerializer.Serialize(stepped.FindWorkload(1)!.Result()));
        Assert.Equal((true, 5L), (answered.Completed, Counter(answered, "client", "Tcp.ActiveOpens")));
        // The last connection's TIME-WAIT began after the end: 4 of 5 are the workload's, the host counted 10 (both workloads).
        Assert.Equal((4L, 10L), (Counter(answered, "client", "TcpExt.TW"), sim.FindHost("client")!.Mib[MibCounter.TcpExtTW]));
    }

    /// <summary>
    /// A workload whose listener's bind() is refused (the last connections of the one before still closing on the port)
    /// says bind() failed and what would let it bind (tester38 LOW-10: "listen on server:80 failed"): SO_REUSEADDR only
    /// when the sockets holding the port set it too (inet_csk_bind_conflict(): sk_reuse on both, none listening).
    /// </summary>
    [Theory]
    [InlineData(false, "")]
    [InlineData(true, ", or set reuseAddr (the sockets holding it set SO_REUSEADDR)")]
    public void Workload_PortStillHeldByTheLastOnesConnections_RefusedSayingBindFailedAndTheWayOn(bool firstReuses, string reuse)
    {
        var sim = World(level: JournalLevel.Counters);
        Run(sim, Spec(2, 1000) with { ReuseAddr = firstReuses });

        var refused = CommandApplier.Apply(sim, new WorkloadCommand(Spec(2, 1000)));

        Assert.Equal(("conflict", "port", "the workload's listener cannot bind server:80: bind() failed with EADDRINUSE, another socket holds "
            + "the port (a connection still closing, or a listener); advance the clock until it is closed, or use another port" + reuse),
            (refused.Error!.Code, refused.Error.Field, refused.Error.Message));
    }

    [Fact]
    public void Workload_ReplayedFromItsCommandLog_SameResultAndJournal()
    {
        var spec = Spec(100, 200) with { CloseStyle = CloseStyle.LingerZero, Level = JournalLevel.States, GeneratedClients = 3, Clients = [] };
        var log = new List<SimCommand>
        {
            new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new WorkloadCommand(spec),
        };
        var live = new Simulation(KernelProfile.Linux6, 5);
        WorkloadResult? result = null;
        foreach (var c in log) result = Apply(live, c).Workload ?? result;
        var replayed = CommandApplier.Replay(KernelProfile.Linux6, 5, log);
        Assert.Equal(JsonSerializer.Serialize(result), JsonSerializer.Serialize(replayed.FindWorkload(1)!.Result()));
        Assert.Equal(live.Journal, replayed.Journal);
        Assert.Equal(4, result!.Series.Count);
        Assert.Equal(100, Counter(result, "server", "TcpExt.TCPAbortOnClose") + Counter(result, "server", "Tcp.EstabResets"));
    }

    [Fact]
    public void Workload_CountersLevel_JournalsNothingWhileItRuns()
    {
        var sim = World(level: JournalLevel.Full);
        int before = sim.Journal.Count;
        var r = Run(sim, Spec(50, 100));
        Assert.Equal(before, sim.Journal.Count);
        Assert.Equal(50, r.Finished);
    }

    [Fact]
    public void Workload_TinyEventBudget_TruncatedAndSaysSo()
    {
        var sim = World();
        var o = Apply(sim, new WorkloadCommand(Spec(100, 100), EventBudget: 50));
        Assert.True(o.Workload!.Truncated);
        Assert.False(o.Workload.Completed);
        Assert.True(o.Workload.Started < 100);
    }

    [Theory]
    [InlineData(CloseStyle.Close)]
    [InlineData(CloseStyle.ShutdownThenClose)]
    [InlineData(CloseStyle.LingerZero)]
    [InlineData(CloseStyle.Linger)]
    [InlineData(CloseStyle.Kill)]
    public void Workload_EachCloseStyle_EveryConnectionFinishes(CloseStyle style)
    {
        var sim = World();
        var r = Run(sim, Spec(20, 100) with { CloseStyle = style, LingerSeconds = 1, ReuseAddr = true, KeepAlive = true, Linger2 = 5, UserTimeoutMs = 3000 });
        Assert.True(r.Completed);
        Assert.Equal((20L, 0L), (r.Finished, r.Unfinished));
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 1_000_000));
        bool abortive = style is CloseStyle.LingerZero;
        Assert.Equal(abortive ? 0 : 20, sim.FindHost("client")!.TimeWaitCount);
    }

    /// <summary>
    /// A finished workload leaves no drain-limit timer pending: untilIdle after it ends when the kernel's own work does
    /// (the client's last TIME-WAIT, 60 s after its close, run by its timer-wheel bucket at 60.384 s), not at the last arrival + the 300 s
    /// drain limit (300.09 s), where the timer's item used to take the clock.
    /// </summary>
    [Fact]
    public void Workload_Finished_UntilIdleEndsWithTheKernelsWorkNotAtTheDrainLimit()
    {
        var sim = World();
        var r = Run(sim, Spec(10, 100));
        Assert.True(r.Completed);
        var idle = Apply(sim, new AdvanceCommand(AdvanceMode.UntilIdle, SimDuration.FromSeconds(3600), 1_000_000)).Advance!;
        Assert.True(idle.Idle);
        Assert.Equal(0, sim.PendingEvents);
        Assert.Equal(60_384_000_000L, sim.Now.Ns);
        Assert.Equal(0, sim.FindHost("client")!.TimeWaitCount);
    }

    [Fact]
    public void Workload_BadSpec_RefusedAndNothingChanged()
    {
        var sim = World();
        var o = CommandApplier.Apply(sim, new WorkloadCommand(Spec(10, 0)));
        Assert.False(o.IsOk);
        o = CommandApplier.Apply(sim, new WorkloadCommand(Spec(10, 10) with { CloseFirst = CloseFirst.Server, CloseStyle = CloseStyle.Kill }));
        Assert.False(o.IsOk);
        Assert.Empty(sim.Workloads);
        Assert.Equal(2, sim.Hosts.Count);
    }

    /// <summary>
    /// A host listed twice among the clients (a round-robin weight) has one series and one outcome: they were kept per list
    /// entry, so a list of 380,000 "client"s held 380,000 series and counter snapshots and ran out its 300 s for one connection.
    /// </summary>
    [Fact]
    public void Workload_SameClientListedThrice_OneSeriesAndOneOutcomePerHost()
    {
        var once = Run(World(), Spec(4, 100));
        var thrice = Run(World(), Spec(4, 100) with { Clients = ["client", "client", "client"] });

        Assert.Equal(["client", "server"], thrice.Series.Select(s => s.Host));
        Assert.Equal(["client", "server"], thrice.Hosts.Select(h => h.Host));
        Assert.Equal(JsonSerializer.Serialize(once), JsonSerializer.Serialize(thrice));
    }

    /// <summary>
    /// Generated clients (up to 200,000 hosts and links) are made between checks of the caller's wall-time limit: a cancelled
    /// request stops at the next host, where it went on making them all (its adding a link scanned every link too: minutes).
    /// </summary>
    [Fact]
    public void Workload_GeneratedClientsWhileCancelled_StopsBeforeMakingThem()
    {
        var sim = World();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        sim.Interruption = cancelled.Token;

        Assert.Throws<OperationCanceledException>(() => CommandApplier.Apply(sim, new WorkloadCommand(Spec(1, 10) with { Clients = [], GeneratedClients = 1000 })));
        Assert.Equal(2, sim.Hosts.Count);
    }

    [Fact]
    public void Simulation_FindLink_EitherOrderOfItsHosts()
    {
        var sim = World();

        Assert.Same(sim.Links[0], sim.FindLink("client", "server"));
        Assert.Same(sim.Links[0], sim.FindLink("server", "client"));
        Assert.Null(sim.FindLink("client", "nobody"));
    }

    /// <summary>A client list with a null or empty name (JSON <c>"clients": [null]</c>) is refused naming the element; it threw from the host lookup (a 500).</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Workload_ClientWithoutAName_RefusedNamingTheElement(string? name)
    {
        var sim = World();
        var o = CommandApplier.Apply(sim, new WorkloadCommand(Spec(10, 10) with { Clients = ["client", name!] }));

        Assert.Equal(("invalid", "clients[1]"), (o.Error!.Code, o.Error.Field));
        Assert.Empty(sim.Workloads);
    }

    /// <summary>
    /// Two connections 5,000 s apart at 1 ms would be 5,000,001 samples a host: the spec says so, naming the least resolution
    /// (the API's workload request and a new scenario's step refuse it). The command itself — as a rebuild replays one logged
    /// before the bound — is not refused: it runs, its series coarsened to the bound (1 ms doubled nine times, 512 ms).
    /// </summary>
    [Fact]
    public void Workload_ArrivalsSpanTooManySamples_TheSpecSaysSoAndALoggedOneRunsCoarsened()
    {
        var tooFine = Spec(2, 0.0002) with { Resolution = SimDuration.FromMilliseconds(1) };
        Assert.Contains("use a resolution of at least 500050006 ns", tooFine.SeriesTooFine());
        Assert.Null((Spec(2, 0.0002) with { Resolution = SimDuration.FromNanoseconds(500_050_006) }).SeriesTooFine());
        Assert.Null(tooFine.Validate());

        var sim = World(level: JournalLevel.Counters);
        var r = Run(sim, tooFine);

        Assert.True(r.Completed);
        Assert.Equal(512_000_000, r.ResolutionNs);
        Assert.All(r.Series, series => Assert.InRange(series.Samples.Count, WorkloadSpec.MaxSamples / 2, WorkloadSpec.MaxSamples + 1));
    }

    /// <summary>
    /// A workload that never set its resolution gets one that fits the bound (tester37b LOW-4): three connections 5,000 s
    /// apart span 10,000 s, 10,001 samples a host at the 1 s default, which was refused for a field the request never had;
    /// now the default is 1 s doubled until the arrivals fit — 2 s. A scenario step without one reads so; the run's series
    /// is the one a logged command at 1 s (stored before the bound) coarsens to, so such a log rebuilds the same.
    /// </summary>
    [Fact]
    public void Workload_NoResolutionGiven_DefaultFitsTheBoundInsteadOfARefusal()
    {
        var spec = Spec(3, 0.0002);
        Assert.NotNull(spec.SeriesTooFine());
        Assert.Equal(SimDuration.FromSeconds(2), spec.WithDefaultResolution().Resolution);
        Assert.Equal(SimDuration.FromSeconds(1), Spec(2, 0.0002).WithDefaultResolution().Resolution);

        var step = ScenarioParser.Parse("""
            {"name":"long","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},
             "links":[{"between":["client","server"],"delay":"1ms"}],
             "steps":[{"at":"0s","workload":{"clients":["client"],"server":"server","rate":0.0002,"count":3}}]}
            """);
        Assert.Empty(step.Errors);
        Assert.Equal(SimDuration.FromSeconds(2), Assert.IsType<WorkloadStep>(Assert.Single(step.Document!.Steps)).Spec.Resolution);

        var fitting = Run(World(level: JournalLevel.Counters), spec.WithDefaultResolution());
        var coarsened = Run(World(level: JournalLevel.Counters), spec);
        Assert.Equal((2_000_000_000L, true), (fitting.ResolutionNs, fitting.Completed));
        Assert.Equal(coarsened.ResolutionNs, fitting.ResolutionNs);
        Assert.Equal(coarsened.Series.Select(s => s.Samples), fitting.Series.Select(s => s.Samples));
    }

    /// <summary>
    /// The fitted default is a rule of engine rules 4 (review38b S-1): a stored scenario whose workload step gave no
    /// resolution, recorded under rules 3 or older, ran at 1 s — its series coarsened as it went, one sample event a second —
    /// and rebuilds so, byte for byte the run of the same step with <c>"resolution":"1s"</c> (what a missing one meant then:
    /// WorkloadSpec's default, before session 38). Under rules 4 it is the run at 2 s. Compared: the workload's whole result
    /// as JSON (its events among it) and the simulation's count of events processed.
    /// </summary>
    [Theory]
    [InlineData(3, "1s", "2s")]
    [InlineData(0, "1s", "2s")]
    [InlineData(4, "2s", "1s")]
    public void Workload_NoResolutionGiven_StoredUnderOlderRules_RebuildsAtOneSecondAsRecorded(int rules, string recorded, string other)
    {
        var rebuilt = StoredLongWorkload(rules, resolution: null);

        Assert.Equal(StoredLongWorkload(rules, recorded), rebuilt);
        Assert.NotEqual(StoredLongWorkload(rules, other).Events, rebuilt.Events);
    }

    /// <summary>Three connections 5,000 s apart, stored under <paramref name="rules"/>: the workload's result as JSON and the events the run processed.</summary>
    static (string Result, long Events) StoredLongWorkload(int rules, string? resolution)
    {
        var given = resolution is null ? "" : $",\"resolution\":\"{resolution}\"";
        var parsed = ScenarioParser.ParseStored($$$"""
            {"name":"long","hosts":{"client":{"address":"10.0.0.1"},"server":{"address":"10.0.0.2"}},
             "links":[{"between":["client","server"],"delay":"1ms"}],"engineRules":{{{rules}}},
             "steps":[{"at":"0s","workload":{"clients":["client"],"server":"server","rate":0.0002,"count":3{{{given}}}}}],"runUntil":"10100s"}
            """);
        Assert.Empty(parsed.Errors);
        var sim = ScenarioRunner.Run(parsed.Document!).Simulation;
        var result = Assert.Single(sim.Workloads).Result();
        Assert.True(result.Completed);
        return (System.Text.Json.JsonSerializer.Serialize(result), sim.EventsProcessed);
    }

    /// <summary>
    /// One connection whose server thinks for 100 s, sampled every 1 ms: the run goes on past the arrivals, so its series is
    /// coarsened as it grows — four doublings to 16 ms — and never holds more than <see cref="WorkloadSpec.MaxSamples"/>
    /// samples a host (the end's sample kept too); every sample but the end's lies on the 16 ms grid.
    /// </summary>
    [Fact]
    public void Workload_RunLongerThanMaxSamples_SeriesCoarsenedToTheBoundAndResolutionReported()
    {
        var sim = World(level: JournalLevel.Counters);
        var r = Run(sim, Spec(1, 1) with { Resolution = SimDuration.FromMilliseconds(1), ThinkTime = SimDuration.FromSeconds(100) });

        Assert.True(r.Completed);
        Assert.Equal(16_000_000, r.ResolutionNs);
        foreach (var series in r.Series)
        {
            Assert.InRange(series.Samples.Count, WorkloadSpec.MaxSamples / 2, WorkloadSpec.MaxSamples + 1);
            Assert.All(series.Samples.SkipLast(1), s => Assert.Equal(0, s.AtNs % 16_000_000));
            Assert.Equal(r.EndedAtNs, series.Samples[^1].AtNs);
            Assert.Equal(series.Samples.Count, series.Samples.Select(s => s.AtNs).Distinct().Count());
        }
        Assert.Equal(2L * r.Series[0].Samples.Count, sim.FindWorkload(1)!.SampleCount);
    }
}
