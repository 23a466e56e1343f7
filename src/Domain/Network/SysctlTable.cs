using SimService.Domain.Engine;

namespace SimService.Domain.Network;

/// <summary>
/// A host's sysctl values, starting at the profile's defaults. The engine reads typed values
/// through the named properties; every write goes through <see cref="TrySet"/>, which applies
/// the kernel's validation (including checks across sysctls, as ipv4_local_port_range makes).
/// </summary>
public sealed class SysctlTable
{
    readonly Dictionary<string, long[]> _values = new(StringComparer.Ordinal);

    public KernelProfile Profile { get; }

    public SysctlTable(KernelProfile profile)
    {
        Profile = profile;
        foreach (var def in SysctlCatalog.All.Values)
        {
            if (def.OnlyIn is not null && def.OnlyIn != profile) continue;
            if (!SysctlCatalog.TryParse(def.Name, profile, SysctlCatalog.DefaultFor(def, profile), out var v, out var error))
                throw new InvalidOperationException($"bad built-in default: {error}");
            _values[def.Name] = v;
        }
    }

    /// <summary>Writes a sysctl as `sysctl -w name=text` would; false with the kernel's reason when refused.</summary>
    public bool TrySet(string name, string text, out string error)
    {
        if (!SysctlCatalog.TryParse(name, Profile, text, out var values, out error)) return false;
        // ipv4_local_port_range(): the low end must not be a privileged port.
        if (name == "net.ipv4.ip_local_port_range" && values[0] < Get("net.ipv4.ip_unprivileged_port_start"))
        {
            error = $"{name}: low {values[0]} is below net.ipv4.ip_unprivileged_port_start";
            return false;
        }
        // ipv4_privileged_ports(): the reverse check.
        if (name == "net.ipv4.ip_unprivileged_port_start" && values[0] > PortRangeLow)
        {
            error = $"{name}: {values[0]} is above the low end of net.ipv4.ip_local_port_range ({PortRangeLow})";
            return false;
        }
        _values[name] = values;
        return true;
    }

    public long Get(string name) => _values[name][0];
    public IReadOnlyList<long> GetVector(string name) => _values[name];

    /// <summary>The value as the kernel prints it in /proc/sys.</summary>
    public string Format(string name) => SysctlCatalog.All[name].Kind switch
    {
        SysctlKind.PortList => string.Join(",", _values[name]),
        SysctlKind.PortRange => string.Join("\t", _values[name]),
        _ => string.Join("\t", _values[name]),
    };

    public IEnumerable<string> Names => _values.Keys.Order(StringComparer.Ordinal);

    public int TcpFinTimeoutSec => (int)Get("net.ipv4.tcp_fin_timeout");
    public int TcpOrphanRetries => (int)Get("net.ipv4.tcp_orphan_retries");
    public int TcpRetries2 => (int)Get("net.ipv4.tcp_retries2");
    public long TcpMaxOrphans => Get("net.ipv4.tcp_max_orphans");
    public long TcpMaxTwBuckets => Get("net.ipv4.tcp_max_tw_buckets");
    public int TcpTwReuse => (int)Get("net.ipv4.tcp_tw_reuse");
    public int TcpTwReuseDelayMs => Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_tw_reuse_delay") : 1000;
    public bool TcpTwRecycle => Profile == KernelProfile.Linux44 && Get("net.ipv4.tcp_tw_recycle") != 0;
    public bool TcpTimestamps => Get("net.ipv4.tcp_timestamps") != 0;
    public bool TcpSack => Get("net.ipv4.tcp_sack") != 0;
    public int TcpEarlyRetrans => (int)Get("net.ipv4.tcp_early_retrans");
    public bool TcpRfc1337 => Get("net.ipv4.tcp_rfc1337") != 0;
    public int TcpKeepaliveTimeSec => (int)Get("net.ipv4.tcp_keepalive_time");
    public int TcpKeepaliveIntvlSec => (int)Get("net.ipv4.tcp_keepalive_intvl");
    public int TcpKeepaliveProbes => (int)Get("net.ipv4.tcp_keepalive_probes");
    public int PortRangeLow => (int)GetVector("net.ipv4.ip_local_port_range")[0];
    public int PortRangeHigh => (int)GetVector("net.ipv4.ip_local_port_range")[1];
    public IReadOnlyList<long> ReservedPorts => GetVector("net.ipv4.ip_local_reserved_ports");
    public bool IpAutobindReuse => Get("net.ipv4.ip_autobind_reuse") != 0;
    public long TcpRtoMinUs => Profile == KernelProfile.Linux6 ? Get("net.ipv4.tcp_rto_min_us") : 200_000;
    public long TcpRtoMaxMs => Profile == KernelProfile.Linux6 ? Get("net.ipv4.tcp_rto_max_ms") : 120_000;
    public int TcpInvalidRatelimitMs => (int)Get("net.ipv4.tcp_invalid_ratelimit");
    public int TcpSynRetries => (int)Get("net.ipv4.tcp_syn_retries");
    public int TcpSynackRetries => (int)Get("net.ipv4.tcp_synack_retries");
    public int TcpSynLinearTimeouts => Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_syn_linear_timeouts") : 0;
    public bool TcpAbortOnOverflow => Get("net.ipv4.tcp_abort_on_overflow") != 0;
    public long WmemMax => Get("net.core.wmem_max");
    public long RmemMax => Get("net.core.rmem_max");
    public IReadOnlyList<long> TcpMem => GetVector("net.ipv4.tcp_mem");
    public IReadOnlyList<long> TcpRmem => GetVector("net.ipv4.tcp_rmem");
    public IReadOnlyList<long> TcpWmem => GetVector("net.ipv4.tcp_wmem");
    public int Somaxconn => (int)Get("net.core.somaxconn");
}
