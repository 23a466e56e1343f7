using SimService.Domain.Engine;
using SimService.Domain.Tcp;

namespace SimService.Domain.Network;

/// <summary>
/// A host's sysctl values, starting at the profile's defaults. The engine reads typed values
/// through the named properties; every write goes through <see cref="TrySet"/>, which applies
/// the kernel's validation (including checks across sysctls, as ipv4_local_port_range makes).
/// </summary>
public sealed class SysctlTable
{
    /// <summary>
    /// The values by name: the profile's defaults, shared by every table of the profile (never written), until the first
    /// write copies them. Each host parsed the ~60 defaults into a dictionary of its own: a generated client's largest
    /// cost to make (20,000 clients: 21% of the workload's time in this constructor) and ≈ 4 KB of its memory.
    /// </summary>
    Dictionary<string, long[]> _values;
    bool _valuesShared;

    static readonly Dictionary<string, long[]> Linux6Defaults = ParseDefaults(KernelProfile.Linux6);
    static readonly Dictionary<string, long[]> Linux44Defaults = ParseDefaults(KernelProfile.Linux44);

    public KernelProfile Profile { get; }

    public SysctlTable(KernelProfile profile)
    {
        Profile = profile;
        _values = profile == KernelProfile.Linux44 ? Linux44Defaults : Linux6Defaults;
        _valuesShared = true;
        RefreshTyped();
    }

