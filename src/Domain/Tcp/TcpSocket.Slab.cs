using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>
/// A socket's memory as the kernel manages it: sk_alloc() takes a zeroed object from the protocol's slab cache
/// (sk_prot_alloc() — net/core/sock.c: kmem_cache_alloc(prot->slab, priority | __GFP_ZERO), tcp_prot.slab being the
/// "TCP" cache) and tcp_init_sock() sets what is not zero; __sk_destruct() → sk_prot_free() gives the object back to
/// the cache, where the next sk_alloc() of the same kind finds it. Here a destroyed socket that nothing can reach any
/// more goes to its host's free list (<see cref="Host.FreeSocket"/>) and <see cref="Host.NewSocket"/> takes it again:
/// a churn of short connections then allocates no socket objects once it runs.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Every field as sk_alloc() (zeroed memory) and tcp_init_sock() — net/ipv4/tcp.c — leave a new socket: the one
    /// place the initial values are written, for a new object and for one taken from the free list alike.
    /// <c>SocketSlabTests</c> writes every field of a socket and checks that this gives it back a new one's values.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_rtx))]
    void Init(int id)
    {
        Id = id;
        HostSlot = -1; // none until the host's set gives it one (Host.NewSocket)
        _flags = default; // every yes/no flag off (TcpSocket.Flags.cs)
        // The embedded timers keep their generation (a queue item of an earlier life can never be current again,
        // as SLAB_TYPESAFE_BY_RCU lookups re-check an object that may have been reused); all else is a new timer's.
        _xmitTimer.Recycle();
        _data?.Reset(); // kept with the object, as its generation must be (TcpSocket.DataPath.cs)
        XmitPending = default;
        LastStateBeforeClose = TcpState.Close;
        State = TcpState.Close;
        Local = new Endpoint(Host.Address, 0);
        Remote = default;
        _rare?.Reset(); // kept, as the data path is (TcpSocket.Rare.cs): its ledger zeroed, the rest a new socket's
        _rare?.KeepaliveTimer?.Reuse(this, KeepaliveTimerKind); // a new timer that keeps its generation, as _xmitTimer
        Fd = 0;
        FileRefs = 0;
        CallRefs = 0;
        Owner = null;
        PeerSocketId = 0;
        _sockState = default;
        Parent = null;

        // tcp_init_sock() and sock_init_data().
        _snd = default;
        _rcv = new() { Ssthresh = TcpConstants.MaxTcpWindow };
        _rxOpt = new() { MssClamp = TcpConstants.MssDefault };
        _rtt = default;
        _rtt.RttMin.Reset(Jiffies32, uint.MaxValue); // minmax_reset(&tp->rtt_min, tcp_jiffies32, ~0U)
        _icsk = new() { Rto = TcpConstants.TimeoutInit };
        // icsk_rto_min = usecs_to_jiffies(net.ipv4.tcp_rto_min_us) (6.11+; linux-4.4 has TCP_RTO_MIN only).
        _icsk.RtoMin = Jiffies.ToDuration(Jiffies.FromDuration(SimDuration.FromMicroseconds(Host.Sysctls.TcpRtoMinUs)));
        // icsk_rto_max = msecs_to_jiffies(net.ipv4.tcp_rto_max_ms) (6.15+; linux-4.4: TCP_RTO_MAX).
        _icsk.RtoMax = Jiffies.ToDuration(Jiffies.FromDuration(SimDuration.FromMilliseconds(Host.Sysctls.TcpRtoMaxMs)));
        // u32 tp->reordering = net.ipv4.tcp_reordering.
        _ca = new() { Cwnd = TcpConstants.InitCwnd, Ssthresh = int.MaxValue, Reordering = unchecked((uint)Host.Sysctls.TcpReordering) };
        _rack = default;
        _mss = TcpConstants.EthernetMss;
        _sndBuf = (int)Host.Sysctls.TcpWmem[1]; // sk_sndbuf = tcp_wmem[1]
        _rtx = _sim.FreeQueues.NoRtx;
        _tsOffset = 0;
        _retransStampNs1 = 0;
        _delivered = 0;
        _lastAckRecv = default;
        _lrcvTime = 0;
        _rcvMss = TcpConstants.MssDefault;
        _segsOut = _segsIn = 0;
        _ecn = EcnFlags.None;
        _synEcn = TcpFlags.None;
        _pendingConnect = null;
        _otherConnects = null;
        _woken = WokenTasks.None;
        _xmitTimerListUntil = default;

        CaOps = Host.Sysctls.TcpCongestionControl; // tcp_assign_congestion_control()
        _cubic = default;
        _cwnd = new() { Clamp = uint.MaxValue }; // snd_cwnd_clamp = ~0
        _predWindow = 0;
        _nonagle = default;
        _connectMssCache = 0;
        _mtupSearchLow = 0;
        _mtup = null; // icsk_mtup zeroed: no probing state
        _rate = RateEstimator.Initial;
        _chrono = default;
        ChronoType = default;
        _ackTsEcr = 0;
        _pushedSeq = 0;
        _pacingRate = ulong.MaxValue; // sk_pacing_rate = ~0UL
        _wstamp = new(long.MinValue / 2);
        _rcvBuf = (int)Host.Sysctls.TcpRmem[1]; // sk_rcvbuf = tcp_rmem[1]
        _scalingRatio = TcpConstants.DefaultScalingRatio;
        _advmss = TcpConstants.EthernetMss;
        _rcvq = default;
        _mstamp = default;
        _mstampEpoch = 0;
        _sampledRead = default;
    }

    /// <summary>
    /// Whether a socket just destroyed can go back to its host's free list: nothing can reach it any more. Not at
    /// journal levels that keep a destroyed socket's record (calls and `GET /sockets/{id}` answer about it); not
    /// while a descriptor or a blocked call holds its file; not a listener (its request sockets and children name
    /// it); not one that set SO_LINGER/TCP_LINGER2 or a send/receive timeout (a linger wake-up or a call's sleep may
    /// still be queued for it). The embedded timers' items were vacated by <see cref="Destroy"/>, the keepalive timer
    /// detached.
    /// </summary>
    bool Reusable =>
        !_sim.Journals(JournalLevel.States) && Dead && Owner is null && FileRefs == 0 && CallRefs == 0 &&
        _rare?.Listen is null && LingerSet is null && TimeoutsSet is null &&
        _pendingConnect is null && _otherConnects is not { Count: > 0 } && PendingSend is null && !HasSleepingReader && PendingClose is null;

    /// <summary>sk_prot_free(): gives a destroyed, unreachable socket back to its host's free list.</summary>
    void FreeToSlab()
    {
        if (Reusable) Host.FreeSocket(this);
    }

    /// <summary>sk_prot_alloc() of an object from the free list: a new socket with a new id.</summary>
    internal void Reuse(int id) => Init(id);
}
