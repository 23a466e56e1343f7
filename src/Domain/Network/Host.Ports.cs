using System.Runtime.CompilerServices;
using SimService.Domain.Engine;
using SimService.Domain.Tcp;

namespace SimService.Domain.Network;

/// <summary>Anything that holds a local port in the bind hash: a full socket or a timewait socket.</summary>
public interface IBindOwner
{
    Endpoint Local { get; }
    bool ReuseAddr { get; }
    bool ReusePort { get; }
    bool IsListener { get; }
    /// <summary>inet_rcv_saddr: the local address the owner is bound to (INADDR_ANY for a wildcard bind).</summary>
    IPv4 RcvSaddr { get; }
    /// <summary>A hash that is cheap and fixed for the owner's life (its socket id), for the bucket's owner set.</summary>
    int BindHash { get; }
    /// <summary>SOCK_CONNECT_BIND in sk_userlocks (tw_connect_bind for a timewait socket): the port came from connect()'s autobind.</summary>
    bool ConnectBind { get; }
}

/// <summary>An owner as a key of its bucket's set: compared by reference, hashed by <see cref="IBindOwner.BindHash"/> (RuntimeHelpers.GetHashCode costs a header write per new object).</summary>
internal readonly record struct BindOwnerKey(IBindOwner Owner)
{
    public bool Equals(BindOwnerKey other) => ReferenceEquals(Owner, other.Owner);
    public override int GetHashCode() => Owner.BindHash;
}

/// <summary>
/// inet_bind_bucket: the owners of one local port (the kernel's owners hlist); <see cref="ByConnect"/> is
/// fastreuse == fastreuseport == -1, the state in which connect() may share the port. O(1) to add and remove; conflicts are order-free; the owners are enumerated in a
/// fixed order all the same (the inline places, then the set's insertion order: BindBucketTests). Most ports have one or two owners (an ephemeral port: its connection, its TIME-WAIT, and
/// for a moment the connection that reuses it), held inline; a hash set is made when a third owner comes (a
/// listener's port and its children). A bucket lives as long as its port's TIME-WAIT, so a set per ephemeral
/// port was most of what a churn kept alive. A struct, the value of its port in the host's table: no object per
/// port for the collector to copy (an ephemeral port's bucket lives as long as its TIME-WAIT).
/// </summary>
internal struct BindBucket(ushort port, bool byConnect)
{
    public readonly ushort Port => port;

    /// <summary>fastreuse == fastreuseport == -1: connect() made the bucket (or got it back), so it may share the port; no fast SO_REUSEPORT match then.</summary>
    public bool ByConnect
    {
        readonly get => _byConnect;
        set
        {
            _byConnect = value;
            if (value) _fastReusePort = false;
        }
    }
    bool _byConnect = byConnect;

    /// <summary>
    /// fastreuseport &gt; 0 — FASTREUSEPORT_STRICT, with fast_rcv_saddr (<see cref="_fastRcvSaddr"/>): the last socket to
    /// join through inet_csk_get_port() had SO_REUSEPORT. Linux 6.18 never sets FASTREUSEPORT_ANY (nor fastreuse 1):
    /// inet_csk_update_fastreuse() finds tb->bhash2 already holding the new socket's bind2 bucket, so it always takes
    /// its "not the first owner" branch.
    /// </summary>
    bool _fastReusePort;
    uint _fastRcvSaddr;

    /// <summary>
    /// sk_reuseport_match() — net/ipv4/inet_connection_sock.c: fastreuseport &gt; 0, the socket has SO_REUSEPORT and
    /// no reuseport group yet (sk_reuseport_cb), the same user (one here), and fast_rcv_saddr is its address or
    /// INADDR_ANY (ipv4_rcv_saddr_equal(match_sk1_wildcard = true, match_sk2_wildcard = false)). inet_csk_get_port()
    /// then skips the conflict walk over the owners: one that set SO_REUSEADDR alone, or cleared SO_REUSEPORT after its
    /// bind(), does not stop the port being shared (observed on Linux 6.18.44).
    /// </summary>
    public readonly bool ReusePortMatch(TcpSocket sk) =>
        _fastReusePort && sk.ReusePort && sk.Reuseport is null && (_fastRcvSaddr == 0 || _fastRcvSaddr == sk.RcvSaddr.Value);

    /// <summary>
    /// inet_csk_update_fastreuse() after inet_csk_get_port() gave the socket the port (bind(), bind(0), listen()):
    /// fastreuseport becomes 0 for a socket without SO_REUSEPORT, and FASTREUSEPORT_STRICT with its address for one
    /// with it that did not match; either way ≥ 0, so connect()'s ephemeral search skips the port from now on.
    /// </summary>
    public void UpdateFastReuse(TcpSocket sk)
    {
        bool match = ReusePortMatch(sk);
        ByConnect = false;
        if (!sk.ReusePort) _fastReusePort = false;
        else if (!match)
        {
            _fastReusePort = true;
            _fastRcvSaddr = sk.RcvSaddr.Value;
        }
    }

    /// <summary>Every owner got the port from connect() (sk_is_connect_bind()); false for an empty bucket.</summary>
    public readonly bool AllConnectBind(TimeWaitTable timeWaits)
    {
        if (Count == 0) return false;
        foreach (var o in this) if (!o.ConnectBind) return false;
        foreach (int tw in TimeWaitSlots) if (!timeWaits[tw].ConnectBind) return false;
        return true;
    }
    IBindOwner? _first, _second;
    /// <summary>
    /// The owners once a third comes: a listener's port holds every child it accepted (W6's server, 100,000), so the set
    /// is paged (<see cref="PagedMap{TKey, TValue}"/>) and grows without reallocating a large array.
    /// </summary>
    PagedMap<BindOwnerKey, bool>? _many;

