using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_v4_connect() asks ip_route_connect() for a route first: with none, connect() fails with
/// ENETUNREACH at once, before a port is picked or a SYN is sent.
/// </summary>
public class NoRouteTests
{
    static (TwoHostHarness H, Host Lonely) WithUnlinkedHost()
    {
        var h = new TwoHostHarness();
        var lonely = h.Sim.AddHost("lonely", IPv4.Parse("10.0.0.9")).Value!;
        h.Call(new SocketCallRequest("lonely", "app", SocketCallKind.Listen) { Port = 80 });
        return (h, lonely);
    }

    [Fact]
    public void Close_ConnectToUnlinkedHost_EnetunreachAtOnceAndNoSyn()
    {
        var (h, _) = WithUnlinkedHost();

        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "lonely", ToPort = 80 });
        h.At(S(200));

        Assert.False(c.Blocked);
        Assert.Equal(Errno.ENETUNREACH, c.Errno);
        Assert.Equal(SimService.Domain.Time.SimTime.Zero, h.Returned(c.CallId)!.At);
        Assert.Empty(h.Sent("client"));
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpActiveOpens]);
        Assert.Equal(TcpState.Close, h.Sim.FindSocket(c.SocketId)!.State);
    }

    [Fact]
    public void Close_ConnectToAddressOfNoHost_Enetunreach()
    {
        var h = new TwoHostHarness();

        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "192.0.2.7", ToPort = 80 });

        Assert.Equal(Errno.ENETUNREACH, c.Errno);
        Assert.Empty(h.Sent("client"));
    }

    [Fact]
    public void Close_ConnectToLinkedHostByAddress_Connects()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "10.0.0.2", ToPort = 80 });
        h.At(Ms(100));

        Assert.Null(h.Returned(c.CallId)!.Errno);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(c.SocketId)!.State);
    }

    [Fact]
    public void Close_LinkLosingEverything_StillARouteSoTheSynIsSent()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);

        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });

        Assert.True(c.Blocked);
        Assert.Single(h.Sent("client"));
    }

    [Fact]
    public void Close_BoundSocketNoRoute_EnetunreachAndStaysBound()
    {
        var (h, _) = WithUnlinkedHost();
        var s = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Socket));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Port = 5000 });

        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "lonely", ToPort = 80 });

        Assert.Equal(Errno.ENETUNREACH, c.Errno);
        Assert.Equal(5000, h.Sim.FindSocket(s.SocketId)!.Local.Port);
    }

    [Fact]
    public void Close_BoundToLoopbackConnectToAnotherHost_EinvalAtOnceNoSynPortKept()
    {
        // __mkroute_output(): a loopback source only through lo — EINVAL, before tcp_set_state(SYN_SENT), so the port
        // bind(0) took stays; to the host's own address the same socket connects (observed on Linux 6.18.44:
        // scenarios/observed-2host-bound-to-loopback-connect-out-einval.json).
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { Port = 81 });
        int s = h.Call("client", SocketCallKind.Socket).SocketId;
        var bind = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s, Address = "127.0.0.1" });
        ushort port = h.Sim.FindSocket(s)!.Local.Port;

        var out1 = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s, ToHost = "server", ToPort = 80 });
        var sentOut = h.Sent("client").Count();
        var self = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s, ToHost = "10.0.0.1", ToPort = 81 });
        h.At(Ms(10));

        Assert.Equal((0L, Errno.EINVAL, false, 0), (bind.Result, out1.Errno, out1.Blocked, sentOut));
        Assert.Null(h.Returned(self.CallId)!.Errno);
        Assert.Equal((TcpState.Established, port), (h.Sim.FindSocket(s)!.State, h.Sim.FindSocket(s)!.Local.Port));
    }
}
