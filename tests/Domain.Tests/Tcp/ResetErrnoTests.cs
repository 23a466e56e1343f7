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
}
