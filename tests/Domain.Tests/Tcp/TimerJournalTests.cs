using System.Xml.Linq;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Outputs;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The journal's timer entries: every arming, cancel and expiry of one kernel timer is journaled under the name the
/// timer was armed as (sk_timer armed as the orphan FIN_WAIT2 timer is cancelled as FinWait2, not as Keepalive), and
/// a cancel is journaled where the kernel stops the timer.
/// </summary>
public class TimerJournalTests
{
    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>One line per timer event (and state change, for context) of one socket, in journal order: "ms what".</summary>
    static List<string> Timeline(TwoHostHarness h, string host, int socketId, double fromMs = 0) =>
        [.. h.Sim.Journal.Where(e => e.At.Ns >= fromMs * 1_000_000).Select(e => e switch
        {
            TimerArmed a when a.Host == host && a.SocketId == socketId => $"{At(a)} armed {a.Timer} (runs {a.Expires.Ns / 1e6}ms)",
            TimerCancelled c when c.Host == host && c.SocketId == socketId => $"{At(c)} cancelled {c.Timer}",
            TimerFired f when f.Host == host && f.SocketId == socketId => $"{At(f)} fired {f.Timer}",
            StateChanged s when s.Host == host && s.SocketId == socketId => $"{At(s)} {s.From.ToDisplayName()} -> {s.To.ToDisplayName()}",
            _ => "",
        }).Where(s => s != "")];

    static string At(SimEvent e) => $"{e.At.Ns / 1e6}ms";

