using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Tests.Packetdrill;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// TcpExt TCPHPHits, TCPPureAcks and TCPHPAcks: tcp_rcv_established()'s header prediction (tp->pred_flags — on at
/// tcp_finish_connect() without window scaling, at the passive open, and by tcp_fast_path_check() after a window
/// change or in-order data; off for out-of-order data and a zero window), the sk_forward_alloc test of fast-path data,
/// and tcp_ack()'s count. Client 10.0.0.1 and server 10.0.0.2, 10 ms apart, timestamps and window scaling on.
/// </summary>
public class HeaderPredictionTests
{
    static (long HpHits, long PureAcks, long HpAcks) Counters(Host host) =>
        (host.Mib[MibCounter.TcpExtTCPHPHits], host.Mib[MibCounter.TcpExtTCPPureAcks], host.Mib[MibCounter.TcpExtTCPHPAcks]);

    [Fact]
    public void Established_Handshake_ServerCountsTheThirdAckAsPure()
    {
        // The child's tcp_rcv_state_process() runs tcp_ack(FLAG_SLOWPATH) on the handshake's ACK: no data, not
        // advancing (snd_una is already isn + 1) — TCPPureAcks. The client's SYN-ACK carries a SYN: not pure.
        var h = new TwoHostHarness();
        h.Establish();

        Assert.Equal((0L, 0L, 0L), Counters(h.Client));
        Assert.Equal((0L, 1L, 0L), Counters(h.Server));
    }

    [Fact]
    public void Established_FourFullSegmentsNotRead_OnlyTheThirdIsAHeaderPredictionHit()
    {
        // Server (prediction on since the passive open, window field 63): every segment matches, but fast-path data
        // needs skb->truesize (2304) <= sk_forward_alloc. 1st: 0 → slow path; tcp_try_rmem_schedule() takes a page:
        // 4096 − 2304 = 1792. 2nd: slow; one more page, coalesced (2048): 3840. 3rd: hit, 3840 − 2048 = 1792. 4th: slow.
        // Client (window scaling: prediction off at tcp_finish_connect()): the server's four ACKs advertise 67, 70, 73
        // and 75 — each is a new window, so each goes the slow path (TCPPureAcks) and tcp_ack_update_window() turns
        // prediction on for a window the next ACK no longer has.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 4 * 1448);
        h.At(Ms(400));

        Assert.Equal((1L, 1L, 0L), Counters(h.Server));
        Assert.Equal((0L, 4L, 0L), Counters(h.Client));
    }

