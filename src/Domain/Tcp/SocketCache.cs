using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// The process's cache of socket objects that released simulations gave back (<see cref="Simulation.Release"/>), for the
/// next simulation's sockets: the kernel's slab caches are the machine's, not a network namespace's — kmem_cache_alloc() on
/// tcp_prot.slab finds an object that any earlier socket freed (net/core/sock.c: sk_prot_alloc()) —, so a second
/// connection pool of the same size opens on objects already in memory, where each simulation making its own meant that
/// every pool allocated its ≈ 133 MB of sockets anew (W6 at 100k: 200,000 sockets of 664 B, most of what its open phase
/// allocates, and what a collection in that phase copies: the W6 row, scale session 41).
/// A socket taken from here is made a new one in every field (<see cref="TcpSocket.Adopt"/>: the host and id it is given,
/// sk_alloc()'s zeroed object and tcp_init_sock(); its data path and rare state are dropped, not kept, as they belong to the
/// old simulation), so which object a socket is never shows (<c>SocketCacheTests</c>).
/// Bounded: at most <see cref="CapBytes"/> of sockets are kept (those past it are left to the collector), and the cache is
/// emptied when the runtime reports high memory load after a full collection — as a slab cache's shrinker gives free objects
/// back under memory pressure.
/// </summary>
public static class SocketCache
{
    /// <summary>The bytes of a <see cref="TcpSocket"/> object (header included), as the Release build lays it out: what the cap counts.</summary>
    public const int SocketBytes = 672;

    /// <summary>
    /// The most the cache keeps, in bytes of socket objects: 160 MiB, 249,660 sockets — the 200,004 of a released W6 pool of
    /// 100,000 connections (both ends and the listeners) fit. 0 turns the cache off.
    /// </summary>
    public static long CapBytes { get; set; } = 160L << 20;

    static readonly Stack<TcpSocket> Free = new();
    static readonly Lock Gate = new();
    /// <summary>Free.Count as last written under the lock, read without it by <see cref="Take"/>.</summary>
    static int _held;

    static SocketCache() => _ = new PressureWatch();

    /// <summary>Sockets the cache holds now.</summary>
    public static int Count
    {
        get { lock (Gate) return Free.Count; }
    }

    /// <summary>Bytes the cache holds now (<see cref="Count"/> × <see cref="SocketBytes"/>).</summary>
    public static long BytesHeld => (long)Count * SocketBytes;

    /// <summary>Gives the cache back every socket it holds (to the collector).</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            Free.Clear();
            _held = 0;
        }
    }

    /// <summary>Keeps <paramref name="sockets"/> for later simulations, up to <see cref="CapBytes"/>; nothing may reach them any more.</summary>
    internal static void Give(IEnumerable<TcpSocket> sockets)
    {
        lock (Gate)
        {
            long room = CapBytes / SocketBytes - Free.Count;
            foreach (var sk in sockets)
            {
                if (room-- <= 0) break;
                Free.Push(sk);
            }
            _held = Free.Count;
        }
    }

    /// <summary>A socket a released simulation gave back, made a new socket of <paramref name="host"/> with id <paramref name="id"/>; null when none is kept.</summary>
    internal static TcpSocket? Take(Host host, int id)
    {
        if (Volatile.Read(ref _held) == 0) return null; // most simulations never find one: no lock taken
        TcpSocket? sk;
        lock (Gate)
        {
            if (!Free.TryPop(out sk)) return null;
            _held = Free.Count;
        }
        sk.Adopt(host, id);
        return sk;
    }

    /// <summary>
    /// Runs after every full collection (a finalizable object that registers itself again, as the runtime's own
    /// Gen2GcCallback does for the shared array pool): when the memory load is at the runtime's high threshold, the cache is
    /// emptied, so the next collection can give its memory back.
    /// </summary>
    sealed class PressureWatch
    {
        ~PressureWatch()
        {
            var info = GC.GetGCMemoryInfo();
            if (info.MemoryLoadBytes >= info.HighMemoryLoadThresholdBytes) Clear();
            if (!Environment.HasShutdownStarted) GC.ReRegisterForFinalize(this);
        }
    }
}
