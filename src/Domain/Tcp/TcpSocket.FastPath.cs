using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// tcp_rcv_established()'s header prediction (tp->pred_flags) and the per-socket memory quota it depends on
/// (sk->sk_forward_alloc), for the TcpExt counters TCPHPHits, TCPHPAcks and TCPPureAcks.
/// </summary>
/// <remarks>
/// The engine runs every segment through one kernel-shaped path (<see cref="RcvStateProcess"/>); the fast path
/// of tcp_rcv_established() reaches the same state for the segments it takes, so what is modelled here is which
/// path the kernel would take, and what it counts.
/// </remarks>
public sealed partial class TcpSocket
{
    /// <summary>PAGE_SIZE: __sk_mem_schedule() and sk_mem_reclaim() move sk_forward_alloc in whole pages.</summary>
    const int PageSize = 4096;

    /// <summary>The window field pred_flags predicts (its low 16 bits: snd_wnd &gt;&gt; snd_wscale when it was set).</summary>
    uint _predWindow;

    /// <summary>Models __tcp_fast_path_on() — include/net/tcp.h: pred_flags = (tcp_header_len &lt;&lt; 26) | ACK | <paramref name="window"/>.</summary>
    void FastPathOn(uint window)
    {
        PredOn = true;
        _predWindow = window & 0xffff;
    }

    /// <summary>Models tcp_fast_path_on() — include/net/tcp.h: __tcp_fast_path_on(tp, snd_wnd &gt;&gt; snd_wscale).</summary>
    void FastPathOn() => FastPathOn(_snd.Wnd >> _rxOpt.SndWscale);

    /// <summary>"tp->pred_flags = 0": header prediction off.</summary>
    void FastPathOff() => PredOn = false;

    /// <summary>
    /// Models tcp_fast_path_check() — include/net/tcp.h: on again when the out-of-order queue is empty, rcv_wnd is
    /// not 0 and sk_rmem_alloc is below sk_rcvbuf (no urgent data: the engine has none).
    /// </summary>
    void FastPathCheck()
    {
        if (Ofo.Count == 0 && _rcv.Wnd != 0 && RmemAlloc < SkRcvbuf) FastPathOn();
    }

    /// <summary>tp->tcp_header_len: 20 bytes, 32 with timestamps.</summary>
    int TcpHeaderLen => 20 + (_rxOpt.TsOk ? TcpConstants.TimestampOptionBytes : 0);

    /// <summary>
    /// Models the header prediction test of tcp_rcv_established() — net/ipv4/tcp_input.c:
    /// (tcp_flag_word(th) &amp; TCP_HP_BITS) == tp->pred_flags — the data offset is tcp_header_len (no option but an
    /// aligned timestamp when they are on: a SACK block is a miss), the flags are ACK alone (PSH ignored), the window
    /// field is the predicted one — with seq == rcv_nxt and ack not after snd_nxt; with timestamps, the option must
    /// parse (tcp_parse_aligned_timestamp()) and the TSval not be older than ts_recent ("If PAWS failed, check it
    /// more carefully in slow path").
    /// </summary>
    bool HeaderPredicted(Segment seg)
    {
        if (!PredOn || (seg.Flags & ~TcpFlags.Psh) != TcpFlags.Ack || seg.Window != _predWindow) return false;
        if (20 + seg.OptionLength != TcpHeaderLen) return false; // th->doff, whatever the options parsed to
        if (seg.Seq != _rcv.Nxt || SeqMath.After(seg.Ack, _snd.Nxt)) return false;
        if (_rxOpt.TsOk && (!seg.Options.HasTimestamp || unchecked((int)(seg.Options.TsVal - _rxOpt.TsRecent)) < 0)) return false;
        return true;
    }

