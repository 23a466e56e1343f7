using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// SACK reneging on the sender (net/ipv4/tcp_input.c): tcp_clean_rtx_queue() flags an ACK that leaves a SACKed
/// segment at the queue's head (FLAG_SACK_RENEGING); tcp_check_sack_reneging() resets the RTO timer to max(RTT/2,
/// 10 ms); when it fires tcp_timeout_mark_lost() clears the scoreboard (TCPSACKReneging) and marks the queue lost.
/// Values observed on Linux 6.18.44 (packetdrill/sack-reneging-rto-after-half-rtt-clears-scoreboard.pkt passes on both).
/// </summary>
public class SackRenegingTests
{
    [Fact]
    public void Disorder_AckUpToASackedSegment_RtoResetToHalfRttThenScoreboardClearedAndAllResent()
    {
        var (sim, mib, sk, iss) = SackReorderingTests.Run("sack-reneging-rto-after-half-rtt-clears-scoreboard.pkt");

        // The ACK of 1:1001 at 200 ms leaves the SACKed 1001:2001 at the head: srtt 100 ms, srtt_us >> 4 = 50 ms =
        // 13 jiffies (above msecs_to_jiffies(10) = 3): the RTO timer is reset to expire at jiffy 50 + 13 and runs on the
        // next tick, 256 ms (the level-0 bucket after its expiry), not at the ~300 ms RTO.
        Assert.Contains(sim.Journal.OfType<TimerArmed>(), t => t.At == Ms(200) && t.Timer == TcpTimerKind.Retransmit && t.Expires == Ms(256));
        Assert.Equal([Ms(100), Ms(256)], SackReorderingTests.SentAt(sim, iss, 1001));
        // The timeout found the head SACKed: every SACK mark cleared, the whole queue lost; after 1001:2001's ACK at
        // 356 ms the formerly unSACKed rest goes in slow start.
        Assert.Equal([Ms(100), Ms(356)], SackReorderingTests.SentAt(sim, iss, 2001));
        Assert.Equal([Ms(100), Ms(356)], SackReorderingTests.SentAt(sim, iss, 3001));
        Assert.Equal((1L, 1L), (mib[MibCounter.TcpExtTCPSACKReneging], mib[MibCounter.TcpExtTCPTimeouts]));
        Assert.Equal(0, sk.Info.Sacked);
    }
}
