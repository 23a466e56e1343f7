using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §7 and §14 scenario 29: tcp_max_orphans.</summary>
public class OrphanLimitTests
{
    [Fact]
    public void Established_CloseOverTheOrphanLimit_FinThenRstAndLogLine()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", "1");
        var l = h.Call(new SimService.Domain.Commands.SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var cs = Enumerable.Range(0, 3).Select(_ => h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId).ToList();
        h.At(Ms(100));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, cs[0]);
        h.Call("client", SocketCallKind.Close, cs[1]);
        Assert.Equal(2, h.Client.OrphanCount);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        h.At(Ms(250));
        var victim = h.Sim.FindSocket(cs[2])!;
        uint fin = victim.SndNxt;
        h.Call("client", SocketCallKind.Close, cs[2]);
        var last2 = h.Sent("client").TakeLast(2).ToList();
        Assert.Equal("F.", last2[0].Flags.ToLetters());
        Assert.Equal("R.", last2[1].Flags.ToLetters());
        Assert.Equal(fin + 1, last2[1].SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Contains("TCP: too many orphaned sockets", h.Client.KernelLog);
        Assert.Equal(2, h.Client.OrphanCount);
        Assert.NotEqual(0, l.SocketId);
    }

    [Fact]
    public void FinWait1Orphans_CacheIsStaleWithin100ms_BurstIsNotChecked()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", "1");
        h.Call(new SimService.Domain.Commands.SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var cs = Enumerable.Range(0, 4).Select(_ => h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId).ToList();
        h.At(Ms(100));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        foreach (var id in cs) h.Call("client", SocketCallKind.Close, id);
        Assert.Equal(4, h.Client.OrphanCount);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
    }

    /// <summary>n established connections on linux-4.4 with tcp_max_orphans = <paramref name="maxOrphans"/>, the link cut at 100 ms, all closed then but the last, closed at <paramref name="lastAtMs"/>.</summary>
    static (TwoHostHarness H, List<int> Sockets) Linux44Closes(int n, int maxOrphans, double lastAtMs = 100)
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", maxOrphans.ToString(System.Globalization.CultureInfo.InvariantCulture));
        h.Call(new SimService.Domain.Commands.SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var cs = Enumerable.Range(0, n).Select(_ => h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId).ToList();
        h.At(Ms(100));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        foreach (var id in cs.SkipLast(1)) h.Call("client", SocketCallKind.Close, id);
        h.At(Ms(lastAtMs));
        h.Call("client", SocketCallKind.Close, cs[^1]);
        return (h, cs);
    }

    [Fact]
    public void Linux44_ThreeClosesOverTcpMaxOrphans1_NoneKilledWhileTheCountStaysOnTheCpu()
    {
        // 4.4's tcp_too_many_orphans() first reads percpu_counter_read_positive(): fbc->count, which three increments
        // (below percpu_counter_batch, 32) never reach — 0 is not over 1, and the exact sum is never taken. (6.x would
        // kill the third, closed at 250 ms after tcp_orphan_timer sampled two orphans.)
        var (h, _) = Linux44Closes(3, 1, lastAtMs: 250);
        h.At(S(1));
        Assert.Equal(3, h.Client.OrphanCount);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.DoesNotContain("TCP: too many orphaned sockets", h.Client.KernelLog);
    }

