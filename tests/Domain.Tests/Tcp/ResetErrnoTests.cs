using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.9: what calls return after an RST, per state (tcp_reset, tcp_recvmsg, sk_stream_error).</summary>
public class ResetErrnoTests
{
    static void PeerAborts(TwoHostHarness h, TcpSocket peer, string host)
    {
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Setsockopt) { SocketId = peer.Id, Option = SocketOption.SO_LINGER, LingerOnOff = 1, Value = 0 });
        h.Call(host, SocketCallKind.Close, peer.Id);
    }

    /// <summary>
    /// tcp_write_queue_purge() clears packets_out and icsk_backoff, not the scoreboard: after an RTO marked the segment
    /// lost and retransmitted it, an RST leaves tcpi_lost 1 and tcpi_retrans 1 with tcpi_unacked and tcpi_backoff 0, as
    /// Linux 6.18.44 reads them (packetdrill/established-rst-after-rto-tcp-info-keeps-lost-and-retrans.pkt).
    /// </summary>
    [Fact]
    public void Established_RstAfterAnRto_TcpInfoKeepsLostAndRetransButNotUnackedOrBackoff()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 1000);
        h.At(Ms(700));
        Assert.Equal((1, 1, 1, 1), (c.Info.Unacked, c.Info.Lost, c.Info.Retrans, c.Info.Backoff));
        h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Rst | TcpFlags.Ack, s.SndNxt, c.SndUna, 0, 0, TcpOptions.None));
        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal((0, 1, 1, 0), (c.Info.Unacked, c.Info.Lost, c.Info.Retrans, c.Info.Backoff));
    }

    /// <summary>
    /// tcp_done() clears neither rx_opt nor tp->bytes_received (only tcp_disconnect() does): tcp_info of a socket an RST
    /// closed still reads the window scales (tcpi_options WSCALE) and the 100 bytes received, as Linux 6.18.44 does for a
    /// socket TIME-WAIT took from under its descriptor
    /// (packetdrill/time-wait-descriptor-tcp-info-keeps-bytes-received-and-window-scales.pkt).
    /// </summary>
    [Fact]
    public void Established_RstAfterData_TcpInfoKeepsBytesReceivedAndWindowScales()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 100);
        h.At(Ms(150));
        var open = c.Info;
        Assert.Equal((100L, true), (open.BytesReceived, open.WindowScale));
        h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Rst | TcpFlags.Ack, s.SndNxt, c.SndUna, 0, 0, TcpOptions.None));
        Assert.Equal(TcpState.Close, c.State);
        var closed = c.Info;
        Assert.Equal((100L, true, open.SndWscale, open.RcvWscale), (closed.BytesReceived, closed.WindowScale, closed.SndWscale, closed.RcvWscale));
        Assert.NotEqual(0, closed.RcvWscale);
    }

    [Fact]
    public void Established_RstWithDataQueued_DataFirstThenEconnresetThenZero()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 7);
        h.At(Ms(150));
        PeerAborts(h, s, "server");
        h.At(Ms(200));
        Assert.Equal(7, h.Call("client", SocketCallKind.Recv, c.Id).Result);
        Assert.Equal("ECONNRESET", h.Call("client", SocketCallKind.Recv, c.Id).Errno);
        Assert.Equal(0, h.Call("client", SocketCallKind.Recv, c.Id).Result);
        Assert.Equal("EPIPE", h.Send(c.Id, 1).Errno);
    }

    [Fact]
    public void Established_RstThenSendFirst_SendGetsEconnresetThenEpipe()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        PeerAborts(h, s, "server");
        h.At(Ms(200));
        var send = new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 1 };
        Assert.Equal("ECONNRESET", h.Call(send).Errno);
        Assert.Equal("EPIPE", h.Call(send).Errno);
    }

    [Fact]
    public void CloseWait_Rst_RecvReturnsZeroAndSendEpipe()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(200));
        Assert.Equal(TcpState.CloseWait, s.State);
        PeerAborts(h, c, "client");
        h.At(Ms(300));
        Assert.Equal(TcpState.Close, s.State);
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Equal("EPIPE", h.Send(s.Id, 1).Errno);
    }

    /// <summary>
    /// tcp_write_queue_purge() frees the unacknowledged skbs but leaves snd_una, snd_nxt and write_seq: SIOCOUTQ
    /// (write_seq − snd_una) on the reset socket still reads the 100 bytes, SIOCOUTQNSD 0, and no memory stays charged —
    /// observed on Linux 6.18.44 (packetdrill/rst-with-unacked-data-siocoutq-still-counts-it.pkt).
    /// </summary>
    [Fact]
    public void Established_RstWithDataUnacked_SendSequenceKeptQueueFreed()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 100);
        uint iss = c.Iss;

        h.Deliver(h.Client, From(s, TcpFlags.Rst, c.RcvNxt, 0));

        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal(iss + 1, c.SndUna);
        Assert.Equal(iss + 101, c.SndNxt);
        Assert.Equal(iss + 101, c.WriteSeq);
        Assert.Equal(100, c.SendQueue);
        Assert.Equal(0, h.Client.TcpMemPages);
    }

    [Fact]
    public void Established_RstOutsideExactSeq_ChallengeAckAndConnectionSurvives()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, c.RcvNxt + 10, 0));
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(TcpFlags.Ack, h.Sent("client").Last().Flags);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
    }

    /// <summary>
    /// Two out-of-order segments injected into the client, the second below the first: selective_acks holds
    /// [1448, 2896) then [4344, 5792) (offsets from the server's ISN + 1) — the highest block is not the first.
    /// </summary>
    static (InjectedPeer P, uint ServerIsn) WithTwoSackBlocks()
    {
        var p = InjectedPeer.Connected();
        p.Data(1448, at: 3 * 1448);
        var a = p.Data(1448, at: 1448);
        Assert.Equal(new[] { (1448L, 2896L), (4344L, 5792L) }, p.Sacks(a));
        uint isn = p.H.Sent("server").First(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)).SeqNo;
        return (p, isn);
    }

    static void InjectRst(InjectedPeer p, uint seq) =>
        p.H.Deliver(p.H.Client, new Segment(p.C.Tuple.Reversed, TcpFlags.Rst, seq, 0, 0, 0, TcpOptions.None));

    [Fact]
    public void Established_RstAtRightEdgeOfHighestSackBlock_Resets()
    {
        var (p, isn) = WithTwoSackBlocks();
        int before = p.H.Sent("client").Count();
        // tcp_validate_incoming() step 2: seq == max_sack (5792, the highest end_seq among the blocks).
        InjectRst(p, isn + 1 + 5792);
        Assert.Equal(TcpState.Close, p.C.State);
        Assert.Equal(before, p.H.Sent("client").Count());
        Assert.Equal(0, p.H.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(1, p.H.Client.Mib[MibCounter.TcpEstabResets]);
    }

    [Fact]
    public void Established_RstAtRightEdgeOfTheMostRecentLowerSackBlock_ChallengeAck()
    {
        var (p, isn) = WithTwoSackBlocks();
        InjectRst(p, isn + 1 + 2896);
        Assert.Equal(TcpState.Established, p.C.State);
        Assert.Equal(TcpFlags.Ack, p.H.Sent("client").Last().Flags);
        Assert.Equal(1, p.H.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
    }
}
