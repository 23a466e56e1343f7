using SimService.Domain.Commands;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// TSO deferral: tcp_write_xmit() → tcp_tso_should_defer() (net/ipv4/tcp_output.c, Linux 6.18) holds a send head of
/// more than one segment when the congestion or send window has room for only part of it, the socket sent something
/// under 1 ms ago and the head's ACK is due within min(srtt / 2, 1 ms). The scripts are those of
/// packetdrill/prr-proportional-reduction.pkt: 30 000 bytes written at 0.020 s with cwnd 20 (MSS 1000), the first
/// segment lost, SACKs at 0.030 s leaving the sender in Disorder with cwnd 20 and room for one segment each.
/// Both were observed on Linux 6.18.44 (simservice kernel).
/// </summary>
public class TsoDeferTests
{
    const string TwentyInFlightFirstLost = """
        `./defaults.sh`

            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>
           +0 > . 1:1(0) ack 1

           +0 write(3, ..., 10000) = 10000
           +0 > . 1:1001(1000) ack 1
           +0 > P. 1001:2001(1000) ack 1
           +0 > . 2001:3001(1000) ack 1
           +0 > P. 3001:4001(1000) ack 1
           +0 > . 4001:5001(1000) ack 1
           +0 > P. 5001:6001(1000) ack 1
           +0 > . 6001:7001(1000) ack 1
           +0 > P. 7001:8001(1000) ack 1
           +0 > . 8001:9001(1000) ack 1
           +0 > P. 9001:10001(1000) ack 1
         +.01 < . 1:1(0) ack 10001 win 257
           +0 write(3, ..., 30000) = 30000
           +0 > . 10001:11001(1000) ack 1
           +0 > . 11001:12001(1000) ack 1
           +0 > P. 12001:13001(1000) ack 1
           +0 > . 13001:14001(1000) ack 1
           +0 > . 14001:15001(1000) ack 1
           +0 > P. 15001:16001(1000) ack 1
           +0 > . 16001:17001(1000) ack 1
           +0 > . 17001:18001(1000) ack 1
           +0 > P. 18001:19001(1000) ack 1
           +0 > . 19001:20001(1000) ack 1
           +0 > . 20001:21001(1000) ack 1
           +0 > P. 21001:22001(1000) ack 1
           +0 > . 22001:23001(1000) ack 1
           +0 > . 23001:24001(1000) ack 1
           +0 > P. 24001:25001(1000) ack 1
           +0 > . 25001:26001(1000) ack 1
           +0 > . 26001:27001(1000) ack 1
           +0 > P. 27001:28001(1000) ack 1
           +0 > . 28001:29001(1000) ack 1
           +0 > P. 29001:30001(1000) ack 1
           +0 %{ assert tcpi_snd_cwnd == 20 }%

         +.01 < . 1:1(0) ack 10001 win 257 <nop,nop,sack 11001:12001>
           +0 > . 30001:31001(1000) ack 1

        """;

    static PacketdrillRunResult Run(string rest) => PacketdrillRunner.Run(TwentyInFlightFirstLost + rest, new PacketdrillOptions());

    [Fact]
    public void Disorder_SecondSackAtTheSameInstant_NineSegmentRestWaitsForTheRetransmission()
    {
        var result = Run("""
               +0 < . 1:1(0) ack 10001 win 257 <nop,nop,sack 11001:13001>
               +0 %{ assert tcpi_snd_cwnd == 20
            assert tcpi_ca_state == 1 }%
             +.01 > . 10001:11001(1000) ack 1
            """);

        Assert.True(result.Passed, result.Output);
    }

    [Fact]
    public void Disorder_SecondSack1500UsAfterTheLastSend_OneSegmentGoesAtOnce()
    {
        var result = Run("""
            +.0015 < . 1:1(0) ack 10001 win 257 <nop,nop,sack 11001:13001>
               +0 > . 31001:32001(1000) ack 1
            """);

        Assert.True(result.Passed, result.Output);
    }

    /// <summary>
    /// tcp_tso_should_defer() (D61): the head's age is taken as at least the RTT sample of the segment an ACK measured when
    /// both were stamped by the same clock read (one tcp_write_xmit()). Two hosts with no delay, a listener on "server"
    /// with TCP_MAXSEG 536 (MSS 524); at 50 ms the client sends 23721 bytes to the accepted socket, which does not read.
    /// What goes at 50 ms, in order (data segment lengths, "~ack" for the server's ACKs, relative to the client's ISS):
    /// 10 segments, their 10 ACKs, 20 segments, 6 ACKs, then 8 segments — without the rule the head looked younger than
    /// the sample, its ACK not due yet, and the last group was 12.
    /// </summary>
    [Fact]
    public void Established_ZeroDelayBurstToAnIdleReader_HeadStampedByTheMeasuredReadIsThatSampleOld()
    {
        var h = new TwoHostHarness(delayMs: 0);
        var l = h.ListenWithOption(SocketOption.TCP_MAXSEG, 536, backlog: 8);
        h.At(Ms(1));
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(50));
        h.Send(c.SocketId, 23721);
        h.At(Ms(60));

        var burst = h.Segments().Where(s => s.At == Ms(50)).ToList();
        uint iss = burst[0].SeqNo - 1;
        string d10 = string.Join(" ", Enumerable.Repeat("524", 10));
        Assert.Equal($"{d10} ~525 ~1049 ~1573 ~2097 ~2621 ~3145 ~3669 ~4193 ~4717 ~5241 {d10} {d10} "
            + "~5765 ~6289 ~6813 ~7337 ~7861 ~8385 524 524 524 524 524 524 524 524",
            string.Join(" ", burst.Select(s => s.Host == "client" ? $"{s.Len}" : $"~{s.AckNo - iss}")));
    }
}
