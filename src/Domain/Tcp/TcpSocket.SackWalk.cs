using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// The skb side of tcp_sacktag_write_queue() — net/ipv4/tcp_input.c: how the SACK blocks of an ACK cut and join the
/// retransmission queue's skbs (the engine's send skbs, <see cref="DataPath.SndSkbs"/>). The scoreboard itself is kept per
/// segment (<see cref="MarkSacked"/>); what this adds is where the kernel's skbs begin and end afterwards, which decides
/// what a later retransmission resends as one piece — after SACK reneging clears the marks, after an ACK that ends
/// inside an skb (tcp_tso_acked()), and for the loss probe. Observed on Linux 6.18.44 (--fuzz-teardown seed 10305): a
/// block 1461:2921 over the 3-segment skb 1:4345 (MSS 1448) marks nothing, yet cuts the skb at 2897, so the RTO after
/// ack 1461 resends 1461:2897 (1436 bytes), not 1461:2909.
/// The segments are tagged (tcp_sacktag_one(): <see cref="MarkSacked"/>) as the walk reaches the skb holding them, so
/// a D-SACK block inside the SACK block before it is tagged once, in that block's walk (next_dup), and the walk's
/// counters (TCPSackShifted, TCPSackMerged, TCPSackShiftFallback) move where the kernel's do. Not modelled:
/// tcp_fragment()'s -ENOMEM refusal of a huge queue, and skb_shift()'s frag limit (MAX_SKB_FRAGS).
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Models tcp_sacktag_walk() — net/ipv4/tcp_input.c: from send skb <paramref name="skb"/> (-1: NULL) while the skbs
    /// start below <paramref name="end"/>. An skb below the end of <paramref name="nextDup"/> (the D-SACK block that lies
    /// in this one) is first matched against it (tcp_match_skb_to_sack()); one inside it is tagged as D-SACKed. Any other
    /// is offered to tcp_shift_skb_data() (<see cref="SackShift"/>), and when that falls back, matched against the block,
    /// whose -EINVAL ends the walk. An skb the block holds is tagged (tcp_sacktag_one(): <see cref="MarkSacked"/>) before
    /// the walk moves on, so the next skb's tcp_shift_skb_data() sees it SACKed. Returns the skb the walk stopped at,
    /// -1 when it ran off the retransmission queue.
    /// </summary>
    int SacktagWalk(int skb, SackBlock? nextDup, uint start, uint end, bool dupSackIn, uint sndUna, ref AckFlags flag, ref SacktagState state)
    {
        if (skb < 0) return -1;
        var skbs = _data!.SndSkbs!;
        for (int i = skb; i < skbs.Count && SeqMath.Before(skbs[i].Seq, _snd.Nxt); i++)
        {
            // "queue is in-order => we can short-circuit the walk early"
            if (!SeqMath.Before(skbs[i].Seq, end)) return i;
            int inSack = 0;
            bool dupSack = dupSackIn;
            if (nextDup is { } dup && SeqMath.Before(skbs[i].Seq, dup.Right))
            {
                inSack = SackMatchSkb(i, dup.Left, dup.Right);
                if (inSack > 0) dupSack = true;
            }
            if (inSack <= 0)
            {
                int tmp = SackShift(i, start, end, dupSack, sndUna, ref flag, ref state);
                if (tmp >= 0)
                {
                    i = tmp; // "skb = tmp; continue": on from the skb after prev
                    continue;
                }
                inSack = tmp == SackNoop ? 0 : SackMatchSkb(i, start, end);
            }
            if (inSack < 0) return i; // "if (unlikely(in_sack < 0)) break;"
            if (inSack > 0) flag |= MarkSacked(skbs[i].Seq, skbs[i].End, sndUna, dupSack, ref state);
        }
        return -1;
    }

    /// <summary>
    /// Models tcp_sacktag_skip() — net/ipv4/tcp_input.c: the skb a walk left off at when it already starts after
    /// <paramref name="seq"/>, else the one holding <paramref name="seq"/> in the retransmission queue
    /// (tcp_sacktag_bsearch(); -1: none).
    /// </summary>
    int SacktagSkip(int skb, uint seq)
    {
        var skbs = _data!.SndSkbs!;
        if (skb >= 0 && SeqMath.After(skbs[skb].Seq, seq)) return skb;
        int i = SndSkbHolding(skbs, seq);
        return i >= 0 && SeqMath.Before(skbs[i].Seq, _snd.Nxt) ? i : -1;
    }

    /// <summary>
    /// tcp_highest_sack(): the skb tp->highest_sack points at — the retransmission queue's head while nothing is SACKed
    /// (tcp_highest_sack_reset()), else the skb after the highest SACKed one (tcp_advance_highest_sack()), which starts at
    /// tcp_highest_sack_seq(); -1 (NULL) past the queue's end.
    /// </summary>
    int HighestSackSkb(uint sndUna)
    {
        var skbs = _data!.SndSkbs!;
        if (_ca.SackedOut == 0) return skbs.Count > 0 && SeqMath.Before(skbs[0].Seq, _snd.Nxt) ? 0 : -1;
        return SacktagSkip(-1, HighestSackSeq(sndUna));
    }

    /// <summary>
    /// Models tcp_maybe_skipping_dsack(): when the walk is about to skip to <paramref name="skipTo"/> past the start of
    /// the D-SACK block that lies in this one, that block is walked first on its own (as D-SACKed).
    /// </summary>
    int MaybeSkippingDsack(int skb, SackBlock? nextDup, uint skipTo, uint sndUna, ref AckFlags flag, ref SacktagState state)
    {
        if (nextDup is not { } dup || !SeqMath.Before(dup.Left, skipTo)) return skb;
        skb = SacktagSkip(skb, dup.Left);
        return SacktagWalk(skb, null, dup.Left, dup.Right, dupSackIn: true, sndUna, ref flag, ref state);
    }

    const int SackFallback = -1, SackNoop = -2;

    /// <summary>
    /// The queued segments inside send skb <paramref name="i"/>: its pcount, its gso_size (tcp_skb_mss(): the longest of
    /// them; 0 for one segment), and whether all are SACKed and neither lost nor counted in retrans_out
    /// ((sacked &amp; TCPCB_TAGBITS) == TCPCB_SACKED_ACKED), and whether it is retransmitted and not lost
    /// ((sacked &amp; (TCPCB_LOST|TCPCB_SACKED_RETRANS)) == TCPCB_SACKED_RETRANS).
    /// </summary>
    (int Pcount, int Mss, bool OnlySacked, bool RetransNotLost) SkbSegments(int i)
    {
        var skb = _data!.SndSkbs![i];
        int pcount = 0, mss = 0;
        bool onlySacked = true, retransNotLost = false;
        for (int k = RtxFirstFrom(skb.Seq); k < _rtx.Count && !SeqMath.After(_rtx[k].End, skb.End); k++)
        {
            var r = _rtx[k];
            if (pcount++ == 0) retransNotLost = r.RetransOut && !r.Lost;
            mss = Math.Max(mss, PayloadOf(r));
            onlySacked &= r.Sacked && !r.RetransOut && !r.Lost;
        }
        return (Math.Max(pcount, 1), pcount > 1 ? mss : 0, pcount > 0 && onlySacked, retransNotLost);
    }

    /// <summary>
    /// The index of the first queued segment that starts at or after <paramref name="seq"/> (the count when none does): a
    /// binary search of the retransmission queue, which is in sequence order, so that finding an skb's or a SACK block's
    /// segments costs O(log n) plus the segments themselves, not a scan of everything in flight.
    /// </summary>
    int RtxFirstFrom(uint seq)
    {
        int lo = 0, hi = _rtx.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (SeqMath.Before(_rtx[mid].Seq, seq)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>tcp_skb_seglen(): an skb's length when it is one segment, else its gso_size.</summary>
    int SkbSeglen(int i)
    {
        var (pcount, mss, _, _) = SkbSegments(i);
        return pcount == 1 ? (int)_data!.SndSkbs![i].Payload : mss;
    }

    /// <summary>
    /// Models tcp_shift_skb_data() — net/ipv4/tcp_input.c: the SACKed part of skb <paramref name="i"/> — all of it, or
    /// its head in whole segments — moves onto the previous skb when that one is SACKed and nothing else (tcp_skb_shift():
    /// its payload and truesize go over; tcp_shifted_skb(), which tags the part first), the segment sizes alike
    /// (tcp_skb_seglen()); an skb eaten whole is freed with its flags (PSH, FIN) passed on, and a SACKed next skb of the
    /// same size is then taken in too ("Hole filled allows collapsing with the next as well"). Each shift that leaves
    /// bytes behind counts TCPSackShifted, each skb eaten TCPSackMerged (tcp_shifted_skb()), each "goto fallback"
    /// TCPSackShiftFallback. tcp_skb_shift() refuses to grow prev to 65535 · TCP_MIN_GSO_SIZE bytes. Returns prev's
    /// index, <see cref="SackNoop"/> (nothing to do here, and no tcp_match_skb_to_sack() either) or
    /// <see cref="SackFallback"/>.
    /// </summary>
    int SackShift(int i, uint start, uint end, bool dupSack, uint sndUna, ref AckFlags flag, ref SacktagState state)
    {
        var skbs = _data!.SndSkbs!;
        var skb = skbs[i];
        var seg = SkbSegments(i);
        // "Normally R but no L won't result in plain S"
        if (!dupSack && seg.RetransNotLost) return ShiftFallback();
        if (skb.Payload <= 0) return ShiftFallback(); // skb_can_shift(): a bare SYN or FIN has no page frags
        if (!SeqMath.After(skb.End, sndUna)) return ShiftFallback(); // "This frame is about to be dropped (was ACKed)."
        if (i == 0 || !SkbSegments(i - 1).OnlySacked) return ShiftFallback();
        long len;
        int mss;
        if (!SeqMath.After(start, skb.Seq) && !SeqMath.Before(end, skb.End))
        {
            len = skb.Payload;
            mss = seg.Pcount == 1 ? (int)skb.Payload : seg.Mss;
            if (mss != SkbSeglen(i - 1)) return ShiftFallback();
        }
        else
        {
            if (!SeqMath.After(skb.End, start)) return SackNoop;
            if (seg.Pcount <= 1) return SackNoop;
            if (SeqMath.After(start, skb.Seq)) return ShiftFallback();
            len = end - skb.Seq;
            mss = seg.Mss;
            if (mss != SkbSeglen(i - 1)) return ShiftFallback();
            if (len < mss) return SackNoop;
            len = len / mss * mss;
        }
        // "tcp_sacktag_one() won't SACK-tag ranges below snd_una"
        if (!SeqMath.After(skb.Seq + (uint)len, sndUna)) return ShiftFallback();
        if (!SkbShiftFits(i - 1, len)) return ShiftFallback();
        flag |= MarkSacked(skb.Seq, skb.Seq + (uint)len, sndUna, dupSack, ref state);
        SkbShiftOnto(i - 1, len);
        if (skbs[i].Payload > 0)
        {
            Host.Count(MibCounter.TcpExtTCPSackShifted);
            return i - 1;
        }
        SkbShiftEaten(i - 1);
        // "Hole filled allows collapsing with the next as well"
        if (i < skbs.Count && SeqMath.Before(skbs[i].Seq, _snd.Nxt) && skbs[i].Payload > 0)
        {
            var next = SkbSegments(i);
            if (next.OnlySacked && SkbSeglen(i) == mss && SkbShiftFits(i - 1, skbs[i].Payload))
            {
                flag |= MarkSacked(skbs[i].Seq, skbs[i].End, sndUna, dupSack: false, ref state);
                SkbShiftOnto(i - 1, skbs[i].Payload);
                SkbShiftEaten(i - 1);
            }
        }
        return i - 1;
    }

    /// <summary>tcp_shift_skb_data()'s "fallback:" label: NET_INC_STATS(LINUX_MIB_SACKSHIFTFALLBACK).</summary>
    int ShiftFallback()
    {
        Host.Count(MibCounter.TcpExtTCPSackShiftFallback);
        return SackFallback;
    }

    /// <summary>
    /// tcp_skb_shift()'s limit: "TCP min gso_size is 8 bytes (TCP_MIN_GSO_SIZE) ... we need to make sure not storing more
    /// than 65535 * 8 bytes per skb" — prev may not reach 524280 bytes (its 16-bit gso_segs is then never the limit for
    /// segments of at least 8 bytes).
    /// </summary>
    bool SkbShiftFits(int prev, long len) => _data!.SndSkbs![prev].Payload + len < 65535 * TcpConstants.MinGsoSize;

    /// <summary>skb_shift() of <paramref name="len"/> payload bytes from the head of skb <paramref name="prev"/> + 1 onto skb <paramref name="prev"/>: the bytes and their truesize move.</summary>
    void SkbShiftOnto(int prev, long len)
    {
        var skbs = _data!.SndSkbs!;
        ref var to = ref SndSkbAt(skbs, prev);
        ref var from = ref SndSkbAt(skbs, prev + 1);
        to.End += (uint)len;
        to.Truesize += len;
        from.Seq += (uint)len;
        from.Truesize -= len;
    }

    /// <summary>
    /// tcp_shifted_skb()'s "Whole SKB was eaten": skb <paramref name="prev"/> + 1, its payload gone, gives prev its
    /// tcp_flags (PSH, FIN: the FIN's sequence number too) and is freed (tcp_rtx_queue_unlink_and_free()); TCPSackMerged.
    /// </summary>
    void SkbShiftEaten(int prev)
    {
        var skbs = _data!.SndSkbs!;
        var eaten = skbs[prev + 1];
        ref var to = ref SndSkbAt(skbs, prev);
        to.End = eaten.End;
        to.Fin |= eaten.Fin;
        to.Psh |= eaten.Psh;
        FreeWmem(eaten.Truesize);
        skbs.RemoveAt(prev + 1);
        Host.Count(MibCounter.TcpExtTCPSackMerged);
    }

    /// <summary>
    /// Models tcp_match_skb_to_sack() — net/ipv4/tcp_input.c: an skb of more than one segment that the block
    /// [<paramref name="start"/>, <paramref name="end"/>) covers in part is cut in whole segments of its gso_size
    /// (tcp_fragment()): when the block starts inside it, at the block's start rounded up to a segment boundary (at least
    /// one segment in; no cut when that is past its end) — the head is not SACKed; when the block covers its head, at the
    /// block's end rounded down (-EINVAL when that is less than one segment). The segments the block covers whole are
    /// the ones <see cref="MarkSacked"/> marked. Returns in_sack, or -1 for -EINVAL and for tcp_fragment()'s -ENOMEM
    /// (<see cref="RtxFragmentRefused"/>).
    /// </summary>
    int SackMatchSkb(int i, uint start, uint end)
    {
        var skb = _data!.SndSkbs![i];
        bool inSack = !SeqMath.After(start, skb.Seq) && !SeqMath.Before(end, skb.End);
        var seg = SkbSegments(i);
        if (seg.Pcount > 1 && !inSack && SeqMath.After(skb.End, start))
        {
            long mss = seg.Mss;
            inSack = !SeqMath.After(start, skb.Seq);
            long pktLen;
            if (!inSack)
            {
                pktLen = Math.Max(start - skb.Seq, mss);
            }
            else
            {
                pktLen = end - skb.Seq;
                if (pktLen < mss) return -1;
            }
            // "Round if necessary so that SACKs cover only full MSSes and/or the remaining small portion (if present)"
            if (pktLen > mss)
            {
                long newLen = pktLen / mss * mss;
                if (!inSack && newLen < pktLen) newLen += mss;
                pktLen = newLen;
            }
            if (pktLen >= skb.Payload && !inSack) return 0;
            if (RtxFragmentRefused(i)) return -1; // tcp_fragment(): -ENOMEM
            SkbSplitAt(skb.Seq + (uint)pktLen);
        }
        return inSack ? 1 : 0;
    }

    /// <summary>
    /// The end of tcp_sacktag_write_queue(): "Clear the head of the cache sack blocks so we can skip it next time" — the
    /// used blocks, in walk order, fill the cache's tail.
    /// </summary>
    void SackCacheStore(List<(SackBlock Block, bool DupSack)> ordered)
    {
        var c = _rare!.RecvSackCache!;
        int empty = c.Length - ordered.Count;
        for (int k = 0; k < c.Length; k++) c[k] = k < empty ? default : ordered[k - empty].Block;
    }

    /// <summary>
    /// tcp_sacktag_write_queue()'s loop over the used blocks, in order, with the skb a walk left off at carried to the
    /// next (tcp_sacktag_skip()): with sacked_out and a cached block it overlaps (not a D-SACK), only the parts the cache
    /// does not cover are walked — "Head todo?" up to the cached start, then, past tcp_maybe_skipping_dsack(), the tail
    /// from the cached end: from tcp_highest_sack() to the block's end when tcp_highest_sack_seq() is that end ("...but
    /// better entrypoint exists!"), else checked against the next cached block too; without, the whole block, from
    /// tcp_highest_sack() when it starts at or above tcp_highest_sack_seq(). A D-SACK block that lies in the block before
    /// it is that walk's next_dup. The cache is passed over ("It's already past, so skip checking against it") when
    /// nothing was SACKed before this ACK, and skips its empty head slots otherwise. Without send skbs (nothing written
    /// through tcp_sendmsg_locked()) each block's segments are tagged directly.
    /// </summary>
    AckFlags SacktagBlocks(List<(SackBlock Block, bool DupSack)> ordered, uint sndUna, ref SacktagState state)
    {
        var c = RareToWrite.RecvSackCache ??= new SackBlock[SackBlocks.Max];
        var flag = AckFlags.None;
        if (_data?.SndSkbs is null)
        {
            foreach (var (b, dupSack) in ordered) flag |= MarkSacked(b.Left, b.Right, sndUna, dupSack, ref state);
            SackCacheStore(ordered);
            return flag;
        }
        int cache = c.Length;
        if (_ca.SackedOut > 0)
        {
            cache = 0;
            while (cache < c.Length && c[cache].Left == 0 && c[cache].Right == 0) cache++;
        }
        int skb = -1;
        for (int i = 0; i < ordered.Count;)
        {
            var (b, dupSack) = ordered[i];
            uint start = b.Left, end = b.Right;
            SackBlock? nextDup = i + 1 < ordered.Count && ordered[i + 1].DupSack ? ordered[i + 1].Block : null;
            while (cache < c.Length && !SeqMath.Before(start, c[cache].Right)) cache++; // "Skip too early cached blocks"
            if (cache < c.Length && !dupSack && SeqMath.After(end, c[cache].Left))
            {
                if (SeqMath.Before(start, c[cache].Left)) // "Head todo?"
                {
                    skb = SacktagSkip(skb, start);
                    skb = SacktagWalk(skb, nextDup, start, c[cache].Left, dupSack, sndUna, ref flag, ref state);
                }
                if (!SeqMath.After(end, c[cache].Right)) // "Rest of the block already fully processed?"
                {
                    i++;
                    continue;
                }
                skb = MaybeSkippingDsack(skb, nextDup, c[cache].Right, sndUna, ref flag, ref state);
                if (HighestSackSeq(sndUna) == c[cache].Right) // "...but better entrypoint exists!"
                {
                    skb = HighestSackSkb(sndUna);
                    if (skb < 0) break;
                    cache++;
                    skb = SacktagWalk(skb, nextDup, start, end, dupSack, sndUna, ref flag, ref state);
                    i++;
                    continue;
                }
                skb = SacktagSkip(skb, c[cache].Right);
                cache++; // "Check overlap against next cached too (past this one already)"
                continue;
            }
            if (!SeqMath.Before(start, HighestSackSeq(sndUna)))
            {
                skb = HighestSackSkb(sndUna);
                if (skb < 0) break;
            }
            skb = SacktagSkip(skb, start);
            skb = SacktagWalk(skb, nextDup, start, end, dupSack, sndUna, ref flag, ref state);
            i++;
        }
        SackCacheStore(ordered);
        return flag;
    }
}
