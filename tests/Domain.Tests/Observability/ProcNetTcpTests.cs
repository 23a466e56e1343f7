using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Observability;

public class ProcNetTcpTests
{
    const string Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    const string NoPointer = "0000000000000000";

    [Theory]
    [InlineData("10.0.0.1", "0100000A")]
    [InlineData("127.0.0.1", "0100007F")]
    [InlineData("192.0.2.2", "020200C0")] // as the reference machine printed it
    [InlineData("0.0.0.0", "00000000")]
    public void Address_HostByteOrder_PrintsRawLittleEndianValue(string address, string hex) =>
        Assert.Equal(hex, ProcNetTcp.Address(IPv4.Parse(address)));

    [Fact]
    public void TimeWait_OneSecondIn_PrintsState06Timer03AndRefcount3()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1210)); // TIME-WAIT since 210 ms: 14750 jiffies left = 5900 USER_HZ ticks
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 06 00000000:00000000 03:0000170C 00000000     0        0 0 3 {NoPointer}"),
            ProcNetTcp.Format(h.Client));
    }

    /// <summary>
    /// Observed on Linux 6.18.44: an idle client whose handshake ended at once shows refcount 2 with no timer
    /// ("00:00000000") until its SYN's retransmission timer would have run, 1 s after connect(): tcp_rearm_rto() →
    /// inet_csk_clear_xmit_timer() only clears icsk_pending and leaves the timer_list queued with its reference.
    /// A keepalive timer adds one (3). When the stale timer has run, the row is back to 1.
    /// </summary>
    [Theory]
    [InlineData(false, 2, 1)]
    [InlineData(true, 3, 2)]
    public void Established_ClearedSynTimerStillQueued_RefcountCountsItUntilItRuns(bool keepalive, int before, int after)
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.At(Ms(1));
        var c = h.Call("client", SocketCallKind.Socket);
        if (keepalive) h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.SocketId, Option = SocketOption.SO_KEEPALIVE, Value = 1 });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c.SocketId, ToHost = "server", ToPort = 80 });
        h.At(Ms(500));
        var sk = h.Sim.FindSocket(c.SocketId)!;
        Assert.Equal(TcpState.Established, sk.State);
        Assert.Equal(before, sk.RefCount);
        Assert.Contains($" {sk.Id} {before} {NoPointer} ", ProcNetTcp.Format(h.Client));
        h.At(Ms(1500));
        Assert.Equal(after, sk.RefCount);
    }

    [Fact]
    public void OrphanFinWait2_Parked_PrintsSubstate05WithTimer03()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1120));
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 05 00000000:00000000 03:0000170C 00000000     0        0 0 3 {NoPointer}"),
            ProcNetTcp.Format(h.Client));
    }

    [Fact]
    public void ListenerAndCloseWait_PrintFullSocketLines()
    {
        var h = new TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        // Listener: rto = TCP_TIMEOUT_INIT (100 ticks), cwnd 10, fastopen max_qlen 0. CLOSE-WAIT: the FIN's byte
        // in rx_queue, rto 220 ms = 22 ticks, ato 40 ms = 4 ticks (the FIN's delayed ACK left ping-pong mode),
        // ssthresh -1 (initial slow start). Inodes are socket ids.
        Assert.Equal(Lines(
            Header,
            $"   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {l.Id} 1 {NoPointer} 100 0 0 10 0",
            $"   1: 0200000A:0050 0100000A:{c.Local.Port:X4} 08 00000000:00000001 00:00000000 00000000     0        0 {s.Id} 1 {NoPointer} 22 4 0 10 -1"),
            ProcNetTcp.Format(h.Server));
    }

    [Fact]
    public void FinWait1Orphan_Retransmitting_PrintsTimer01AndNoInode()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Null(h.Sim.ChangeLink("client", "server", true, null, null, true));
        h.Call("client", SocketCallKind.Close, c.Id); // the FIN is lost: FIN-WAIT-1, orphan, RTO 220 ms from 100 ms
        h.At(Ms(200));
        // tx_queue holds the FIN; 30 jiffies (120 ms) = 12 ticks left; refcount 2: the armed retransmit timer.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 04 00000001:00000000 01:0000000C 00000000     0        0 0 2 {NoPointer} 22 0 0 10 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.Contains("FIN-WAIT-1 0      1           10.0.0.1:", SsFormatter.Format(h.Client));
        Assert.Contains(" timer:(on,120ms,0)\n", SsFormatter.Format(h.Client));
    }

    [Fact]
    public void FinWait1Owned_ShutdownWr_PrintsInodeAndRetransmitTimer()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(105));
        // get_tcp4_sock(): the descriptor still holds the socket, so sock_i_ino() is its inode; the FIN's RTO armed at
        // jiffy 25 for 55 jiffies leaves 54 jiffies at jiffy 26: 21 clock ticks, 216 ms in inet_diag.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 04 00000001:00000000 01:00000015 00000000     0        0 {c.Id} 2 {NoPointer} 22 0 0 10 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.Contains($"FIN-WAIT-1 0      1           10.0.0.1:{c.Local.Port}     10.0.0.2:80   timer:(on,216ms,0)\n", SsFormatter.Format(h.Client, info: false));
    }

    [Fact]
    public void FinWait2Owned_FinAcked_PrintsState05WithoutTimer()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        // tcp_rcv_state_process(): a FIN_WAIT2 socket that is not SOCK_DEAD arms no timer (tcp_fin_time() only for
        // orphans): tr 0, tm->when 0 (expires = jiffies), refcount 1, no ss timer.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 05 00000000:00000000 00:00000000 00000000     0        0 {c.Id} 1 {NoPointer} 22 0 0 10 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.EndsWith($"FIN-WAIT-2 0      0           10.0.0.1:{c.Local.Port}     10.0.0.2:80         \n", SsFormatter.Format(h.Client, info: false));
    }

    [Fact]
    public void OrphanFinWait2_Linger2Above60s_StaysFullSocketWithKeepaliveTimer()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_LINGER2, 100);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1000));
        // tcp_fin_time() 100 s > TCP_TIMEWAIT_LEN: tcp_rcv_state_process() keeps the full socket and arms sk_timer
        // (the keepalive timer) for 40 s from the FIN's ACK at 110 ms: tr 2, 3912 ticks, probes_out 0, no inode.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 05 00000000:00000000 02:00000F48 00000000     0        0 0 2 {NoPointer} 22 0 0 10 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.EndsWith(" timer:(keepalive,39sec,0)\n", SsFormatter.Format(h.Client, info: false));
    }

    [Fact]
    public void LastAck_FinLost_OrphanPrintsState09AndTheUnreadFinInRxQueue()
    {
        var h = new TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        Assert.Null(h.Sim.ChangeLink("server", "client", true, null, null, true));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        // tcp_close() frees the receive queue without moving copied_seq, so rcv_nxt − copied_seq still counts the
        // peer's FIN; tx_queue holds our FIN under its RTO (30 jiffies = 12 ticks left); orphan: inode 0.
        Assert.Equal(Lines(
            Header,
            $"   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {l.Id} 1 {NoPointer} 100 0 0 10 0",
            $"   1: 0200000A:0050 0100000A:{c.Local.Port:X4} 09 00000001:00000001 01:0000000C 00000000     0        0 0 2 {NoPointer} 22 4 0 10 -1"),
            ProcNetTcp.Format(h.Server));
        Assert.EndsWith($"LAST-ACK 1      1           10.0.0.2:80       10.0.0.1:{c.Local.Port} timer:(on,120ms,0)\n", SsFormatter.Format(h.Server, info: false));
    }

    [Fact]
    public void Closing_SimultaneousClose_PrintsState0BWithBothFinsQueued()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(115));
        // tcp_fin() in FIN_WAIT1: CLOSING; our FIN unacked (tx 1), the peer's FIN unread (rx 1); RTO from jiffy 25
        // to 80 leaves 52 jiffies at jiffy 28: 20 ticks, 208 ms.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 0B 00000001:00000001 01:00000014 00000000     0        0 0 2 {NoPointer} 22 0 0 10 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.EndsWith($"CLOSING 1      1           10.0.0.1:{c.Local.Port}     10.0.0.2:80   timer:(on,208ms,0)\n", SsFormatter.Format(h.Client, info: false));
    }

    [Fact]
    public void SynRecv_SynAckTimedOutOnceAndResentForADuplicateSyn_ProcPrintsNumTimeoutSsNumRetrans()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Null(h.Sim.ChangeLink("server", "client", true, null, null, true));
        h.At(Ms(1));
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(1500));
        // get_openreq4(): 03, tr 1, num_timeout (1: one SYN-ACK timeout); inet_diag's idiag_retrans is num_retrans
        // (2: the timeout's and the retransmitted SYN's — inet_rtx_syn_ack()). The request holds the listener (refcount 2).
        var port = h.Sim.FindSocket(c.SocketId)!.Local.Port;
        Assert.Equal(Lines(
            Header,
            $"   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {l.SocketId} 2 {NoPointer} 100 0 0 10 0",
            $"   1: 0200000A:0050 0100000A:{port:X4} 03 00000000:00000000 01:00000099 00000001     0        0 0 0 {NoPointer}"),
            ProcNetTcp.Format(h.Server));
        Assert.EndsWith($"SYN-RECV 0      0           10.0.0.2:80       10.0.0.1:{port} timer:(on,1.532ms,2)\n", SsFormatter.Format(h.Server, info: false));
    }

    [Fact]
    public void ZeroWindowProbe_ProbeUnanswered_PrintsTimer04AndProbesOutInTimeoutColumn()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 10_000_000); // the server never reads: its window closes and the client probes
        h.At(Ms(7910)); // the probe of 7.904 s is still unanswered
        // get_tcp4_sock(): ICSK_TIME_PROBE0 is tr 4; retrnsmt stays icsk_retransmits (0) and the timeout column is
        // icsk_probes_out (1); inet_diag reports probes_out as the ss count.
        Assert.Equal(Lines(
            Header,
            $"   0: 0100000A:{c.Local.Port:X4} 0200000A:0050 01 000450A0:00000000 04:000002E6 00000000     0        1 {c.Id} 2 {NoPointer} 23 0 0 60 -1"),
            ProcNetTcp.Format(h.Client));
        Assert.EndsWith(" timer:(persist,7.420ms,1)\n", SsFormatter.Format(h.Client, info: false));
    }

    [Fact]
    public void CloseWait_AfterReadingEof_RxQueueDropsTheFin()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        Assert.Contains(" 08 00000000:00000001 ", ProcNetTcp.Format(h.Server));
        // tcp_recvmsg_locked() reaching the FIN (found_fin_ok) moves copied_seq past it: rcv_nxt − copied_seq = 0.
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Contains($" 0200000A:0050 0100000A:{c.Local.Port:X4} 08 00000000:00000000 ", ProcNetTcp.Format(h.Server));
        Assert.Contains("CLOSE-WAIT 0      0 ", SsFormatter.Format(h.Server, info: false));
    }

    [Fact]
    public void EveryLine_PaddedToTmpszMinusOne()
    {
        var h = new TwoHostHarness();
        h.Establish();
        var lines = ProcNetTcp.Format(h.Server).Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.All(lines[..^1], line => Assert.Equal(149, line.Length));
        Assert.Equal(Header.PadRight(149), lines[0]);
    }

    static string Lines(params string[] lines) => string.Concat(lines.Select(l => l.PadRight(149) + "\n"));
}
