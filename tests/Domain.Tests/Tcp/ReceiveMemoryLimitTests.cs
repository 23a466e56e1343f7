using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The receive-memory limit of tcp_data_queue() (net/ipv4/tcp_input.c): tcp_try_rmem_schedule() → tcp_can_ingest()
/// (sk_rmem_alloc ≤ sk_rcvbuf) → tcp_prune_queue() (PruneCalled, tcp_clamp_window(), tcp_prune_ofo_queue(), RcvPruned),
/// then TCPRcvQDrop and ICSK_ACK_NOMEM's zero window (tcp_select_window()). The window was offered before SO_RCVBUF
/// shrank the buffer, so the peer's flight is in window; observed on Linux 6.18.44
/// (scenarios/rcvbuf-lowered-after-handshake-prunes-and-drops.json). Under TCP memory pressure the window itself is clamped
/// (docs/kernel-behaviour.md, "TCP memory pressure: what it does to the receive window").
/// </summary>
public class ReceiveMemoryLimitTests
{
    /// <summary>
    /// SO_RCVBUF 2048 on the established client (sk_rcvbuf 4096), then ten full segments at once. 1: slow path
    /// (truesize 2304 above sk_forward_alloc), queued: rmem 2304 ≤ 4096. 2: slow path again, rmem 2304 ≤ 4096,
    /// queued (4608). 3: header prediction stays on (tcp_fast_path_check() only turns it on) and its truesize fits
    /// sk_forward_alloc: the fast path queues it without asking (6912). 4: the slow path — rmem 6912 &gt; 4096,
    /// tcp_prune_queue() finds nothing to collapse or prune: PruneCalled, RcvPruned, TCPRcvQDrop, and the ACK goes at
    /// once with a zero window (ICSK_ACK_NOMEM: rcv_wnd 0, rcv_wup = rcv_nxt). 5–10 end beyond that window while the
    /// receive queue holds data: BeyondWindow and a duplicate ACK (win 0) each. sk_drops 7.
    /// </summary>
    [Fact]
    public void SoRcvbufLoweredAfterHandshake_FlightBeyondTheBuffer_PrunedDroppedAndZeroWindow()
    {
        var f = InjectedPeer.Connected(delayMs: 5);
        f.H.SetOption(f.C.Id, SocketOption.SO_RCVBUF, 2048);
        int before = f.H.Sent("client").Count();
        var at = f.H.Sim.Now + SimDuration.FromMilliseconds(10);
        for (int i = 0; i < 10; i++) f.DataAt(at, 1448, 1448L * i);
        f.H.At(at + SimDuration.FromMilliseconds(1));

        var acks = f.H.Sent("client").Skip(before).ToList();
        // Segment 1 is ACKed at once (quick-ACK mode; the window offered before is kept: never shrunk), 2 and 3 wait for 4.
        Assert.Equal([(1448L, 62), .. Enumerable.Repeat((4344L, 0), 7)], acks.Select(a => (f.Acked(a), (int)a.Win)));
        var mib = f.H.Client.Mib;
        Assert.Equal((1, 1, 1, 6), (mib[MibCounter.TcpExtPruneCalled], mib[MibCounter.TcpExtRcvPruned], mib[MibCounter.TcpExtTCPRcvQDrop], mib[MibCounter.TcpExtBeyondWindow]));
        Assert.Equal((0, 0), (mib[MibCounter.TcpExtOfoPruned], mib[MibCounter.TcpExtTCPOFODrop]));
        var mem = f.C.Meminfo;
        Assert.Equal((6912u, 4096u, 7u), (mem.RmemAlloc, mem.Rcvbuf, mem.Drops));
        Assert.Equal(4344, f.H.Call("client", SocketCallKind.Recv, f.C.Id).Result);
    }