    /// <summary>
    /// The path tcp_rcv_established() takes for <paramref name="seg"/> in ESTABLISHED: true for the slow path
    /// (tcp_ack() with FLAG_SLOWPATH). A predicted pure ACK takes the fast path (tcp_ack(sk, skb, 0)); predicted data
    /// does too — TCPHPHits, queued by tcp_queue_rcv() before tcp_ack(sk, skb, FLAG_DATA) — unless it ends beyond
    /// rcv_nxt + tcp_receive_window() (6.17+, "tcp: do not accept packets beyond window": "goto validate", the whole
    /// slow path) or its truesize is above sk_forward_alloc ("goto step5": the slow path without tcp_validate_incoming()).
    /// </summary>
    bool TakesSlowPath(Segment seg)
    {
        SyncRmemCharge();
        if (State != TcpState.Established || !HeaderPredicted(seg)) return true;
        if (seg.Length == 0) return false;
        if (_sim.Profile == KernelProfile.Linux6 && SeqMath.After(seg.EndSeq, _rcv.Nxt + ReceiveWindow())) return true;
        if (RcvTruesize(seg.Length) > (_data?.FwdAlloc ?? 0)) return true;
        Host.Count(MibCounter.TcpExtTCPHPHits);
        // tcp_queue_rcv() charges the skb (or, coalesced, its data) now, before tcp_ack() frees acknowledged send skbs.
        long charge = RcvChargeFor(seg.Length);
        MemCharge(charge);
        DataToWrite.RmemCharged += charge;
        FastPathData = true;
        return false;
    }

    /// <summary>
    /// Models the TCPHPAcks / TCPPureAcks step of tcp_ack() — net/ipv4/tcp_input.c, once the ACK is neither old nor
    /// beyond snd_nxt: without FLAG_SLOWPATH an ACK that advances snd_una is a header-prediction ACK (TCPHPAcks);
    /// otherwise one whose sequence space is empty (ack_seq == end_seq: no data, SYN or FIN) is a pure ACK.
    /// </summary>
    void CountAckPath(Segment seg, bool slowPath, bool sndUnaAdvanced)
    {
        if (!slowPath && sndUnaAdvanced) Host.Count(MibCounter.TcpExtTCPHPAcks);
        else if (seg.EndSeq == seg.Seq) Host.Count(MibCounter.TcpExtTCPPureAcks);
    }

    /// <summary>What tcp_queue_rcv() would add to sk_rmem_alloc for <paramref name="payload"/> bytes now: see <see cref="QueueRcv"/>.</summary>
    long RcvChargeFor(long payload)
    {
        int charge = payload > 0 ? TailCoalesceCharge(_data?.RcvQueue, payload, ArrivingSkb(payload)) : -1;
        return charge >= 0 ? charge : RcvTruesize(payload);
    }

    /// <summary>Models sk_mem_charge() — include/net/sock.h: sk_forward_alloc −= size.</summary>
    void MemCharge(long size) => Data(size != 0)?.FwdAlloc -= size;

    /// <summary>
    /// Models sk_mem_uncharge() — include/net/sock.h: sk_forward_alloc += size, then sk_mem_reclaim(): a page or more
    /// is returned (__sk_mem_reclaim() of all whole pages), so it stays below PAGE_SIZE.
    /// </summary>
    void MemUncharge(long size)
    {
        if (Data(size != 0) is not { } data) return;
        data.FwdAlloc += size;
        if (data.FwdAlloc >= PageSize) data.FwdAlloc %= PageSize;
    }

    /// <summary>
    /// Brings sk_forward_alloc in line with the receive memory: what sk_rmem_alloc gained since the last call was charged
    /// (skb_set_owner_r(), tcp_try_coalesce()), what it lost was uncharged (sock_rfree() of a read or purged skb).
    /// </summary>
    void SyncRmemCharge()
    {
        long delta = RmemAlloc - (_data?.RmemCharged ?? 0);
        if (delta == 0) return;
        Data(true)!.RmemCharged += delta;
        if (delta > 0) MemCharge(delta);
        else MemUncharge(-delta);
        // The host's pages follow at once, out-of-order skbs too: tcp_try_rmem_schedule() → sk_rmem_schedule() raises
        // memory_allocated for each one, sock_rfree() of a pruned or purged one lowers it (review36 M-2: they lagged until
        // the next send, ACK, in-order receive or read).
        Recharge();
    }
}
