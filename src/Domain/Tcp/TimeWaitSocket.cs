using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>What tcp_timewait_state_process() tells tcp_v4_rcv() to do with a segment.</summary>
public enum TimeWaitVerdict
{
    Success,
    Ack,
    Rst,
    Syn,
}

/// <summary>
/// The light inet_timewait_sock + tcp_timewait_sock that replaces a full socket in TIME_WAIT, or parks an orphaned
/// FIN_WAIT2 cheaply (substate FIN_WAIT2): the 4-tuple (established hash), the local port (bind hash), a few
/// sequence and timestamp fields, and its tw_timer. A struct in its host's <see cref="TimeWaitTable"/>: no object,
/// no reference, so the collector neither copies nor traces the hundreds of thousands a churn keeps alive.
/// 80 bytes: the 4-tuple as two addresses and two ports (12 B, where a <see cref="FourTuple"/> pads to 16), the
/// timer as an arming count and its firing time as jiffies after timer->expires, the flags as bits of a byte, the
/// substate and the state it came from as the halves of a byte, the free list's link in the socket id (a free slot
/// has no socket), the stamps as 32-bit counts (seconds and milliseconds of virtual time, as the kernel's u32
/// tw_entry_stamp), and the link of its 4-tuple hash chain (the kernel's tw_node in an ehash bucket).
/// <para>
/// Laid out in declaration order, what a lookup, a reuse and a kill read first: the 4-tuple and the chain link (an
/// ehash walk, __inet_lookup_established() and __inet_check_established()), then the id, state, flags and the fields
/// tcp_twsk_unique() and a reusing connect() read (tw_entry_stamp, tw_snd_nxt, tw_ts_recent, tw_ts_recent_stamp) —
/// 40 bytes, as the kernel keeps sock_common (skc_addrpair, skc_portpair, skc_nulls_node, skc_state) at the head of
/// inet_timewait_sock. An entry is read 20–60 s after it was written, from memory, so the fewer cache lines those paths
/// touch the better: with the compiler's automatic layout they were spread over all 80 bytes.
/// </para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeWaitEntry
{
    uint _localAddress, _remoteAddress;
    ushort _localPort, _remotePort;
    /// <summary>The next slot + 1 in this entry's 4-tuple hash chain, 0 at its end (tw_node).</summary>
    internal int NextInChain;
    /// <summary>The id of the full socket this one replaced: the connection's identity; while the slot is free, the next free slot.</summary>
    public int SocketId;
    /// <summary>
    /// tw_entry_stamp (ms, a u32 as in the kernel): when the connection entered TIME_WAIT (tcp_tw_reuse_delay). tcp_time_wait()
    /// takes tcp_time_stamp_ms(tp), tp->tcp_mstamp: the segment's arrival when one moved the socket here, but the last
    /// segment's or send's when close() in FIN-WAIT-2 (or the keepalive timer) did; a FIN with a timestamp sets it again.
    /// </summary>
    public uint EntryStampMs;
    public uint SndNxt;
    public uint TsRecent;
    /// <summary>tw_ts_recent_stamp (<see cref="KernelSeconds"/>: whole seconds from 1, 0 for none).</summary>
    int _tsRecentStampSec;
    /// <summary>tw_substate (low half) and the state it came from (high half): a TcpState is below 16.</summary>
    byte _states;
    byte _flags;
    /// <summary>The window field of its ACKs: tw_rcv_wnd >> rcv_wscale, its low 16 bits (htons()).</summary>
    public ushort Window;
    public uint RcvNxt;
    /// <summary>tw_rcv_wnd: the receive window in bytes (tcp_receive_window at entry).</summary>
    public uint RcvWnd;
    public uint TsOffset;
    /// <summary>tw_last_oow_ack_time.</summary>
    public OowRateLimit OowAck;
    /// <summary>The arming the pending item belongs to (<see cref="TimeWaitTable.KeyOf"/>): a stale item's differs.</summary>
    public uint TimerArming;
    /// <summary>Jiffies from <see cref="Expires"/> to when the timer wheel runs it (never negative: a timer never fires early).</summary>
    uint _firesAfterJiffies;
    /// <summary>tw_timeout: 3.5 × RTO, the TIME-WAIT length under linux-4.4 tcp_tw_recycle.</summary>
    public SimDuration RecycleTimeout;
    /// <summary>timer->expires: the tick asked for (what ss and /proc/net/tcp count down to).</summary>
    public SimTime Expires;

    /// <summary>tw_substate: TIME_WAIT, or FIN_WAIT2 for a parked orphan (inet_timewait_sock keeps it in a u8).</summary>
    public TcpState Substate
    {
        readonly get => (TcpState)(_states & 15);
        set => _states = (byte)((_states & 0xF0) | (int)value);
    }

    public TcpState FromState
    {
        readonly get => (TcpState)(_states >> 4);
        set => _states = (byte)((_states & 15) | ((int)value << 4));
    }

    /// <summary>The 4-tuple is <paramref name="t"/> (compared field by field, no FourTuple made).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Is(in FourTuple t) =>
        _localAddress == t.Local.Address.Value && _remoteAddress == t.Remote.Address.Value
        && _localPort == t.Local.Port && _remotePort == t.Remote.Port;

    const byte UsedTimestampsBit = 1, ReuseAddrBit = 2, ReusePortBit = 4, ConnectBindBit = 8, AliveBit = 16, TimerArmedBit = 32, TwKillBit = 64;

    public FourTuple Tuple
    {
        readonly get => new(new Endpoint(new IPv4(_localAddress), _localPort), new Endpoint(new IPv4(_remoteAddress), _remotePort));
        set
        {
            _localAddress = value.Local.Address.Value;
            _localPort = value.Local.Port;
            _remoteAddress = value.Remote.Address.Value;
            _remotePort = value.Remote.Port;
        }
    }

    public readonly IPv4 LocalAddress => new(_localAddress);
    public readonly ushort LocalPort => _localPort;
    public readonly IPv4 RemoteAddress => new(_remoteAddress);

    public long TsRecentStampSec
    {
        readonly get => _tsRecentStampSec;
        set => _tsRecentStampSec = checked((int)value);
    }

    /// <summary>When the timer wheel runs it (<see cref="Jiffies.WheelFires"/>).</summary>
    public SimTime FiresAt
    {
        readonly get => Expires + Jiffies.ToDuration(_firesAfterJiffies);
        set => _firesAfterJiffies = checked((uint)((value.Ns - Expires.Ns) / Jiffies.Tick.Ns));
    }

    public bool UsedTimestamps { readonly get => Has(UsedTimestampsBit); set => Set(UsedTimestampsBit, value); }
    public bool ReuseAddr { readonly get => Has(ReuseAddrBit); set => Set(ReuseAddrBit, value); }
    public bool ReusePort { readonly get => Has(ReusePortBit); set => Set(ReusePortBit, value); }
    /// <summary>tw_connect_bind: the closed socket got its port from connect().</summary>
    public bool ConnectBind { readonly get => Has(ConnectBindBit); set => Set(ConnectBindBit, value); }
    public bool Alive { readonly get => Has(AliveBit); set => Set(AliveBit, value); }
    public bool TimerArmed { readonly get => Has(TimerArmedBit); set => Set(TimerArmedBit, value); }
    /// <summary>linux-4.4 tw_kill: the last (re)arming was for at most 4 s (TWKilled rather than TW when it fires).</summary>
    public bool TwKill { readonly get => Has(TwKillBit); set => Set(TwKillBit, value); }

    readonly bool Has(byte bit) => (_flags & bit) != 0;
    void Set(byte bit, bool on) => _flags = on ? (byte)(_flags | bit) : (byte)(_flags & ~bit);

    public readonly TcpState State => Substate;

    /// <summary>
    /// The initial sequence of a connection that takes this 4-tuple over (a SYN accepted through TIME-WAIT,
    /// tcp_timewait_state_process(); a connect() reusing it, tcp_twsk_unique()): tw_snd_nxt + 65535 + 2, never 0.
    /// </summary>
    public readonly uint SuccessorIsn => unchecked(SndNxt + 65535 + 2) is var isn && isn != 0 ? isn : 1;
}

