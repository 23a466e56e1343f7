using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_data_queue() — net/ipv4/tcp_input.c — runs tcp_event_data_recv() before tcp_fin(): the ACK tcp_fin() sends in
/// FIN_WAIT1 clears the one the text scheduled (tcp_event_ack_sent()). Observed on Linux 6.18.44
/// (simultaneous-close-fin-with-old-text-acked-once.pkt passes on both; --fuzz-teardown seed 10696).
/// </summary>
public class FinAfterEventDataRecvTests
{
    [Fact]
    public void FinWait1_FinBehindOldText_OneAckWithTheDsackThenNothingUntilTimeWaitAcksTheNextFin()
    {
        var (sim, _, _, _) = SackReorderingTests.Run("simultaneous-close-fin-with-old-text-acked-once.pkt");
        var acks = sim.Journal.OfType<SegmentSent>()
            .Where(s => s.Host == PacketdrillRunner.LocalHost && s.At >= Ms(30))
            .Select(s => (s.At, Sacks: s.Options.Sack.Count)).ToArray();
        // 30 ms: tcp_fin()'s ACK, D-SACKing 1:101, and no second one; 90 ms: the timewait socket's ACK of the FIN copy.
        Assert.Equal([(Ms(30), 1), (Ms(90), 0)], acks);
    }
}
