using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// SACK compression as Linux 6.18's __tcp_ack_snd_check() does it (net/ipv4/tcp_input.c, 4.20+): with out-of-order
/// data queued and no other reason to ACK at once, the first TCP_FASTRETRANS_THRESH (3) duplicate ACKs for one
/// rcv_nxt go at once (dup_ack_counter); later ones are held back (compressed_ack) until the compressed_ack_timer
/// hrtimer fires — after min(tcp_comp_sack_delay_ns, 5 % of the RTT) + tcp_comp_sack_slack_ns (100 µs) — or
/// tcp_comp_sack_nr are held. tcp_compressed_ack_kick() / tcp_event_ack_sent() count TCPAckCompressed.
/// The server's 1448-byte segments are injected into the client; offsets are relative to the server's ISN + 1
/// (segment k covers [1448·k, 1448·(k+1))), segment 0 is the hole. Each segment echoes the client's last TSval,
/// so from the second one on the receiver's RTT estimate (tcp_rcv_rtt_measure_ts(), slow path, every segment) is
/// 1 ms: rcv_rtt_est.rtt_us = 8000 (µs · 8), below srtt (20 ms), so the delay is 8000 · 125 / 20 = 50 000 ns.
/// A fresh receiver first grows its window: tcp_data_queue_ofo() → tcp_grow_window() sets icsk_ack.quick |= 1 while
/// rcv_ssthresh rises (the first five segments here: window 66 → 75, rcv_ssthresh 64512 → 76096 in four steps of
/// 2 · advmss, then the 64 bytes of room tcp_space() leaves for the fifth, whose skb is charged after the growth),
/// and quick-ACK mode sends at once without counting a duplicate ACK; the next three are dup_ack_counter's. So
/// compression starts with the 9th segment — observed on Linux 6.18.44 (packetdrill
/// ofo-segment-grows-window-before-its-skb-is-charged.pkt, and the same 1448-byte segments with timestamps in
/// record mode: the 8th segment's ACK at once, the 9th's held).
/// </summary>
public class SackCompressionTests
{
    const int L = 1448;

    static SegmentSent[] AcksAfter(InjectedPeer p, int before) => [.. p.H.Sent("client").Skip(before)];

    /// <summary>Injects segment k at each (ms, k), then runs to <paramref name="untilMs"/>; returns the client's ACKs since.</summary>
    static SegmentSent[] Inject(InjectedPeer p, double untilMs, params (double Ms, int K)[] segments)
    {
        int before = p.H.Sent("client").Count();
        foreach (var (ms, k) in segments) p.DataAt(Ms(ms), L, k * L);
        p.H.At(Ms(untilMs));
        return AcksAfter(p, before);
    }

    /// <summary>Segments 1–4 at 300…303 ms, 5 at 304 ms, 6 and 7 20 µs apart.</summary>
    static readonly (double, int)[] SevenAfterAHole = [(300, 1), (301, 2), (302, 3), (303, 4), (304, 5), (304.020, 6), (304.040, 7)];

    /// <summary>Segments 1–8 at 300…307 ms (five quick ACKs while the window grows, three duplicate ACKs), then 9 and
    /// 10 20 µs apart, 11 20 µs later.</summary>
    static readonly (double, int)[] ElevenAfterAHole =
        [(300, 1), (301, 2), (302, 3), (303, 4), (304, 5), (305, 6), (306, 7), (307, 8), (307.020, 9), (307.040, 10), (307.060, 11)];

    static readonly SimTime[] EightAtOnce = [Ms(300), Ms(301), Ms(302), Ms(303), Ms(304), Ms(305), Ms(306), Ms(307)];

    [Fact]
    public void Established_InOrderSegments_NeverMakeTheCompressionState()
    {
        // With the out-of-order queue empty __tcp_ack_snd_check() schedules a delayed ACK and never reaches the
        // compression path: the state (compressed_ack, dup_ack_counter, the hrtimer) stays unmade, read as 0.
        var p = InjectedPeer.Connected();
        Inject(p, 310, [(300, 0), (301, 1), (302, 2), (303, 3)]);

        Assert.False(p.C.HasSackCompressionState);
        Assert.False(p.S.HasSackCompressionState);
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
    }

