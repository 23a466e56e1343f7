using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// TCP_RTO_MAX_MS (6.15+, do_tcp_setsockopt()/do_tcp_getsockopt() — net/ipv4/tcp.c): a per-socket icsk_rto_max in
/// 1000..120000 ms, stored as msecs_to_jiffies(val) and read back with jiffies_to_msecs(); linux-4.4 refuses it.
/// </summary>
public class RtoMaxOptionTests
{
    /// <summary>
    /// RTOs of 220, 440, 880, 1760 ms (first retransmission at 548 ms, jiffy 137), then min(3520, 2000) = 500 jiffies
    /// instead of doubling: 920 + 500 = 1420 is level 1 of the wheel (below 504 jiffies), bucket 1424 = 5696 ms, and every
    /// later one 504 jiffies (2016 ms) after the last. tcp_write_timeout() budgets tcp_model_timeout(15, TCP_RTO_MIN) with
    /// the socket's rto_max: ilog2(2000 / 200) = 3 doublings, 15·200 + 12·2000 = 27000 ms after 548 ms — the timer at
    /// 27872 ms is the first past it. Without the option the sixth retransmission would come at 7392 ms.
    /// </summary>
    [Fact]
    public void Established_RtoMax2000DeadPeer_DoublingStopsAtTwoSecondsAndDiesAt27872ms()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Equal(0, h.SetOption(c.Id, SocketOption.TCP_RTO_MAX_MS, 2000).Result);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 4);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(60));
        var data = h.Sent("client").Where(x => x.Len == 4).Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([100, 324, 548, 992, 1888, 3680, 5696, 7712, 9728, 11744, 13760, 15776, 17792, 19808, 21824, 23840, 25856], data);
        var returned = h.Returned(recv.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(Ms(27872), returned.At);
        Assert.Equal(2000L, c.RtoMax.TotalMilliseconds);
    }

    [Theory]
    [InlineData(1000, 1000)]
    [InlineData(1001, 1004)] // msecs_to_jiffies() rounds up to 251 jiffies; jiffies_to_msecs() reads 1004
    [InlineData(2000, 2000)]
    [InlineData(120000, 120000)]
    public void Close_RtoMaxSet_ReadsBackWholeJiffies(int set, long get)
    {
        var h = new TwoHostHarness();
        var sock = h.Call("client", SocketCallKind.Socket).SocketId;
        Assert.Equal(120000L, h.GetOption(sock, SocketOption.TCP_RTO_MAX_MS).Result); // net.ipv4.tcp_rto_max_ms
        Assert.Null(h.SetOption(sock, SocketOption.TCP_RTO_MAX_MS, set).Errno);
        Assert.Equal(get, h.GetOption(sock, SocketOption.TCP_RTO_MAX_MS).Result);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(120001)]
    public void Close_RtoMaxOutside1To120Seconds_EinvalAndUnchanged(int value)
    {
        var h = new TwoHostHarness();
        var sock = h.Call("client", SocketCallKind.Socket).SocketId;
        Assert.Equal("EINVAL", h.SetOption(sock, SocketOption.TCP_RTO_MAX_MS, value).Errno);
        Assert.Equal(120000L, h.GetOption(sock, SocketOption.TCP_RTO_MAX_MS).Result);
    }

    /// <summary>linux-4.4's do_tcp_setsockopt()/do_tcp_getsockopt() know no option 44: the default case, ENOPROTOOPT.</summary>
    [Fact]
    public void CloseOnLinux44_RtoMax_Enoprotoopt()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var sock = h.Call("client", SocketCallKind.Socket).SocketId;
        Assert.Equal("ENOPROTOOPT", h.SetOption(sock, SocketOption.TCP_RTO_MAX_MS, 2000).Errno);
        Assert.Equal("ENOPROTOOPT", h.GetOption(sock, SocketOption.TCP_RTO_MAX_MS).Errno);
    }

    /// <summary>sk_clone_lock() copies icsk_rto_max: an accepted child reads the listener's value; its own setsockopt() changes only its copy.</summary>
    [Fact]
    public void Listen_RtoMax3000_AcceptedChildInheritsIt()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Null(h.SetOption(l.SocketId, SocketOption.TCP_RTO_MAX_MS, 3000).Errno);
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var accept = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        int child = h.Returned(accept.CallId)!.SocketId;
        Assert.Equal(3000L, h.GetOption(child, SocketOption.TCP_RTO_MAX_MS).Result);
        Assert.Null(h.SetOption(child, SocketOption.TCP_RTO_MAX_MS, 1500).Errno);
        Assert.Equal(1500L, h.GetOption(child, SocketOption.TCP_RTO_MAX_MS).Result);
        Assert.Equal(3000L, h.GetOption(l.SocketId, SocketOption.TCP_RTO_MAX_MS).Result);
    }
}
