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
/// substate), the queues, and the `-o` timer with its expiry. <see cref="SocketId"/> is the
/// connection's identity (a timewait row carries the id of the full socket it replaced; a
/// request row has 0).
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
    bool Orphan)
{
    /// <summary>Time left on the timer at <paramref name="now"/>, never negative.</summary>
    public SimDuration TimerLeft(SimTime now) => TimerName is null ? SimDuration.Zero : SimDuration.Max(SimDuration.Zero, TimerExpires - now);
}

/// <summary>Builds the rows `ss -tan` would print for a host (inet_diag: listeners, established hash).</summary>
public static class SocketListing
{
    public static IReadOnlyList<SocketRow> Rows(Host host)
    {
        var rows = new List<SocketRow>();
        foreach (var sk in host.AllSockets)
        {
            if (!sk.IsHashed) continue;
            var timer = sk.SsTimer;
            rows.Add(new SocketRow(host.Name, SocketRowKind.Full, sk.Id, sk.State, sk.Local, sk.Remote, sk.RecvQueue, sk.SendQueue,
                timer?.Name, timer?.Expires ?? default, timer?.Count ?? 0, sk.IsOrphan));
        }
        foreach (var req in host.RequestSockets)
            rows.Add(new SocketRow(host.Name, SocketRowKind.Request, 0, TcpState.SynRecv, req.Tuple.Local, req.Tuple.Remote, 0, 0,
                "on", req.TimerExpires, req.SynAckRetransmits, false));
        foreach (var tw in host.TimeWaitSockets)
            rows.Add(new SocketRow(host.Name, SocketRowKind.TimeWait, tw.SocketId, tw.Substate, tw.Local, tw.Remote, 0, 0,
                "timewait", tw.Expires, 0, false));
        return rows;
    }

    /// <summary>The rows of one connection (an alias): its full socket while hashed, and its timewait socket.</summary>
    public static IReadOnlyList<SocketRow> RowsOf(Host host, int socketId) => Rows(host).Where(r => r.SocketId == socketId).ToList();
}
