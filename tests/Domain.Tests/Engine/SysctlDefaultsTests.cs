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
}
