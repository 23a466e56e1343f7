using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Observability;

/// <summary>What kind of kernel object a row shows.</summary>
public enum SocketRowKind
{
    /// <summary>A full socket (listener or connection).</summary>
    Full,
    /// <summary>A request socket (NEW_SYN_RECV).</summary>
    Request,
    /// <summary>A timewait socket (substate TIME_WAIT or FIN_WAIT2).</summary>
    TimeWait,
}

/// <summary>
/// One row of `ss -tanoi` for a host: the state as ss names it (a timewait socket shows its
/// substate), the queues, the `-o` timer with its expiry, and for a full socket its tcp_info
/// (the `-i` line; null for request and timewait sockets, which inet_diag reports without one).
/// <see cref="SocketId"/> is the connection's identity (a timewait row carries the id of the
/// full socket it replaced; a request row has 0). <see cref="TimerCount"/> is inet_diag's idiag_retrans
/// (icsk_retransmits or icsk_probes_out; a request's num_retrans — tcp_req_diag_fill()), and
/// <see cref="NumTimeout"/> a request's num_timeout, which /proc/net/tcp prints instead (get_openreq4()).
/// <see cref="Inode"/> is idiag_inode (sock_i_ino(): the socket id while a descriptor holds it, else 0) and
/// <see cref="Shutdown"/> sk_shutdown as INET_DIAG_SHUTDOWN (bit 0 RCV_SHUTDOWN, bit 1 SEND_SHUTDOWN), −1 where
/// inet_diag sends no such attribute (timewait and request sockets). <see cref="Memory"/> is a full socket's
/// sk_get_meminfo() (INET_DIAG_SKMEMINFO, what `ss -m` prints; null for timewait and request sockets, which have none).
/// </summary>
public sealed record SocketRow(
    string Host,
    SocketRowKind Kind,
    int SocketId,
    TcpState State,
    Endpoint Local,
    Endpoint Remote,
    long RecvQ,
    long SendQ,
    string? TimerName,
    SimTime TimerExpires,
    int TimerCount,
    bool Orphan,
    TcpInfo? Info = null,
    int NumTimeout = 0,
    long Inode = 0,
    int Shutdown = -1,
    SkMeminfo? Memory = null)
{
    /// <summary>
    /// Time left on the timer at <paramref name="now"/> as inet_diag reports it (what `ss -o` prints): whole jiffies,
    /// jiffies_delta_to_msecs(timeout − jiffies) in inet_sk_diag_fill() / inet_twsk_diag_fill(), never negative.
    /// </summary>
    public SimDuration TimerLeft(SimTime now) =>
        TimerName is null ? SimDuration.Zero : Jiffies.ToDuration(KernelClock.JiffiesLeft(TimerExpires, now));
}

/// <summary>
/// Builds the rows `ss -tan` would print for a host, in the order inet_diag_dump_icsk() and
/// /proc/net/tcp (tcp_seq_start) walk the tables: the listening hash first, then the established
/// hash with its full, request and timewait sockets. The kernel's established-hash order is a
/// keyed hash; here it is the 4-tuple order, so that the listing is deterministic.
/// </summary>
public static class SocketListing
{
    public static IReadOnlyList<SocketRow> Rows(Host host)
    {
        var rows = new List<SocketRow>();
        foreach (var sk in host.AllSockets)
            if (sk.State == TcpState.Listen) rows.Add(FullRow(host, sk));
        var established = new List<SocketRow>();
        foreach (var sk in host.AllSockets)
            if (sk.State != TcpState.Listen && sk.IsHashed) established.Add(FullRow(host, sk));
        foreach (var req in host.RequestSockets)
            established.Add(new SocketRow(host.Name, SocketRowKind.Request, 0, TcpState.SynRecv, req.Tuple.Local, req.Tuple.Remote, 0, 0,
                "on", req.TimerExpires, req.NumRetrans, false, NumTimeout: req.NumTimeout));
        foreach (var tw in host.TimeWaitSockets)
            established.Add(new SocketRow(host.Name, SocketRowKind.TimeWait, tw.SocketId, tw.Substate, tw.Local, tw.Remote, 0, 0,
                "timewait", tw.Expires, 0, false));
        established.Sort((a, b) => TupleOrder(a).CompareTo(TupleOrder(b)));
        rows.AddRange(established);
        return rows;
    }

    static SocketRow FullRow(Host host, TcpSocket sk)
    {
        var timer = sk.SsTimer;
        return new SocketRow(host.Name, SocketRowKind.Full, sk.Id, sk.State, sk.Local, sk.Remote, sk.RecvQueue, sk.SendQueue,
            timer?.Name, timer?.Expires ?? default, timer?.Count ?? 0, sk.IsOrphan, sk.Info,
            Inode: sk.Owner is null ? 0 : sk.Id, Shutdown: (sk.RcvShutdown ? 1 : 0) | (sk.SendShutdown ? 2 : 0), Memory: sk.Meminfo);
    }

    static (uint, ushort, uint, ushort) TupleOrder(SocketRow r) =>
        (r.Local.Address.Value, r.Local.Port, r.Remote.Address.Value, r.Remote.Port);

    /// <summary>
    /// The rows of one socket id (an alias, the API's socket resource): its full socket while hashed,
    /// and — only once no descriptor holds it — the timewait socket that replaced it. tcp_time_wait()
    /// hands the connection to a new inet_timewait_sock and tcp_done() leaves the descriptor's own
    /// socket in TCP_CLOSE, unhashed: while the application still holds the fd, the fd names that
    /// CLOSE socket (no row: ss does not list it), not the TIME-WAIT entry.
    /// </summary>
    public static IReadOnlyList<SocketRow> RowsOf(Host host, int socketId)
    {
        bool descriptorOpen = host.Sim.FindSocket(socketId) is { Owner: not null };
        return Rows(host).Where(r => r.SocketId == socketId && (r.Kind != SocketRowKind.TimeWait || !descriptorOpen)).ToList();
    }
}
