using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// The skb side of tcp_sacktag_write_queue() — net/ipv4/tcp_input.c: how the SACK blocks of an ACK cut and join the
/// retransmission queue's skbs (the engine's send skbs, <see cref="_sndSkbs"/>). The scoreboard itself is kept per
/// segment (<see cref="MarkSacked"/>); what this adds is where the kernel's skbs begin and end afterwards, which decides
/// what a later retransmission resends as one piece — after SACK reneging clears the marks, after an ACK that ends
/// inside an skb (tcp_tso_acked()), and for the loss probe. Observed on Linux 6.18.44 (--fuzz-teardown seed 10305): a
/// block 1461:2921 over the 3-segment skb 1:4345 (MSS 1448) marks nothing, yet cuts the skb at 2897, so the RTO after
/// ack 1461 resends 1461:2897 (1436 bytes), not 1461:2909.
/// Not modelled: the MIB counters of the walk (TCPSackShifted, TCPSackMerged, TCPSackShiftFallback), the D-SACK
/// block matched inside the walk of the SACK block holding it (next_dup: the D-SACK is walked on its own here),
/// tcp_fragment()'s -ENOMEM refusal of a huge queue, and skb_shift()'s frag limit (MAX_SKB_FRAGS).
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>tp->recv_sack_cache: the blocks the last SACK-tagging ACK used, sorted, right-aligned (empty: 0, 0).</summary>
    SackBlock[]? _recvSackCache;

    /// <summary>One part of a block tcp_sacktag_write_queue() walks: from the skb holding <c>From</c>, matched against [Start, End).</summary>
    readonly record struct SackWalk(uint From, uint Start, uint End, bool DupSack);

    /// <summary>
    /// The walks of tcp_sacktag_write_queue()'s loop for one block (<paramref name="cache"/> is its cache pointer, moved
    /// on as the kernel moves it): with sacked_out and a cached block it overlaps (not a D-SACK), only the parts the cache
    /// does not cover — "Head todo?" up to the cached start, then the tail from the cached end, in one walk to the
    /// block's end when tcp_highest_sack_seq() is that end ("...but better entrypoint exists!"), else checked against the
    /// next cached block too; without, the whole block.
    /// </summary>
    List<SackWalk> SackWalks(uint start, uint end, bool dupSack, uint sndUna, ref int cache)
    {
        var walks = new List<SackWalk>(2);
        var c = _recvSackCache!;
        while (cache < c.Length && !SeqMath.Before(start, c[cache].Right)) cache++; // "Skip too early cached blocks"
        uint from = start;
        while (cache < c.Length && !dupSack && SeqMath.After(end, c[cache].Left))
        {
            if (SeqMath.Before(start, c[cache].Left) && SeqMath.Before(from, c[cache].Left))
                walks.Add(new SackWalk(from, start, c[cache].Left, dupSack)); // "Head todo?"
            if (!SeqMath.After(end, c[cache].Right)) return walks; // "Rest of the block already fully processed?"
            bool better = HighestSackSeq(sndUna) == c[cache].Right;
            from = c[cache].Right;
            cache++;
            if (better) break; // "...but better entrypoint exists!": goto walk
        }
        walks.Add(new SackWalk(from, start, end, dupSack));
        return walks;
    }

    /// <summary>
    /// Models tcp_sacktag_walk() on the skbs: from the skb holding <see cref="SackWalk.From"/> while they start below the
    /// walk's end, each first offered to tcp_shift_skb_data() (<see cref="SackShift"/>), and when that falls back, to
    /// tcp_match_skb_to_sack() (<see cref="SackMatchSkb"/>), whose -EINVAL ends the walk. The segments were marked
    /// already (<see cref="MarkSacked"/>): the kernel tags a SACKed skb before it moves to the next, so a previous skb's
    /// marks are what tcp_shift_skb_data() sees either way.
    /// </summary>
    void SackWalkSkbs(SackWalk walk, uint sndUna)
    {
        var skbs = _sndSkbs;
        if (skbs is null) return;
        int i = SndSkbHolding(skbs, walk.From); // tcp_sacktag_bsearch()
        if (i < 0) return;
        while (i < skbs.Count && SeqMath.Before(skbs[i].Seq, _snd.Nxt) && SeqMath.Before(skbs[i].Seq, walk.End))
        {
            int shifted = SackShift(i, walk.Start, walk.End, walk.DupSack, sndUna);
            if (shifted >= 0)
            {
                i = shifted + 1; // "skb = tmp; continue": on from the skb after prev
                continue;
            }
            if (shifted == SackNoop)
            {
                i++;
                continue;
            }
            if (SackMatchSkb(i, walk.Start, walk.End) < 0) break; // "if (unlikely(in_sack < 0)) break;"
            i++;
        }
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
        var skb = _sndSkbs![i];
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
        return pcount == 1 ? (int)_sndSkbs![i].Payload : mss;
    }

    /// <summary>
    /// Models tcp_shift_skb_data() — net/ipv4/tcp_input.c: the SACKed part of skb <paramref name="i"/> — all of it, or
    /// its head in whole segments — moves onto the previous skb when that one is SACKed and nothing else (tcp_skb_shift():
    /// its payload and truesize go over; tcp_shifted_skb()), the segment sizes alike (tcp_skb_seglen()); an skb eaten
    /// whole is freed with its flags (PSH, FIN) passed on, and a SACKed next skb of the same size is then taken in too
    /// ("Hole filled allows collapsing with the next as well"). Returns prev's index, <see cref="SackNoop"/> (nothing to
    /// do here, and no tcp_match_skb_to_sack() either) or <see cref="SackFallback"/>.
    /// </summary>
    int SackShift(int i, uint start, uint end, bool dupSack, uint sndUna)
    {
        var skbs = _sndSkbs!;
        var skb = skbs[i];
        var seg = SkbSegments(i);
        // "Normally R but no L won't result in plain S"
        if (!dupSack && seg.RetransNotLost) return SackFallback;
        if (skb.Payload <= 0) return SackFallback; // skb_can_shift(): a bare SYN or FIN has no page frags
        if (!SeqMath.After(skb.End, sndUna)) return SackFallback; // "This frame is about to be dropped (was ACKed)."
        if (i == 0 || !SkbSegments(i - 1).OnlySacked) return SackFallback;
        long len;
        int mss;
        if (!SeqMath.After(start, skb.Seq) && !SeqMath.Before(end, skb.End))
        {
            len = skb.Payload;
            mss = seg.Pcount == 1 ? (int)skb.Payload : seg.Mss;
            if (mss != SkbSeglen(i - 1)) return SackFallback;
        }
        else
        {
            if (!SeqMath.After(skb.End, start)) return SackNoop;
            if (seg.Pcount <= 1) return SackNoop;
            if (SeqMath.After(start, skb.Seq)) return SackFallback;
            len = end - skb.Seq;
            mss = seg.Mss;
            if (mss != SkbSeglen(i - 1)) return SackFallback;
            if (len < mss) return SackNoop;
            len = len / mss * mss;
        }
        // "tcp_sacktag_one() won't SACK-tag ranges below snd_una"
        if (!SeqMath.After(skb.Seq + (uint)len, sndUna)) return SackFallback;
        SkbShiftOnto(i - 1, len);
        if (skbs[i].Payload > 0) return i - 1;
        SkbShiftEaten(i - 1);
        // "Hole filled allows collapsing with the next as well"
        if (i < skbs.Count && SeqMath.Before(skbs[i].Seq, _snd.Nxt) && skbs[i].Payload > 0)
        {
            var next = SkbSegments(i);
            if (next.OnlySacked && SkbSeglen(i) == mss)
            {
                SkbShiftOnto(i - 1, skbs[i].Payload);
                SkbShiftEaten(i - 1);
            }
        }
        return i - 1;
    }

    /// <summary>skb_shift() of <paramref name="len"/> payload bytes from the head of skb <paramref name="prev"/> + 1 onto skb <paramref name="prev"/>: the bytes and their truesize move.</summary>
    void SkbShiftOnto(int prev, long len)
    {
        var skbs = _sndSkbs!;
        ref var to = ref SndSkbAt(skbs, prev);
        ref var from = ref SndSkbAt(skbs, prev + 1);
        to.End += (uint)len;
        to.Truesize += len;
        from.Seq += (uint)len;
        from.Truesize -= len;
    }

    /// <summary>
    /// tcp_shifted_skb()'s "Whole SKB was eaten": skb <paramref name="prev"/> + 1, its payload gone, gives prev its
    /// tcp_flags (PSH, FIN: the FIN's sequence number too) and is freed (tcp_rtx_queue_unlink_and_free()).
    /// </summary>
    void SkbShiftEaten(int prev)
    {
        var skbs = _sndSkbs!;
        var eaten = skbs[prev + 1];
        ref var to = ref SndSkbAt(skbs, prev);
        to.End = eaten.End;
        to.Fin |= eaten.Fin;
        to.Psh |= eaten.Psh;
        FreeWmem(eaten.Truesize);
        skbs.RemoveAt(prev + 1);
    }

    /// <summary>
    /// Models tcp_match_skb_to_sack() — net/ipv4/tcp_input.c: an skb of more than one segment that the block
    /// [<paramref name="start"/>, <paramref name="end"/>) covers in part is cut in whole segments of its gso_size
    /// (tcp_fragment()): when the block starts inside it, at the block's start rounded up to a segment boundary (at least
    /// one segment in; no cut when that is past its end) — the head is not SACKed; when the block covers its head, at the
    /// block's end rounded down (-EINVAL when that is less than one segment). The segments the block covers whole are
    /// the ones <see cref="MarkSacked"/> marked. Returns in_sack, or -1 for -EINVAL.
    /// </summary>
    int SackMatchSkb(int i, uint start, uint end)
    {
        var skb = _sndSkbs![i];
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
        var c = _recvSackCache!;
        int empty = c.Length - ordered.Count;
        for (int k = 0; k < c.Length; k++) c[k] = k < empty ? default : ordered[k - empty].Block;
    }

    /// <summary>
    /// tcp_sacktag_write_queue()'s loop: each used block, in order, is marked (<see cref="MarkSacked"/>) and walked on the
    /// skbs (<see cref="SackWalks"/>, <see cref="SackWalkSkbs"/>); the cache is passed over ("It's already past, so skip
    /// checking against it") when nothing was SACKed before this ACK, and skips its empty head slots otherwise.
    /// </summary>
    AckFlags SacktagBlocks(List<(SackBlock Block, bool DupSack)> ordered, uint sndUna, ref SacktagState state)
    {
        var c = _recvSackCache ??= new SackBlock[SackBlocks.Max];
        int cache = c.Length;
        if (_ca.SackedOut > 0)
        {
            cache = 0;
            while (cache < c.Length && c[cache].Left == 0 && c[cache].Right == 0) cache++;
        }
        var flag = AckFlags.None;
        foreach (var (b, dupSack) in ordered)
        {
            var walks = SackWalks(b.Left, b.Right, dupSack, sndUna, ref cache);
            flag |= MarkSacked(b.Left, b.Right, sndUna, dupSack, ref state);
            foreach (var walk in walks) SackWalkSkbs(walk, sndUna);
        }
        SackCacheStore(ordered);
        return flag;
    }
}