/// <summary>
/// A host's timewait sockets (the timewait part of inet_ehashinfo): the entries as structs in one array, found by
/// 4-tuple through a hash of slot numbers, reused through a free list. Each entry's tw_timer is an item of the
/// simulation's queue (the timer wheel) whose target is this table and whose generation names the slot and the
/// arming: a stale item (cancelled, re-armed, the slot reused) is skipped when popped, like any stale timer, and
/// pins nothing but the table.
/// </summary>
internal sealed class TimeWaitTable(Host host) : IEventTarget
{
    /// <summary>The host whose timer wheel its tw_timers are on.</summary>
    public Host Host => _host;

    /// <summary>Bits of a timer key that name the slot; the rest count armings (so a key is never reused).</summary>
    const int SlotBits = 28;

    /// <summary>
    /// Entries per page: 64 × 80 B; the table grows by a page, never by copying. A host's first timewait socket costs a
    /// page: with pages of 512 (41 KB), a workload's generated clients, one connection each, held 41 KB a host.
    /// </summary>
    const int PageBits = 6;
    const int PageSize = 1 << PageBits;

    readonly Host _host = host;
    Simulation Sim => _host.Sim;
    TimeWaitEntry[][] _pages = [];
    /// <summary>
    /// Each slot's pending arming (<see cref="TimeWaitEntry.TimerArming"/> while the entry is alive and its timer armed,
    /// else 0), in pages beside the entries': 4 bytes a slot, so the expiry of a stale item — the timer of an entry
    /// killed since (a connect() reused its 4-tuple) — finds it stale without reading the 80-byte entry, which is cold by
    /// then (written up to 60 s before). The kernel's del_timer() unlinks the timer_list, so its expiry never runs.
    /// </summary>
    uint[][] _pendingArmings = [];
    int _used;
    int _alive;
    int _free = -1;
    long _armings;
    /// <summary>
    /// The established-hash part for timewait sockets: a power-of-two array of chains by 4-tuple hash, each bucket the
    /// first slot + 1 (0: empty), each entry linking the next (<see cref="TimeWaitEntry.NextInChain"/>) — 4 bytes of
    /// bucket and 4 of link per entry, where a Dictionary keyed by the 4-tuple kept 32 and up to twice that in slack.
    /// </summary>
    int[] _buckets = [];
    /// <summary><see cref="_buckets"/>' length − 1, kept apart so that a lookup does not read the array's header.</summary>
    int _bucketMask = -1;
    int _count;