    [Fact]
    public void Established_SmallRequestsReadAtOnce_AcksAfterTheFirstTakeTheFastPath()
    {
        // 100 bytes every 100 ms, each read at once. Segments under 128 bytes do not grow the window and the read frees
        // the memory, so every ACK advertises 64: the first is a new window (slow path, TCPPureAcks, prediction on for
        // 64), the next three are predicted and advance snd_una — TCPHPAcks. On the server each read returns the skb's
        // 2304 and sk_mem_reclaim() leaves sk_forward_alloc at 0, so no segment passes the truesize test: no TCPHPHits.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        for (int i = 0; i < 4; i++)
        {
            h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 1000 });
            h.Send(c.Id, 100);
            h.At(Ms(200 + 100 * i));
        }

        Assert.Equal((0L, 1L, 3L), Counters(h.Client));
        Assert.Equal((0L, 1L, 0L), Counters(h.Server));
        Assert.All(h.Sent("server").Where(x => x.At > Ms(100)), x => Assert.Equal(64, x.Win));
    }

    /// <summary>
    /// Predicted data whose ACK field is snd_una skips tcp_ack() ("else tcp_update_wl()" in tcp_rcv_established()), so
    /// rcv_tstamp — tcpi_last_ack_recv — stays at the last segment tcp_ack() ran for. The server sends nothing: the two
    /// segments at 110 ms take the slow path (their truesize past sk_forward_alloc) and run tcp_ack(); the one at 310 ms
    /// is a header-prediction hit and does not. At 500 ms the age is from 110 ms (jiffy 27 → 125: 392 ms), not from
    /// 310 ms (192, the age tcpi_last_data_recv reads; the engine read it for both). Observed on Linux 6.18.44: a
    /// receiver streamed into its small window read 1440 ms at 1.5 s (its first data, slow, at 60 ms) where the engine
    /// read 1420 (the predicted data at 80 ms).
    /// </summary>
    [Fact]
    public void Established_PredictedDataAckingNothing_LastAckRecvKeepsTheLastSlowPathStamp()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 2 * 1448);
        h.At(Ms(300));
        h.Send(c.Id, 1448);
        h.At(Ms(500));

        Assert.Equal((1L, 1L, 0L), Counters(h.Server));
        Assert.Equal((392L, 192L), (s.Info.LastAckRecvMs, s.Info.LastDataRecvMs));
    }

    /// <summary>
    /// The same predicted segment at 310 ms moves snd_wl1 to its seq under 6.18 ("else tcp_update_wl()"), 1448 past the
    /// slow-path segment's, and leaves it under linux-4.4: v4.4 has no else branch (review40a N-8; Neal Cardwell's 2020
    /// "tcp: fix to update snd_wl1 in bulk receiver fast path" added it).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 1448u)]
    [InlineData(KernelProfile.Linux44, 0u)]
    public void Established_PredictedDataAckingNothing_Wl1MovesUnderLinux6Only(KernelProfile profile, uint moved)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 2 * 1448);
        h.At(Ms(300));
        uint before = s.SndWl1;
        h.Send(c.Id, 1448);
        h.At(Ms(500));

        Assert.Equal(1L, Counters(h.Server).HpHits);
        Assert.Equal(moved, s.SndWl1 - before);
    }

    static Mib RunScript(string text)
    {
        var result = PacketdrillRunner.Run(text, new PacketdrillOptions { ScriptName = "t.pkt" });
        Assert.True(result.Passed, result.Output);
        return result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib;
    }

    [Fact]
    public void Established_AcksWithoutWindowScaling_PredictedFromTheSynAckOn()
    {
        // packetdrill/header-prediction-acks-without-wscale.pkt: ACK 1461 (window 65535, predicted since
        // tcp_finish_connect()) — TCPHPAcks; ACK 2921 with window 60000 — slow path, TCPPureAcks; ACK 3001 — TCPHPAcks.
        var mib = RunScript(ProjectScripts.Read("header-prediction-acks-without-wscale.pkt"));

        Assert.Equal((0L, 1L, 2L), (mib[MibCounter.TcpExtTCPHPHits], mib[MibCounter.TcpExtTCPPureAcks], mib[MibCounter.TcpExtTCPHPAcks]));
    }

    [Fact]
    public void Established_AcksWithWindowScaling_PredictionOffUntilAWindowUpdate()
    {
        // The same ACKs after a SYN-ACK with wscale 7: tcp_finish_connect() leaves pred_flags 0, so ACK 1461 takes the
        // slow path (TCPPureAcks) and its window (65535 << 7, not the SYN-ACK's 65535) re-arms prediction; ACK 2921's
        // new window is slow again; only ACK 3001 is predicted.
        var text = ProjectScripts.Read("header-prediction-acks-without-wscale.pkt")
            .Replace("<mss 1460,nop,nop,sackOK>", "<mss 1460,nop,wscale 7,nop,nop,sackOK>", StringComparison.Ordinal);
        var mib = RunScript(text);

        Assert.Equal((0L, 2L, 1L), (mib[MibCounter.TcpExtTCPHPHits], mib[MibCounter.TcpExtTCPPureAcks], mib[MibCounter.TcpExtTCPHPAcks]));
    }

    [Fact]
    public void Established_RtoTrimsTheResentSkbHead_NextByteMissesTheFastPath_ItsTooOldAckDropsIt()
    {
        // packetdrill/retransmit-trims-partly-acked-skb-head-then-too-old-ack-drops-data.pkt (Linux 6.18.44): the RTO's
        // __tcp_retransmit_skb() trims the skb 1449:2897 to snd_una 1461 (tcp_trim_head(): 12 bytes back, 472 -> 484 in
        // sk_forward_alloc), not cut into an skb of its own (832 charged, a page scheduled: 3736). 484 is below the
        // next byte's truesize, so it takes the slow path: tcp_ack() refuses its too-old ACK with a challenge ACK and
        // the byte is dropped — no TCPHPHits.
        var mib = RunScript(ProjectScripts.Read("retransmit-trims-partly-acked-skb-head-then-too-old-ack-drops-data.pkt"));

        Assert.Equal((0L, 1L), (mib[MibCounter.TcpExtTCPHPHits], mib[MibCounter.TcpExtTCPChallengeACK]));
    }

    [Fact]
    public void Established_DataWithEolPaddedOptions_HeaderLengthMissesThePrediction()
    {
        // packetdrill/header-prediction-misses-eol-padded-option-list.pkt (Linux 6.18.44, kernel --counters): three data
        // segments carry <eol,nop,nop,nop> or <nop,nop,nop,nop> — nothing parsed, but th->doff is 6 where tcp_header_len
        // is 20 — so each misses pred_flags; the fourth, without options, is the one TCPHPHits. InOctets: four 140-byte
        // data segments, three with 4 option bytes, the SYN (52) and the handshake's ACK (40): 664.
        var mib = RunScript(ProjectScripts.Read("header-prediction-misses-eol-padded-option-list.pkt"));

        Assert.Equal((1L, 664L), (mib[MibCounter.TcpExtTCPHPHits], mib[MibCounter.IpExtInOctets]));
    }

    [Fact]
    public void Established_PredictedDataEndingBeyondTheWindow_ValidatedNotAHit()
    {
        // packetdrill/established-predicted-data-beyond-window-misses-the-fast-path.pkt (Linux 6.18.44, kernel
        // --counters): 600 bytes matching pred_flags end past the 460-byte window with 1000 bytes unread. 6.17's fast
        // path "goto validate"s them before the sk_forward_alloc test: tcp_sequence() drops them (BeyondWindow), never a
        // TCPHPHits; the first 1000 bytes took the slow path (sk_forward_alloc 0).
        var mib = RunScript(ProjectScripts.Read("established-predicted-data-beyond-window-misses-the-fast-path.pkt"));

        Assert.Equal((0L, 1L), (mib[MibCounter.TcpExtTCPHPHits], mib[MibCounter.TcpExtBeyondWindow]));
    }
}
