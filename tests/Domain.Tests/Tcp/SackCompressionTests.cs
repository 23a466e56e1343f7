using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tests.Fixtures;
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

    /// <summary>Segments 1–3 at 300, 301, 302 ms, 4 at 303 ms, 5 and 6 20 µs apart.</summary>
    static readonly (double, int)[] SixAfterAHole = [(300, 1), (301, 2), (302, 3), (303, 4), (303.020, 5), (303.040, 6)];

    [Fact]
    public void Established_SixOutOfOrderSegments_ThreeAckedAtOnceThenThreeInOneAckAfter150Us()
    {
        var p = InjectedPeer.Connected();
        int before = p.H.Sent("client").Count();
        // The 4th duplicate ACK for rcv_nxt 0 is held back: compressed_ack 1, the hrtimer armed for
        // 303 ms + 50 µs + 100 µs slack; the 5th and 6th only add to compressed_ack.
        Assert.Equal(3, Inject(p, 303.149, SixAfterAHole).Length);
        p.H.At(Ms(303.5));
        var acks = AcksAfter(p, before);
        Assert.Equal(new[] { Ms(300), Ms(301), Ms(302), Ms(303.150) }, acks.Select(a => a.At));
        Assert.All(acks, a => Assert.Equal(0, p.Acked(a)));
        Assert.Equal(new[] { (1448L, 10136L) }, p.Sacks(acks[3]));
        // tcp_compressed_ack_kick(): compressed_ack 3 − 1 sent = 2 saved.
        Assert.Equal(2, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
        // The hole filled: ICSK_ACK_NOW, the ACK at once and without blocks.
        p.DataAt(Ms(305), L, 0);
        var last = Assert.Single(AcksAfter(p, before + 4));
        Assert.Equal((Ms(305), 7L * L), (last.At, p.Acked(last)));
        Assert.Empty(p.Sacks(last));
    }

    [Fact]
    public void Established_CompSackNrTwo_ThirdHeldBackAckGoesAtOnceAndCountsBoth()
    {
        var p = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_comp_sack_nr", "2"));
        // Segment 6: compressed_ack (2) ≥ tcp_comp_sack_nr, the ACK goes now; tcp_event_ack_sent() counts the 2 held back.
        var acks = Inject(p, 304, SixAfterAHole);
        Assert.Equal(new[] { Ms(300), Ms(301), Ms(302), Ms(303.040) }, acks.Select(a => a.At));
        Assert.Equal(2, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
        Assert.DoesNotContain(p.H.Sim.Journal.OfType<TimerFired>(), t => t.Timer == SimService.Domain.Tcp.TcpTimerKind.CompressedAck);
    }

    [Fact]
    public void Established_CompSackDelayAndSlackSet_HrtimerFiresAtTheirSumNotOnAJiffy()
    {
        // delay min(300 µs, 50 µs) = 50 µs, slack 0: the ACK at 303.050 ms exactly — an hrtimer, not the 4 ms wheel.
        var p = InjectedPeer.Connected((h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_comp_sack_slack_ns", "0"));
        Assert.Equal(Ms(303.050), Inject(p, 304, SixAfterAHole[..4])[3].At);
        Assert.Contains(p.H.Sim.Journal.OfType<TimerArmed>(), t => t.Timer == SimService.Domain.Tcp.TcpTimerKind.CompressedAck && t.Expires == Ms(303.050));
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
    }

    [Fact]
    public void Established_NewBlockWhileAnAckIsHeldBack_HeldAckGoesFirstWithTheOldBlocks()
    {
        var p = InjectedPeer.Connected();
        // Segments 1, 3, 5: three blocks, three duplicate ACKs at once. Segment 6 extends the newest block: held back
        // (compressed_ack 1). Segment 8 starts a 4th block: tcp_sack_new_ofo_skb() finds this_sack (3) ≥
        // TCP_SACK_BLOCKS_EXPECTED (2) and tcp_sack_compress_send_ack() sends the held ACK with the blocks as they
        // were; the new segment's own ACK is then held back again (dup_ack_counter is still 3) and leaves on the
        // re-armed hrtimer.
        var acks = Inject(p, 304, (300, 1), (301, 3), (302, 5), (303, 6), (303.100, 8));
        Assert.Equal(new[] { Ms(300), Ms(301), Ms(302), Ms(303.100), Ms(303.250) }, acks.Select(a => a.At));
        Assert.Equal(new[] { (7240L, 10136L), (4344L, 5792L), (1448L, 2896L) }, p.Sacks(acks[3]));
        Assert.Equal(new[] { (11584L, 13032L), (7240L, 10136L), (4344L, 5792L) }, p.Sacks(acks[4]));
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPAckCompressed]);
    }

    [Fact]
    public void Linux44_SixOutOfOrderSegments_EachAckedAtOnce()
    {
        // SACK compression came in 4.20: linux-4.4's __tcp_ack_snd_check() ACKs out-of-order data at once.
        var p = InjectedPeer.Connected(profile: KernelProfile.Linux44);
        Assert.Equal(new[] { Ms(300), Ms(301), Ms(302), Ms(303), Ms(303.020), Ms(303.040) }, Inject(p, 304, SixAfterAHole).Select(a => a.At));
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
