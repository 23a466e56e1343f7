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
}
