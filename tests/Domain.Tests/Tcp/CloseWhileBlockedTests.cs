using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// close() of a descriptor while another thread of the process sleeps in a call on the same socket: that call's
/// fdget() holds a file reference (__fget_light() with a shared file table), so close() only frees the
/// descriptor and tcp_close() runs at the sleeper's fdput(), when it returns.
/// </summary>
public class CloseWhileBlockedTests
{
    [Fact]
    public void Established_CloseWhileRecvBlocked_NoFinUntilTheRecvReturns()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        Assert.True(recv.Blocked);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(0, close.Result);
        h.At(Ms(300));
        Assert.Equal(TcpState.Established, c.State);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Fin));
        Assert.Null(h.Returned(recv.CallId));

        h.Send(s.Id, 5);
        h.At(Ms(400));
        var returned = h.Returned(recv.CallId);
        Assert.NotNull(returned);
        Assert.Equal(5, returned!.Result);
        Assert.Equal(Ms(310), returned.At);
        // The recv's fdput() ran tcp_close(): nothing unread, so a FIN at the same instant.
        var fin = h.Sent("client").Single(x => x.Flags.HasFlag(TcpFlags.Fin));
        Assert.Equal(Ms(310), fin.At);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    [Fact]
    public void Established_CallOnTheClosedDescriptorWhileRecvBlocked_Ebadf()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call("client", SocketCallKind.Recv, c.Id);
        h.Call("client", SocketCallKind.Close, c.Id);
        var send = h.Send(c.Id, 10);
        Assert.Equal(-1, send.Result);
        Assert.Equal(Errno.EBADF, send.Errno);
    }

    [Fact]
    public void Listen_CloseWhileAcceptBlocked_KeepsListeningAndAcceptReturnsTheNextConnection()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var accept = h.Call("server", SocketCallKind.Accept, l.SocketId);
        Assert.True(accept.Blocked);
        h.At(Ms(100));
        Assert.Equal(0, h.Call("server", SocketCallKind.Close, l.SocketId).Result);
        var listener = h.Sim.FindSocket(l.SocketId)!;
        Assert.Equal(TcpState.Listen, listener.State);

        h.At(Ms(200));
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(400));
        var accepted = h.Returned(accept.CallId);
        Assert.NotNull(accepted);
        Assert.True(accepted!.Result >= 0);
        Assert.Equal(Ms(230), accepted.At); // the client's ACK arrives 1.5 RTT after its SYN was sent
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(connect.SocketId)!.State);
        Assert.DoesNotContain(h.Sent("server"), x => x.Flags.HasFlag(TcpFlags.Rst));
        // accept() returned, its fdput() closed the listener: inet_csk_listen_stop().
        Assert.Equal(TcpState.Close, listener.State);
    }

    [Fact]
    public void Established_KillWhileRecvBlockedAfterClose_TcpCloseRunsAtTheKill()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call("client", SocketCallKind.Recv, c.Id);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(150));
        Assert.Null(h.Sim.Kill("client", "app", "SIGKILL"));
        var fin = h.Sent("client").Single(x => x.Flags.HasFlag(TcpFlags.Fin));
        Assert.Equal(Ms(150), fin.At);
        Assert.Equal(TcpState.FinWait1, c.State);
    }

    [Fact]
    public void SynSent_CloseWhileConnectBlocked_ConnectCompletesThenTheFinGoesOut()
    {
        // The SYN-ACK is lost until 500 ms; close() at 100 ms only frees the descriptor. The server's SYN-ACK
        // retransmission (1.024 s) arrives at 1.034 s: connect() returns 0 and its fdput() runs tcp_close(), a FIN
        // right behind the handshake's ACK.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        Assert.True(c.Blocked);
        h.At(Ms(100));
        Assert.Equal(0, h.Call("client", SocketCallKind.Close, c.SocketId).Result);
        h.At(Ms(500));
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 0.0, null);
        h.At(S(3));
        var connected = h.Returned(c.CallId);
        Assert.NotNull(connected);
        Assert.Equal(0, connected!.Result);
        var sent = h.Sent("client").ToList();
        var fin = sent.Single(x => x.Flags.HasFlag(TcpFlags.Fin));
        Assert.Equal(connected.At, fin.At);
        Assert.Equal(Ms(1034), fin.At);
        var ack = sent[sent.IndexOf(fin) - 1];
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal("tcp_rcv_synsent_state_process", ack.Reason);
        Assert.Contains(h.States(c.SocketId), e => e.To == TcpState.FinWait1 && e.At == Ms(1034));
        Assert.DoesNotContain(sent, x => x.Flags.HasFlag(TcpFlags.Rst));
    }
}
