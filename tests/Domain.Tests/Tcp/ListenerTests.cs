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
}