    /// <summary>
    /// SO_RCVBUF 2048 on the established client, then out-of-order segments 1449, 2897 and 4345 200 ms apart, then the hole
    /// (seq 1). 1449 and 2897 are queued out of order (rmem 0, then 2304 ≤ 4096: admitted; 4608 after). 4345:
    /// rmem 4608 &gt; 4096, tcp_prune_queue() — PruneCalled; tcp_prune_ofo_queue() stops at once (the arriving skb would
    /// land last); RcvPruned — and tcp_data_queue_ofo() drops it (TCPOFODrop) without scheduling an ACK. The hole:
    /// PruneCalled again, and tcp_prune_ofo_queue() drops 2897 (OfoPruned, the SACK state reset): rmem 2304 admits it,
    /// and 1449 follows it from the out-of-order queue — ACK 2897, rmem 4608. Observed on Linux 6.18.44
    /// (packetdrill/rcvbuf-lowered-ofo-segments-pruned-and-dropped.pkt, kernel --counters agreeing).
    /// </summary>
    [Fact]
    public void SoRcvbufLoweredAfterHandshake_OutOfOrderSegments_OfoDropThenOfoPrunedForTheHole()
    {
        var f = InjectedPeer.Connected();
        f.H.SetOption(f.C.Id, SocketOption.SO_RCVBUF, 2048);
        var first = f.Data(1448, at: 1448);
        var second = f.Data(1448, at: 2896);
        int before = f.H.Sent("client").Count();
        f.DataAt(f.H.Sim.Now + SimDuration.FromMilliseconds(1), 1448, 4344);
        f.H.At(f.H.Sim.Now + SimDuration.FromMilliseconds(199));
        Assert.Equal(before, f.H.Sent("client").Count()); // dropped out of order: no ACK
        var hole = f.Data(1448, at: 0);

        Assert.Equal(((1448L, 2896L), (1448L, 4344L)), (f.Sacks(first)[0], f.Sacks(second)[0]));
        Assert.Equal((2896L, 0), (f.Acked(hole), f.Sacks(hole).Length));
        var mib = f.H.Client.Mib;
        Assert.Equal((2, 1, 1, 1), (mib[MibCounter.TcpExtPruneCalled], mib[MibCounter.TcpExtRcvPruned], mib[MibCounter.TcpExtOfoPruned], mib[MibCounter.TcpExtTCPOFODrop]));
        Assert.Equal(0, mib[MibCounter.TcpExtTCPRcvQDrop]);
        Assert.Equal((4608u, 2u), (f.C.Meminfo.RmemAlloc, f.C.Meminfo.Drops));
    }

    /// <summary>
    /// Both hosts with tcp_mem 0 0 100000000 (pressure above 0 pages, no hard limit) and SO_SNDBUF 4000000 send
    /// 2000000 bytes to each other at 100 ms without reading: each send queues about 2 MB at once, the charge drains
    /// the per-CPU reserve and the host enters pressure before any data arrives. From the first data segment on,
    /// tcp_grow_window() runs tcp_adjust_rcv_ssthresh() (rcv_ssthresh = min(rcv_ssthresh, 4 · advmss) = 5792) instead
    /// of growing, so the window offered shrinks as the data arrives (never below what was offered) down to
    /// ALIGN(5792, 1 &lt;&lt; 10) and then one 1024 granule: 82000 and 80976 bytes received by 500 ms, no drop, no RTO
    /// — Linux 6.18.44's numbers (scenarios/tcp-mem-pressure-clamps-receive-window.json with the machine's tcp_mem so
    /// set). Without the clamp rcv_ssthresh grew, the receive queue outgrew sk_rcvbuf, 11 segments were dropped and an
    /// RTO followed.
    /// </summary>
    [Fact]
    public void BothHostsUnderPressure_UnreadData_RcvSsthreshClampedTo4AdvmssNoDrops()
    {
        var h = new TwoHostHarness();
        foreach (var host in new[] { "client", "server" }) h.Sim.SetSysctl(host, "net.ipv4.tcp_mem", "0 0 100000000");
        var (c, s, _) = h.Establish();
        h.At(TwoHostHarness.Ms(100));
        foreach (var sk in new[] { c, s })
        {
            h.SetOption(sk.Id, SocketOption.SO_SNDBUF, 4_000_000);
            h.Call(new SocketCallRequest(sk.Host.Name, "app", SocketCallKind.Send) { SocketId = sk.Id, Bytes = 2_000_000, Flags = MsgFlags.MSG_DONTWAIT });
        }
        Assert.True(h.Client.TcpMemoryPressure && h.Server.TcpMemoryPressure);
        h.At(TwoHostHarness.Ms(500));

        var (ci, si) = (c.Info, s.Info);
        Assert.Equal((5792L, 82000L, 1024L, 0), (si.RcvSsthresh, si.BytesReceived, si.RcvWnd, si.TotalRto));
        Assert.Equal((5792L, 80976L, 1024L, 0), (ci.RcvSsthresh, ci.BytesReceived, ci.RcvWnd, ci.TotalRto));
        Assert.Equal((131584u, 0u), (s.Meminfo.RmemAlloc, s.Meminfo.Drops));
    }
}
