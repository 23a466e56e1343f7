using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Observability;

/// <summary>
/// TcpExt counters of the send path and the timers, each at the kernel line that bumps it:
/// TCPOrigDataSent (tcp_event_new_data_sent), TCPDelivered (tcp_newly_delivered), TCPSynRetrans
/// (__tcp_retransmit_skb, tcp_rtx_synack), TcpTimeoutRehash (tcp_write_timeout) and the zero-window
/// advertisements (tcp_select_window).
/// </summary>
public class MibCounterTests
{
    static long Of(Host host, MibCounter c) => host.Mib[c];

    [Theory]
    [InlineData(KernelProfile.Linux6, 5, 1)]
    [InlineData(KernelProfile.Linux44, 0, 0)]
    public void Established_RequestThenOrderlyClose_OrigDataSentPerNewSegmentDeliveredPerAckedSegment(KernelProfile profile, long clientDelivered, long serverDelivered)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 3000); // three segments of 1448 + 1448 + 104 bytes
        h.At(Ms(250));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id });
        h.At(Ms(300));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(600));
        // The client's SYN is not new data; its three data segments and its FIN are. The server sent only its FIN
        // (its SYN-ACK belongs to the request socket).
        Assert.Equal(4, Of(h.Client, MibCounter.TcpExtTCPOrigDataSent));
        Assert.Equal(1, Of(h.Server, MibCounter.TcpExtTCPOrigDataSent));
        // TCPDelivered (a MIB since 4.18) counts what tcp_ack() delivered: the SYN (acked in SYN_SENT), the three
        // data segments and the FIN on the client; only the FIN on the server, whose SYN-ACK delivery
        // tcp_rcv_state_process() adds to tp->delivered without the MIB.
        Assert.Equal(clientDelivered, Of(h.Client, MibCounter.TcpExtTCPDelivered));
        Assert.Equal(serverDelivered, Of(h.Server, MibCounter.TcpExtTCPDelivered));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPSynRetrans));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTcpTimeoutRehash));
    }

    /// <summary>
    /// TW / TWKilled: 6.x counts a timewait socket when it is first armed (__inet_twsk_schedule(), !rearm: TWKilled for
    /// at most 4 s); linux-4.4 counts it when its timer fires (tw_timer_handler()), by the tw_kill of the last arming.
    /// The client closes first with tcp_fin_timeout 3: its orphan FIN_WAIT2 goes to a timewait socket armed for 3 s
    /// (6.x: TWKilled); the server's FIN at ~410 ms re-arms it for 60 s in TIME_WAIT (a rearm: 6.x counts nothing more;
    /// 4.4's tw_kill is now false), so 4.4 counts TW once, when it expires ~60 s later.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 0, 1, 0, 1)]
    [InlineData(KernelProfile.Linux44, 0, 0, 1, 0)]
    public void OrphanFinWait2ThenTimeWait_TwCountedWhenArmedOn6AndWhenItExpiresOn44(KernelProfile profile,
        long twAt1s, long killedAt1s, long twAt70s, long killedAt70s)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "3");
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(1));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        Assert.Equal((twAt1s, killedAt1s), (Of(h.Client, MibCounter.TcpExtTW), Of(h.Client, MibCounter.TcpExtTWKilled)));
        h.At(S(70));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal((twAt1s + twAt70s, killedAt70s), (Of(h.Client, MibCounter.TcpExtTW), Of(h.Client, MibCounter.TcpExtTWKilled)));
    }

    /// <summary>
    /// A TIME-WAIT killed by an in-window RST (tcp_timewait_state_process(), tcp_rfc1337 0: inet_twsk_deschedule_put())
    /// was counted TW when armed on 6.x; on linux-4.4 its timer never fires, so nothing counts it.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 1)]
    [InlineData(KernelProfile.Linux44, 0)]
    public void TimeWait_KilledByRst_CountedOn6NotOn44(KernelProfile profile, long tw)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(1));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Rst, s.SndNxt, 0, 0, 0, TcpOptions.None));
        h.At(S(2));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        h.At(S(70));
        Assert.Equal((tw, 0L), (Of(h.Client, MibCounter.TcpExtTW), Of(h.Client, MibCounter.TcpExtTWKilled)));
    }

    /// <summary>
    /// tcp_time_wait() with tcp_max_tw_buckets reached: TCPTimeWaitOverflow and no timewait socket; neither 6.x nor
    /// linux-4.4 logs anything (the "TCP: time wait bucket table overflow" line was 2.6-era).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6)]
    [InlineData(KernelProfile.Linux44)]
    public void TimeWait_NoBucketLeft_CountsTCPTimeWaitOverflowAndLogsNothing(KernelProfile profile)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_tw_buckets", "0");
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(1));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal((1L, 0L, 0), (Of(h.Client, MibCounter.TcpExtTCPTimeWaitOverflow), Of(h.Client, MibCounter.TcpExtTW), h.Client.TimeWaitCount));
        Assert.Empty(h.Client.KernelLog);
    }

    /// <summary>
    /// tcp_enter_memory_pressure() stores the jiffy it began (TCPMemoryPressures); tcp_leave_memory_pressure() adds the
    /// time spent, jiffies_to_msecs(jiffies − start), to TCPMemoryPressuresChrono. tcp_mem 10 20 100000 pages and a 3 MB
    /// non-blocking send at 200 ms (jiffy 50): ~1100 pages charged at once, past the per-CPU reserve — pressure. The
    /// SO_LINGER {1,0} close at 1.5 s (jiffy 375) purges the write queue: below tcp_mem[0], pressure ends after
    /// 325 jiffies = 1300 ms. linux-4.4 has no TCPMemoryPressuresChrono.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 1300)]
    [InlineData(KernelProfile.Linux44, 0)]
    public void MemoryPressure_EnteredThenLeft_ChronoCountsTheMillisecondsSpent(KernelProfile profile, long chrono)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", "10 20 100000");
        h.Sim.SetSysctl("client", "net.core.wmem_max", "8000000");
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 4_000_000);
        h.At(Ms(200));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 3_000_000, Flags = MsgFlags.MSG_DONTWAIT });
        Assert.True(h.Client.TcpMemoryPressure);
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPMemoryPressures));
        h.At(Ms(1500));
        Assert.True(h.Client.TcpMemoryPressure);
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.False(h.Client.TcpMemoryPressure);
        Assert.Equal((1L, chrono), (Of(h.Client, MibCounter.TcpExtTCPMemoryPressures), Of(h.Client, MibCounter.TcpExtTCPMemoryPressuresChrono)));
    }

    /// <summary>
    /// tcp_keepalive_timer() on a dead peer: three probes, then tcp_send_active_reset() (OutRsts) and tcp_write_err()
    /// (TCPAbortOnTimeout; tcp_done() from ESTABLISHED: EstabResets). Each probe is tcp_write_wakeup(sk,
    /// LINUX_MIB_TCPKEEPALIVE) → tcp_xmit_probe_skb() from 4.6 on; linux-4.4 has no TCPKeepAlive and counts nothing.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 3)]
    [InlineData(KernelProfile.Linux44, 0)]
    public void Established_KeepaliveDeadPeer_ProbesCountTCPKeepAliveOnlyWhereTheCounterExists(KernelProfile profile, long keepAlive)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_KEEPALIVE, 1);
        h.SetOption(c.Id, SocketOption.TCP_KEEPIDLE, 2);
        h.SetOption(c.Id, SocketOption.TCP_KEEPINTVL, 1);
        h.SetOption(c.Id, SocketOption.TCP_KEEPCNT, 3);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(10));
        Assert.Equal(3, h.Sent("client").Count(x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss));
        Assert.Equal((keepAlive, 1L, 1L, 1L), (Of(h.Client, MibCounter.TcpExtTCPKeepAlive), Of(h.Client, MibCounter.TcpExtTCPAbortOnTimeout),
            Of(h.Client, MibCounter.TcpOutRsts), Of(h.Client, MibCounter.TcpEstabResets)));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 3, 3)]
    [InlineData(KernelProfile.Linux44, 0, 1)]
    public void SynSent_DeadLink_EverySynRetransmissionCountsSynRetransAndEveryTimeoutARehash(KernelProfile profile, long rehash, long timeouts)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        // 6.x: SYN at 0, then linear 1 s timeouts (tcp_syn_linear_timeouts): three retransmissions by 3.5 s.
        // 4.4: 1 s, then 2 s: the retransmissions at ~1 s and ~3 s.
        h.At(S(3.5));
        long retransmissions = profile == KernelProfile.Linux6 ? 3 : 2;
        Assert.Equal(retransmissions, Of(h.Client, MibCounter.TcpExtTCPSynRetrans));
        Assert.Equal(retransmissions, Of(h.Client, MibCounter.TcpRetransSegs));
        // 6.x: every timeout (tcp_retransmit_timer()); 4.4: only the first of the episode, where no failure counter applies.
        Assert.Equal(timeouts, Of(h.Client, MibCounter.TcpExtTCPTimeouts));
        Assert.Equal(rehash, Of(h.Client, MibCounter.TcpExtTcpTimeoutRehash));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPOrigDataSent));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 5)]
    [InlineData(KernelProfile.Linux44, 1)]
    public void FinWait1Orphan_DeadLink_TimeoutsCountEveryRtoOn6xOnlyTheFirstOn44(KernelProfile profile, long timeouts)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(10));
        // The FIN: a loss probe, then RTO retransmissions. linux-4.4's tcp_retransmit_timer() bumps one counter on the
        // first timeout of an episode only — TCPTimeouts when the connection was in Open (no recovery, nothing SACKed);
        // 6.x (e1561fe2dd69) bumps TCPTimeouts on every timeout, before tcp_write_timeout().
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPLossProbes));
        Assert.Equal(6, Of(h.Client, MibCounter.TcpRetransSegs));
        Assert.Equal(timeouts, Of(h.Client, MibCounter.TcpExtTCPTimeouts));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPSackFailures) + Of(h.Client, MibCounter.TcpExtTCPLossFailures));
    }

    [Fact]
    public void SynSent_SynRetriesExhausted_TheExpiringTimeoutIsNoRehash()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_syn_retries", "1");
        h.Sim.SetSysctl("client", "net.ipv4.tcp_syn_linear_timeouts", "0");
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(S(10));
        // One retransmission at ~1 s (a rehash), then the timeout at ~3 s ends the connection (ETIMEDOUT), no rehash.
        Assert.Equal("ETIMEDOUT", h.Returned(connect.CallId)!.Errno);
        Assert.Equal(2, Of(h.Client, MibCounter.TcpExtTCPTimeouts));
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPSynRetrans));
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTcpTimeoutRehash));
    }

    [Fact]
    public void Listener_SynAckLost_EverySynAckRetransmissionCountsSynRetrans()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 1.0, null);
        h.At(Ms(1));
        var tuple = new FourTuple(new Endpoint(IPv4.Parse("10.0.0.1"), 5000), new Endpoint(IPv4.Parse("10.0.0.2"), 80));
        h.Deliver(h.Server, new Segment(tuple, TcpFlags.Syn, 1000, 0, 64240, 0, new TcpOptions(Mss: 1460)));
        // tcp_rtx_synack() from the request timer at ~1 s and ~3 s (reqsk_timer_handler's backoff).
        h.At(S(4));
        Assert.Equal(["S.", "S.", "S."], h.Sent("server").Select(x => x.Flags.ToLetters()));
        Assert.Equal(2, Of(h.Server, MibCounter.TcpExtTCPSynRetrans));
        Assert.Equal(2, Of(h.Server, MibCounter.TcpRetransSegs));
        Assert.Equal(0, Of(h.Server, MibCounter.TcpExtTcpTimeoutRehash));
    }

    [Fact]
    public void Established_DataLostThenAcked_RetransmissionIsNotOrigDataAndDeliveredOnce()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        h.Send(c.Id, 100);
        h.At(S(1)); // the loss probe and the first RTO resent it into the dead link
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(S(3));
        long retransmitted = Of(h.Client, MibCounter.TcpRetransSegs);
        Assert.True(retransmitted >= 2, h.Trace());
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPOrigDataSent));
        Assert.Equal(2, Of(h.Client, MibCounter.TcpExtTCPDelivered)); // the SYN and the one segment
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPSynRetrans));
        Assert.Equal(retransmitted, c.Info.TotalRetrans);
    }

    [Fact]
    public void Recovery_RackRetransmissionLost_RtoCountsSackRecoveryFail()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        // The first of two segments is dropped and the second SACKed at 121 ms; the link then dies both ways, so
        // RACK's retransmission of the head at 132 ms (tcp_enter_recovery: TCPSackRecovery) is lost too and the
        // RTO ends fast recovery: tcp_retransmit_timer() with icsk_retransmits 0 in CA_Recovery.
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        h.Send(c.Id, 1448);
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(Ms(101));
        h.Send(c.Id, 1448);
        h.At(Ms(122));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(1));
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPSackRecovery));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPSackFailures));
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPSackRecoveryFail));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPLossFailures)); // later RTOs continue the Loss episode (icsk_retransmits > 0)
    }

    [Fact]
    public void Loss_LinkBackAfterRto_LostSegmentsResentAsCwndGrowsAndOnlyTheRtoRetransmissionCountsAsLostAgain()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 4 * 1448); // four segments at 100 ms, the loss probe resends the fourth at 148 ms
        h.At(Ms(700)); // the RTO at 372 ms resent the head: all four lost, the probe's retransmission too
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 0.0, null);
        h.At(S(3));
        // The RTO at 832 ms resends the head; its ACK (842 ms) opens cwnd to 2 and tcp_xmit_retransmit_queue()
        // resends the second and third at 852 ms, then the fourth at 872 ms — the loss probe's retransmission
        // (__tcp_retransmit_skb() alone) never set TCPCB_SACKED_RETRANS, so tcp_timeout_mark_lost() marked it lost
        // like the others and it is not waiting for another RTO.
        var resent = h.Sent("client").Where(x => x.Reason == "tcp_xmit_retransmit_queue").Select(x => (x.At, x.SeqNo - c.Iss)).ToArray();
        Assert.Equal([(Ms(852), 1449u), (Ms(852), 2897u), (Ms(872), 4345u)], resent);
        Assert.Equal(3, Of(h.Client, MibCounter.TcpExtTCPSlowStartRetrans));
        // Only the head's RTO retransmission (TCPCB_LOST | TCPCB_SACKED_RETRANS) is lost again, by the RTO at 832 ms.
        Assert.Equal(1, Of(h.Client, MibCounter.TcpExtTCPLostRetransmit));
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPLossFailures)); // no ACK between the two RTOs
        Assert.Equal(6, c.Info.TotalRetrans); // probe, two RTOs, three from the queue
        Assert.Equal(4 * 1448, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Equal(0, Of(h.Client, MibCounter.TcpExtTCPSackRecovery));
    }

    /// <summary>
    /// SO_RCVBUF lowered after the handshake (sk_rcvbuf 8192 under a window offered from 131072): the flight outruns the
    /// buffer, tcp_data_queue() refuses a segment (TCPRcvQDrop) and ICSK_ACK_NOMEM makes the ACK's window 0 in
    /// tcp_select_window() before its counters — so TCPToZeroWindowAdv stays 0 (rcv_wnd is 0 from then on); the read's
    /// window update counts TCPFromZeroWindowAdv once. Observed on Linux 6.18.44 (the same steps as a scenario, one
    /// kernel --diff run, counters alike). Until session 35 the engine never refused the memory and counted ToZero 1.
    /// </summary>
    [Fact]
    public void Receiver_SoRcvbufLoweredThenFlooded_NoMemZeroWindowUncountedAndFromZeroWindowOnce()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.SO_RCVBUF, 4096); // sk_rcvbuf 8192: the window closes after a few KB
        h.Send(c.Id, 200_000);
        h.At(S(2));
        Assert.Equal(1, Of(h.Server, MibCounter.TcpExtTCPRcvQDrop));
        Assert.Equal(0, Of(h.Server, MibCounter.TcpExtTCPToZeroWindowAdv));
        Assert.Equal(0, Of(h.Server, MibCounter.TcpExtTCPFromZeroWindowAdv));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 1_000_000 });
        h.At(S(2.5));
        Assert.Equal(1, Of(h.Server, MibCounter.TcpExtTCPFromZeroWindowAdv));
    }

    /// <summary>
    /// A TSO chunk is one skb with one TCP header: __tcp_transmit_skb() runs tcp_select_window() once for it and
    /// tcp_gso_segment() copies the header to every segment. A client whose receive memory nears sk_rcvbuf (81088 bytes
    /// it never reads) sends 11135 bytes as two-segment chunks: each chunk, not each segment, counts TCPWantZeroWindowAdv
    /// (__tcp_select_window() 0, the offered window held). Found by simservice fuzz seed 37900 case 0 on Linux 6.18.44:
    /// four two-segment chunks, all eight segments win=9, TCPWantZeroWindowAdv 4 on the kernel, 8 on the engine before.
    /// </summary>
    [Fact]
    public void Sender_TsoChunksUnderAHeldBackZeroWindow_CountWantZeroWindowAdvOncePerChunk()
    {
        var h = new TwoHostHarness(delayMs: 15);
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 81_088);
        h.At(Ms(600));
        long before = Of(h.Client, MibCounter.TcpExtTCPWantZeroWindowAdv);
        h.Send(c.Id, 11_135);
        h.At(Ms(601));
        var data = h.Sent("client").Where(x => x.Len > 0).ToList();
        Assert.Equal(8, data.Count);
        Assert.All(data, x => Assert.Equal(data[0].Win, x.Win));
        int chunks = data.Count(x => x.Flags.HasFlag(TcpFlags.Psh));
        Assert.Equal(4, chunks); // PSH on each two-segment chunk's last segment
        Assert.Equal(chunks, Of(h.Client, MibCounter.TcpExtTCPWantZeroWindowAdv) - before);
    }
}