    public int Count => _count;

    /// <summary>Slots handed out so far (live or free).</summary>
    public int Capacity => _used;

    /// <summary>Timewait sockets in substate FIN_WAIT2 (parked orphans).</summary>
    public int FinWait2Count { get; private set; }

    /// <summary>
    /// The entry of <paramref name="slot"/>. Every page holds <see cref="PageSize"/> entries, so the index within it is
    /// always in range and the page's length is not read: a bounds check would read the page's header, a cache line of
    /// its own for most entries, on top of the entry's (the entries are read long after they were written, from memory).
    /// </summary>
    public ref TimeWaitEntry this[int slot] => ref InPage(_pages[slot >> PageBits], slot);

    ref uint PendingArming(int slot) => ref InPage(_pendingArmings[slot >> PageBits], slot);

    /// <summary>A slot's element of its page (<see cref="PageSize"/> long), without reading the page's length.</summary>
    static ref T InPage<T>(T[] page, int slot) => ref Paging.At(page, slot & (PageSize - 1));

    public bool TryFind(in FourTuple tuple, out int slot)
    {
        if (_count > 0)
        {
            for (int i = Head(Bucket(tuple)) - 1; i >= 0; i = this[i].NextInChain - 1)
            {
                if (!this[i].Is(tuple)) continue;
                slot = i;
                return true;
            }
        }
        slot = -1;
        return false;
    }

    /// <summary>Starts loading the chain head of <paramref name="tuple"/>'s bucket (<see cref="Paging.Prefetch{T}"/>); reads nothing.</summary>
    public void PrefetchHead(in FourTuple tuple)
    {
        if (_count > 0) Paging.Prefetch(ref Head(Bucket(tuple)));
    }

    /// <summary>Starts loading the first entry of <paramref name="tuple"/>'s chain: reads the head (<see cref="PrefetchHead"/> asked for it), not the entry.</summary>
    public void PrefetchFirst(in FourTuple tuple)
    {
        if (_count > 0 && Head(Bucket(tuple)) is > 0 and var first) Paging.Prefetch(ref this[first - 1]);
    }

