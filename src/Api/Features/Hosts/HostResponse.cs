using SimService.Domain.Network;
using Host = SimService.Domain.Network.Host;
using SimService.Api.Infrastructure;
using SimService.Api.Features.Clock;

namespace SimService.Api.Features.Hosts;

/// <param name="Kind">"linux" (a simulated kernel) or "scripted" (sends only injected segments).</param>
/// <param name="BehindNat">The NAT the host's traffic leaves through, if any.</param>
/// <param name="Sysctls">Every sysctl of the host with its current value, as /proc/sys prints it.</param>
/// <param name="Version">The simulation's version (number of commands) when this was read.</param>
/// <param name="Addresses">Every address of the host's own, the first one first (127.0.0.1 on lo is not listed).</param>
public sealed record HostResponse(string Name, string Address, string Kind, string? BehindNat, IReadOnlyDictionary<string, string> Sysctls,
    long Version, IReadOnlyList<string>? Addresses = null) : LeftModelAnswer, IVersioned
{
    public static HostResponse From(Host host, long version) => new(host.Name, host.Address.ToString(), KindName(host.Kind),
        host.BehindNat?.Name, host.Sysctls.Names.ToDictionary(name => name, host.Sysctls.Format), version,
        [.. host.Addresses.Select(a => a.ToString())]);

    public static string KindName(HostKind kind) => kind == HostKind.Scripted ? "scripted" : "linux";
}

public sealed record HostSummary(string Name, string Address, string Kind, string? BehindNat)
{
    public static HostSummary From(Host host) => new(host.Name, host.Address.ToString(), HostResponse.KindName(host.Kind), host.BehindNat?.Name);
}

public sealed record HostList(IReadOnlyList<HostSummary> Items, long Version) : IVersioned;
