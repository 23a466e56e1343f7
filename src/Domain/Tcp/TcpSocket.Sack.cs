using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// struct tcp_sacktag_state — net/ipv4/tcp_input.c: what tcp_sacktag_write_queue() learns from one ACK's SACK blocks, for
/// tcp_ack() and tcp_clean_rtx_queue() to use after it.
/// </summary>
internal struct SacktagState
{
    /// <summary>state->reord: the lowest start of a never-retransmitted segment newly SACKed below the highest SACK, or of
    /// an already SACKed retransmission a D-SACK covers (snd_nxt: none).</summary>
    public uint Reord;
    /// <summary>state->first_sackt / last_sackt: the send times of the first and last never-retransmitted segments newly
    /// SACKed, in the walk's order (null: none) — the SACK RTT sample (sack_rtt_us) and ca_rtt_us.</summary>
    public SimTime? FirstSackt;
    public SimTime LastSackt;
    /// <summary>state->sack_delivered: segments newly SACKed plus the duplicates a believed D-SACK reports.</summary>
    public int SackDelivered;
    /// <summary>
    /// struct rate_sample (sack_state.rate) as tcp_rate_skb_delivered() fills it: rs->prior_delivered, the tx.delivered of
    /// the most recently sent segment this ACK delivered (0: none), with its send time and end (the tie-break);
    /// rs->prior_mstamp (its tx.delivered_mstamp, 0: no timing), rs->is_app_limited and rs->interval_us (the send phase).
    /// </summary>
    public long PriorDelivered;
    public SimTime PriorSentAt;
    public long PriorEpoch;
    public uint PriorEnd;
    public long PriorMstampUs;
    public bool IsAppLimited;
    public long IntervalUs;
}

