using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// cwnd growth on ACKs as Linux 6.18 runs it with CUBIC: tcp_cong_control() → tcp_cong_avoid() →
/// cubictcp_cong_avoid() only when tcp_is_cwnd_limited(), tcp_slow_start(), bictcp_update() + tcp_cong_avoid_ai(),
/// HyStart (hystart_update()), and cwnd after idle (tcp_slow_start_after_idle_check() → tcp_cwnd_restart()).
/// <para>Common setup (<see cref="AckedSender"/>): the client is ESTABLISHED at 21 ms with srtt 20 ms, cwnd 10
/// and cubictcp_init()'s round (end_seq = snd_nxt); the link is cut at 200 ms and the server's ACKs are injected.
/// Every send below goes out whole at once (cwnd allows it), so a window of n segments sent at T and acknowledged
/// at T + 30 ms gives ca_rtt_us = 30 ms for its last packet. The RTO stays at 56 jiffies (224 ms): srtt + rttvar
/// = 221.25 or 222.3 ms rounded up by usecs_to_jiffies(); tcp_rtt_estimator() keeps rttvar at tcp_rto_min_us.</para>
/// </summary>
public class CongestionControlTests
{
    const int Mss = 1448;

    /// <summary>
    /// 10 segments at 200 ms fill cwnd 10 (tcp_cwnd_validate(): is_cwnd_limited, max_packets_out 10); their ACK at
    /// 230 ms delivers 10: tcp_slow_start() min(10 + 10, ssthresh ∞) = 20, nothing left over.
    /// </summary>
    [Fact]
    public void SlowStart_OneWindowAcked_CwndTenToTwenty()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 10 * Mss);
        Assert.Equal(10, f.DataAt(Ms(200)).Length);

        f.Ack(Ms(230), 10 * Mss);

        Assert.Equal((20, TcpInfo.InfiniteSsthresh), (f.C.Info.SndCwnd, f.C.Info.SndSsthresh));
    }

    /// <summary>
    /// An application-limited sender: 4 segments with cwnd 10 leave is_cwnd_limited false and max_packets_out 4, so
    /// tcp_is_cwnd_limited() — in slow start, cwnd &lt; 2 · max_packets_out — is 10 &lt; 8, false: the ACK at 230 ms
    /// leaves cwnd at 10. The next window (a new one: snd_una reached cwnd_usage_seq) has 6 out: 10 &lt; 12, so
    /// the ACK at 330 ms grows cwnd by all 6 delivered, to 16.
    /// </summary>
    [Fact]
    public void SlowStart_ApplicationLimitedSender_GrowsOnlyWhileCwndIsBelowTwiceMaxPacketsOut()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 4 * Mss);
        f.Ack(Ms(230), 4 * Mss);
        Assert.Equal(10, f.C.Info.SndCwnd);

        f.H.At(Ms(300));
        f.H.Send(f.C.Id, 6 * Mss);
        f.Ack(Ms(330), 10 * Mss);

        Assert.Equal(16, f.C.Info.SndCwnd);
    }

    /// <summary>
    /// cwnd 20 after the first window; 20 segments at 300 ms, then one ACK per segment from 330 ms, 1 ms apart. The
    /// first (snd_una past end_seq) starts a HyStart round at 330 ms; delay_min is 30 ms (the 230 ms sample);
    /// hystart_ack_delay() is its 1 ms cap (4 · 65215 bytes take 95 ms at the pacing rate of 2.7 MB/s), and the
    /// engine does not pace (SK_PACING_NONE): threshold (30000 + 1000) / 2 = 15500 µs. The ACKs are 1000 µs apart
    /// (≤ hystart_ack_delta_us 2000), so the 17th, at 346 ms, is 16000 µs into the round: the train is found with
    /// cwnd 20 + 16 = 36 (cubictcp_acked() runs before tcp_cong_avoid()): ssthresh = 36, TCPHystartTrainDetect 1,
    /// TCPHystartTrainCwnd 36. The delay test never fires: the round's smallest RTT is delay_min itself.
    /// <para>Then congestion avoidance: the 17th ACK starts CUBIC's epoch (no Wmax yet: K = 0, origin 36; the curve
    /// gives delta 0 at t = (0 + usecs_to_jiffies(30000) = 8 jiffies) · 1024 / 250 = 32, so cnt = 100 · 36, capped
    /// at 20 while last_max_cwnd is 0); tcp_cong_avoid_ai(20, 1) credits snd_cwnd_cnt 1. The next three ACKs come
    /// within HZ/32 jiffies of last_time with cwnd unchanged: bictcp_update() returns early, snd_cwnd_cnt 4.</para>
    /// </summary>
    [Fact]
    public void SlowStart_AckTrainLongerThanHalfTheMinRtt_HystartExitsAtCwnd36AndCountsIt()
    {
        var f = HystartTrain();

        Assert.Equal((36, 36), (f.C.Info.SndCwnd, f.C.Info.SndSsthresh));
        Assert.Equal(4u, f.C.SndCwndCnt);
        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtTCPHystartTrainDetect]);
        Assert.Equal(36, f.H.Client.Mib[MibCounter.TcpExtTCPHystartTrainCwnd]);
        Assert.Equal(0, f.H.Client.Mib[MibCounter.TcpExtTCPHystartDelayDetect]);
        Assert.Equal(20u, f.C.CubicState.Cnt);
    }

    /// <summary>
    /// HyStart's rounds are tracked below hystart_low_window too (6.14+, "tcp_cubic: fix incorrect HyStart round start
    /// detection"; 6.18): cubictcp_acked() calls hystart_update() in slow start whatever the cwnd, and hystart_update()
    /// starts a new round (bictcp_hystart_reset(): round_start = last_ack = now, end_seq = snd_nxt) whenever snd_una
    /// passes end_seq, before it returns for cwnd &lt; 16. Ten segments at 200 ms, acknowledged one by one at 230…239 ms
    /// (the sender sends two more per ACK): the first ACK starts a round at 230 ms with end_seq = 10 segments; at cwnd
    /// 16 (236 ms) the ACKs are 6–9 ms after last_ack, no train. The ACK of segment 11 at 260 ms passes end_seq: a new
    /// round at 260 ms (end_seq 30 segments). Its ACKs 1 ms apart are a train; threshold (delay_min 30000 µs +
    /// hystart_ack_delay() 1000) / 2 = 15500 µs, passed by the ACK at 276 ms (16000 µs): cwnd 20 + 16 = 36,
    /// TCPHystartTrainDetect 1, TCPHystartTrainCwnd 36. (Checking the cwnd first, as before 6.14, would have started
    /// the round at 236 ms with end_seq 22 segments and found no train by 279 ms.)
    /// </summary>
    [Fact]
    public void SlowStart_RoundStartedBelowCwnd16_NewRoundAtTheAckPastEndSeqFindsTheTrainAtCwnd36()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 100 * Mss);
        for (int k = 1; k <= 10; k++) f.Ack(Ms(229 + k), k * Mss);
        Assert.Equal(((uint)f.C.Iss + 1 + 10 * Mss, 230_000u), (f.C.CubicState.EndSeq, f.C.CubicState.RoundStart));
        Assert.Equal(20, f.C.Info.SndCwnd);
        for (int k = 11; k <= 30; k++) f.Ack(Ms(249 + k), k * Mss);

        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtTCPHystartTrainDetect]);
        Assert.Equal(36, f.H.Client.Mib[MibCounter.TcpExtTCPHystartTrainCwnd]);
        Assert.Equal(36, f.C.Info.SndSsthresh);
        Assert.Equal(((uint)f.C.Iss + 1 + 30 * Mss, 260_000u), (f.C.CubicState.EndSeq, f.C.CubicState.RoundStart));
    }

    /// <summary>
    /// The delay detector: cwnd 20 after the first window (delay_min 30 ms), 20 segments at 300 ms acknowledged one by
    /// one every 3 ms from 335 ms — too far apart for an ACK train (3000 µs &gt; 2000), with RTTs 35, 38, 41 … ms. The
    /// first ACK starts the round (curr_rtt 35000, 1 sample); after 8 samples the 9th ACK (359 ms, cwnd 20 + 8 = 28)
    /// tests the round's smallest RTT: 35000 &gt; 30000 + clamp(30000 / 8, 4000, 16000) = 34000, so ssthresh = 28,
    /// TCPHystartDelayDetect 1 and TCPHystartDelayCwnd 28. Its tcp_cong_avoid() starts CUBIC's epoch (jiffy 89,
    /// cnt 20, snd_cwnd_cnt 1); ACKs 10–18 (jiffies 90–96) are within HZ/32 of it (bictcp_update() returns early),
    /// the 19th (389 ms, jiffy 97) recomputes cnt (t = (8 + 8) · 1024 / 250 = 65: still 20; ack_cnt 11 &lt; 52), and
    /// every ACK adds one credit: cwnd 28, snd_cwnd_cnt 12.
    /// </summary>
    [Fact]
    public void SlowStart_RoundRttAboveDelayMinPlusFourMs_HystartDelayExitAtCwnd28()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 10 * Mss);
        f.Ack(Ms(230), 10 * Mss);
        f.H.At(Ms(300));
        f.H.Send(f.C.Id, 20 * Mss);
        for (int k = 1; k <= 20; k++) f.Ack(Ms(332 + 3 * k), (10 + k) * Mss);

        Assert.Equal((28, 28, 12u), (f.C.Info.SndCwnd, f.C.Info.SndSsthresh, f.C.SndCwndCnt));
        Assert.Equal((1L, 28L), (f.H.Client.Mib[MibCounter.TcpExtTCPHystartDelayDetect], f.H.Client.Mib[MibCounter.TcpExtTCPHystartDelayCwnd]));
        Assert.Equal(0, f.H.Client.Mib[MibCounter.TcpExtTCPHystartTrainDetect]);
    }

    /// <summary>
    /// After <see cref="SlowStart_AckTrainLongerThanHalfTheMinRtt_HystartExitsAtCwnd36AndCountsIt"/> (epoch_start at
    /// jiffy 86, 346 ms; ack_cnt 4; snd_cwnd_cnt 4), one window per 100 ms, each acknowledged whole 30 ms later:
    /// <list type="bullet">
    /// <item>400 ms: nothing in flight, so CA_EVENT_TX_START: cubictcp_cwnd_event() shifts epoch_start by the idle
    /// time since lsndtime (300 ms, jiffy 75; now jiffy 100): 86 + 25 = 111, after now, so 100. 36 segments; their
    /// ACK at 430 ms (jiffy 107): t = (7 + 8) · 1024 / 250 = 61, delta 0, cnt 20; ack_cnt 40 is below the Reno
    /// estimate's step (36 · 15) &gt;&gt; 3 = 67. tcp_cong_avoid_ai(20, 36): 4 + 36 = 40 → +2, cwnd 38, cnt 0.</item>
    /// <item>500 ms: epoch_start 100 + 25 = 125. ACK of 38 at 530 ms: cnt 20 again; ack_cnt 78 &gt; (38 · 15) &gt;&gt; 3 =
    /// 71: tcp_cwnd 37, ack_cnt 7 (still below cwnd: no Reno boost). 0 + 38 → +1, cwnd 39, snd_cwnd_cnt 18.</item>
    /// <item>600 ms: epoch_start 150. ACK of 39 at 630 ms: ack_cnt 46 &lt; 73; 18 + 39 = 57 → +2, cwnd 41, snd_cwnd_cnt 17.</item>
    /// </list>
    /// </summary>
    [Fact]
    public void CongestionAvoidance_ThreeRttsAfterHystart_CubicGrowsFivePercentPerRtt()
    {
        var f = HystartTrain();
        long acked = 30 * Mss;
        var grown = new List<(int Cwnd, uint Cnt, uint Epoch)>();
        foreach (var (sendMs, segs) in new[] { (400, 36), (500, 38), (600, 39) })
        {
            f.H.At(Ms(sendMs));
            f.H.Send(f.C.Id, segs * Mss);
            Assert.Equal(segs, f.DataAt(Ms(sendMs)).Length);
            uint epoch = f.C.CubicState.EpochStart;
            acked += segs * Mss;
            f.Ack(Ms(sendMs + 30), acked);
            grown.Add((f.C.Info.SndCwnd, f.C.SndCwndCnt, epoch - (uint)Jiffies.Absolute(SimService.Domain.Time.SimTime.Zero)));
        }
        Assert.Equal([(38, 0u, 100u), (39, 18u, 125u), (41, 17u, 150u)], grown);
        Assert.Equal(36, f.C.Info.SndSsthresh);
    }

    /// <summary>
    /// Reaching cwnd 40 (10 at 200 ms acked at 230, 20 at 300 ms acked at 330), then idle: a send at 730 ms queues a
    /// new skb with nothing in flight, and tcp_skb_entail() → tcp_slow_start_after_idle_check() finds the last data
    /// sent 182 − 75 = 107 jiffies ago, more than the RTO's 56: tcp_cwnd_restart(): ssthresh =
    /// tcp_current_ssthresh() (still ∞), restart window min(10, 40); 107 − 56 = 51 &gt; 0 halves to 20, 51 − 56 stops.
    /// </summary>
    [Fact]
    public void Idle_SendAfterMoreThanOneRto_CwndHalvedOncePerRtoOfIdleTime()
    {
        var f = CwndForty();
        f.H.At(Ms(730));
        f.H.Send(f.C.Id, Mss);

        Assert.Equal((20, TcpInfo.InfiniteSsthresh), (f.C.Info.SndCwnd, f.C.Info.SndSsthresh));
    }

    /// <summary>
    /// As above, idle until 1130 ms (jiffy 282): 207 jiffies: 207 − 56 = 151 halves 40 to 20, 95 halves to 10, and
    /// the restart window (10) stops it there.
    /// </summary>
    [Fact]
    public void Idle_SendAfterFourRtos_CwndBackToTheRestartWindow()
    {
        var f = CwndForty();
        f.H.At(Ms(1130));
        f.H.Send(f.C.Id, Mss);

        Assert.Equal(10, f.C.Info.SndCwnd);
    }

    /// <summary>
    /// RFC 2861's other half, tcp_cwnd_application_limited(): cwnd 40 was last stamped by the ACK at 330 ms (jiffy 82,
    /// tcp_cong_avoid()). 2 segments at 400 ms (not cwnd-limited: snd_cwnd_used 2; 18 jiffies) stay unacknowledged
    /// (the loss probe at 452 ms resends one, outside tcp_write_xmit()); one more at 560 ms — packets still out, so
    /// no restart — makes snd_cwnd_used 3 and finds 140 − 82 = 58 jiffies ≥ the RTO's 56 since cwnd was last used in
    /// full: in Open, cwnd falls halfway to max(used, TCP_INIT_CWND) = 10: (40 + 10) / 2 = 25; ssthresh =
    /// tcp_current_ssthresh() = max(∞, 30), still ∞.
    /// </summary>
    [Fact]
    public void Established_NotCwndLimitedForAnRto_CwndPulledHalfwayToWhatWasUsed()
    {
        var f = CwndForty();
        f.H.At(Ms(400));
        f.H.Send(f.C.Id, 2 * Mss);
        f.H.At(Ms(560));
        Assert.Equal(40, f.C.Info.SndCwnd);
        f.H.Send(f.C.Id, Mss);

        Assert.Equal((25, TcpInfo.InfiniteSsthresh), (f.C.Info.SndCwnd, f.C.Info.SndSsthresh));
    }

    /// <summary>
    /// tcp_cwnd_application_limited() acts only while the socket has its struct socket (sk->sk_socket), which
    /// sock_orphan() clears in tcp_close(). cwnd 40 was last stamped by the ACK at 330 ms (jiffy 82); a window update
    /// at 331 ms closes the window, 20 segments are queued (and, orphaned, the FIN behind them). A window update at
    /// 400 ms (no data acknowledged, no stamp) lets 3072 bytes go; one at 560 ms sends more with packets out (no
    /// restart), not cwnd-limited, 58 jiffies ≥ the RTO's 56 since the stamp: the open socket's cwnd falls to
    /// (40 + 10) / 2 = 25, the orphan's stays 40 (observed on Linux 6.18.44:
    /// packetdrill/orphan-not-cwnd-limited-for-an-rto-keeps-its-cwnd.pkt and its open twin).
    /// </summary>
    [Theory]
    [InlineData(false, 25)]
    [InlineData(true, 40)]
    public void NotCwndLimitedForAnRto_OnlyAnOpenSocketsCwndIsPulledDown(bool orphan, int cwnd)
    {
        var f = CwndForty();
        f.Ack(Ms(331), 30 * Mss, window: 0);
        f.H.Send(f.C.Id, 20 * Mss);
        if (orphan) f.H.Call("client", SocketCallKind.Close, f.C.Id);
        f.Ack(Ms(400), 30 * Mss, window: 3);
        Assert.Equal(3, f.DataAt(Ms(400)).Length);
        f.Ack(Ms(560), 30 * Mss, window: 6);
        Assert.NotEmpty(f.DataAt(Ms(560)));

        Assert.Equal((orphan, cwnd), (f.C.Dead, f.C.Info.SndCwnd));
    }

    /// <summary>net.ipv4.tcp_slow_start_after_idle = 0: tcp_slow_start_after_idle_check() does nothing.</summary>
    [Fact]
    public void Idle_SlowStartAfterIdleOff_CwndKept()
    {
        var f = CwndForty(h => h.Sim.SetSysctl("client", "net.ipv4.tcp_slow_start_after_idle", "0"));
        f.H.At(Ms(1130));
        f.H.Send(f.C.Id, Mss);

        Assert.Equal(40, f.C.Info.SndCwnd);
    }

    /// <summary>The first window acknowledged at 230 ms (cwnd 20), 20 segments at 300 ms acknowledged one by one from 330 ms.</summary>
    internal static AckedSender HystartTrain(Action<TwoHostHarness>? beforeSocket = null)
    {
        var f = new AckedSender(beforeSocket: beforeSocket);
        f.H.Send(f.C.Id, 10 * Mss);
        f.Ack(Ms(230), 10 * Mss);
        f.H.At(Ms(300));
        f.H.Send(f.C.Id, 20 * Mss);
        Assert.Equal(20, f.DataAt(Ms(300)).Length);
        for (int k = 1; k <= 20; k++) f.Ack(Ms(329 + k), (10 + k) * Mss);
        return f;
    }

    /// <summary>Two windows in slow start: 10 at 200 ms (ACK 230 ms, cwnd 20), 20 at 300 ms (ACK 330 ms, cwnd 40).</summary>
    static AckedSender CwndForty(Action<TwoHostHarness>? setup = null)
    {
        var f = new AckedSender((h, _) => setup?.Invoke(h));
        f.H.Send(f.C.Id, 10 * Mss);
        f.Ack(Ms(230), 10 * Mss);
        f.H.At(Ms(300));
        f.H.Send(f.C.Id, 20 * Mss);
        f.Ack(Ms(330), 30 * Mss);
        Assert.Equal(40, f.C.Info.SndCwnd);
        return f;
    }
}