    /// <summary>Full sockets and timewait sockets holding the port.</summary>
    public readonly int Count => SocketCount + TimeWaitCount;

    readonly int SocketCount => _many?.Count ?? (_first is null ? 0 : 1) + (_second is null ? 0 : 1);

    /// <summary>The timewait sockets holding the port, by their slot in the host's <see cref="TimeWaitTable"/> (entries are structs, not owners).</summary>
    public SlotSet TimeWaitSlots;

    public readonly int TimeWaitCount => TimeWaitSlots.Count;
    /// <summary>inet_twsk_hashdance_schedule()'s inet_bind_hash() / inet_twsk_bind_unhash() for a timewait socket's slot.</summary>
    public void AddTimeWait(int slot) => TimeWaitSlots.Add(slot);
    public bool RemoveTimeWait(int slot) => TimeWaitSlots.Remove(slot);

    public void Add(IBindOwner owner)
    {
        if (_many is not null) _many[new BindOwnerKey(owner)] = true;
        else if (ReferenceEquals(_first, owner) || ReferenceEquals(_second, owner)) return;
        else if (_first is null) _first = owner;
        else if (_second is null) _second = owner;
        else
        {
            _many = new PagedMap<BindOwnerKey, bool>();
            _many[new BindOwnerKey(_first)] = _many[new BindOwnerKey(_second)] = _many[new BindOwnerKey(owner)] = true;
            _first = _second = null;
        }
    }

    public bool Remove(IBindOwner owner)
    {
        if (_many is not null) return _many.Remove(new BindOwnerKey(owner));
        if (ReferenceEquals(_first, owner)) _first = null;
        else if (ReferenceEquals(_second, owner)) _second = null;
        else return false;
        return true;
    }

    public readonly Enumerator GetEnumerator() => new(this);

    /// <summary>Walks the inline owners or the set, without allocating.</summary>
    public struct Enumerator(BindBucket bucket)
    {
        PagedMap<BindOwnerKey, bool>.KeyEnumerator _set = bucket._many?.Keys ?? default;
        int _slot;

        public IBindOwner Current { get; private set; } = null!;

        public bool MoveNext()
        {
            if (bucket._many is not null)
            {
                if (!_set.MoveNext()) return false;
                Current = _set.Current.Owner;
                return true;
            }
            while (_slot < 2)
            {
                var owner = _slot++ == 0 ? bucket._first : bucket._second;
                if (owner is null) continue;
                Current = owner;
                return true;
            }
            return false;
        }
    }
}

/// <summary>
/// A set of slot numbers: two inline, a hash set beyond (a listener's port holds every TIME-WAIT its server closed
/// first: O(1) removal); order-free, like the bucket's owners.
/// </summary>
internal struct SlotSet
{
    int _a, _b; // slot + 1; 0 is empty
    HashSet<int>? _more;

    public readonly int Count => (_a != 0 ? 1 : 0) + (_b != 0 ? 1 : 0) + (_more?.Count ?? 0);

    public void Add(int slot)
    {
        if (_a == 0) _a = slot + 1;
        else if (_b == 0) _b = slot + 1;
        else (_more ??= []).Add(slot);
    }

    public bool Remove(int slot)
    {
        if (_a == slot + 1) _a = 0;
        else if (_b == slot + 1) _b = 0;
        else if (_more is not null && _more.Remove(slot)) { }
        else return false;
        return true;
    }

    public readonly Enumerator GetEnumerator() => new(this);

    public struct Enumerator(SlotSet set)
    {
        int _i = -1;
        HashSet<int>.Enumerator _rest = set._more?.GetEnumerator() ?? default;

        public int Current { get; private set; }

        public bool MoveNext()
        {
            while (++_i < 2)
            {
                int v = _i == 0 ? set._a - 1 : set._b - 1;
                if (v < 0) continue;
                Current = v;
                return true;
            }
            if (set._more is null || !_rest.MoveNext()) return false;
            Current = _rest.Current;
            return true;
        }
    }
}

public sealed partial class Host
{
    const int TablePerturbSize = 1 << 16;
    readonly PagedMap<ushort, BindBucket> _bindBuckets = new();
    /// <summary>
    /// table_perturb[]: INET_TABLE_PERTURB_SIZE random u32s, drawn at the host's first connect() autobind (the kernel
    /// fills it once, at boot, for the whole machine — net/ipv4/inet_hashtables.c inet_hashinfo2_init()). Only the
    /// entries a connect() touched are held (<see cref="_perturbTouched"/>); the others are read back from the
    /// generator's draws (<see cref="Pcg32.Skip"/>), so a host that connects a few times holds a few entries, not the
    /// 256 KB array every host — a generated workload client too — once took.
    /// </summary>
    Pcg32.Draws _perturbDraws;
    Dictionary<int, uint>? _perturbTouched;
    /// <summary>The whole table, once so many entries were touched that the array is the smaller.</summary>
    uint[]? _tablePerturb;

    uint TablePerturb(int index) =>
        _tablePerturb is { } table ? table[index]
        : _perturbTouched!.TryGetValue(index, out var v) ? v : _perturbDraws[(ulong)index];

    void SetTablePerturb(int index, uint value)
    {
        if (_tablePerturb is { } table) { table[index] = value; return; }
        _perturbTouched![index] = value;
        if (_perturbTouched.Count < TablePerturbSize / 16) return; // a dictionary entry costs ≈ 16× an array slot
        table = new uint[TablePerturbSize];
        for (int i = 0; i < table.Length; i++) table[i] = TablePerturb(i);
        _tablePerturb = table;
        _perturbTouched = null;
    }

    internal bool IsReserved(int port) => Sysctls.IsReservedPort(port);

    bool _portRangeParityWarned;