    /// <summary>The live slots in slot order (the order a Dictionary keyed by 4-tuple enumerated them in: both reuse the latest freed place first).</summary>
    public IEnumerable<int> Slots
    {
        get
        {
            for (int slot = 0; slot < _used; slot++)
                if (this[slot].Alive) yield return slot;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int Bucket(in FourTuple tuple) => tuple.GetHashCode() & _bucketMask;

    /// <summary>A bucket's chain head, read without the bucket array's header (<see cref="Paging.At{T}"/>; the bucket is masked to its length).</summary>
    ref int Head(int bucket) => ref Paging.At(_buckets, bucket);

    /// <summary>Hashes <paramref name="slot"/>'s entry by its 4-tuple (inet_ehash_insert()); the buckets double when they are fewer than the entries.</summary>
    void Link(int slot)
    {
        if (_count == _buckets.Length)
        {
            // Rehash every live entry into twice the buckets (the new entry is not live yet).
            _buckets = new int[Math.Max(64, _buckets.Length * 2)];
            _bucketMask = _buckets.Length - 1;
            for (int i = 0; i < _used; i++)
            {
                ref var live = ref this[i];
                if (!live.Alive || i == slot) continue;
                int b = Bucket(live.Tuple);
                live.NextInChain = Head(b);
                Head(b) = i + 1;
            }
        }
        ref var e = ref this[slot];
        ref int head = ref Head(Bucket(e.Tuple));
        e.NextInChain = head;
        head = slot + 1;
        _count++;
    }

    /// <summary>Takes <paramref name="slot"/>'s entry out of its chain (inet_ehash_nolisten's sk_nulls_del_node_init_rcu()).</summary>
    void Unlink(int slot)
    {
        ref int link = ref Head(Bucket(this[slot].Tuple));
        while (link != slot + 1) link = ref this[link - 1].NextInChain;
        link = this[slot].NextInChain;
        _count--;
    }

    internal static int SlotOf(long key) => (int)(key & ((1L << SlotBits) - 1));

    /// <summary>
    /// The key of a slot's pending item: its arming count above the slot number. Armings count table-wide (32 bits
    /// kept), so a slot reused, or the table's pages dropped and made again, never meets an item of before.
    /// </summary>
    internal static long KeyOf(int slot, uint arming) => ((long)arming << SlotBits) | (uint)slot;

    /// <summary>
    /// Models inet_twsk_alloc() + inet_twsk_hashdance_schedule() + inet_twsk_schedule() — net/ipv4/inet_timewait_sock.c:
    /// the entry takes the full socket's place in the established hash and its port, the timer is armed; (6.x) TW++ or,
    /// for at most 4 s, TWKilled++.
    /// </summary>
    public void Create(TcpSocket sk, TcpState substate, bool tsOk, uint tsRecent, long tsRecentStampSec, uint tsOffset, uint rcvWnd,
        int rcvWscale, SimDuration recycleTimeout, SimDuration timeout, string cause)
    {
        int slot = Allocate();
        ref var e = ref this[slot];
        e = new TimeWaitEntry
        {
            Tuple = new FourTuple(sk.Local, sk.Remote),
            SocketId = sk.Id,
            Substate = substate,
            FromState = sk.State,
            RcvNxt = sk.RcvNxt,
            SndNxt = sk.SndNxt,
            RcvWnd = rcvWnd,
            RecycleTimeout = recycleTimeout,
            // tcp_v4_timewait_ack() passes tw_rcv_wnd >> tw_rcv_wscale as tcp_v4_send_ack()'s u32 win, which htons() cuts to
            // its low 16 bits: without window scaling a tw_rcv_wnd past 65535 (tcp_select_window() keeps rcv_wnd unclamped,
            // 69504 after a write) wraps — 68056 is sent as 2520 (fuzz-workload-39005-3, 6.18.44).
            Window = unchecked((ushort)(rcvWnd >> rcvWscale)),
            UsedTimestamps = tsOk,
            TsRecent = tsRecent,
            TsRecentStampSec = tsOk ? tsRecentStampSec : 0,
            TsOffset = tsOffset,
            EntryStampMs = sk.TimeStampMs, // tcp_time_stamp_ms(tp): the socket's last clock read, not the clock
            ReuseAddr = sk.ReuseAddr,
            ReusePort = sk.ReusePort,
            ConnectBind = sk.ConnectBind,
            Alive = true,
        };
        Link(slot);
        if (substate == TcpState.FinWait2) FinWait2Count++;
        _host.AddBindOwner(e.LocalPort, slot);
        _host.ConnectTimeWaitHeld(in e, held: true);
        // 6.x counts at the first arming (__inet_twsk_schedule(), !rearm); linux-4.4 when the timer fires (Expire).
        if (Sim.Profile == KernelProfile.Linux6) _host.Count(timeout <= TcpConstants.TwKillThreshold ? MibCounter.TcpExtTWKilled : MibCounter.TcpExtTW);
        if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new StateChanged(Sim.Now, Sim.JournalSeq, _host.Name, e.SocketId,
            e.FromState, substate, cause + " → timewait socket"));
        Arm(slot, timeout);
    }

    int Allocate()
    {
        if (_free >= 0)
        {
            int slot = _free;
            _free = this[slot].SocketId;
            _alive++;
            return slot;
        }
        if (_used == _pages.Length << PageBits)
        {
            if (_used == 1 << SlotBits) throw new InvalidOperationException("timewait table full");
            Array.Resize(ref _pages, _pages.Length + 1);
            _pages[^1] = new TimeWaitEntry[PageSize];
            Array.Resize(ref _pendingArmings, _pendingArmings.Length + 1);
            _pendingArmings[^1] = new uint[PageSize];
        }
        _alive++;
        return _used++;
    }

    void Release(int slot)
    {
        ref var e = ref this[slot];
        e.Alive = false;
        e.SocketId = _free; // a free slot's socket id links the free list
        _free = slot;
        if (--_alive == 0)
        {
            // The last entry went: the pages and the hash go with it (as the entries' slab pages would), so an idle host keeps nothing.
            _pages = [];
            _pendingArmings = [];
            _buckets = [];
            _bucketMask = -1;
            _count = 0;
            _used = 0;
            _free = -1;
        }
    }

    /// <summary>
    /// inet_twsk_schedule() → mod_timer(&amp;tw->tw_timer) (Simulation.ArmTimer's rules: the wheel's firing time, journaled
    /// as TimerArmed; the previous item, if any, is left stale).
    /// </summary>
    void Arm(int slot, SimDuration timeout)
    {
        ref var e = ref this[slot];
        var expires = Jiffies.Expiry(Sim.Now, timeout);
        e.TwKill = timeout <= TcpConstants.TwKillThreshold; // linux-4.4 __inet_twsk_schedule(): on every arming, re-arms too
        if (e.TimerArmed && e.Expires == expires)
        {
            // __mod_timer(): "re-modified to have the same timeout" returns — the timer keeps its place in its bucket
            // (which matters for the order the bucket runs in, EventQueue.OrderWheelTimers()), so its item stays.
            Sim.JournalTimerArmed(_host, e.SocketId, TcpTimerKind.TimeWait, e.FiresAt);
            return;
        }
        bool clockAhead = _host.WheelClockAhead(TcpTimerKind.TimeWait, Sim.Now);
        var fires = Jiffies.WheelFires(Sim.Now, expires, Sim.Profile, clockAhead);
        if (unchecked((uint)++_armings) == 0) _armings++; // a key is never 0
        e.TimerArming = unchecked((uint)_armings);
        e.TimerArmed = true;
        PendingArming(slot) = e.TimerArming;
        e.Expires = expires;
        e.FiresAt = fires;
        Sim.ScheduleKeyed(fires, this, KeyOf(slot, e.TimerArming), Jiffies.WheelRank(Sim.Now, expires, Sim.Profile, pinned: false, clockAhead));
        Sim.JournalTimerArmed(_host, e.SocketId, TcpTimerKind.TimeWait, fires);
    }

    /// <summary>
    /// The item of <paramref name="key"/> came due: false when it is stale; else the timer fires (tw_timer_handler()).
    /// linux-4.4's handler counts TWKilled or TW by the last arming's tw_kill; a timewait socket descheduled before
    /// (RST, reuse, a SYN taking it over: inet_twsk_deschedule_put()) is never counted there.
    /// </summary>
    internal bool Expire(long key)
    {
        int slot = SlotOf(key);
        if (slot >= _used || KeyOf(slot, PendingArming(slot)) != key) return false; // stale: killed, re-armed or fired
        ref var e = ref this[slot];
        e.TimerArmed = false;
        PendingArming(slot) = 0;
        Sim.TimerFired(_host, e.SocketId, TcpTimerKind.TimeWait);
        if (Sim.Profile == KernelProfile.Linux44) _host.Count(e.TwKill ? MibCounter.TcpExtTWKilled : MibCounter.TcpExtTW);
        Kill(slot, "tw_timer_handler");
        return true;
    }

    /// <summary>The stages of <see cref="PrefetchExpiry"/>, each run this many items ahead of the expiry it prepares.</summary>
    internal const int PrefetchStages = 3;

    /// <summary>How many items ahead of the running one <paramref name="stage"/> works: the entry first, its chains last.</summary>
    internal static int PrefetchDistance(int stage) => stage switch { 0 => 12, 1 => 6, _ => 3 };

    /// <summary>
    /// Starts loading what <see cref="Expire"/> of <paramref name="key"/> will read, one stage at a time as the item comes
    /// nearer (<see cref="Paging.Prefetch{T}"/>; nothing is changed): stage 0 the slot's pending arming and its entry;
    /// stage 1, the entry being in the cache by then, its 4-tuple chain's head and its port's bind-bucket chain head;
    /// stage 2 the first entry of each chain — what <see cref="Kill"/>'s unlink and the port's release walk first. A
    /// stale key (the entry killed or re-armed since) reads its pending arming only, as Expire does.
    /// </summary>
    internal void PrefetchExpiry(long key, int stage)
    {
        int slot = SlotOf(key);
        if (slot >= _used) return;
        if (stage == 0)
        {
            Paging.Prefetch(ref PendingArming(slot));
            Paging.Prefetch(ref this[slot]);
            return;
        }
        if (KeyOf(slot, PendingArming(slot)) != key) return;
        ref var e = ref this[slot];
        var tuple = e.Tuple;
        if (stage == 1)
        {
            PrefetchHead(in tuple);
            _host.PrefetchBindBucket(e.LocalPort, first: false);
            return;
        }
        if (Head(Bucket(tuple)) is > 0 and var first && first - 1 != slot) Paging.Prefetch(ref this[first - 1]);
        _host.PrefetchBindBucket(e.LocalPort, first: true);
    }

    void IEventTarget.OnDue(Simulation sim, object? payload) => throw new InvalidOperationException("a timewait table's items are keyed (Expire)");

    /// <summary>inet_twsk_deschedule_put(): removes the timewait socket now (expiry, RST, reuse, SYN); the port becomes free; no packet.</summary>
    internal void Kill(int slot, string cause)
    {
        ref var e = ref this[slot];
        if (!e.Alive) return;
        if (e.TimerArmed)
        {
            e.TimerArmed = false; // del_timer(): the pending item goes stale and pins nothing (its target is this table)
            PendingArming(slot) = 0;
            Sim.JournalTimerCancelled(_host, e.SocketId, TcpTimerKind.TimeWait);
        }
        var tuple = e.Tuple;
        var substate = e.State;
        int socketId = e.SocketId;
        Unlink(slot);
        if (substate == TcpState.FinWait2) FinWait2Count--;
        _host.RemoveBindOwner(tuple.Local.Port, slot);
        _host.ConnectTimeWaitHeld(in e, held: false);
        Release(slot);
        if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new StateChanged(Sim.Now, Sim.JournalSeq, _host.Name, socketId, substate, TcpState.Close, cause));
    }