/// <summary>
/// net.ipv4.tcp_congestion_control: "cubic" (the default) or "reno" for the sockets created after the write
/// (tcp_init_sock() → tcp_assign_congestion_control()); any other name is refused (ENOENT).
/// </summary>
public class CongestionControlSysctlTests
{
    const int Mss = 1448;

    [Fact]
    public void Sysctl_UnknownModuleName_RefusedAndCubicKept()
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        Assert.Equal("cubic", table.Format("net.ipv4.tcp_congestion_control"));
        Assert.False(table.TrySet("net.ipv4.tcp_congestion_control", "bbr", out var error));
        Assert.Contains("ENOENT", error);
        Assert.True(table.TrySet("net.ipv4.tcp_congestion_control", "reno", out _));
        Assert.Equal(("reno", CongestionAlgorithm.Reno), (table.Format("net.ipv4.tcp_congestion_control"), table.TcpCongestionControl));
    }

    /// <summary>
    /// Reno has no HyStart: the ACK train of <c>CongestionControlTests</c> (20 ACKs of one segment from 330 ms)
    /// leaves it in slow start, cwnd 20 + 20 = 40, ssthresh ∞, no TCPHystart counter; TCP_INFO names the module.
    /// </summary>
    [Fact]
    public void Reno_AckTrainThatEndsCubicsSlowStart_KeepsSlowStartingTo40()
    {
        var f = CongestionControlTests.HystartTrain(h => h.Sim.SetSysctl("client", "net.ipv4.tcp_congestion_control", "reno"));

        Assert.Equal(("reno", 40, TcpInfo.InfiniteSsthresh), (f.C.Info.CongestionControl, f.C.Info.SndCwnd, f.C.Info.SndSsthresh));
        Assert.Equal(0, f.H.Client.Mib[MibCounter.TcpExtTCPHystartTrainDetect]);
    }

    /// <summary>
    /// The RTO of <c>EnterLossTests</c> (ten segments to a dead link) with reno: tcp_reno_ssthresh() = max(10 / 2, 2)
    /// = 5 instead of CUBIC's 7; cwnd 1.
    /// </summary>
    [Fact]
    public void Reno_TenSegmentsToADeadLink_FirstRtoHalvesSsthreshToFive()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_congestion_control", "reno");
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 10 * Mss);
        h.At(Ms(600));
        Assert.Equal(1, c.Info.Retransmits);
        Assert.Equal((5, 1), (c.Info.SndSsthresh, c.Info.SndCwnd));
    }
}

