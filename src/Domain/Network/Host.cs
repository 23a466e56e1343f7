using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Network;

/// <summary>
/// A simulated Linux machine (one network namespace): sysctls, processes, the TCP socket tables
/// (established hash with full, request and timewait sockets; listeners; bind buckets), MIB
/// counters and a kernel log.
/// </summary>
public sealed partial class Host : IEventTarget
{
    readonly Dictionary<string, SimProcess> _processes = new(StringComparer.Ordinal);
    readonly List<string> _log = [];
    /// <summary>The established hash (tcp_hashinfo.ehash, full sockets; timewait ones are <see cref="TimeWaits"/>): paged, sized as it fills.</summary>
    internal readonly PagedMap<FourTuple, TcpSocket> Established = new();
    internal readonly PagedMap<FourTuple, RequestSocket> Requests = new();
    /// <summary>The SYN cookies this host issued (stands in for syncookie_secret's hash: <see cref="SynCookieJar"/>).</summary>
    internal readonly SynCookieJar IssuedCookies = new();
    internal readonly TimeWaitTable TimeWaits;
    /// <summary>The listening hash (lhash2 by port): listeners of each port in listen() order.</summary>
    readonly Dictionary<ushort, List<TcpSocket>> _listeners = [];
    int _listenerCount;
    /// <summary>
    /// Every full socket still allocated (sockstat alloc): a dense set, each socket keeping its slot
    /// (<see cref="TcpSocket.HostSlot"/>), O(1) to add and remove with no hash — 8 bytes a socket, where a map by id took
    /// 24 and its buckets 4–8 (docs/benchmarks-history.md, the session-26 note); listed in id order (<see cref="AllSockets"/>). Paged
    /// (<see cref="DenseSet{T}"/>): a server holding 100,000 grows it without reallocating a large array.
    /// </summary>
    readonly DenseSet<TcpSocket> _sockets = new();

    public Simulation Sim { get; }
    public string Name { get; }
    /// <summary>The primary address: the source of connections to other hosts (the route's preferred source).</summary>
    public IPv4 Address { get; }
    /// <summary>Every address of the host's interfaces, the primary first (127.0.0.1 on lo comes on top of these).</summary>
    public IReadOnlyList<IPv4> Addresses { get; }

    /// <summary>
    /// inet_addr_type() == RTN_LOCAL: the whole of 127.0.0.0/8 (lo) and each of the host's addresses. A
    /// segment to one of them never leaves the host (loopback), and bind() accepts them.
    /// </summary>
    public bool IsLocal(IPv4 address)
    {
        if (address.IsLoopback || address == Address) return true;
        foreach (var a in _addresses) // a plain loop over an array: this runs for every segment sent (fib_lookup())
            if (a == address) return true;
        return false;
    }

    readonly IPv4[] _addresses;

    /// <summary>
    /// The source address ip_route_connect() gives an unbound socket for <paramref name="destination"/>: the
    /// local table's route for 127.0.0.0/8 has src 127.0.0.1, a host's own address is its own source, and every
    /// other destination leaves from the primary address.
    /// </summary>
    public IPv4 SourceFor(IPv4 destination) =>
        destination.IsLoopback ? Loopback : IsLocal(destination) ? destination : Address;

    /// <summary>
    /// The MTU of the route to <paramref name="destination"/> as ipv4_mtu() reports it: lo's 65536 for a local
    /// destination (127.0.0.0/8 and the host's own addresses leave through lo), capped at IP_MAX_MTU 65535; 1500
    /// (Ethernet) towards every other host. Observed on Linux 6.18.44: tcpi_pmtu 65535 on a loopback connection.
    /// </summary>
    public int RouteMtu(IPv4 destination) => IsLocal(destination) ? IpMaxMtu : EthernetMtu;

    /// <summary>
    /// Models ipv4_default_advmss() — net/ipv4/route.c: the route's MTU less the IPv4 and TCP headers, at most
    /// IPV4_MAX_PMTU − 40: 65495 on lo (the MSS option of a loopback SYN), 1460 on Ethernet.
    /// </summary>
    public int RouteAdvmss(IPv4 destination) => Math.Min(RouteMtu(destination), IpMaxMtu) - Ipv4TcpHeaders;

    /// <summary>IP_MAX_MTU (0xFFFF), the cap ipv4_mtu() puts on a device MTU (lo's is 65536).</summary>
    public const int IpMaxMtu = 65535;
    /// <summary>The MTU of every simulated link (Ethernet).</summary>
    public const int EthernetMtu = 1500;
    /// <summary>sizeof(struct iphdr) + sizeof(struct tcphdr): what ipv4_default_advmss() takes off the MTU.</summary>
    public const int Ipv4TcpHeaders = 40;

    /// <summary>127.0.0.1, lo's address on every host.</summary>
    public static readonly IPv4 Loopback = new(0x7F000001);
    public HostKind Kind { get; }
    public int Index { get; }

    /// <summary>
    /// The links out of this host by the other host's <see cref="Index"/> (null: not linked): the device a route
    /// out of this host leaves through, found for every segment sent by one array read.
    /// </summary>
    LinkDirection?[] _directions = [];

    internal LinkDirection? DirectionTo(int hostIndex) => (uint)hostIndex < (uint)_directions.Length ? _directions[hostIndex] : null;