    [Fact]
    public void Established_OutOfOrderSegmentsPastTheQuickAcks_MakeTheCompressionState()
    {
        // Segments 1–5 are ACKed in quick-ACK mode (the window growing); segment 6 is the first whose ACK reaches
        // the compression path (dup_ack_counter 1), which makes the state.
        var p = InjectedPeer.Connected();
        Inject(p, 304.010, [.. SevenAfterAHole.Take(5)]);
        Assert.False(p.C.HasSackCompressionState);

        Inject(p, 304.030, [.. SevenAfterAHole.Skip(5).Take(1)]);
        Assert.True(p.C.HasSackCompressionState);
    }

    [Fact]
    public void Established_ElevenOutOfOrderSegments_EightAckedAtOnceThenThreeInOneAckAfter150Us()
    {
        var p = InjectedPeer.Connected();
        int before = p.H.Sent("client").Count();
        // The 9th ACK (4th duplicate) for rcv_nxt 0 is held back: compressed_ack 1, the hrtimer armed for
        // 307.020 ms + 50 µs + 100 µs slack; the 10th and 11th only add to compressed_ack.
        Assert.Equal(8, Inject(p, 307.169, ElevenAfterAHole).Length);
        p.H.At(Ms(307.5));
        var acks = AcksAfter(p, before);
        Assert.Equal([.. EightAtOnce, Ms(307.170)], acks.Select(a => a.At));
        Assert.All(acks, a => Assert.Equal(0, p.Acked(a)));
        Assert.Equal(new[] { (1448L, 17376L) }, p.Sacks(acks[8]));
        // tcp_compressed_ack_kick(): compressed_ack 3 − 1 sent = 2 saved.
        Assert.Equal(2, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
        // The hole filled: ICSK_ACK_NOW, the ACK at once and without blocks.
        p.DataAt(Ms(309), L, 0);
        var last = Assert.Single(AcksAfter(p, before + 9));
        Assert.Equal((Ms(309), 12L * L), (last.At, p.Acked(last)));
        Assert.Empty(p.Sacks(last));
    }

    [Fact]
    public void Established_CompSackNrTwo_ThirdHeldBackAckGoesAtOnceAndCountsBoth()
    {
        var p = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_comp_sack_nr", "2"));
        // Segment 11: compressed_ack (2) ≥ tcp_comp_sack_nr, the ACK goes now; tcp_event_ack_sent() counts the 2 held back.
        var acks = Inject(p, 308, ElevenAfterAHole);
        Assert.Equal([.. EightAtOnce, Ms(307.060)], acks.Select(a => a.At));
        Assert.Equal(2, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
        Assert.DoesNotContain(p.H.Sim.Journal.OfType<TimerFired>(), t => t.Timer == SimService.Domain.Tcp.TcpTimerKind.CompressedAck);
    }

    [Fact]
    public void Established_CompSackDelayAndSlackSet_HrtimerFiresAtTheirSumNotOnAJiffy()
    {
        // delay min(1 ms, 50 µs) = 50 µs, slack 0: the ACK at 307.070 ms exactly — an hrtimer, not the 4 ms wheel.
        var p = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_comp_sack_slack_ns", "0"));
        Assert.Equal(Ms(307.070), Inject(p, 308, ElevenAfterAHole[..9])[8].At);
        Assert.Contains(p.H.Sim.Journal.OfType<TimerArmed>(), t => t.Timer == SimService.Domain.Tcp.TcpTimerKind.CompressedAck && t.Expires == Ms(307.070));
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
    }

    [Fact]
    public void Established_NewBlockWhileAnAckIsHeldBack_HeldAckGoesWithTheOldBlocksAndTheNewSegmentsAckIsNotHeld()
    {
        var p = InjectedPeer.Connected();
        // Segments 1, 3, …, 15: a block each, eight ACKs at once. Segment 16 extends the newest block: held back
        // (compressed_ack 1). Segment 18 starts a new block: tcp_sack_new_ofo_skb() finds this_sack (4) ≥
        // TCP_SACK_BLOCKS_EXPECTED (2) and tcp_sack_compress_send_ack() sends the held ACK with the blocks as they
        // were. That ACK clears icsk_ack.pending (tcp_event_ack_sent()), and tcp_data_queue_ofo() scheduled the ACK
        // (inet_csk_schedule_ack()) before it, so tcp_ack_snd_check() finds none scheduled: the new segment's own ACK
        // is neither sent nor held, and no hrtimer is armed — its block goes out with the next ACK (the hole filled at
        // 310 ms). Linux 6.18.44, fuzz case loss-36000-4: no ACK 1.1 ms after such a forced one, in four runs of four.
        var acks = Inject(p, 309, (300, 1), (301, 3), (302, 5), (303, 7), (304, 9), (305, 11), (306, 13), (307, 15), (308, 16), (308.100, 18));
        Assert.Equal([.. EightAtOnce, Ms(308.100)], acks.Select(a => a.At));
        Assert.Equal(new[] { (21720L, 24616L), (18824L, 20272L), (15928L, 17376L) }, p.Sacks(acks[8]));
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
        Assert.Equal(1, p.H.Sim.Journal.OfType<TimerArmed>().Count(t => t.Timer == SimService.Domain.Tcp.TcpTimerKind.CompressedAck));
        int sent = p.H.Sent("client").Count();
        p.DataAt(Ms(310), L, 0);
        p.H.At(Ms(311));
        var next = Assert.Single(AcksAfter(p, sent));
        Assert.Equal(Ms(310), next.At);
        Assert.Equal((26064L, 27512L), p.Sacks(next)[0]);
    }

    [Fact]
    public void Linux44_SevenOutOfOrderSegments_EachAckedAtOnce()
    {
        // SACK compression came in 4.20: linux-4.4's __tcp_ack_snd_check() ACKs out-of-order data at once.
        var p = InjectedPeer.Connected(profile: KernelProfile.Linux44);
        Assert.Equal(new[] { Ms(300), Ms(301), Ms(302), Ms(303), Ms(304), Ms(304.020), Ms(304.040) }, Inject(p, 305, SevenAfterAHole).Select(a => a.At));
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
    }

    [Theory]
    [InlineData("net.ipv4.tcp_comp_sack_delay_ns", "1000000")]
    [InlineData("net.ipv4.tcp_comp_sack_slack_ns", "100000")]
    [InlineData("net.ipv4.tcp_comp_sack_nr", "44")]
    public void Sysctl_CompSackDefaults_Linux618ValuesAndAbsentOnLinux44(string name, string value)
    {
        var linux6 = new SysctlTable(KernelProfile.Linux6);
        Assert.Equal(value, linux6.Format(name));
        Assert.False(SysctlCatalog.Exists(name, KernelProfile.Linux44));
    }

    [Fact]
    public void Sysctl_CompSackNrAbove255_Refused()
    {
        var t = new SysctlTable(KernelProfile.Linux6);
        Assert.False(t.TrySet("net.ipv4.tcp_comp_sack_nr", "256", out _));
        Assert.True(t.TrySet("net.ipv4.tcp_comp_sack_nr", "0", out _));
        Assert.Equal(0, t.TcpCompSackNr);
    }
}

/// <summary>
/// tcp_data_queue_ofo() calls tcp_measure_rcv_mss() since 6.17 ("tcp: call tcp_measure_rcv_mss() for ooo packets",
/// backported to 6.12+ stable): an out-of-order segment updates icsk_ack.rcv_mss (tcpi_rcv_mss), scaling_ratio and the
/// PUSHED bits as an in-order one does. A fresh client guesses rcv_mss = min(advmss, mss_cache, rcv_wnd / 2,
/// TCP_MSS_DEFAULT) = 536 (tcp_initialize_rcv_mss()); 1000 bytes two segments past rcv_nxt are ≥ 536, so rcv_mss =
/// min(1000, advmss) = 1000. linux-4.4 measures in-order segments only.
/// </summary>
public class OutOfOrderRcvMssTests
{
    [Fact]
    public void Established_OutOfOrderSegmentOf1000Bytes_RcvMssBecomes1000()
    {
        var p = InjectedPeer.Connected();
        Assert.Equal(536, p.C.Info.RcvMss);
        p.Data(1000, at: 2000);
        Assert.Equal(1000, p.C.Info.RcvMss);
    }

    [Fact]
    public void Linux44_OutOfOrderSegmentOf1000Bytes_RcvMssStays536()
    {
        var p = InjectedPeer.Connected(profile: KernelProfile.Linux44);
        Assert.Equal(536, p.C.Info.RcvMss);
        p.Data(1000, at: 2000);
        Assert.Equal(536, p.C.Info.RcvMss);
    }
}
