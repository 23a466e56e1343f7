using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>TCP_CONGESTION: do_tcp_setsockopt() → tcp_set_congestion_control(), do_tcp_getsockopt(), tcp_ca_openreq_child().</summary>
public class CongestionOptionTests
{
    static CallHandle SetCa(TwoHostHarness h, int socketId, string? name) =>
        h.Call(new SocketCallRequest(h.Sim.FindSocket(socketId)!.Host.Name, "app", SocketCallKind.Setsockopt)
            { SocketId = socketId, Option = SocketOption.TCP_CONGESTION, Text = name });

    [Fact]
    public void Close_CongestionReno_ReadBackAndRun()
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        Assert.Equal("\"cubic\"", h.GetOption(s.SocketId, SocketOption.TCP_CONGESTION).Value); // tcp_congestion_control

        Assert.Null(SetCa(h, s.SocketId, "reno").Errno);
        Assert.Equal("\"reno\"", h.GetOption(s.SocketId, SocketOption.TCP_CONGESTION).Value);
        Assert.Equal(CongestionAlgorithm.Reno, h.Sim.FindSocket(s.SocketId)!.CongestionControl);
    }

    [Theory]
    [InlineData("", "EINVAL")]     // optlen < 1
    [InlineData("foo", "ENOENT")]  // tcp_ca_find_autoload() finds no module
    [InlineData("cubic", null)]    // the module in use: no change
    [InlineData("renoXXXXXXXXXXXXXXX", "ENOENT")] // cut to 15 bytes: "renoXXXXXXXXXXX"
    public void Close_CongestionName_ErrnoAsTheKernel(string name, string? errno)
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        Assert.Equal(errno, SetCa(h, s.SocketId, name).Errno);
        Assert.Equal(CongestionAlgorithm.Cubic, h.Sim.FindSocket(s.SocketId)!.CongestionControl);
    }

    [Fact]
    public void Listen_CongestionReno_AcceptedChildKeepsIt()
    {
        // tcp_ca_openreq_child(): icsk_ca_setsockopt (copied from the listener) keeps the listener's module.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        SetCa(h, l.SocketId, "reno");
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));

        var child = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;
        Assert.Equal(CongestionAlgorithm.Reno, child.CongestionControl);
    }

    [Fact]
    public void Listen_NoCongestionOption_ChildGetsTheHostDefault()
    {
        // Without TCP_CONGESTION, tcp_assign_congestion_control(): net.ipv4.tcp_congestion_control.
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("server", "net.ipv4.tcp_congestion_control", "reno");
        var (_, server, _) = h.Establish();

        Assert.Equal(CongestionAlgorithm.Reno, server.CongestionControl);
    }

    [Fact]
    public void Established_CongestionSwitchedToReno_ModuleChangesCwndKept()
    {
        // tcp_reinit_congestion_control(): the module changes, cwnd and ssthresh stay (tcp_init_congestion_control()
        // only zeroes prior_ssthresh and runs the module's init).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        int cwnd = c.Info.SndCwnd;
        Assert.Null(SetCa(h, c.Id, "reno").Errno);

        Assert.Equal(CongestionAlgorithm.Reno, c.CongestionControl);
        Assert.Equal(cwnd, c.Info.SndCwnd);
    }
}
