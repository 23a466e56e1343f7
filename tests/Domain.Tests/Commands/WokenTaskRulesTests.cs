using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Tests.Tcp;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.CommandLog;

/// <summary>
/// When a call woken from a softirq runs is versioned with the engine rules (<see cref="EngineRules"/>), so a stored log
/// rebuilds as it was recorded: the same command log gives, under <see cref="EngineRules.SameInstant"/>, the journal of
/// session 25's engine (a woken connect() returns inside the softirq of the SYN-ACK that woke it) and under
/// <see cref="EngineRules.WokenAfterSoftirq"/> session 26's (D56: after it, behind the segment due at its instant);
/// under <see cref="EngineRules.Original"/> a woken recv() too runs inside the softirq (before D50).
/// </summary>
public class WokenTaskRulesTests
{
    static OpenConnectionCommand Open(string client, string server) =>
        new(client, server, 80, "app", "app", null, false, 128, 1_000_000, SimDuration.FromSeconds(3600));

    /// <summary>A journal event as "seq kind detail", without the tuples' ports and sequence numbers.</summary>
    static string Line(SimEvent e) => e switch
    {
        CallIssued c => $"{c.Seq} issued {c.Call}",
        CallReturned r => $"{r.Seq} returned {r.Call} {r.Result}",
        SegmentSent s => $"{s.Seq} sent {s.Flags.ToLetters()}",
        SegmentDelivered d => $"{d.Seq} delivered {d.Flags.ToLetters()}",
        StateChanged c => $"{c.Seq} socket {c.SocketId} {c.To}",
        TimerArmed t => $"{t.Seq} armed {t.SocketId} {t.Timer}",
        TimerCancelled t => $"{t.Seq} cancelled {t.SocketId} {t.Timer}",
        _ => $"{e.Seq} {e.GetType().Name}",
    };

    /// <summary>
    /// Host a connected to itself (the API's "connections" story), then a blocking connect() to 127.0.0.1:80: the SYN-ACK's
    /// softirq completes the handshake (tcp_finish_connect() wakes the caller) and sends the ACK, due at the same instant.
    /// Session 25's engine returned the connect() inside that softirq, before the ACK's delivery (rules 1); D56 after the
    /// ACK's softirq (rules 2: the woken connect() is an item of the instant, as the open-connection's connect() and
    /// accept() before it — two more events).
    /// </summary>
    [Fact]
    public void LoopbackBlockingConnect_ReturnsWhereItsRulesPutIt()
    {
        SimCommand[] log =
        [
            new AddHostCommand("a", "10.0.0.1", HostKind.Linux, []),
            Open("a", "a"),
            new SocketCallCommand(new SocketCallRequest("a", "app", SocketCallKind.Connect) { ToHost = "127.0.0.1", ToPort = 80 }),
        ];
        string[] handshake =
        [
            "21 issued Connect", "22 socket 4 SynSent", "23 sent S", "24 armed 4 Retransmit", "25 delivered S", "26 sent S.",
            "27 armed 0 SynAckRetransmit", "28 delivered S.", "29 cancelled 4 Retransmit", "30 socket 4 Established", "31 sent .",
        ];

        var (sameInstant, wokenAfter) = (Rebuilt(log, EngineRules.SameInstant), Rebuilt(log, EngineRules.WokenAfterSoftirq));

        Assert.Equal([.. handshake, "32 returned Connect 0", "33 delivered .", "34 cancelled 0 SynAckRetransmit",
            "35 socket 5 SynRecv", "36 socket 5 Established", "events 6"], sameInstant);
        Assert.Equal([.. handshake, "32 delivered .", "33 cancelled 0 SynAckRetransmit", "34 socket 5 SynRecv",
            "35 socket 5 Established", "36 returned Connect 0", "events 8"], wokenAfter);
    }

    /// <summary>The log rebuilt under <paramref name="rules"/>: its journal from the last call issued on, and the events it ran.</summary>
    static string[] Rebuilt(SimCommand[] log, int rules)
    {
        var sim = CommandApplier.Replay(KernelProfile.Linux6, 7, log, rules);
        var last = sim.Journal.OfType<CallIssued>().Last();
        return [.. sim.Journal.Where(e => e.Seq >= last.Seq).Select(Line), $"events {sim.EventsProcessed}"];
    }

