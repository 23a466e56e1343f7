using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Packetdrill;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// What the sender learns from SACK blocks beyond the scoreboard (net/ipv4/tcp_input.c): reordering
/// (tcp_sacktag_one()'s state->reord, tcp_clean_rtx_queue()'s filled holes and tcp_try_undo_partial()'s timestamp
/// proof, all through tcp_check_sack_reordering()) and what tp->reord_seen changes for RACK (tcp_rack_reo_wnd()),
/// and the SACK RTT sample (first_sackt → sack_rtt_us → tcp_ack_update_rtt()). The timelines are project
/// packetdrill scripts with the arithmetic in their headers; these tests read exact times, counters and tcp_info.
/// </summary>
public class SackReorderingTests
{
    internal static (Simulation Sim, Mib Mib, TcpSocket Socket, uint Iss) Run(string name)
    {
        var result = PacketdrillRunner.Run(ProjectScripts.Read(name), new PacketdrillOptions { ScriptName = name });
        Assert.True(result.Passed, result.Output);
        var sim = result.Simulation!;
        var syn = sim.Journal.OfType<SegmentSent>().First(s => s.Host == PacketdrillRunner.LocalHost && s.Flags.Has(TcpFlags.Syn));
        int id = sim.Journal.OfType<StateChanged>().First(e => e.Host == PacketdrillRunner.LocalHost).SocketId;
        return (sim, sim.FindHost(PacketdrillRunner.LocalHost)!.Mib, sim.FindSocket(id)!, syn.SeqNo);
    }

    /// <summary>When the segment starting at relative sequence <paramref name="rel"/> was sent, in order.</summary>
    internal static SimTime[] SentAt(Simulation sim, uint iss, uint rel) =>
        [.. sim.Journal.OfType<SegmentSent>().Where(s => s.Host == PacketdrillRunner.LocalHost && s.Len > 0 && s.SeqNo == iss + rel).Select(s => s.At)];

    [Fact]
    public void Disorder_HoleFilledByNeverRetransmittedSegments_ReorderingRaisedAndRackWindowKeptOpen()
    {
        var (sim, mib, sk, iss) = Run("sack-reordering-keeps-rack-window-open.pkt");
        // Segments 1..3 (never retransmitted) cumulatively acknowledged below the SACKed 3001:4001: fack − low_seq =
        // 4000 bytes > 3 · 1000 → reordering ⌈4000 / 1000⌉ = 4, reord_seen 1, one TCPSACKReorder.
        Assert.Equal((4, 1), (sk.Info.Reordering, sk.Info.ReordSeen));
        Assert.Equal((1L, 0L), (mib[MibCounter.TcpExtTCPSACKReorder], mib[MibCounter.TcpExtTCPTSReorder]));
        // Four of five SACKed at 32 ms (jiffy 8): with reord_seen, reo_wnd = min(10 ms / 4, srtt) = 2.5 ms, not 0. The
        // reordering timer: usecs_to_jiffies(2.5 + 2 ms) = 2 jiffies → expires jiffy 10, run at 11 = 44 ms.
        Assert.Contains(sim.Journal.OfType<TimerArmed>(), t => t.At == Ms(32) && t.Timer == TcpTimerKind.ReorderTimeout && t.Expires == Ms(44));
        Assert.Equal([Ms(22), Ms(44)], SentAt(sim, iss, 4001));
        Assert.Equal((1L, 1L), (mib[MibCounter.TcpExtTCPSackRecovery], mib[MibCounter.TcpExtTCPFastRetrans]));
    }

    [Fact]
    public void Recovery_PartialAckProvedByTimestamp_ReorderingFromPriorSndUnaCountedAsTsReorder()
    {
        var (_, mib, sk, _) = Run("partial-undo-timestamps.pkt");
        // tcp_try_undo_partial() → tcp_check_sack_reordering(prior_snd_una, ts = 1) on each of the two partial ACKs: at
        // 25 ms fack 5001 − 1 = 5000 > 3 · 1000 → reordering 5; at 26 ms nothing is SACKed any more (fack = snd_una
        // 5001), 5001 − 1001 = 4000 ≤ 5 · 1000: reordering stays 5, reord_seen 2.
        Assert.Equal((2L, 0L), (mib[MibCounter.TcpExtTCPTSReorder], mib[MibCounter.TcpExtTCPSACKReorder]));
        Assert.Equal((5, 2), (sk.Info.Reordering, sk.Info.ReordSeen));
    }

    [Fact]
    public void Open_SackOfASegmentSent190MsAgo_SackRttMovesSrttRttvarAndRto()
    {
        var (sim, _, sk, iss) = Run("sack-rtt-sample-updates-rto.pkt");
        // Handshake sample 100 ms; SACK sample 190 ms: srtt 100 + 90/8 = 111.25 ms, mdev 200 + (90 − 50) = 240 ms =
        // rttvar (above mdev_max 200 ms), RTO ⌈(111,250 + 240,000) µs / 4 ms⌉ = 88 jiffies. Neither the reordering
        // timer nor the last ACK (a retransmission and a SACKed segment: Karn, no sample) changes them; min_rtt
        // keeps the 100 ms of the handshake.
        var info = sk.Info;
        Assert.Equal((111_250L, 60_000L, 352_000L, 100_000L), (info.RttUs, info.RttVarUs, info.RtoUs, info.MinRttUs));
        // RACK: 190 + 25 − 190 = 25 ms left: usecs_to_jiffies(27 ms) = 7 jiffies from jiffy 72 → 79, run at 80 = 320 ms.
        Assert.Equal([Ms(100), Ms(320)], SentAt(sim, iss, 1));
        // The RTO re-armed there from the retransmission: 88 jiffies → expires jiffy 168.
        Assert.Contains(sim.Journal.OfType<TimerArmed>(), t => t.At == Ms(320) && t.Timer == TcpTimerKind.Retransmit);
    }

    [Fact]
    public void Open_DsackOfASpuriousRetransmissionAfterReordering_RackWindowWidenedToTwoSteps()
    {
        var (sim, mib, _, iss) = Run("rack-reo-wnd-grows-after-dsack.pkt");
        // Phase 2: reo_wnd 10 ms (one step of min_rtt 40 ms / 4): 12 ms → 3 jiffies from jiffy 30, run at 34 = 136 ms.
        Assert.Contains(sim.Journal.OfType<TimerArmed>(), t => t.At == Ms(122) && t.Timer == TcpTimerKind.ReorderTimeout && t.Expires == Ms(136));
        Assert.Equal([Ms(82), Ms(136)], SentAt(sim, iss, 4001));
        Assert.Equal((1L, 1L), (mib[MibCounter.TcpExtTCPDSACKRecv], mib[MibCounter.TcpExtTCPDSACKUndo]));
        // Phase 3: the D-SACK (reord_seen 1) widened the window to two steps on the next ACK that delivered something:
        // 20 + 2 ms → 6 jiffies from jiffy 45, run at 52 = 208 ms.
        Assert.Contains(sim.Journal.OfType<TimerArmed>(), t => t.At == Ms(180) && t.Timer == TcpTimerKind.ReorderTimeout && t.Expires == Ms(208));
        Assert.Equal([Ms(140), Ms(208)], SentAt(sim, iss, 9001));
        Assert.Equal(2L, mib[MibCounter.TcpExtTCPSackRecovery]);
    }
}
