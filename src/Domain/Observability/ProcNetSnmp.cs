using System.Text;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;

namespace SimService.Domain.Observability;

/// <summary>
/// /proc/net/snmp and /proc/net/snmp6 of Linux 6.18 (and linux-4.4's lists): every section the kernel prints, each field
/// in its order (net/ipv4/proc.c, net/ipv6/proc.c; checked against the files on the 6.18.44
/// reference machine). Ip and Tcp counters the simulator keeps come from the host's <see cref="Mib"/>
/// (every TCP segment is an IPv4 datagram); ICMP and UDP traffic is not modelled and prints 0.
/// </summary>
public static class ProcNetSnmp
{
    /// <summary>"Forwarding DefaultTTL", then snmp4_ipstats_list (snmp_seq_show_ipstats).</summary>
    public static readonly IReadOnlyList<string> Ip = MibSection.Names(
        "Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards " +
        "InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs " +
        "FragFails FragCreates OutTransmits");

    /// <summary>snmp4_ipstats_list of linux-4.4: no OutTransmits (IPSTATS_MIB_OUTPKTS printed as such from 6.3).</summary>
    public static readonly IReadOnlyList<string> Ip44 = Ip.Take(Ip.Count - 1).ToArray();

    /// <summary>icmp_put(): InMsgs InErrors InCsumErrors, In+icmpmibmap, OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost, Out+icmpmibmap.</summary>
    public static readonly IReadOnlyList<string> Icmp = MibSection.Names(
        "InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos " +
        "InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors " +
        "OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs " +
        "OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps");

    /// <summary>icmp_put() of linux-4.4: no OutRateLimitGlobal/OutRateLimitHost (ICMP_MIB_RATELIMIT*, 6.0).</summary>
    public static readonly IReadOnlyList<string> Icmp44 = Icmp.Where(n => !n.StartsWith("OutRateLimit", StringComparison.Ordinal)).ToArray();

    /// <summary>snmp4_tcp_list (the same in 4.4 and 6.18).</summary>
    public static readonly IReadOnlyList<string> Tcp = MibSection.Names(
        "RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab " +
        "InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors");

    /// <summary>snmp4_udp_list, printed for Udp and UdpLite.</summary>
    public static readonly IReadOnlyList<string> Udp = MibSection.Names(
        "InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors");

    /// <summary>snmp4_udp_list of linux-4.4: no MemErrors (UDP_MIB_MEMERRORS came later in 4.x).</summary>
    public static readonly IReadOnlyList<string> Udp44 = Udp.Take(Udp.Count - 1).ToArray();

    /// <summary>
    /// snmp6_seq_show(): snmp6_ipstats_list, snmp6_icmp6_list and the named ICMPv6 types
    /// (snmp6_seq_show_icmpv6msg; the numbered "Icmp6InTypeN" lines only appear when non-zero),
    /// snmp6_udp6_list, snmp6_udplite6_list.
    /// </summary>
    public static readonly IReadOnlyList<string> Snmp6Fields = MibSection.Names(
        "Ip6InReceives Ip6InHdrErrors Ip6InTooBigErrors Ip6InNoRoutes Ip6InAddrErrors Ip6InUnknownProtos " +
        "Ip6InTruncatedPkts Ip6InDiscards Ip6InDelivers Ip6OutForwDatagrams Ip6OutRequests Ip6OutDiscards " +
        "Ip6OutNoRoutes Ip6ReasmTimeout Ip6ReasmReqds Ip6ReasmOKs Ip6ReasmFails Ip6FragOKs Ip6FragFails " +
        "Ip6FragCreates Ip6InMcastPkts Ip6OutMcastPkts Ip6InOctets Ip6OutOctets Ip6InMcastOctets " +
        "Ip6OutMcastOctets Ip6InBcastOctets Ip6OutBcastOctets Ip6InNoECTPkts Ip6InECT1Pkts Ip6InECT0Pkts " +
        "Ip6InCEPkts Ip6OutTransmits Icmp6InMsgs Icmp6InErrors Icmp6OutMsgs Icmp6OutErrors Icmp6InCsumErrors " +
        "Icmp6OutRateLimitHost Icmp6InDestUnreachs Icmp6InPktTooBigs Icmp6InTimeExcds Icmp6InParmProblems " +
        "Icmp6InEchos Icmp6InEchoReplies Icmp6InGroupMembQueries Icmp6InGroupMembResponses " +
        "Icmp6InGroupMembReductions Icmp6InRouterSolicits Icmp6InRouterAdvertisements Icmp6InNeighborSolicits " +
        "Icmp6InNeighborAdvertisements Icmp6InRedirects Icmp6InMLDv2Reports Icmp6OutDestUnreachs " +
        "Icmp6OutPktTooBigs Icmp6OutTimeExcds Icmp6OutParmProblems Icmp6OutEchos Icmp6OutEchoReplies " +
        "Icmp6OutGroupMembQueries Icmp6OutGroupMembResponses Icmp6OutGroupMembReductions " +
        "Icmp6OutRouterSolicits Icmp6OutRouterAdvertisements Icmp6OutNeighborSolicits " +
        "Icmp6OutNeighborAdvertisements Icmp6OutRedirects Icmp6OutMLDv2Reports Udp6InDatagrams Udp6NoPorts " +
        "Udp6InErrors Udp6OutDatagrams Udp6RcvbufErrors Udp6SndbufErrors Udp6InCsumErrors Udp6IgnoredMulti " +
        "Udp6MemErrors UdpLite6InDatagrams UdpLite6NoPorts UdpLite6InErrors UdpLite6OutDatagrams " +
        "UdpLite6RcvbufErrors UdpLite6SndbufErrors UdpLite6InCsumErrors UdpLite6MemErrors");

