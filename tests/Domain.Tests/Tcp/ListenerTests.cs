using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.8 and §14 scenarios 3, 24.</summary>
public class ListenerTests
{
    [Fact]
    public void Listen_CloseWithTwoUnacceptedChildren_RstToEachAndClientsGetEconnreset()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c1 = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var c2 = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(50));
        h.Send(c2.SocketId, 5);
        h.At(Ms(100));
        var listener = h.Sim.FindSocket(l.SocketId)!;
        Assert.Equal(2, listener.AcceptQueue.Count);
        h.Call("server", SocketCallKind.Close, l.SocketId);
        var rsts = h.Sent("server").Where(x => x.At == Ms(100)).ToList();
        Assert.Equal(2, rsts.Count);
        Assert.All(rsts, r => Assert.Equal("R.", r.Flags.ToLetters()));
        var c2Sock = h.Sim.FindSocket(c2.SocketId)!;
        Assert.Equal(c2Sock.SndNxt, rsts.Single(r => r.Tuple.Remote == c2Sock.Local).AckNo);
        h.At(Ms(200));
        Assert.Equal("ECONNRESET", h.Call("client", SocketCallKind.Recv, c1.SocketId).Errno);
        Assert.Equal(2, h.Server.Mib[MibCounter.TcpEstabResets]);
        Assert.Equal(2, h.Client.Mib[MibCounter.TcpEstabResets]);
        Assert.Equal(0, h.Server.OrphanCount);
        Assert.Equal(0, h.Server.InUse);
    }

    [Fact]
    public void Established_ServerClosesFirst_ServerOwnsTimeWaitOnTheListeningPort()
    {
        var h = new TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(300));
        var tw = h.TimeWaitOf(s)!;
        Assert.Equal(80, tw.Local.Port);
        Assert.Equal(TcpState.TimeWait, tw.Substate);
        Assert.Equal(TcpState.Listen, l.State);
        Assert.Equal(0, h.Client.TimeWaitCount);
    }

    static CallHandle Listen(TwoHostHarness h, int socket) =>
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = socket, Backlog = 16 });

    static int BoundSocket(TwoHostHarness h, ushort port, bool reuseAddr)
    {
        var s = h.Call("server", SocketCallKind.Socket).SocketId;
        if (reuseAddr) h.SetOption(s, SocketOption.SO_REUSEADDR, 1);
        Assert.Null(h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = s, Port = port }).Errno);
        return s;
    }

    /// <summary>A listener on server:80 (SO_REUSEADDR as told) with one accepted child, then shutdown(SHUT_RD): CLOSE, still bound.</summary>
    static (TwoHostHarness H, TcpSocket Listener, TcpSocket Child) ShutDownListenerWithChild(bool reuseAddr)
    {
        var h = new TwoHostHarness();
        int l = BoundSocket(h, 80, reuseAddr);
        Assert.Null(Listen(h, l).Errno);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call("server", SocketCallKind.Accept, l);
        h.At(Ms(100));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = l, How = ShutdownHow.SHUT_RD });
        var listener = h.Sim.FindSocket(l)!;
        Assert.Equal(TcpState.Close, listener.State);
        return (h, listener, h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!);
    }

    [Fact]
    public void ShutDownListener_ListenAgainWhileItsAcceptedChildHoldsThePort_EaddrinuseStaysCloseAndBound()
    {
        // inet_csk_listen_start(): TCP_LISTEN, then inet_csk_get_port() finds the child (ESTABLISHED, no SO_REUSEADDR).
        var (h, listener, child) = ShutDownListenerWithChild(reuseAddr: false);
        Assert.Equal(TcpState.Established, child.State);
        Assert.Equal("EADDRINUSE", Listen(h, listener.Id).Errno);
        Assert.Equal(TcpState.Close, listener.State);
        Assert.Equal(80, listener.Local.Port);
        Assert.True(listener.BoundPort);
        Assert.Null(h.Server.FindListener(listener.Local));
        Assert.Equal([TcpState.Listen, TcpState.Close], h.States(listener.Id).Select(e => e.To));
    }

    [Fact]
    public void ShutDownListenerWithReuseAddr_ListenAgainWhileItsChildHoldsThePort_Listens()
    {
        // The child inherited SO_REUSEADDR (sk_clone_lock) and is not listening: both reuse, no conflict.
        var (h, listener, child) = ShutDownListenerWithChild(reuseAddr: true);
        Assert.True(child.ReuseAddr);
        Assert.Null(Listen(h, listener.Id).Errno);
        Assert.Equal(TcpState.Listen, listener.State);
    }

    [Fact]
    public void TwoBoundWithReuseAddr_OneClearsItBeforeTheOtherListens_EaddrinuseAsSkReuseIsReadAtListen()
    {
        var h = new TwoHostHarness();
        int a = BoundSocket(h, 80, reuseAddr: true);
        int b = BoundSocket(h, 80, reuseAddr: true);
        h.SetOption(a, SocketOption.SO_REUSEADDR, 0);
        Assert.Equal("EADDRINUSE", Listen(h, a).Errno);
        Assert.Equal("EADDRINUSE", Listen(h, b).Errno);
        h.SetOption(a, SocketOption.SO_REUSEADDR, 1);
        Assert.Null(Listen(h, b).Errno);
        // The owner a is bound, not listening; b now is: a's listen meets a listener.
        Assert.Equal("EADDRINUSE", Listen(h, a).Errno);
        Assert.Equal(TcpState.Close, h.Sim.FindSocket(a)!.State);
    }

    [Fact]
    public void BoundWithReuseAddr_ListenWhileServerTimeWaitHoldsThePort_ListensOnlyIfTheClosedSocketHadReuseAddr()
    {
        foreach (var oldReuse in new[] { true, false })
        {
            var h = new TwoHostHarness();
            int l = BoundSocket(h, 80, oldReuse);
            Listen(h, l);
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
            var a = h.Call("server", SocketCallKind.Accept, l);
            h.At(Ms(100));
            var s = h.Returned(a.CallId)!.SocketId;
            var peer = h.Sim.FindSocket(s)!.PeerSocketId; // the server's socket is freed once it is a timewait entry
            h.Call("server", SocketCallKind.Close, l);
            h.Call("server", SocketCallKind.Close, s);
            h.At(Ms(150));
            h.Call("client", SocketCallKind.Close, peer);
            h.At(Ms(300));
            Assert.Equal(1, h.Server.TimeWaitCount);
            var n = h.Call("server", SocketCallKind.Socket).SocketId;
            h.SetOption(n, SocketOption.SO_REUSEADDR, 1);
            var bind = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = n, Port = 80 });
            Assert.Equal(oldReuse ? null : "EADDRINUSE", bind.Errno);
            if (oldReuse) Assert.Null(Listen(h, n).Errno);
        }
    }
}
