using SimService.Domain.Network;
using SimService.Domain.Tcp;

namespace SimService.Domain.Engine;

/// <summary>
/// The order in which segments through lo are handled. loopback_xmit() — drivers/net/loopback.c — hands each packet to
/// __netif_rx(), and the NET_RX softirq runs at the local_bh_enable() of __dev_queue_xmit(): the receiver handles the
/// packet before its sender sends the next one. A segment to a socket that a system call owns (lock_sock()) waits in
/// that socket's backlog (tcp_v4_rcv(): sk_add_backlog()) until release_sock() — __release_sock() — handles the backlog
/// in order, still owning the socket, so what each backlog segment makes the socket send is handled by its receiver
/// before the next backlog segment: a lo receiver's ACKs of a burst reach the sender one by one, each after the data the
/// previous one released. The engine runs a call to its end and the segments it sent after it, at the same instant; a
/// segment to the call's socket waits while other lo segments are due, then the socket handles its waiting segments one
/// at a time, each followed by the lo segments it made (<see cref="LoDue"/>).
/// </summary>
public sealed partial class Simulation
{
    /// <summary>lo: the target of a segment a host sends to one of its own addresses.</summary>
    sealed class LoopbackDevice : IEventTarget
    {
        public required Host To;
        void IEventTarget.OnDue(Simulation sim, object? payload) => sim.LoDue(To, (Segment)payload!);
    }

    /// <summary>A device per host (the segment's host is its target's), made at its first lo segment.</summary>
    readonly Dictionary<Host, LoopbackDevice> _lo = [];

    /// <summary>Segments through lo scheduled and not yet handled.</summary>
    int _loDue;

    /// <summary>The socket whose call sent lo segments still due (its lock held until its backlog is handled), or null.</summary>
    TcpSocket? _loOwner;

    /// <summary>The owner's backlog: segments to it that came while other lo segments were due.</summary>
    readonly Queue<Segment> _loBacklog = new();

    /// <summary>Schedules a segment through lo, now.</summary>
    void ScheduleLo(Host host, Segment seg)
    {
        if (!_lo.TryGetValue(host, out var device)) _lo[host] = device = new LoopbackDevice { To = host };
        _loDue++;
        Schedule(Now, device, seg);
    }

    /// <summary>
    /// After a call on <paramref name="sk"/>: the socket owns the lo segments it sent (release_sock() handles what comes
    /// back). Under <see cref="Commands.EngineRules.Original"/> (simulations stored before session 25) a call leaves the
    /// events of its instant to the next advance, long after it released its socket: nothing waits in a backlog, and
    /// their rebuilds keep the order they were recorded in.
    /// </summary>
    void OwnLo(TcpSocket? sk)
    {
        if (_loDue > 0 && _loOwner is null && EngineRules != Commands.EngineRules.Original) _loOwner = sk;
    }

    /// <summary>
    /// A segment through lo is due: one to the owner waits in its backlog, any other is received now; once no lo segment
    /// is due, the owner handles its backlog in order (__release_sock()), until a segment it sends is due again.
    /// </summary>
    void LoDue(Host host, Segment seg)
    {
        _loDue--;
        if (_loOwner is { } owner && ReferenceEquals(owner.Host, host) && seg.Tuple.Reversed == owner.Tuple) _loBacklog.Enqueue(seg);
        else ((IEventTarget)host).OnDue(this, seg);
        while (_loDue == 0 && _loOwner is { } releasing)
        {
            if (_loBacklog.TryDequeue(out var waiting)) ((IEventTarget)releasing.Host).OnDue(this, waiting);
            else _loOwner = null;
        }
    }
}