    internal void SetDirection(int hostIndex, LinkDirection direction)
    {
        if (hostIndex >= _directions.Length) Array.Resize(ref _directions, Math.Max(hostIndex + 1, _directions.Length * 2));
        _directions[hostIndex] = direction;
    }
    public SysctlTable Sysctls { get; }
    /// <summary>The NAT this host's traffic to the outside passes through, if any.</summary>
    public Nat? BehindNat { get; internal set; }
    public Mib Mib { get; } = new();
    public IReadOnlyList<string> KernelLog => _log;

    int _orphans;

    /// <summary>Orphaned full sockets (SOCK_DEAD), the sockstat "orphan" count (tcp_orphan_count).</summary>
    public int OrphanCount
    {
        get => _orphans;
        internal set
        {
            SyncOrphanCache();
            AddOrphanPcpu(value - _orphans);
            _orphans = value;
        }
    }

    /// <summary>Segments a scripted host received, in arrival order.</summary>
    public List<Segment> Received { get; } = [];

    internal Host(Simulation sim, string name, IPv4 address, HostKind kind, int index, IReadOnlyList<IPv4> addresses)
    {
        Sim = sim;
        Name = name;
        Address = address;
        Addresses = addresses;
        _addresses = [.. addresses];
        Kind = kind;
        Index = index;
        Sysctls = new SysctlTable(sim.Profile);
        TimeWaits = new TimeWaitTable(this);
        BootClockOffset = sim.Rng.NextUInt32();
        // tcp_orphan_timer's period: armed at jiffy 0 for 100 ms, run by the wheel (26 jiffies on linux-6).
        _orphanTimerPeriod = Jiffies.At(Jiffies.WheelFires(SimTime.Zero, Jiffies.Expiry(SimTime.Zero, TcpConstants.OrphanTimerPeriod), sim.Profile));
    }

    /// <summary>linux-4.4: timestamps are the host's jiffies since boot, so hosts differ by their boot time.</summary>
    internal uint BootClockOffset { get; }

    /// <summary>tcp_orphan_cache: the orphan count tcp_orphan_update() last sampled (0 until its first run).</summary>
    int _orphanCache;
    /// <summary>Which run of tcp_orphan_timer the cache holds: the runs are numbered from boot, every <see cref="_orphanTimerPeriod"/> jiffies.</summary>
    long _orphanCacheRun;
    readonly long _orphanTimerPeriod;

    /// <summary>
    /// Models tcp_orphan_update() — net/ipv4/tcp.c (5.16+): tcp_too_many_orphans() reads tcp_orphan_cache,
    /// which tcp_orphan_timer refreshes: tcp_init() arms it at boot with mod_timer(jiffies +
    /// TCP_ORPHAN_TIMER_PERIOD), and each run samples tcp_orphan_count_sum() and re-arms it the same way.
    /// msecs_to_jiffies(100) = 25 jiffies is level 0 of the timer wheel, which runs a timer one jiffy after
    /// its expiry, so the runs fall every 26 jiffies (104 ms) from boot (virtual time 0; the timer is
    /// deferrable — a busy CPU, as here, runs it on time). No event is scheduled per run: every change of
    /// the count (and every read) first notes which run is the latest one; if a run happened since the
    /// last change, it sampled the count as that change left it.
    /// </summary>
    void SyncOrphanCache()
    {
        long run = Jiffies.At(Sim.Now) / _orphanTimerPeriod;
        if (run == _orphanCacheRun) return;
        _orphanCache = _orphans;
        _orphanCacheRun = run;
    }

    /// <summary>tcp_orphan_cache as tcp_too_many_orphans() reads it now.</summary>
    internal int OrphanCountCached
    {
        get
        {
            SyncOrphanCache();
            return _orphanCache;
        }
    }

    /// <summary>percpu_counter_batch — lib/percpu_counter.c: max(32, 2 · online CPUs), 32 up to 16 CPUs.</summary>
    const int PercpuCounterBatch = 32;
    /// <summary>linux-4.4 tcp_orphan_count (a struct percpu_counter): fbc->count, the folded global part.</summary>
    long _orphanPcpuCount;
    /// <summary>linux-4.4 tcp_orphan_count: this CPU's not yet folded part.</summary>
    long _orphanPcpuLocal;

    /// <summary>
    /// Models __percpu_counter_add(fbc, amount, percpu_counter_batch) — lib/percpu_counter.c, linux-4.4's
    /// percpu_counter_inc()/_dec() of tcp_orphan_count: the CPU's own count takes the change, and only once it reaches
    /// ±batch is it folded into fbc->count. The engine has no CPUs: one local count per host, as if every close and
    /// every destroy ran on one CPU (as for tcp_mem's per-CPU reserve).
    /// </summary>
    void AddOrphanPcpu(long amount)
    {
        long count = _orphanPcpuLocal + amount;
        if (count >= PercpuCounterBatch || count <= -PercpuCounterBatch)
        {
            _orphanPcpuCount += count;
            _orphanPcpuLocal = 0;
        }
        else
        {
            _orphanPcpuLocal = count;
        }
    }

