using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Reference §3.2, §9 and §14 scenarios 9, 10, 30. With a 10 ms link the first RTT sample is
/// 20 ms, so RTO = srtt + max(2·srtt, 200 ms) = 220 ms (55 jiffies): the loss probe fires one RTO
/// after the FIN, the first RTO retransmission one RTO later, then the RTO doubles. Each timer fires
/// when the timer wheel runs it (calc_wheel_index()): 55 jiffies is level 0, one jiffy after expiry
/// (FIN at jiffy 25: 25+55 = 80 → 81 = 324 ms; 81+55 = 136 → 137 = 548 ms); 440 ms and 880 ms are
/// level 1, the next multiple of 8 jiffies after expiry (137+110 = 247 → 248 = 992 ms; 248+220 = 468 →
/// 472 = 1888 ms; 472+440 = 912 → 920 = 3680 ms); 1.76 s … 14.08 s level 2 (64 jiffies; buckets at
/// jiffies ≡ 56 mod 64, since INITIAL_JIFFIES ≡ 8 mod 64: 920+440·… → 7392, 14560, 28896, 58336 ms),
/// 28.16 s … 120 s level 3 (512 jiffies, at jiffies ≡ 248 mod 512: 115680, 230368, 351200 ms, then
/// 120.832 s apart — the reference's measured "120 s RTO fired after 120.8 s").
/// </summary>
public class RetransmissionTests
{
    static TwoHostHarness DeadPeerAfterHandshake(out TcpSocket c, out TcpSocket s, KernelProfile profile = KernelProfile.Linux6)
    {
        var h = new TwoHostHarness(profile: profile);
        (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return h;
    }

    static double[] FinTimesMs(TwoHostHarness h) =>
        h.Sent("client").Where(x => x.Flags.HasFlag(TcpFlags.Fin)).Select(x => x.At.Ns / 1e6).ToArray();

    [Fact]
    public void FinWait1Orphan_DeadPeer_LossProbeThenEightRtosThenSilentDeath()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        Assert.Equal(220, c.Rto.TotalMilliseconds);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(200));
        Assert.Equal([100, 324, 548, 992, 1888, 3680, 7392, 14560, 28896, 58336], FinTimesMs(h));
        var death = h.States(c.Id).Last();
        Assert.Equal(TcpState.Close, death.To);
        // 58336 ms (jiffy 14584) + 56.32 s (14080) = 28664, level 3 → 28920 (≡ 248 mod 512) = 115.68 s:
        // 115.68 − 0.548 = 115.132 s ≥ model(8) = 511 · 200 ms = 102.2 s, so this firing kills.
        Assert.Equal(Ms(115680), death.At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPLossProbes]);
        Assert.Equal(9, h.Client.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.Equal(0, h.Client.OrphanCount);
    }

    [Fact]
    public void FinWait1Orphan_OrphanRetries3_DiesAfterFourRtoRetransmissions()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_orphan_retries", "3");
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(60));
        // model(3) = 3.0 s from the first RTO retransmission at 548 ms. At 1888 ms 1.34 s have passed; the
        // next firing, at 3680 ms (jiffy 472 + 440 = 912 → 920), is 3.132 s after it, so it kills instead of retransmitting.
        Assert.Equal([100, 324, 548, 992, 1888], FinTimesMs(h));
        Assert.Equal(Ms(3680), h.States(c.Id).Last().At);
    }

    [Fact]
    public void FinWait1_ShutdownWrDeadPeer_FifteenRtosCappedAt120sThenEtimedout()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(1200));
        var fins = FinTimesMs(h);
        Assert.Equal(1 + 1 + 15, fins.Length);
        // Nine doublings (RTO 0.44 … 112.64 s), then capped at 120 s; level 3 of the wheel from 28.16 s on
        // (buckets at jiffies ≡ 248 mod 512): 57080 + 28160 = … see the class comment; 30000 jiffies from a
        // bucket boundary land 59 · 512 = 30208 jiffies (120.832 s) later.
        Assert.Equal(115680, fins[10]);
        Assert.Equal(230368, fins[11]);
        Assert.Equal(351200, fins[12]);
        Assert.Equal(351200 + 4 * 120832, fins[^1]);
        // model(15) = 924.6 s after the first RTO retransmission (548 ms): at 834.528 s 833.98 s have passed;
        // the firing at 955.36 s (954.812 s) expires.
        var returned = h.Returned(recv.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(Ms(955360), returned.At);
        Assert.Equal(16, h.Client.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    [Fact]
    public void FinWait1_UserTimeoutPartialAckInLoss_ReArmsUnclampedAndExpiresAt4680ms()
    {
        // packetdrill/user-timeout-clamps-only-the-rto-timer.pkt: the partial ACK's re-arm (tcp_rearm_rto(),
        // tcp_xmit_retransmit_queue()) uses icsk_rto unclamped, so the connection lives to 4.680 s (the engine used to
        // clamp it and expire at 3.336 s).
        var name = "user-timeout-clamps-only-the-rto-timer.pkt";
        var result = SimService.Domain.Packetdrill.PacketdrillRunner.Run(Packetdrill.ProjectScripts.Read(name),
            new SimService.Domain.Packetdrill.PacketdrillOptions { ScriptName = name });
        Assert.True(result.Passed, result.Output);
        var mib = result.Simulation!.FindHost(SimService.Domain.Packetdrill.PacketdrillRunner.LocalHost)!.Mib;
        // 324, 768, 1664 ms, two from CA_Loss at 2.910 s, and 4.672 s; the first RTO after the ACK is a Loss failure.
        Assert.Equal((6L, 1L, 1L), (mib[MibCounter.TcpRetransSegs], mib[MibCounter.TcpExtTCPLossFailures], mib[MibCounter.TcpExtTCPAbortOnTimeout]));
    }

    [Fact]
    public void Established_UserTimeout3000DeadPeer_RtoClampedToDeadline()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        h.SetOption(c.Id, SocketOption.TCP_USER_TIMEOUT, 3000);
        var send = h.Send(c.Id, 4);
        Assert.Equal(4, send.Result);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(10));
        var data = h.Sent("client").Where(x => x.Len == 4).Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([100, 324, 548, 992, 1888], data);
        // tcp_clamp_rto_to_user_timeout() at 1888 ms: 3000 − (1888 − 548) = 1660 ms (415 jiffies) instead of
        // 1.76 s: expires 472 + 415 = 887, level 1 → 888 = 3552 ms, 3004 ms after the first retransmission.
        var returned = h.Returned(recv.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(Ms(3552), returned.At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    /// <summary>
    /// linux-4.4 has no tcp_clamp_rto_to_user_timeout() (4.19): out_reset_timer re-arms the doubled RTO as it is, and
    /// tcp_write_timeout() ends the connection at the first RTO that finds TCP_USER_TIMEOUT passed since the first
    /// retransmission (retransmits_timed_out(): tcp_time_stamp − retrans_stamp ≥ the timeout, in jiffies).
    /// </summary>
    [Fact]
    public void Established_UserTimeout3000DeadPeerLinux44_RtoNotClampedDiesAtTheFirstRtoPastIt()
    {
        var h = DeadPeerAfterHandshake(out var c, out _, KernelProfile.Linux44);
        h.SetOption(c.Id, SocketOption.TCP_USER_TIMEOUT, 3000);
        h.Send(c.Id, 4);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(10));
        var data = h.Sent("client").Where(x => x.Len == 4).Select(x => x.At.Ns / 1e6).ToArray();
        // The loss probe at 320 ms, then the RTOs at 540 (the first retransmission: retrans_stamp), 980 and 1860 ms; the
        // next, 440 jiffies later (apply_slack(): 906, not 905), finds 3084 ms gone: ETIMEDOUT at 3624 ms. 6.x would have
        // clamped that RTO to the 1680 ms left.
        Assert.Equal([100, 320, 540, 980, 1860], data);
        var returned = h.Returned(recv.CallId)!;
        Assert.Equal(("ETIMEDOUT", Ms(3624)), (returned.Errno, returned.At));
    }
}

/// <summary>tcp_rack_detect_loss(): a lost data segment is resent once a later one is delivered and it is older than RTT + min_rtt/4.</summary>
public class RackTests
{
    /// <summary>The first segment is dropped at 100 ms; at 101 ms <paramref name="later"/> more are sent and delivered.</summary>
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) FirstLostThen(int later)
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        h.Send(c.Id, 1448);
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(Ms(101));
        h.Send(c.Id, later * 1448);
        h.At(Ms(400));
        return (h, c, s);
    }

    [Fact]
    public void Established_FirstLostOneLaterDelivered_HeadResentOnceOlderThanRttPlusQuarterRtt()
    {
        var (h, c, s) = FirstLostThen(1);
        var resent = h.Sent("client").Single(x => x.Reason == "tcp_fastretrans_alert");
        // One duplicate ACK at 121 ms; the head (sent at 100 ms) is lost once older than RTT 20 ms + reo_wnd 5 ms
        // (min(min_rtt 20 / 4, srtt 20)): remaining 4,000 µs; tcp_rack_mark_lost() arms
        // usecs_to_jiffies(4000 + TCP_TIMEOUT_MIN_US) = 2 jiffies → expires jiffy 30 + 2 = 32 (128 ms), which the
        // wheel runs one jiffy later (level 0): 132 ms. There the head is lost and resent.
        Assert.Equal(Ms(132), resent.At);
        Assert.Equal(c.Iss + 1, resent.SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPFastRetrans]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPSackRecovery]); // tcp_enter_recovery()
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPSlowStartRetrans]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPLossProbes]);
        Assert.Equal(2 * 1448, h.Call("server", SocketCallKind.Recv, s.Id).Result);
    }

    /// <summary>
    /// tcp_rack_reo_timeout(): the timer runs tcp_rack_detect_loss() again, the head is retransmitted, and
    /// tcp_rearm_rto() arms the RTO from the head's new transmit time (tcp_rto_delta_us() = the whole RTO of
    /// 220 ms = 55 jiffies: jiffy 33 + 55 = 88, fired at 89 = 356 ms); the ACK of the retransmission at 152 ms
    /// (everything acknowledged) clears it. TimerArmed.Expires is when the wheel runs the timer.
    /// </summary>
    [Fact]
    public void Established_ReorderTimerFires_HeadResentAndRtoArmedFromItsNewSendTime()
    {
        var (h, c, _) = FirstLostThen(1);
        var timers = h.Sim.Journal.OfType<TimerArmed>().Where(t => t.Host == "client" && t.SocketId == c.Id && t.At >= Ms(121) && t.At <= Ms(132)).ToList();
        Assert.Equal(new[] { (Ms(121), TcpTimerKind.ReorderTimeout, Ms(132)), (Ms(132), TcpTimerKind.Retransmit, Ms(356)) },
            timers.Select(t => (t.At, t.Timer, t.Expires)));
        Assert.Contains(h.Sim.Journal.OfType<TimerFired>(), f => f.At == Ms(132) && f.Timer == TcpTimerKind.ReorderTimeout && f.SocketId == c.Id);
        Assert.Contains(h.Sim.Journal.OfType<TimerCancelled>(), f => f.At == Ms(152) && f.Timer == TcpTimerKind.Retransmit && f.SocketId == c.Id);
        Assert.Equal(1, c.Info.TotalRetrans);
        Assert.Equal(0, c.SendQueue);
    }

    [Fact]
    public void Established_FirstLostFiveLaterDelivered_HeadResentOnTheThirdDuplicate()
    {
        // Once tcp_reordering (3) later segments are delivered, reo_wnd is 0: lost when older than the RTT.
        var (h, c, s) = FirstLostThen(5);
        var resent = h.Sent("client").Single(x => x.Reason == "tcp_fastretrans_alert");
        Assert.Equal(Ms(121), resent.At);
        Assert.Equal(6 * 1448, h.Call("server", SocketCallKind.Recv, s.Id).Result);
    }

    [Fact]
    public void Established_LossyLinkBulkTransfer_EverythingDeliveredAndReplayable()
    {
        for (long seed = 1; seed <= 5; seed++)
        {
            var h = new TwoHostHarness(seed);
            var (c, s, _) = h.Establish();
            h.Sim.ChangeLink("client", "server", oneDirection: false, null, 0.1, null);
            h.Send(c.Id, 60_000);
            h.At(S(30));
            Assert.Equal(60_000, h.Call("server", SocketCallKind.Recv, s.Id).Result);
            Assert.Equal(0, c.SendQueue);
        }
    }
}