    [Fact]
    public void Linux44_ThirtyThreeClosesWithTcpMaxOrphans5_TheThirtySecondFoldsTheCountAndIsKilled()
    {
        // The 32nd percpu_counter_inc() folds 32 into fbc->count: 32 > 5, and the exact sum (32, the closing socket
        // included) is too — FIN then RST, TCPAbortOnMemory. Its destruction leaves the CPU at −1 and fbc->count at 32,
        // so the 33rd close is judged the same way.
        var (h, cs) = Linux44Closes(33, 5);
        var rsts = h.Sent("client").Where(x => x.Flags.HasFlag(TcpFlags.Rst)).ToList();
        Assert.Equal(2, rsts.Count);
        Assert.Equal(31, h.Client.OrphanCount);
        Assert.Equal(2, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Contains("TCP: too many orphaned sockets", h.Client.KernelLog);
        Assert.Equal(TcpState.Close, h.States(cs[31]).Last().To);
        Assert.Equal(TcpState.FinWait1, h.States(cs[30]).Last().To);
    }

    /// <summary>
    /// The auditor's case (tcp_max_orphans 1, 0.1 ms link): three connections, the link cut at 1 ms, then a closed at
    /// 1 ms and b at <paramref name="bMs"/>; returns c's socket.
    /// </summary>
    static (TwoHostHarness H, int C) ThreeConnectionsTwoClosed(double bMs)
    {
        var h = new TwoHostHarness(delayMs: 0.1);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", "1");
        h.Call(new SimService.Domain.Commands.SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var cs = Enumerable.Range(0, 3).Select(_ => h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId).ToList();
        h.At(Ms(1));
        Assert.All(cs, id => Assert.Equal(TcpState.Established, h.Sim.FindSocket(id)!.State));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, cs[0]);
        h.At(Ms(bMs));
        h.Call("client", SocketCallKind.Close, cs[1]);
        return (h, cs[2]);
    }

    [Fact]
    public void Established_CloseAfterTheOrphanTimerSampledTwo_KilledAt150ms()
    {
        // tcp_orphan_timer runs every 26 jiffies from boot (25 + the level-0 jiffy): at 104 ms it samples 2 orphans
        // (a closed at 1 ms, b at 102 ms), so c's close at 150 ms finds 2 > tcp_max_orphans.
        var (h, c) = ThreeConnectionsTwoClosed(bMs: 102);
        h.At(Ms(150));
        var victim = h.Sim.FindSocket(c)!;
        uint fin = victim.SndNxt;
        int before = h.Sent("client").Count();
        h.Call("client", SocketCallKind.Close, c);
        var sent = h.Sent("client").Skip(before).ToList();
        Assert.Equal([("F.", Ms(150), fin), ("R.", Ms(150), fin + 1)], sent.Select(x => (x.Flags.ToLetters(), x.At, x.SeqNo)));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Contains("TCP: too many orphaned sockets", h.Client.KernelLog);
        Assert.Equal(2, h.Client.OrphanCount);
    }

    [Fact]
    public void Established_CloseBeforeTheOrphanTimerRuns_NotCheckedAgainstTheNewCount()
    {
        // At 103 ms (jiffy 25) the timer has not run since boot: the cache still holds 0, whatever the live count (2).
        var (h, c) = ThreeConnectionsTwoClosed(bMs: 102);
        h.At(Ms(103));
        h.Call("client", SocketCallKind.Close, c);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Equal(3, h.Client.OrphanCount);
    }

    [Fact]
    public void Established_SecondCloseAfterTheFirstRun_CacheHoldsOnlyTheFirstOrphan()
    {
        // b closes at 105 ms, after the 104 ms run sampled 1 orphan (a): 1 is not above 1, so b lives; the next
        // run (208 ms) samples 2, and c's close at 210 ms is refused.
        var (h, c) = ThreeConnectionsTwoClosed(bMs: 105);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        h.At(Ms(207));
        Assert.Equal(2, h.Client.OrphanCount);
        h.At(Ms(210));
        h.Call("client", SocketCallKind.Close, c);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Equal("R.", h.Sent("client").Last().Flags.ToLetters());
    }
}

/// <summary>Reference §7.2–§7.4: tcp_mem's hard limit kills orphans that still hold queued data.</summary>
public class TcpMemTests
{
    [Fact]
    public void FinWait1OrphanOnLinux44_RtoOverTcpMem2_TcpOutOfResourcesResetsWithTheOutOfMemoryLine()
    {
        // The close passes (default tcp_mem); then tcp_mem drops under what the orphan's 60 kB hold. The loss probe
        // (tcp_send_loss_probe()) checks nothing; the first RTO's tcp_write_timeout() → tcp_out_of_resources(sk, alive):
        // tcp_check_oom() → tcp_out_of_memory() (sk_wmem_queued > SOCK_MIN_SNDBUF, memory over tcp_mem[2]) — the log
        // line, an active RST (do_reset, and data sent within TCP_TIMEWAIT_LEN), tcp_done(), TCPAbortOnMemory — and no
        // retransmission.
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 60_000 });
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(TcpState.FinWait1, c.State);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", "1 2 3");
        h.At(S(5));
        // The loss probe at 140 ms (4.4's 2 · srtt, 10 jiffies after the 100 ms send) sends one new segment (the window is
        // open); the RTO, 220 ms later, resets at snd_nxt. 60 kB: 100 kB no longer fits sk_sndbuf since the SYN-ACK offers
        // 4.4's 20-segment window (tcp_bound_to_half_wnd() makes smaller skbs), so send() would still be blocked.
        var after = h.Sent("client").Where(x => x.At > Ms(100)).ToList();
        Assert.Equal(2, after.Count);
        Assert.Equal(("tcp_send_loss_probe (new data)", Ms(140)), (after[0].Reason, after[0].At));
        Assert.Equal(("R.", Ms(360), after[0].SeqNo + (uint)after[0].Len), (after[1].Flags.ToLetters(), after[1].At, after[1].SeqNo));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.Contains("TCP: out of memory -- consider tuning tcp_mem", h.Client.KernelLog);
        Assert.DoesNotContain("TCP: too many orphaned sockets", h.Client.KernelLog);
        Assert.Equal(0, h.Client.OrphanCount);
    }

    [Fact]
    public void Established_CloseWithQueuedDataOverTcpMem2_RstAndOutOfMemoryLine()
    {
        // linux-4.4: every page charged goes straight to tcp_prot.memory_allocated (no per-CPU reserve), so the
        // pages queued pass tcp_mem[2] = 3. Over it the copy is refused, but sk_stream_moderate_sndbuf() drops sk_sndbuf to
        // SOCK_MIN_SNDBUF and a copy that reaches it is allowed: one skb filled to size_goal (20 MSS), then the
        // non-blocking send stops (a blocking one would wait for memory, and close() with it).
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", "1 2 3");
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var send = h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 60_000, Flags = MsgFlags.MSG_DONTWAIT });
        Assert.Equal(28960, h.Returned(send.CallId)!.Result);
        Assert.True(h.Client.TcpMemPages > 3);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPMemoryPressures]);
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal("R.", h.Sent("client").Last().Flags.ToLetters());
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Contains("TCP: out of memory -- consider tuning tcp_mem", h.Client.KernelLog);
        Assert.Equal(0, h.Client.TcpMemPages);
    }

    [Fact]
    public void Established_CloseWithQueuedDataUnderThePcpuReserve_NoPressureAndFin()
    {
        // 6.0+: sk_memory_allocated_add() puts the pages in the per-CPU cache (per_cpu_fw_alloc) and moves them to
        // memory_allocated only from SK_MEMORY_PCPU_RESERVE (256 pages) on: the ~10 pages of 40 kB queued never reach
        // the global count, so sockstat shows mem 0, tcp_mem[1] = 2 is not crossed, and tcp_check_oom() sees 0 ≤ 3 —
        // the close sends a FIN, not the out-of-memory RST.
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", "1 2 3");
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call(new SimService.Domain.Commands.SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 40_000 });
        Assert.Equal(0, h.Client.TcpMemPages);
        h.Call("client", SocketCallKind.Close, c.Id);

        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPMemoryPressures]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.DoesNotContain("out of memory", string.Join("\n", h.Client.KernelLog));
        Assert.Equal(TcpState.FinWait1, c.State);
    }
}

