using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Loss recovery as tcp_fastretrans_alert() drives it (net/ipv4/tcp_input.c, tcp_recovery.c, tcp_output.c): RACK marks
/// each lost segment, PRR (tcp_cwnd_reduction()) paces the retransmissions, NewReno without SACK, F-RTO in CA_Loss and
/// the undo paths. The timelines are in the project's packetdrill scripts; these tests read the counters they leave.
/// </summary>
public class RecoveryTests
{
    static Mib Run(string name)
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(name), new PacketdrillOptions { ScriptName = name });
        Assert.True(result.Passed, result.Output);
        return result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
    }

    /// <summary>
    /// A project script's run (not checked here) and the segments the local host sent from <paramref name="fromMs"/>
    /// up to <paramref name="toMs"/>, each as "ms flags:seq − iss+len".
    /// </summary>
    static (PacketdrillRunResult Result, List<string> Sent) RunSent(string name, long fromMs, long toMs = long.MaxValue)
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(name), new PacketdrillOptions { ScriptName = name });
        var sent = result.Simulation!.Journal.OfType<SegmentSent>().Where(s => s.Host == PacketdrillRunner.LocalHost).ToList();
        uint iss = sent[0].SeqNo;
        return (result, sent.Where(s => s.At.Ns / 1_000_000 >= fromMs && s.At.Ns / 1_000_000 < toMs)
            .Select(s => $"{s.At.Ns / 1_000_000} {s.Flags.ToLetters()}:{s.SeqNo - iss}+{s.Len}").ToList());
    }

    [Fact]
    public void Disorder_TwoHolesThreeSacked_OneRecoveryTwoFastRetransmitsUnderPrr()
    {
        var mib = Run("prr-two-holes-sack-recovery.pkt");
        // One tcp_enter_recovery(), each hole resent once by tcp_xmit_retransmit_queue() outside CA_Loss.
        Assert.Equal((1L, 2L, 2L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpRetransSegs]));
        Assert.Equal((0L, 0L, 0L), (mib[MibCounter.TcpExtTCPLostRetransmit], mib[MibCounter.TcpExtTCPFullUndo], mib[MibCounter.TcpExtTCPSlowStartRetrans]));
        // Ten segments delivered, each counted once: eight SACKed or cumulatively acknowledged originals, two retransmissions.
        Assert.Equal(10L, mib[MibCounter.TcpExtTCPDelivered] - 1); // the SYN-ACK acknowledged our SYN
    }

    [Fact]
    public void Disorder_ThirdDuplicateAckWithoutSack_RenoRecoveryHeadResentAndHeldUntilAboveHighSeq()
    {
        var mib = Run("reno-three-dupacks-fast-recovery.pkt");
        Assert.Equal((1L, 0L, 1L), (mib[MibCounter.TcpExtTCPRenoRecovery], mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans]));
        Assert.Equal(0L, mib[MibCounter.TcpExtTCPRenoReorder]); // never more duplicate ACKs than segments out
        // tcp_add_reno_sack() counts each duplicate ACK delivered (4), tcp_remove_reno_sacks() the hole (1): with the
        // SYN, the first segment and the last one, 8.
        Assert.Equal(8L, mib[MibCounter.TcpExtTCPDelivered]);
    }

    [Fact]
    public void Loss_AckOfNeverRetransmittedSegment_FrtoUndoesTheSpuriousRto()
    {
        var mib = Run("frto-spurious-rto-undone.pkt");
        Assert.Equal((1L, 1L, 1L), (mib[MibCounter.TcpExtTCPTimeouts], mib[MibCounter.TcpExtTCPLossUndo], mib[MibCounter.TcpExtTCPSpuriousRTOs]));
        // Only the RTO's own retransmission: nothing left marked lost for tcp_xmit_retransmit_queue().
        Assert.Equal((1L, 0L), (mib[MibCounter.TcpRetransSegs], mib[MibCounter.TcpExtTCPSlowStartRetrans]));
    }

    /// <summary>
    /// frto-undo-after-zero-window-rto-queued-fin-goes-alone.pkt (6.18.44 sends the same): the peer's answer "+0" is an
    /// RTT sample of the transit alone, taken as the engine's shortest (7 µs, so min_rtt 7 and RACK's window 1 µs). After
    /// the zero-window RTO (228 ms) is undone, the tail 3001:3101 — sent in one skb timestamp with 2001:3001, whose RTT
    /// rack.rtt_us is — has reo_wnd left and is not lost: close()'s FIN leaves alone at once, the loss probe resends it at
    /// 252 ms. With 1 µs samples (min_rtt / 4 = 0) the engine resent the tail before the FIN at 228 ms.
    /// </summary>
    [Fact]
    public void Loss_ZeroWindowRtoUndoneByFrto_TailNotLostSoTheQueuedFinGoesAlone()
    {
        var (result, sent) = RunSent("frto-undo-after-zero-window-rto-queued-fin-goes-alone.pkt", fromMs: 228);

        Assert.Equal(["228 .:1001+1000", "228 F.:3101+0", "252 F.:3101+0", "262 .:3102+0"], sent);
        Assert.True(result.Passed, result.Output);
        var mib = result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
        Assert.Equal((1L, 1L, 1L, 2L), (mib[MibCounter.TcpExtTCPSpuriousRTOs], mib[MibCounter.TcpExtTCPLossUndo],
            mib[MibCounter.TcpExtTCPLossProbes], mib[MibCounter.TcpRetransSegs]));
    }

    /// <summary>
    /// rack-head-retransmit-keeps-reo-timer.pkt (6.18.44 sends the same): the SACK at 25 ms finds the head lost and
    /// 1001:2001 2.5 ms short of lost, so tcp_rack_mark_lost() arms the reordering timer; resending the head leaves it
    /// (tcp_xmit_retransmit_queue(): "icsk->icsk_pending != ICSK_TIME_REO_TIMEOUT"), it fires at 36 ms and resends
    /// 1001:2001. The engine re-armed the RTO over it and resent the head again at 240 ms (fuzz loss-41002-3).
    /// </summary>
    [Fact]
    public void Recovery_HeadRetransmittedWhileReoTimerArmed_TimerKeptAndLaterHoleResentOnIt()
    {
        var (result, sent) = RunSent("rack-head-retransmit-keeps-reo-timer.pkt", fromMs: 25, toMs: 100);

        Assert.Equal(["25 P.:1+1000", "36 .:1001+1000"], sent);
        Assert.True(result.Passed, result.Output);
        var mib = result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
        Assert.Equal((1L, 2L, 0L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpExtTCPTimeouts]));
    }

    [Fact]
    public void Recovery_RetransmissionLostAgain_RackMarksItAndItIsResent()
    {
        var mib = Run("rack-lost-retransmit.pkt");
        Assert.Equal((1L, 1L, 2L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPLostRetransmit], mib[MibCounter.TcpExtTCPFastRetrans]));
        Assert.Equal(0L, mib[MibCounter.TcpExtTCPTimeouts]);
    }

    [Fact]
    public void Recovery_SackOfSegmentSentAtTheSameInstantBeforeRetransmissions_RetransmissionsNotJudged()
    {
        var mib = Run("rack-same-instant-sent-order.pkt");
        // tcp_rack_detect_loss() stops at 11001:12001, sent before the retransmissions at the same instant: nothing is
        // found lost again, the holes are resent once each.
        Assert.Equal((1L, 0L, 2L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPLostRetransmit], mib[MibCounter.TcpRetransSegs]));
    }

    [Fact]
    public void Recovery_DsackUndoOnPartialAck_RetransStampClearedSoUserTimeoutCountsFromTheRto()
    {
        var mib = Run("dsack-undo-in-recovery-restarts-retrans-stamp.pkt");
        // tcp_try_undo_dsack() in Recovery, then the loss probe and the RTOs of the last segment until TCP_USER_TIMEOUT.
        Assert.Equal((1L, 1L, 1L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPDSACKUndo], mib[MibCounter.TcpExtTCPLossProbes]));
    }

    /// <summary>
    /// linux-4.4's tcp_fastretrans_alert() follows a D-SACK undo in Recovery with tcp_try_keep_open() and returns: no
    /// tcp_try_to_open(), so retrans_stamp keeps the undone fast retransmit's time. The timeline of
    /// dsack-undo-in-recovery-restarts-retrans-stamp.pkt without loss probes (tcp_early_retrans 0) and with
    /// tcp_retries2 = 2 instead of TCP_USER_TIMEOUT: retransmits_timed_out() gives up once (2 &lt;&lt; 2) − 1 = 7 ·
    /// TCP_RTO_MIN = 350 jiffies passed since the stamp. The fast retransmit at 20 ms (jiffy 5) stamps; the RTO of the
    /// last segment (53 jiffies) fires at 236, 660 and 1508 ms (jiffy 377): 372 jiffies after the kept stamp, so the
    /// connection dies then with ETIMEDOUT. With the stamp forgotten (6.x), the first RTO at 236 ms would restart it and
    /// the connection would last until 3.204 s.
    /// </summary>
    [Fact]
    public void Recovery_DsackUndoOnPartialAckLinux44_RetransStampKeptSoRetries2CountsFromTheFastRetransmit()
    {
        const string script = """
            `./defaults.sh`
            `sysctl -q net.ipv4.tcp_early_retrans=0`
            `sysctl -q net.ipv4.tcp_retries2=2`

                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
               +0...0.010 connect(3, ..., ...) = 0
               +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
             +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>
               +0 > . 1:1(0) ack 1

               +0 write(3, ..., 5000) = 5000
               +0 > . 1:1001(1000) ack 1
               +0 > . 1001:2001(1000) ack 1
               +0 > . 2001:3001(1000) ack 1
               +0 > . 3001:4001(1000) ack 1
               +0 > P. 4001:5001(1000) ack 1
             +.01 < . 1:1(0) ack 1 win 257 <nop,nop,sack 1001:4001>
               +0 > . 1:1001(1000) ack 1
            +.005 < . 1:1(0) ack 4001 win 257 <nop,nop,sack 1:1001>
               +0 %{ assert tcpi_ca_state == TCP_CA_Open }%
            +.211 > P. 4001:5001(1000) ack 1
            +.424 > P. 4001:5001(1000) ack 1
               +0...0.848 read(3, ..., 1000) = -1 ETIMEDOUT (Connection timed out)
            """;
        var result = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = "dsack-undo-linux44.pkt", Profile = KernelProfile.Linux44 });
        Assert.True(result.Passed, result.Output);
        var mib = result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
        Assert.Equal((1L, 1L, 1L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPDSACKUndo], mib[MibCounter.TcpExtTCPAbortOnTimeout]));
    }

    [Fact]
    public void Disorder_ThreeSackedWithTcpRecoveryNoDupthresh_ReorderTimerResendsTheHole()
    {
        var mib = Run("rack-no-dupthresh-waits-for-reo-wnd.pkt");
        // Recovery from tcp_rack_reo_timeout(), not from the SACK itself: one recovery, one fast retransmission.
        Assert.Equal((1L, 1L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans]));
    }

    [Fact]
    public void Open_RetransmittedProbeThenAckAboveTlpHighSeq_LossProbeRecoveryReducesCwnd()
    {
        var mib = Run("tlp-repairs-tail-loss-cwr.pkt");
        Assert.Equal((1L, 1L), (mib[MibCounter.TcpExtTCPLossProbes], mib[MibCounter.TcpExtTCPLossProbeRecovery]));
        // A CWR episode, not Recovery: no tcp_enter_recovery(), no fast retransmission, no RTO.
        Assert.Equal((0L, 0L, 0L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpExtTCPTimeouts]));
    }

    [Fact]
    public void Open_LossProbeWithCwndFullAndDataWaiting_SendsNextNewSegment()
    {
        var mib = Run("tlp-new-data-with-cwnd-full.pkt");
        // tcp_write_xmit(push_one = 2) forced one new segment: no retransmission, and its ACK ended the episode
        // without CWR (tlp_retrans = 0).
        Assert.Equal((1L, 0L, 0L), (mib[MibCounter.TcpExtTCPLossProbes], mib[MibCounter.TcpRetransSegs], mib[MibCounter.TcpExtTCPLossProbeRecovery]));
    }

    [Fact]
    public void FinWait1_RtoOfShortLastDataSegment_CollapsesTheFinIntoIt()
    {
        var mib = Run("rto-collapses-fin-into-last-data.pkt");
        // The probe resent the FIN, the RTO one segment carrying data and FIN (tcp_retrans_try_collapse()).
        Assert.Equal((1L, 1L, 2L), (mib[MibCounter.TcpExtTCPLossProbes], mib[MibCounter.TcpExtTCPTimeouts], mib[MibCounter.TcpRetransSegs]));
    }

    [Fact]
    public void Loss_DsackOfRetransmittedLossProbe_DoesNotUndoTheRto()
    {
        var mib = Run("dsack-of-loss-probe-after-rto-keeps-loss.pkt");
        // tcp_init_undo() counted the probe: its D-SACK leaves undo_retrans at 1, so no TCPLossUndo and no new
        // Recovery episode; the lost segment goes out from CA_Loss.
        Assert.Equal((0L, 0L, 1L, 0L), (mib[MibCounter.TcpExtTCPLossUndo], mib[MibCounter.TcpExtTCPSackRecovery],
            mib[MibCounter.TcpExtTCPSlowStartRetrans], mib[MibCounter.TcpExtTCPFastRetrans]));
    }

    [Fact]
    public void Open_ProbeTimerWhileProbeOutstanding_RearmsRtoFromTheHead()
    {
        var mib = Run("tlp-outstanding-probe-timer-rearms-rto-from-head.pkt");
        // One probe only (the second expiry sent nothing), then the RTO at 232 ms.
        Assert.Equal((1L, 1L, 2L), (mib[MibCounter.TcpExtTCPLossProbes], mib[MibCounter.TcpExtTCPTimeouts], mib[MibCounter.TcpRetransSegs]));
    }

    [Fact]
    public void Recovery_PartialAcksEchoingTheOriginals_UndoneOnceNoRetransmissionIsOut()
    {
        var mib = Run("partial-undo-timestamps.pkt");
        Assert.Equal((1L, 2L, 1L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans], mib[MibCounter.TcpExtTCPPartialUndo]));
        Assert.Equal((0L, 0L), (mib[MibCounter.TcpExtTCPFullUndo], mib[MibCounter.TcpExtTCPDSACKUndo]));
    }

    [Fact]
    public void Recovery_PartialAckWithoutSack_NextHoleMarkedLostAndResent()
    {
        var mib = Run("reno-partial-ack-newreno.pkt");
        Assert.Equal((1L, 2L), (mib[MibCounter.TcpExtTCPRenoRecovery], mib[MibCounter.TcpExtTCPFastRetrans]));
        Assert.Equal((0L, 0L), (mib[MibCounter.TcpExtTCPTimeouts], mib[MibCounter.TcpExtTCPPartialUndo]));
    }

    [Fact]
    public void Loss_NewDataAfterRtoSackedBeyondTheHole_FrtoGivesUpAndRetransmitsInSlowStart()
    {
        var mib = Run("frto-new-data-then-real-loss.pkt");
        Assert.Equal((1L, 2L), (mib[MibCounter.TcpExtTCPTimeouts], mib[MibCounter.TcpExtTCPSlowStartRetrans]));
        Assert.Equal((0L, 0L, 0L), (mib[MibCounter.TcpExtTCPSpuriousRTOs], mib[MibCounter.TcpExtTCPLossUndo], mib[MibCounter.TcpExtTCPFastRetrans]));
    }
}