    /// <summary>
    /// Models snmp_seq_show(): Ip (Forwarding 2 = not a router, DefaultTTL 64, the datagram counters), Icmp, no IcmpMsg
    /// lines (icmpmsg_put() prints only non-zero types), Tcp, Udp and UdpLite; each list the profile's kernel's.
    /// </summary>
    public static string Format(Host host)
    {
        bool legacy = host.Sim.Profile == KernelProfile.Linux44;
        var sb = new StringBuilder();
        MibSection.Append(sb, "Ip", legacy ? Ip44 : Ip, name => name switch
        {
            "Forwarding" => 2,
            "DefaultTTL" => 64,
            _ => Mib.TryFind("Ip", name, out var c) ? host.Mib[c] : 0,
        });
        MibSection.Append(sb, "Icmp", legacy ? Icmp44 : Icmp, _ => 0);
        MibSection.Append(sb, "Tcp", Tcp, name => TcpValue(host, name));
        MibSection.Append(sb, "Udp", legacy ? Udp44 : Udp, _ => 0);
        MibSection.Append(sb, "UdpLite", legacy ? Udp44 : Udp, _ => 0);
        return sb.ToString();
    }

    /// <summary>
    /// The Tcp: values. tcp_mib_init() sets RtoAlgorithm 1, RtoMin TCP_RTO_MIN (200 ms), RtoMax
    /// TCP_RTO_MAX (120000 ms) and MaxConn −1 (printed signed). CurrEstab is computed from the
    /// host's sockets as tcp_set_state() keeps it: ESTABLISHED and, since 6.10, CLOSE_WAIT.
    /// </summary>
    static long TcpValue(Host host, string name) =>
        TcpGauge(host, name) ?? (Mib.TryFind("Tcp", name, out var c) ? host.Mib[c] : 0);

    /// <summary>The Tcp: values that are not counters the engine increments (null for the others); InCsumErrors is 0, as no simulated segment is corrupt.</summary>
    public static long? TcpGauge(Host host, string name) => name switch
    {
        "RtoAlgorithm" => 1,
        "RtoMin" => TcpConstants.RtoMin.TotalMilliseconds,
        "RtoMax" => 120_000,
        "MaxConn" => -1,
        "CurrEstab" => host.AllSockets.Count(sk => sk.State == TcpState.Established
            || (sk.State == TcpState.CloseWait && host.Sim.Profile == KernelProfile.Linux6)),
        "InCsumErrors" => 0,
        _ => null,
    };

    /// <summary>
    /// snmp6_seq_show() of linux-4.4: no Ip6OutTransmits (IPSTATS_MIB_OUTPKTS printed as such from 6.3), no
    /// Icmp6OutRateLimitHost (ICMP6_MIB_RATELIMITHOST, 6.0), no Udp6MemErrors / UdpLite6MemErrors (UDP_MIB_MEMERRORS).
    /// </summary>
    public static readonly IReadOnlyList<string> Snmp6Fields44 = Snmp6Fields
        .Where(n => n is not ("Ip6OutTransmits" or "Icmp6OutRateLimitHost" or "Udp6MemErrors" or "UdpLite6MemErrors")).ToArray();

    /// <summary>Models snmp6_seq_show(): "%-32s\t%lu" per field of the profile's kernel, all 0 (no IPv6 traffic).</summary>
    public static string Snmp6(KernelProfile profile)
    {
        var sb = new StringBuilder();
        foreach (var name in profile == KernelProfile.Linux44 ? Snmp6Fields44 : Snmp6Fields) sb.Append(name.PadRight(32)).Append("\t0\n");
        return sb.ToString();
    }
}
