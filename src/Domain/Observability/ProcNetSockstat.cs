using SimService.Domain.Network;

namespace SimService.Domain.Observability;

/// <summary>/proc/net/sockstat and /proc/net/sockstat6 as Linux 6.18 prints them.</summary>
public static class ProcNetSockstat
{
    /// <summary>
    /// Models sockstat_seq_show() — net/ipv4/proc.c, after socket_seq_show()'s "sockets: used"
    /// (sock_inuse_get: the namespace's allocated sockets, all of them TCP here). TCP: inuse
    /// (hashed full sockets), orphan, tw (tw_refcount − 1: timewait sockets of both substates),
    /// alloc, mem (pages charged to TCP, proto_memory_allocated); other protocols are not modelled
    /// and print 0.
    /// </summary>
    public static string Format(Host host) =>
        $"sockets: used {host.Allocated}\n" +
        $"TCP: inuse {host.InUse} orphan {host.OrphanCount} tw {host.TimeWaitCount} alloc {host.Allocated} mem {host.TcpMemPages}\n" +
        "UDP: inuse 0 mem 0\n" +
        "UDPLITE: inuse 0\n" +
        "RAW: inuse 0\n" +
        "FRAG: inuse 0 memory 0\n";

    /// <summary>sockstat6_seq_show() — net/ipv6/proc.c; the simulator has no IPv6 sockets.</summary>
    public const string Sockstat6 =
        "TCP6: inuse 0\n" +
        "UDP6: inuse 0\n" +
        "UDPLITE6: inuse 0\n" +
        "RAW6: inuse 0\n" +
        "FRAG6: inuse 0 memory 0\n";
}