/// <summary>
/// CUBIC's integer arithmetic (struct bictcp, net/ipv4/tcp_cubic.c) on its own: cubic_root(), bictcp_update() and
/// cubictcp_recalc_ssthresh(), with the module defaults (beta 717, bic_scale 41, HZ 250).
/// </summary>
public class BictcpTests
{
    /// <summary>
    /// cubic_root(): below 64 the table alone ((v[a] + 35) &gt;&gt; 6); above, the table on the top bits and one
    /// Newton-Raphson step. cube_factor · 30 = 80,452,070,310: fls64 37, b = (37 · 84 &gt;&gt; 8) − 1 = 11, v[a &gt;&gt; 33 = 9]
    /// = 129: x = (139 &lt;&lt; 11) &gt;&gt; 6 = 4448; x = 2 · 4448 + a / (4448 · 4447) = 8896 + 4067 = 12963; · 341 &gt;&gt; 10 = 4316.
    /// </summary>
    [Theory]
    [InlineData(0UL, 0u)]
    [InlineData(1UL, 1u)]
    [InlineData(27UL, 3u)]
    [InlineData(63UL, 4u)]
    [InlineData(27000UL, 30u)]
    [InlineData(80_452_070_310UL, 4316u)]
    public void CubicRoot_KernelTableAndOneNewtonStep_ExactIntegers(ulong a, uint root) =>
        Assert.Equal(root, Bictcp.CubicRoot(a));

