using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>Constants of include/net/tcp.h (Linux 6.18), each with the kernel's name.</summary>
public static class TcpConstants
{
    /// <summary>TCP_TIMEWAIT_LEN: TIME_WAIT lifetime, hard-coded (tcp_fin_timeout does not change it).</summary>
    public static readonly SimDuration TimeWaitLen = SimDuration.FromSeconds(60);
    /// <summary>TCP_FIN_TIMEOUT_MAX: the clamp for TCP_LINGER2.</summary>
    public const int FinTimeoutMaxSec = 120;
    /// <summary>TCP_RTO_MIN: 200 ms; also the base of tcp_model_timeout().</summary>
    public static readonly SimDuration RtoMin = SimDuration.FromMilliseconds(200);
    /// <summary>TCP_TIMEOUT_INIT: RTO before any RTT sample.</summary>
    public static readonly SimDuration TimeoutInit = SimDuration.FromSeconds(1);
    /// <summary>TCP_ORPHAN_TIMER_PERIOD — net/ipv4/tcp.c (5.16+): msecs_to_jiffies(100), tcp_orphan_timer's period.</summary>
    public static readonly SimDuration OrphanTimerPeriod = SimDuration.FromMilliseconds(100);
    /// <summary>TCP_TIMEOUT_FALLBACK: first data RTO when the handshake needed retransmission.</summary>
    public static readonly SimDuration TimeoutFallback = SimDuration.FromSeconds(3);
    /// <summary>TCP_DELACK_MAX.</summary>
    public static readonly SimDuration DelackMax = SimDuration.FromMilliseconds(200);
    /// <summary>TCP_ATO_MIN (= TCP_DELACK_MIN, HZ/25).</summary>
    public static readonly SimDuration AtoMin = SimDuration.FromMilliseconds(40);
    /// <summary>TCP_TIMEOUT_MIN_US: 2 ms, the floor RACK adds to its reordering timer (tcp_rack_mark_lost()).</summary>
    public const long TimeoutMinUs = 2000;
    /// <summary>TCP_TIMEOUT_MIN: 2 jiffies, the floor of tcp_clamp_probe0_to_user_timeout().</summary>
    public const long TimeoutMinJiffies = 2;
    /// <summary>TCP_MIN_GSO_SIZE: the smallest gso_size, with which tcp_skb_shift() bounds a SACK-joined skb to 65535 of them.</summary>
    public const int MinGsoSize = 8;
    /// <summary>MAX_TCP_OPTION_SPACE: a 60-byte TCP header less its 20 fixed bytes.</summary>
    public const int MaxOptionBytes = 40;
    /// <summary>TCP_RESOURCE_PROBE_INTERVAL.</summary>
    public static readonly SimDuration ResourceProbeInterval = SimDuration.FromMilliseconds(500);
    /// <summary>TW buckets armed with a timeout of at most 4 s count as TWKilled, not TW (inet_twsk_schedule).</summary>
    public static readonly SimDuration TwKillThreshold = SimDuration.FromSeconds(4);
    /// <summary>TCP_MAX_QUICKACKS.</summary>
    public const int MaxQuickAcks = 16;
    /// <summary>TCP_PAWS_MSL (seconds).</summary>
    public const int PawsMslSec = 60;
    /// <summary>MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL.</summary>
    public const int MaxKeepIdle = 32767;
    /// <summary>MAX_TCP_KEEPCNT.</summary>
    public const int MaxKeepCnt = 127;
    /// <summary>TCP_THIN_LINEAR_RETRIES.</summary>
    public const int ThinLinearRetries = 6;
    /// <summary>
    /// ipv4_default_advmss() of an Ethernet route: <see cref="Network.Host.EthernetMtu"/> 1500 less the IPv4 and TCP
    /// headers = 1460; 1448 payload bytes per segment with the timestamp option.
    /// </summary>
    public const int EthernetMss = Network.Host.EthernetMtu - Network.Host.Ipv4TcpHeaders;
    public const int TimestampOptionBytes = 12;
    /// <summary>TCP_MSS_DEFAULT: the peer's MSS when its SYN carries no MSS option (RFC 1122's 536).</summary>
    public const int MssDefault = 536;
    /// <summary>sysctl_tcp_min_snd_mss's default (TCP_MIN_SND_MSS): the floor of the send MSS.</summary>
    public const int MinSndMss = 48;
    /// <summary>TCP_MIN_MSS: the smallest rcv_mss tcp_initialize_rcv_mss() guesses.</summary>
    public const int MinMss = 88;
    /// <summary>TCP_RMEM_TO_WIN_SCALE: scaling_ratio is a fraction of 1 &lt;&lt; 8.</summary>
    public const int RmemToWinScale = 8;
    /// <summary>TCP_DEFAULT_SCALING_RATIO (6.10+): 1 &lt;&lt; (TCP_RMEM_TO_WIN_SCALE − 1), a 50 % len/truesize guess.</summary>
    public const int DefaultScalingRatio = 1 << (RmemToWinScale - 1);
    /// <summary>TCP_MAX_WSCALE: the largest window scale (RFC 7323 §2.3).</summary>
    public const int MaxWscale = 14;
    /// <summary>TCP_INIT_CWND.</summary>
    public const int InitCwnd = 10;
    /// <summary>U16_MAX: the largest window field (the kernel's 65535U in tcp_select_window(), tcp_make_synack()).</summary>
    public const int MaxTcpWindow = 65535;
    /// <summary>MAX_TCP_WINDOW — include/net/tcp.h (32767U): the window tcp_workaround_signed_windows keeps to.</summary>
    public const int MaxSignedWindow = 32767;
    /// <summary>
    /// MAX_TCP_HEADER on the judged Linux 6.18.44 (x86_64, 64-byte cache lines): L1_CACHE_ALIGN(128 + MAX_HEADER)
    /// = L1_CACHE_ALIGN(128 + 32) = 192 bytes (include/net/tcp.h). MAX_HEADER is LL_MAX_HEADER (32) because its
    /// config has no CONFIG_WLAN/AX25/HYPERV_NET (include/linux/netdevice.h) and no IPv4/IPv6 tunnel headroom
    /// (CONFIG_NET_IPIP, CONFIG_NET_IPGRE, CONFIG_IPV6_SIT, CONFIG_IPV6_TUNNEL unset); observed on Linux 6.18.44 as
    /// SO_SNDBUF 46080 with a 1460-byte MSS (2 · 10 · (2048 + 256)).
    /// </summary>
    public const int MaxTcpHeader = 192;
    /// <summary>
    /// MAX_TCP_HEADER the linux-4.4 profile keeps (not observed): 320 bytes, L1_CACHE_ALIGN(128 + MAX_HEADER) on a
    /// distro config with Hyper-V networking (LL_MAX_HEADER 128) and IP tunnels (MAX_HEADER = LL_MAX_HEADER + 48):
    /// L1_CACHE_ALIGN(304) = 320.
    /// </summary>
    public const int MaxTcpHeader44 = 320;
    /// <summary>L1_CACHE_BYTES on x86_64 (CONFIG_X86_L1_CACHE_SHIFT 6).</summary>
    public const int L1CacheBytes = 64;
    /// <summary>SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86_64: 320 bytes.</summary>
    public const int SkbSharedInfoSize = 320;
    /// <summary>SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86_64: 232 bytes aligned to 256.</summary>
    public const int SkBuffSize = 256;
    /// <summary>NET_SKB_PAD on x86_64: max(32, L1_CACHE_BYTES), the headroom a receive buffer keeps before the packet.</summary>
    public const int NetSkbPad = 64;
    /// <summary>TCP_FASTRETRANS_THRESH — include/net/tcp.h: duplicate ACKs that mean a loss; SACK compression sends that many at once.</summary>
    public const int FastRetransThresh = 3;
    /// <summary>sysctl_tcp_reordering's default (TCP_FASTRETRANS_THRESH): tp->reordering of a new socket.</summary>
    public const int DefaultReordering = FastRetransThresh;
    /// <summary>sysctl_tcp_max_reordering's default: the most tcp_check_reno_reordering() raises tp->reordering to.</summary>
    public const int MaxReordering = 300;
    /// <summary>TCP_RACK_RECOVERY_THRESH — include/net/tcp.h: recoveries a D-SACK-widened RACK window is kept for.</summary>
    public const int RackRecoveryThresh = 16;
    /// <summary>TCP_RACK_STATIC_REO_WND — include/net/tcp.h: net.ipv4.tcp_recovery bit, "use static RACK reo wnd".</summary>
    public const int RackStaticReoWnd = 0x2;
    /// <summary>TCP_RACK_NO_DUPTHRESH — include/net/tcp.h: net.ipv4.tcp_recovery bit, "do not use DUPACK threshold in RACK".</summary>
    public const int RackNoDupthresh = 0x4;
    /// <summary>SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF (sock.h): 2 × (2048 + skb overhead).</summary>
    public const int SockMinSndBuf = 4608;
    public const int SockMinRcvBuf = 2304;

    /// <summary>
    /// Models tcp_model_timeout() — net/ipv4/tcp_timer.c: the time budget of
    /// <paramref name="boundary"/> retransmissions with exponential backoff from
    /// <paramref name="rtoBase"/>, linear once the backoff reaches <paramref name="rtoMax"/>.
    /// </summary>
    public static SimDuration ModelTimeout(int boundary, SimDuration rtoBase, SimDuration rtoMax)
    {
        int thresh = 0;
        for (long r = rtoMax.Ns / rtoBase.Ns; r > 1; r >>= 1) thresh++; // ilog2
        if (boundary <= thresh) return new SimDuration(((2L << boundary) - 1) * rtoBase.Ns);
        return new SimDuration(((2L << thresh) - 1) * rtoBase.Ns + (boundary - thresh) * rtoMax.Ns);
    }
}
