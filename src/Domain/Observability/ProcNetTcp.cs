using System.Buffers.Binary;
using System.Text;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Observability;

/// <summary>
/// /proc/net/tcp and /proc/net/tcp6 as net/ipv4/tcp_ipv4.c (tcp4_seq_show) and
/// net/ipv6/tcp_ipv6.c (tcp6_seq_show) print them. The simulator has no users, inodes or kernel
/// pointers: uid is 0, a socket with a descriptor shows its socket id as its inode, and %pK
/// prints zeros as it does for a reader without CAP_SYSLOG.
/// </summary>
public static class ProcNetTcp
{
    /// <summary>TMPSZ − 1: tcp4_seq_show() pads every line to this width (seq_setwidth + seq_pad).</summary>
    const int LineWidth = 149;

    const string Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

    /// <summary>%pK for a reader without CAP_SYSLOG (kptr_restrict = 1).</summary>
    const string HiddenPointer = "0000000000000000";

    /// <summary>tcp6_seq_show()'s header line; the simulator has no IPv6 sockets.</summary>
    public const string Tcp6 =
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    /// <summary>Models tcp4_seq_show(): the header, then one line per socket in tcp_seq_next() order.</summary>
    public static string Format(Host host)
    {
        var sb = new StringBuilder();
        AppendPadded(sb, Header);
        var rows = SocketListing.Rows(host);
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            AppendPadded(sb, row.Kind switch
            {
                SocketRowKind.Full => FullSocket(host, row, i),
                SocketRowKind.Request => OpenRequest(host, row, i),
                _ => TimeWaitSocket(host, row, i),
            });
        }
        return sb.ToString();
    }

    /// <summary>
    /// Models get_tcp4_sock(): "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d
    /// %pK %lu %lu %u %u %d" — queues (write_seq − snd_una; rcv_nxt − copied_seq or the accept
    /// queue), timer code and clock_t left, retransmits, uid, probes, inode, refcount, pointer,
    /// rto and ato in clock_t, (quick &lt;&lt; 1) | pingpong, cwnd, and ssthresh (−1 in initial slow
    /// start; a listener's fastopen max_qlen, 0).
    /// </summary>
    static string FullSocket(Host host, SocketRow row, int i)
    {
        var sk = host.Sim.FindSocket(row.SocketId) ?? throw new InvalidOperationException($"listed socket {row.SocketId} is unknown");
        var info = sk.Info;
        bool listen = sk.State == TcpState.Listen;
        uint txQueue = sk.WriteSeq - sk.SndUna;
        int last = listen ? 0 : info.SndSsthresh >= TcpInfo.InfiniteSsthresh ? -1 : info.SndSsthresh;
        return $"{Prefix(row, i, (int)sk.State)} {txQueue:X8}:{(uint)row.RecvQ:X8} {sk.ProcTimerCode:X2}:{When(host, row):X8} " +
               $"{(uint)sk.Retransmits:X8} {0,5} {sk.ProbesOut,8} {row.Inode} {sk.RefCount} {HiddenPointer} " +
               $"{KernelClock.ToClockTicks(sk.Rto)} {KernelClock.ToClockTicks(SimDuration.FromMicroseconds(info.AtoUs))} {sk.AckQuickPingPong} {info.SndCwnd} {last}";
    }

    /// <summary>
    /// Models get_openreq4(): state TCP_SYN_RECV, queues 0, timer 1 (the SYN-ACK timer) with its
    /// clock_t left, num_timeout, the listener's uid, and 0 for timeout, inode and refcount.
    /// </summary>
    static string OpenRequest(Host host, SocketRow row, int i) =>
        $"{Prefix(row, i, (int)TcpState.SynRecv)} {0:X8}:{0:X8} {1:X2}:{When(host, row):X8} {(uint)row.NumTimeout:X8} {0,5} {0,8} 0 0 {HiddenPointer}";

    /// <summary>
    /// Models get_timewait4_sock(): the substate (06, or 05 for a parked FIN_WAIT2), queues 0,
    /// timer 3 with its clock_t left, zeros, and tw_refcnt (3: inet_twsk_hashdance_schedule()).
    /// </summary>
    static string TimeWaitSocket(Host host, SocketRow row, int i) =>
        $"{Prefix(row, i, (int)row.State)} {0:X8}:{0:X8} {3:X2}:{When(host, row):X8} {0:X8} {0,5} {0,8} 0 3 {HiddenPointer}";

    /// <summary>jiffies_delta_to_clock_t(expires − jiffies); 0 without a timer (get_tcp4_sock uses expires = jiffies).</summary>
    static long When(Host host, SocketRow row) =>
        row.TimerName is null ? 0 : KernelClock.ToClockTicks(KernelClock.JiffiesLeft(row.TimerExpires, host.Sim.Now));

    /// <summary>"%4d: %08X:%04X %08X:%04X %02X": slot, addresses and ports, state.</summary>
    static string Prefix(SocketRow row, int i, int state) =>
        $"{i,4}: {Address(row.Local.Address)}:{row.Local.Port:X4} {Address(row.Remote.Address)}:{row.Remote.Port:X4} {state:X2}";

    /// <summary>The __be32 address printed with %08X on a little-endian machine: 10.0.0.1 → 0100000A.</summary>
    public static string Address(IPv4 address) => BinaryPrimitives.ReverseEndianness(address.Value).ToString("X8");

    static void AppendPadded(StringBuilder sb, string line) => sb.Append(line.PadRight(LineWidth)).Append('\n');
}
