using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// Defaults that a fresh network namespace of Linux 6.18.44 showed (`sysctl -a`) where the engine had other values,
/// and linux-4.4's for the same names.
/// </summary>
public class SysctlDefaultsTests
{
    /// <summary>
    /// tcp_set_hashinfo(): tcp_max_tw_buckets = ehash_entries / 2 and tcp_max_syn_backlog = max(128, ehash_entries / 128)
    /// — 131072 and 2048 on the observed machine; 4.4's tcp_init() divided by 256. net.core.rmem_max / wmem_max are
    /// 4 << 20 since 6.18 ("net: set net.core.rmem_max and net.core.wmem_max to 4 MB"), 212992 before.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, "net.ipv4.tcp_max_syn_backlog", 2048)]
    [InlineData(KernelProfile.Linux44, "net.ipv4.tcp_max_syn_backlog", 1024)]
    [InlineData(KernelProfile.Linux6, "net.ipv4.tcp_max_tw_buckets", 131072)]
    [InlineData(KernelProfile.Linux6, "net.core.rmem_max", 4194304)]
    [InlineData(KernelProfile.Linux6, "net.core.wmem_max", 4194304)]
    [InlineData(KernelProfile.Linux44, "net.core.rmem_max", 212992)]
    [InlineData(KernelProfile.Linux44, "net.core.wmem_max", 212992)]
    public void FreshHost_Default_IsTheObservedKernels(KernelProfile profile, string name, long value) =>
        Assert.Equal(value, new SysctlTable(profile).Get(name));

    /// <summary>
    /// Every table of a profile starts from one shared set of defaults, copied at its first write: a write to one host's
    /// table (a vector, a typed value) changes neither another host's nor a table made after it.
    /// </summary>
    [Fact]
    public void TwoHosts_OneWritesASysctl_TheOtherAndALaterHostKeepTheDefault()
    {
        var written = new SysctlTable(KernelProfile.Linux6);
        var other = new SysctlTable(KernelProfile.Linux6);
        Assert.True(written.TrySet("net.ipv4.ip_local_port_range", "40000 40049", out _));
        Assert.True(written.TrySet("net.ipv4.tcp_fin_timeout", "3", out _));
        var later = new SysctlTable(KernelProfile.Linux6);

        Assert.Equal((40000, 40049, 3), (written.PortRangeLow, written.PortRangeHigh, written.TcpFinTimeoutSec));
        foreach (var table in new[] { other, later })
        {
            Assert.Equal([32768L, 60999L], table.GetVector("net.ipv4.ip_local_port_range"));
            Assert.Equal((32768, 60999, 60), (table.PortRangeLow, table.PortRangeHigh, table.TcpFinTimeoutSec));
            Assert.Equal(60, table.Get("net.ipv4.tcp_fin_timeout"));
        }
    }

    /// <summary>
    /// proc_dointvec_minmax() refuses text that is not a number and a number past the bounds alike (EINVAL); the
    /// message says which of the two it was ("5s" is not "outside" a range).
    /// </summary>
    [Theory]
    [InlineData("net.ipv4.tcp_fin_timeout", "5s", "net.ipv4.tcp_fin_timeout: '5s' is not an integer")]
    [InlineData("net.ipv4.tcp_tw_reuse", "abc", "net.ipv4.tcp_tw_reuse: 'abc' is not an integer")]
    [InlineData("net.ipv4.tcp_tw_reuse", "3", "net.ipv4.tcp_tw_reuse: '3' is outside 0..2")]
    [InlineData("net.ipv4.ip_local_port_range", "40000 x", "net.ipv4.ip_local_port_range: 'x' is not an integer")]
    public void TryParse_BadValue_SaysWhatIsWrong(string name, string text, string expected)
    {
        Assert.False(SysctlCatalog.TryParse(name, KernelProfile.Linux6, text, out _, out var error));
        Assert.Equal(expected, error);
    }

    /// <summary>
    /// What Linux 6.18.44 takes and refuses (EINVAL) in a fresh network namespace (`echo V > /proc/sys/...`), and what it
    /// then reads back, where the engine had differed. tcp_invalid_ratelimit (proc_dointvec_ms_jiffies) cuts the text to
    /// an unsigned int before msecs_to_jiffies() and prints the jiffies back in ms; tcp_reordering and tcp_max_reordering
    /// refuse values below 1, tcp_reordering values above tcp_max_reordering.
    /// </summary>
    [Theory]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "1", "4")]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "2147483647", "2147483648")]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "-2147483649", "2147483648")]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "4294967296", "0")]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "-1", null)]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "2147483648", null)]
    [InlineData("net.ipv4.tcp_invalid_ratelimit", "18446744073709551616", null)]
    [InlineData("net.ipv4.tcp_reordering", "300", "300")]
    [InlineData("net.ipv4.tcp_reordering", "301", null)]
    [InlineData("net.ipv4.tcp_reordering", "0", null)]
    [InlineData("net.ipv4.tcp_reordering", "-1", null)]
    [InlineData("net.ipv4.tcp_max_reordering", "2147483647", "2147483647")]
    [InlineData("net.ipv4.tcp_max_reordering", "1", "1")]
    [InlineData("net.ipv4.tcp_max_reordering", "0", null)]
    [InlineData("net.ipv4.tcp_max_tw_buckets", "-1", "-1")]
    [InlineData("net.ipv4.tcp_max_tw_buckets", "-2147483648", "-2147483648")]
    [InlineData("net.ipv4.tcp_max_tw_buckets", "-2147483649", null)]
    [InlineData("net.ipv4.tcp_keepalive_time", "-1", "-1")]
    [InlineData("net.ipv4.tcp_keepalive_intvl", "-8589934", "-8589934")]
    public void Write_AsLinux6_TakesAndReadsBackWhatTheKernelDoes(string name, string text, string? readBack)
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        Assert.Equal(readBack is not null, table.TrySet(name, text, out _));
        if (readBack is not null) Assert.Equal(readBack, table.Format(name));
    }

    [Fact]
    public void TcpReordering_AboveALoweredMaximum_IsRefusedOnLinux6Only()
    {
        var table = new SysctlTable(KernelProfile.Linux6);
        Assert.True(table.TrySet("net.ipv4.tcp_max_reordering", "10", out _));
        Assert.True(table.TrySet("net.ipv4.tcp_reordering", "10", out _));
        Assert.False(table.TrySet("net.ipv4.tcp_reordering", "11", out var error));
        Assert.Equal("net.ipv4.tcp_reordering: '11' is outside 1..10", error);
        Assert.True(table.TrySet("net.ipv4.tcp_max_reordering", "1", out _)); // below tcp_reordering: taken

        var old = new SysctlTable(KernelProfile.Linux44); // proc_dointvec: any int
        Assert.True(old.TrySet("net.ipv4.tcp_reordering", "-1", out _));
        Assert.True(old.TrySet("net.ipv4.tcp_max_reordering", "0", out _));
    }
}