/// <summary>
/// tcp_out_of_resources() reads tp->lsndtime, which only tcp_event_data_sent() updates (a segment
/// carrying data): a FIN, an ACK or a retransmitted FIN does not make the connection "recently active".
/// </summary>
public class OrphanLsndtimeTests
{
    /// <summary>Established at 20 ms with max_orphans 1; the client sends <paramref name="dataAtS"/> (if any), then at 300 s the link dies and it closes.</summary>
    static (TwoHostHarness H, TcpSocket C) OrphanAfterIdle(double? dataAtS)
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", "1");
        var (c, s, _) = h.Establish();
        if (dataAtS is { } at)
        {
            h.At(S(at));
            h.Send(c.Id, 100);
            h.At(S(at) + SimService.Domain.Time.SimDuration.FromMilliseconds(500));
        }
        h.At(S(300));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.NotEqual(0, s.Id);
        return (h, c);
    }

    [Fact]
    public void FinWait1Orphan_FirstRtoAfter300sWithoutData_KilledWithRstAsIdleForTwoRtoMax()
    {
        var (h, c) = OrphanAfterIdle(dataAtS: null);
        h.At(S(301));
        // lsndtime is the handshake's (tcp_finish_connect), 300 s ago > 2·TCP_RTO_MAX: shift 1, 1 << 1 > 1 orphan allowed.
        var sent = h.Sent("client").Where(x => x.At >= S(300)).ToList();
        // The FIN, its loss probe (TLP, not fatal), then the first RTO kills the orphan.
        Assert.Equal(["F.", "F.", "R."], sent.Select(x => x.Flags.ToLetters()));
        // Jiffy 75000 + 55 = 75055 → 75056 (level 0: one jiffy after expiry); 75056 + 55 → 75112.
        Assert.Equal([S(300), Ms(300_224), Ms(300_448)], sent.Select(x => x.At));
        Assert.Equal("tcp_out_of_resources", sent[2].Reason);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.True(c.Destroyed);
    }

    [Fact]
    public void FinWait1Orphan_FirstRtoWithDataSent1sBefore_SurvivesAndRetransmitsFin()
    {
        var (h, c) = OrphanAfterIdle(dataAtS: 299);
        h.At(S(301));
        var sent = h.Sent("client").Where(x => x.At >= S(300)).ToList();
        // lsndtime = 299 s (the data): not idle for 2·TCP_RTO_MAX, so 1 orphan << 0 is within the limit.
        Assert.Equal(["F.", "F.", "F.", "F."], sent.Select(x => x.Flags.ToLetters()));
        // As above, then 440 ms (110 jiffies, level 1): 75112 + 110 = 75222 → the next multiple of 8, 75224.
        Assert.Equal([S(300), Ms(300_224), Ms(300_448), Ms(300_896)], sent.Select(x => x.At));
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.False(c.Destroyed);
    }
}
