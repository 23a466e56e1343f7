using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// __sk_mem_raise_allocated() (net/core/sock.c) refusing a schedule against the host's tcp_mem, and what
/// tcp_sendmsg_locked() (tcp_wmem_schedule(), sk_stream_moderate_sndbuf()) does with it. The client's pages are pushed
/// over the limit by a first socket whose peer is unreachable (nothing it queues is ever freed). What the first socket
/// queues (253 pages, 660 pages) is an engine artefact, not kernel-pinned: the engine schedules a copy of up to size_goal
/// at once, the kernel at most what is left of the task's 32 KB page fragment (D138, left item 2) — those asserts are
/// regression tests of the engine's copy. The other sockets' results are the kernel's rules (the locked and unlocked
/// sends and the empty skb are checked on 6.18.44 by scenarios/tcp-mem-hard-limit-*.json).
/// </summary>
public class TcpMemHardLimitTests
{
    readonly TwoHostHarness _h = new();
    TcpSocket _listener = null!;

    TcpSocket Connect(double atMs)
    {
        _h.At(Ms(atMs));
        var c = _h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        _h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = _listener.Id });
        return _h.Sim.FindSocket(c.SocketId)!;
    }

    /// <summary>Three connections established under <paramref name="tcpMem"/> on the client, then the link lost.</summary>
    (TcpSocket A, TcpSocket B, TcpSocket C) ThreeConnections(string tcpMem)
    {
        _h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", tcpMem);
        var (a, _, l) = _h.Establish();
        _listener = l;
        var b = Connect(101);
        var c = Connect(102);
        _h.At(Ms(200));
        _h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return (a, b, c);
    }

    long Send(TcpSocket sk, long bytes, int? sndbuf = null)
    {
        if (sndbuf is { } v) _h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = sk.Id, Option = SocketOption.SO_SNDBUF, Value = v });
        var call = _h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = sk.Id, Bytes = bytes, Flags = MsgFlags.MSG_DONTWAIT });
        return _h.Returned(call.CallId)!.Result;
    }

    [Fact]
    public void OverTcpMem2_LockedSndbuf_SendCopiesWhatItsForcedPageHolds()
    {
        // tcp_mem[2] = 200: the first socket's charges reach the per-CPU reserve's 256 pages, the drain takes the global
        // count to 256 > 200 and that charge is refused: the socket keeps the 253 pages it had (the engine schedules a copy
        // of up to size_goal at once — 16 pages here — the kernel at most a 32 KB page fragment). The second socket's first
        // skb is force-scheduled (832 of one page), its copy refused; tcp_wmem_schedule() forces nothing more (the page is
        // under tcp_wmem[0] already) and copies the 3264 bytes sk_forward_alloc holds. SO_SNDBUF locks sk_sndbuf.
        var (a, b, _) = ThreeConnections("0 100000000 200");
        long first = Send(a, 3_000_000, sndbuf: 4_000_000);
        Assert.Equal(253u * 4096, a.Meminfo.WmemQueued + a.Meminfo.FwdAlloc);
        Assert.Equal(256, _h.Client.TcpMemPages);
        Assert.Equal(253 * 4096 - 832 * _h.Sim.FindSocket(a.Id)!.SendSkbCount, first);

        Assert.Equal(3264, Send(b, 100_000, sndbuf: 100_000));
        // The push cuts the skb once (tso_fragment(): a force-scheduled skb of 832, a page more).
        Assert.Equal((4096u + 832u, 3264u, 200_000u), (b.Meminfo.WmemQueued, b.Meminfo.FwdAlloc, b.Meminfo.Sndbuf));
        Assert.Equal(0, _h.Client.Mib[MibCounter.TcpExtTCPMemoryPressures]);
    }

    [Fact]
    public void OverTcpMem2_ACopyRefusedToANewSkb_RemovesTheEmptySkb()
    {
        // 2432 bytes: the forced first skb (832) and its page, the copy refused, tcp_wmem_schedule() copies the 2432 that fit
        // (832 left). The next send's new skb head (832) needs no pages, its copy is refused, nothing is forced
        // (sk_wmem_queued reached tcp_wmem[0]) and sk_forward_alloc is 0: wait_for_space, where tcp_remove_empty_skb()
        // unlinks the empty skb and gives its 832 back (kernel-checked: scenarios/tcp-mem-hard-limit-refused-copy-removes-empty-skb.json).
        var (a, b, _) = ThreeConnections("0 100000000 200");
        Send(a, 3_000_000, sndbuf: 4_000_000);
        Assert.Equal(2432, Send(b, 2432, sndbuf: 100_000));
        Assert.Equal((3264u, 832u, 1), (b.Meminfo.WmemQueued, b.Meminfo.FwdAlloc, b.SendSkbCount));
        _h.At(Ms(210));
        Assert.Equal(-1, Send(b, 1000)); // EAGAIN
        Assert.Equal((3264u, 832u, 1), (b.Meminfo.WmemQueued, b.Meminfo.FwdAlloc, b.SendSkbCount));
    }

    [Fact]
    public void OverTcpMem2_UnlockedSndbuf_ModeratedToSockMinSndbufAndOneSkbQueued()
    {
        // sk_stream_moderate_sndbuf(): an unlocked sk_sndbuf falls to max(sk_wmem_queued / 2, SOCK_MIN_SNDBUF) = 4608, and
        // a copy that takes the queue to it or past it is allowed ("Fail only if socket is _under_ its sndbuf"): the
        // forced first skb is filled to size_goal (46336 = 32 MSS, half the server's largest window), then
        // sk_stream_memory_free() fails.
        var (a, _, c) = ThreeConnections("0 100000000 200");
        Send(a, 3_000_000, sndbuf: 4_000_000);
        Assert.Equal(46336, Send(c, 100_000));
        // The push cuts it into six chunks (tso_fragment(): five forced skbs of 832 more).
        Assert.Equal((46336u + 6 * 832u, 4608u), (c.Meminfo.WmemQueued, c.Meminfo.Sndbuf));
    }

    [Fact]
    public void UnderPressure_FairShare_ASocketStopsWhereItsPagesTimesTheSocketsReachTcpMem2()
    {
        // tcp_mem 0 0 2000: the first drain (256 pages) enters the pressure; below the hard limit a socket over
        // tcp_wmem[0] may still raise while tcp_mem[2] > tcp_sockets_allocated (3 client sockets) · its pages, so the
        // first socket stops below 667 pages (3 · 667 = 2001): at 660, as its next copy of 16 pages would pass 666. The second, with less than 4096 bytes queued, is guaranteed
        // tcp_wmem[0] and then its own share: all 100000 bytes. Kernel rule: the stop below 667 pages and the second socket's
        // 100000. Engine artefact, not kernel-pinned (D138 left item 2): the 660 — the engine schedules a whole size_goal
        // copy (16 pages) at once, the kernel at most what is left of the task's 32 KB page fragment, so it would stop
        // closer to 666; a regression test of the engine's copy size.
        var (a, b, _) = ThreeConnections("0 0 2000");
        Send(a, 5_000_000, sndbuf: 4_000_000);
        Assert.Equal(660u * 4096, a.Meminfo.WmemQueued + a.Meminfo.FwdAlloc);
        Assert.True(_h.Client.TcpMemoryPressure);
        Assert.Equal(100_000, Send(b, 100_000, sndbuf: 100_000));
    }
}
