using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §5.3 and §13: option values as getsockopt reports them, and the kernel's refusals.</summary>
public class SocketOptionTests
{
    static (TwoHostHarness H, int Socket) NewSocket(KernelProfile profile = KernelProfile.Linux6)
    {
        var h = new TwoHostHarness(profile: profile);
        return (h, h.Call("client", SocketCallKind.Socket).SocketId);
    }

    static CallHandle Set(TwoHostHarness h, int s, SocketOption o, int v) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = s, Option = o, Value = v });

    static long Get(TwoHostHarness h, int s, SocketOption o) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = s, Option = o }).Result;

    [Theory]
    [InlineData(200, 120)]
    [InlineData(121, 120)]
    [InlineData(30, 30)]
    [InlineData(0, 60)]
    [InlineData(-5, -1)]
    public void Close_SetTcpLinger2_GetReportsTheEffectiveSeconds(int set, int get)
    {
        var (h, s) = NewSocket();
        Set(h, s, SocketOption.TCP_LINGER2, set);
        Assert.Equal(get, Get(h, s, SocketOption.TCP_LINGER2));
    }

    /// <summary>
    /// sock_setsockopt(): min(val, wmem_max / rmem_max) · 2. 6.18's maxima are 4 MB (observed on Linux 6.18.44:
    /// 262144 reads 524288, 8 MiB reads 8388608); linux-4.4's were 212992.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_SNDBUF, 100_000, 200_000)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_SNDBUF, 262_144, 524_288)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_SNDBUF, 8_388_608, 8_388_608)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_RCVBUF, 262_144, 524_288)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_RCVBUF, 8_388_608, 8_388_608)]
    [InlineData(KernelProfile.Linux44, SocketOption.SO_SNDBUF, 262_144, 425_984)]
    [InlineData(KernelProfile.Linux44, SocketOption.SO_RCVBUF, 262_144, 425_984)]
    // min_t(u32, val, [wr]mem_max): a negative int is a huge u32, so the maximum (observed on Linux 6.18.44: -1 reads
    // 8388608 for both); 0 and 1 the minimum; INT_MAX the maximum (min_t(int, val, INT_MAX / 2) keeps val · 2 an int).
    [InlineData(KernelProfile.Linux6, SocketOption.SO_SNDBUF, -1, 8_388_608)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_RCVBUF, -1, 8_388_608)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_RCVBUF, int.MinValue, 8_388_608)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_SNDBUF, int.MaxValue, 8_388_608)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_SNDBUF, 0, 4_608)]
    [InlineData(KernelProfile.Linux6, SocketOption.SO_RCVBUF, 1, 2_304)]
    [InlineData(KernelProfile.Linux44, SocketOption.SO_SNDBUF, -1, 425_984)]
    public void Close_SetBuffer_DoubledAndClampedToTheMax(KernelProfile profile, SocketOption option, int set, long get)
    {
        var (h, s) = NewSocket(profile);
        Set(h, s, option, set);
        Assert.Equal(get, Get(h, s, option));
    }

    [Theory]
    [InlineData(SocketOption.TCP_KEEPIDLE, 0)]
    [InlineData(SocketOption.TCP_KEEPIDLE, 32768)]
    [InlineData(SocketOption.TCP_KEEPINTVL, 0)]
    [InlineData(SocketOption.TCP_KEEPCNT, 128)]
    [InlineData(SocketOption.TCP_USER_TIMEOUT, -1)]
    public void Close_OutOfRangeKeepaliveValues_Einval(SocketOption option, int value)
    {
        var (h, s) = NewSocket();
        Assert.Equal("EINVAL", Set(h, s, option, value).Errno);
    }

    [Fact]
    public void Close_KeepaliveDefaults_ComeFromTheSysctls()
    {
        var (h, s) = NewSocket();
        Assert.Equal(7200, Get(h, s, SocketOption.TCP_KEEPIDLE));
        Assert.Equal(75, Get(h, s, SocketOption.TCP_KEEPINTVL));
        Assert.Equal(9, Get(h, s, SocketOption.TCP_KEEPCNT));
    }
}

/// <summary>Descriptor numbers as __alloc_fd hands them out: the lowest free one from 3.</summary>
public class DescriptorTests
{
    [Fact]
    public void Process_SocketAndAccept_ReturnLowestFreeDescriptors()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Equal(3, h.Sim.FindSocket(l.SocketId)!.Fd);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(TwoHostHarness.Ms(100));
        Assert.Equal(4, h.Returned(a.CallId)!.Result);
        Assert.Equal(3, h.Call("client", SocketCallKind.Socket).Result - 1);
        h.Call("server", SocketCallKind.Close, l.SocketId);
        Assert.Equal(3, h.Call("server", SocketCallKind.Socket).Result);
    }
}
