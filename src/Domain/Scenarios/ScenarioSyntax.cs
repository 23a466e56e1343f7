using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace SimService.Domain.Scenarios;

/// <summary>
/// The syntax rules of docs/scenario.schema.json that are patterns or lists. Every pattern ends in
/// \z, not $, so that a trailing newline is refused as the schema's ECMA-262 regexes refuse it.
/// </summary>
internal static partial class ScenarioSyntax
{
    /// <summary>The sysctl names the format accepts (the schema's sysctlValues.propertyNames).</summary>
    public static readonly FrozenSet<string> SysctlNames = FrozenSet.ToFrozenSet(
    [
        "net.core.message_burst", "net.core.message_cost", "net.core.rmem_default", "net.core.rmem_max", "net.core.somaxconn", "net.core.wmem_default",
        "net.core.wmem_max", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_adv_win_scale",
        "net.ipv4.tcp_allowed_congestion_control", "net.ipv4.tcp_app_win", "net.ipv4.tcp_autocorking",
        "net.ipv4.tcp_backlog_ack_defer", "net.ipv4.tcp_base_mss", "net.ipv4.tcp_challenge_ack_limit",
        "net.ipv4.tcp_child_ehash_entries", "net.ipv4.tcp_comp_sack_delay_ns", "net.ipv4.tcp_comp_sack_nr",
        "net.ipv4.tcp_comp_sack_slack_ns", "net.ipv4.tcp_congestion_control", "net.ipv4.tcp_dsack",
        "net.ipv4.tcp_early_demux", "net.ipv4.tcp_early_retrans", "net.ipv4.tcp_ecn",
        "net.ipv4.tcp_ecn_fallback", "net.ipv4.tcp_ecn_option", "net.ipv4.tcp_ecn_option_beacon",
        "net.ipv4.tcp_fack", "net.ipv4.tcp_fastopen", "net.ipv4.tcp_fastopen_blackhole_timeout_sec",
        "net.ipv4.tcp_fastopen_key", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_frto",
        "net.ipv4.tcp_fwmark_accept", "net.ipv4.tcp_invalid_ratelimit", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_l3mdev_accept",
        "net.ipv4.tcp_limit_output_bytes", "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_max_reordering",
        "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_mem",
        "net.ipv4.tcp_migrate_req", "net.ipv4.tcp_min_rtt_wlen", "net.ipv4.tcp_min_snd_mss",
        "net.ipv4.tcp_min_tso_segs", "net.ipv4.tcp_moderate_rcvbuf", "net.ipv4.tcp_mtu_probe_floor",
        "net.ipv4.tcp_mtu_probing", "net.ipv4.tcp_no_metrics_save", "net.ipv4.tcp_no_ssthresh_metrics_save",
        "net.ipv4.tcp_notsent_lowat", "net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_pacing_ca_ratio",
        "net.ipv4.tcp_pacing_ss_ratio", "net.ipv4.tcp_pingpong_thresh", "net.ipv4.tcp_plb_cong_thresh",
        "net.ipv4.tcp_plb_enabled", "net.ipv4.tcp_plb_idle_rehash_rounds", "net.ipv4.tcp_plb_rehash_rounds",
        "net.ipv4.tcp_plb_suspend_rto_sec", "net.ipv4.tcp_probe_interval", "net.ipv4.tcp_probe_threshold",
        "net.ipv4.tcp_recovery", "net.ipv4.tcp_reflect_tos", "net.ipv4.tcp_reordering",
        "net.ipv4.tcp_retrans_collapse", "net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2",
        "net.ipv4.tcp_rfc1337", "net.ipv4.tcp_rmem", "net.ipv4.tcp_rto_max_ms", "net.ipv4.tcp_rto_min_us",
        "net.ipv4.tcp_sack", "net.ipv4.tcp_shrink_window", "net.ipv4.tcp_slow_start_after_idle",
        "net.ipv4.tcp_stdurg", "net.ipv4.tcp_syn_linear_timeouts", "net.ipv4.tcp_syn_retries",
        "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_thin_linear_timeouts",
        "net.ipv4.tcp_timestamps", "net.ipv4.tcp_tso_rtt_log", "net.ipv4.tcp_tso_win_divisor",
        "net.ipv4.tcp_tw_recycle", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_tw_reuse_delay",
        "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_wmem", "net.ipv4.tcp_workaround_signed_windows",
    ], StringComparer.Ordinal);

    [GeneratedRegex(@"^[a-z0-9-]+\z")]
    public static partial Regex ScenarioName();

    /// <summary>The longest scenario name: the simulation's name it becomes (a simulation's name is 1–200 characters).</summary>
    public const int MaxNameLength = 200;

    [GeneratedRegex(@"^[a-z][a-z0-9-]*\z")]
    public static partial Regex HostName();

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)\z")]
    public static partial Regex Duration();

    [GeneratedRegex(@"^\+?[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)\z")]
    public static partial Regex StepTime();

    /// <summary>
    /// "host:port", port 0–65535 without leading zeros: connect()'s peer (Linux sends a SYN to port 0) and an inject
    /// step's ends (a segment to or from port 0 is one like any other on Linux: no socket has port 0, so tcp_v4_rcv()
    /// answers it with tcp_v4_send_reset(), and a listener answers a SYN from port 0 with a SYN-ACK to port 0).
    /// </summary>
    [GeneratedRegex(@"^(?<host>[a-z][a-z0-9-]*):(?<port>6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)\z")]
    public static partial Regex HostPort();

    /// <summary>"host" or "host:port".</summary>
    [GeneratedRegex(@"^(?<host>[a-z][a-z0-9-]*)(:(?<port>6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?\z")]
    public static partial Regex Endpoint();

    /// <summary>"host:port" where either part may be empty; the host part may be an IPv4 address.</summary>
    [GeneratedRegex(@"^(?<host>[a-z][a-z0-9-]*|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))?:(?<port>6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})?\z")]
    public static partial Regex SockAddr();

    [GeneratedRegex(@"^(?<from>[a-z][a-z0-9-]*)->(?<to>[a-z][a-z0-9-]*)\z")]
    public static partial Regex Direction();

    /// <summary>"TcpExt.NAME", "Tcp.NAME" or nstat's "TcpExtNAME"/"TcpNAME".</summary>
    [GeneratedRegex(@"^(TcpExt|Tcp)\.?[A-Za-z][A-Za-z0-9]*\z")]
    public static partial Regex Counter();
}