    /// <summary>
    /// Models tcp_too_many_orphans(shift) — include/net/tcp.h. 5.16+: tcp_orphan_cache (<see cref="OrphanCountCached"/>)
    /// shifted, above tcp_max_orphans. linux-4.4: percpu_counter_read_positive() — fbc->count only, without what the CPUs
    /// hold — and, only when that is over the limit, percpu_counter_sum_positive(), the exact count. Fewer than
    /// percpu_counter_batch (32) orphans never reach fbc->count, so on 4.4 a small tcp_max_orphans is never enforced.
    /// </summary>
    internal bool TooManyOrphans(int shift)
    {
        long max = Sysctls.TcpMaxOrphans;
        if (Sim.Profile != KernelProfile.Linux44) return ((long)OrphanCountCached << shift) > max;
        if ((Math.Max(0, _orphanPcpuCount) << shift) <= max) return false;
        return (Math.Max(0, _orphanPcpuCount + _orphanPcpuLocal) << shift) > max;
    }

    long _tcpMemBytes;
    bool _memoryPressure;
    /// <summary>The jiffy tcp_memory_pressure was entered (its value in 6.x: the start, for TCPMemoryPressuresChrono).</summary>
    long _memoryPressureSince;
    /// <summary>*tcp_prot.per_cpu_fw_alloc: pages charged (or released) but not yet drained to memory_allocated.</summary>
    long _pcpuFwAlloc;
    /// <summary>tcp_prot.memory_allocated: the global count of pages charged to TCP.</summary>
    long _memoryAllocated;

    /// <summary>tcp_memory_pressure: set by crossing tcp_mem[1], cleared below tcp_mem[0] (tcp_under_memory_pressure()).</summary>
    internal bool TcpMemoryPressure => _memoryPressure;

    /// <summary>SK_MEMORY_PCPU_RESERVE — include/net/sock.h: 1 &lt;&lt; (20 − PAGE_SHIFT) = 256 pages (net.core.mem_pcpu_rsv).</summary>
    const long MemPcpuRsv = 256;

    /// <summary>
    /// /proc/net/sockstat "mem" and what tcp_mem is compared with: proto_memory_allocated(), max(0, the global
    /// memory_allocated) — without the pages still cached per CPU (6.0+, see <see cref="ChargeTcpMemory"/>).
    /// </summary>
    public long TcpMemPages => Math.Max(0, _memoryAllocated);

    /// <summary>
    /// Models sk_mem_charge/uncharge with tcp_enter_memory_pressure(): a charge that takes pages
    /// (__sk_mem_raise_allocated()) above tcp_mem[1] enters pressure (TCPMemoryPressures), one at or under tcp_mem[0]
    /// leaves it, as does a release (__sk_mem_reduce_allocated()) that leaves less than tcp_mem[0]. The pages reach the global count as
    /// sk_memory_allocated_add() / _sub() (include/net/proto_memory.h, 6.0+) move them: through the per-CPU
    /// cache, drained (proto_memory_pcpu_drain()) once it holds SK_MEMORY_PCPU_RESERVE pages or more, or releases
    /// that many (in whole reserves here: see the drain). The engine has no CPUs: one cache per host, as if every charge ran on one CPU (a real host has
    /// one per CPU, so its global count can lag by up to 255 pages per CPU). linux-4.4 adds to the global count
    /// directly. Without <paramref name="pressure"/> (sk_forced_mem_schedule(), a refused schedule's
    /// sk_memory_allocated_sub()) the pressure stays as it is.
    /// </summary>
    internal void ChargeTcpMemory(long deltaBytes, bool pressure = true)
    {
        long before = (_tcpMemBytes + 4095) / 4096;
        _tcpMemBytes += deltaBytes;
        long pages = (_tcpMemBytes + 4095) / 4096 - before;
        if (Sim.Profile == KernelProfile.Linux44)
        {
            _memoryAllocated += pages;
        }
        else
        {
            // The kernel charges per skb, a page or a few at a time, so each drain moves 256 pages or a few more; the
            // engine charges a socket's change at once and moves whole reserves, keeping the rest in the cache.
            _pcpuFwAlloc += pages;
            long moved = _pcpuFwAlloc - _pcpuFwAlloc % MemPcpuRsv;
            _memoryAllocated += moved;
            _pcpuFwAlloc -= moved;
        }
        // __sk_mem_raise_allocated() (a charge that took pages): at or under tcp_mem[0] leaves the pressure, above
        // tcp_mem[1] enters it; __sk_mem_reduce_allocated() (pages released): under tcp_mem[0] leaves it.
        var limits = Sysctls.TcpMem;
        if (pages == 0 || !pressure) return;
        if (!_memoryPressure && pages > 0 && TcpMemPages > limits[1])
        {
            // tcp_enter_memory_pressure(): tcp_memory_pressure = jiffies (the start), TCPMemoryPressures.
            _memoryPressure = true;
            _memoryPressureSince = Jiffies.At(Sim.Now);
            Count(MibCounter.TcpExtTCPMemoryPressures);
        }
        else if (_memoryPressure && (TcpMemPages < limits[0] || (pages > 0 && TcpMemPages == limits[0])))
        {
            // tcp_leave_memory_pressure(): TCPMemoryPressuresChrono += jiffies_to_msecs(jiffies − start).
            _memoryPressure = false;
            Count(MibCounter.TcpExtTCPMemoryPressuresChrono, (Jiffies.At(Sim.Now) - _memoryPressureSince) * 1000 / Jiffies.Hz);
        }
    }