    /// <summary>
    /// Models tcp_timewait_state_process() — net/ipv4/tcp_minisocks.c (the reference's §6.4
    /// tables): PAWS first; in substate FIN_WAIT2 the FIN exactly at rcv_nxt moves to TIME_WAIT
    /// (timer restarted at 60 s, ACK), new data or a SYN gets a reply RST and kills the socket;
    /// in TIME_WAIT a bare in-window ACK restarts the timer, an exact RST kills it unless
    /// tcp_rfc1337, a newer SYN may start a new connection, anything else is re-ACKed
    /// (pure ACKs and SYNs rate-limited).
    /// </summary>
    internal TimeWaitVerdict OnSegment(int slot, Segment seg)
    {
        var verdict = Process(slot, seg);
        switch (verdict)
        {
            case TimeWaitVerdict.Ack:
                SendAck(slot, "tcp_timewait_state_process");
                break;
            case TimeWaitVerdict.Rst:
                _host.SendResetReply(seg, "tcp_timewait_state_process");
                Kill(slot, "tcp_timewait_state_process (TCP_TW_RST)");
                break;
        }
        return verdict;
    }

    TimeWaitVerdict Process(int slot, Segment seg)
    {
        ref var e = ref this[slot];
        var o = seg.Options;
        bool rst = seg.Has(TcpFlags.Rst), syn = seg.Has(TcpFlags.Syn), ack = seg.Has(TcpFlags.Ack), fin = seg.Has(TcpFlags.Fin);
        long nowSec = KernelSeconds.At(Sim.Now);
        // Options are parsed only when the connection used timestamps (tw_ts_recent_stamp != 0), and with estab = 0:
        // tcp_parse_options() takes the timestamp option only while net.ipv4.tcp_timestamps is on now, so with the sysctl
        // turned off after the connection closed nothing is PAWS-checked, remembered or taken for a newer SYN — observed
        // on Linux 6.18.44 (an old TS val at rcv_nxt is a bare in-window ACK then, taken in silence).
        if (e.TsRecentStampSec != 0) TcpSocket.ParseSynWindowScale(_host, seg);
        bool sawTs = o.HasTimestamp && e.TsRecentStampSec != 0 && _host.Sysctls.TcpTimestamps;
        bool pawsReject = false;
        if (sawTs)
        {
            // tcp_paws_reject(): tcp_paws_check(rx_opt, 0) fails, and for a RST ts_recent is younger than TCP_PAWS_MSL.
            bool ok = TcpTimestamp.PawsCheck(Sim.Profile, e.TsRecent, e.TsRecentStampSec, o.TsVal, nowSec, pawsWin: 0);
            if (!ok && rst && nowSec >= e.TsRecentStampSec + TcpConstants.PawsMslSec) ok = true;
            pawsReject = !ok;
        }
        if (e.State == TcpState.FinWait2)
        {
            if (pawsReject || !SeqMath.InWindow(seg.Seq, seg.EndSeq, e.RcvNxt, e.RcvNxt + e.RcvWnd))
                return OowRateLimit(ref e, seg, MibCounter.TcpExtTCPACKSkippedFinWait2);
            if (rst)
            {
                Kill(slot, "tcp_timewait_state_process (RST in FIN_WAIT2)");
                return TimeWaitVerdict.Success;
            }
            if (syn && !SeqMath.Before(seg.Seq, e.RcvNxt)) return TimeWaitVerdict.Rst;
            if (!ack || !SeqMath.After(seg.EndSeq, e.RcvNxt) || seg.EndSeq == seg.Seq) return TimeWaitVerdict.Success;
            if (!fin || seg.EndSeq != e.RcvNxt + 1) return TimeWaitVerdict.Rst;
            // FIN arrived: enter true TIME-WAIT.
            var old = e.State;
            e.Substate = TcpState.TimeWait;
            FinWait2Count--;
            e.RcvNxt = seg.EndSeq;
            if (sawTs)
            {
                e.TsRecentStampSec = nowSec;
                e.TsRecent = o.TsVal;
                // 6.14+: the TIME-WAIT age that tcp_tw_reuse_delay measures starts now.
                if (Sim.Profile == KernelProfile.Linux6) e.EntryStampMs = unchecked((uint)Sim.Now.Ms);
            }
            if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new StateChanged(Sim.Now, Sim.JournalSeq, _host.Name, e.SocketId, old, e.State,
                "tcp_timewait_state_process (FIN)"));
            // linux-4.4: with tcp_tw_recycle and a timestamp to remember (tcp_tw_remember_stamp), tw_timeout.
            if (_host.Sysctls.TcpTwRecycle && e.TsRecentStampSec != 0)
            {
                _host.RememberPeerTimestamp(e.RemoteAddress, e.TsRecent, e.TsRecentStampSec);
                Arm(slot, e.RecycleTimeout);
            }
            else
            {
                Arm(slot, TcpConstants.TimeWaitLen);
            }
            return TimeWaitVerdict.Ack;
        }
        if (!pawsReject && seg.Seq == e.RcvNxt && (seg.Seq == seg.EndSeq || rst))
        {
            if (rst)
            {
                if (!_host.Sysctls.TcpRfc1337)
                {
                    Kill(slot, "tcp_timewait_state_process (RST: TIME-WAIT assassination)");
                    return TimeWaitVerdict.Success;
                }
            }
            else
            {
                Arm(slot, TcpConstants.TimeWaitLen);
            }
            if (sawTs)
            {
                e.TsRecent = o.TsVal;
                e.TsRecentStampSec = nowSec;
            }
            return TimeWaitVerdict.Success;
        }
        if (syn && !rst && !ack && !pawsReject
            && (SeqMath.After(seg.Seq, e.RcvNxt) || (sawTs && (int)(e.TsRecent - o.TsVal) < 0)))
            return TimeWaitVerdict.Syn;
        if (pawsReject)
            _host.Count(Sim.Profile == KernelProfile.Linux6 ? MibCounter.TcpExtPAWSTimewait : MibCounter.TcpExtPAWSEstab);
        if (!rst)
        {
            if (pawsReject || ack) Arm(slot, TcpConstants.TimeWaitLen);
            return OowRateLimit(ref e, seg, MibCounter.TcpExtTCPACKSkippedTimeWait);
        }
        return TimeWaitVerdict.Success;
    }

    /// <summary>tcp_timewait_check_oow_rate_limit(): at most one dup-ACK per tcp_invalid_ratelimit for pure ACKs and SYNs.</summary>
    TimeWaitVerdict OowRateLimit(ref TimeWaitEntry e, Segment seg, MibCounter skipped) =>
        e.OowAck.Limited(_host, Sim.Now, seg, skipped) ? TimeWaitVerdict.Success : TimeWaitVerdict.Ack;

    /// <summary>
    /// Models tcp_v4_timewait_ack(): seq = tw_snd_nxt, ack = tw_rcv_nxt, the stored window, and the timestamp option
    /// only when tw_ts_recent is not 0 (tcp_v4_send_ack(): "if (tsecr)").
    /// </summary>
    internal void SendAck(int slot, string reason)
    {
        ref var e = ref this[slot];
        var options = e.UsedTimestamps && e.TsRecent != 0
            ? new TcpOptions(HasTimestamp: true, TsVal: TcpTimestamp.At(Sim.Profile, Sim.Now, e.TsOffset), TsEcr: e.TsRecent)
            : TcpOptions.None;
        _host.Transmit(Sim.NewSegment(e.Tuple, TcpFlags.Ack, e.SndNxt, e.RcvNxt, e.Window, 0, options), reason);
    }
}