    /// <summary>
    /// set_local_port_range() — net/ipv4/sysctl_net_ipv4.c (4.6+): connect() takes one parity and bind() the other,
    /// so a range whose ends have the same parity is logged, once per network namespace (ip_local_ports.warned).
    /// </summary>
    internal void WarnPortRangeParity()
    {
        if (Sim.Profile != KernelProfile.Linux6 || _portRangeParityWarned || ((Sysctls.PortRangeLow ^ Sysctls.PortRangeHigh) & 1) != 0) return;
        _portRangeParityWarned = true;
        Log("ip_local_port_range: prefer different parity for start/end values.");
    }

    /// <summary>
    /// inet_bind_hash(): the owner joins the port's bucket, made on first use (inet_bind_bucket_create(); a bucket
    /// connect() made is fastreuse = fastreuseport = -1, __inet_hash_connect()). The state of an existing bucket is
    /// left as it is: a connect() only joins a -1 bucket, a timewait socket takes its full socket's place
    /// (inet_twsk_hashdance_schedule()) and an accepted child its listener's port (__inet_inherit_port()).
    /// </summary>
    internal ref BindBucket AddBindOwner(ushort port, IBindOwner owner)
    {
        ref var b = ref _bindBuckets.GetValueRefOrAddDefault(port, out bool exists);
        if (!exists) b = new BindBucket(port, owner.ConnectBind);
        b.Add(owner);
        return ref b;
    }

    /// <summary>
    /// inet_csk_get_port()'s success path for bind(): the socket joins the port and inet_csk_update_fastreuse()
    /// leaves fastreuseport ≥ 0 (0, or FASTREUSEPORT_ANY/STRICT with SO_REUSEPORT), so connect()'s ephemeral
    /// search skips the port from now on ("if (tb->fastreuse >= 0 || tb->fastreuseport >= 0) goto next_port").
    /// </summary>
    void BindOwnPort(TcpSocket sk, ushort port)
    {
        sk.Local = new Endpoint(LocalAddressOf(sk), port);
        AddBindOwner(port, sk).UpdateFastReuse(sk);
        sk.BoundPort = true;
    }

    /// <summary>
    /// inet_put_port() / inet_twsk_bind_unhash(): releases the port when its last owner goes. Linux 6.18
    /// (d57f4b874946, "tcp: Update bind bucket state on port release") then re-derives the bucket's state:
    /// inet_bind2_bucket_destroy() and inet_bind_bucket_destroy() set fastreuse = fastreuseport = -1 again when
    /// every owner left got its port from connect() (sk_is_connect_bind()), so connect() may share it again.
    /// linux-4.4 keeps the state until the bucket is freed.
    /// </summary>
    internal void RemoveBindOwner(ushort port, IBindOwner owner)
    {
        ref var b = ref _bindBuckets.GetValueRefOrNullRef(port);
        if (Unsafe.IsNullRef(ref b)) return;
        b.Remove(owner);
        BindOwnerLeft(port, ref b);
    }

    /// <summary>Starts loading <paramref name="port"/>'s bind-bucket chain head, or with <paramref name="first"/> its first entry (<see cref="PagedMap{TKey, TValue}.PrefetchFirst"/>).</summary>
    internal void PrefetchBindBucket(ushort port, bool first)
    {
        if (first) _bindBuckets.PrefetchFirst(port);
        else _bindBuckets.PrefetchHead(port);
    }

    /// <summary>inet_twsk_hashdance_schedule()'s inet_bind_hash(): a timewait socket (its slot) joins the port's bucket.</summary>
    internal void AddBindOwner(ushort port, int timeWaitSlot)
    {
        ref var b = ref _bindBuckets.GetValueRefOrAddDefault(port, out bool exists);
        if (!exists) b = new BindBucket(port, TimeWaits[timeWaitSlot].ConnectBind);
        b.AddTimeWait(timeWaitSlot);
    }

    /// <summary>inet_twsk_bind_unhash(): the timewait socket leaves its port (see <see cref="RemoveBindOwner(ushort, IBindOwner)"/>).</summary>
    internal void RemoveBindOwner(ushort port, int timeWaitSlot)
    {
        ref var b = ref _bindBuckets.GetValueRefOrNullRef(port);
        if (Unsafe.IsNullRef(ref b)) return;
        b.RemoveTimeWait(timeWaitSlot);
        BindOwnerLeft(port, ref b);
    }

    void BindOwnerLeft(ushort port, ref BindBucket b)
    {
        if (b.Count == 0) _bindBuckets.Remove(port);
        else if (!b.ByConnect && Sim.Profile == KernelProfile.Linux6 && b.AllConnectBind(TimeWaits)) b.ByConnect = true;
    }