    static Dictionary<string, long[]> ParseDefaults(KernelProfile profile)
    {
        var values = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var def in SysctlCatalog.All.Values)
        {
            if (def.OnlyIn is not null && def.OnlyIn != profile) continue;
            if (!SysctlCatalog.TryParse(def.Name, profile, SysctlCatalog.DefaultFor(def, profile), out var v, out var error))
                throw new InvalidOperationException($"bad built-in default: {error}");
            values[def.Name] = v;
        }
        return values;
    }

    /// <summary>Writes a sysctl as `sysctl -w name=text` would; false with the kernel's reason when refused. A
    /// <paramref name="stored"/> text (a rebuild from the log) may also be one the engine once took
    /// (<see cref="SysctlCatalog.TryParseStored"/>).</summary>
    public bool TrySet(string name, string text, out string error, bool stored = false)
    {
        var current = _values.GetValueOrDefault(name);
        if (!(stored
                ? SysctlCatalog.TryParseStored(name, Profile, text, out var values, out error, current)
                : SysctlCatalog.TryParse(name, Profile, text, out values, out error, current))) return false;
        // ipv4_local_port_range(): the low end must not be a privileged port (4.11+: linux-4.4 checks only high < low).
        if (name == "net.ipv4.ip_local_port_range" && Profile == KernelProfile.Linux6 && values[0] < Get("net.ipv4.ip_unprivileged_port_start"))
        {
            error = $"{name}: low {values[0]} is below net.ipv4.ip_unprivileged_port_start";
            return false;
        }
        // Upstream's table has proc_dointvec for both (linux-4.4 takes any int), but Linux 6.18.44 refuses with EINVAL
        // a tcp_reordering below 1 or above the netns' tcp_max_reordering, and a tcp_max_reordering below 1 (even one
        // under tcp_reordering is taken): proc_dointvec_minmax with extra1 = SYSCTL_ONE, extra2 the other sysctl.
        if (Profile == KernelProfile.Linux6 && name is "net.ipv4.tcp_reordering" or "net.ipv4.tcp_max_reordering"
            && (values[0] < 1 || (name == "net.ipv4.tcp_reordering" && values[0] > TcpMaxReordering)))
        {
            error = $"{name}: '{text.Trim()}' is outside 1..{(name == "net.ipv4.tcp_reordering" ? TcpMaxReordering : int.MaxValue)}";
            return false;
        }
        // ipv4_privileged_ports(): the reverse check.
        if (name == "net.ipv4.ip_unprivileged_port_start" && values[0] > PortRangeLow)
        {
            error = $"{name}: {values[0]} is above the low end of net.ipv4.ip_local_port_range ({PortRangeLow})";
            return false;
        }
        if (_valuesShared)
        {
            _values = new Dictionary<string, long[]>(_values, StringComparer.Ordinal);
            _valuesShared = false;
        }
        _values[name] = values;
        RefreshTyped();
        if (name == "net.ipv4.ip_local_reserved_ports")
        {
            _reserved = values.Length == 0 ? null : new ulong[65536 / 64];
            foreach (var port in values) _reserved![port >> 6] |= 1UL << (int)(port & 63);
        }
        return true;
    }

    /// <summary>
    /// The bitmap of ip_local_reserved_ports, a bit per port as the kernel's sysctl_local_reserved_ports (65536 bits,
    /// ipv4_sysctl_init_net() — net/ipv4/sysctl_net_ipv4.c); null while no port is reserved, the default. It was a bool
    /// per port made for every host: 64 KB each, over half of a generated client's memory (20,000 of them held 1.3 GB of it).
    /// </summary>
    ulong[]? _reserved;

    /// <summary>inet_is_local_reserved_port(): the bitmap of ip_local_reserved_ports.</summary>
    public bool IsReservedPort(int port) => _reserved is { } bits && (bits[port >> 6] & (1UL << (port & 63))) != 0;

    public long Get(string name) => _values[name][0];
    public IReadOnlyList<long> GetVector(string name) => _values[name];

    /// <summary>The value as the kernel prints it in /proc/sys (an unsigned long's 64 bits unsigned: proc_put_long()).</summary>
    public string Format(string name) => SysctlCatalog.All[name] switch
    {
        { Kind: SysctlKind.PortList } => FormatBitmap(_values[name]),
        { Kind: SysctlKind.Name } def => def.Choices![(int)_values[name][0]],
        { Handler: SysctlHandler.ULong } => string.Join("\t", _values[name].Select(v => unchecked((ulong)v))),
        _ => string.Join("\t", _values[name]),
    };

    /// <summary>proc_do_large_bitmap()'s read: runs of set bits as "low-high", a single one as its number, ',' between.</summary>
    static string FormatBitmap(long[] ports)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < ports.Length; i++)
        {
            int first = i;
            while (i + 1 < ports.Length && ports[i + 1] == ports[i] + 1) i++;
            if (text.Length > 0) text.Append(',');
            text.Append(ports[first]);
            if (i > first) text.Append('-').Append(ports[i]);
        }
        return text.ToString();
    }

    public IEnumerable<string> Names => _values.Keys.Order(StringComparer.Ordinal);

    public int TcpFinTimeoutSec { get; private set; }
    public int TcpOrphanRetries { get; private set; }
    public int TcpRetries2 { get; private set; }
    /// <summary>net.ipv4.tcp_retries1: the RTOs (as tcp_model_timeout()'s time) after which tcp_write_timeout() runs black-hole detection.</summary>
    public int TcpRetries1 { get; private set; }
    /// <summary>net.ipv4.tcp_mtu_probing: 1 lets black-hole detection enable MTU probing (tcp_mtu_probing()), above 1 enables it at once (tcp_mtup_init()).</summary>
    public int TcpMtuProbing { get; private set; }
    /// <summary>net.ipv4.tcp_base_mss: tcp_mtup_init()'s search_low MSS, the most a black-hole halving leaves (tcp_mtu_probing()).</summary>
    public int TcpBaseMss { get; private set; }
    /// <summary>net.ipv4.tcp_mtu_probe_floor: the least MSS tcp_mtu_probing() halves to (5.4; linux-4.4: 68 − tcp_header_len instead).</summary>
    public int TcpMtuProbeFloor { get; private set; }
    /// <summary>net.ipv4.tcp_probe_threshold: tcp_mtu_probe() stops searching once search_high − search_low is below it.</summary>
    public int TcpProbeThreshold { get; private set; }
    /// <summary>net.ipv4.tcp_probe_interval (seconds): tcp_mtu_check_reprobe() restarts a finished search this long after the last start.</summary>
    public uint TcpProbeInterval { get; private set; }
    public long TcpMaxOrphans { get; private set; }
    public long TcpMaxTwBuckets { get; private set; }
    /// <summary>
    /// The TIME-WAIT count at which inet_twsk_alloc() — net/ipv4/inet_timewait_sock.c — refuses a timewait socket; null
    /// for none. 6.x tests <c>refcount_read(&amp;dr->tw_refcount) - 1 >= sysctl_max_tw_buckets</c>, an unsigned int
    /// against the int: a negative tcp_max_tw_buckets is above every count. linux-4.4's <c>atomic_read(&amp;dr->tw_count)
    /// >= sysctl_max_tw_buckets</c> is int against int: a negative one keeps none.
    /// </summary>
    public long? TimeWaitLimit { get; private set; }
    public int TcpTwReuse { get; private set; }
    public int TcpTwReuseDelayMs { get; private set; }
    /// <summary>net.ipv4.tcp_min_snd_mss: __tcp_mtu_to_mss()'s floor of the send MSS (5.2; linux-4.4's is the constant 48).</summary>
    public int TcpMinSndMss { get; private set; }
    public bool TcpTwRecycle { get; private set; }
    public bool TcpTimestamps { get; private set; }
    public bool TcpSack { get; private set; }
    /// <summary>net.ipv4.tcp_ecn: 1 asks for ECN in a SYN (tcp_ecn_send_syn()); 1 and 2 agree to a SYN that asks (tcp_ecn_create_request()).</summary>
    public int TcpEcn { get; private set; }
    /// <summary>net.ipv4.tcp_ecn_fallback: a retransmitted SYN no longer asks for ECN (tcp_ecn_clear_syn()).</summary>
    public bool TcpEcnFallback { get; private set; }
    /// <summary>net.ipv4.tcp_dsack: send D-SACKs (tcp_dsack_set()).</summary>
    public bool TcpDsack { get; private set; }
    /// <summary>net.ipv4.tcp_retrans_collapse: a short retransmission takes in the segments after it (tcp_retrans_try_collapse()).</summary>
    public bool TcpRetransCollapse { get; private set; }
    public int TcpEarlyRetrans { get; private set; }
    public bool TcpRfc1337 { get; private set; }
    public int TcpKeepaliveTimeSec { get; private set; }
    public int TcpKeepaliveIntvlSec { get; private set; }
    public int TcpKeepaliveProbes { get; private set; }
    public int PortRangeLow { get; private set; }
    public int PortRangeHigh { get; private set; }
    public IReadOnlyList<long> ReservedPorts { get; private set; } = [];
    public bool IpAutobindReuse { get; private set; }
    public long TcpRtoMinUs { get; private set; }
    public long TcpRtoMaxMs { get; private set; }
    /// <summary>net.ipv4.tcp_comp_sack_delay_ns: the longest a compressed SACK waits (__tcp_ack_snd_check()).</summary>
    public long TcpCompSackDelayNs { get; private set; }
    /// <summary>net.ipv4.tcp_comp_sack_slack_ns: the compressed-SACK hrtimer's slack (hrtimer_start_range_ns()).</summary>
    public long TcpCompSackSlackNs { get; private set; }
    /// <summary>net.ipv4.tcp_comp_sack_nr: the most ACKs compressed into one (0: none; always 0 on linux-4.4).</summary>
    public int TcpCompSackNr { get; private set; }
    /// <summary>net.ipv4.tcp_backlog_ack_defer: an ACK due now while the backlog is handled waits for tcp_release_cb() (never on linux-4.4).</summary>
    public bool TcpBacklogAckDefer { get; private set; }
    /// <summary>net.ipv4.tcp_pingpong_thresh: quick replies that make a connection interactive (inet_csk_in_pingpong_mode()).</summary>
    public int TcpPingpongThresh { get; private set; }
    public long TcpInvalidRatelimitMs { get; private set; }
    public int TcpSynRetries { get; private set; }
    public int TcpSynackRetries { get; private set; }
    public int TcpSynLinearTimeouts { get; private set; }
    public bool TcpAbortOnOverflow { get; private set; }
    /// <summary>net.ipv4.tcp_migrate_req (5.14+): a closed SO_REUSEPORT listener's children and requests move to another listener of its group.</summary>
    public bool TcpMigrateReq { get; private set; }
    /// <summary>net.ipv4.tcp_syncookies: 0 no cookies, 1 cookies when the SYN queue is full, 2 cookies for every SYN.</summary>
    public int TcpSyncookies { get; private set; }
    public long WmemMax { get; private set; }
    public long RmemMax { get; private set; }
    public IReadOnlyList<long> TcpMem { get; private set; } = [];
    public IReadOnlyList<long> TcpRmem { get; private set; } = [];
    public IReadOnlyList<long> TcpWmem { get; private set; } = [];
    public int Somaxconn { get; private set; }
    /// <summary>net.ipv4.tcp_congestion_control: the module new sockets get (tcp_assign_congestion_control()).</summary>
    public CongestionAlgorithm TcpCongestionControl { get; private set; }
    /// <summary>net.ipv4.tcp_slow_start_after_idle.</summary>
    public bool TcpSlowStartAfterIdle { get; private set; }
    /// <summary>net.ipv4.tcp_window_scaling.</summary>
    public bool TcpWindowScaling { get; private set; }
    /// <summary>net.ipv4.tcp_shrink_window (6.5+; linux-4.4 never shrinks the offered window).</summary>
    public bool TcpShrinkWindow { get; private set; }
    /// <summary>net.ipv4.tcp_workaround_signed_windows: initial windows, and unscaled ones always, at most MAX_TCP_WINDOW (32767).</summary>
    public bool TcpWorkaroundSignedWindows { get; private set; }
    /// <summary>net.ipv4.tcp_app_win.</summary>
    public int TcpAppWin { get; private set; }
    /// <summary>net.ipv4.tcp_moderate_rcvbuf.</summary>
    public bool TcpModerateRcvbuf { get; private set; }
    /// <summary>net.ipv4.tcp_thin_linear_timeouts.</summary>
    public bool TcpThinLinearTimeouts { get; private set; }
    /// <summary>net.ipv4.tcp_frto.</summary>
    public bool TcpFrto { get; private set; }
    /// <summary>net.core.message_cost: net_ratelimit_state.interval, in seconds.</summary>
    public long NetMessageCostSec { get; private set; }
    /// <summary>net.core.message_burst: net_ratelimit_state.burst.</summary>
    public long NetMessageBurst { get; private set; }
    /// <summary>net.ipv4.tcp_max_syn_backlog.</summary>
    public int TcpMaxSynBacklog { get; private set; }
    /// <summary>net.ipv4.tcp_notsent_lowat: tcp_notsent_lowat()'s value for a socket without TCP_NOTSENT_LOWAT (UINT_MAX).</summary>
    public uint TcpNotsentLowat { get; private set; }
    /// <summary>
    /// net.ipv4.tcp_recovery: TCP_RACK_STATIC_REO_WND (0x2, tcp_rack_update_reo_wnd() keeps one step) and
    /// TCP_RACK_NO_DUPTHRESH (0x4, tcp_rack_reo_wnd() keeps its window with tp->reordering segments SACKed).
    /// </summary>
    public int TcpRecovery { get; private set; }
    /// <summary>net.ipv4.tcp_reordering: tp->reordering of a new socket (tcp_init_sock()).</summary>
    public int TcpReordering { get; private set; }
    /// <summary>net.ipv4.tcp_max_reordering: the most tp->reordering may grow to.</summary>
    public int TcpMaxReordering { get; private set; }
    /// <summary>net.ipv4.tcp_min_rtt_wlen: the windowed min-RTT filter's length in seconds (linux-4.4: none, the minimum is kept).</summary>
    public int TcpMinRttWlenSec { get; private set; }

    /// <summary>An unsigned long sysctl's value, at most long.MaxValue.</summary>
    static long Unsigned(long bits) => bits < 0 ? long.MaxValue : bits;

    /// <summary>Re-reads the typed values the engine uses on hot paths (after every write).</summary>
    void RefreshTyped()
    {
        TcpFinTimeoutSec = (int)Get("net.ipv4.tcp_fin_timeout");
        TcpOrphanRetries = (int)Get("net.ipv4.tcp_orphan_retries");
        TcpRetries2 = (int)Get("net.ipv4.tcp_retries2");
        TcpRetries1 = (int)Get("net.ipv4.tcp_retries1");
        TcpMtuProbing = (int)Get("net.ipv4.tcp_mtu_probing");
        TcpBaseMss = (int)Get("net.ipv4.tcp_base_mss");
        TcpMtuProbeFloor = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_mtu_probe_floor") : 0;
        TcpProbeThreshold = (int)Get("net.ipv4.tcp_probe_threshold");
        TcpProbeInterval = (uint)Get("net.ipv4.tcp_probe_interval");
        TcpMaxOrphans = Get("net.ipv4.tcp_max_orphans");
        TcpMaxTwBuckets = Get("net.ipv4.tcp_max_tw_buckets");
        TimeWaitLimit = TcpMaxTwBuckets >= 0 ? TcpMaxTwBuckets : Profile == KernelProfile.Linux44 ? 0 : null;
        TcpTwReuse = (int)Get("net.ipv4.tcp_tw_reuse");
        TcpTwReuseDelayMs = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_tw_reuse_delay") : 1000;
        TcpMinSndMss = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_min_snd_mss") : TcpConstants.MinSndMss;
        TcpTwRecycle = Profile == KernelProfile.Linux44 && Get("net.ipv4.tcp_tw_recycle") != 0;
        TcpTimestamps = Get("net.ipv4.tcp_timestamps") != 0;
        TcpSack = Get("net.ipv4.tcp_sack") != 0;
        TcpEcn = (int)Get("net.ipv4.tcp_ecn");
        TcpEcnFallback = Get("net.ipv4.tcp_ecn_fallback") != 0;
        TcpDsack = Get("net.ipv4.tcp_dsack") != 0;
        TcpRetransCollapse = Get("net.ipv4.tcp_retrans_collapse") != 0;
        TcpEarlyRetrans = (int)Get("net.ipv4.tcp_early_retrans");
        TcpRfc1337 = Get("net.ipv4.tcp_rfc1337") != 0;
        TcpKeepaliveTimeSec = (int)Get("net.ipv4.tcp_keepalive_time");
        TcpKeepaliveIntvlSec = (int)Get("net.ipv4.tcp_keepalive_intvl");
        TcpKeepaliveProbes = (int)Get("net.ipv4.tcp_keepalive_probes");
        PortRangeLow = (int)GetVector("net.ipv4.ip_local_port_range")[0];
        PortRangeHigh = (int)GetVector("net.ipv4.ip_local_port_range")[1];
        ReservedPorts = GetVector("net.ipv4.ip_local_reserved_ports");
        IpAutobindReuse = Profile == KernelProfile.Linux6 && Get("net.ipv4.ip_autobind_reuse") != 0; // 5.7+
        TcpRtoMinUs = Profile == KernelProfile.Linux6 ? Get("net.ipv4.tcp_rto_min_us") : 200_000;
        TcpRtoMaxMs = Profile == KernelProfile.Linux6 ? Get("net.ipv4.tcp_rto_max_ms") : 120_000;
        // linux-4.4 has no SACK compression (added in 4.20): nr 0 sends every ACK at once.
        // Both are unsigned long: __tcp_ack_snd_check() takes min_t(unsigned long, delay, 5 % of the RTT) and
        // hrtimer_start_range_ns() adds the slack with ktime_add_safe(), which stops at KTIME_MAX: from 2^63 on either
        // acts as the largest time.
        TcpCompSackDelayNs = Profile == KernelProfile.Linux6 ? Unsigned(Get("net.ipv4.tcp_comp_sack_delay_ns")) : 0;
        TcpCompSackSlackNs = Profile == KernelProfile.Linux6 ? Unsigned(Get("net.ipv4.tcp_comp_sack_slack_ns")) : 0;
        TcpCompSackNr = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_comp_sack_nr") : 0;
        TcpBacklogAckDefer = Profile == KernelProfile.Linux6 && Get("net.ipv4.tcp_backlog_ack_defer") != 0;
        TcpPingpongThresh = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_pingpong_thresh") : 1;
        TcpInvalidRatelimitMs = Get("net.ipv4.tcp_invalid_ratelimit");
        TcpSynRetries = (int)Get("net.ipv4.tcp_syn_retries");
        TcpSynackRetries = (int)Get("net.ipv4.tcp_synack_retries");
        TcpSynLinearTimeouts = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_syn_linear_timeouts") : 0;
        TcpAbortOnOverflow = Get("net.ipv4.tcp_abort_on_overflow") != 0;
        TcpMigrateReq = Profile == KernelProfile.Linux6 && Get("net.ipv4.tcp_migrate_req") != 0;
        TcpSyncookies = (int)Get("net.ipv4.tcp_syncookies");
        WmemMax = Get("net.core.wmem_max");
        RmemMax = Get("net.core.rmem_max");
        TcpMem = GetVector("net.ipv4.tcp_mem");
        TcpRmem = GetVector("net.ipv4.tcp_rmem");
        TcpWmem = GetVector("net.ipv4.tcp_wmem");
        Somaxconn = (int)Get("net.core.somaxconn");
        TcpCongestionControl = (CongestionAlgorithm)Get("net.ipv4.tcp_congestion_control");
        TcpSlowStartAfterIdle = Get("net.ipv4.tcp_slow_start_after_idle") != 0;
        TcpWindowScaling = Get("net.ipv4.tcp_window_scaling") != 0;
        TcpShrinkWindow = Profile == KernelProfile.Linux6 && Get("net.ipv4.tcp_shrink_window") != 0;
        TcpWorkaroundSignedWindows = Get("net.ipv4.tcp_workaround_signed_windows") != 0;
        TcpAppWin = (int)Get("net.ipv4.tcp_app_win");
        TcpModerateRcvbuf = Get("net.ipv4.tcp_moderate_rcvbuf") != 0;
        TcpThinLinearTimeouts = Get("net.ipv4.tcp_thin_linear_timeouts") != 0;
        TcpFrto = Get("net.ipv4.tcp_frto") != 0;
        NetMessageCostSec = Get("net.core.message_cost");
        NetMessageBurst = Get("net.core.message_burst");
        TcpMaxSynBacklog = (int)Get("net.ipv4.tcp_max_syn_backlog");
        TcpNotsentLowat = (uint)Get("net.ipv4.tcp_notsent_lowat");
        TcpRecovery = (int)Get("net.ipv4.tcp_recovery");
        TcpReordering = (int)Get("net.ipv4.tcp_reordering");
        TcpMaxReordering = (int)Get("net.ipv4.tcp_max_reordering");
        TcpMinRttWlenSec = Profile == KernelProfile.Linux6 ? (int)Get("net.ipv4.tcp_min_rtt_wlen") : -1;
    }
}
