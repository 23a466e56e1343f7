using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §4.1 and §14 scenarios 2, 27: the passive closer.</summary>
public class PassiveCloseTests
{
    [Fact]
    public void CloseWait_ApplicationNeverCloses_StaysForeverWithNoTimerAndRecvQOne()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(3600));
        Assert.Equal(TcpState.CloseWait, s.State);
        Assert.Null(s.SsTimer);
        Assert.Equal(1, s.RecvQueue);
        Assert.Equal(TcpState.Close, h.StateOf(c));
        // Finally closing: the FIN meets no socket → host R → CLOSE, never TIME-WAIT.
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(3601));
        Assert.Equal(TcpFlags.Rst, h.Sent("client").Last().Flags);
        Assert.Equal(TcpState.Close, h.StateOf(s));
        Assert.Equal(0, h.Server.TimeWaitCount);
    }

    [Fact]
    public void CloseWait_ReadsEofAndClosesAtOnce_FinCarriesTheAckThreeSegments()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        int before = h.Segments().Count();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(110));
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(500));
        var teardown = h.Segments().Skip(before).Select(x => $"{x.Host} {x.Flags.ToLetters()}").ToList();
        Assert.Equal(["client F.", "server F.", "client ."], teardown);
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        Assert.Equal(TcpState.Close, h.StateOf(s));
    }

    [Fact]
    public void LastAck_AckOfFin_ClosesWithoutTimeWait()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        Assert.Equal(TcpState.LastAck, s.State);
        h.At(Ms(300));
        Assert.Equal(TcpState.Close, h.StateOf(s));
        Assert.Equal(0, h.Server.TimeWaitCount);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtTW]);
    }

    [Fact]
    public void CloseWait_RecvReturnsEof_RecvQFromOneToZero()
    {
        // tcp_recvmsg_locked(): the read that returns 0 eats the FIN skb (found_fin_ok: copied_seq + 1).
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(120));
        Assert.Equal(TcpState.CloseWait, s.State);
        Assert.Equal(1, s.RecvQueue);
        Assert.Equal(1, SimService.Domain.Observability.SocketListing.RowsOf(h.Server, s.Id).Single().RecvQ);
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Equal(0, s.RecvQueue);
        Assert.Equal(0, SimService.Domain.Observability.SocketListing.RowsOf(h.Server, s.Id).Single().RecvQ);
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Equal(0, s.RecvQueue);
    }

    [Fact]
    public void CloseWait_DataThenFinReadToTheEnd_RecvQZeroAfterTheReadThatEmptiesTheQueue()
    {
        // The FIN reached a non-empty queue, so tcp_try_coalesce() put it on the tail skb: the read
        // that takes the last byte also passes the FIN.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 100);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        Assert.Equal(TcpState.CloseWait, s.State);
        Assert.Equal(101, s.RecvQueue);
        var read = new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 60 };
        Assert.Equal(60, h.Call(read).Result);
        Assert.Equal(41, s.RecvQueue);
        Assert.Equal(40, h.Call(read).Result);
        Assert.Equal(0, s.RecvQueue);
        Assert.Equal(0, h.Call(read).Result);
        Assert.Equal(0, s.RecvQueue);
    }
}