    /// <summary>
    /// Two hosts 10 ms apart: a recv() of 10,000 bytes asleep on the server, the client sends 5,000 — four segments of one
    /// flight that arrive at the same instant, 40 ms. Before D50 (rules 0) the recv() ran inside the first segment's
    /// softirq and returned its 1,448 bytes; since (rules 1 and 2) it runs after the burst and takes all 5,000.
    /// </summary>
    [Theory]
    [InlineData(EngineRules.Original, 1448)]
    [InlineData(EngineRules.SameInstant, 5000)]
    [InlineData(EngineRules.WokenAfterSoftirq, 5000)]
    public void BlockedRecvWokenByABurst_TakesWhatTheRulesLetItSee(int rules, long bytes)
    {
        SimCommand[] log =
        [
            new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
            new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
            new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(10), 0),
            Open("client", "server"),
            new SocketCallCommand(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = 3, Bytes = 10_000 }),
            new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = 2, Bytes = 5_000 }),
            new AdvanceCommand(AdvanceMode.By, SimDuration.FromMilliseconds(100), 10_000),
        ];

        var sim = CommandApplier.Replay(KernelProfile.Linux6, 7, log, rules);

        var recv = sim.Journal.OfType<CallReturned>().Single(r => r.Call == SocketCallKind.Recv);
        Assert.Equal((bytes, 40_000_000L), (recv.Result, recv.At.Ns));
    }

    /// <summary>
    /// A blocking send(100) asleep in sk_stream_wait_connect() woken by the SYN-ACK's tcp_finish_connect() with a segment
    /// right behind it in the same burst (<see cref="WokenTaskTests.SendAsleepInConnect"/>). Before D62 (rules 0 and 1) the
    /// send ran inside the SYN-ACK's softirq: it sent its 100 bytes with the SYN-ACK's ACK (ack 1) before the segment
    /// behind was received — a RST then reset a connection whose send had returned 100; 100 bytes of data were ACKed
    /// after it. Since (rules 2) it runs after the burst: the RST fails it with ECONNRESET, nothing sent; the data is ACKed
    /// first (ack 101) and the writer's segment carries that ACK too.
    /// </summary>
    [Theory]
    [InlineData(EngineRules.Original, true)]
    [InlineData(EngineRules.SameInstant, true)]
    [InlineData(EngineRules.WokenAfterSoftirq, false)]
    public void SendAsleepInConnect_WokenBySynAckWithRstBehind_RunsWhereItsRulesPutIt(int rules, bool insideSoftirq)
    {
        var (h, c, send) = WokenTaskTests.SendAsleepInConnect(c => WokenTaskTests.FromPeer(c, TcpFlags.Rst, 7001), burst: true, rules);

        var r = h.Returned(send.CallId)!;
        Assert.Equal(insideSoftirq ? (Ms(0.05), 100L, null) : (Ms(0.05), -1L, "ECONNRESET"), (r.At, r.Result, r.Errno));
        Assert.Equal(insideSoftirq ? [(1L, 1L, 100, "P.")] : [], WokenTaskTests.AfterSyn(h, c));
    }

    /// <inheritdoc cref="SendAsleepInConnect_WokenBySynAckWithRstBehind_RunsWhereItsRulesPutIt"/>
    [Theory]
    [InlineData(EngineRules.Original, true)]
    [InlineData(EngineRules.SameInstant, true)]
    [InlineData(EngineRules.WokenAfterSoftirq, false)]
    public void SendAsleepInConnect_WokenBySynAckWithDataBehind_RunsWhereItsRulesPutIt(int rules, bool insideSoftirq)
    {
        var (h, c, send) = WokenTaskTests.SendAsleepInConnect(
            c => WokenTaskTests.FromPeer(c, TcpFlags.Psh | TcpFlags.Ack, 7001, 100), burst: true, rules);

        Assert.Equal((Ms(0.05), 100L), (h.Returned(send.CallId)!.At, h.Returned(send.CallId)!.Result));
        Assert.Equal(insideSoftirq ? [(1L, 1L, 100, "P."), (101L, 101L, 0, ".")] : [(1L, 101L, 0, "."), (1L, 101L, 100, "P.")],
            WokenTaskTests.AfterSyn(h, c));
    }
}
