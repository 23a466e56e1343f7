using System.Runtime.InteropServices;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// The send side's memory, as Linux 6.18 accounts it: sk_wmem_queued is the truesize of every skb in the write
/// and retransmission queues, sk_sndbuf bounds it, and a writer that finds no room sleeps until an ACK frees
/// enough of it.
/// </summary>
/// <remarks>
/// <para><b>The skbs.</b> tcp_sendmsg_locked() (net/ipv4/tcp.c) fills the write queue's tail skb up to
/// size_goal (tcp_xmit_size_goal(): sk_gso_max_size = 65536 − (MAX_TCP_HEADER + 1) = 65343, bounded to half the
/// largest window the peer offered — tcp_bound_to_half_wnd() — and rounded down to whole MSS), and allocates a
/// new skb only while sk_stream_memory_free() (sk_wmem_queued &lt; sk_sndbuf): so the payload may pass sk_sndbuf by
/// up to one skb. A new skb (tcp_stream_alloc_skb(): alloc_skb_fclone(MAX_TCP_HEADER), served by
/// skb_small_head_cache since 6.3) is charged <see cref="SndSkbHeadTruesize"/> by tcp_skb_entail(): with MAX_TCP_HEADER
/// 192 the head is SKB_HEAD_ALIGN(192) = 192 + 320 = 512, a power of two, so the cache's object is 512 + 64 = 576
/// (SKB_SMALL_HEAD_CACHE_SIZE), SKB_WITH_OVERHEAD(576) = 256, and SKB_TRUESIZE(256) = 256 + 256 + 320 = 832 (observed
/// on Linux 6.18.44: `ss -tm` w833 after a 1-byte write held in the write queue). Each byte copied into its page
/// fragments adds one (skb_copy_to_page_nocache()). The linux-4.4 profile keeps 896 (MAX_TCP_HEADER 320).</para>
/// <para>tcp_write_xmit() (net/ipv4/tcp_output.c) sends each skb as one TSO chunk of at most min(cwnd quota,
/// tcp_tso_segs()) segments: tcp_grow_skb() pulls the missing bytes from the next skb (freeing it when emptied)
/// and tso_fragment() cuts what does not fit into a new skb, charged 832 more. tcp_tso_segs() is
/// tcp_tso_autosize(): sk_pacing_rate &gt;&gt; sk_pacing_shift (10) bytes, plus sk_gso_max_size &gt;&gt; (min_rtt_us
/// &gt;&gt; tcp_tso_rtt_log 9) below a 16 ms min RTT, at most sk_gso_max_size, in whole MSS, at least
/// tcp_min_tso_segs (2); sk_pacing_rate is tcp_update_pacing_rate()'s 200 % (slow start) or 120 % of
/// mss · cwnd / srtt. The wire still carries MSS-sized segments (the engine does not model GSO on the link).</para>
/// <para>An ACK frees every skb it covers whole (tcp_clean_rtx_queue()) and trims a multi-segment skb it covers in
/// part (tcp_tso_acked() → tcp_trim_head(): the payload bytes). Then tcp_data_snd_check() pushes and
/// tcp_check_space() runs tcp_new_space() when SOCK_NOSPACE is set: tcp_sndbuf_expand() if
/// tcp_should_expand_sndbuf() (no SO_SNDBUF lock, cwnd not filled), and sk_stream_write_space(), which wakes a
/// writer (and clears SOCK_NOSPACE) only once __sk_stream_is_writeable(): free space ≥ sk_wmem_queued / 2. The
/// woken tcp_sendmsg_locked() copies again at that same virtual time. tcp_poll() reports POLLOUT by the same
/// rule and sets SOCK_NOSPACE when it does not.</para>
/// <para>tcp_tso_should_defer() may hold a multi-segment send head back (<see cref="TsoShouldDefer"/>).
/// Not modelled: autocorking, tcp_notsent_lowat (its default,
/// UINT_MAX, never binds), MAX_SKB_FRAGS limits, and tcp_mem pressure (sk_wmem_schedule()); a retransmitted skb is first
/// trimmed to snd_una (<see cref="SkbTrimHead"/>) and cut into an skb of its own (tcp_retransmit_skb() → tcp_fragment()
/// at segs · mss: one MSS after an RTO), and SACK blocks
/// cut and join skbs (tcp_sacktag_walk(): <see cref="SacktagWalk"/>).</para>
/// </remarks>
public sealed partial class TcpSocket
{
    /// <summary>MAX_TCP_HEADER of the simulation's kernel profile (linux-6: 192, linux-4.4: 320).</summary>
    int MaxTcpHeader => _sim.Profile == KernelProfile.Linux44 ? TcpConstants.MaxTcpHeader44 : TcpConstants.MaxTcpHeader;
    /// <summary>A send skb before any payload (tcp_stream_alloc_skb(), tcp_send_fin()): 832 on linux-6, 896 on linux-4.4.</summary>
    int SndSkbHeadTruesize => SmallHeadTruesize(MaxTcpHeader);
    /// <summary>sk->sk_gso_max_size: sk_dst_gso_max_size() = GSO_LEGACY_MAX_SIZE − (MAX_TCP_HEADER + 1).</summary>
    int GsoMaxSize => 65536 - (MaxTcpHeader + 1);