    /// <summary>
    /// Models inet_csk_bind_conflict() — net/ipv4/inet_connection_sock.c: a port conflicts with
    /// an owner unless both set SO_REUSEADDR and the owner is not listening, or both set
    /// SO_REUSEPORT. A timewait owner carries the closed socket's SO_REUSEADDR (tw_reuse).
    /// </summary>
    bool BindConflict(in BindBucket bucket, IBindOwner sk, bool relax)
    {
        foreach (var o in bucket) // a loop, not Any(lambda): no closure per bind
        {
            if (!ReferenceEquals(o, sk)
                && !(sk.ReuseAddr && o.ReuseAddr && !o.IsListener && (relax || !sk.IsListener))
                && !(sk.ReusePort && o.ReusePort)
                && RcvSaddrEqual(sk, o))
                return true;
        }
        foreach (int slot in bucket.TimeWaitSlots) // a timewait owner is never listening
        {
            ref var tw = ref TimeWaits[slot];
            if (!(sk.ReuseAddr && tw.ReuseAddr && (relax || !sk.IsListener))
                && !(sk.ReusePort && tw.ReusePort)
                && RcvSaddrEqual(sk.RcvSaddr, tw.Tuple.Local.Address))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Models inet_rcv_saddr_equal(sk, sk2, match_wildcard = true) — net/ipv4/inet_connection_sock.c
    /// (ipv4_rcv_saddr_equal()): the same address, or either side bound to INADDR_ANY. Two different
    /// specific addresses (10.0.0.1 and 127.0.0.1) never conflict; 0.0.0.0 conflicts with every address.
    /// </summary>
    static bool RcvSaddrEqual(IBindOwner a, IBindOwner b) => RcvSaddrEqual(a.RcvSaddr, b.RcvSaddr);

    /// <summary>The same for two addresses (a timewait socket's is tw_rcv_saddr, its connection's local address).</summary>
    static bool RcvSaddrEqual(IPv4 a, IPv4 b) => a == b || a == IPv4.Any || b == IPv4.Any;

    /// <summary>
    /// Models inet_csk_listen_start() → inet_csk_get_port() — net/ipv4/inet_connection_sock.c — for a
    /// socket already bound: the state is TCP_LISTEN when the port is re-checked, so the fastreuse
    /// shortcut is off ("sk_reuse &amp;&amp; sk_state != TCP_LISTEN"); unless sk_reuseport_match() lets a
    /// SO_REUSEPORT socket through at once, every other owner of the port
    /// goes through inet_bind_conflict() with relax and reuseport_ok: established connections
    /// (the listener's own accepted children included), timewait entries and bound sockets all
    /// count. SO_REUSEADDR (sk_reuse, read now, at listen time) excuses an owner only when both set
    /// it and the owner is not listening; SO_REUSEPORT when both set it (one user, so the uid
    /// check always holds). True when the port may be listened on; inet_csk_update_fastreuse() then records the listener.
    /// </summary>
    internal bool ListenPortFree(TcpSocket sk)
    {
        ref var bucket = ref _bindBuckets.GetValueRefOrNullRef(sk.Local.Port);
        if (Unsafe.IsNullRef(ref bucket)) return true;
        if (!FastReusePortMatch(in bucket, sk) && ListenConflict(in bucket, sk)) return false;
        bucket.UpdateFastReuse(sk);
        return true;
    }

    /// <summary>
    /// inet_csk_get_port()'s fast path for a port with owners: sk_reuseport_match() (<see cref="BindBucket.ReusePortMatch"/>)
    /// succeeds without the conflict walk. linux-4.4's own fast path (fastreuseport set by the first owner, kept while
    /// every joiner has SO_REUSEPORT) is not modelled: the profile walks the owners.
    /// </summary>
    bool FastReusePortMatch(in BindBucket bucket, TcpSocket sk) => Sim.Profile == KernelProfile.Linux6 && bucket.ReusePortMatch(sk);

    /// <summary>The conflict walk of <see cref="ListenPortFree"/>: an owner of the port keeps a listener off it.</summary>
    bool ListenConflict(in BindBucket bucket, TcpSocket sk)
    {
        foreach (var o in bucket)
        {
            if (!ReferenceEquals(o, sk)
                && !(sk.ReuseAddr && o.ReuseAddr && !o.IsListener)
                && !(sk.ReusePort && o.ReusePort)
                && RcvSaddrEqual(sk, o))
                return true;
        }
        foreach (int slot in bucket.TimeWaitSlots)
        {
            ref var tw = ref TimeWaits[slot];
            if (!(sk.ReuseAddr && tw.ReuseAddr)
                && !(sk.ReusePort && tw.ReusePort)
                && RcvSaddrEqual(sk.RcvSaddr, tw.Tuple.Local.Address))
                return true;
        }
        return false;
    }

    /// <summary>Models inet_csk_get_port() for an explicit port: 0 or EADDRINUSE.</summary>
    internal string? BindExplicit(TcpSocket sk, ushort port)
    {
        if (_bindBuckets.TryGetValue(port, out var bucket) && !FastReusePortMatch(in bucket, sk) && BindConflict(bucket, sk, relax: true))
            return Errno.EADDRINUSE;
        BindOwnPort(sk, port);
        return null;
    }

    /// <summary>
    /// Whether bind() of a new socket to INADDR_ANY:<paramref name="port"/> (SO_REUSEADDR as given, no SO_REUSEPORT)
    /// would fail with EADDRINUSE — <see cref="BindExplicit"/>'s rule (inet_csk_bind_conflict()), asked without making
    /// the socket, so a caller can refuse before it changes anything.
    /// </summary>
    internal bool WildcardBindConflicts(ushort port, bool reuseAddr) =>
        _bindBuckets.TryGetValue(port, out var bucket) && BindConflict(bucket, new BindProbe(port, reuseAddr), relax: true);

    /// <summary>A socket about to bind INADDR_ANY:port, as inet_csk_bind_conflict() sees it: not listening, owning nothing yet.</summary>
    sealed record BindProbe(ushort Port, bool ReuseAddr) : IBindOwner
    {
        public Endpoint Local => new(IPv4.Any, Port);
        public bool ReusePort => false;
        public bool IsListener => false;
        public IPv4 RcvSaddr => IPv4.Any;
        public int BindHash => 0;
        public bool ConnectBind => false;
    }

    /// <summary>
    /// Models inet_csk_find_open_port() — net/ipv4/inet_connection_sock.c, the bind(0)/listen() autobind:
    /// over the socket's range, ports of the parity opposite to the range's low end first ("offset |= 1":
    /// connect() takes the other half), from a random offset, in steps of 2, then the other parity; with
    /// IP_LOCAL_PORT_RANGE set (inet_sk_get_local_port_range() true, 6.12's "tcp: change source port selection
    /// at bind() time") one pass in steps of 1 from the random offset. A socket with SO_REUSEADDR (sk_reuse ==
    /// SK_CAN_REUSE) scans the lower half [low, half) first and then the upper half [half, high), half = low +
    /// ((high − low) / 4) · 2 — unless the range has fewer than 4 ports. A port is taken when no owner with an
    /// equal address conflicts (inet_csk_bind_conflict(relax = false): every such owner does). Only when the
    /// whole range failed does ip_autobind_reuse rescan with relax = true (owners that set SO_REUSEADDR too
    /// and are not listening are excused). EADDRINUSE when nothing is found.
    /// </summary>
    internal string? BindEphemeral(TcpSocket sk)
    {
        for (int relaxPass = 0; relaxPass < (Sysctls.IpAutobindReuse ? 2 : 1); relaxPass++)
        {
            bool relax = relaxPass == 1;
            int attemptHalf = sk.ReuseAddr ? 1 : 0;
            while (true)
            {
                bool localPorts = LocalPortRange(sk, out int low, out int high);
                int step = localPorts ? 1 : 2;
                high++; // [32768, 60999] -> [32768, 61000[
                if (high - low < 4) attemptHalf = 0;
                if (attemptHalf != 0)
                {
                    int half = low + (((high - low) >> 2) << 1);
                    if (attemptHalf == 1) high = half;
                    else low = half;
                }
                uint remaining = (uint)(high - low);
                if (!localPorts && remaining > 1) remaining &= ~1u;
                uint offset = Sim.Rng.NextBelow(remaining);
                if (!localPorts) offset |= 1u; // the odd offsets first
                while (true)
                {
                    int port = low + (int)offset;
                    for (int i = 0; i < remaining; i += step, port += step)
                    {
                        if (port >= high) port -= (int)remaining;
                        if (IsReserved(port)) continue;
                        if (_bindBuckets.TryGetValue((ushort)port, out var bucket) && AutobindConflict(bucket, sk, relax)) continue;
                        BindOwnPort(sk, (ushort)port);
                        return null;
                    }
                    if (localPorts) break;
                    offset--;
                    if ((offset & 1) != 0) break; // other_parity_scan once
                }
                if (attemptHalf != 1) break;
                attemptHalf = 2; // "OK we now try the upper half of the range"
            }
        }
        return Errno.EADDRINUSE;
    }

    /// <summary>
    /// inet_csk_bind_conflict(sk, tb, tb2, relax, reuseport_ok = false) as inet_csk_find_open_port() calls it:
    /// an owner with an equal address (inet_rcv_saddr_equal()) conflicts — with relax, unless both set
    /// SO_REUSEADDR and the owner is not listening, and not both SO_REUSEPORT ("sk2->sk_state == TCP_TIME_WAIT ||
    /// uid_eq()": one user, so that holds for every owner).
    /// </summary>
    bool AutobindConflict(in BindBucket bucket, TcpSocket sk, bool relax)
    {
        foreach (var o in bucket)
        {
            if (!ReferenceEquals(o, sk)
                && RcvSaddrEqual(sk, o)
                && !(relax && sk.ReuseAddr && o.ReuseAddr && !o.IsListener && !(sk.ReusePort && o.ReusePort)))
                return true;
        }
        foreach (int slot in bucket.TimeWaitSlots)
        {
            ref var tw = ref TimeWaits[slot];
            if (RcvSaddrEqual(sk.RcvSaddr, tw.Tuple.Local.Address)
                && !(relax && sk.ReuseAddr && tw.ReuseAddr && !(sk.ReusePort && tw.ReusePort)))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Models inet_sk_get_local_port_range() — net/ipv4/inet_connection_sock.c (6.3+): the netns
    /// ip_local_port_range, narrowed by the socket's IP_LOCAL_PORT_RANGE — each end of it replaces the netns
    /// end only when it lies inside the netns range (so 0, or a value outside, keeps the netns end; a range
    /// that does not intersect falls back to the netns range). True when the option is set: the callers
    /// then scan every port with step 1 instead of splitting by parity.
    /// </summary>
    internal bool LocalPortRange(TcpSocket sk, out int low, out int high)
    {
        low = Sysctls.PortRangeLow;
        high = Sysctls.PortRangeHigh;
        uint range = sk.LocalPortRangeOption;
        if (range == 0) return false;
        int skLo = (int)(range & 0xffff), skHi = (int)(range >> 16);
        if (low <= skLo && skLo <= high) low = skLo;
        if (low <= skHi && skHi <= high) high = skHi;
        return true;
    }

    /// <summary>
    /// Models __inet_hash_connect() — net/ipv4/inet_hashtables.c: the ephemeral port for
    /// connect(). The scan starts at a keyed hash of (saddr, daddr, dport) plus a perturbation
    /// table entry, first over ports with the parity of the range's low end, then the others;
    /// it skips reserved ports and ports held by bind(); a port is taken when the 4-tuple is
    /// unique (a timewait socket may be reused, §6.7). EADDRNOTAVAIL when none is.
    /// </summary>
    internal string? ConnectAutobind(TcpSocket sk, IPv4 saddr, Endpoint remote)
    {
        if (Sim.Profile == KernelProfile.Linux44) return ConnectAutobind44(sk, saddr, remote);
        var held = _connectHeld?.GetValueOrDefault((saddr, remote))?.Bits;
        int keepHeldAt = ConnectHeldAfterProbes; // past it, one look a search for the destination's held ports
        // tcp_twsk_unique() with twp: a timewait socket of a timestamped connection is taken over only when tcp_tw_reuse
        // allows it for this pair of addresses (after a delay); where it does not, it holds its port like one without.
        bool timeWaitsHold = TwReuse(saddr, remote.Address, finWait2: false) == 0;
        if (_perturbTouched is null && _tablePerturb is null)
        {
            _perturbDraws = ((Pcg32)Sim.Rng).Skip(TablePerturbSize);
            _perturbTouched = [];
        }
        // inet_sk_get_local_port_range(): IP_LOCAL_PORT_RANGE makes the search one pass over every port (step 1).
        bool localPorts = LocalPortRange(sk, out int low, out int high);
        int stride = localPorts ? 1 : 2;
        high++;
        uint remaining = (uint)(high - low);
        if (!localPorts && remaining > 1) remaining &= ~1u;
        // inet_sk_port_offset(): secure_ipv4_port_ephemeral(inet_rcv_saddr, daddr, dport) — the source chosen by the route.
        ulong portOffset = KeyedHash.Of(Sim.PortSecret, saddr.Value, remote.Address.Value, remote.Port);
        int index = (int)(portOffset & (TablePerturbSize - 1));
        uint offset = unchecked(TablePerturb(index) + (uint)(portOffset >> 32)) % remaining;
        if (!localPorts) offset &= ~1u;
        while (true)
        {
            int port = low + (int)offset;
            for (int i = 0; i < remaining; i += stride, port += stride)
            {
                if (port >= high) port -= (int)remaining;
                if (held is null && i >= keepHeldAt)
                {
                    keepHeldAt = int.MaxValue;
                    held = ConnectHeldTo(saddr, remote);
                }
                if (held is not null)
                {
                    int word = port >> 6;
                    ulong taken = held[word] | held[HeldTimeWait + word] | (timeWaitsHold ? held[HeldTimeWaitTs + word] : 0);
                    if ((taken & (1UL << port)) != 0)
                    {
                        // The rest of the word's ports on this pass held too: passed over at once (as many steps as ports).
                        int end = Math.Min((word + 1) << 6, high);
                        ulong mask = (~0UL << port) & (end == (word + 1) << 6 ? ~0UL : (1UL << end) - 1);
                        if (stride == 2) mask &= (port & 1) == 0 ? 0x5555_5555_5555_5555UL : 0xAAAA_AAAA_AAAA_AAAAUL;
                        if ((taken & mask) == mask)
                        {
                            int steps = (end - port + stride - 1) / stride - 1;
                            i += steps * stride;
                            port += steps * stride;
                        }
                        continue;
                    }
                }
                if (!TryConnectPort(sk, saddr, remote, port)) continue;
                // Add a little randomness to the next search (max of scan length and a random step).
                int step = Math.Max(i, (int)Sim.Rng.NextBelow(8) * stride);
                SetTablePerturb(index, unchecked(TablePerturb(index) + (uint)(step + stride)));
                // The next connect() from this address to this destination starts where the perturbation now points: its
                // port's chain heads start loading now, long before that search reads them (a hint: nothing is read).
                uint next = unchecked(TablePerturb(index) + (uint)(portOffset >> 32)) % remaining;
                if (!localPorts) next &= ~1u;
                PrefetchConnectPort(saddr, remote, (ushort)(low + (int)next));
                return null;
            }
            if (localPorts) return Errno.EADDRNOTAVAIL;
            offset++;
            if ((offset & 1) == 0 || remaining <= 1) return Errno.EADDRNOTAVAIL;
        }
    }

    /// <summary>
    /// One port of __inet_hash_connect()'s search: a reserved port is passed over; a port whose bind bucket is not
    /// connect()'s (fastreuse or fastreuseport ≥ 0) or whose 4-tuple check_established() finds taken is next_port;
    /// otherwise the socket takes it (a new bucket is connect()'s: fastreuse = fastreuseport = -1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool TryConnectPort(TcpSocket sk, IPv4 saddr, Endpoint remote, int port)
    {
        if (IsReserved(port)) return false;
        ConnectPortProbes++;
        var p = (ushort)port;
        var tuple = new FourTuple(new Endpoint(saddr, p), remote);
        // The port's bind bucket and its 4-tuple's timewait socket were last touched long ago (a churn's port comes round
        // again after thousands of connections): their chains' heads are asked for together (already on their way when
        // the last search foresaw this port), then their first entries, so the two lookups wait for memory at most twice,
        // not four times (Paging.Prefetch). Nothing is read that the lookups below would not read, and they decide alone.
        PrefetchConnectPort(tuple);
        _bindBuckets.PrefetchFirst(p);
        TimeWaits.PrefetchFirst(tuple);
        // The bucket is read in place (inet_bind_bucket's fastreuse): a copy would read all of its bytes, a cache
        // line more when the port's bucket was last touched long ago.
        ref var bucket = ref _bindBuckets.GetValueRefOrNullRef(p);
        if (!Unsafe.IsNullRef(ref bucket))
        {
            if (!bucket.ByConnect) return false;
            if (!CheckEstablished(sk, tuple, allowTwReuseDelay: true)) return false;
        }
        sk.Local = new Endpoint(saddr, p);
        sk.ConnectBind = true; // sk->sk_userlocks |= SOCK_CONNECT_BIND
        AddBindOwner(p, sk);
        return true;
    }

    /// <summary>Starts loading the chain heads a connect() probing <paramref name="tuple"/>'s local port reads first: its bind bucket's and its 4-tuple's timewait socket's.</summary>
    void PrefetchConnectPort(in FourTuple tuple)
    {
        _bindBuckets.PrefetchHead(tuple.Local.Port);
        TimeWaits.PrefetchHead(tuple);
    }

    void PrefetchConnectPort(IPv4 saddr, Endpoint remote, ushort port) => PrefetchConnectPort(new FourTuple(new Endpoint(saddr, port), remote));

    /// <summary>__inet_hash_connect()'s "static u32 hint" on linux-4.4: one for the whole kernel, so one per host here.</summary>
    uint _connectHint44;

    /// <summary>
    /// Models linux-4.4's __inet_hash_connect() — net/ipv4/inet_hashtables.c (4.2's 07f4c90062f8 "tcp/dccp: try to not
    /// exhaust ip_local_port_range in connect()"): one sequential pass over ip_local_port_range from offset = (hint +
    /// port_offset) &amp; ~1 ("By starting with offset being an even number, we tend to leave about 50% of ports for other
    /// uses, like bind(0)"), port = low + (i + offset) % remaining, every port in turn (both parities); the first port
    /// taken advances the kernel-wide hint by (i + 2) &amp; ~1. port_offset is inet_sk_port_offset(), a keyed hash of (saddr,
    /// daddr, dport) (secure_ipv4_port_ephemeral()). 4.6's 1580ab63fc9a ("tcp/dccp: better use of ephemeral ports in
    /// connect()") brought the two parity passes, and 5.x the perturbation table with its random step that linux-6 uses.
    /// </summary>
    string? ConnectAutobind44(TcpSocket sk, IPv4 saddr, Endpoint remote)
    {
        int low = Sysctls.PortRangeLow;
        uint remaining = (uint)(Sysctls.PortRangeHigh - low + 1);
        uint offset = unchecked(_connectHint44 + (uint)KeyedHash.Of(Sim.PortSecret, saddr.Value, remote.Address.Value, remote.Port)) & ~1u;
        for (uint i = 0; i < remaining; i++)
        {
            if (!TryConnectPort(sk, saddr, remote, low + (int)(unchecked(i + offset) % remaining))) continue;
            _connectHint44 += (i + 2) & ~1u;
            return null;
        }
        return Errno.EADDRNOTAVAIL;
    }

    /// <summary>
    /// The ports whose 4-tuple to one destination (saddr, daddr:dport) a connect()-bound socket holds in the established
    /// table or a timewait socket holds (<see cref="HeldPorts"/>): made for a destination when one connect()'s search to it
    /// has passed <see cref="ConnectHeldAfterProbes"/> ports and a port is held to it, kept up to date from then on
    /// (<see cref="ConnectHeld"/>, <see cref="ConnectTimeWaitHeld"/>) and freed when the last such socket leaves the tables or its port — as the kernel frees an
    /// empty bind bucket (inet_bind_bucket_destroy() from __inet_put_port()), so a host keeps one only while a port is held
    /// to its destination. The search (<see cref="ConnectAutobind"/>) passes such a port over with one bit test: its bucket
    /// is connect()'s and __inet_check_established() finds the tuple taken, the same answer without side effects. A range
    /// held to one destination made every connect() probe the whole range, two hash lookups a port (a 20,000-connection
    /// burst: 72 s for 30,000 events); the ports it takes are the same.
    /// </summary>
    Dictionary<(IPv4 Saddr, Endpoint Remote), HeldPorts>? _connectHeld;

    /// <summary>
    /// One destination's held ports (<see cref="_connectHeld"/>): three bitmaps, each a bit per port — a connect()-bound
    /// socket in the established table (from word 0), a timewait socket of a connection without timestamps (from
    /// <see cref="HeldTimeWait"/>), and one with (from <see cref="HeldTimeWaitTs"/>) — and how many bits are set.
    /// tcp_twsk_unique() never lets a connect() take over the second kind; the third only where tcp_tw_reuse allows it,
    /// which the search asks each time (a sysctl write changes it at once). A timewait socket holds its port whether its
    /// bucket is connect()'s or bind()'s: the search passes over it either way.
    /// </summary>
    sealed class HeldPorts
    {
        public readonly ulong[] Bits = new ulong[3 * HeldWords];
        public int Count;

        /// <summary>Sets or clears a bit (a port, plus its bitmap's first word × 64); whether it changed.</summary>
        public bool Mark(int bit, bool held)
        {
            ref ulong word = ref Bits[bit >> 6];
            ulong mask = 1UL << bit;
            if (((word & mask) != 0) == held) return false;
            word ^= mask;
            Count += held ? 1 : -1;
            return true;
        }
    }

    /// <summary>The first words of <see cref="HeldPorts"/>' bitmaps.</summary>
    const int HeldWords = (ushort.MaxValue + 1) / 64, HeldTimeWait = HeldWords, HeldTimeWaitTs = 2 * HeldWords;

    /// <summary>A timewait socket's bit in <see cref="HeldPorts"/>.</summary>
    static int TimeWaitBit(in TimeWaitEntry tw) => ((tw.UsedTimestamps ? HeldTimeWaitTs : HeldTimeWait) << 6) + tw.LocalPort;

    /// <summary>Ports one connect() passes before its destination's held ports are kept (<see cref="_connectHeld"/>); a test sets it past any range to search as before.</summary>
    internal int ConnectHeldAfterProbes { get; set; } = 256;

    /// <summary>Ports connect()'s searches looked up in the bind and established tables (not passed over by a held bit): their cost.</summary>
    internal long ConnectPortProbes { get; private set; }

    /// <summary>The destinations whose held ports are kept (<see cref="_connectHeld"/>), and how many each has.</summary>
    internal IReadOnlyDictionary<(IPv4 Saddr, Endpoint Remote), int> ConnectHeldCounts =>
        _connectHeld?.ToDictionary(e => e.Key, e => e.Value.Count) ?? [];

    /// <summary>
    /// The held ports to a destination (<see cref="_connectHeld"/>), made from the established and timewait tables; null,
    /// and nothing kept, when no connect()-bound socket nor timewait socket holds a port to it (nothing to pass over).
    /// </summary>
    ulong[]? ConnectHeldTo(IPv4 saddr, Endpoint remote)
    {
        HeldPorts? held = null;
        foreach (var other in Established.Values)
            if (other.ConnectBind && other.Remote == remote && other.Local.Address == saddr)
                (held ??= new HeldPorts()).Mark(other.Local.Port, true);
        foreach (int slot in TimeWaits.Slots)
        {
            ref var tw = ref TimeWaits[slot];
            if (tw.LocalAddress == saddr && tw.Tuple.Remote == remote) (held ??= new HeldPorts()).Mark(TimeWaitBit(in tw), true);
        }
        if (held is null) return null;
        (_connectHeld ??= [])[(saddr, remote)] = held;
        return held.Bits;
    }

    /// <summary>
    /// A timewait socket was made (<paramref name="held"/>) or went (inet_twsk_hashdance_schedule(), inet_twsk_deschedule_put()):
    /// its bit in <see cref="_connectHeld"/>, where its destination has one — freed with the last bit.
    /// </summary>
    internal void ConnectTimeWaitHeld(in TimeWaitEntry tw, bool held)
    {
        var key = (tw.LocalAddress, tw.Tuple.Remote);
        if (_connectHeld is null || !_connectHeld.TryGetValue(key, out var ports)) return;
        if (ports.Mark(TimeWaitBit(in tw), held) && ports.Count == 0) _connectHeld.Remove(key);
    }

    /// <summary>
    /// A connect()-bound socket entered the established table (<paramref name="held"/>), or left it or its port: its bit in
    /// <see cref="_connectHeld"/>, where its destination has one — freed with the last bit.
    /// </summary>
    internal void ConnectHeld(TcpSocket sk, bool held)
    {
        if (_connectHeld is null || !sk.ConnectBind || !_connectHeld.TryGetValue((sk.Local.Address, sk.Remote), out var ports)) return;
        if (ports.Mark(sk.Local.Port, held) && ports.Count == 0) _connectHeld.Remove((sk.Local.Address, sk.Remote));
    }

    /// <summary>
    /// Models __inet_check_established(): the 4-tuple is free, or held by a timewait socket that
    /// tcp_twsk_unique() lets this connect take over (the bucket is then killed, TWRecycled++, and
    /// the new socket inherits write_seq = tw_snd_nxt + 65537 and the timestamp state).
    /// <paramref name="allowTwReuseDelay"/> is the kernel's "twp != NULL" (an ephemeral search):
    /// for an explicitly bound port tcp_tw_reuse is not consulted at all.
    /// </summary>
    internal bool CheckEstablished(TcpSocket sk, FourTuple tuple, bool allowTwReuseDelay)
    {
        if (Established.ContainsKey(tuple) || Requests.ContainsKey(tuple)) return false;
        if (!TimeWaits.TryFind(tuple, out int slot)) return true;
        ref var tw = ref TimeWaits[slot];
        if (!TwUnique(in tw, allowTwReuseDelay)) return false;
        sk.InheritFromTimeWait(in tw);
        Count(MibCounter.TcpExtTWRecycled);
        TimeWaits.Kill(slot, "__inet_check_established (TIME-WAIT reused)");
        return true;
    }

    /// <summary>
    /// tcp_twsk_unique()'s reuse: net.ipv4.tcp_tw_reuse, 0 for a FIN-WAIT-2 timewait socket (6.x) and, at 2, off loopback.
    /// linux-4.4's tcp_twsk_unique() tests "sysctl_tcp_tw_reuse &amp;&amp; …": any non-zero int reuses as 1 does (2's
    /// loopback-only meaning came with 4.19's "net-tcp: extend tcp_tw_reuse sysctl to enable loopback only optimization").
    /// </summary>
    int TwReuse(IPv4 local, IPv4 remote, bool finWait2)
    {
        int reuse = Sysctls.TcpTwReuse;
        if (Sim.Profile == KernelProfile.Linux44) return reuse != 0 ? 1 : 0;
        if (finWait2) reuse = 0;
        if (reuse == 2 && !(local.IsLoopback || remote.IsLoopback)) reuse = 0;
        return reuse;
    }

    /// <summary>Models tcp_twsk_unique() — net/ipv4/tcp_ipv4.c (6.14+ with tcp_tw_reuse_delay).</summary>
    bool TwUnique(in TimeWaitEntry tw, bool twp)
    {
        int reuse = TwReuse(tw.LocalAddress, tw.RemoteAddress, tw.State == TcpState.FinWait2);
        if (!tw.UsedTimestamps) return false;
        if (!twp) return true;
        if (reuse == 0) return false;
        if (Sim.Profile == KernelProfile.Linux6)
            return unchecked((int)(tw.EntryStampMs + (uint)Sysctls.TcpTwReuseDelayMs - (uint)Sim.Now.Ms)) < 0; // time_after32(now, stamp + delay)
        // linux-4.4: "sysctl_tcp_tw_reuse && get_seconds() - tcptw->tw_ts_recent_stamp > 1" — more than
        // one whole second after the second of the last timestamp received (so 1–2 s after it).
        return KernelSeconds.At(Sim.Now) - tw.TsRecentStampSec > 1;
    }

    /// <summary>Connect on an explicitly bound socket: the 4-tuple must be unique (tcp_twsk_unique without twp).</summary>
    internal string? ConnectBound(TcpSocket sk, IPv4 saddr, Endpoint remote)
    {
        var tuple = new FourTuple(new Endpoint(saddr, sk.Local.Port), remote);
        if (!CheckEstablished(sk, tuple, allowTwReuseDelay: false)) return Errno.EADDRNOTAVAIL;
        sk.Local = tuple.Local;
        return null;
    }

    /// <summary>The address a bound socket shows before it connects: its bind address, or for a wildcard bind the primary address.</summary>
    IPv4 LocalAddressOf(TcpSocket sk) => sk.RcvSaddr == IPv4.Any ? Address : sk.RcvSaddr;

    internal void ReplaceBindOwner(ushort port, IBindOwner from, IBindOwner to)
    {
        ref var b = ref _bindBuckets.GetValueRefOrNullRef(port);
        if (Unsafe.IsNullRef(ref b)) return;
        if (b.Remove(from)) b.Add(to);
    }
}