    /// <summary>
    /// The orphan in FIN-WAIT-1 gets the peer's FIN with the ACK of its own (the server closed as soon as it read the EOF,
    /// so its FIN carries the ACK). tcp_rcv_state_process() — net/ipv4/tcp_input.c, case TCP_FIN_WAIT1: the ACK of
    /// the FIN moves it to FIN_WAIT2; an orphan with tcp_fin_time() = 60 s (not above TCP_TIMEWAIT_LEN) and th->fin
    /// arms sk_timer for the whole 60 s (inet_csk_reset_keepalive_timer()): the FinWait2 arming. tcp_data_queue() →
    /// tcp_fin() then, in FIN_WAIT2, calls tcp_time_wait(TCP_TIME_WAIT): the timewait socket's timer is armed
    /// (inet_twsk_schedule()), and tcp_done() → tcp_clear_xmit_timers() → inet_csk_clear_xmit_timers() stops sk_timer
    /// (sk_stop_timer(sk, &amp;sk->sk_timer)) — journaled as the FinWait2 it was armed as. The xmit timer (re-armed as the
    /// FIN's loss probe by tcp_schedule_loss_probe()) is cleared by the same ACK: tcp_rearm_rto() with nothing in flight →
    /// inet_csk_clear_xmit_timer(ICSK_TIME_RETRANS).
    /// </summary>
    [Fact]
    public void FinWait1Orphan_FinAckInOneSegment_FinWait2ArmingCancelledAsFinWait2WhenTimeWaitTakesOver()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(110)); // the client's FIN arrives at the server
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(61));

        Assert.Equal(
        [
            "100ms ESTABLISHED -> FIN-WAIT-1",
            "100ms armed Retransmit (runs 324ms)",
            "100ms armed LossProbe (runs 324ms)",
            "120ms cancelled LossProbe",
            "120ms FIN-WAIT-1 -> FIN-WAIT-2",
            "120ms armed FinWait2 (runs 60384ms)",
            "120ms FIN-WAIT-2 -> TIME-WAIT",
            "120ms armed TimeWait (runs 60384ms)",
            "120ms FIN-WAIT-2 -> CLOSED",
            "120ms cancelled FinWait2",
            "60384ms fired TimeWait",
            "60384ms TIME-WAIT -> CLOSED",
        ], Timeline(h, "client", c.Id, fromMs: 100));
        // The diagram closes every bracket: no timer of the client's socket is left "pending".
        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, new DiagramFilter(Sockets: [c.Id])));
        var brackets = Timers(doc).Where(g => (string?)g.Attribute("data-host") == "client").ToList();
        Assert.DoesNotContain(brackets, g => (string?)g.Attribute("data-outcome") == "pending");
        Assert.Equal("cancelled", (string?)brackets.Single(g => (string?)g.Attribute("data-timer") == "FinWait2").Attribute("data-outcome"));
    }

    /// <summary>
    /// README story 2: the client closes at 100 ms; the server reads the EOF but closes only at 400 ms. The FIN's send
    /// arms the xmit timer for the RTO (tcp_event_new_data_sent() → tcp_rearm_rto()), and tcp_write_xmit() re-arms it at
    /// once as the loss probe (tcp_schedule_loss_probe(): the same timer, icsk_pending = ICSK_TIME_LOSS_PROBE); the ACK
    /// at 122 ms leaves nothing in flight, so tcp_rearm_rto() clears it (inet_csk_clear_xmit_timer(ICSK_TIME_RETRANS)) —
    /// journaled as the LossProbe it was last armed as. The orphan FIN_WAIT2 goes to a timewait socket at once
    /// (tcp_fin_time() = 60 s, no FIN on the segment), whose timer the server's FIN at 410 ms restarts.
    /// </summary>
    [Fact]
    public void Story2_FinsRetransmitTimer_ReArmedAsLossProbeThenCancelledByTheAck()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(63));

        Assert.Equal(
        [
            "100ms ESTABLISHED -> FIN-WAIT-1",
            "100ms armed Retransmit (runs 324ms)",
            "100ms armed LossProbe (runs 324ms)",
            "122ms cancelled LossProbe",
            "122ms FIN-WAIT-1 -> FIN-WAIT-2",
            "122ms FIN-WAIT-2 -> FIN-WAIT-2",
            "122ms armed TimeWait (runs 60384ms)",
            "122ms FIN-WAIT-2 -> CLOSED",
            "410ms FIN-WAIT-2 -> TIME-WAIT",
            "410ms armed TimeWait (runs 62432ms)",
            "62432ms fired TimeWait",
            "62432ms TIME-WAIT -> CLOSED",
        ], Timeline(h, "client", c.Id, fromMs: 100));
        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, new DiagramFilter(Sockets: [c.Id])));
        var fin = Timers(doc).Where(g => (string?)g.Attribute("data-host") == "client").Select(Describe).ToList();
        Assert.Equal(
        [
            "Retransmit cancelled: client socket 2: Retransmit armed at 1ms for 1.024s, cancelled at 21ms",
            "Retransmit re-armed: client socket 2: Retransmit armed at 100ms for 324ms, re-armed as LossProbe at 100ms",
            "LossProbe cancelled: client socket 2: LossProbe armed at 100ms for 324ms, cancelled at 122ms",
            "TimeWait re-armed: client socket 2: TimeWait armed at 122ms for 60.384s, re-armed as TimeWait at 410ms",
            "TimeWait fired: client socket 2: TimeWait armed at 410ms for 62.432s, fired at 62.432s",
        ], fin);
    }

    /// <summary>
    /// A diagram cut at 4000 rows: 120 connections one every 40 ms, each closed by the client first, so the first ones'
    /// TIME-WAIT timers (armed in the first tenth of a second, run at 60.384 s) fire long after the last row. Their
    /// brackets reach the bottom with the fate the journal gives them after the cut — "fired", not "pending".
    /// </summary>
    [Fact]
    public void ManyConnections_DiagramTruncated_TimerFiredAfterTheCutShowsFired()
    {
        var h = new TwoHostHarness();
        var listener = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        int first = 0;
        for (int i = 0; i < 120; i++)
        {
            h.At(Ms(1 + i * 40));
            var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
            if (i == 0) first = c.SocketId;
            var a = h.Call("server", SocketCallKind.Accept, listener.SocketId);
            h.At(Ms(31 + i * 40));
            h.Call("client", SocketCallKind.Close, c.SocketId);
            h.Call("server", SocketCallKind.Close, h.Returned(a.CallId)!.SocketId);
        }
        h.At(S(65));

        var doc = XDocument.Parse(LadderDiagram.Svg(h.Sim, DiagramFilter.All));
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value.StartsWith("truncated at 4000 rows", StringComparison.Ordinal));
        var timeWait = Timers(doc).Single(g => (string?)g.Attribute("data-host") == "client" && (int)g.Attribute("data-socket")! == first
            && (string?)g.Attribute("data-timer") == "TimeWait");
        var armed = h.Sim.Journal.OfType<TimerArmed>().Single(a => a.Host == "client" && a.SocketId == first && a.Timer == TcpTimerKind.TimeWait);
        var fired = h.Sim.Journal.OfType<TimerFired>().Single(f => f.Host == "client" && f.SocketId == first);
        Assert.Equal($"TimeWait fired: client socket {first}: TimeWait armed at {armed.At} for {armed.Expires}, fired at {fired.At} (after the diagram's last row)",
            Describe(timeWait));
        Assert.Equal(TcpTimerKind.TimeWait, fired.Timer);
        Assert.Equal(60_384_000_000, fired.At.Ns);
        // Nothing in the diagram is "pending": every timer of this run ended before 65 s.
        Assert.DoesNotContain(Timers(doc), g => (string?)g.Attribute("data-outcome") == "pending");
    }

    static IEnumerable<XElement> Timers(XDocument doc) =>
        doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "timer");

    static string Describe(XElement g) => $"{(string?)g.Attribute("data-timer")} {(string?)g.Attribute("data-outcome")}: {g.Element(Svg + "title")!.Value}";
}