/// <summary>tcp_enter_loss(): ssthresh is reduced once per window (CUBIC's 717/1024), cwnd is what is still in flight + 1.</summary>
public class EnterLossTests
{
    [Fact]
    public void Established_TenSegmentsToADeadLink_FirstRtoSetsSsthreshSevenLaterRtosKeepIt()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 10 * 1448); // initial cwnd 10: all ten go at 100 ms
        h.At(Ms(600)); // the loss probe, then the first RTO (~548 ms)
        Assert.Equal(1, c.Info.Retransmits);
        // cubictcp_recalc_ssthresh(): max(10 · 717 / 1024, 2) = 7; cwnd = packets in flight after
        // tcp_timeout_mark_lost() (none: all ten are older than the RACK RTT) + 1.
        Assert.Equal((7, 1), (c.Info.SndSsthresh, c.Info.SndCwnd));
        h.At(S(3)); // two more RTOs of the same episode (icsk_retransmits > 0, high_seq not acknowledged)
        Assert.Equal(3, c.Info.Retransmits);
        Assert.Equal((7, 1), (c.Info.SndSsthresh, c.Info.SndCwnd));
    }

    /// <summary>
    /// tcp_ack() — net/ipv4/tcp_input.c — runs tcp_replace_ts_recent() (FLAG_UPDATE_TS_RECENT) right after the
    /// acceptability checks, before tcp_clean_rtx_queue(), tcp_fastretrans_alert() and tcp_xmit_recovery(): what the
    /// ACK makes the sender retransmit echoes that ACK's TSval. Four segments at 200 ms into a dead link: loss probe,
    /// then RTOs (cwnd 1, all four marked lost by tcp_timeout_mark_lost(), only the head resent). At 2 s, before the
    /// next RTO, the peer's ACK of the first segment (TSval = the SYN-ACK's + 10) arrives in CA_Loss: F-RTO has no new
    /// data to send (write queue empty) and turns itself off; the ACK echoes the 1.824 s retransmission, so no undo
    /// (undo_retrans 3, not tcp_packet_delayed()): REXMIT_LOST; slow start takes cwnd 1 → 2 and
    /// tcp_xmit_retransmit_queue() resends segments 2 and 3 at once, both with TSecr = that TSval (not the SYN-ACK's).
    /// </summary>
    [Fact]
    public void Established_AckInLossRecovery_RetransmissionsEchoThatAcksTsval()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 4 * Mss);
        uint synAckTsVal = f.H.Sent("server").Last().Options.TsVal;
        f.H.At(Ms(1999)); // the ACK echoes the last retransmission's TSval (1.824 s): not tcp_packet_delayed(), no undo

        f.Ack(S(2), Mss);

        var resent = f.H.Sent("client").Where(x => x.At == S(2)).ToArray();
        Assert.Equal([(1L * Mss, Mss), (2L * Mss, Mss)], f.DataAt(S(2)));
        Assert.Equal(synAckTsVal + 10, f.TsVal);
        Assert.All(resent, x => Assert.Equal(synAckTsVal + 10, x.Options.TsEcr));
    }

    /// <summary>
    /// tcp_ack_update_rtt() — net/ipv4/tcp_input.c — is the only place an ACK clears icsk_backoff, and only after a
    /// valid RTT sample ("RFC6298: only reset backoff on valid RTT measurement"). Without timestamps (client's
    /// tcp_timestamps 0): srtt 20 ms, RTO 220 ms = 55 jiffies. 1000 bytes at 200 ms (jiffy 50) into a dead link; the
    /// loss probe (2·srtt + rto_min = 60 jiffies, capped at the RTO's 55) runs at jiffy 106 (424 ms), the RTO re-armed
    /// from it at 162 (648 ms: backoff 1, RTO 440 ms = 110 jiffies, expiry 272 → level-1 bucket 280 = 1120 ms: backoff 2,
    /// RTO 880 ms). The ACK at 1.2 s covers only the retransmitted segment: Karn gives no sample (tcp_clean_rtx_queue()
    /// with FLAG_RETRANS_DATA_ACKED; no TSecr), so backoff stays 2 and icsk_rto 880 ms — what TCP_INFO reports.
    /// </summary>
    [Fact]
    public void Established_AckOfRetransmissionWithoutTimestamps_KeepsBackoff()
    {
        var f = new AckedSender(beforeSocket: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0"));
        Assert.False(f.C.Info.Timestamps);
        f.H.Send(f.C.Id, 1000);
        f.H.At(Ms(1199));
        Assert.Equal([200.0, 424, 648, 1120], f.H.Sent("client").Where(x => x.Len > 0).Select(x => x.At.Ns / 1e6));

        f.Ack(Ms(1200), 1000);

        Assert.Equal((0, 2, 880_000L), (f.C.Info.Unacked, f.C.Info.Backoff, f.C.Info.RtoUs));
    }

    const int Mss = 1448;
}
