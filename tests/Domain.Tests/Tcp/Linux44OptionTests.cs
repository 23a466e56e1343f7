using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// What the linux-4.4 profile's socket options do where 4.4's code differs from 6.x's (session 33, tester33's HIGH-1 and
/// MEDIUM-9): each test runs the same calls on linux-6 too, whose answer is unchanged. Client 10.0.0.1, server
/// 10.0.0.2, 10 ms apart.
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
}
