using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.7: shutdown(how) in each state.</summary>
public class ShutdownTests
{
    static CallHandle Shutdown(TwoHostHarness h, string host, int socket, ShutdownHow how) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Shutdown) { SocketId = socket, How = how });

    [Fact]
    public void Established_ShutRd_NoPacketNoStateChangeDataStillQueuedAndRecvReturnsZeroWhenEmpty()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        int before = h.Segments().Count();
        Shutdown(h, "client", c.Id, ShutdownHow.SHUT_RD);
        Assert.Equal(before, h.Segments().Count());
        Assert.Equal(TcpState.Established, c.State);
        h.Send(s.Id, 10);
        h.At(Ms(200));
        Assert.Equal(10, h.Call("client", SocketCallKind.Recv, c.Id).Result);
        var eof = h.Call("client", SocketCallKind.Recv, c.Id);
        Assert.False(eof.Blocked);
        Assert.Equal(0, eof.Result);
    }

    [Fact]
    public void Established_ShutWr_FinWithoutOrphanAndFinWait2WithoutTimerStillReceives()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Shutdown(h, "client", c.Id, ShutdownHow.SHUT_WR);
        Assert.Equal("F.", h.Sent("client").Last().Flags.ToLetters());
        h.At(Ms(200));
        Assert.Equal(TcpState.FinWait2, c.State);
        Assert.False(c.IsOrphan);
        Assert.Null(c.SsTimer);
        Assert.Equal(0, h.Client.TimeWaitCount);
        h.Send(s.Id, 1000);
        h.At(Ms(300));
        Assert.Equal(1000, h.Call("client", SocketCallKind.Recv, c.Id).Result);
        h.At(S(3600));
        Assert.Equal(TcpState.FinWait2, c.State);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(3601));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
    }

    [Fact]
    public void FinWait2_ShutRdwrThenPeerData_ResetWithAbortOnData()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Shutdown(h, "client", c.Id, ShutdownHow.SHUT_RDWR);
        h.At(Ms(200));
        h.Send(s.Id, 10);
        h.At(Ms(300));
        Assert.Equal(TcpFlags.Rst, h.Sent("client").Last().Flags);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
        Assert.Equal(TcpState.Close, c.State);
    }

    [Fact]
    public void CloseWait_ShutWr_LastAckWithFin()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        Shutdown(h, "server", s.Id, ShutdownHow.SHUT_WR);
        Assert.Equal(TcpState.LastAck, s.State);
        Assert.Equal("F.", h.Sent("server").Last().Flags.ToLetters());
        h.At(Ms(300));
        Assert.Equal(TcpState.Close, s.State);
    }

    [Fact]
    public void Close_Shutdown_Enotconn()
    {
        var h = new TwoHostHarness();
        var sock = h.Call("client", SocketCallKind.Socket);
        Assert.Equal("ENOTCONN", Shutdown(h, "client", sock.SocketId, ShutdownHow.SHUT_WR).Errno);
    }

    [Fact]
    public void SynSent_Shutdown_DisconnectsWithoutPacketAndConnectFails()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        int sent = h.Sent("client").Count();
        Shutdown(h, "client", c.SocketId, ShutdownHow.SHUT_WR);
        Assert.Equal(sent, h.Sent("client").Count());
        Assert.Equal("ECONNRESET", h.Returned(c.CallId)!.Errno);
        Assert.Equal(TcpState.Close, h.Sim.FindSocket(c.SocketId)!.State);
    }

    [Fact]
    public void Listen_ShutRdWithUnacceptedChild_ResetsItAndCanListenAgain()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));
        Shutdown(h, "server", l.SocketId, ShutdownHow.SHUT_RD);
        Assert.Equal("R.", h.Sent("server").Last().Flags.ToLetters());
        Assert.Equal(TcpState.Close, h.Sim.FindSocket(l.SocketId)!.State);
        Assert.Null(h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l.SocketId }).Errno);
        Assert.Equal(TcpState.Listen, h.Sim.FindSocket(l.SocketId)!.State);
    }

    [Fact]
    public void Listen_ShutWr_DoesNothing()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Shutdown(h, "server", l.SocketId, ShutdownHow.SHUT_WR);
        Assert.Equal(TcpState.Listen, h.Sim.FindSocket(l.SocketId)!.State);
    }

    [Fact]
    public void Close_ShutRdwrBeforeListen_ChildInheritsSkShutdownAndSendsItsFinAtEstablishment()
    {
        // inet_shutdown() on a CLOSE socket: ENOTCONN, but sk_shutdown |= how; inet_listen() → inet_csk_listen_start()
        // leaves it, sk_clone_lock() copies it into each child, and tcp_rcv_state_process() SYN_RECV → ESTABLISHED runs
        // the deferred tcp_shutdown(sk, SEND_SHUTDOWN) (6.10+): the child's FIN leaves with the handshake's ACK
        // processed, the child is FIN_WAIT1 and polls POLLHUP. Observed on Linux 6.18.44
        // (packetdrill/shutdown-before-listen-child-inherits-and-sends-fin.pkt).
        var h = new TwoHostHarness();
        var l = h.Call("server", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = l.SocketId, Port = 80 });
        var shut = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = l.SocketId, How = ShutdownHow.SHUT_RDWR });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l.SocketId });
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(35));

        var child = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;
        var fin = h.Sent("server").Last();
        var poll = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Poll)
            { SocketId = child.Id, Events = PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLRDHUP });

        Assert.Equal(Errno.ENOTCONN, shut.Errno);
        Assert.Equal(("F.", Ms(31)), (fin.Flags.ToLetters(), fin.At));
        Assert.Equal(TcpState.FinWait1, child.State);
        Assert.Equal("\"POLLIN|POLLOUT|POLLHUP|POLLRDHUP\"", poll.Value);
    }

    [Fact]
    public void Close_ShutWrBeforeListen_Linux44_ChildInheritsSendShutdownButStaysEstablishedUntilClose()
    {
        // 4.4 has the same inheritance (sk_clone_lock() copies sk_shutdown) but no deferred tcp_shutdown() at
        // establishment — that came with 6.10's "tcp: defer shutdown(SEND_SHUTDOWN) for TCP_SYN_RECV sockets": the child
        // is ESTABLISHED, polls POLLOUT (SEND_SHUTDOWN reads writable), send() is EPIPE, and its FIN leaves at close().
        var h = new TwoHostHarness(profile: SimService.Domain.Engine.KernelProfile.Linux44);
        var l = h.Call("server", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = l.SocketId, Port = 80 });
        var shut = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = l.SocketId, How = ShutdownHow.SHUT_WR });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l.SocketId });
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(40));

        var child = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;
        var sentBeforeClose = h.Sent("server").Select(p => p.Flags.ToLetters()).ToList();
        var poll = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Poll) { SocketId = child.Id, Events = PollEvents.POLLIN | PollEvents.POLLOUT });
        var send = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Send) { SocketId = child.Id, Bytes = 10 });
        var state = child.State;
        h.At(Ms(100));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = child.Id });
        h.At(Ms(101));

        Assert.Equal(Errno.ENOTCONN, shut.Errno);
        Assert.Equal(["S."], sentBeforeClose);
        Assert.Equal((TcpState.Established, "\"POLLOUT\"", Errno.EPIPE), (state, poll.Value, send.Errno));
        Assert.Equal(("F.", Ms(100)), (h.Sent("server").Last().Flags.ToLetters(), h.Sent("server").Last().At));
    }
}
