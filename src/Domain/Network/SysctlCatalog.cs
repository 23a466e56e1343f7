using System.Collections.Frozen;
using System.Globalization;
using SimService.Domain.Engine;
using SimService.Domain.Tcp;

namespace SimService.Domain.Network;

/// <summary>How a sysctl's text is read, as the kernel's proc handler reads it.</summary>
public enum SysctlKind
{
    /// <summary>One integer (proc_dointvec / proc_dointvec_minmax / proc_dou8vec_minmax / *_jiffies).</summary>
    Integer,
    /// <summary>Several integers separated by white space (tcp_mem, tcp_rmem, tcp_wmem).</summary>
    IntegerVector,
    /// <summary>"low high" (ipv4_local_port_range).</summary>
    PortRange,
    /// <summary>Comma-separated ports and ranges, "1,2-4,10-10" (proc_do_large_bitmap).</summary>
    PortList,
    /// <summary>
    /// One name out of <see cref="SysctlDefinition.Choices"/>, held as its index (proc_tcp_congestion_control: a
    /// registered congestion control module's name, else ENOENT).
    /// </summary>
    Name,
}

public enum SysctlScope
{
    /// <summary>Per network namespace, i.e. per simulated host.</summary>
    Netns,
    /// <summary>Host-global in Linux (not even visible inside a child netns); per simulated host here.</summary>
    Global,
}

/// <summary>One sysctl the simulator knows: its real name, the kernel's default, and the kernel's bounds.</summary>
public sealed record SysctlDefinition(
    string Name,
    SysctlKind Kind,
    string Default,
    long Min,
    long Max,
    SysctlScope Scope = SysctlScope.Netns,
    int VectorLength = 1,
    KernelProfile? OnlyIn = null,
    IReadOnlyList<string>? Choices = null,
    SysctlHandler Handler = SysctlHandler.Signed,
    string? DefaultOnly = null,
    IReadOnlyList<long>? AlsoRuns = null);

/// <summary>
/// How a numeric sysctl's proc handler converts each number that proc_get_long() read (kernel/sysctl.c): the sign it takes
/// and the range it holds. Every one reads the text alike (<see cref="ProcText"/>).
/// </summary>
public enum SysctlHandler
{
    /// <summary>proc_dointvec, proc_dointvec_minmax, proc_dointvec_jiffies: an int, "-0" is 0; the bounds are Min..Max.</summary>
    Signed,
    /// <summary>
    /// proc_douintvec(_minmax), proc_dou8vec_minmax: any '-' is refused, even "-0" (EINVAL); Min..Max. On linux-4.4, whose
    /// handlers for these were all proc_dointvec(_minmax), "-0" is 0.
    /// </summary>
    Unsigned,
    /// <summary>proc_doulongvec_minmax without bounds: 0..ULONG_MAX, no sign; held as the long of the same 64 bits.</summary>
    ULong,
    /// <summary>proc_dointvec_ms_jiffies: see <see cref="SysctlCatalog"/>'s MsJiffiesValue().</summary>
    MsJiffies,
}

/// <summary>
/// The sysctls of the simulated kernel. Defaults are Linux 6.18's as a freshly booted
/// machine reports them in /proc/sys; bounds are those of the proc handlers in
/// net/ipv4/sysctl_net_ipv4.c and net/core/sysctl_net_core.c, so a value the kernel refuses with
/// EINVAL is refused here too.
/// </summary>
public static class SysctlCatalog
{
    const long IntMax = int.MaxValue;
    const long IntMin = int.MinValue;
    const int Hz = 250;
    /// <summary>proc_dointvec_jiffies refuses a magnitude above INT_MAX / HZ (do_proc_dointvec_jiffies_conv), either sign.</summary>
    const long JiffiesSecMax = IntMax / Hz;
    /// <summary>proc_dou8vec_minmax's range when extra1/extra2 do not narrow it (negative text is refused too).</summary>
    const long U8Max = 255;
    /// <summary>SOCK_MIN_SNDBUF = 2 * TCP_SKB_MIN_TRUESIZE (2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff))) on x86-64.</summary>
    const long SockMinSndbuf = 4608;
    /// <summary>SOCK_MIN_RCVBUF = TCP_SKB_MIN_TRUESIZE.</summary>
    const long SockMinRcvbuf = 2304;

