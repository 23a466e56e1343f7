using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §9.1 and §9.5: connection establishment timers that bound teardown scenarios.</summary>
public class HandshakeTests
{
    [Fact]
    public void SynSent_DeadServer_SynsAt0To67sWithLinearTimeoutsThenEtimedoutAt131s()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(S(200));
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9).ToArray();
        Assert.Equal([0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67], syns);
        var returned = h.Returned(c.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(S(131), returned.At);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void SynSent_Linux44_SynsDoubleFrom1sAndFailAt127s()
    {
        var h = new TwoHostHarness(profile: SimService.Domain.Engine.KernelProfile.Linux44);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(S(200));
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9).ToArray();
        Assert.Equal([0, 1, 3, 7, 15, 31, 63], syns);
        Assert.Equal(S(127), h.Returned(c.CallId)!.At);
    }

    [Fact]
    public void SynSent_NoListener_RstRefusesWithEconnrefused()
    {
        var h = new TwoHostHarness();
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));
        var rst = h.Sent("server").Single();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(0u, rst.SeqNo);
        Assert.Equal("ECONNREFUSED", h.Returned(c.CallId)!.Errno);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
    }

    [Theory]
    [InlineData(false, 3000)]
    [InlineData(true, 220)]
    public void SynSent_SynLostOnce_RtoFallsBackTo3sUnlessTimestampsGiveASample(bool timestamps, long rtoMs)
    {
        var h = new TwoHostHarness();
        if (!timestamps) h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0");
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(500));
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(S(2));
        var sk = h.Sim.FindSocket(c.SocketId)!;
        Assert.Equal(TcpState.Established, sk.State);
        Assert.Equal(rtoMs, sk.Rto.TotalMilliseconds);
    }

    [Fact]
    public void Established_After20msRtt_RtoIs220msAndWindowsAreLinuxs()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Equal(220, c.Rto.TotalMilliseconds);
        var syn = h.Sent("client").First();
        Assert.Equal(64240, syn.Win);
        Assert.Equal((byte)7, syn.Options.WindowScale);
        Assert.Equal(1460, syn.Options.Mss);
        Assert.True(syn.Options.SackPermitted && syn.Options.HasTimestamp);
        Assert.Equal(502, h.Sent("client").ElementAt(1).Win);
    }
}

public class CallCompletionTests
{
    [Fact]
    public void SynSent_ConvenienceConnectReturns_CarriesTheSocketItCreated()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        Assert.NotNull(h.Sim.NextEventTime);
        h.At(TwoHostHarness.Ms(100));
        Assert.Equal(c.SocketId, h.Returned(c.CallId)!.SocketId);
    }
}
