using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// The receive-memory limit of tcp_data_queue() and tcp_data_queue_ofo() — net/ipv4/tcp_input.c: text the socket has
/// no room for under sk_rcvbuf is refused (tcp_try_rmem_schedule(), tcp_prune_queue(), tcp_prune_ofo_queue()).
/// tcp_rcv_established()'s fast path never asks (only its skb's truesize against sk_forward_alloc), as in the kernel.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Models tcp_can_ingest() — net/ipv4/tcp_input.c, as 6.18.y has it since "tcp: give up on stronger sk_rcvbuf checks
    /// (for now)" (026dfef287c0, a fix of 1d2fbaad7cd8): sk_rmem_alloc not above sk_rcvbuf, whatever the arriving skb
    /// (6.16's rmem + truesize and 6.18-rc's rmem + len were dropped); linux-4.4's tcp_try_rmem_schedule() tests the same.
    /// </summary>
    bool CanIngest() => RmemAlloc <= SkRcvbuf;

    /// <summary>
    /// Models tcp_try_rmem_schedule() — net/ipv4/tcp_input.c: when the socket cannot ingest the skb
    /// (<see cref="CanIngest"/>) or sk_rmem_schedule() refuses its <paramref name="truesize"/> (tcp_mem:
    /// <see cref="RaiseAllowed"/>), tcp_prune_queue() must make room, then each refused schedule prunes the out-of-order
    /// queue (tcp_prune_ofo_queue()) until it is allowed; nothing left to prune refuses the skb (false).
    /// </summary>
    bool TryRmemSchedule(uint seq, long truesize)
    {
        if (CanIngest() && MemSchedule(truesize, send: false)) return true;
        if (!PruneQueue(seq)) return false;
        while (!MemSchedule(truesize, send: false))
            if (!PruneOfoQueue(seq)) return false;
        return true;
    }

    /// <summary>
    /// Models queue_and_out's memory check in tcp_data_queue() — net/ipv4/tcp_input.c — for in-order text (or a FIN)
    /// <paramref name="seg"/>: true when it may be queued. 6.x: refused by <see cref="TryRmemSchedule"/>, it sets
    /// ICSK_ACK_NOMEM and ICSK_ACK_NOW (the next ACK, at once, offers a zero window: <see cref="SelectWindow"/>) and
    /// schedules the ACK; text while the receive queue holds an skb is dropped (TCPRcvQDrop, sk_drops:
    /// SKB_DROP_REASON_PROTO_MEM), else sk_forced_mem_schedule() takes it anyway. linux-4.4 forces an skb into an empty
    /// receive queue without asking, and drops a refused one silently (__kfree_skb(): no counter, no ACK).
    /// </summary>
    bool QueueAndOutSchedule(Segment seg)
    {
        long truesize = RcvTruesize(seg.Length);
        bool queued = _data?.RcvQueue is { Count: > 0 };
        if (_sim.Profile == KernelProfile.Linux44 && !queued)
        {
            ForcedMemSchedule(truesize);
            return true;
        }
        if (TryRmemSchedule(seg.Seq, truesize)) return true;
        if (_sim.Profile == KernelProfile.Linux44) return false;
        AckToWrite.NoMem = AckToWrite.Now = true;
        AckToWrite.Scheduled = true;
        if (queued && seg.Length > 0)
        {
            Host.Count(MibCounter.TcpExtTCPRcvQDrop);
            Drop(seg, "tcp_data_queue (no receive memory: TCPRcvQDrop)");
            return false;
        }
        ForcedMemSchedule(truesize);
        return true;
    }

    /// <summary>
    /// Models tcp_data_queue_ofo()'s first step — net/ipv4/tcp_input.c: an out-of-order skb
    /// <see cref="TryRmemSchedule"/> refuses is dropped (TCPOFODrop, sk_drops: SKB_DROP_REASON_PROTO_MEM) before
    /// anything else — no ACK scheduled, nothing measured; linux-4.4 alike (no sk_drops).
    /// </summary>
    bool OfoSchedule(Segment seg)
    {
        if (TryRmemSchedule(seg.Seq, RcvTruesize(seg.Length))) return true;
        Host.Count(MibCounter.TcpExtTCPOFODrop);
        Drop(seg, "tcp_data_queue_ofo (no receive memory: TCPOFODrop)");
        return false;
    }

    /// <summary>
    /// Models tcp_prune_queue() — net/ipv4/tcp_input.c, for an skb starting at <paramref name="seq"/>: with both queues
    /// empty (sk_rmem_alloc 0: a tcp_mem refusal) nothing, false ("Do nothing if our queues are empty"; not in linux-4.4); PruneCalled;
    /// tcp_clamp_window() when sk_rmem_alloc has reached sk_rcvbuf; then, while the socket still cannot ingest,
    /// tcp_collapse_ofo_queue() and tcp_collapse() of the receive queue (not modelled: the engine's skbs are never
    /// copied into tighter ones — TCPRcvCollapsed stays 0), tcp_prune_ofo_queue(), and at last RcvPruned, header
    /// prediction off, and false: "tell the caller to silently drop receive data on the floor".
    /// </summary>
    bool PruneQueue(uint seq)
    {
        if (RmemAlloc == 0 && _sim.Profile != KernelProfile.Linux44) return false;
        Host.Count(MibCounter.TcpExtPruneCalled);
        if (RmemAlloc >= SkRcvbuf) ClampWindow();
        else if (Host.TcpMemoryPressure) AdjustRcvSsthresh();
        if (CanIngest()) return true;
        PruneOfoQueue(seq);
        if (CanIngest()) return true;
        Host.Count(MibCounter.TcpExtRcvPruned);
        FastPathOff(); // "Massive buffer overcommit."
        return false;
    }

    /// <summary>
    /// Models tcp_clamp_window() — net/ipv4/tcp_input.c, "Recalculate window clamp after socket hit its memory bounds":
    /// no more quick ACKs; an unlocked sk_rcvbuf below tcp_rmem[2] grows to sk_rmem_alloc (at most tcp_rmem[2]) unless
    /// TCP is under memory pressure or its pages reach tcp_mem[0] (sk_memory_allocated() &lt; sk_prot_mem_limits(sk, 0));
    /// if sk_rmem_alloc is still above sk_rcvbuf, rcv_ssthresh falls to min(window_clamp, 2 · advmss).
    /// </summary>
    void ClampWindow()
    {
        AckToWrite.Quick = 0;
        long rmem2 = Host.Sysctls.TcpRmem[2];
        if (SkRcvbuf < rmem2 && RcvBufSet == 0 && !Host.TcpMemoryPressure && Host.TcpMemPages < Host.Sysctls.TcpMem[0])
            _rcvBuf = (int)Math.Min(RmemAlloc, rmem2);
        if (RmemAlloc > SkRcvbuf) _rcv.Ssthresh = Math.Min(_rcv.WindowClamp, 2u * (uint)_advmss);
    }

    /// <summary>
    /// Models tcp_prune_ofo_queue() — net/ipv4/tcp_input.c: out-of-order skbs are dropped from the highest sequence
    /// down, stopping before one the arriving skb (at <paramref name="seq"/>) would land after; after each
    /// sk_rcvbuf / 8 bytes of truesize freed (or the queue's start) it stops once the socket can ingest. Any pruned:
    /// OfoPruned, and the SACK state is reset (tcp_sack_reset()). Each dropped skb counts in sk_drops
    /// (tcp_drop_reason(): SKB_DROP_REASON_TCP_OFO_QUEUE_PRUNE). True when it dropped any.
    /// </summary>
    bool PruneOfoQueue(uint seq)
    {
        if (Ofo.Count == 0) return false;
        bool pruned = false;
        long goal = SkRcvbuf >> 3;
        for (int i = Ofo.Count - 1; i >= 0; i--)
        {
            var skb = Ofo[i];
            if (SeqMath.After(seq, skb.Seq)) break; // "If incoming skb would land last in ofo queue, stop pruning."
            pruned = true;
            goal -= RcvTruesize(skb.End - skb.Seq - (skb.Fin ? 1u : 0u), skb.Skb);
            OfoToWrite.RemoveAt(i);
            CountDrops(1);
            SyncRmemCharge();
            if (i == 0 || goal <= 0)
            {
                if (CanIngest() && !Host.TcpMemoryPressure) break;
                goal = SkRcvbuf >> 3;
            }
        }
        if (!pruned) return false;
        Host.Count(MibCounter.TcpExtOfoPruned);
        if (_rxOpt.SackOk)
        {
            NumSacks = 0; // tcp_sack_reset(): num_sacks and dsack
            _rxOpt.Dsack = false;
        }
        return true;
    }
}