    [Fact]
    public void Constants_CubictcpRegister_BetaScale15CubeRttScale410CubeFactor()
    {
        Assert.Equal(15u, Bictcp.BetaScaleFactor);
        Assert.Equal(410u, Bictcp.CubeRttScale);
        Assert.Equal(2_681_735_677UL, Bictcp.CubeFactor);
    }

    /// <summary>
    /// A loss at cwnd 100: ssthresh max(100 · 717 / 1024, 2) = 70, Wmax 100 (no earlier Wmax: no fast convergence).
    /// At cwnd 70 with delay_min 20 ms the epoch starts: K = cubic_root(cube_factor · 30) = 4316 (4.2 s). t =
    /// usecs_to_jiffies(20000) = 5 jiffies = 5 · 1024 / 250 = 20: delta = 410 · 4296³ &gt;&gt; 40 = 29, target 71, cnt =
    /// 70 / 1 = 70. A second later (t = 255 · 1024 / 250 = 1044): delta 13, target 87, cnt 70 / 17 = 4; two
    /// seconds (t 2068): delta 4, target 96, cnt 2; at the plateau (t 4116 ≈ K) target 100, cnt 70 / 30 = 2.
    /// </summary>
    [Fact]
    public void Update_AfterLossAtCwnd100_CntFollowsTheConcaveCurveToWmax()
    {
        var ca = new Bictcp();
        Assert.Equal(70u, ca.RecalcSsthresh(100));
        Assert.Equal(100u, ca.LastMaxCwnd);
        ca.DelayMin = 20000;
        var cnts = new List<uint>();
        foreach (uint j in new uint[] { 1000, 1250, 1500, 2000 })
        {
            ca.Update(70, 1, j, KernelProfile.Linux6);
            cnts.Add(ca.Cnt);
        }
        Assert.Equal(4316u, ca.BicK);
        Assert.Equal([70u, 4u, 2u, 2u], cnts);
    }

