using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

public class ActiveCloseTests
{
    [Fact]
    public void Established_CloseThenPeerCloses_GoesThroughFinWait2ToTimeWaitFor60sAndTheWheelsLateness()
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
        // The server's FIN arrives at 410 ms (jiffy 102): expires 15102; 15000 jiffies is level 3 of the
        // timer wheel, 512-jiffy buckets ending on jiffies ≡ 248 (mod 512): 15608 = 62.432 s, 62.022 s later.
        h.At(Ms(62_431));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        h.At(Ms(62_432));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
    }
}
