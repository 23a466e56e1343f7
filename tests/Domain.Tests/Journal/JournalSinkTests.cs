using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Journal;

/// <summary>The journal's output seam: every sink sees the same run, keeping more or less of it.</summary>
public class JournalSinkTests
{
    /// <summary>A lossy (20 %) connection: 30 KB each way, client closes first, everything run out.</summary>
    static Simulation Run(IJournalSink sink, double loss = 0.2)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 7) { Sink = sink };
        Apply(sim, new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []));
        Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
        Apply(sim, new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(5), loss));
        var l = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(10), 1_000_000));
        int server = sim.PendingCalls.Count == 0 ? sim.Hosts[1].AllSockets.Last().Id : a.SocketId;
        Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 30_000 });
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Send) { SocketId = server, Bytes = 30_000 });
        Apply(sim, new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(30), 1_000_000));
        Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = c.SocketId });
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = server });
        Apply(sim, new AdvanceCommand(AdvanceMode.UntilIdle, SimDuration.FromSeconds(600), 1_000_000));
        return sim;
    }

    static void Apply(Simulation sim, SimCommand c) => Assert.True(CommandApplier.Apply(sim, c).IsOk);

    static CallHandle Call(Simulation sim, SocketCallRequest r)
    {
        var o = CommandApplier.Apply(sim, new SocketCallCommand(r));
        Assert.True(o.IsOk, o.Error?.Message);
        return o.Call!.Value;
    }

    static long[] Counters(Simulation sim) =>
        [.. sim.Hosts.SelectMany(h => Enum.GetValues<MibCounter>().Select(c => h.Mib[c]))];

    [Fact]
    public void StreamingSink_PagedRun_PagesConcatenateToTheFullJournal()
    {
        var full = Run(new FullJournal());
        var pages = new List<List<SimEvent>>();
        var streaming = new StreamingJournal(JournalLevel.Full, 64, page => pages.Add([.. page]));
        Run(streaming);
        Assert.True(streaming.Held.Count < 64);
        streaming.Flush();
        Assert.Empty(streaming.Held);
        Assert.True(pages.Count > 2);
        Assert.All(pages.SkipLast(1), p => Assert.Equal(64, p.Count));
        Assert.Equal(full.Journal, pages.SelectMany(p => p));
        Assert.Equal(full.Journal.Count, streaming.Appended);
    }

    [Fact]
    public void StatesSink_SameRun_KeepsExactlyTheStateLevelEventsWithTheSameCounters()
    {
        var full = Run(new FullJournal());
        var states = Run(new StatesJournal());
        static bool StateLevel(SimEvent e) => e is not (SegmentSent or SegmentDelivered or SegmentDropped or SegmentIgnored
            or TimerArmed or TimerFired or TimerCancelled or DataDelivered);
        // Seq numbers the kept events, so compare with it blanked.
        Assert.Equal(full.Journal.Where(StateLevel).Select(e => e with { Seq = 0 }), states.Journal.Select(e => e with { Seq = 0 }));
        Assert.Equal(Enumerable.Range(0, states.Journal.Count).Select(i => (long)i), states.Journal.Select(e => e.Seq));
        Assert.Equal(Counters(full), Counters(states));
    }

    [Fact]
    public void CountersSink_SameRun_HoldsNoEventsAndTheSameCounters()
    {
        var full = Run(new FullJournal());
        var counters = Run(new CountersJournal());
        Assert.Empty(counters.Journal);
        Assert.Equal(0, counters.Sink.Appended);
        Assert.Equal(JournalLevel.Counters, counters.JournalLevel);
        Assert.Equal(Counters(full), Counters(counters));
        Assert.Equal(full.Now, counters.Now);
    }

    [Fact]
    public void Sink_AfterTheFirstEvent_CannotBeSwapped()
    {
        var sim = Run(new FullJournal(), loss: 0);
        Assert.Throws<InvalidOperationException>(() => sim.Sink = new CountersJournal());
    }

    [Fact]
    public void Segments_LossyLink_EverySendPairsWithExactlyOneDeliveryOrDrop()
    {
        var sim = Run(new FullJournal());
        var sent = sim.Journal.OfType<SegmentSent>().ToList();
        var delivered = sim.Journal.OfType<SegmentDelivered>().ToList();
        var dropped = sim.Journal.OfType<SegmentDropped>().ToList();
        Assert.NotEmpty(dropped);
        // Ids number transmissions 1, 2, 3 … in send order.
        Assert.Equal(Enumerable.Range(1, sent.Count).Select(i => (long)i), sent.Select(s => s.SegmentId));
        var outcomes = delivered.Select(d => (d.SegmentId, d.At, d.Flags, d.SeqNo))
            .Concat(dropped.Select(d => (d.SegmentId, d.At, d.Flags, d.SeqNo)))
            .ToDictionary(o => o.SegmentId);
        Assert.Equal(delivered.Count + dropped.Count, outcomes.Count);
        Assert.Equal(sent.Count, outcomes.Count);
        foreach (var s in sent)
        {
            var o = outcomes[s.SegmentId];
            Assert.Equal((s.Flags, s.SeqNo), (o.Flags, o.SeqNo));
            Assert.True(o.At == s.At || o.At == s.At + SimDuration.FromMilliseconds(5));
        }
    }

    [Fact]
    public void TimeWait_ExactRst_JournalsTheTimerItCancels()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        var tw = h.TimeWaitOf(c)!;
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt, 0));
        var cancelled = h.Sim.Journal.OfType<TimerCancelled>().Last();
        Assert.Equal(("client", c.Id, TcpTimerKind.TimeWait, Ms(300)), (cancelled.Host, cancelled.SocketId, cancelled.Timer, cancelled.At));
    }

    [Fact]
    public void SynRecv_ListenerClosed_JournalsTheSynAckTimerItCancels()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, null, blackhole: true); // the SYN-ACK never arrives
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(15));
        var req = Assert.Single(h.Server.RequestSockets);
        h.Call("server", SocketCallKind.Close, l.SocketId);
        // A segment for the request finds its listener gone: tcp_v4_rcv drops the request, and its timer with it.
        h.Deliver(h.Server, new Segment(req.Tuple.Reversed, TcpFlags.Ack, req.Irs + 1, req.Iss + 1, 502, 0, TcpOptions.None));
        Assert.Empty(h.Server.RequestSockets);
        Assert.Contains(h.Sim.Journal.OfType<TimerCancelled>(), e => e.Host == "server" && e.Timer == TcpTimerKind.SynAckRetransmit);
    }
}
