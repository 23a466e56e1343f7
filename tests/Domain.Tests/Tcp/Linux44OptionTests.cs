using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// What the linux-4.4 profile's options, sysctls and tcp_info do where 4.4's code differs from 6.x's (session 33,
/// tester33's HIGH-1, MEDIUM-4, -5, -6 and -9): each test runs the same calls on linux-6 too, whose answer is unchanged.
/// Client 10.0.0.1, server 10.0.0.2, 10 ms apart.
/// </summary>
public class Linux44OptionTests
{
    static int Range(int lo, int hi) => unchecked((int)((uint)hi << 16 | (uint)lo));

    /// <summary>
    /// IP_LOCAL_PORT_RANGE came in Linux 6.3: 4.4's do_ip_setsockopt() and do_ip_getsockopt() end in their default
    /// case, ENOPROTOOPT, and connect() takes its port from the netns range (32768–60999), never 50000.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, "ENOPROTOOPT", false)]
    [InlineData(KernelProfile.Linux6, null, true)]
    public void IpLocalPortRange_OnLinux44_EnoprotooptForSetAndGet_AndTheNetnsRangeUsed(KernelProfile profile, string? errno, bool narrowed)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        int s = h.Call("client", SocketCallKind.Socket).SocketId;

        var set = h.SetOption(s, SocketOption.IP_LOCAL_PORT_RANGE, Range(50000, 50000));
        var get = h.GetOption(s, SocketOption.IP_LOCAL_PORT_RANGE);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s, ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        Assert.Equal((errno, errno), (set.Errno, get.Errno));
        Assert.Equal(narrowed ? "{\"lo\":50000,\"hi\":50000}" : null, get.Value);
        var sk = h.Sim.FindSocket(s)!;
        Assert.Equal(TcpState.Established, sk.State);
        Assert.Equal(narrowed, sk.Local.Port == 50000);
        Assert.InRange(sk.Local.Port, 32768, 60999);
    }

    /// <summary>The packetdrill path reaches the same setsockopt()/getsockopt(): a linux-4.4 run answers ENOPROTOOPT.</summary>
    [Fact]
    public void IpLocalPortRange_PacketdrillOnLinux44_Enoprotoopt()
    {
        const string Script = "`./defaults.sh`\n    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
            "   +0 setsockopt(3, SOL_IP, IP_LOCAL_PORT_RANGE, [0x9c409c40], 4) = -1 ENOPROTOOPT (Protocol not available)\n" +
            "   +0 getsockopt(3, SOL_IP, IP_LOCAL_PORT_RANGE, [0], [4]) = -1 ENOPROTOOPT (Protocol not available)\n";
        var legacy = PacketdrillRunner.Run(Script, new PacketdrillOptions { ScriptName = "t.pkt", Profile = KernelProfile.Linux44 });
        var current = PacketdrillRunner.Run(Script, new PacketdrillOptions { ScriptName = "t.pkt" });

        Assert.True(legacy.Passed, legacy.Output);
        Assert.False(current.Passed); // linux-6 takes the option: line 3's -1 is not what it returns
        Assert.StartsWith("t.pkt:3: ", current.Output);
    }

    /// <summary>
    /// ip_unprivileged_port_start came in 4.11 and ip_autobind_reuse in 5.7: linux-4.4 has neither (refused as
    /// tcp_min_rtt_wlen is), and 4.4's ipv4_local_port_range() refuses only a high end below the low one, so "100 200"
    /// is taken there; linux-6 refuses it (Linux 6.18.44: `sysctl -w net.ipv4.ip_local_port_range="100 200"` → EINVAL).
    /// </summary>
    [Fact]
    public void Sysctls_Linux44HasNoUnprivilegedPortStartNorAutobindReuse_AndTakesALowPortRange()
    {
        var legacy = new TwoHostHarness(profile: KernelProfile.Linux44).Sim;
        var current = new TwoHostHarness().Sim;

        Assert.Equal("unknown sysctl 'net.ipv4.ip_unprivileged_port_start' for kernel profile linux-4.4",
            legacy.SetSysctl("client", "net.ipv4.ip_unprivileged_port_start", "0")?.Message);
        Assert.Equal("unknown sysctl 'net.ipv4.ip_autobind_reuse' for kernel profile linux-4.4",
            legacy.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1")?.Message);
        Assert.Null(legacy.SetSysctl("client", "net.ipv4.ip_local_port_range", "100 200"));
        Assert.Equal([100L, 200L], legacy.FindHost("client")!.Sysctls.GetVector("net.ipv4.ip_local_port_range"));
        Assert.Equal("net.ipv4.ip_local_port_range: low 200 is above high 100 (ipv4_local_port_range)",
            legacy.SetSysctl("client", "net.ipv4.ip_local_port_range", "200 100")?.Message);
        Assert.False(SysctlCatalog.Exists("net.ipv4.ip_unprivileged_port_start", KernelProfile.Linux44));
        Assert.False(SysctlCatalog.Exists("net.ipv4.ip_autobind_reuse", KernelProfile.Linux44));

        Assert.Null(current.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1"));
        Assert.Equal("net.ipv4.ip_local_port_range: low 100 is below net.ipv4.ip_unprivileged_port_start",
            current.SetSysctl("client", "net.ipv4.ip_local_port_range", "100 200")?.Message);
        Assert.Null(current.SetSysctl("client", "net.ipv4.ip_unprivileged_port_start", "0"));
    }

    /// <summary>
    /// A linux-4.4 simulation stored before session 33 that wrote one of the two still rebuilds (its command log is
    /// applied with RebuildingStored): the value is kept, and no linux-4.4 rule reads it.
    /// </summary>
    [Fact]
    public void Sysctls_StoredLinux44WriteOfALinux6OnlySysctl_StillRebuilds()
    {
        var sim = new TwoHostHarness(profile: KernelProfile.Linux44).Sim;
        sim.RebuildingStored = true;

        Assert.Null(sim.SetSysctl("client", "net.ipv4.ip_autobind_reuse", "1"));
        Assert.Null(sim.SetSysctl("client", "net.ipv4.ip_unprivileged_port_start", "0"));
        Assert.False(sim.FindHost("client")!.Sysctls.IpAutobindReuse);
        Assert.NotNull(sim.SetSysctl("client", "net.ipv4.tcp_min_rtt_wlen", "1")); // never taken on linux-4.4: still refused
    }

    static CallHandle Connect(TwoHostHarness h) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });

    /// <summary>
    /// linux-4.4's tcp_tw_reuse is proc_dointvec and tcp_twsk_unique() tests "sysctl_tcp_tw_reuse &amp;&amp; get_seconds() -
    /// tcptw->tw_ts_recent_stamp &gt; 1": 2, 3 or -1 take the TIME-WAIT over 10.0.0.1→10.0.0.2 at 2 s as 1 does (the
    /// FIN's timestamp came in kernel second 1). linux-6: 2 is loopback only (EADDRNOTAVAIL here until the TIME-WAIT
    /// ends), 3 is refused.
    /// </summary>
    [Theory]
    [InlineData("2")]
    [InlineData("3")]
    [InlineData("-1")]
    public void TcpTwReuse_Linux44AnyNonZero_ReusesTheTimeWaitOffLoopbackAsOneDoes(string twReuse)
    {
        var h = PortReuseTests.ClientTimeWaitOnOnePort(twReuse, KernelProfile.Linux44);
        var tw = h.Client.TimeWaitSockets.Single();
        h.At(Ms(1999));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(Ms(2000));

        var ok = Connect(h);

        Assert.True(ok.Blocked);
        Assert.Equal(tw.SndNxt + 65537, h.Sim.FindSocket(ok.SocketId)!.Iss);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
        Assert.Equal(long.Parse(twReuse), h.Client.Sysctls.Get("net.ipv4.tcp_tw_reuse")); // read back as written
    }

    [Fact]
    public void TcpTwReuse_Linux6_TwoIsLoopbackOnlyAndThreeRefused()
    {
        var h = PortReuseTests.ClientTimeWaitOnOnePort("2", KernelProfile.Linux6);
        h.At(Ms(2000));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        Assert.Equal("net.ipv4.tcp_tw_reuse: '3' is outside 0..2", h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "3")?.Message);
    }

    /// <summary>
    /// linux-4.4's sock_setsockopt(SO_RCVLOWAT) only sets sk_rcvlowat ("val ? : 1", a negative value INT_MAX): no
    /// tcp_set_rcvlowat() (4.18), so no cap at half of tcp_rmem[2] and no sk_rcvbuf growth (87380 stays, as `ss -m`
    /// shows it); linux-6 caps the read-back at 3145728 (tcp_rmem[2] 6291456 &gt;&gt; 1 is linux-4.4's; 6.18's is 16777216)
    /// and grows sk_rcvbuf to tcp_space_from_win(200000) = 400000.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 200_000, 200_000, 87_380)]
    [InlineData(KernelProfile.Linux44, -1, int.MaxValue, 87_380)]
    [InlineData(KernelProfile.Linux6, 200_000, 200_000, 400_000)]
    [InlineData(KernelProfile.Linux6, -1, 16_777_216, 33_554_432)]
    public void SoRcvlowat_Linux44SetsOnlyTheMark_NoCapNoRcvbufGrowth(KernelProfile profile, int value, long readBack, long rcvbuf)
    {
        var h = new TwoHostHarness(profile: profile);
        var (_, s, _) = h.Establish();

        Assert.Null(h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, value).Errno);

        Assert.Equal((readBack, rcvbuf), (h.GetOption(s.Id, SocketOption.SO_RCVLOWAT).Result, h.GetOption(s.Id, SocketOption.SO_RCVBUF).Result));
    }

    /// <summary>
    /// 1000 bytes arrive at 110, 310 and 510 ms for a recv() asleep below SO_RCVLOWAT 2500. linux-4.4 has no
    /// tcp_data_ready() (4.19): every segment's sk_data_ready() wakes the reader, which copies what came (Recv-Q 0 at
    /// 300 ms) and sleeps again until 3000 are copied. linux-6 wakes it only once 2500 wait (Recv-Q 2000 at 400 ms).
    /// Both return 3000 at 510 ms.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 0L, 0L)]
    [InlineData(KernelProfile.Linux6, 1000L, 2000L)]
    public void SoRcvlowat_Linux44WakesTheReaderForEverySegment(KernelProfile profile, long recvQAt300, long recvQAt400)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, 2500);
        var read = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 10_000 });
        h.Send(c.Id, 1000);
        h.At(Ms(300));
        long at300 = s.RecvQueue;
        h.Send(c.Id, 1000);
        h.At(Ms(400));
        long at400 = s.RecvQueue;
        h.At(Ms(500));
        h.Send(c.Id, 1000);
        h.At(Ms(600));

        Assert.Equal((recvQAt300, recvQAt400), (at300, at400));
        var returned = h.Returned(read.CallId)!;
        Assert.Equal((Ms(510), 3000L), (returned.At, returned.Result));
    }

    /// <summary>
    /// linux-4.4's struct tcp_info ends at tcpi_segs_in: getsockopt(TCP_INFO)'s JSON stops there, and `ss -i` — which
    /// prints what the kernel's shorter struct holds — shows none of bytes_sent (4.19), data_segs_out and minrtt (4.6),
    /// delivered (4.18), delivery_rate/app_limited/busy (4.9/4.10) or snd_wnd (5.4). linux-6 shows them.
    /// </summary>
    [Fact]
    public void TcpInfo_Linux44_JsonAndSsStopAtSegsIn()
    {
        string Info(KernelProfile profile, out string ss)
        {
            var h = new TwoHostHarness(profile: profile);
            var (c, _, _) = h.Establish();
            h.Send(c.Id, 20_000);
            h.At(Ms(300));
            ss = SsFormatter.InfoText(c.Info);
            return h.GetOption(c.Id, SocketOption.TCP_INFO).Value!;
        }
        string legacy = Info(KernelProfile.Linux44, out var legacySs);
        string current = Info(KernelProfile.Linux6, out var currentSs);

        Assert.Matches(",\"segs_out\":16,\"segs_in\":15}$", legacy);
        Assert.Equal(33, System.Text.Json.JsonDocument.Parse(legacy).RootElement.EnumerateObject().Count());
        foreach (var later in new[] { "bytes_sent", "data_segs_out", "minrtt", "delivered", "delivery_rate", "app_limited", "busy", "snd_wnd", "notsent" })
        {
            Assert.DoesNotContain(" " + later, legacySs);
            Assert.DoesNotContain($"\"{later}\"", legacy);
        }
        Assert.Contains(" cwnd:24 bytes_acked:20001 segs_out:16 segs_in:15 send 13900800bps lastsnd:180 ", legacySs);
        Assert.Contains("\"segs_in\":", current);
        Assert.Contains(",\"total_rto_time\":0}", current);
        foreach (var later in new[] { " bytes_sent:20000 ", " data_segs_out:14 ", " minrtt:20 ", " delivered:15 ", " busy:40ms ", " snd_wnd:" })
            Assert.Contains(later, currentSs);
    }
}
