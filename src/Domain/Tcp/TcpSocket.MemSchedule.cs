using SimService.Domain.Engine;
using SimService.Domain.Network;

namespace SimService.Domain.Tcp;

/// <summary>
/// Schedule-time charging against the host's tcp_mem — net/core/sock.c (__sk_mem_schedule(),
/// __sk_mem_raise_allocated()), include/net/sock.h (sk_wmem_schedule(), sk_rmem_schedule(), sk_stream_moderate_sndbuf()),
/// net/ipv4/tcp_output.c (sk_forced_mem_schedule()), net/ipv4/tcp.c (tcp_wmem_schedule()). A schedule adds whole pages
/// to sk_forward_alloc and to the host's count at once (sk_memory_allocated_add(), through the per-CPU reserve); a
/// refused one takes them back.
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>
    /// Models sk_wmem_schedule() / sk_rmem_schedule() → __sk_mem_schedule(): when <paramref name="size"/> is above
    /// sk_forward_alloc, the difference rounded up to whole pages (sk_mem_pages()) is added to sk_forward_alloc and to
    /// the host's pages, and <see cref="RaiseAllowed"/> decides; refused, both are taken back (sk_memory_allocated_sub(),
    /// which leaves the pressure as it is) and false is returned.
    /// </summary>
    bool MemSchedule(long size, bool send)
    {
        long delta = size - (_data?.FwdAlloc ?? 0);
        if (delta <= 0) return true;
        long amt = (delta + PageSize - 1) / PageSize * PageSize;
        DataToWrite.FwdAlloc += amt;
        Recharge();
        if (RaiseAllowed(delta, send)) return true;
        DataToWrite.FwdAlloc -= amt;
        Recharge(pressure: false);
        return false;
    }

    /// <summary>
    /// Models sk_forced_mem_schedule() — net/ipv4/tcp_output.c: the pages are added to sk_forward_alloc and to the
    /// host's count whatever tcp_mem says, and the pressure is neither entered nor left.
    /// </summary>
    void ForcedMemSchedule(long size)
    {
        long delta = size - (_data?.FwdAlloc ?? 0);
        if (delta <= 0) return;
        DataToWrite.FwdAlloc += (delta + PageSize - 1) / PageSize * PageSize;
        Recharge(pressure: false);
    }

    /// <summary>
    /// Models the decision of __sk_mem_raise_allocated() — net/core/sock.c — once the pages are counted: allowed at or
    /// under tcp_mem[0] (the pressure left: <see cref="Host.ChargeTcpMemory"/>); above tcp_mem[2] refused ("Over hard
    /// limit"); else allowed while sk_rmem_alloc is under tcp_rmem[0] (a receive) or sk_wmem_queued under tcp_wmem[0] (a
    /// send), while TCP is not under memory pressure, or while tcp_mem[2] is above tcp_sockets_allocated times the
    /// socket's pages (sk_mem_pages(sk_wmem_queued + sk_rmem_alloc + sk_forward_alloc): its fair share; the engine reads
    /// the host's sockstat "alloc", the kernel the machine's per-CPU counter without what the CPUs hold). At
    /// suppress_allocation a send runs sk_stream_moderate_sndbuf() and is allowed anyway when the queue and
    /// <paramref name="size"/> reach sk_sndbuf ("Fail only if socket is _under_ its sndbuf").
    /// </summary>
    bool RaiseAllowed(long size, bool send)
    {
        var limits = Host.Sysctls.TcpMem;
        long allocated = Host.TcpMemPages;
        if (allocated <= limits[0]) return true;
        if (allocated <= limits[2])
        {
            if (send ? WmemQueued < Host.Sysctls.TcpWmem[0] : RmemAlloc < Host.Sysctls.TcpRmem[0]) return true;
            if (!Host.TcpMemoryPressure) return true;
            long pages = (WmemQueued + RmemAlloc + FwdAllocNow + PageSize - 1) / PageSize;
            if (limits[2] > Host.Allocated * pages) return true;
        }
        if (!send) return false;
        ModerateSndbuf();
        return WmemQueued + size >= SkSndbuf;
    }

    /// <summary>
    /// Models sk_stream_moderate_sndbuf() — include/net/sock.h: unless SO_SNDBUF locked it, sk_sndbuf falls to
    /// min(sk_sndbuf, sk_wmem_queued / 2), at least SOCK_MIN_SNDBUF (and the unused SO_RESERVE_MEM reserve: none).
    /// </summary>
    void ModerateSndbuf()
    {
        if (SndBufSet > 0) return;
        _sndBuf = (int)Math.Max(Math.Min(_sndBuf, WmemQueued >> 1), TcpConstants.SockMinSndBuf);
    }

    /// <summary>
    /// Models tcp_wmem_schedule() — net/ipv4/tcp.c (6.x): <paramref name="copy"/> bytes if sk_wmem_schedule() allows
    /// them; refused, what is left under tcp_wmem[0] is force-scheduled ("We could be in trouble if we have nothing
    /// queued") and the copy shrinks to sk_forward_alloc — 0 sends tcp_sendmsg_locked() to wait_for_space. linux-4.4
    /// has no such fallback: a refused copy waits for memory.
    /// </summary>
    long WmemSchedule(long copy)
    {
        if (MemSchedule(copy, send: true)) return copy;
        if (_sim.Profile == KernelProfile.Linux44) return 0;
        long left = Host.Sysctls.TcpWmem[0] - WmemQueued;
        if (left > 0) ForcedMemSchedule(Math.Min(left, copy));
        return Math.Max(0, Math.Min(copy, _data?.FwdAlloc ?? 0));
    }
}