    // Bounds: the proc handler of each entry in net/ipv4/sysctl_net_ipv4.c and net/core/sysctl_net_core.c
    // (Linux 6.18). proc_dointvec accepts any int; *_minmax refuse values outside extra1..extra2
    // (EINVAL for int handlers, ERANGE for the uint/u8 ones: either way the write is refused).
    public static readonly FrozenDictionary<string, SysctlDefinition> All = new SysctlDefinition[]
    {
        // proc_dointvec_jiffies
        new("net.ipv4.tcp_fin_timeout", SysctlKind.Integer, "60", -JiffiesSecMax, JiffiesSecMax),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_orphan_retries", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra2 = &tcp_retr1_max (255)
        new("net.ipv4.tcp_retries1", SysctlKind.Integer, "3", 0, 255, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax (tcp_retrans_try_collapse())
        new("net.ipv4.tcp_retrans_collapse", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_retries2", SysctlKind.Integer, "15", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dointvec
        new("net.ipv4.tcp_max_orphans", SysctlKind.Integer, "131072", IntMin, IntMax, SysctlScope.Global),
        // proc_doulongvec_minmax, no extra: 0..ULONG_MAX, negative refused (held here as long)
        new("net.ipv4.tcp_mem", SysctlKind.IntegerVector, "287898 383866 575796", 0, long.MaxValue, SysctlScope.Global, 3, Handler: SysctlHandler.ULong),
        // proc_dointvec_minmax, extra1 = SYSCTL_ONE. tcp_init() — net/ipv4/tcp.c: {PAGE_SIZE, 131072,
        // max(131072, min(32 MB, limit))} with limit = nr_free_buffer_pages() << (PAGE_SHIFT - 7), i.e. 1/128 of the
        // buffer memory; 32 MB since 6.16 ("tcp: increase tcp_rmem[2] to 32 MB", was 6 MB), reached from 4 GiB of
        // buffer pages — this host's tcp_mem (nr_free_buffer_pages() / 16 = 383866) means 6,141,856 pages (23.4 GiB).
        new("net.ipv4.tcp_rmem", SysctlKind.IntegerVector, "4096 131072 33554432", 1, IntMax, SysctlScope.Netns, 3),
        // proc_dointvec_minmax, extra1 = SYSCTL_ONE. tcp_init(): {PAGE_SIZE, 16 KB, max(64 KB, min(4 MB, limit))}: 4 MB
        // from 512 MiB of buffer pages.
        new("net.ipv4.tcp_wmem", SysctlKind.IntegerVector, "4096 16384 4194304", 1, IntMax, SysctlScope.Netns, 3),
        // proc_dointvec_minmax, extra1 = &min_rcvbuf (SOCK_MIN_RCVBUF). 4 << 20 since 6.18 ("net: set
        // net.core.rmem_max and net.core.wmem_max to 4 MB"; SK_RMEM_MAX 212992 before), observed on Linux 6.18.44.
        new("net.core.rmem_max", SysctlKind.Integer, "4194304", SockMinRcvbuf, IntMax, SysctlScope.Global),
        // proc_dointvec_minmax, extra1 = &min_sndbuf (SOCK_MIN_SNDBUF); 4 << 20 since 6.18, as rmem_max.
        new("net.core.wmem_max", SysctlKind.Integer, "4194304", SockMinSndbuf, IntMax, SysctlScope.Global),
        // proc_dointvec
        new("net.ipv4.tcp_max_tw_buckets", SysctlKind.Integer, "131072", IntMin, IntMax),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_TWO
        new("net.ipv4.tcp_tw_reuse", SysctlKind.Integer, "2", 0, 2, Handler: SysctlHandler.Unsigned),
        // proc_douintvec_minmax, extra1 = SYSCTL_ONE, extra2 = &tcp_tw_reuse_delay_max (TCP_PAWS_MSL * MSEC_PER_SEC)
        new("net.ipv4.tcp_tw_reuse_delay", SysctlKind.Integer, "1000", 1, 60000, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // 4.4: proc_dointvec (removed in 4.12)
        new("net.ipv4.tcp_tw_recycle", SysctlKind.Integer, "0", IntMin, IntMax, OnlyIn: KernelProfile.Linux44),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_timestamps", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_sack", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax (tcp_dsack_set(), tcp_send_dupack())
        new("net.ipv4.tcp_dsack", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_window_scaling", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_ONE (6.5+: "tcp: enforce receive buffer memory limits by
        // allowing the tcp window to shrink")
        new("net.ipv4.tcp_shrink_window", SysctlKind.Integer, "0", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax without extra1/extra2 (4.4: proc_dointvec); tcp_sk_init(): 0. tcp_select_initial_window()
        // caps rcv_wnd at MAX_TCP_WINDOW (32767) when set, tcp_select_window() an unscaled window's field. Linux 6.18.44
        // takes 0..255 and refuses 256, -1 and -0.
        new("net.ipv4.tcp_workaround_signed_windows", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dointvec_minmax, extra1 = &tcp_adv_win_scale_min (-31), extra2 = &tcp_adv_win_scale_max (31); tcp_sk_init():
        // 1. Obsolete since 6.6 ("tcp: get rid of sysctl_tcp_adv_win_scale"): tcp_win_from_space() uses the socket's
        // scaling_ratio and 6.18's TCP reads the sysctl nowhere. Linux 6.18.44 takes -31..31 and -0, refuses -32 and 32.
        // linux-4.4's tcp_win_from_space() reads it and the engine's 4.4 profile models scaling_ratio instead: refused there.
        new("net.ipv4.tcp_adv_win_scale", SysctlKind.Integer, "1", -31, 31, OnlyIn: KernelProfile.Linux6),
        // Taken and without effect on what the engine models (Linux 6.18.44 takes 0..255, refuses 256, -1 and -0;
        // tcp_l3mdev_accept 0..1): tcp_fack is read by nothing since 4.15 ("tcp: retire FACK loss detection"; linux-4.4's
        // FACK is not modelled: refused there); tcp_early_demux picks tcp_v4_early_demux(), a socket lookup before the
        // route, which tcp_v4_rcv() makes anyway; tcp_fwmark_accept gives an accepted socket the SYN's skb->mark, always 0
        // here (no netfilter, no SO_MARK); tcp_l3mdev_accept (4.14+) matters only with a VRF device.
        new("net.ipv4.tcp_fack", SysctlKind.Integer, "0", 0, U8Max, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        new("net.ipv4.tcp_early_demux", SysctlKind.Integer, "1", 0, U8Max, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        new("net.ipv4.tcp_fwmark_accept", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        new("net.ipv4.tcp_l3mdev_accept", SysctlKind.Integer, "0", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = &tcp_app_win_max (31)
        new("net.ipv4.tcp_app_win", SysctlKind.Integer, "31", 0, 31, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax without extra1/extra2 on Linux 6.18.44 (0x10 and 255 are taken, 256 refused); read as a bool
        new("net.ipv4.tcp_moderate_rcvbuf", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_FOUR
        new("net.ipv4.tcp_early_retrans", SysctlKind.Integer, "3", 0, 4, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax (tcp_enter_loss(): tp->frto, F-RTO RFC 5682)
        new("net.ipv4.tcp_frto", SysctlKind.Integer, "2", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax: RACK's bits (tcp_rack_reo_wnd(), tcp_rack_update_reo_wnd()); 0x1 no longer switches anything
        new("net.ipv4.tcp_recovery", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_rfc1337", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dointvec_jiffies
        new("net.ipv4.tcp_keepalive_time", SysctlKind.Integer, "7200", -JiffiesSecMax, JiffiesSecMax),
        // proc_dointvec_jiffies
        new("net.ipv4.tcp_keepalive_intvl", SysctlKind.Integer, "75", -JiffiesSecMax, JiffiesSecMax),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_keepalive_probes", SysctlKind.Integer, "9", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // ipv4_local_port_range: proc_dointvec_minmax over ip_local_port_range_min/max {1,1}..{65535,65535},
        // then EINVAL if high < low or (4.11+) low < ip_unprivileged_port_start (SysctlTable checks the latter; 4.4's
        // ipv4_local_port_range() tests only range[1] < range[0])
        new("net.ipv4.ip_local_port_range", SysctlKind.PortRange, "32768 60999", 1, 65535, VectorLength: 2),
        // proc_do_large_bitmap over 65536 bits
        new("net.ipv4.ip_local_reserved_ports", SysctlKind.PortList, "", 0, 65535),
        // ipv4_privileged_ports: proc_dointvec_minmax over ip_privileged_port_min/max (0..65535), then EINVAL
        // if the port range's low end is below it. 4.11's sysctl_ip_prot_sock: 4.4's ipv4_net_table has no such entry.
        new("net.ipv4.ip_unprivileged_port_start", SysctlKind.Integer, "1024", 0, 65535, OnlyIn: KernelProfile.Linux6),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_ONE. 5.7's (inet_csk_find_open_port()'s relax pass).
        new("net.ipv4.ip_autobind_reuse", SysctlKind.Integer, "0", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dointvec_minmax, extra1 = SYSCTL_ONE
        new("net.ipv4.tcp_rto_min_us", SysctlKind.Integer, "200000", 1, IntMax, OnlyIn: KernelProfile.Linux6),
        // proc_dointvec_minmax, extra1 = SYSCTL_ONE_THOUSAND, extra2 = &tcp_rto_max_max (TCP_RTO_MAX_SEC * MSEC_PER_SEC)
        new("net.ipv4.tcp_rto_max_ms", SysctlKind.Integer, "120000", 1000, 120000, OnlyIn: KernelProfile.Linux6),
        // SACK compression (4.20+): __tcp_ack_snd_check() / tcp_compressed_ack_kick(). tcp_sk_init() (6.18):
        // delay NSEC_PER_MSEC, slack 100 * NSEC_PER_USEC, nr 44 (6.19 changed the slack to 10 µs). The two times are
        // proc_doulongvec_minmax without bounds (0..ULONG_MAX, held here as long); nr is proc_dou8vec_minmax,
        // extra1 = SYSCTL_ZERO, extra2 = &comp_sack_nr_max (255).
        new("net.ipv4.tcp_comp_sack_delay_ns", SysctlKind.Integer, "1000000", 0, long.MaxValue, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.ULong),
        new("net.ipv4.tcp_comp_sack_slack_ns", SysctlKind.Integer, "100000", 0, long.MaxValue, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.ULong),
        new("net.ipv4.tcp_comp_sack_nr", SysctlKind.Integer, "44", 0, 255, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_ONE (6.7+); tcp_sk_init(): 1. __tcp_ack_snd_check()
        // defers an ACK due now while __release_sock() runs (TCP_ACK_DEFERRED) to tcp_release_cb().
        new("net.ipv4.tcp_backlog_ack_defer", SysctlKind.Integer, "1", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ONE (6.5+); tcp_sk_init(): 1. inet_csk_in_pingpong_mode()'s threshold.
        new("net.ipv4.tcp_pingpong_thresh", SysctlKind.Integer, "1", 1, 255, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dointvec_ms_jiffies (bounds in MsJiffiesValue(): the text is cut to an unsigned int first)
        new("net.ipv4.tcp_invalid_ratelimit", SysctlKind.Integer, "500", 0, IntMax + 1, Handler: SysctlHandler.MsJiffies),
        // proc_dointvec
        new("net.ipv4.tcp_challenge_ack_limit", SysctlKind.Integer, "2147483647", IntMin, IntMax),
        // proc_dou8vec_minmax, extra1 = &tcp_syn_retries_min (1), extra2 = &tcp_syn_retries_max (MAX_TCP_SYNCNT = 127)
        new("net.ipv4.tcp_syn_retries", SysctlKind.Integer, "6", 1, 127, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_synack_retries", SysctlKind.Integer, "5", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = &tcp_syn_linear_timeouts_max (MAX_TCP_SYNCNT)
        new("net.ipv4.tcp_syn_linear_timeouts", SysctlKind.Integer, "4", 0, 127, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax (4.4: proc_dointvec); tcp_sk_init(): 1. 0 never, 1 when the SYN queue is full, 2 always.
        new("net.ipv4.tcp_syncookies", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_abort_on_overflow", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax, extra1 = SYSCTL_ZERO, extra2 = SYSCTL_ONE
        new("net.ipv4.tcp_migrate_req", SysctlKind.Integer, "0", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_douintvec_minmax, extra1 = SYSCTL_ZERO, extra2 = &tcp_child_ehash_entries_max (16M); 6.1+
        new("net.ipv4.tcp_child_ehash_entries", SysctlKind.Integer, "0", 0, 16 * 1024 * 1024, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax
        new("net.ipv4.tcp_thin_linear_timeouts", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax (4.4: proc_dointvec); tcp_update_metrics() saves nothing when set
        new("net.ipv4.tcp_no_metrics_save", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax (linux-4.4: proc_dointvec — any int; the u8 bounds are kept for both profiles)
        new("net.ipv4.tcp_slow_start_after_idle", SysctlKind.Integer, "1", 0, U8Max, Handler: SysctlHandler.Unsigned),
        // proc_dointvec. tcp_set_hashinfo(): max(128, ehash_entries / 128) — 2048 beside tcp_max_tw_buckets' 131072
        // (ehash_entries / 2), observed on Linux 6.18.44; linux-4.4's tcp_init() divided by 256 (1024).
        new("net.ipv4.tcp_max_syn_backlog", SysctlKind.Integer, "2048", IntMin, IntMax),
        // net_core_table: net_ratelimit_state.interval (proc_dointvec_jiffies, seconds) and .burst (proc_dointvec),
        // DEFINE_RATELIMIT_STATE(net_ratelimit_state, 5 * HZ, 10) — net/core/utils.c.
        new("net.core.message_cost", SysctlKind.Integer, "5", -JiffiesSecMax, JiffiesSecMax, SysctlScope.Global),
        new("net.core.message_burst", SysctlKind.Integer, "10", IntMin, IntMax, SysctlScope.Global),
        // proc_dointvec_minmax, extra1 = SYSCTL_ZERO
        new("net.core.somaxconn", SysctlKind.Integer, "4096", 0, IntMax),
        // proc_douintvec (4.4: a global proc_dointvec); tcp_sk_init(): UINT_MAX. tcp_notsent_lowat() — include/net/tcp.h: the
        // limit of a socket without TCP_NOTSENT_LOWAT.
        new("net.ipv4.tcp_notsent_lowat", SysctlKind.Integer, "4294967295", 0, uint.MaxValue, Handler: SysctlHandler.Unsigned),
        // proc_dointvec upstream (SysctlTable narrows both on linux-6, as Linux 6.18.44 does); tcp_sk_init():
        // TCP_FASTRETRANS_THRESH. tcp_init_sock(): a new socket's tp->reordering.
        new("net.ipv4.tcp_reordering", SysctlKind.Integer, "3", IntMin, IntMax),
        // proc_dointvec upstream; tcp_sk_init(): 300. The cap of tp->reordering (tcp_check_sack_reordering(),
        // tcp_check_reno_reordering()).
        new("net.ipv4.tcp_max_reordering", SysctlKind.Integer, "300", IntMin, IntMax),
        // proc_dointvec_minmax, extra1 = SYSCTL_ZERO, extra2 = &one_day_secs; tcp_sk_init(): 300. The min-RTT filter's
        // window in seconds (tcp_update_rtt_min(), since 4.6).
        new("net.ipv4.tcp_min_rtt_wlen", SysctlKind.Integer, "300", 0, 86400, OnlyIn: KernelProfile.Linux6),
        // Taken at the kernel's default only (DefaultOnly: what a different value changes, which the engine does not model;
        // any other value the kernel takes is refused with that reason). Bounds and handlers observed on Linux 6.18.44 in
        // a fresh namespace (`unshare -n`: the default, -0, -1, 256 … written one by one). linux-4.4 has the ones without
        // OnlyIn, its handlers all proc_dointvec(_minmax) (the 6.18 bounds are kept, as for tcp_slow_start_after_idle).
        // proc_dou8vec_minmax 0..2 (Linux 6.18.44 refuses 3 and up, the AccECN modes of later kernels: EINVAL). Classic ECN
        // (TcpSocket.Ecn.cs): 1 asks for it in a SYN (tcp_ecn_send_syn(): cubic and reno do not need it, so 2 does not);
        // 1 and 2 agree to a SYN that asks (tcp_ecn_create_request(): ECE on the SYN-ACK); then CWR on the first new data
        // after a cwnd reduction. Nothing modelled marks CE, so no ECE follows the handshake.
        new("net.ipv4.tcp_ecn", SysctlKind.Integer, "2", 0, 2, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax 0..1; tcp_ecn_clear_syn() strips ECE|CWR from a retransmitted SYN that asked for ECN.
        new("net.ipv4.tcp_ecn_fallback", SysctlKind.Integer, "1", 0, 1, Handler: SysctlHandler.Unsigned),
        // proc_dou8vec_minmax 0..1. tcp_should_autocork() holds a small write back while an earlier skb is still in the
        // qdisc or device; the engine's path has always drained, so it sends each push at once — as the kernel does with
        // either value then, and always with 0: both run alike.
        new("net.ipv4.tcp_autocorking", SysctlKind.Integer, "1", 0, 1, Handler: SysctlHandler.Unsigned),
        new("net.ipv4.tcp_ecn_option", SysctlKind.Integer, "2", 0, 2, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "the AccECN option: AccECN is not modelled"),
        new("net.ipv4.tcp_ecn_option_beacon", SysctlKind.Integer, "3", 0, 3, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "the AccECN option: AccECN is not modelled"),
        new("net.ipv4.tcp_fastopen", SysctlKind.Integer, "1", IntMin, IntMax,
            DefaultOnly: "TCP Fast Open: 1 lets a client ask for it (MSG_FASTOPEN, TCP_FASTOPEN_CONNECT), which nothing modelled does; a listener's TFO and a cookie are not modelled"),
        new("net.ipv4.tcp_fastopen_blackhole_timeout_sec", SysctlKind.Integer, "0", 0, IntMax, OnlyIn: KernelProfile.Linux6,
            DefaultOnly: "tcp_fastopen_active_should_disable(): TCP Fast Open is not modelled"),
        new("net.ipv4.tcp_limit_output_bytes", SysctlKind.Integer, "4194304", IntMin, IntMax,
            DefaultOnly: "TCP Small Queues (tcp_small_queue_check()): the engine has no qdisc or device queue for it to bound"),
        new("net.ipv4.tcp_min_tso_segs", SysctlKind.Integer, "2", 1, U8Max, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "tcp_tso_autosize()'s least TSO burst: TSO sizing is modelled at the default only"),
        // 1 is black-hole detection, tcp_mtu_probing() enabling probing and lowering the MSS after tcp_retries1's RTOs;
        // above 1 tcp_mtup_init() enables MTU probing at once (mss_cache at tcp_base_mss's); tcp_mtu_probe() then probes.
        new("net.ipv4.tcp_mtu_probing", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned),
        new("net.ipv4.tcp_probe_interval", SysctlKind.Integer, "600", 0, uint.MaxValue / Hz, Handler: SysctlHandler.Unsigned),
        new("net.ipv4.tcp_probe_threshold", SysctlKind.Integer, "8", IntMin, IntMax),
        new("net.ipv4.tcp_no_ssthresh_metrics_save", SysctlKind.Integer, "1", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "tcp_update_metrics() saving ssthresh in the route cache, and tcp_init_metrics() reading it back: not modelled"),
        new("net.ipv4.tcp_pacing_ca_ratio", SysctlKind.Integer, "120", 0, 1000,
            DefaultOnly: "tcp_update_pacing_rate(): pacing is modelled at the default ratios only"),
        new("net.ipv4.tcp_pacing_ss_ratio", SysctlKind.Integer, "200", 0, 1000,
            DefaultOnly: "tcp_update_pacing_rate(): pacing is modelled at the default ratios only"),
        new("net.ipv4.tcp_tso_rtt_log", SysctlKind.Integer, "9", 0, U8Max, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "tcp_tso_autosize(): TSO sizing is modelled at the default only"),
        new("net.ipv4.tcp_tso_win_divisor", SysctlKind.Integer, "3", 0, U8Max, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "tcp_tso_should_defer(): TSO deferral is modelled at the default only"),
        new("net.ipv4.tcp_plb_enabled", SysctlKind.Integer, "0", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "Protective Load Balancing (tcp_plb_update_state(), needs ECN): not modelled"),
        new("net.ipv4.tcp_plb_idle_rehash_rounds", SysctlKind.Integer, "3", 0, 31, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "Protective Load Balancing: not modelled (tcp_plb_enabled 0: off)"),
        new("net.ipv4.tcp_plb_rehash_rounds", SysctlKind.Integer, "12", 0, 31, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "Protective Load Balancing: not modelled (tcp_plb_enabled 0: off)"),
        new("net.ipv4.tcp_plb_suspend_rto_sec", SysctlKind.Integer, "60", 0, U8Max, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "Protective Load Balancing: not modelled (tcp_plb_enabled 0: off)"),
        new("net.ipv4.tcp_plb_cong_thresh", SysctlKind.Integer, "128", 0, 256, OnlyIn: KernelProfile.Linux6,
            DefaultOnly: "Protective Load Balancing: not modelled (tcp_plb_enabled 0: off)"),
        new("net.ipv4.tcp_reflect_tos", SysctlKind.Integer, "0", 0, 1, OnlyIn: KernelProfile.Linux6, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "a SYN-ACK and an accepted socket taking the SYN's TOS: the engine carries no TOS"),
        new("net.ipv4.tcp_stdurg", SysctlKind.Integer, "0", 0, U8Max, Handler: SysctlHandler.Unsigned,
            DefaultOnly: "RFC 1122's urgent pointer (tcp_check_urg()): urgent data is not modelled"),
        // proc_dointvec; tcp_sk_init(): TCP_BASE_MSS, 1024 (linux-4.4's too: D160). tcp_mtup_init()'s search_low
        // (tcp_mss_to_mtu() of it) and tcp_mtu_probing()'s cap on the halved MSS.
        new("net.ipv4.tcp_base_mss", SysctlKind.Integer, "1024", IntMin, IntMax),
        // proc_dointvec_minmax, extra1 = &tcp_min_snd_mss_min (48), extra2 = &tcp_min_snd_mss_max (65535); 5.4
        // ("tcp: add new tcp_mtu_probe_floor sysctl"): tcp_mtu_probing()'s least MSS.
        new("net.ipv4.tcp_mtu_probe_floor", SysctlKind.Integer, "48", 48, 65535, OnlyIn: KernelProfile.Linux6),
        // proc_dointvec_minmax, extra1 = &tcp_min_snd_mss_min (TCP_MIN_SND_MSS 48), extra2 = &tcp_min_snd_mss_max (65535);
        // 5.2 ("tcp: add tcp_min_snd_mss sysctl"). __tcp_mtu_to_mss()'s floor of the send MSS, before the options.
        new("net.ipv4.tcp_min_snd_mss", SysctlKind.Integer, "48", 48, 65535, OnlyIn: KernelProfile.Linux6),
        // proc_tcp_congestion_control → tcp_set_default_congestion_control(): a registered module's name, else
        // ENOENT. The modules the engine runs, in CongestionAlgorithm's order; CONFIG_DEFAULT_TCP_CONG "cubic".
        new("net.ipv4.tcp_congestion_control", SysctlKind.Name, "cubic", 0, 1, Choices: [.. Enum.GetValues<CongestionAlgorithm>().Select(a => a.ToName())]),
    }.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>The profile's value for a sysctl: 4.4 differs from 6.18 in a few defaults (§11).</summary>
    public static string DefaultFor(SysctlDefinition def, KernelProfile profile) => (profile, def.Name) switch
    {
        (KernelProfile.Linux44, "net.ipv4.tcp_tw_reuse") => "0",
        // v4.4's sysctl_tcp_challenge_ack_limit = 100 (1000 is 4.7's 75ff39ccc1bd, backported to late 4.4.y).
        (KernelProfile.Linux44, "net.ipv4.tcp_challenge_ack_limit") => "100",
        (KernelProfile.Linux44, "net.core.somaxconn") => "128",
        // 4.4's tcp_init(): tcp_rmem[1] = 87380, tcp_rmem[2] = max(87380, min(6 MB, limit)).
        (KernelProfile.Linux44, "net.ipv4.tcp_rmem") => "4096 87380 6291456",
        // SK_RMEM_MAX / SK_WMEM_MAX (256 · SKB_TRUESIZE(256)) until 6.18 raised both to 4 MB.
        (KernelProfile.Linux44, "net.core.rmem_max" or "net.core.wmem_max") => "212992",
        (KernelProfile.Linux44, "net.ipv4.tcp_max_syn_backlog") => "1024",
        // 4.4's tcp_output.c: "Default TSQ limit of four TSO segments", 262144 (1 MB in 4.20, 4 MB in 6.x).
        (KernelProfile.Linux44, "net.ipv4.tcp_limit_output_bytes") => "262144",
        _ => def.Default,
    };

    public static bool Exists(string name, KernelProfile profile) =>
        All.TryGetValue(name, out var def) && (def.OnlyIn is null || def.OnlyIn == profile);

    /// <summary>
    /// The one problem of a sysctl name the profile does not simulate — a request's and a scenario's alike (tester41
    /// MEDIUM-5: the scenario format had words of its own) — or null. Without a profile (a scenario whose profile is
    /// itself wrong), a name some profile simulates is no problem. The scenario format's names are <see cref="All"/>'s.
    /// </summary>
    public static string? NotSimulated(string name, KernelProfile? profile) => profile switch
    {
        null => All.ContainsKey(name) ? null : $"unknown sysctl '{name}'",
        { } p when Exists(name, p) => null,
        KernelProfile.Linux6 when name == "net.ipv4.tcp_tw_recycle" =>
            "net.ipv4.tcp_tw_recycle does not exist in linux-6 (removed in Linux 4.12; the linux-4.4 profile has it)",
        { } p => $"unknown sysctl '{name}' for kernel profile {p.ToWireName()}",
    };

    /// <summary>
    /// Parses and validates a value as the kernel's proc handler would. Returns the values the sysctl then holds or an
    /// error message (the kernel's EINVAL or ENOENT). <paramref name="text"/> is the text written to /proc/sys (a newline
    /// follows it, as `echo` and `sysctl -w` write one). A vector written in part keeps the rest of
    /// <paramref name="current"/> (the profile's default when null), as __do_proc_dointvec() writes element by element;
    /// numbers past the vector's length are not read. Refused, <paramref name="values"/> is what the kernel's sysctl holds
    /// after the write (empty for an unknown name): a vector's numbers before the refused one are written, as
    /// __do_proc_dointvec() and __do_proc_doulongvec_minmax() store each as they read it — the error says so — while
    /// ip_local_port_range keeps its range (ipv4_local_port_range() reads into a range of its own).
    /// </summary>
    public static bool TryParse(string name, KernelProfile profile, string text, out long[] values, out string error,
        IReadOnlyList<long>? current = null)
    {
        if (!TryParseAsKernel(name, profile, text, out values, out error, current)) return false;
        // Every DefaultOnly sysctl is one integer; refused, it keeps the default (nothing else is ever written).
        // AlsoRuns: the values besides the default that run.
        var def = All[name];
        if (def.DefaultOnly is { } unmodelled
            && long.Parse(DefaultFor(def, profile), CultureInfo.InvariantCulture) is var defaultValue
            && values[0] != defaultValue && def.AlsoRuns?.Contains(values[0]) != true)
        {
            error = def.AlsoRuns is { } also
                ? $"{name}: {values[0]} is not simulated, only {string.Join(" and ", also.Append(defaultValue).Order())} run: a different value changes {unmodelled}"
                : $"{name}: {values[0]} is not simulated, only the kernel's default {defaultValue} runs: a different value changes {unmodelled}";
            values = [defaultValue];
            return false;
        }
        return true;
    }

    /// <summary>
    /// Whether the kernel itself takes the text (<see cref="TryParse"/> without the engine's refusal of a DefaultOnly
    /// sysctl's other values): a refused write the kernel takes is one the engine does not model.
    /// </summary>
    public static bool KernelTakes(string name, KernelProfile profile, string text) =>
        TryParseAsKernel(name, profile, text, out _, out _, null);

    static bool TryParseAsKernel(string name, KernelProfile profile, string text, out long[] values, out string error,
        IReadOnlyList<long>? current)
    {
        values = [];
        if (NotSimulated(name, profile) is { } unknown)
        {
            error = unknown;
            return false;
        }
        var def = All[name];
        string written = text + "\n";
        switch (def.Kind)
        {
            case SysctlKind.Integer:
            case SysctlKind.IntegerVector:
            case SysctlKind.PortRange:
                if (!TryParseNumbers(def, profile, written, out values, out error, current))
                {
                    // ipv4_local_port_range() reads into a range of its own and stores it only whole and in order: nothing written.
                    if (def.Kind == SysctlKind.PortRange) KeepRest(def, profile, values, 0, current, false);
                    else if (!values.SequenceEqual(Current(def, profile, current)))
                        error += $" (EINVAL once the numbers before it were written: after this write the kernel's {name} holds "
                            + $"{string.Join(" ", values.Select(v => def.Handler == SysctlHandler.ULong ? unchecked((ulong)v).ToString(CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture)))}; "
                            + "refused whole here, as any refused input)";
                    return false;
                }
                if (def.Kind == SysctlKind.PortRange && values[0] > values[1])
                {
                    error = $"{name}: low {values[0]} is above high {values[1]} (ipv4_local_port_range)";
                    KeepRest(def, profile, values, 0, current, false);
                    return false;
                }
                break;
            case SysctlKind.Name:
                // proc_dostring(): the text up to the first newline or NUL, nothing trimmed (" cubic": ENOENT).
                var word = written[..written.IndexOfAny(['\n', '\0'])];
                int index = def.Choices!.ToList().IndexOf(word);
                if (index < 0)
                {
                    error = $"{name}: no congestion control '{word}' (ENOENT; available: {string.Join(" ", def.Choices!)})";
                    return false;
                }
                values = [index];
                break;
            case SysctlKind.PortList:
                if (!TryParseBitmap(name, written, out values, out error)) return false;
                break;
        }
        error = "";
        return true;
    }

    /// <summary>
    /// Reads a sysctl text from a stored command or scenario: as <see cref="TryParse"/> does, and a text it refuses that the
    /// decimal reader of sessions up to 29 took (<c>"08"</c>, <c>"+5"</c>, <c>"-0"</c> on an unsigned sysctl,
    /// <c>" cubic"</c>, <c>"1, 2"</c>, a <c>tcp_rmem</c> below 4096) as that reader took it — so a simulation stored
    /// before the kernel's reading (docs/kernel-check.md D73) rebuilds with the values it ran with. A text both read
    /// alike is read the kernel's way (<c>"010"</c> is 8 now: a fix that changes an answer, as every engine fix may).
    /// A linux-4.4 simulation stored before session 33 may have written a sysctl 4.4 does not have
    /// (<see cref="LinuxSixOnlySince33"/>): it rebuilds with the value taken as linux-6 reads it, which no linux-4.4 rule reads.
    /// </summary>
    public static bool TryParseStored(string name, KernelProfile profile, string text, out long[] values, out string error,
        IReadOnlyList<long>? current = null) =>
        TryParse(name, profile, text, out values, out error, current)
        || (TryParseDecimal(name, profile, text, out var taken) && Taken(taken, out values, out error))
        || (profile == KernelProfile.Linux44 && LinuxSixOnlySince33.Contains(name)
            && TryParse(name, KernelProfile.Linux6, text, out values, out _, current));

    /// <summary>The sysctls the linux-4.4 profile took until session 33 although 4.4 has neither (4.11's and 5.7's).</summary>
    static readonly FrozenSet<string> LinuxSixOnlySince33 =
        FrozenSet.ToFrozenSet(["net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_autobind_reuse"], StringComparer.Ordinal);

    static bool Taken(long[] taken, out long[] values, out string error)
    {
        values = taken;
        error = "";
        return true;
    }

    /// <summary>The reader of sessions up to 29: white-space-separated decimal numbers within the catalog's bounds, a
    /// trimmed congestion control name, a comma-separated port list. Kept only for <see cref="TryParseStored"/>.</summary>
    static bool TryParseDecimal(string name, KernelProfile profile, string text, out long[] values)
    {
        values = [];
        // A DefaultOnly sysctl was unknown before session 38: no stored simulation wrote one.
        if (!All.TryGetValue(name, out var def) || (def.OnlyIn is not null && def.OnlyIn != profile) || def.DefaultOnly is not null) return false;
        var parts = def.Kind == SysctlKind.PortList
            ? text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : text.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        switch (def.Kind)
        {
            case SysctlKind.Name:
                int index = def.Choices!.ToList().IndexOf(text.Trim());
                values = [index];
                return index >= 0;
            case SysctlKind.PortList:
                var ports = new SortedSet<long>();
                foreach (var part in parts)
                {
                    var ends = part.Split('-');
                    if (ends.Length > 2
                        || !int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out var lo)
                        || !int.TryParse(ends[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var hi)
                        || lo > hi || hi > 65535) return false;
                    for (long port = lo; port <= hi; port++) ports.Add(port);
                }
                values = [.. ports];
                return true;
            default:
                if (parts.Length != def.VectorLength || def.Handler == SysctlHandler.MsJiffies) return false;
                values = new long[parts.Length];
                for (int i = 0; i < parts.Length; i++)
                    if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i])
                        || values[i] < def.Min || values[i] > def.Max) return false;
                return def.Kind != SysctlKind.PortRange || values[0] <= values[1];
        }
    }

    /// <summary>
    /// __do_proc_dointvec(), __do_proc_doulongvec_minmax(), do_proc_douintvec_w(): for each element, proc_skip_spaces(),
    /// stop at the end (nothing read at all: EINVAL), proc_get_long(), then the handler's conversion and bounds. Each
    /// element is stored as it is read (<c>*i = val</c>, do_proc_dointvec_minmax_conv()'s <c>*valp = tmp</c>), so a
    /// refused one ends the write with EINVAL after those before it were written: on failure <paramref name="values"/> is
    /// what the vector holds then (Linux 6.18.44: tcp_rmem "8192 99999 -5" leaves 8192 99999 33554432, tcp_mem "a b -1"
    /// a new tcp_mem[0]).
    /// </summary>
    static bool TryParseNumbers(SysctlDefinition def, KernelProfile profile, string written, out long[] values, out string error,
        IReadOnlyList<long>? current)
    {
        values = new long[def.VectorLength];
        int read = 0, pos = 0;
        for (; read < def.VectorLength; read++)
        {
            ProcText.SkipSpaces(written, ref pos);
            if (pos == written.Length) break;
            var word = ProcText.WordAt(written, pos);
            if (!ProcText.GetLong(written, ref pos, ProcText.WhitespaceSeparators, out ulong magnitude, out bool negative))
            {
                error = $"{def.Name}: '{word}' is not an integer";
                return KeepRest(def, profile, values, read, current, false);
            }
            if (!Convert(def, profile, magnitude, negative, out values[read]))
            {
                error = def.Handler == SysctlHandler.MsJiffies
                    ? $"{def.Name}: '{word}' is not a number of milliseconds below 2^31 once cut to 32 bits (proc_dointvec_ms_jiffies)"
                    : $"{def.Name}: '{word}' is outside {MinFor(def, profile)}..{(def.Handler == SysctlHandler.ULong ? ulong.MaxValue : (ulong)MaxFor(def, profile))}"
                        + (negative && magnitude == 0 && RefusesAnyMinus(def, profile) ? " (an unsigned handler refuses any '-')" : "");
                return KeepRest(def, profile, values, read, current, false);
            }
        }
        error = read == 0 ? $"{def.Name}: no number written" : "";
        return KeepRest(def, profile, values, read, current, read > 0);
    }

    /// <summary>The elements from <paramref name="from"/> on keep <paramref name="current"/>'s values (the default's when null); returns <paramref name="result"/>.</summary>
    static bool KeepRest(SysctlDefinition def, KernelProfile profile, long[] values, int from, IReadOnlyList<long>? current, bool result)
    {
        if (from < def.VectorLength)
        {
            var rest = Current(def, profile, current);
            for (int i = from; i < def.VectorLength; i++) values[i] = rest[i];
        }
        return result;
    }

    /// <summary>The values a sysctl holds before a write: <paramref name="current"/>, or the profile's default when null.</summary>
    static IReadOnlyList<long> Current(SysctlDefinition def, KernelProfile profile, IReadOnlyList<long>? current) =>
        current ?? (TryParse(def.Name, profile, DefaultFor(def, profile), out var defaults, out _)
            ? defaults : throw new InvalidOperationException($"bad built-in default of {def.Name}"));

    /// <summary>The handler's conversion of one number proc_get_long() read: do_proc_dointvec_conv() and the rest.</summary>
    static bool Convert(SysctlDefinition def, KernelProfile profile, ulong magnitude, bool negative, out long value)
    {
        value = 0;
        switch (def.Handler)
        {
            case SysctlHandler.MsJiffies:
                return MsJiffiesValue(magnitude, negative, out value);
            case SysctlHandler.ULong:
                // __do_proc_doulongvec_minmax(): a '-' is EINVAL; the 64 bits are kept (tcp_mem is a long array: from 2^63
                // on it holds a negative limit, printed back unsigned).
                value = unchecked((long)magnitude);
                return !negative;
            // do_proc_douintvec_w(): "if (err || neg)", even for -0. linux-4.4 has neither proc_douintvec (4.13) nor
            // proc_dou8vec_minmax (5.13): each of these was a proc_dointvec or proc_dointvec_minmax there, whose
            // do_proc_dointvec_conv() / do_proc_dointvec_minmax_conv() take "-0" as 0 (the bounds below refuse the rest).
            case SysctlHandler.Unsigned when negative && RefusesAnyMinus(def, profile):
                return false;
        }
        if (magnitude > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue)) return false;
        value = negative ? unchecked(-(long)magnitude) : (long)magnitude;
        return value >= MinFor(def, profile) && value <= MaxFor(def, profile);
    }

    /// <summary>Whether the handler refuses a '-' before its number, even "-0": the unsigned ones (on linux-6).</summary>
    static bool RefusesAnyMinus(SysctlDefinition def, KernelProfile profile) =>
        def.Handler == SysctlHandler.ULong || (def.Handler == SysctlHandler.Unsigned && profile == KernelProfile.Linux6);

    /// <summary>
    /// The least value a sysctl takes: its handler's, but Linux 6.18.44 (the observed machine) refuses each of tcp_rmem's
    /// three below 4096 (4095: EINVAL) where upstream's table says extra1 = SYSCTL_ONE; linux-4.4's tcp_tw_reuse is a
    /// plain proc_dointvec (any int: <see cref="MaxFor"/>), and so are its tcp_mtu_probing and tcp_probe_interval (4.1's
    /// netns entries; u8 / proc_douintvec_minmax came later).
    /// </summary>
    static long MinFor(SysctlDefinition def, KernelProfile profile) => (profile, def.Name) switch
    {
        (KernelProfile.Linux6, "net.ipv4.tcp_rmem") => 4096,
        (KernelProfile.Linux44, "net.ipv4.tcp_tw_reuse" or "net.ipv4.tcp_mtu_probing" or "net.ipv4.tcp_probe_interval") => IntMin,
        _ => def.Min,
    };

    /// <summary>
    /// The greatest value a sysctl takes: its handler's, but linux-4.4's tcp_tw_reuse is proc_dointvec without bounds
    /// (4.4's ipv4_table); 4.19 made it proc_dointvec_minmax 0..2 (6.x: proc_dou8vec_minmax 0..2).
    /// </summary>
    static long MaxFor(SysctlDefinition def, KernelProfile profile) =>
        profile == KernelProfile.Linux44 && def.Name is "net.ipv4.tcp_tw_reuse" or "net.ipv4.tcp_mtu_probing" or "net.ipv4.tcp_probe_interval"
            ? IntMax : def.Max;

    /// <summary>
    /// proc_do_large_bitmap(): numbers and ranges ("1-3") split by ',' or a newline, each read by proc_get_long() (hex and
    /// octal too; a space is no separator: "16 17" is EINVAL), below 65536, no sign, a range's low end not above its high.
    /// </summary>
    static bool TryParseBitmap(string name, string written, out long[] values, out string error)
    {
        values = [];
        var cover = new int[65537]; // +1 where a range starts, −1 past its end: linear in the text however wide its ranges
        int pos = 0;
        ProcText.SkipChar(written, ref pos, '\n');
        while (pos < written.Length)
        {
            int start = pos;
            if (!ProcText.GetLong(written, ref pos, "-,\n", out ulong low, out bool negative) || negative || low > 65535)
                return BadPort(name, written, start, out error);
            ulong high = low;
            if (pos < written.Length && written[pos++] == '-')
            {
                if (!ProcText.GetLong(written, ref pos, ",\n", out high, out negative) || negative || high > 65535 || low > high)
                    return BadPort(name, written, start, out error);
                if (pos < written.Length) pos++; // the ',' or newline after the range
            }
            cover[low]++;
            cover[high + 1]--;
            ProcText.SkipChar(written, ref pos, '\n');
        }
        var ports = new List<long>();
        for (int port = 0, depth = 0; port <= 65535; port++)
            if ((depth += cover[port]) > 0) ports.Add(port);
        values = [.. ports];
        error = "";
        return true;
    }

    static bool BadPort(string name, string written, int start, out string error)
    {
        int end = written.IndexOfAny([',', '\n'], start);
        error = $"{name}: '{written[start..(end < 0 ? written.Length : end)]}' is not a port or port range within 0..65535";
        return false;
    }

    /// <summary>
    /// proc_dointvec_ms_jiffies() — kernel/sysctl.c: proc_get_long() takes a sign and up to ULONG_MAX; then
    /// do_proc_dointvec_ms_jiffies_conv() hands <c>-lval</c> or <c>lval</c> to msecs_to_jiffies(const unsigned int m), so
    /// only the low 32 bits count; <c>(int)m &lt; 0</c> gives MAX_JIFFY_OFFSET, above INT_MAX: EINVAL. The int holds
    /// jiffies (rounded up, HZ 250), and /proc/sys prints jiffies_to_msecs() of them: 1 reads back as 4, and
    /// 2147483647, 4294967296 and -2147483649 are taken (as 2147483648, 0 and 2147483648; observed on Linux 6.18.44).
    /// </summary>
    static bool MsJiffiesValue(ulong magnitude, bool negative, out long ms)
    {
        ms = 0;
        uint m = unchecked((uint)(negative ? 0 - magnitude : magnitude));
        if ((int)m < 0) return false;
        long jiffies = ((long)m + (1000 / Hz) - 1) / (1000 / Hz); // msecs_to_jiffies(), HZ dividing 1000
        ms = jiffies * (1000 / Hz);
        return true;
    }
}