    readonly Dictionary<IPv4, (uint Ts, long StampSec)> _peerTimestamps = [];

    /// <summary>This host's (net namespace's) tcp_metrics cache: the RTT a finished connection leaves for the next.</summary>
    internal TcpMetrics TcpMetrics { get; } = new();

    /// <summary>linux-4.4 tcp_remember_stamp(): the last timestamp seen from a peer address (tcp_metrics).</summary>
    internal void RememberPeerTimestamp(IPv4 peer, uint ts, long stampSec) => _peerTimestamps[peer] = (ts, stampSec);

    /// <summary>
    /// linux-4.4 tcp_peer_is_proven() with tcp_tw_recycle (net/ipv4/tcp_metrics.c): while the
    /// timestamp remembered for the source address is younger than TCP_PAWS_MSL, a SYN whose
    /// timestamp is older by more than TCP_PAWS_WINDOW — or that carries none — is not trusted.
    /// </summary>
    internal bool PeerIsProven(IPv4 peer, bool hasTimestamp, uint tsVal)
    {
        if (!_peerTimestamps.TryGetValue(peer, out var e)) return true;
        long nowSec = KernelSeconds.At(Sim.Now);
        if (nowSec - e.StampSec >= TcpConstants.PawsMslSec) return true;
        return hasTimestamp && (int)(e.Ts - tsVal) <= 1;
    }

    public SimProcess Process(string name)
    {
        // The same name string as the last call's (a workload passes one string for all its calls): no hash.
        if (_lastProcess is { } last && ReferenceEquals(last.Name, name)) return last;
        if (!_processes.TryGetValue(name, out var p))
        {
            p = new SimProcess(this, name);
            _processes[name] = p;
        }
        return _lastProcess = p;
    }

    /// <summary>The process <see cref="Process"/> last answered, while it is the one of its name in the table.</summary>
    SimProcess? _lastProcess;

    public SimProcess? FindProcess(string name) => _processes.GetValueOrDefault(name);

    /// <summary>An exited process is forgotten (a new one may take its name): one-process-per-connection workloads stay bounded.</summary>
    internal void ForgetProcess(SimProcess p)
    {
        if (_processes.TryGetValue(p.Name, out var current) && ReferenceEquals(current, p)) _processes.Remove(p.Name);
        if (ReferenceEquals(_lastProcess, p)) _lastProcess = null;
    }

    /// <summary>A new process under the name of one that exited.</summary>
    internal SimProcess RestartProcess(string name)
    {
        var p = new SimProcess(this, name);
        _processes[name] = p;
        if (_lastProcess?.Name == name) _lastProcess = null;
        return p;
    }

    /// <summary>/proc/net/sockstat "inuse": hashed full sockets (listeners and established-hash entries).</summary>
    public int InUse => _listenerCount + Established.Count;

    static readonly int StateCount = Enum.GetValues<TcpState>().Length;
    readonly int[] _stateCounts = new int[StateCount];

    /// <summary>Full sockets in a state (not CLOSE), kept by TcpSocket.TransitionTo: O(1) for time series.</summary>
    public int CountInState(TcpState state) => _stateCounts[(int)state];

    /// <summary>`ss` rows in TIME-WAIT: full sockets in that state and timewait sockets of substate TIME_WAIT (O(1)).</summary>
    public int TimeWaitRows => TimeWaitCount - TimeWaitFinWait2Count + CountInState(TcpState.TimeWait);

    /// <summary>`ss` rows in FIN-WAIT-2: full sockets in that state and timewait sockets of substate FIN_WAIT2 (O(1)).</summary>
    public int FinWait2Rows => CountInState(TcpState.FinWait2) + TimeWaitFinWait2Count;

    internal void StateMoved(TcpState from, TcpState to)
    {
        if (from != TcpState.Close) _stateCounts[(int)from]--;
        if (to != TcpState.Close) _stateCounts[(int)to]++;
    }

    /// <summary>Timewait sockets in substate FIN_WAIT2 (parked orphans); the rest of "tw" are TIME-WAIT.</summary>
    public int TimeWaitFinWait2Count => TimeWaits.FinWait2Count;

    /// <summary>/proc/net/sockstat "tw": timewait sockets of both substates.</summary>
    public int TimeWaitCount => TimeWaits.Count;

    /// <summary>/proc/net/sockstat "alloc": full sockets allocated, hashed or not.</summary>
    public int Allocated => _sockets.Count;

    /// <summary>
    /// Allocated sockets holding their data path (<c>TcpSocket.DataPath.cs</c>): made when one moved data or a FIN, kept by a
    /// socket object taken again from the free list. Kept as sockets are allocated and freed and as a data path is made, so
    /// a memory estimate taken after every command is O(hosts), not O(sockets).
    /// </summary>
    public int SocketsWithDataPath { get; internal set; }

    /// <summary>Request sockets (SYN_RECV) in the request table: what <c>ss</c> lists as SYN-RECV.</summary>
    public int RequestCount => Requests.Count;

    /// <summary>
    /// The bytes the host's established, request and bind tables hold in their pages (<see cref="PagedMap{TKey, TValue}.BytesHeld"/>):
    /// their run's peak, which a count of what they hold now misses (5,000 TIME-WAITs left by a workload whose 10,000 sockets
    /// were open at once).
    /// </summary>
    public long TableBytesHeld => Established.BytesHeld + Requests.BytesHeld + _bindBuckets.BytesHeld;

