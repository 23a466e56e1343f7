using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>What tcp_memory_pressure does to the receive window (docs/kernel-behaviour.md, "TCP memory pressure: the audit").</summary>
public class MemoryPressureWindowTests
{
    /// <summary>
    /// Both hosts with tcp_mem 0 0 100000000 (pressure above 0 pages, no hard limit) and SO_SNDBUF 4000000 send
    /// 2000000 bytes to each other at 100 ms without reading: each send queues about 2 MB at once, the charge drains
    /// the per-CPU reserve and the host enters pressure before any data arrives. From the first data segment on,
    /// tcp_grow_window() runs tcp_adjust_rcv_ssthresh() (rcv_ssthresh = min(rcv_ssthresh, 4 · advmss) = 5792) instead
    /// of growing, so the window offered shrinks as the data arrives (never below what was offered) down to
    /// ALIGN(5792, 1 &lt;&lt; 10) and then one 1024 granule: 82000 and 80976 bytes received by 500 ms, no drop, no RTO
    /// — Linux 6.18.44's numbers (scenarios/tcp-mem-pressure-clamps-receive-window.json with the machine's tcp_mem so
    /// set). Without the clamp rcv_ssthresh grew, the receive queue outgrew sk_rcvbuf, 11 segments were dropped and an
    /// RTO followed.
    /// </summary>
    [Fact]
    public void BothHostsUnderPressure_UnreadData_RcvSsthreshClampedTo4AdvmssNoDrops()
    {
        var h = new TwoHostHarness();
        foreach (var host in new[] { "client", "server" }) h.Sim.SetSysctl(host, "net.ipv4.tcp_mem", "0 0 100000000");
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        foreach (var sk in new[] { c, s })
        {
            h.SetOption(sk.Id, SocketOption.SO_SNDBUF, 4_000_000);
            h.Call(new SocketCallRequest(sk.Host.Name, "app", SocketCallKind.Send) { SocketId = sk.Id, Bytes = 2_000_000, Flags = MsgFlags.MSG_DONTWAIT });
        }
        Assert.True(h.Client.TcpMemoryPressure && h.Server.TcpMemoryPressure);
        h.At(Ms(500));

        var (ci, si) = (c.Info, s.Info);
        Assert.Equal((5792L, 82000L, 1024L, 0), (si.RcvSsthresh, si.BytesReceived, si.RcvWnd, si.TotalRto));
        Assert.Equal((5792L, 80976L, 1024L, 0), (ci.RcvSsthresh, ci.BytesReceived, ci.RcvWnd, ci.TotalRto));
        Assert.Equal((131584u, 0u), (s.Meminfo.RmemAlloc, s.Meminfo.Drops));
    }
}