/// <summary>
/// A view of one timewait socket (<see cref="TimeWaitEntry"/>) for observers and tests: it reads the live entry while
/// the entry lives, and the entry as it was when the view was taken once it is gone.
/// </summary>
public sealed class TimeWaitSocket
{
    readonly TimeWaitTable _table;
    readonly int _slot;
    readonly TimeWaitEntry _taken;

    internal TimeWaitSocket(Host host, TimeWaitTable table, int slot)
    {
        Host = host;
        _table = table;
        _slot = slot;
        _taken = table[slot];
    }

    ref readonly TimeWaitEntry E
    {
        get
        {
            if (Alive) return ref _table[_slot];
            return ref _taken;
        }
    }

    public Host Host { get; }
    /// <summary>The id of the full socket this one replaced: the connection's identity.</summary>
    public int SocketId => _taken.SocketId;
    public Endpoint Local => _taken.Tuple.Local;
    public Endpoint Remote => _taken.Tuple.Remote;
    public FourTuple Tuple => _taken.Tuple;
    /// <summary>tw_substate: TIME_WAIT, or FIN_WAIT2 for a parked orphan.</summary>
    public TcpState Substate => E.State;
    public uint RcvNxt => E.RcvNxt;
    public uint SndNxt => _taken.SndNxt;
    /// <summary>tw_snd_nxt + 65535 + 2, never 0: the initial sequence of a connection that takes this 4-tuple over.</summary>
    public uint SuccessorIsn => _taken.SuccessorIsn;
    public uint RcvWnd => _taken.RcvWnd;
    public ushort Window => _taken.Window;
    public bool UsedTimestamps => _taken.UsedTimestamps;
    public uint TsRecent => E.TsRecent;
    public long TsRecentStampSec => E.TsRecentStampSec;
    public uint TsOffset => _taken.TsOffset;
    public long EntryStampMs => E.EntryStampMs;
    public bool ReuseAddr => _taken.ReuseAddr;
    public bool ReusePort => _taken.ReusePort;
    public bool ConnectBind => _taken.ConnectBind;
    /// <summary>Still hashed: the slot holds this same connection's entry.</summary>
    public bool Alive
    {
        get
        {
            if (_slot >= _table.Capacity) return false;
            ref var e = ref _table[_slot];
            return e.Alive && e.SocketId == _taken.SocketId; // a socket becomes at most one timewait socket
        }
    }
    public bool Armed => Alive && E.TimerArmed;
    /// <summary>timer->expires: the tick asked for (what ss and /proc/net/tcp count down to).</summary>
    public SimTime Expires => E.Expires;
    /// <summary>When the timer wheel runs it: its bucket's expiry.</summary>
    public SimTime FiresAt => E.FiresAt;
}
