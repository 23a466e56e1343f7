using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>The engine's call table: which call made which socket, and how each call returned, at every journal level.</summary>
public class CallTableTests
{
    [Theory]
    [InlineData(JournalLevel.Full)]
    [InlineData(JournalLevel.States)]
    [InlineData(JournalLevel.Counters)]
    public void Handshake_ConvenienceConnectAndAccept_TableNamesTheSocketsEachCallMade(JournalLevel level)
    {
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = level;
        var listen = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var accept = h.Call("server", SocketCallKind.Accept, listen.SocketId);

        var pendingConnect = h.Sim.FindCall(connect.CallId)!;
        Assert.False(pendingConnect.Returned);
        Assert.Equal(connect.SocketId, pendingConnect.SocketId);
        Assert.Equal(0, pendingConnect.IssuedOnSocket);
        Assert.Null(pendingConnect.Blocked);

        h.At(TwoHostHarness.Ms(100));

        var c = h.Sim.FindCall(connect.CallId)!;
        var a = h.Sim.FindCall(accept.CallId)!;
        Assert.True(c.Returned);
        Assert.Equal(0, c.Result);
        Assert.Equal(TwoHostHarness.Ms(20), c.ReturnedAt);
        Assert.Equal(20_000_000, c.Blocked!.Value.Ns);
        Assert.True(a.Returned);
        Assert.Equal(listen.SocketId, a.IssuedOnSocket);
        Assert.NotEqual(listen.SocketId, a.SocketId);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(a.SocketId)!.State);
        Assert.Equal([listen.CallId, connect.CallId, accept.CallId], h.Sim.Calls.Select(call => call.CallId));
    }

    [Fact]
    public void Closed_ConnectRefused_TableHoldsTheErrno()
    {
        var h = new TwoHostHarness();
        h.Sim.JournalLevel = JournalLevel.Counters;
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 81 });

        h.At(TwoHostHarness.Ms(100));

        var c = h.Sim.FindCall(connect.CallId)!;
        Assert.True(c.Failed);
        Assert.Equal(Errno.ECONNREFUSED, c.Errno);
        Assert.Equal(-1, c.Result);
        Assert.Empty(h.Sim.Journal.OfType<CallReturned>());
    }

    [Fact]
    public void Listen_UnknownCallId_IsNotInTheTable()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        Assert.Null(h.Sim.FindCall(999));
    }
}
