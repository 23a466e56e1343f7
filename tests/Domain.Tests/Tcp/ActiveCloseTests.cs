using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

public class ActiveCloseTests
{
    [Fact]
    public void Established_CloseThenPeerCloses_GoesThroughFinWait2ToTimeWaitFor60s()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, c.Id);
        var recv = h.Call("server", SocketCallKind.Recv, s.Id);
        h.At(Ms(300));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        Assert.Equal(TcpState.CloseWait, s.State);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1000));
        var trace = h.Trace();
        Assert.True(TcpState.TimeWait == h.StateOf(c), trace);
        Assert.Equal(TcpState.Close, h.StateOf(s));
        Assert.Equal(0, h.Returned(recv.CallId)!.Result);
        h.At(S(60.3));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        h.At(S(61));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
    }
}
