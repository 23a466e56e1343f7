using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The delayed-ACK path of Linux 6.18: tcp_event_data_recv() → __tcp_ack_snd_check() → tcp_send_delayed_ack()
/// (net/ipv4/tcp_output.c) and tcp_delack_timer_handler() (net/ipv4/tcp_timer.c). The client's link is cut after
/// the handshake (at 200 ms, jiffy 50 at HZ 250): the server's data is injected, the client's ACKs read back.
/// </summary>
public class DelayedAckTests
{
    /// <summary>
    /// tcp_send_delayed_ack() caps ato by tcp_delack_max() = min(icsk_delack_max (TCP_DELACK_MAX, 200 ms),
    /// max(tcp_rto_min(), 2) − 1) — 6.11+, as 6.18. With net.ipv4.tcp_rto_min_us 20000 (usecs_to_jiffies: 5 jiffies) a
    /// receiver in ping-pong mode (TCP_QUICKACK 0) delays the ACK of 100 bytes 4 jiffies, not TCP_ATO_MIN's 10: expiry
    /// jiffy 54 (216 ms), run by the timer wheel one jiffy later (level 0), at 220 ms.
    /// </summary>
    [Fact]
    public void Established_RtoMinTwentyMs_DelayedAckCappedAtFourJiffies()
    {
        var p = InjectedPeer.Connected(beforeSocket: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "20000"));
        p.H.SetOption(p.C.Id, SocketOption.TCP_QUICKACK, 0);
        var ack = p.Data(100);
        Assert.Equal((Ms(220), "tcp_delack_timer", 100L), (ack.At, ack.Reason, p.Acked(ack)));
        // tcp_get_info(): tcpi_ato = min(ato, tcp_delack_max()) = 4 jiffies.
        Assert.Equal(16_000, p.C.Info.AtoUs);
    }

    /// <summary>
    /// tcp_delack_max() reads the socket's icsk_rto_min, which tcp_init_sock() took from the sysctl when the socket was
    /// made: 20000 µs set after socket() changes nothing — TCP_ATO_MIN's expiry jiffy 60, the ACK at 244 ms, tcpi_ato 40 ms.
    /// </summary>
    [Fact]
    public void Established_RtoMinSetAfterSocket_DelayedAckKeepsTheSocketsCap()
    {
        var p = InjectedPeer.Connected(beforeConnect: (h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "20000"));
        p.H.SetOption(p.C.Id, SocketOption.TCP_QUICKACK, 0);
        var ack = p.Data(100);
        Assert.Equal((Ms(244), "tcp_delack_timer"), (ack.At, ack.Reason));
        Assert.Equal(40_000, p.C.Info.AtoUs);
    }

    /// <summary>
    /// linux-4.4's tcp_send_delayed_ack() has no final tcp_delack_max() cap (6.x), and its tcp_get_info() reports the raw
    /// icsk_ack.ato. Links of 200 ms: srtt 400 ms, RTO 1.2 s. 100 bytes every 400 ms: the first 16 are quick-ACKed
    /// (tcp_incr_quickack(): 16 quick ACKs), then ato is TCP_ATO_MIN and each delayed ACK's timer doubles it
    /// (tcp_delack_timer_handler(), at most the RTO) while the 400 ms gaps leave it alone (tcp_event_data_recv(): m ≥
    /// ato). The 20th ACK waits min(ato 320 ms, HZ/2, srtt 400 ms) on 4.4 (timer exact: no wheel) and tcpi_ato then reads
    /// 640 ms; 6.18 caps it at tcp_delack_max() = 49 jiffies, run by the wheel at 200 ms, tcpi_ato 196 ms.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, new[] { 40, 80, 160, 320 }, 640_000L)]
    [InlineData(KernelProfile.Linux6, new[] { 44, 84, 164, 200 }, 196_000L)]
    public void Established_AtoDoubledPastDelackMax_CappedOnlyOnLinux6(KernelProfile profile, int[] delaysMs, long atoUs)
    {
        var p = InjectedPeer.Connected(profile: profile, delayMs: 200);
        Assert.Equal((400_000L, 1_200_000L), (p.C.Info.RttUs, p.C.Info.RtoUs));
        var delays = AckDelaysOfDataEvery400Ms(p, 20);
        Assert.Equal(new int[16], delays.Take(16));
        Assert.Equal(delaysMs, delays.Skip(16));
        Assert.Equal(atoUs, p.C.Info.AtoUs);
    }

    /// <summary>
    /// On 6.18 icsk_ack.ato is an 8-bit field (<c>ato:ATO_BITS</c>, 6.7+), and tcp_delack_timer_handler()'s
    /// <c>min_t(u32, ato &lt;&lt; 1, icsk_rto)</c> is bounded only by the RTO: the same 400 ms path as above, two data
    /// segments more. The 20th delayed ACK's timer doubled ato to 160 jiffies; the 21st's makes it min(320, RTO 300) =
    /// 300, stored as 300 mod 256 = 44 jiffies — so the 22nd ACK waits 44 jiffies (176 ms, run by the wheel at 180 ms), not
    /// tcp_delack_max()'s 49 (200 ms, what a field that kept 300 would give), and its timer doubles ato again to 88:
    /// tcpi_ato min(88, 49) jiffies, 196 ms.
    /// </summary>
    [Fact]
    public void Established_AtoInflatedPastTheRto_WrapsInItsEightBitsOnLinux6()
    {
        var p = InjectedPeer.Connected(profile: KernelProfile.Linux6, delayMs: 200);
        var delays = AckDelaysOfDataEvery400Ms(p, 22);
        Assert.Equal(new[] { 44, 84, 164, 200, 200, 180 }, delays.Skip(16));
        Assert.Equal(196_000, p.C.Info.AtoUs);
    }

    /// <summary>100 bytes every 400 ms from 1 s, <paramref name="count"/> times: each one's ACK delay in ms.</summary>
    static List<int> AckDelaysOfDataEvery400Ms(InjectedPeer p, int count)
    {
        var delays = new List<int>();
        for (int i = 0; i < count; i++)
        {
            var at = Ms(1000 + 400 * i);
            int before = p.H.Sent("client").Count();
            p.DataAt(at, 100, p.Next);
            p.H.At(at + SimDuration.FromMilliseconds(399));
            var ack = Assert.Single(p.H.Sent("client").Skip(before));
            Assert.Equal(100L * (i + 1), p.Acked(ack));
            delays.Add((int)((ack.At - at).Ns / 1_000_000));
        }
        return delays;
    }

    /// <summary>The default tcp_rto_min_us (200 ms) leaves TCP_ATO_MIN: expiry jiffy 60 (240 ms), the ACK at 244 ms.</summary>
    [Fact]
    public void Established_DefaultRtoMin_DelayedAckAfterAtoMin()
    {
        var p = InjectedPeer.Connected();
        p.H.SetOption(p.C.Id, SocketOption.TCP_QUICKACK, 0);
        var ack = p.Data(100);
        Assert.Equal((Ms(244), "tcp_delack_timer"), (ack.At, ack.Reason));
    }

    /// <summary>
    /// tcp_data_queue() on a duplicate ("A retransmit, 2nd most common case. Force an immediate ack."): DelayedACKLost,
    /// tcp_dsack_set(), tcp_enter_quickack_mode() and inet_csk_schedule_ack() — the ACK itself comes after
    /// tcp_data_snd_check(). Ten segments sent at 200 ms (cwnd full, ten more queued); the server's 100 bytes at 210
    /// ms are ACKed at once (first data: quick-ACK mode). At 230 ms the server resends those 100 bytes with an ACK of
    /// the first segment: cwnd 11, two segments go, carrying the ACK and the D-SACK block [0, 100); the ACK is then no
    /// longer scheduled, so no pure ACK follows. They are 1436 bytes, not 1448: tcp_current_mss() takes the SACK option
    /// (4 + 8 bytes) off mss_cache, and the two are one TSO chunk, one skb whose header (D-SACK included) tcp_gso_segment()
    /// copies to both (packetdrill/current-mss-less-sack-option.pkt, observed on Linux 6.18.44).
    /// </summary>
    [Fact]
    public void Established_DuplicateDataWithAnAckThatOpensCwnd_DsackRidesOnTheDataSent()
    {
        var f = new AckedSender();
        const int Mss = 1448;
        f.H.Send(f.C.Id, 20 * Mss);
        f.Ack(Ms(210), 0, data: 100);
        var options = new TcpOptions(HasTimestamp: true, TsVal: f.TsVal + 10, TsEcr: f.H.Sent("client").Last().Options.TsVal);
        f.H.Sim.Schedule(Ms(230), f.H.Client, new Segment(f.S.Tuple, TcpFlags.Ack, f.S.Iss + 1, f.C.Iss + 1 + Mss, 64, 100, options));
        f.H.At(Ms(231));

        var sent = f.H.Sent("client").Where(s => s.At == Ms(230)).ToArray();
        Assert.Equal(new[] { Mss - 12, Mss - 12 }, sent.Select(s => s.Len));
        Assert.Equal(new[] { f.C.Iss + 1 + 10 * Mss, f.C.Iss + 1 + 10 * Mss + (Mss - 12) }, sent.Select(s => s.SeqNo));
        Assert.Equal(new[] { (f.S.Iss + 1, f.S.Iss + 101) }, sent[0].Options.Sack.ToArray().Select(b => (b.Left, b.Right)));
        Assert.Equal(sent[0].Options.Sack.ToArray(), sent[1].Options.Sack.ToArray());
        Assert.Equal(1, f.H.Client.Mib[MibCounter.TcpExtDelayedACKLost]);
    }

    /// <summary>
    /// Out-of-order data only schedules its ACK (tcp_data_queue_ofo(): inet_csk_schedule_ack()); __tcp_ack_snd_check()
    /// sends it after tcp_data_snd_check() — on linux-4.4 too, whose check ACKs at once while the out-of-order queue holds
    /// data. So data the segment's ACK lets out carries the ACK and the SACK block, and no pure ACK goes. Ten segments
    /// sent at 200 ms (cwnd full, ten more queued), the client in ping-pong mode (TCP_QUICKACK 0); at 230 ms the server's
    /// 100 bytes at offset 100 (a hole at [0, 100)) ACK the first segment: cwnd 11, two segments go, the first with the
    /// SACK block [100, 200) (window 1024 units: linux-4.4's smaller window scale would hold 64 below 11 segments).
    /// linux-4.4's tcp_data_queue() also runs tcp_enter_quickack_mode() for every segment past
    /// rcv_nxt (until 4.18, "tcp: do not force quickack when receiving out-of-order packets"): ping-pong mode ends there,
    /// so TCP_QUICKACK reads 1; 6.18 stays in ping-pong mode.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 1)]
    [InlineData(KernelProfile.Linux6, 0)]
    public void Established_OutOfOrderDataWithAnAckThatOpensCwnd_SackRidesOnTheDataSent(KernelProfile profile, int quickack)
    {
        var f = new AckedSender(profile: profile);
        const int Mss = 1448;
        f.H.SetOption(f.C.Id, SocketOption.TCP_QUICKACK, 0);
        f.H.Send(f.C.Id, 20 * Mss);
        f.H.At(Ms(229));
        var options = new TcpOptions(HasTimestamp: true, TsVal: f.TsVal + 10, TsEcr: f.H.Sent("client").Last().Options.TsVal);
        f.H.Sim.Schedule(Ms(230), f.H.Client, new Segment(f.S.Tuple, TcpFlags.Ack, f.S.Iss + 101, f.C.Iss + 1 + Mss, 1024, 100, options));
        f.H.At(Ms(231));

        var sent = f.H.Sent("client").Where(s => s.At == Ms(230)).ToArray();
        Assert.Equal(new[] { Mss - 12, Mss - 12 }, sent.Select(s => s.Len)); // tcp_current_mss(): less the SACK option
        Assert.Equal(new[] { (f.S.Iss + 101, f.S.Iss + 201) }, sent[0].Options.Sack.ToArray().Select(b => (b.Left, b.Right)));
        Assert.Equal(quickack, f.H.GetOption(f.C.Id, SocketOption.TCP_QUICKACK).Result);
    }

    /// <summary>
    /// icsk_ack.pingpong is a count since 5.1, compared with net.ipv4.tcp_pingpong_thresh (6.5+, default 1):
    /// tcp_event_data_sent() → inet_csk_inc_pingpong_cnt() for data sent within ato of the last data received, and
    /// inet_csk_in_pingpong_mode() is pingpong ≥ the threshold. 100 bytes arrive at 300 ms (first data: quick-ACK mode,
    /// ACKed at once), the client answers 100 bytes at once (count 1). With the default threshold the connection is
    /// interactive — TCP_QUICKACK reads 0 and the next 100 bytes (310 ms) wait for the delayed-ACK timer (ato 10
    /// jiffies: expiry jiffy 87, run at 352 ms). With threshold 3 it is not: TCP_QUICKACK reads 1 and the quick ACK
    /// goes at once.
    /// </summary>
    [Theory]
    [InlineData(1, 0, 352.0)]
    [InlineData(3, 1, 310.0)]
    public void Established_QuickReply_PingPongOnlyFromTcpPingpongThresh(int thresh, int quickack, double ackAtMs)
    {
        var p = InjectedPeer.Connected(beforeSocket: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_pingpong_thresh", thresh.ToString()));
        p.DataAt(Ms(300), 100, 0);
        p.H.Send(p.C.Id, 100);
        Assert.Equal(quickack, p.H.GetOption(p.C.Id, SocketOption.TCP_QUICKACK).Result);
        int before = p.H.Sent("client").Count();
        p.DataAt(Ms(310), 100, 100);
        p.H.At(Ms(400));
        var ack = Assert.Single(p.H.Sent("client").Skip(before));
        Assert.Equal((Ms(ackAtMs), 200L), (ack.At, p.Acked(ack)));
    }

    [Fact]
    public void Sysctl_PingpongThresh_AtLeastOneAndAbsentOnLinux44()
    {
        var t = new SysctlTable(KernelProfile.Linux6);
        Assert.Equal("1", t.Format("net.ipv4.tcp_pingpong_thresh"));
        Assert.False(t.TrySet("net.ipv4.tcp_pingpong_thresh", "0", out _));
        Assert.False(SysctlCatalog.Exists("net.ipv4.tcp_pingpong_thresh", KernelProfile.Linux44));
    }
}