    /// <summary>
    /// linux-4.4 keeps delay_min in milliseconds · 8 and adds msecs_to_jiffies(delay_min &gt;&gt; 3) to t: 20 ms is 160
    /// there, 20000 µs in 6.18, and both give t = 5 jiffies = 20 and the same cnt on the curve of
    /// <see cref="Update_AfterLossAtCwnd100_CntFollowsTheConcaveCurveToWmax"/>.
    /// </summary>
    [Fact]
    public void Update_Linux44DelayMinInMsTimesEight_SameCurveAsMicroseconds()
    {
        var legacy = new Bictcp();
        legacy.RecalcSsthresh(100);
        legacy.DelayMin = 160;
        var current = legacy with { DelayMin = 20000 };
        legacy.Update(70, 1, 1250, KernelProfile.Linux44);
        current.Update(70, 1, 1250, KernelProfile.Linux6);
        Assert.Equal((70u, 70u), (legacy.Cnt, current.Cnt));
        legacy.Update(70, 1, 1500, KernelProfile.Linux44);
        current.Update(70, 1, 1500, KernelProfile.Linux6);
        Assert.Equal((4u, 4u), (legacy.Cnt, current.Cnt));
    }

    /// <summary>
    /// Fast convergence: a loss at cwnd 80 below the last Wmax 100 sets Wmax to 80 · (1024 + 717) / 2048 = 68; the
    /// ssthresh is 80 · 717 / 1024 = 56.
    /// </summary>
    [Fact]
    public void RecalcSsthresh_LossBelowLastWmax_FastConvergenceLowersWmax()
    {
        var ca = new Bictcp();
        ca.RecalcSsthresh(100);
        Assert.Equal(56u, ca.RecalcSsthresh(80));
        Assert.Equal(68u, ca.LastMaxCwnd);
        Assert.Equal(0u, ca.EpochStart);
    }
}
