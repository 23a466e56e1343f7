using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// PSH on multi-MSS skbs: __tcp_transmit_skb() (net/ipv4/tcp_output.c) sets PSH on every non-SYN skb with
/// tcp_skb_pcount() &gt; 1 (Linux 5.4+), and tcp_gso_segment() (net/ipv4/tcp_offload.c) leaves it on the last segment
/// of the chunk only. Observed on Linux 6.18.44: write(5000) at MSS 1000 leaves in 2-segment TSO chunks
/// (tcp_tso_autosize() at the first pacing rate), each ending with PSH; the one-segment tail has tcp_mark_push()'s.
/// linux-4.4 has no such rule: only the pushed tail carries PSH.
/// </summary>
public class TsoPshTests
{
    const string Handshake = """
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,wscale 6,nop,nop,sackOK>
           +0 > . 1:1(0) ack 1
           +0 write(3, ..., 5000) = 5000

        """;

    static PacketdrillRunResult Run(string sent, KernelProfile profile) =>
        PacketdrillRunner.Run(Handshake + sent + "\n +.01 < . 1:1(0) ack 5001 win 1024\n", new PacketdrillOptions { Profile = profile });

    [Fact]
    public void Established_WriteOfFiveMss_EachTwoSegmentChunkEndsWithPsh()
    {
        var result = Run("""
               +0 > . 1:1001(1000) ack 1
               +0 > P. 1001:2001(1000) ack 1
               +0 > . 2001:3001(1000) ack 1
               +0 > P. 3001:4001(1000) ack 1
               +0 > P. 4001:5001(1000) ack 1
            """, KernelProfile.Linux6);

        Assert.True(result.Passed, result.Output);
    }

    [Fact]
    public void Established_WriteOfFiveMssOnLinux44_OnlyThePushedTailHasPsh()
    {
        var result = Run("""
               +0 > . 1:1001(1000) ack 1
               +0 > . 1001:2001(1000) ack 1
               +0 > . 2001:3001(1000) ack 1
               +0 > . 3001:4001(1000) ack 1
               +0 > P. 4001:5001(1000) ack 1
            """, KernelProfile.Linux44);

        Assert.True(result.Passed, result.Output);
    }

    /// <summary>Six segments in three 2-segment skbs at 0.010 s (MSS 1000, timestamps), as partial-undo-timestamps.pkt.</summary>
    const string SixSegmentsInFlight = """
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 65535 <mss 1012,sackOK,TS val 700 ecr 100,nop,wscale 7>
           +0 > . 1:1(0) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 write(3, ..., 6000) = 6000
           +0 > . 1:1001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > P. 1001:2001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > . 2001:3001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > P. 3001:4001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > . 4001:5001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > P. 5001:6001(1000) ack 1 <nop,nop,TS val 110 ecr 700>

        """;

    // Observed on Linux 6.18.44 (simservice kernel): three SACKed segments mark 1:2001 lost, PRR gives cwnd 4 with one
    // segment in flight, so tcp_xmit_retransmit_queue() resends the 2-segment skb whole (segs = min(3, max_segs 2)):
    // __tcp_transmit_skb() forces PSH on it and GSO leaves it on its last segment.
    [Fact]
    public void Recovery_LostTwoSegmentSkbWithRoomForBoth_ResentWholeEndingWithPsh()
    {
        var result = PacketdrillRunner.Run(SixSegmentsInFlight + """
             +.01 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 710 ecr 110,nop,nop,sack 2001:5001>
               +0 > . 1:1001(1000) ack 1 <nop,nop,TS val 120 ecr 710>
               +0 > P. 1001:2001(1000) ack 1 <nop,nop,TS val 120 ecr 710>
               +0 %{ assert tcpi_snd_cwnd == 4 }%
            """, new PacketdrillOptions());

        Assert.True(result.Passed, result.Output);
    }

    // Observed on Linux 6.18.44: two SACKed segments leave the loss to RACK's reordering timer (0.032 s in the engine,
    // 0.0297 s on the kernel); PRR then gives cwnd 2 with one in flight: segs 1, so __tcp_retransmit_skb() cuts the
    // skb at one MSS (tcp_fragment()) and sends it without PSH; the next ACK lets the rest (1001:2001) and the
    // SACK-edge piece 2001:3001 go as one-segment skbs, no PSH either.
    [Fact]
    public void Recovery_LostTwoSegmentSkbWithRoomForOne_ResentOneSegmentAtATimeWithoutPsh()
    {
        var result = PacketdrillRunner.Run(SixSegmentsInFlight + """
             +.01 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 710 ecr 110,nop,nop,sack 3001:5001>
             +.011 > . 1:1001(1000) ack 1 <nop,nop,TS val 113 ecr 710>
               +0 %{ assert tcpi_snd_cwnd == 2
            assert tcpi_ca_state == 3 }%
            +.001 < . 1:1(0) ack 1001 win 257 <nop,nop,TS val 720 ecr 113,nop,nop,sack 3001:5001>
               +0 > . 1001:2001(1000) ack 1 <nop,nop,TS val 120 ecr 720>
               +0 > . 2001:3001(1000) ack 1 <nop,nop,TS val 120 ecr 720>
            """, new PacketdrillOptions());

        Assert.True(result.Passed, result.Output);
    }
}
