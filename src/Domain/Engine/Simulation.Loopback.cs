using SimService.Domain.Journal;
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
/// at a time, each followed by the lo segments it made (<see cref="LoDue"/>). A pure ACK that comes to the backlog
/// right behind another is merged into it (tcp_add_backlog(), <see cref="BacklogCoalesce"/>): the socket then handles
/// one ACK of the later ack_seq. One that is not merged is dropped when the backlog and the receive queues hold more
/// than tcp_add_backlog()'s limit (<see cref="AddBacklog"/>, TCPBacklogDrop).
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

    /// <summary>sk_backlog.tail: the backlog's last segment, until __release_sock() takes the backlog (then null).</summary>
    Segment? _loBacklogTail;

    /// <summary>The segments __release_sock() took off the backlog and has not handled yet (the rest came after).</summary>
    int _loTaken;

    /// <summary>
    /// sk_backlog.len: the truesize of every skb the owner's backlog took (sk_add_backlog()) and what merges added to
    /// it, until __release_sock() has handled the last one — it is zeroed only then, not as each batch is taken.
    /// </summary>
    long _loBacklogLen;

    /// <summary>sk_backlog.len of <paramref name="sk"/> (SO_MEMINFO's backlog; tcp_space() takes it off the free space): the lo backlog's while it owns it, else 0.</summary>
    internal long LoBacklogLen(TcpSocket sk) => ReferenceEquals(sk, _loOwner) ? _loBacklogLen : 0;

    /// <summary>Whether the owner is handling a segment of its backlog (__release_sock(): sock_owned_by_user_nocheck()).</summary>
    bool _loReleasing;

    /// <summary>TCP_ACK_DEFERRED of the owner's sk_tsq_flags: an ACK due now waits for tcp_release_cb().</summary>
    bool _loAckDeferred;

    /// <summary>The lo segment a socket is handling (its skb's truesize and clone state), else null.</summary>
    internal Segment? LoRxSkb;

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
        if (_loOwner is { } owner && ReferenceEquals(owner.Host, host) && seg.Tuple.Reversed == owner.Tuple)
        {
            if (!BacklogCoalesce(owner, seg)) AddBacklog(owner, seg);
        }
        else ((IEventTarget)host).OnDue(this, seg);
        while (_loDue == 0 && _loOwner is { } releasing)
        {
            if (_loTaken == 0)
            {
                // __release_sock(): takes the whole backlog (sk_backlog.head = tail = NULL) and handles it; what comes
                // meanwhile starts a new one.
                _loTaken = _loBacklog.Count;
                _loBacklogTail = null;
            }
            if (_loBacklog.TryDequeue(out var waiting))
            {
                _loTaken--;
                _loReleasing = true;
                try
                {
                    ((IEventTarget)releasing.Host).OnDue(this, waiting);
                }
                finally
                {
                    _loReleasing = false;
                }
            }
            else
            {
                _loOwner = null;
                _loBacklogLen = 0; // __release_sock(): "Doing the zeroing here guarantee we can not loop forever"
                // release_sock() → tcp_release_cb(), under spin_lock_bh(): lo hands its ACK to the peer once the
                // socket is released.
                if (_loAckDeferred)
                {
                    _loAckDeferred = false;
                    releasing.SendDeferredAck();
                }
            }
        }
    }

    /// <summary>
    /// Models the deferral in __tcp_ack_snd_check() — net/ipv4/tcp_input.c (6.7+): an ACK due now (more than one full
    /// frame, quick-ACK mode, ICSK_ACK_NOW) while <paramref name="sk"/> handles its backlog in __release_sock()
    /// (sock_owned_by_user_nocheck()) and net.ipv4.tcp_backlog_ack_defer is set only sets TCP_ACK_DEFERRED; tcp_release_cb()
    /// sends one ACK for the whole release (<see cref="TcpSocket.SendDeferredAck"/>). A delayed ACK and SACK
    /// compression's ACKs are not deferred.
    /// </summary>
    /// <returns>Whether the ACK was deferred.</returns>
    internal bool DeferAck(TcpSocket sk)
    {
        if (!_loReleasing || !ReferenceEquals(sk, _loOwner) || !sk.Host.Sysctls.TcpBacklogAckDefer) return false;
        _loAckDeferred = true;
        return true;
    }

    /// <summary>
    /// Models tcp_add_backlog()'s no_coalesce: part — net/ipv4/tcp_ipv4.c — and sk_add_backlog() / sk_rcvqueues_full()
    /// (include/net/sock.h): a segment the backlog's tail did not take is dropped when sk_backlog.len + sk_rmem_alloc
    /// is over the limit (<see cref="TcpSocket.BacklogLimit"/>) — its own truesize not counted, "to allow even a
    /// single big packet to come" — else queued, sk_backlog.len growing by its truesize. The drop counts
    /// TCPBacklogDrop and sk_drops (<see cref="TcpSocket.Drop"/>) and frees the skb: tcp_v4_rcv() had counted it
    /// (InSegs, tcp_segs_in()); the sender retransmits it. Observed on Linux 6.18.44: with SO_RCVBUF 1 (sk_rcvbuf 2304)
    /// and 102496 bytes of truesize unread, the ACK of the reader's own 1-byte send was queued with SO_SNDBUF 32352
    /// (limit 102496) and dropped with 32351 (limit 102495).
    /// </summary>
    void AddBacklog(TcpSocket owner, Segment seg)
    {
        if (_loBacklogLen + owner.RmemAlloc > owner.BacklogLimit)
        {
            ReceivedIntoBacklog(owner, seg);
            owner.Drop(seg, "backlog full (TCPBacklogDrop)"); // discard_and_relse: sk_drops_skbadd()
            owner.Host.Count(MibCounter.TcpExtTCPBacklogDrop);
            RecycleSegment(seg); // discard_and_relse: kfree_skb_reason(SKB_DROP_REASON_SOCKET_BACKLOG)
            return;
        }
        _loBacklog.Enqueue(seg);
        _loBacklogTail = seg;
        _loBacklogLen += seg.LoTruesize;
    }

    /// <summary>A segment the backlog merged or dropped: what tcp_v4_rcv() journaled and counted (InSegs, tcp_segs_in()) before tcp_add_backlog().</summary>
    void ReceivedIntoBacklog(TcpSocket owner, Segment seg)
    {
        var host = owner.Host;
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new SegmentDelivered(Now, JournalSeq, host.Name, seg.Tuple, seg.Flags, seg.Seq, seg.Ack, seg.Length, seg.Id));
        host.CountReceived(seg);
        owner.SegsIn(seg);
    }

    /// <summary>
    /// Models tcp_add_backlog()'s coalescing — net/ipv4/tcp_ipv4.c (since 4.20): a segment coming to wait in the backlog
    /// is merged into the backlog's tail when it starts where the tail ends, neither has SYN, RST or URG, both have ACK,
    /// ECE and CWR agree, and the TCP options are byte for byte the same (the same doff, the same TSval and TSecr, the
    /// same SACK blocks) — PSH and FIN may differ — and skb_try_coalesce() takes it (<see cref="Segment.CoalesceBacklog"/>:
    /// never into a clone, so data sent whole merges only behind a pure ACK or a software GSO piece; observed on Linux
    /// 6.18.44: the two 47616-byte pieces of a 95232-byte lo GSO skb, both in a reading socket's backlog, became one
    /// skb). TCPBacklogCoalesce counts it. The engine sends no URG, ECE or CWR. tcp_v4_rcv() counted the segment
    /// (InSegs, tcp_segs_in()) before offering it to the backlog. The merge happens "even if we are above the limits":
    /// the limit is tested only for a segment that is not merged (<see cref="AddBacklog"/>); what the merge adds to the
    /// tail's truesize (delta) adds to sk_backlog.len. Only lo segments wait in a backlog in the
    /// engine: a socket call takes no virtual time, so a segment from a link is handled before or after it.
    /// </summary>
    /// <returns>Whether <paramref name="seg"/> went into the tail (it is then handled and freed).</returns>
    bool BacklogCoalesce(TcpSocket owner, Segment seg)
    {
        if (Profile != KernelProfile.Linux6 || _loBacklogTail is not { } tail) return false;
        const TcpFlags never = TcpFlags.Syn | TcpFlags.Rst;
        int truesize = tail.LoTruesize;
        if (tail.EndSeq != seg.Seq || ((tail.Flags | seg.Flags) & never) != 0 || !tail.Has(TcpFlags.Ack) || !seg.Has(TcpFlags.Ack)
            || tail.Options != seg.Options || !tail.CoalesceBacklog(seg)) return false;
        _loBacklogLen += tail.LoTruesize - truesize; // sk->sk_backlog.len += delta
        ReceivedIntoBacklog(owner, seg);
        owner.Host.Count(MibCounter.TcpExtTCPBacklogCoalesce);
        RecycleSegment(seg); // kfree_skb_partial()
        return true;
    }
}