    /// <summary>
    /// The truesize __alloc_skb() gives an skb whose head comes from skb_small_head_cache (net/core/skbuff.c):
    /// SKB_SMALL_HEAD_SIZE = SKB_HEAD_ALIGN(MAX_TCP_HEADER), one L1 cache line more when that is a power of two
    /// (SKB_SMALL_HEAD_CACHE_SIZE), then SKB_TRUESIZE(SKB_WITH_OVERHEAD(size)).
    /// </summary>
    static int SmallHeadTruesize(int maxTcpHeader)
    {
        int size = maxTcpHeader + TcpConstants.SkbSharedInfoSize;
        if (System.Numerics.BitOperations.IsPow2(size)) size += TcpConstants.L1CacheBytes;
        int data = size - TcpConstants.SkbSharedInfoSize; // SKB_WITH_OVERHEAD()
        return data + TcpConstants.SkBuffSize + TcpConstants.SkbSharedInfoSize; // SKB_TRUESIZE()
    }
    /// <summary>tcp_tso_win_divisor (sysctl default 3): tcp_tso_should_defer() sends once a third of the window is free.</summary>
    const int TsoWinDivisor = 3;
    /// <summary>tcp_min_tso_segs (sysctl default 2).</summary>
    const int MinTsoSegs = 2;
    /// <summary>sk->sk_pacing_shift (SK_DEFAULT_PACING_SHIFT, 10: about 1 ms of data per TSO packet).</summary>
    const int PacingShift = 10;
    /// <summary>tcp_tso_rtt_log (sysctl default 9).</summary>
    const int TsoRttLog = 9;
    /// <summary>tcp_pacing_ss_ratio and tcp_pacing_ca_ratio (sysctl defaults 200 and 120, in percent).</summary>
    const ulong PacingSsRatio = 200, PacingCaRatio = 120;

    /// <summary>tp->pushed_seq: write_seq at the last PSH mark (tcp_mark_push()); tcp_connect() and
    /// tcp_create_openreq_child() start it at write_seq (<see cref="InitPushedSeq"/>).</summary>
    uint _pushedSeq;
    /// <summary>sk->sk_pacing_rate in bytes per second: ~0UL until tcp_update_pacing_rate().</summary>
    ulong _pacingRate;

    /// <summary>
    /// One skb of the write queue: a struct in the list's array (24 bytes a slot, no object per skb), changed in place
    /// through <see cref="SndSkbAt"/>.
    /// </summary>
    [StructLayout(LayoutKind.Auto)]
    internal struct SndSkb(uint seq, uint end, long truesize)
    {
        public uint Seq = seq;
        public uint End = end;
        public long Truesize = truesize;
        public bool Fin;
        /// <summary>TCPHDR_PSH in the skb's tcp_flags (tcp_mark_push()): the segment that ends it carries PSH.</summary>
        public bool Psh;
        public readonly long Payload => (long)(End - Seq) - (Fin ? 1 : 0);
    }

    /// <summary>The write queue's skb at <paramref name="index"/>, to change in place (valid until the list next grows).</summary>
    static ref SndSkb SndSkbAt(List<SndSkb> skbs, int index) => ref CollectionsMarshal.AsSpan(skbs)[index];

