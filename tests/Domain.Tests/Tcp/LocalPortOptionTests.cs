using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// IP_LOCAL_PORT_RANGE (inet_sk_get_local_port_range(), Linux 6.3+) and IP_BIND_ADDRESS_NO_PORT (__inet_bind()
/// without get_port(), the port chosen by __inet_hash_connect() at connect()). Client 10.0.0.1, server 10.0.0.2,
/// and for two destinations a second server 10.0.0.3, each 10 ms away.
/// </summary>
public class LocalPortOptionTests
{
    static int Range(int lo, int hi) => unchecked((int)((uint)hi << 16 | (uint)lo));

    static CallHandle Set(TwoHostHarness h, int socket, SocketOption option, int value) => h.SetOption(socket, option, value);

    static CallHandle Socket(TwoHostHarness h) => h.Call("client", SocketCallKind.Socket);

    static CallHandle Connect(TwoHostHarness h, int socket, string to = "server") =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, ToHost = to, ToPort = 80 });

    static CallHandle Bind(TwoHostHarness h, int socket, ushort port = 0) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = socket, Port = port });

    static TwoHostHarness WithTwoServers(string clientRange)
    {
        var h = new TwoHostHarness();
        h.Sim.AddHost("server2", IPv4.Parse("10.0.0.3"));
        h.Sim.AddLink("client", "server2", SimDuration.FromMilliseconds(10), 0);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", clientRange));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Call(new SocketCallRequest("server2", "app", SocketCallKind.Listen) { Port = 80 });
        return h;
    }

    [Fact]
    public void Close_ConnectsWithAPerSocketRangeOfTen_TenGetAPortTheEleventhEaddrnotavail()
    {
        // The netns range is 32768–60999; IP_LOCAL_PORT_RANGE {40000, 40009} lies inside it, so it is the range.
        // local_ports: step 1, no parity split, so all ten ports serve one destination; the eleventh finds every
        // 4-tuple to server:80 taken: -EADDRNOTAVAIL, at once.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var ports = new List<int>();
        CallHandle last = default;
        for (int n = 0; n < 11; n++)
        {
            var s = Socket(h);
            Set(h, s.SocketId, SocketOption.IP_LOCAL_PORT_RANGE, Range(40000, 40009));
            last = Connect(h, s.SocketId);
            if (last.Blocked) ports.Add(h.Sim.FindSocket(s.SocketId)!.Local.Port);
        }
        h.At(Ms(100));

        Assert.Equal(Enumerable.Range(40000, 10), ports.Order());
        Assert.Equal((false, Errno.EADDRNOTAVAIL), (last.Blocked, last.Errno));
        Assert.Equal(10, h.Client.AllSockets.Count(s => s.State == TcpState.Established));
    }

    [Theory]
    [InlineData(30000, 40004, 40000, 40004)] // lo below the netns range: the netns lo stays
    [InlineData(40005, 0, 40005, 40009)]     // hi 0: the netns hi stays
    [InlineData(50000, 60000, 40000, 40009)] // no intersection: the netns range
    [InlineData(40002, 40003, 40002, 40003)]
    public void Close_PerSocketRangeAgainstTheNetnsRange_ExhaustsAfterTheIntersectionsPorts(int lo, int hi, int low, int high)
    {
        // inet_sk_get_local_port_range(): each end replaces the netns end only when it lies within [lo, hi].
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40009"));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var ports = new List<int>();
        while (true)
        {
            var s = Socket(h);
            Set(h, s.SocketId, SocketOption.IP_LOCAL_PORT_RANGE, Range(lo, hi));
            var c = Connect(h, s.SocketId);
            if (!c.Blocked)
            {
                Assert.Equal(Errno.EADDRNOTAVAIL, c.Errno);
                break;
            }
            ports.Add(h.Sim.FindSocket(s.SocketId)!.Local.Port);
        }

        Assert.Equal(Enumerable.Range(low, high - low + 1), ports.Order());
    }

    [Fact]
    public void Close_SetsockoptLocalPortRangeLoAboveHi_EinvalAndGetsockoptReadsTheStoredValue()
    {
        // do_ip_setsockopt(): lo > hi with both non-zero → -EINVAL; do_ip_getsockopt(): hi << 16 | lo.
        var h = new TwoHostHarness();
        var s = Socket(h);

        var bad = Set(h, s.SocketId, SocketOption.IP_LOCAL_PORT_RANGE, Range(40010, 40000));
        var good = Set(h, s.SocketId, SocketOption.IP_LOCAL_PORT_RANGE, Range(40000, 0));
        var read = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = s.SocketId, Option = SocketOption.IP_LOCAL_PORT_RANGE });

        Assert.Equal(Errno.EINVAL, bad.Errno);
        Assert.Null(good.Errno);
        Assert.Equal((40000L, "{\"lo\":40000,\"hi\":0}"), (read.Result, read.Value));
    }

    [Fact]
    public void Close_BindPortZeroWithAOnePortRange_TakesThatPort()
    {
        // inet_csk_find_open_port() with local_ports: offset = get_random_u32_below(1) = 0, step 1 → 40004.
        var h = new TwoHostHarness();
        var s = Socket(h);
        Set(h, s.SocketId, SocketOption.IP_LOCAL_PORT_RANGE, Range(40004, 40004));

        var bind = Bind(h, s.SocketId);

        Assert.Equal(0L, bind.Result);
        Assert.Equal(40004, h.Sim.FindSocket(s.SocketId)!.Local.Port);
    }

    [Fact]
    public void Close_BindAddressNoPortThenConnectToTwoServers_BothShareTheOneLocalPort()
    {
        // bind(port 0) with IP_BIND_ADDRESS_NO_PORT takes no port; connect() → __inet_hash_connect(): the only port
        // of the range, 40000, is free for each destination's 4-tuple, so both connections use it.
        var h = WithTwoServers("40000 40000");
        var a = Socket(h);
        var b = Socket(h);
        Set(h, a.SocketId, SocketOption.IP_BIND_ADDRESS_NO_PORT, 1);
        Set(h, b.SocketId, SocketOption.IP_BIND_ADDRESS_NO_PORT, 1);

        var bindA = Bind(h, a.SocketId);
        bool boundAfterBind = h.Sim.FindSocket(a.SocketId)!.BoundPort;
        var bindB = Bind(h, b.SocketId);
        Connect(h, a.SocketId, "server");
        Connect(h, b.SocketId, "server2");
        h.At(Ms(100));

        Assert.Equal((0L, 0L, false), (bindA.Result, bindB.Result, boundAfterBind));
        Assert.Equal([(40000, TcpState.Established), (40000, TcpState.Established)],
            new[] { a, b }.Select(s => ((int)h.Sim.FindSocket(s.SocketId)!.Local.Port, h.Sim.FindSocket(s.SocketId)!.State)));
    }

    [Fact]
    public void Close_BindPortZeroThenConnectToTwoServers_TheSecondBindFindsNoPort()
    {
        // Without the option bind(0) → inet_csk_get_port() owns 40000 (a bind bucket, fastreuse ≥ 0): the second
        // bind(0) finds no free port, -EADDRINUSE, although its destination differs.
        var h = WithTwoServers("40000 40000");
        var a = Socket(h);
        var b = Socket(h);

        var bindA = Bind(h, a.SocketId);
        var bindB = Bind(h, b.SocketId);
        var connectA = Connect(h, a.SocketId, "server");
        h.At(Ms(100));

        Assert.Equal((0L, -1L, Errno.EADDRINUSE), (bindA.Result, bindB.Result, bindB.Errno));
        Assert.Equal((40000, TcpState.Established), (h.Sim.FindSocket(a.SocketId)!.Local.Port, h.Sim.FindSocket(a.SocketId)!.State));
        Assert.True(connectA.Blocked);
    }

    [Fact]
    public void Close_BindAddressNoPortWithAnExplicitPort_TakesThePortAtBind()
    {
        // __inet_bind(): "if (snum || !bind_address_no_port)" — an explicit port is taken at bind() as usual,
        // and a socket whose no-port bind left inet_num 0 may bind again.
        var h = new TwoHostHarness();
        var s = Socket(h);
        Set(h, s.SocketId, SocketOption.IP_BIND_ADDRESS_NO_PORT, 1);

        var first = Bind(h, s.SocketId);
        var second = Bind(h, s.SocketId, 5000);
        var third = Bind(h, s.SocketId, 5001);
        var read = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = s.SocketId, Option = SocketOption.IP_BIND_ADDRESS_NO_PORT });

        Assert.Equal((0L, 0L, Errno.EINVAL), (first.Result, second.Result, third.Errno));
        Assert.Equal(5000, h.Sim.FindSocket(s.SocketId)!.Local.Port);
        Assert.Equal(1L, read.Result);
    }

    [Fact]
    public void Close_ListenWithoutBindAndAPerSocketRange_AutobindsInsideIt()
    {
        // inet_csk_listen_start() → inet_csk_get_port(sk, 0) → inet_csk_find_open_port() with the socket's range.
        var h = new TwoHostHarness();
        var s = Socket(h);
        Set(h, s.SocketId, SocketOption.IP_LOCAL_PORT_RANGE, Range(45000, 45001));

        var listen = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { SocketId = s.SocketId });

        Assert.Equal(0L, listen.Result);
        Assert.InRange(h.Sim.FindSocket(s.SocketId)!.Local.Port, 45000, 45001);
    }

    [Fact]
    public void Close_ExplicitBindJoinsAConnectPortThenLeaves_ConnectSkipsThePortThenSharesItAgain()
    {
        // Range 40000–40001: connect() scans the even port first. c1 → server takes 40000; its bucket is
        // fastreuse = fastreuseport = -1 (__inet_hash_connect()). x binds 127.0.0.1:40000 (no conflict with c1's
        // 10.0.0.1): inet_csk_update_fastreuse() sets fastreuseport = 0, so c2 → server2 skips 40000
        // ("tb->fastreuse >= 0 || tb->fastreuseport >= 0") and takes 40001. x closes: on 6.18
        // inet_bind_bucket_destroy() (d57f4b874946) finds only connect-bound owners left and sets the bucket back
        // to -1, so c3 → server2 shares 40000 with c1 (before that commit it got EADDRNOTAVAIL: 40001's 4-tuple
        // to server2 is c2's).
        var h = WithTwoServers("40000 40001");
        var c1 = Socket(h);
        Connect(h, c1.SocketId, "server");
        var x = Socket(h);
        var bind = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = x.SocketId, Address = "127.0.0.1", Port = 40000 });
        var c2 = Socket(h);
        Connect(h, c2.SocketId, "server2");
        h.At(Ms(50));
        h.Call("client", SocketCallKind.Close, x.SocketId);
        var c3 = Socket(h);
        var connect3 = Connect(h, c3.SocketId, "server2");
        h.At(Ms(100));

        Assert.Equal(0L, bind.Result);
        Assert.Equal((40000, 40001), (h.Sim.FindSocket(c1.SocketId)!.Local.Port, h.Sim.FindSocket(c2.SocketId)!.Local.Port));
        Assert.Equal((true, 40000, TcpState.Established),
            (connect3.Blocked, h.Sim.FindSocket(c3.SocketId)!.Local.Port, h.Sim.FindSocket(c3.SocketId)!.State));
    }

    [Fact]
    public void Sysctl_PortRangeEndsOfTheSameParity_LoggedOncePerNamespace()
    {
        // set_local_port_range(): "same_parity = !((range[0] ^ range[1]) & 1)" and the netns's warned flag.
        var h = new TwoHostHarness();
        foreach (var range in new[] { "40000 40001", "40000 40000", "40001 40011", "32768 60999" })
            Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", range));

        Assert.Equal(["ip_local_port_range: prefer different parity for start/end values."], h.Client.KernelLog);
        Assert.Empty(h.Server.KernelLog);
    }

    [Fact]
    public void Close_Bind0ThenConnectOntoATakenFourTuple_EaddrnotavailReleasesThePort()
    {
        // ip_autobind_reuse lets b's bind(0) share a's 40000 (both SO_REUSEADDR, a not listening); b's connect() to the
        // same server finds the 4-tuple taken (__inet_check_established(): EADDRNOTAVAIL), and tcp_v4_connect()'s failure
        // path, tcp_set_state(TCP_CLOSE), releases the port: bind(0) locked none (SOCK_BINDPORT_LOCK is an explicit
        // port's). So b's next connect() searches as an unbound socket (40000 is a's bind bucket: EADDRNOTAVAIL even to
        // server2) and b may bind again (observed on Linux 6.18.44: packetdrill/bind0-connect-eaddrnotavail-releases-the-port.pkt).
        var h = WithTwoServers("40000 40000");
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1"));
        var a = Socket(h);
        var b = Socket(h);
        Set(h, a.SocketId, SocketOption.SO_REUSEADDR, 1);
        Set(h, b.SocketId, SocketOption.SO_REUSEADDR, 1);
        Bind(h, a.SocketId);
        Connect(h, a.SocketId, "server");
        h.At(Ms(100));

        var bindB = Bind(h, b.SocketId);
        var toServer = Connect(h, b.SocketId, "server");
        bool boundAfterFailure = h.Sim.FindSocket(b.SocketId)!.BoundPort;
        var toServer2 = Connect(h, b.SocketId, "server2");
        var bindAgain = Bind(h, b.SocketId);

        Assert.Equal((0L, Errno.EADDRNOTAVAIL, false, Errno.EADDRNOTAVAIL), (bindB.Result, toServer.Errno, boundAfterFailure, toServer2.Errno));
        Assert.Equal((0L, 40000, TcpState.Close), (bindAgain.Result, (int)h.Sim.FindSocket(b.SocketId)!.Local.Port, h.Sim.FindSocket(b.SocketId)!.State));
        Assert.Equal((40000, TcpState.Established), (h.Sim.FindSocket(a.SocketId)!.Local.Port, h.Sim.FindSocket(a.SocketId)!.State));
    }
}