/// <summary>
/// The receiver's out-of-order queue and D-SACK (RFC 2883 as Linux does it — net/ipv4/tcp_input.c):
/// duplicate text below rcv_nxt, and out-of-order text the queue already holds, is reported in
/// tp->duplicate_sack[0], sent once as the first SACK block of the next segment.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Models tcp_dsack_set(): with SACK negotiated and net.ipv4.tcp_dsack, remember [seq, end) as the
    /// D-SACK block; TCPDSACKOldSent when it starts below rcv_nxt, else TCPDSACKOfoSent (counted when set,
    /// as the kernel does, even if a later tcp_data_queue() forgets it unsent).
    /// </summary>
    void DsackSet(uint seq, uint end)
    {
        if (!_rxOpt.SackOk || !Host.Sysctls.TcpDsack) return;
        Host.Count(SeqMath.Before(seq, _rcv.Nxt) ? MibCounter.TcpExtTCPDSACKOldSent : MibCounter.TcpExtTCPDSACKOfoSent);
        _rxOpt.Dsack = true;
        RareToWrite.DuplicateSack = new SackBlock(seq, end);
    }

    /// <summary>Models tcp_dsack_extend(): a first duplicate sets the block, later ones widen it (tcp_sack_extend()).</summary>
    void DsackExtend(uint seq, uint end)
    {
        if (!_rxOpt.Dsack) DsackSet(seq, end);
        else SackExtend(ref RareToWrite.DuplicateSack, seq, end);
    }

    /// <summary>
    /// Models the duplicate part of tcp_send_dupack(): text below rcv_nxt in an unacceptable segment means
    /// our ACK was lost — DelayedACKLost, quick-ACK mode, and (tcp_is_sack() and tcp_dsack) its part
    /// below rcv_nxt D-SACKed.
    /// </summary>
    void DupAckDsack(Segment seg)
    {
        if (seg.EndSeq == seg.Seq || !SeqMath.Before(seg.Seq, _rcv.Nxt)) return;
        Host.Count(MibCounter.TcpExtDelayedACKLost);
        EnterQuickAckMode();
        DsackSet(seg.Seq, SeqMath.After(seg.EndSeq, _rcv.Nxt) ? _rcv.Nxt : seg.EndSeq);
    }

    /// <summary>
    /// Models tcp_data_queue_ofo() — net/ipv4/tcp_input.c, on a queue kept sorted by sequence: TCPOFOQueue;
    /// the first segment builds one SACK block. Otherwise the one queued segment that can overlap the new
    /// one is the last starting at or before it: if it holds every byte, the new one is dropped
    /// (TCPOFOMerge) and D-SACKed; if it starts earlier, the overlap is D-SACKed; if it starts at the same
    /// sequence, the new one replaces it (tcp_dsack_extend() with the old one, TCPOFOMerge). Then later
    /// segments the new one covers are removed (merge_right: each D-SACK-extended, TCPOFOMerge), one it
    /// only reaches into extends the D-SACK by the overlap; and tcp_sack_new_ofo_skb() in every case
    /// but the first; the ACK is scheduled before any of it (inet_csk_schedule_ack()). Since 6.17 it first runs
    /// tcp_measure_rcv_mss(). Returns what became of the segment's skb, for
    /// the tcp_grow_window() at the function's end (<see cref="OfoSkb"/>).
    /// </summary>
    OfoSkb DataQueueOfo(Segment seg, uint seq, uint end, bool fin)
    {
        bool psh = seg.Has(TcpFlags.Psh);
        // 6.17+ ("tcp: call tcp_measure_rcv_mss() for ooo packets", in 6.12+ stable too): rcv_mss, scaling_ratio and
        // the PUSHED bits follow out-of-order segments as well. linux-4.4 measures in-order data only.
        if (_sim.Profile == KernelProfile.Linux6) MeasureRcvMss((int)(end - seq) - (fin ? 1 : 0), psh, fin);
        FastPathOff(); // "Disable header prediction."
        // inet_csk_schedule_ack() here, before the queue and tcp_sack_new_ofo_skb(): an ACK that function sends (a held
        // one, tcp_sack_compress_send_ack()) clears icsk_ack.pending (tcp_event_ack_sent()), so tcp_ack_snd_check()
        // then sends or holds nothing for this segment (fuzz case loss-36000-4, Linux 6.18.44).
        AckToWrite.Scheduled = true;
        // "tp->rcv_ooopack += max_t(u16, 1, skb_shinfo(skb)->gso_segs)": a merged lo backlog skb counts the segments in it.
        RareToWrite.RcvOoopack += seg.BacklogSegs;
        Host.Count(MibCounter.TcpExtTCPOFOQueue);
        if (Ofo.Count == 0)
        {
            OfoToWrite.Add((seq, end, fin, ArrivingSkb(seg.Length)));
            if (_rxOpt.SackOk)
            {
                (RareToWrite.SelectiveAcks ??= new SackBlock[SackBlocks.Max])[0] = new SackBlock(seq, end);
                NumSacks = 1;
            }
            SyncRmemCharge();
            return OfoSkb.Queued;
        }
        if (OfoTryCoalesce(seq, end, fin))
        {
            if (_rxOpt.SackOk) SackNewOfoSkb(seq, end); // coalesce_done: goto add_sack — no D-SACK, no merge_right
            SyncRmemCharge();
            return OfoSkb.Coalesced;
        }
        int at = Ofo.FindLastIndex(o => !SeqMath.After(o.Seq, seq));
        if (at >= 0 && SeqMath.Before(seq, Ofo[at].End))
        {
            var skb1 = Ofo[at];
            if (!SeqMath.After(end, skb1.End))
            {
                // "All the bits are present. Drop."
                Host.Count(MibCounter.TcpExtTCPOFOMerge);
                SkDropsAdd(seg); // tcp_drop_reason(…, TCP_OFOMERGE)
                DsackSet(seq, end);
                if (_rxOpt.SackOk) SackNewOfoSkb(seq, end);
                SyncRmemCharge();
                return OfoSkb.Dropped;
            }
            if (SeqMath.After(seq, skb1.Seq))
            {
                DsackSet(seq, skb1.End); // partial overlap
                OfoToWrite.Insert(++at, (seq, end, fin, ArrivingSkb(seg.Length)));
            }
            else
            {
                // Same start, the new segment covers the old one: it takes its place.
                DsackExtend(skb1.Seq, skb1.End);
                Host.Count(MibCounter.TcpExtTCPOFOMerge);
                CountDrops(1); // tcp_drop_reason(sk, skb1, TCP_OFOMERGE): the skb replaced
                OfoToWrite[at] = (seq, end, fin, ArrivingSkb(seg.Length));
            }
        }
        else
        {
            OfoToWrite.Insert(++at, (seq, end, fin, ArrivingSkb(seg.Length)));
        }
        // merge_right: remove the segments the new one covers.
        while (at + 1 < Ofo.Count)
        {
            var next = Ofo[at + 1];
            if (!SeqMath.After(end, next.Seq)) break;
            if (SeqMath.Before(end, next.End))
            {
                DsackExtend(next.Seq, end);
                break;
            }
            Ofo.RemoveAt(at + 1);
            DsackExtend(next.Seq, next.End);
            Host.Count(MibCounter.TcpExtTCPOFOMerge);
            CountDrops(1); // tcp_drop_reason(sk, skb1, TCP_OFOMERGE)
        }
        if (_rxOpt.SackOk) SackNewOfoSkb(seq, end);
        SyncRmemCharge(); // skb_set_owner_r() of the queued out-of-order skb
        return OfoSkb.Queued;
    }

    /// <summary>
    /// What tcp_data_queue_ofo() did with a segment's skb. Its end runs tcp_grow_window() only while it still holds the
    /// skb ("if (skb)"): <see cref="Queued"/> — in the queue as an skb of its own, grown before skb_set_owner_r()
    /// charges it; <see cref="Coalesced"/> — coalesce_done, grown after tcp_try_coalesce() charged its delta, then
    /// freed; <see cref="Dropped"/> — every byte queued already (skb = NULL): no growth.
    /// </summary>
    enum OfoSkb { Queued, Coalesced, Dropped }

    /// <summary>
    /// Models truesize_adjust(true, skb) — net/ipv4/tcp_input.c — for the skb coalesce_done grows the window by: with
    /// nothing in its head once the headers are pulled (skb_headlen() 0) its head, SKB_TRUESIZE(skb_end_offset(skb)),
    /// comes off its truesize. A bare FIN keeps nothing else — whether a NIC's page fragment or lo's sender head — so
    /// 0, not below its length 0: tcp_win_from_space(0) ≤ len and tcp_grow_window() takes 2 · advmss, up to the room left
    /// (observed on Linux 6.18.44: rcv_ssthresh 67432 → 70352 at MSS 1460, and 76192 → 77112 when 920 bytes of room were
    /// left). A lo segment with payload keeps its fragments' truesize, its payload (a backlog merge's truesize less
    /// the head), or all of its truesize when a merge copied payload into its head. linux-4.4 has no truesize_adjust()
    /// (240bfd134c59, 2021): the whole truesize.
    /// </summary>
    int OfoCoalescedTruesize(long len)
    {
        if (_sim.Profile == KernelProfile.Linux44) return RcvTruesize(len);
        var skb = ArrivingSkb(len);
        return (int)len + skb.Overhead - (skb.HeadLen == 0 ? LoopbackSkbOverhead : 0);
    }

    /// <summary>
    /// Models tcp_ooo_try_coalesce() → tcp_try_coalesce() → skb_try_coalesce() (net/core/skbuff.c) in
    /// tcp_data_queue_ofo(): a segment whose seq is a queued skb's end_seq is merged into that skb when
    /// skb_try_coalesce() takes it; the merged skb takes its end_seq and FIN (tcp_flags |=), TCPRcvCoalesce counts, and
    /// "coalesce_done" skips the overlap checks, their D-SACK and merge_right. The kernel tries ooo_last_skb first, then
    /// each node its rb-tree walk passes on the right-hand side; here the walk is taken to reach the skb ending at seq
    /// before one that covers seq (observed on Linux 6.18.44, fuzz seed 5076: that skb was the tree's root).
    /// skb_try_coalesce() refuses a cloned destination first (skb_cloned(to)): over lo the clone of a segment its sender
    /// still holds (<see cref="LoShared"/>) — every data segment sent whole, for its sender keeps it until an ACK covers
    /// it — takes nothing, not even a bare FIN. An skb of its own (a software GSO piece, a backlog merge) takes a
    /// payload that fits its head's tail room by copy (truesize unchanged), else the new skb's page fragments — refused
    /// when that skb has payload in a kmalloc'd head (skb_head_is_locked()) or the two would hold more than
    /// MAX_SKB_FRAGS — adding what the new skb's truesize holds beyond its head (delta = truesize −
    /// SKB_TRUESIZE(skb_end_offset())): the payload of the sender's clone or of a piece. Off lo a TUN device's skb
    /// (<see cref="NicSkb"/>) takes a segment that fits its tail room by copy; its kmalloc'd head is never stolen. A queued
    /// skb that carries a FIN takes no text (observed, cause not found: D131). linux-4.4's queue was a list and its tcp_data_queue_ofo() offered the segment to
    /// its tail alone: "skb1 = skb_peek_tail(&amp;tp->out_of_order_queue); … if (seq == TCP_SKB_CB(skb1)->end_seq) { … if
    /// (!tcp_try_coalesce(sk, skb1, skb, &amp;fragstolen))" — a segment ending another queued skb goes to the walk ("Find
    /// place to insert this segment"), its overlap checks and D-SACKs, with no merge.
    /// </summary>
    bool OfoTryCoalesce(uint seq, uint end, bool fin)
    {
        int at = Ofo.Count - 1;
        if (_sim.Profile == KernelProfile.Linux6)
            while (at >= 0 && Ofo[at].End != seq) at--;
        if (at < 0 || Ofo[at].End != seq) return false;
        var to = Ofo[at];
        if (LoShared(to.Skb.Own, to.End)) return false; // skb_cloned(to)
        int len = (int)(end - seq) - (fin ? 1 : 0);
        var into = to.Skb;
        // A queued skb that carries a FIN takes no more text, though its tail room would hold it: observed on Linux
        // 6.18.44 (a bare FIN, or 10 bytes and a FIN, then 10 bytes after it: two skbs, skmem_rmem_alloc 1664), while
        // tcp_try_coalesce() and skb_try_coalesce() test no FIN — the cause is not found (docs/kernel-check.md D131).
        if (to.Fin && len > 0) return false;
        if (len > 0)
        {
            var from = ArrivingSkb(len);
            if (len <= into.TailRoom) into = into with { Overhead = into.Overhead - len, TailRoom = into.TailRoom - len, HeadLen = into.HeadLen + len };
            else if (from.HeadLen != 0 || into.Frags + from.Frags > MaxSkbFrags) return false;
            else into = into with { Overhead = into.Overhead + from.Overhead - LoopbackSkbOverhead, Frags = into.Frags + from.Frags, TailRoom = 0 }; // nonlinear now: no room
        }
        OfoToWrite[at] = to with { End = end, Fin = to.Fin || fin, Skb = into };
        Host.Count(MibCounter.TcpExtTCPRcvCoalesce);
        return true;
    }

    /// <summary>
    /// Models tcp_ofo_queue() — net/ipv4/tcp_input.c: queued segments rcv_nxt has reached move to the receive queue in
    /// order; the part of one that starts below dsack_high (rcv_nxt on entry) is D-SACK-extended, from its start to
    /// its end or dsack_high, whichever comes first ("tcp: fix tcp_ofo_queue() to avoid including too much DUP SACK
    /// range", 2025, in 6.18: a queued 101:111 covered by an in-order 1:1001 is D-SACKed as 101:111 — observed on
    /// Linux 6.18.44, --fuzz-teardown seed 10000). Before that fix (linux-4.4) the range ran to dsack_high, which was
    /// lowered to the end of such a segment instead. One wholly below rcv_nxt is dropped. Each moves as the skb it
    /// arrived in (tcp_try_coalesce() into the receive queue's tail, else __skb_queue_tail() of that skb): over lo its
    /// own truesize and clone state (<see cref="LoSkb"/>), not the segment that filled the hole.
    /// </summary>
    void OfoQueue()
    {
        uint dsackHigh = _rcv.Nxt;
        while (State != TcpState.Close && Ofo.Count > 0 && !SeqMath.After(Ofo[0].Seq, _rcv.Nxt))
        {
            var o = Ofo[0];
            if (SeqMath.Before(o.Seq, dsackHigh))
            {
                uint dsack = dsackHigh;
                if (SeqMath.Before(o.End, dsackHigh))
                {
                    if (_sim.Profile == KernelProfile.Linux44) dsackHigh = o.End;
                    else dsack = o.End;
                }
                DsackExtend(o.Seq, dsack);
            }
            Ofo.RemoveAt(0);
            if (SeqMath.After(o.End, _rcv.Nxt)) Accept(_rcv.Nxt, o.End, o.Fin, o.Skb); // the skb it came in, not the segment in hand
            else CountDrops(1); // "ofo packet was already received": tcp_drop_reason(…, TCP_OFO_DROP)
        }
    }

    /// <summary>The SACK blocks the 40 option bytes leave room for (MAX_TCP_OPTION_SPACE less the timestamp and the 4-byte SACK base).</summary>
    int SackBlocksRoom => (40 - (_rxOpt.TsOk ? TcpConstants.TimestampOptionBytes : 0) - 4) / 8;

    /// <summary>
    /// The SACK option's bytes in tcp_established_options() — net/ipv4/tcp_output.c — called with no skb (as
    /// tcp_current_mss() does): eff_sacks = rx_opt.num_sacks + rx_opt.dsack; when nonzero, TCPOLEN_SACK_BASE_ALIGNED (4)
    /// plus 8 per block that fits (<see cref="SackBlocksRoom"/>); else 0. What the next ACK-bearing segment will carry.
    /// </summary>
    int PendingSackOptionBytes
    {
        get
        {
            if (!_rxOpt.SackOk) return 0;
            int effSacks = NumSacks + (_rxOpt.Dsack ? 1 : 0);
            return effSacks == 0 ? 0 : 4 + 8 * Math.Min(effSacks, SackBlocksRoom);
        }
    }

    /// <summary>
    /// Models the SACK part of tcp_established_options() + tcp_options_write() — net/ipv4/tcp_output.c:
    /// eff_sacks = num_sacks + rx_opt.dsack blocks — tp->duplicate_sack[0] first when set (it sits just before
    /// tp->selective_acks in struct tcp_sock), then the SACK blocks, most recent first — as many as the 40
    /// option bytes leave room for: (40 − 12 − 4) / 8 = 3 with timestamps, (40 − 4) / 8 = 4 without.
    /// Writing the option clears rx_opt.dsack: a D-SACK is sent once.
    /// </summary>
    SackBlocks SackOption()
    {
        int room = SackBlocksRoom;
        Span<SackBlock> blocks = stackalloc SackBlock[SackBlocks.Max + 1];
        int n = 0;
        if (_rxOpt.Dsack) blocks[n++] = _rare!.DuplicateSack;
        for (int i = 0; i < NumSacks; i++) blocks[n++] = _rare!.SelectiveAcks![i];
        _rxOpt.Dsack = false;
        return SackBlocks.Of(blocks[..Math.Min(n, room)]);
    }

    /// <summary>
    /// Models tcp_sacktag_write_queue() — net/ipv4/tcp_input.c. <paramref name="sndUna"/> is tp->snd_una as the kernel has
    /// it there: already the ACK when the ACK advances it (tcp_ack_update_window() ran first), unchanged on an old ACK
    /// (tcp_ack()'s old_ack:). tcp_check_dsack() judges the first block against the ACK's own ack_seq; with nothing in
    /// flight that is all ("goto out"). Each block tcp_is_sackblock_valid() accepts and that ends above
    /// <paramref name="priorSndUna"/> tags the queue; an invalid block counts TCPDSACKIgnoredNoUndo / TCPDSACKIgnoredOld
    /// (a D-SACK) or TCPSACKDiscard — not for a block at or below snd_una on an ACK below it ("Don't count olds caused by
    /// ACK reordering"). Outside Loss, or with an undo_marker, tcp_check_sack_reordering() then judges the lowest
    /// never-retransmitted segment newly SACKed below the highest SACK (state->reord). The "too old ACK" return
    /// (ack_seq below prior_snd_una − max_window) cannot happen here: tcp_ack() already refused such an ACK against the
    /// smaller min(max_window, bytes_acked). Returns FLAG_DATA_SACKED / FLAG_ORIG_SACK_ACKED (tcp_sacktag_one()) and
    /// FLAG_DSACKING_ACK / FLAG_DSACK_TLP (tcp_dsack_seen()).
    /// </summary>
    AckFlags SacktagWriteQueue(Segment seg, uint sndUna, uint priorSndUna, ref SacktagState state)
    {
        state.Reord = _snd.Nxt;
        if (_ca.SackedOut == 0) _ca.HighestSack = _rtx.Count > 0 ? _rtx[0].Seq : _snd.Nxt; // tcp_highest_sack_reset()
        var blocks = seg.Options.Sack.ToArray();
        var flag = AckFlags.None;
        bool foundDupSack = CheckDsack(blocks, seg.Ack, priorSndUna, ref flag, ref state);
        if (PacketsOut == 0) return flag;
        var used = new List<(SackBlock Block, bool DupSack)>(blocks.Length);
        for (int i = 0; i < blocks.Length; i++)
        {
            bool dupSack = i == 0 && foundDupSack;
            var b = blocks[i];
            if (!SackBlockValid(dupSack, b.Left, b.Right, sndUna))
            {
                if (dupSack) Host.Count(_ca.UndoMarker == 0 ? MibCounter.TcpExtTCPDSACKIgnoredNoUndo : MibCounter.TcpExtTCPDSACKIgnoredOld);
                // "Don't count olds caused by ACK reordering"
                else if (seg.Ack == sndUna || SeqMath.After(b.Right, sndUna)) Host.Count(MibCounter.TcpExtTCPSACKDiscard);
                continue;
            }
            if (!SeqMath.After(b.Right, priorSndUna)) continue; // "Ignore very old stuff early"
            used.Add((b, dupSack));
        }
        // "order SACK blocks to allow in order walk of the retrans queue": the kernel's bubble sort by start_seq in
        // sequence space (after()), which keeps a D-SACK before a block starting where it does, and one below snd_una first.
        for (int i = used.Count - 1; i > 0; i--)
            for (int j = 0; j < i; j++)
                if (SeqMath.After(used[j].Block.Left, used[j + 1].Block.Left)) (used[j], used[j + 1]) = (used[j + 1], used[j]);
        flag |= SacktagBlocks(used, sndUna, ref state);
        if (_ca.State != CaState.Loss || _ca.UndoMarker != 0) CheckSackReordering(state.Reord, sndUna, ts: false);
        return flag;
    }

    /// <summary>
    /// Models tcp_check_dsack(): the first block is a D-SACK when it starts below the ACK (TCPDSACKRecv) or
    /// lies inside the second (TCPDSACKOfoRecv); tcp_dsack_seen() may still find it dubious
    /// (TCPDSACKIgnoredDubious). A believed one adds its segments to TCPDSACKRecvSegs and, when it covers
    /// data already acknowledged above undo_marker, takes them from undo_retrans ("dumb counting").
    /// </summary>
    bool CheckDsack(SackBlock[] blocks, uint ackSeq, uint priorSndUna, ref AckFlags flag, ref SacktagState state)
    {
        var b0 = blocks[0];
        if (SeqMath.Before(b0.Left, ackSeq))
        {
            Host.Count(MibCounter.TcpExtTCPDSACKRecv);
        }
        else if (blocks.Length > 1)
        {
            var b1 = blocks[1];
            if (SeqMath.After(b0.Right, b1.Right) || SeqMath.Before(b0.Left, b1.Left)) return false;
            Host.Count(MibCounter.TcpExtTCPDSACKOfoRecv);
        }
        else
        {
            return false;
        }
        int dupSegs = DsackSeen(b0.Left, b0.Right, ref flag, ref state);
        if (dupSegs == 0)
        {
            Host.Count(MibCounter.TcpExtTCPDSACKIgnoredDubious);
            return false;
        }
        Host.Count(MibCounter.TcpExtTCPDSACKRecvSegs, dupSegs);
        if (_ca.UndoMarker != 0 && _ca.UndoRetrans > 0 && !SeqMath.After(b0.Right, priorSndUna) && SeqMath.After(b0.Right, _ca.UndoMarker))
            _ca.UndoRetrans = Math.Max(0, _ca.UndoRetrans - dupSegs);
        return true;
    }

    /// <summary>
    /// tcp_highest_sack_seq(): snd_una while nothing is SACKed (<paramref name="sndUna"/>, tp->snd_una as the caller has
    /// it), else the end of the highest SACKed segment.
    /// </summary>
    uint HighestSackSeq(uint sndUna) => _ca.SackedOut == 0 ? sndUna : _ca.HighestSack;

    /// <summary>
    /// Models tcp_check_sack_reordering() — net/ipv4/tcp_input.c: "It's reordering when higher sequence was delivered
    /// (i.e. sacked) before some lower never-retransmitted sequence (low_seq)". With <paramref name="lowSeq"/> below
    /// the highest SACK (fack), a distance of more than reordering · mss_cache raises tp->reordering to it in segments
    /// (rounded up, at most net.ipv4.tcp_max_reordering, 300 by default); either way reord_seen grows and TCPSACKReorder (TCPTSReorder when
    /// a timestamp proved it: tcp_try_undo_partial()) is counted.
    /// </summary>
    void CheckSackReordering(uint lowSeq, uint sndUna, bool ts)
    {
        uint fack = HighestSackSeq(sndUna);
        if (!SeqMath.Before(lowSeq, fack)) return;
        uint metric = fack - lowSeq;
        long mss = PayloadMss;
        if (mss > 0 && metric > unchecked(_ca.Reordering * (uint)mss)) // u32 × u32
            _ca.Reordering = MaxReorderingCap((metric + mss - 1) / mss);
        _ca.ReordSeen++;
        Host.Count(ts ? MibCounter.TcpExtTCPTSReorder : MibCounter.TcpExtTCPSACKReorder);
    }

    /// <summary>
    /// Models tcp_dsack_seen(): 0 (dubious) for an empty block, one wider than the largest window the peer
    /// offered (max_window), or when the D-SACKed segments so far (dsack_dups) exceed what was ever
    /// retransmitted (total_retrans); else the duplicate segments it reports (DIV_ROUND_UP by mss_cache),
    /// TCP_DSACK_SEEN, FLAG_DSACKING_ACK, and the duplicates counted in state->sack_delivered. A one-segment
    /// block ending at tlp_high_seq is the loss probe's (FLAG_DSACK_TLP).
    /// </summary>
    int DsackSeen(uint start, uint end, ref AckFlags flag, ref SacktagState state)
    {
        if (!SeqMath.Before(start, end)) return 0;
        uint len = end - start;
        if (len > _snd.MaxWindow) return 0;
        int mss = Math.Max(1, PayloadMss);
        int dupSegs = 1;
        if (len > mss) dupSegs = (int)((len + mss - 1) / mss);
        else if (_ca.TlpOutstanding && _ca.TlpHighSeq == end) flag |= AckFlags.DsackTlp;
        _ca.DsackDups += dupSegs;
        if (_ca.DsackDups > TotalRetrans) return 0;
        _rxOpt.DsackSeen = true;
        flag |= AckFlags.DsackingAck;
        // "We increase the RACK ordering window in rounds where we receive DSACKs that may have been due to reordering
        // causing RACK to trigger a spurious fast recovery. Thus RACK ignores DSACKs that happen without having seen
        // reordering, or that match TLP probes."
        if (_ca.ReordSeen > 0 && (flag & AckFlags.DsackTlp) == 0) _rack.DsackSeen = true;
        state.SackDelivered += dupSegs; // "A spurious retransmission is delivered"
        return dupSegs;
    }

    /// <summary>
    /// Models tcp_is_sackblock_valid(): not beyond snd_nxt nor reversed; valid when it starts above snd_una;
    /// below it only a D-SACK with an undo_marker — wholly below snd_una, from undo_marker on (or crossing
    /// it by less than max_window).
    /// </summary>
    bool SackBlockValid(bool isDsack, uint start, uint end, uint sndUna)
    {
        if (SeqMath.After(end, _snd.Nxt) || !SeqMath.Before(start, end)) return false;
        if (!SeqMath.Before(start, _snd.Nxt)) return false;
        if (SeqMath.After(start, sndUna)) return true;
        if (!isDsack || _ca.UndoMarker == 0) return false;
        if (SeqMath.After(end, sndUna)) return false;
        if (!SeqMath.Before(start, _ca.UndoMarker)) return true;
        if (!SeqMath.After(end, _ca.UndoMarker)) return false;
        return !SeqMath.Before(start, end - _snd.MaxWindow);
    }

    /// <summary>
    /// Models tcp_init_undo() — net/ipv4/tcp_input.c: undo_marker = snd_una; undo_retrans = the retransmissions in
    /// flight (retrans_out) plus a retransmitted loss probe still outstanding (tlp_high_seq and tlp_retrans), −1
    /// instead of 0. linux-4.4 counts retrans_out only.
    /// </summary>
    void InitUndo()
    {
        _ca.UndoMarker = _snd.Una;
        // "First, account for regular retransmits in flight", "Next, account for TLP retransmits in flight", "Finally,
        // avoid 0, because undo_retrans==0 means "can undo now"" (6.10+: a D-SACK of the probe must not allow undo).
        int undoRetrans = _ca.RetransOut;
        if (_ca.TlpOutstanding && _ca.TlpRetrans && _sim.Profile != KernelProfile.Linux44) undoRetrans++;
        _ca.UndoRetrans = undoRetrans == 0 ? -1 : undoRetrans;
    }

    /// <summary>__tcp_retransmit_skb() → tcp_retransmit_skb(): "if (tp->undo_retrans &lt; 0) tp->undo_retrans = 0; tp->undo_retrans += pcount".</summary>
    void CountUndoRetrans()
    {
        if (_ca.UndoRetrans < 0) _ca.UndoRetrans = 0;
        _ca.UndoRetrans++;
    }

    /// <summary>Models tcp_current_ssthresh(): ssthresh during a cwnd reduction (CWR, Recovery), else max(ssthresh, ¾ cwnd).</summary>
    int CurrentSsthresh => InCwndReduction ? _ca.Ssthresh : Math.Max(_ca.Ssthresh, (_ca.Cwnd >> 1) + (_ca.Cwnd >> 2));
}