    /// <summary>
    /// The index of the send skb that holds <paramref name="seq"/> (seq ≤ <paramref name="seq"/> &lt; end_seq), or -1: a
    /// binary search of the queue, which is in sequence order (the rb-tree lookup of tcp_sacktag_bsearch() and
    /// tcp_rtx_queue's find functions), so that looking an skb up costs O(log skbs), not a scan of the queue.
    /// </summary>
    static int SndSkbHolding(List<SndSkb> skbs, uint seq)
    {
        int lo = 0, hi = skbs.Count; // the first skb that starts after seq
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (SeqMath.After(skbs[mid].Seq, seq)) hi = mid;
            else lo = mid + 1;
        }
        return lo > 0 && SeqMath.After(skbs[lo - 1].End, seq) ? lo - 1 : -1;
    }

    /// <summary>
    /// tp->tcp_wstamp_ns: when __tcp_transmit_skb() last sent a segment of this socket (without pacing, the clock then);
    /// before the first, long ago (the kernel's 0 is boot time, never within 1 ms of a send).
    /// </summary>
    SimTime _wstamp;

    /// <summary>pushed_seq = write_seq when the connection's sequence space starts (tcp_connect(), tcp_create_openreq_child()).</summary>
    void InitPushedSeq() => _pushedSeq = _snd.WriteSeq;

    /// <summary>
    /// sk_wmem_queued_add(+size) with its sk_mem_charge(), after the schedule that made room: tcp_sendmsg_locked()'s own
    /// (<see cref="WmemSchedule"/>, which leaves nothing to schedule here), else sk_forced_mem_schedule() — every other
    /// send-side skb is forced (tcp_stream_alloc_skb(force_schedule) in tcp_fragment(), tso_fragment(), tcp_send_fin()).
    /// </summary>
    void QueueWmem(long size)
    {
        ForcedMemSchedule(size);
        MemCharge(size);
        Data(size != 0)?.WmemQueued += size;
    }

    /// <summary>sk_wmem_queued_add(−size) with its sk_mem_uncharge() (tcp_wmem_free_skb(), tcp_trim_head()).</summary>
    void FreeWmem(long size)
    {
        Data(size != 0)?.WmemQueued -= size;
        MemUncharge(size);
    }


    /// <summary>The send skbs' number (tests and views).</summary>
    internal int SendSkbCount => _data?.SndSkbs?.Count ?? 0;

    /// <summary>
    /// Models sk_stream_memory_free() = __sk_stream_memory_free(sk, 0) — include/net/sock.h: sk_wmem_queued &lt;
    /// sk_sndbuf, and tcp_stream_memory_free(sk, 0): the unsent bytes are below TCP_NOTSENT_LOWAT.
    /// </summary>
    bool StreamMemoryFree => WmemQueued < SkSndbuf && TcpStreamMemoryFree(0);

    /// <summary>
    /// Models __sk_stream_is_writeable(sk, 1) — include/net/sock.h: sk_stream_wspace() (sk_sndbuf − sk_wmem_queued)
    /// ≥ sk_stream_min_wspace() (sk_wmem_queued / 2), and __sk_stream_memory_free(sk, 1): sk_wmem_queued &lt; sk_sndbuf
    /// and twice the unsent bytes below TCP_NOTSENT_LOWAT.
    /// </summary>
    bool StreamWriteable => SkSndbuf - WmemQueued >= WmemQueued >> 1 && WmemQueued < SkSndbuf && TcpStreamMemoryFree(1);

    /// <summary>
    /// Models tcp_xmit_size_goal() — net/ipv4/tcp.c: sk_gso_max_size bounded by tcp_bound_to_half_wnd() (half the
    /// largest window the peer offered once that is above TCP_MSS_DEFAULT, never under 68 − tcp_header_len), in
    /// whole MSS (tp->gso_segs), at least one MSS.
    /// </summary>
    int XmitSizeGoal(int mss)
    {
        long goal = GsoMaxSize;
        goal = BoundToHalfWindow((int)goal);
        return (int)Math.Max(goal / mss * mss, mss);
    }

    /// <summary>
    /// Models the copy loop of tcp_sendmsg_locked() — net/ipv4/tcp.c: bytes go into the write queue's unsent tail
    /// skb while it is under size_goal; a new skb (tcp_stream_alloc_skb() + tcp_skb_entail(), 896 bytes of truesize)
    /// only while sk_stream_memory_free(), else SOCK_NOSPACE is set and the call stops (wait_for_space). An skb
    /// filled to size_goal is pushed at once: all that may go when forced_push() (more than half the peer's largest
    /// window written since the last PSH mark), else, if it is the send head, one TSO chunk (tcp_push_one()). At the
    /// end, or before sleeping, what was copied is pushed with the PSH mark (tcp_push() → tcp_mark_push()); the call's first
    /// bytes clear the mark an earlier call left on the tail skb they join.
    /// </summary>
    void CopyToSendQueue(PendingCall call)
    {
        var skbs = DataToWrite.SndSkbs ??= _sim.FreeQueues.WriteQueue(SmallQueueCapacity);
        // tcp_send_mss(): mss_now = tcp_current_mss() and size_goal from it, once per call and again after wait_for_space (here: the call that resumes).
        int mssNow = CurrentMss;
        int sizeGoal = XmitSizeGoal(mssNow);
        long before = call.Done;
        while (call.Done < call.Requested)
        {
            // tcp_write_queue_tail(): the last skb, if it was not sent yet (tcp_write_xmit() cuts at what it sends).
            bool hasTail = skbs.Count > 0 && !skbs[^1].Fin && !SeqMath.Before(skbs[^1].Seq, _snd.Nxt);
            long copy = !hasTail ? 0 : sizeGoal - skbs[^1].Payload;
            if (!hasTail || copy <= 0)
            {
                // tcp_stream_alloc_skb(): the first skb of empty write and retransmit queues is force-scheduled, any other
                // asks sk_wmem_schedule() for its truesize, and a refusal waits for space as a full buffer does.
                bool first = skbs.Count == 0;
                if (!StreamMemoryFree || !first && !MemSchedule(SndSkbHeadTruesize, send: true))
                {
                    WaitForSpace(skbs);
                    break;
                }
                // tcp_skb_entail() → tcp_add_write_queue_tail(): the first skb of an empty write queue starts the busy chrono.
                if (_snd.Nxt == _snd.WriteSeq) ChronoStart(TcpChrono.Busy);
                skbs.Add(new SndSkb(_snd.WriteSeq, _snd.WriteSeq, SndSkbHeadTruesize));
                _nonagle &= ~Nagle.Push; // tcp_skb_entail(): TCP_NAGLE_PUSH lasts until the next skb
                SlowStartAfterIdleCheck(); // tcp_skb_entail()
                QueueWmem(SndSkbHeadTruesize);
                copy = sizeGoal;
            }
            // tcp_wmem_schedule(): the copy shrinks to what tcp_mem lets the socket schedule; nothing waits for space.
            copy = WmemSchedule(Math.Min(copy, call.Requested - call.Done));
            if (copy == 0)
            {
                WaitForSpace(skbs);
                break;
            }
            int tailIndex = skbs.Count - 1;
            ref var tail = ref SndSkbAt(skbs, tailIndex);
            // "if (!copied) TCP_SKB_CB(skb)->tcp_flags &= ~TCPHDR_PSH": the call's first bytes appended to an unsent skb take
            // the PSH an earlier call's tcp_push() marked it with; this call's own tcp_push() marks its tail again. Observed
            // on Linux 6.18.44 (--fuzz-teardown seed 10051: writes of 500, 500 and 1460 under TCP_CORK, 1:1449 sent without PSH).
            if (call.Done == before) tail.Psh = false;
            tail.End += (uint)copy;
            tail.Truesize += copy;
            long tailPayload = tail.Payload;
            uint tailSeq = tail.Seq;
            QueueWmem(copy);
            _snd.WriteSeq += (uint)copy;
            call.Done += copy;
            Ledger.Accepted += copy;
            if (call.Done == call.Requested || tailPayload < sizeGoal) continue;
            if (ForcedPush)
            {
                // forced_push(): tcp_mark_push() + __tcp_push_pending_frames(TCP_NAGLE_PUSH).
                MarkPush(skbs, tailIndex);
                Push("tcp_sendmsg", nonagle: Nagle.Push, mssNow: mssNow);
            }
            else if (tailSeq == _snd.Nxt && _ca.Cwnd > PacketsInFlight)
            {
                // tcp_push_one(): tcp_write_xmit(push_one = 1) sends the send head's first TSO chunk — min(tcp_cwnd_test(),
                // tcp_tso_segs()) segments, so at most half the cwnd — and stops ("if (push_one) break;"); nothing when
                // cwnd is full ("if (!cwnd_quota) ... break").
                Push("tcp_sendmsg", nonagle: Nagle.Push, pushOne: true, mssNow: mssNow);
            }
        }
        if (call.Done == before) return;
        Recharge();
        // tcp_push(): tcp_mark_push() on the write queue's unsent tail unless MSG_MORE (or when forced_push()); MSG_MORE
        // pushes with TCP_NAGLE_CORK. Before sleeping for space (wait_for_space) it is tcp_push(flags & ~MSG_MORE,
        // TCP_NAGLE_PUSH): what was copied goes, partial or corked.
        bool waiting = call.Done < call.Requested;
        bool more = !waiting && (call.MsgFlags & MsgFlags.MSG_MORE) != 0;
        bool tailUnsent = skbs.Count > 0 && !SeqMath.Before(skbs[^1].Seq, _snd.Nxt);
        if (tailUnsent && (!more || ForcedPush)) MarkPush(skbs, skbs.Count - 1);
        Push("tcp_sendmsg", nonagle: waiting ? Nagle.Push : more ? Nagle.Cork : _nonagle, mssNow: mssNow);
    }

    /// <summary>
    /// tcp_sendmsg_locked()'s wait_for_space: set_bit(SOCK_NOSPACE) (a wakeup made while this call ran is not a later
    /// one), then, on 6.x, tcp_remove_empty_skb().
    /// </summary>
    void WaitForSpace(List<SndSkb> skbs)
    {
        NoSpace = true;
        WriteSpaceWake = false;
        if (_sim.Profile != KernelProfile.Linux44) RemoveEmptySkb(skbs);
    }

    /// <summary>
    /// Models tcp_remove_empty_skb() — net/ipv4/tcp.c (6.x): an unsent tail skb that holds nothing ("tcp_write_xmit() does
    /// not like finding an empty skb in the write queue": entailed, then its copy refused by tcp_wmem_schedule()) is
    /// unlinked, the busy chrono stops when no unsent skb is left, and tcp_wmem_free_skb() gives its truesize back.
    /// linux-4.4 frees such an skb only on do_fault.
    /// </summary>
    void RemoveEmptySkb(List<SndSkb> skbs)
    {
        if (skbs.Count == 0 || skbs[^1] is not { Fin: false } tail || tail.Seq != tail.End || SeqMath.Before(tail.Seq, _snd.Nxt)) return;
        skbs.RemoveAt(skbs.Count - 1);
        if (_snd.Nxt == _snd.WriteSeq) ChronoStop(TcpChrono.Busy);
        FreeWmem(tail.Truesize);
        Recharge();
    }

    /// <summary>Models forced_push() — net/ipv4/tcp.c: more than half the peer's largest window written since the last PSH mark.</summary>
    bool ForcedPush => SeqMath.After(_snd.WriteSeq, _pushedSeq + (_snd.MaxWindow >> 1));

    /// <summary>Models tcp_mark_push() — net/ipv4/tcp.c: PSH on the skb, pushed_seq = write_seq.</summary>
    void MarkPush(List<SndSkb> skbs, int index)
    {
        SndSkbAt(skbs, index).Psh = true;
        _pushedSeq = _snd.WriteSeq;
    }

    /// <summary>
    /// Whether a segment whose data ends at <paramref name="dataEnd"/> carries PSH: it ends an skb marked by
    /// tcp_mark_push() (the GSO segmentation of a TSO skb puts the flag on its last segment only; tso_fragment()
    /// and tcp_fragment() move it to the cut-off rest). Without skbs (none queued by tcp_sendmsg_locked()), the
    /// segment that reaches write_seq.
    /// </summary>
    bool PshAt(uint dataEnd, uint writeEnd)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null || skbs.Count == 0) return dataEnd == writeEnd;
        foreach (var skb in skbs)
            if (skb.Psh && skb.End - (skb.Fin ? 1u : 0u) == dataEnd) return true;
        return false;
    }

    /// <summary>
    /// A FIN that rode on a data skb whose data already left without it (tcp_write_wakeup() marked the skb PSH and cut
    /// it where the window ended, data and FIN not fitting together: <see cref="SkbWakeupFragment"/>): tcp_fragment()
    /// gave the cut-off FIN skb the skb's flags, so the lone FIN goes out with PSH ("FP.").
    /// </summary>
    bool FinSplitFromPushedData => _data?.SndSkbs is { Count: > 0 } skbs && skbs[^1] is { Fin: true, Psh: true };

    /// <summary>
    /// Models tcp_tso_segs() → tcp_tso_autosize() — net/ipv4/tcp_output.c: how many segments one skb may carry
    /// when tcp_write_xmit() sends it, in segments of <paramref name="mss"/> (tcp_write_xmit()'s mss_now).
    /// </summary>
    int TsoSegs(int mss)
    {
        ulong bytes = _pacingRate >> PacingShift;
        long minRtt = MinRttUs == long.MaxValue ? uint.MaxValue : MinRttUs;
        long r = minRtt >> TsoRttLog;
        if (r < 32) bytes += (ulong)(GsoMaxSize >> (int)r);
        bytes = Math.Min(bytes, (ulong)GsoMaxSize);
        return (int)Math.Max(bytes / (ulong)mss, MinTsoSegs);
    }

    /// <summary>
    /// Models tcp_tso_should_defer() — net/ipv4/tcp_output.c (6.18, with 295ce1eb36ae's ACK-time test): whether
    /// tcp_write_xmit() holds back a send head of more than one segment (after tcp_grow_skb() up to
    /// <paramref name="cwndQuota"/> segments) to send it larger later — a TSO Nagle test. Never in Recovery or Loss, nor
    /// when the last transmission of the socket (tcp_wstamp_ns) is more than 1 ms old; not when min(send window, free
    /// cwnd · mss_cache) takes a full TSO skb (max_segs), or the whole skb when it is not the write queue's tail, or a
    /// tcp_tso_win_divisor-th (3) of min(snd_wnd, cwnd · mss_cache); not when the ACK of the retransmission queue's head
    /// (sent + srtt) is due more than min(srtt / 2, 1 ms) from now — the head's age taken as at least the RTT sample of
    /// a segment the same clock read stamped (<see cref="_sampledRead"/>: one tcp_write_xmit() stamps all it sends with
    /// one tcp_clock_cache). Otherwise it defers: cwnd-limited when the free cwnd
    /// is under the send window and at most the skb's length, rwnd-limited likewise — else (application-limited) unless
    /// the skb carries the FIN. Without pacing tcp_wstamp_ns is the time of the socket's last segment. Linux 6.18 only:
    /// the linux-4.4 profile never defers.
    /// </summary>
    bool TsoShouldDefer(int cwndQuota, int maxSegs, int mssNow, ref bool cwndLimited, ref bool rwndLimited)
    {
        // linux-4.4's rule differs (a jiffies stamp tso_deferred, the head's age against srtt / 2): not modelled there.
        if (_sim.Profile == KernelProfile.Linux44) return false;
        // Both tests send at once, so they come before the look at the send head (the kernel's order gives the same).
        if (_ca.State >= CaState.Recovery) return false;
        if ((_sim.Now - _wstamp).Ns > 1_000_000) return false; // "only if the last write was recent (1 ms)"
        // The skb is cut in mss_now pieces (tcp_set_skb_tso_segs()); the windows below are counted in tp->mss_cache.
        int mss = PayloadMss;
        var (len, isTail, fin) = SendHeadSkb(cwndQuota * mssNow);
        if (len <= mssNow) return false; // tso_segs == 1: tcp_nagle_test() instead
        int inFlight = PacketsInFlight;
        long sendWin = unchecked((int)(WndEnd - _snd.Nxt));
        long congWin = (long)(_ca.Cwnd - inFlight) * mss;
        long limit = Math.Min(sendWin, congWin);
        if (limit >= (long)maxSegs * mss) return false; // "If a full-sized TSO skb can be sent, do it."
        if (!isTail && limit >= len) return false; // "Middle in queue won't get any more data, full sendable already?"
        long chunk = Math.Min(_snd.Wnd, (long)_ca.Cwnd * mss) / TsoWinDivisor;
        if (limit >= chunk) return false; // "If at least some fraction of a window is available, just use it."
        if (_rtx.Count == 0) return false;
        long srttNs = _rtt.SrttUs * 125; // (NSEC_PER_USEC >> 3) * srtt_us
        // "expected_ack = head->tstamp + srtt_in_ns; how_far_is_the_ack = expected_ack - tp->tcp_clock_cache": the
        // head's age. A head stamped by the clock read of a segment an ACK has measured is at least that sample old.
        var head = _rtx[0];
        long ageNs = (_sim.Now - head.SentAt).Ns;
        if (head.SentEpoch == _sampledRead.Epoch) ageNs = Math.Max(ageNs, _sampledRead.AgeNs);
        long howFarIsTheAck = srttNs - ageNs;
        if (howFarIsTheAck - Math.Min(srttNs >> 1, 1_000_000) > 0) return false; // the ACK would come too late
        if (congWin < sendWin)
        {
            if (congWin <= len)
            {
                cwndLimited = true;
                return true;
            }
        }
        else if (sendWin <= len)
        {
            rwndLimited = true;
            return true;
        }
        return !fin; // "If this packet won't get more data, do not wait."
    }

    /// <summary>
    /// The send head skb as tcp_write_xmit() sees it after tcp_grow_skb() (6.10+) took up to <paramref name="missingUpTo"/>
    /// bytes in all from the one skb after it: its payload length, whether it is the write queue's tail, and its FIN.
    /// Without skbs, the unsent bytes as one skb.
    /// </summary>
    (long Len, bool IsTail, bool Fin) SendHeadSkb(long missingUpTo)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null || skbs.Count == 0)
        {
            uint dataEnd = _snd.FinQueued ? _snd.FinSeq : _snd.WriteSeq;
            return (SeqMath.Before(_snd.Nxt, dataEnd) ? dataEnd - _snd.Nxt : 0, true, _snd.FinQueued);
        }
        int i = 0;
        while (i < skbs.Count && !SeqMath.After(skbs[i].End, _snd.Nxt)) i++;
        if (i == skbs.Count) return (0, true, false);
        var skb = skbs[i];
        long len = skb.Payload - (_snd.Nxt - skb.Seq);
        bool isTail = i == skbs.Count - 1, fin = skb.Fin;
        if (!isTail && !fin && missingUpTo > len)
        {
            var next = skbs[i + 1];
            long take = Math.Min(missingUpTo - len, next.Payload);
            len += take;
            if (take > 0 && take == next.Payload)
            {
                // tcp_eat_one_skb(): an emptied next skb is freed, its FIN (and tail position) move over.
                fin = next.Fin;
                isTail = i + 1 == skbs.Count - 1;
            }
        }
        return (len, isTail, fin);
    }

    /// <summary>
    /// Models tcp_update_pacing_rate() — net/ipv4/tcp_input.c: mss_cache · cwnd (or packets_out if more) / srtt,
    /// times tcp_pacing_ss_ratio (200 %) while cwnd &lt; ssthresh / 2, else tcp_pacing_ca_ratio (120 %); unbounded
    /// without an RTT sample. Called where tcp_cong_control() ends an ACK that found data in flight, and where the
    /// connection is established.
    /// </summary>
    void UpdatePacingRate(int mssCache, int cwnd)
    {
        ulong ratio = cwnd < _ca.Ssthresh / 2 ? PacingSsRatio : PacingCaRatio;
        ulong rate = (ulong)mssCache * (1_000_000 / 100 << 3) * ratio * (ulong)Math.Max(cwnd, PacketsOut);
        if (_rtt.SrttUs != 0) rate /= (ulong)_rtt.SrttUs;
        _pacingRate = rate;
    }

    /// <summary>
    /// Models tcp_grow_skb() — net/ipv4/tcp_output.c (6.10+) — where tcp_write_xmit() calls it, before its window test:
    /// a send head skb shorter than cwnd_quota · mss_now takes the missing bytes from the next skb only (skb_shift()),
    /// and eats it when it is emptied (its FIN and PSH with it); a FIN-only next skb gives nothing. tcp_write_wakeup()
    /// does not grow (<paramref name="grow"/> false). Returns the send head skb's end — a TSO chunk never runs past it —
    /// and whether it is the write queue's last skb; null when the socket keeps no skbs.
    /// </summary>
    (uint End, bool Last)? GrowSendHead(uint start, int quota, int mssNow, bool grow)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return null;
        int i = SndSkbHolding(skbs, start);
        if (i < 0) return null;
        ref var skb = ref SndSkbAt(skbs, i);
        if (grow && i + 1 < skbs.Count && !skb.Fin)
        {
            ref var next = ref SndSkbAt(skbs, i + 1);
            long missing = (long)quota * mssNow - (long)(skb.End - start);
            long nlen = Math.Min(missing, next.Payload);
            if (nlen > 0)
            {
                skb.End += (uint)nlen;
                skb.Truesize += nlen;
                next.Seq += (uint)nlen;
                next.Truesize -= nlen;
                if (next.Payload == 0)
                {
                    // tcp_eat_one_skb(): end_seq (the FIN) and tcp_flags move over, the emptied skb is freed.
                    skb.End = next.End;
                    skb.Fin = next.Fin;
                    skb.Psh |= next.Psh;
                    FreeWmem(next.Truesize);
                    skbs.RemoveAt(i + 1); // shifts what follows in place: skb (slot i) stays where it is
                }
            }
        }
        return (skb.End, i == skbs.Count - 1);
    }

    /// <summary>
    /// tcp_write_xmit() sent [<paramref name="seq"/>, <paramref name="end"/>) as one TSO chunk: it is one skb.
    /// tcp_grow_skb() (6.10+) pulls the bytes the chunk needs from the following skbs, freeing each it empties
    /// (tcp_eat_one_skb()); tso_fragment() cuts the rest of the last one into a new skb (+896). With
    /// <paramref name="wakeup"/> the segment was tcp_write_wakeup()'s, whose tcp_fragment() cuts differently
    /// (<see cref="SkbWakeupFragment"/>).
    /// </summary>
    void SkbChunkSent(uint seq, uint end, bool wakeup = false)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return;
        SkbSplitAt(seq);
        int i = 0;
        while (i < skbs.Count && skbs[i].Seq != seq) i++; // a loop, not FindIndex(lambda): no closure per chunk sent
        if (i == skbs.Count) return;
        ref var skb = ref SndSkbAt(skbs, i);
        while (SeqMath.Before(skb.End, end) && i + 1 < skbs.Count)
        {
            ref var next = ref SndSkbAt(skbs, i + 1);
            uint take = Math.Min(end - skb.End, next.End - next.Seq);
            bool takesFin = next.Fin && skb.End + take == next.End;
            long payload = take - (takesFin ? 1 : 0);
            skb.End += take;
            skb.Truesize += payload;
            next.Seq += take;
            next.Truesize -= payload;
            if (takesFin)
            {
                skb.Fin = true;
                next.Fin = false;
            }
            if (next.Seq != next.End) break;
            skb.Psh |= next.Psh; // tcp_eat_one_skb(): the eaten skb's flags are ORed in
            FreeWmem(next.Truesize);
            skbs.RemoveAt(i + 1);
        }
        if (wakeup) SkbWakeupFragment(end);
        else SkbSplitAt(end);
    }

    /// <summary>
    /// Models tcp_write_wakeup()'s cut — net/ipv4/tcp_output.c: when the window ends before the send head skb's
    /// end_seq (its FIN included) or the skb is longer than the MSS, the skb is marked PSH and tcp_fragment() cuts it at
    /// <paramref name="end"/>, the new skb taking the flags (PSH, and the FIN). Unlike tso_fragment() in
    /// tcp_write_xmit(), whose cut is at most the skb's length without the FIN, this one compares end_seq: a window
    /// that ends just before the FIN leaves the FIN an skb of its own (a zero-length one), so the data's ACK frees the
    /// data skb whole and the FIN's ACK finds an skb starting at the prior snd_una — no "hole filled" reordering in
    /// tcp_clean_rtx_queue(). Observed on Linux 6.18.44: TCPSACKReorder 0 where both ends of a loopback connection sent
    /// their last data behind a window probe and their FIN after it.
    /// </summary>
    void SkbWakeupFragment(uint end)
    {
        var skbs = _data!.SndSkbs!;
        int i = SndSkbHolding(skbs, end);
        if (i < 0 || skbs[i].Seq == end) return;
        SndSkbAt(skbs, i).Psh = true;
        SkbSplitAt(end, beforeFin: true);
        SndSkbAt(skbs, i).Psh = true; // "TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_PSH" again on the piece it sends
    }

    /// <summary>
    /// 2 · SKB_TRUESIZE(GSO_LEGACY_MAX_SIZE): 65536 + 256 + 320 bytes twice, tcp_fragment()'s allowance over sk_sndbuf
    /// ("tcp_sendmsg() can overshoot sk_wmem_queued by one full size skb").
    /// </summary>
    const long FragmentAllowance = 2 * (65536 + 256 + 320);

    /// <summary>
    /// Models tcp_fragment()'s limit — net/ipv4/tcp_output.c (6.18) — for a cut of the retransmission-queue skb
    /// <paramref name="i"/> (TCP_FRAG_IN_RTX_QUEUE): refused with -ENOMEM and TCPWqueueTooBig when half of sk_wmem_queued
    /// is above sk_sndbuf + <see cref="FragmentAllowance"/> and the skb is neither the queue's head nor its tail. A lowered
    /// SO_SNDBUF or a moderated sk_sndbuf (sk_stream_moderate_sndbuf()) under a large queue reaches it (observed on Linux
    /// 6.18.44: packetdrill/sack-split-refused-wqueue-too-big-after-sndbuf-lowered.pkt). linux-4.4 (v4.4 itself, as the profile
    /// is) has no limit; the 4.4.y stable series has one from 4.4.182 (sk_sndbuf, + 0x20000 from 4.4.184: docs/kernel-check.md D149).
    /// </summary>
    bool RtxFragmentRefused(int i)
    {
        var skbs = _data!.SndSkbs!;
        if (_sim.Profile == KernelProfile.Linux44 || (WmemQueued >> 1) <= SkSndbuf + FragmentAllowance) return false;
        bool head = i == 0, tail = i + 1 == skbs.Count || !SeqMath.Before(skbs[i + 1].Seq, _snd.Nxt);
        if (head || tail) return false;
        Host.Count(MibCounter.TcpExtTCPWqueueTooBig);
        return true;
    }

    /// <summary>
    /// Models tso_fragment() / tcp_fragment() — net/ipv4/tcp_output.c: an skb that <paramref name="seq"/> falls
    /// inside is cut there; the new skb (tcp_stream_alloc_skb(), forced) adds 896 to sk_wmem_queued and takes the
    /// payload (and the FIN) beyond the cut. <paramref name="beforeFin"/>: tcp_write_wakeup()'s tcp_fragment(), which
    /// also cuts between a data skb's last byte and its FIN.
    /// </summary>
    void SkbSplitAt(uint seq, bool beforeFin = false)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return;
        int i = SndSkbHolding(skbs, seq);
        if (i < 0 || skbs[i].Seq == seq) return;
        ref var skb = ref SndSkbAt(skbs, i);
        if (!beforeFin && skb.Fin && seq == skb.End - 1 && skb.Payload == (long)(seq - skb.Seq))
        {
            // Cutting exactly before the FIN of a data skb: the kernel keeps the FIN on it (it is sent with the last byte).
            return;
        }
        var rest = new SndSkb(seq, skb.End, SndSkbHeadTruesize) { Fin = skb.Fin, Psh = skb.Psh };
        long moved = rest.Payload;
        rest.Truesize += moved;
        skb.End = seq;
        skb.Fin = false;
        skb.Psh = false;
        skb.Truesize -= moved;
        skbs.Insert(i + 1, rest); // last: the list may grow into a new array, and skb refers to the old one
        QueueWmem(SndSkbHeadTruesize);
    }

    /// <summary>
    /// tcp_can_collapse()'s tcp_skb_pcount(skb) == 1: the queued segment [<paramref name="seq"/>, <paramref name="end"/>)
    /// is an skb of its own (a part of a multi-segment skb is not).
    /// </summary>
    bool SkbIsOneSegment(uint seq, uint end)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return true;
        int i = SndSkbHolding(skbs, seq);
        return i < 0 || skbs[i].Seq == seq && skbs[i].End == end;
    }

    /// <summary>
    /// The send skb that holds <paramref name="seq"/>: its seq and end_seq (FIN included); <paramref name="seq"/> for both
    /// when no skb holds it (no skbs were queued by tcp_sendmsg_locked()).
    /// </summary>
    (uint Start, uint End) SendSkbBounds(uint seq)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return (seq, seq);
        int i = SndSkbHolding(skbs, seq);
        return i < 0 ? (seq, seq) : (skbs[i].Seq, skbs[i].End);
    }

    /// <summary>The end of the send skb that holds <paramref name="seq"/> (<see cref="SendSkbBounds"/>).</summary>
    uint SendSkbEndAt(uint seq) => SendSkbBounds(seq).End;

    /// <summary>
    /// The memory side of tcp_collapse_retrans(): the skb at <paramref name="nextSeq"/> is shifted onto the one at
    /// <paramref name="toSeq"/> (tcp_skb_shift(): its payload moves with its truesize, FIN and PSH with tcp_flags) and
    /// freed (tcp_rtx_queue_unlink_and_free(): the rest of its truesize leaves sk_wmem_queued).
    /// </summary>
    void SkbCollapse(uint toSeq, uint nextSeq)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return;
        SkbSplitAt(toSeq);
        int i = 0;
        while (i + 1 < skbs.Count && !(skbs[i].End == nextSeq && skbs[i + 1].Seq == nextSeq)) i++;
        if (i + 1 >= skbs.Count) return;
        ref var to = ref SndSkbAt(skbs, i);
        var next = skbs[i + 1];
        to.End = next.End;
        to.Truesize += next.Payload;
        to.Fin |= next.Fin;
        to.Psh |= next.Psh;
        FreeWmem(next.Truesize - next.Payload);
        skbs.RemoveAt(i + 1);
    }

    /// <summary>
    /// Models the memory side of tcp_clean_rtx_queue() — net/ipv4/tcp_input.c: every skb the ACK covers is freed
    /// (sk_wmem_free_skb(): its truesize leaves sk_wmem_queued); a multi-segment skb covered in part is trimmed
    /// (tcp_tso_acked() → tcp_trim_head(): the acknowledged payload bytes leave its truesize).
    /// </summary>
    void SkbAcked(uint una)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null) return;
        int n = 0;
        while (n < skbs.Count && !SeqMath.After(skbs[n].End, una))
        {
            FreeWmem(skbs[n].Truesize);
            n++;
        }
        if (n > 0) skbs.RemoveRange(0, n);
        if (skbs.Count == 0 || skbs[0].Payload <= PayloadMss) return; // tcp_skb_pcount(skb) == 1: not trimmed
        SkbTrimHead(una);
    }

    /// <summary>
    /// Models tcp_trim_head() — net/ipv4/tcp_output.c — of the head skb to <paramref name="una"/>: __pskb_trim_head()
    /// drops the acknowledged payload bytes, which leave its truesize, sk_wmem_queued and (sk_mem_uncharge())
    /// sk_forward_alloc. tcp_tso_acked() calls it for a multi-segment skb an ACK ends inside; __tcp_retransmit_skb()
    /// for any skb that starts below snd_una ("if (before(TCP_SKB_CB(skb)->seq, tp->snd_una))"), before its window
    /// test — so a one-segment skb an ACK ended inside keeps its bytes until it is resent. Observed on Linux 6.18.44:
    /// skmem_fwd_alloc 1304 → 1316 at the RTO that resent 1461:2897 of the skb 1449:2897 (--fuzz-pkt seed 34341).
    /// With <paramref name="resent"/> (the first byte a retransmission sends) only the skb that holds it is trimmed.
    /// </summary>
    void SkbTrimHead(uint una, uint? resent = null)
    {
        var skbs = _data?.SndSkbs;
        if (skbs is null || skbs.Count == 0 || !SeqMath.After(una, skbs[0].Seq)) return;
        if (resent is { } seq && SndSkbHolding(skbs, seq) != 0) return;
        ref var head = ref SndSkbAt(skbs, 0);
        long trimmed = Math.Min(una - head.Seq, head.Payload);
        if (trimmed <= 0) return;
        head.Seq += (uint)trimmed;
        head.Truesize -= trimmed;
        FreeWmem(trimmed);
    }

    /// <summary>
    /// Models the memory side of tcp_send_fin() — net/ipv4/tcp_output.c: the FIN rides on the write queue's unsent
    /// tail skb; with nothing unsent it gets an skb of its own (alloc_skb_fclone(MAX_TCP_HEADER), 896 bytes,
    /// sk_forced_mem_schedule() + tcp_queue_skb()).
    /// </summary>
    void SkbQueueFin()
    {
        var skbs = DataToWrite.SndSkbs ??= _sim.FreeQueues.WriteQueue(SmallQueueCapacity);
        if (skbs.Count > 0 && !skbs[^1].Fin && !SeqMath.Before(skbs[^1].Seq, _snd.Nxt) && skbs[^1].End == _snd.FinSeq)
        {
            ref var tail = ref SndSkbAt(skbs, skbs.Count - 1);
            tail.End++;
            tail.Fin = true;
            return;
        }
        // tcp_queue_skb() → tcp_add_write_queue_tail(): a FIN skb alone in the write queue starts the busy chrono.
        if (_snd.Nxt == _snd.FinSeq) ChronoStart(TcpChrono.Busy);
        skbs.Add(new SndSkb(_snd.FinSeq, _snd.FinSeq + 1, SndSkbHeadTruesize) { Fin = true });
        QueueWmem(SndSkbHeadTruesize);
    }

    /// <summary>The memory side of tcp_send_fin() under memory pressure: the FIN flag and one sequence number on the last skb sent, no new skb.</summary>
    void SkbFinOnSentTail()
    {
        if (_data?.SndSkbs is not { Count: > 0 } skbs) return;
        ref var tail = ref SndSkbAt(skbs, skbs.Count - 1);
        tail.End++;
        tail.Fin = true;
    }

    /// <summary>tcp_write_queue_purge(): every skb freed.</summary>
    void SkbPurge()
    {
        _data?.SndSkbs?.Clear();
        FreeWmem(WmemQueued);
    }

    /// <summary>
    /// Models tcp_check_space() → tcp_new_space() — net/ipv4/tcp_input.c: only with SOCK_NOSPACE on a socket that
    /// still has its file; tcp_sndbuf_expand() when tcp_should_expand_sndbuf(), then sk_stream_write_space(). Run by
    /// tcp_event_new_data_sent() after each skb tcp_write_xmit() sends (since 5.18) and by tcp_data_snd_check() after
    /// an ACK's push. The wakeup it makes is served by <see cref="WakeWriteSpace"/>: the woken process runs after
    /// the softirq.
    /// </summary>
    void CheckSpace()
    {
        if (!NoSpace || Dead) return;
        if (ShouldExpandSndbuf) SndbufExpand(_ca.Cwnd);
        if (!StreamWriteable) return;
        // sk_stream_write_space(): SOCK_NOSPACE cleared, the sleepers woken with EPOLLOUT.
        NoSpace = false;
        WriteSpaceWake = true;
        ChronoStop(TcpChrono.SndbufLimited); // tcp_check_space(): "if (!test_bit(SOCK_NOSPACE, ...))"
    }

    /// <summary>
    /// The sleepers woken by sk_stream_write_space() run: a send() asleep in sk_stream_wait_memory() copies again at
    /// this virtual time, a recv() or a lingering close() re-tests its condition (a sleeping poll() is re-run by the
    /// engine after every event).
    /// </summary>
    void WakeWriteSpace()
    {
        if (!WriteSpaceWake) return;
        WriteSpaceWake = false;
        WakeWriter();
        // wake_up_interruptible_poll(EPOLLOUT) reaches every sleeper of the wait queue (woken_wake_function() ignores
        // the key): a recv() without data sleeps again, a lingering close() re-tests its state.
        WakeReader();
        WakeLingeringClose();
    }

    /// <summary>
    /// Models tcp_should_expand_sndbuf() — net/ipv4/tcp_input.c: not when SO_SNDBUF locked the buffer, not under
    /// tcp_mem pressure nor at or above tcp_mem[0] pages (sk_memory_allocated() ≥ sk_prot_mem_limits(sk, 0), which
    /// the pressure state implies), not when the packets in flight fill cwnd.
    /// </summary>
    bool ShouldExpandSndbuf => SndBufSet == 0 && Host.TcpMemPages < Host.Sysctls.TcpMem[0] && PacketsInFlight < _ca.Cwnd;

    /// <summary>
    /// Models sk_stream_write_space() called directly (sk->sk_write_space() after setsockopt(SO_SNDBUF)) —
    /// net/core/stream.c: once __sk_stream_is_writeable(), SOCK_NOSPACE is cleared and a sleeping writer wakes.
    /// </summary>
    void StreamWriteSpace()
    {
        if (!StreamWriteable) return;
        NoSpace = false;
        WakeWriter();
    }
}
