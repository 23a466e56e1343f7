using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §3.4 and §14 scenario 4: both sides close at once.</summary>
public class SimultaneousCloseTests
{
    [Fact]
    public void FinWait1_ReceivesFin_AcksAtOnceGoesClosingThenBothTimeWait()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(115));
        Assert.Equal(TcpState.Closing, h.StateOf(c));
        Assert.Equal(TcpState.Closing, h.StateOf(s));
        var acks = h.Segments().Where(x => x.Flags == TcpFlags.Ack && x.At == Ms(110)).ToList();
        Assert.Equal(2, acks.Count);
        h.At(Ms(200));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        Assert.Equal(TcpState.TimeWait, h.StateOf(s));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTW]);
        Assert.Equal(0, h.Client.OrphanCount);
        h.At(S(61));
        Assert.Equal(0, h.Client.TimeWaitCount + h.Server.TimeWaitCount);
    }
}