    /// <summary>Freed sockets kept for reuse (at most <see cref="FreeSocketsKept"/>): memory the host holds.</summary>
    public int FreeSocketsHeld => _freeSockets.Count;

    /// <summary>Freed request sockets kept for reuse (at most <see cref="FreeSocketsKept"/>).</summary>
    public int FreeRequestSocketsHeld => _freeRequests.Count;

    /// <summary>A view of each timewait socket, in the hash's order.</summary>
    public IReadOnlyCollection<TimeWaitSocket> TimeWaitSockets => [.. TimeWaits.Slots.Select(slot => new TimeWaitSocket(this, TimeWaits, slot))];
    public IReadOnlyCollection<TcpSocket> AllSockets => [.. _sockets.Items.OrderBy(sk => sk.Id)];
    public IEnumerable<RequestSocket> RequestSockets => Requests.Values;

    /// <summary>net->ipv4.tcp_challenge_timestamp: the second (jiffies / HZ) the challenge-ACK budget was drawn for.</summary>
    long _challengeSecond = -1;
    /// <summary>net->ipv4.tcp_challenge_count: challenge ACKs left this second (linux-4.4: sent this second).</summary>
    uint _challengeCount;
    /// <summary>get_random_u32_inclusive() for the budget: a stream of its own, so other draws (ISNs, loss) stay put.</summary>
    Pcg32? _challengeRng;

    /// <summary>
    /// The host-wide RFC 5961 limit of tcp_send_challenge_ack() — net/ipv4/tcp_input.c, after the per-socket one:
    /// none while tcp_challenge_ack_limit is INT_MAX (6.x's default); otherwise each new second (jiffies / HZ) draws a
    /// budget in [half, limit + half − 1] (half = (limit + 1) / 2), and a challenge ACK goes out only while it lasts.
    /// linux-4.4 (v4.4, default limit 100) counts instead: "if (now != challenge_timestamp) { challenge_timestamp = now;
    /// challenge_count = 0; } if (++challenge_count &lt;= sysctl_tcp_challenge_ack_limit)" — the unsigned count against
    /// the int sysctl converted to unsigned, so the first <c>limit</c> of each second go out (none for 0, all for a
    /// negative limit). The random budget and the default 1000 are 4.7's 75ff39ccc1bd ("tcp: make challenge acks less
    /// predictable", CVE-2016-5696), also in late 4.4.y stable kernels; the profile follows v4.4.
    /// </summary>
    internal bool ChallengeAckAllowed()
    {
        long limit = Sysctls.Get("net.ipv4.tcp_challenge_ack_limit");
        if (limit == int.MaxValue) return true;
        long second = Jiffies.Absolute(Sim.Now) / Jiffies.Hz;
        bool legacy = Sim.Profile == KernelProfile.Linux44;
        if (second != _challengeSecond)
        {
            _challengeSecond = second;
            if (legacy) _challengeCount = 0;
            else
            {
                _challengeRng ??= new Pcg32(Sim.Seed, stream: ChallengeStream(Name));
                _challengeCount = ChallengeBudget((uint)limit, _challengeRng.NextUInt32());
            }
        }
        if (legacy) return unchecked(++_challengeCount) <= unchecked((uint)limit);
        if (_challengeCount == 0) return false;
        _challengeCount--;
        return true;
    }

    /// <summary>
    /// 6.x: get_random_u32_inclusive(half, ack_limit + half − 1) in u32 arithmetic (ack_limit is read into a u32, so a
    /// negative sysctl wraps). Its span ceil − floor + 1 is ack_limit mod 2^32; a span of 0 (limit 0) makes
    /// __get_random_u32_below(0) a plain get_random_u32(): any u32, i.e. practically no limit.
    /// </summary>
    static uint ChallengeBudget(uint limit, uint draw)
    {
        uint half = unchecked(limit + 1) >> 1;
        return limit == 0 ? draw : unchecked(half + draw % limit);
    }

    /// <summary>A PCG stream per host name (FNV-1a: string.GetHashCode() differs between runs).</summary>
    static long ChallengeStream(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in name) h = unchecked((h ^ ch) * 1099511628211UL);
        return (long)(h >> 1);
    }

    /// <summary>Bumps a counter — one the profile's kernel has (<see cref="Mib.ExistsIn"/>); others do not exist there.</summary>
    internal void Count(MibCounter c, long by = 1)
    {
        if (Mib.ExistsIn(c, Sim.Profile)) Mib.Increment(c, by);
    }

    /// <summary>Appends a dmesg line (net_info_ratelimited / pr_* analogue).</summary>
    internal void Log(string line)
    {
        _log.Add(line);
        if (Sim.Journals(JournalLevel.States)) Sim.Record(JournalLevel.States, new KernelLogged(Sim.Now, Sim.JournalSeq, Name, line));
    }

    readonly RatelimitState _netRatelimit = new();

    /// <summary>
    /// net_info_ratelimited(): <c>if (net_ratelimit()) pr_info(...)</c> — one budget for every such message of the
    /// kernel (net.core.message_burst lines per net.core.message_cost seconds, <see cref="RatelimitState"/>); a
    /// message that opens a new window is preceded by the count the last one refused, printk'd by ___ratelimit().
    /// </summary>
    internal void LogRateLimited(string line)
    {
        if (NetRatelimit()) Log(line);
    }

    /// <summary>
    /// Models net_ratelimit() — net/core/utils.c: __ratelimit(&amp;net_ratelimit_state), which itself prints the count a
    /// closed window refused ("net_ratelimit: N callbacks suppressed") when the next one opens.
    /// </summary>
    bool NetRatelimit()
    {
        long interval = Sysctls.NetMessageCostSec * Jiffies.Hz; // proc_dointvec_jiffies
        bool allow = _netRatelimit.Allow(Jiffies.Absolute(Sim.Now), interval, Sysctls.NetMessageBurst, out int suppressed);
        if (suppressed > 0) Log($"net_ratelimit: {suppressed} callbacks suppressed");
        return allow;
    }

    /// <summary>sock_set_timeout()'s <c>static int warned</c>: lines printed since boot (a host is one boot).</summary>
    int _negativeTimeoutWarned;

    /// <summary>
    /// Models sock_set_timeout() — net/core/sock.c (6.18), a negative tv_sec: <c>if (warned &lt; 10 &amp;&amp; net_ratelimit())
    /// { warned++; pr_info("%s: `%s' (pid %d) tries to set negative timeout\n", __func__, current->comm,
    /// task_pid_nr(current)); }</c> with sock.c's <c>pr_fmt(fmt) KBUILD_MODNAME ": " fmt</c> ("sock: "). At most 10 lines
    /// per boot; net_ratelimit() is not asked once 10 are printed. comm is the calling task's name
    /// (<see cref="SimProcess.Comm"/>), the pid the engine's (<see cref="SimProcess.Pid"/>).
    /// </summary>
    internal void WarnNegativeTimeout(SimProcess caller)
    {
        if (_negativeTimeoutWarned >= 10 || !NetRatelimit()) return;
        _negativeTimeoutWarned++;
        Log($"sock: sock_set_timeout: `{caller.Comm}' (pid {caller.Pid}) tries to set negative timeout");
    }

    /// <summary>The last pid given (alloc_pid(): the next one goes to the next process of this host).</summary>
    int _lastPid;

    internal int NextPid() => ++_lastPid;

    // ---- receive path ---------------------------------------------------------------------

    void IEventTarget.OnDue(Simulation sim, object? payload) => OnDue(sim, payload);

    /// <summary>A segment's arrival (<see cref="Simulation"/>'s step calls it directly, not through the interface).</summary>
    internal void OnDue(Simulation sim, object? payload)
    {
        if (payload is not Segment seg) throw new InvalidOperationException("a host only receives segments");
        if (sim.Journals(JournalLevel.Full)) sim.Record(JournalLevel.Full, new SegmentDelivered(sim.Now, sim.JournalSeq, Name, seg.Tuple, seg.Flags, seg.Seq, seg.Ack, seg.Length, seg.Id));
        if (Kind == HostKind.Scripted)
        {
            Received.Add(seg);
            return;
        }
        // net_rx_action(): the segment is received in the softirq; a task it wakes runs after it.
        using (sim.EnterSoftirq()) Receive(seg);
        sim.RecycleSegment(seg); // handled: nothing keeps a received segment (kfree_skb after tcp_v4_rcv())
    }

    /// <summary>
    /// What every datagram is counted before TCP handles it, or leaves it in a socket's backlog: ip_rcv_core() counts the
    /// datagram and its octets (__IP_UPD_PO_STATS(IPSTATS_MIB_IN, skb->len)) and its ECN codepoint (not ECN-capable:
    /// InNoECTPkts), ip_local_deliver_finish() hands it to TCP (InDelivers), tcp_v4_rcv() counts it (InSegs).
    /// </summary>
    internal void CountReceived(Segment seg)
    {
        Count(MibCounter.IpInReceives);
        Count(MibCounter.IpExtInOctets, seg.DatagramLength);
        Count(MibCounter.IpExtInNoECTPkts, seg.GsoSegs); // max(1, gso_segs): a GSO packet from lo counts its segments
        Count(MibCounter.IpInDelivers);
        Count(MibCounter.TcpInSegs);
    }

    /// <summary>
    /// Models tcp_v4_rcv() — net/ipv4/tcp_ipv4.c: one lookup in the established hash (full,
    /// request and timewait sockets), then the listeners, else a reset from the host.
    /// </summary>
    void Receive(Segment seg)
    {
        CountReceived(seg);
        var key = seg.Tuple.Reversed;
        if (Established.TryGetValue(key, out var sk))
        {
            sk.OnSegment(seg);
            return;
        }
        if (Requests.TryGetValue(key, out var req))
        {
            req.OnSegment(seg);
            return;
        }
        if (TimeWaits.TryFind(key, out int tw))
        {
            var verdict = TimeWaits.OnSegment(tw, seg);
            if (verdict is TimeWaitVerdict.Syn)
            {
                // tcp_v4_rcv: TCP_TW_SYN → re-lookup a listener; the bucket is descheduled and the SYN
                // is handled with isn = tw_snd_nxt + 65535 + 2 (tcp_timewait_state_process).
                var listener = FindListener(seg.Destination);
                if (listener is not null)
                {
                    uint isn = TimeWaits[tw].SuccessorIsn;
                    TimeWaits.Kill(tw, "tcp_v4_rcv (TCP_TW_SYN)");
                    listener.OnListenSegment(seg, isn);
                }
                else
                {
                    TimeWaits.SendAck(tw, "tcp_v4_rcv (TCP_TW_SYN, no listener)");
                }
            }
            return;
        }
        ReceiveByListener(seg);
    }

    /// <summary>
    /// tcp_v4_rcv()'s lookup past the established hash: a listener takes the segment, else no_tcp_socket and a reset
    /// from the host. Also where a request whose listener left LISTEN sends its segment after dropping itself
    /// (inet_csk_reqsk_queue_drop_and_put(), goto lookup): a new listener on the port takes it.
    /// </summary>
    internal void ReceiveByListener(Segment seg)
    {
        var l = FindListener(seg.Destination);
        if (l is not null)
        {
            l.OnListenSegment(seg, null);
            return;
        }
        SendResetReply(seg, "tcp_v4_rcv: no socket");
    }

    /// <summary>
    /// __inet_lookup_listener() — net/ipv4/inet_hashtables.c: first the listeners bound to the segment's
    /// destination address (inet_lhash2_lookup() on (daddr, port)), then those bound to INADDR_ANY; in listen()
    /// order within each. A listener on 127.0.0.1:80 does not take a SYN to 10.0.0.1:80.
    /// </summary>
    internal TcpSocket? FindListener(Endpoint local)
    {
        if (!_listeners.TryGetValue(local.Port, out var onPort)) return null;
        foreach (var l in onPort)
            if (l.Local.Address == local.Address) return l;
        foreach (var l in onPort)
            if (l.Local.Address == IPv4.Any) return l;
        return null;
    }

    /// <summary>
    /// __inet_hash() for a listener. With SO_REUSEPORT, inet_reuseport_add_sock(): the group of a listener already on the
    /// same address and port with SO_REUSEPORT (one user here), else a new one (reuseport_alloc()); a listener shut down
    /// before listens again in either the same way (reuseport_resurrect()).
    /// </summary>
    internal void AddListener(TcpSocket sk)
    {
        if (!_listeners.TryGetValue(sk.Local.Port, out var onPort)) _listeners[sk.Local.Port] = onPort = [];
        if (sk.ReusePort)
        {
            var group = onPort.Find(o => o.ReusePort && o.Local.Address == sk.Local.Address)?.Reuseport ?? new ReuseportGroup();
            group.Listening.Add(sk);
            sk.Reuseport = group;
        }
        onPort.Add(sk);
        _listenerCount++;
    }

    /// <summary>
    /// inet_unhash() of a listener. reuseport_stop_listen_sock(): with net.ipv4.tcp_migrate_req the listener leaves its
    /// group's listening section for the closed one, still naming the group (its children and requests may move to
    /// another listener: <see cref="TcpSocket.ReuseportMigrate"/>); without it, reuseport_detach_sock().
    /// </summary>
    internal void RemoveListener(TcpSocket sk)
    {
        if (!_listeners.TryGetValue(sk.Local.Port, out var onPort) || !onPort.Remove(sk)) return;
        _listenerCount--;
        if (onPort.Count == 0) _listeners.Remove(sk.Local.Port);
        if (sk.Reuseport is { } group)
        {
            group.Listening.Remove(sk);
            if (!Sysctls.TcpMigrateReq) sk.Reuseport = null;
        }
    }

    /// <summary>
    /// Models tcp_v4_send_reset() — net/ipv4/tcp_ipv4.c: never in answer to a RST; if the
    /// offending segment had ACK: `R` with seq = its ack; otherwise `R.` with seq 0 and
    /// ack = seq + len (+1 per SYN/FIN).
    /// </summary>
    internal void SendResetReply(Segment offending, string reason)
    {
        if (offending.Has(TcpFlags.Rst)) return;
        var tuple = offending.Tuple.Reversed;
        Segment rst = offending.Has(TcpFlags.Ack)
            ? Sim.NewSegment(tuple, TcpFlags.Rst, offending.Ack, 0, 0, 0, TcpOptions.None)
            : Sim.NewSegment(tuple, TcpFlags.Rst | TcpFlags.Ack, 0, offending.EndSeq, 0, 0, TcpOptions.None);
        Count(MibCounter.TcpOutRsts);
        Transmit(rst, reason);
    }

    /// <param name="seg">The segment.</param>
    /// <param name="reason">The kernel path that sends it (journalled).</param>
    /// <param name="countOutSeg">Count it in TcpOutSegs (new data and control segments; not retransmissions).</param>
    /// <param name="ipDatagram">
    /// The length the IP layer counts for the skb this segment leaves in (OutOctets), or 0 for a later piece of an
    /// skb that software GSO cut up after the IP layer counted it whole; -1 (default): the segment's own.
    /// </param>
    internal void Transmit(Segment seg, string reason, bool countOutSeg = true, long ipDatagram = -1)
    {
        if (countOutSeg) Count(MibCounter.TcpOutSegs, seg.GsoSegs); // __tcp_transmit_skb(): tcp_skb_pcount(skb)
        // __ip_local_out() counts OutRequests and ip_finish_output2() OutTransmits: one each per skb, retransmissions
        // included; ip_output() adds the datagram's length to OutOctets (IP_UPD_PO_STATS(IPSTATS_MIB_OUT, skb->len)).
        if (ipDatagram != 0)
        {
            Count(MibCounter.IpOutRequests);
            Count(MibCounter.IpOutTransmits);
            Count(MibCounter.IpExtOutOctets, ipDatagram > 0 ? ipDatagram : seg.DatagramLength);
        }
        Sim.Transmit(this, seg, reason);
    }

    /// <summary>The reason journaled for a segment a scripted host injects.</summary>
    public const string InjectReason = "inject";

    /// <summary>Sends a segment a scripted host was told to send (an `inject` step).</summary>
    public DomainError? Inject(Segment seg)
    {
        if (Kind != HostKind.Scripted) return DomainError.Invalid($"host '{Name}' is not scripted", "from");
        Sim.Transmit(this, seg, InjectReason);
        return null;
    }

    /// <summary>The initial sequence number a scripted host saw from its peer on this connection (the latest SYN received on the tuple).</summary>
    public uint? PeerIsn(FourTuple local)
    {
        for (int i = Received.Count - 1; i >= 0; i--)
        {
            var s = Received[i];
            if (s.Tuple.Reversed == local && s.Has(TcpFlags.Syn)) return s.Seq;
        }
        return null;
    }

    /// <summary>The TSval of the latest segment with a timestamp this scripted host received on the connection (what an "echo" TSecr echoes).</summary>
    public uint? LastTsVal(FourTuple local)
    {
        for (int i = Received.Count - 1; i >= 0; i--)
        {
            var s = Received[i];
            if (s.Tuple.Reversed == local && s.Options.HasTimestamp) return s.Options.TsVal;
        }
        return null;
    }

    // ---- socket lifecycle bookkeeping -----------------------------------------------------

    /// <summary>
    /// Models sk_prot_alloc() — net/core/sock.c: a socket object from the host's free list (tcp_prot.slab's freed objects,
    /// TcpSocket.Slab.cs) when one is there and was freed before the current event began, else a new one.
    /// </summary>
    internal TcpSocket NewSocket()
    {
        TcpSocket sk;
        if (_freeSockets.Count > 0 && _freeSockets.Peek().FreedAtEvent < Sim.EventsProcessed)
        {
            sk = _freeSockets.Pop().Socket;
            sk.Reuse(Sim.NextSocketId());
        }
        else sk = new TcpSocket(this, Sim.NextSocketId());
        sk.HostSlot = _sockets.Add(sk);
        if (sk.HasDataPath) SocketsWithDataPath++; // an object from the free list keeps its data path (TcpSocket.Slab.cs)
        Sim.Register(sk);
        Sim.SocketAllocated(+1);
        return sk;
    }

    /// <summary>Models sk_free(): the socket is no longer allocated (the set's last socket takes its slot).</summary>
    internal void Free(TcpSocket sk)
    {
        // A socket freed twice would move another socket out of its slot: refuse it (a slot names one socket only).
        if (!ReferenceEquals(_sockets[sk.HostSlot], sk)) throw new InvalidOperationException($"socket {sk.Id} is not allocated on {Name}");
        if (_sockets.RemoveAt(sk.HostSlot) is { } moved) moved.HostSlot = sk.HostSlot;
        sk.HostSlot = -1;
        if (sk.HasDataPath) SocketsWithDataPath--;
        Sim.SocketAllocated(-1);
    }

    /// <summary>
    /// Destroyed sockets nothing reaches any more, for <see cref="NewSocket"/> (the most recently freed on top), each with
    /// the event during which it was destroyed: it is not handed out again before that event ends. The event is the free
    /// list's, not a field of every socket.
    /// </summary>
    readonly Stack<(TcpSocket Socket, long FreedAtEvent)> _freeSockets = new();
    /// <summary>Sockets kept on the free list at most: a pool of 100,000 closed at once does not stay behind.</summary>
    const int FreeSocketsKept = 1024;

    /// <summary>Dropped request sockets nothing names any more, for <see cref="RequestSocket.Alloc"/>.</summary>
    readonly Stack<RequestSocket> _freeRequests = new();

    /// <summary>reqsk_free(): kmem_cache_free(req->rsk_ops->slab, req), at most <see cref="FreeSocketsKept"/> kept.</summary>
    internal void FreeRequest(RequestSocket req)
    {
        if (_freeRequests.Count < FreeSocketsKept) _freeRequests.Push(req);
    }

    /// <summary>A request socket freed before the current event began, or null.</summary>
    internal RequestSocket? TakeFreeRequest() =>
        _freeRequests.Count > 0 && _freeRequests.Peek().FreedAtEvent < Sim.EventsProcessed ? _freeRequests.Pop() : null;

    /// <summary>Models sk_prot_free() — net/core/sock.c: kmem_cache_free(prot->slab, sk), bounded as a slab cache's free objects are by its shrinker.</summary>
    internal void FreeSocket(TcpSocket sk)
    {
        if (_freeSockets.Count < FreeSocketsKept) _freeSockets.Push((sk, Sim.EventsProcessed));
    }

    /// <summary>Every row `ss -tan` would print for this host: listeners, full sockets, request and timewait sockets.</summary>
    public IEnumerable<object> Rows()
    {
        foreach (var sk in AllSockets)
            if (sk.IsHashed) yield return sk;
        foreach (var r in Requests.Values) yield return r;
        foreach (var tw in TimeWaitSockets) yield return tw;
    }
}
