using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Teardown timers under non-default settings: TCP_LINGER2 and tcp_fin_timeout above 60 s, orphan retries against
/// tcp_rto_max_ms, TCP_USER_TIMEOUT with keepalive and in SYN_SENT. Times are the timer wheel's (see
/// docs/kernel-behaviour.md, "Timers fire when the kernel's timer wheel runs them"): level 1 buckets end on jiffies
/// that are multiples of 8, level 2 on jiffies ≡ 56 (mod 64), level 3 on jiffies ≡ 248 (mod 512).
/// </summary>
public class TeardownTimerTests
{
    /// <summary>close() at 100 ms (jiffy 25) of an idle connection: the FIN's ACK comes back at 122 ms (jiffy 30).</summary>
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) ClosedByClient(KernelProfile profile = KernelProfile.Linux6, Action<TwoHostHarness, TcpSocket>? setup = null)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        setup?.Invoke(h, c);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        return (h, c, s);
    }

    [Fact]
    public void FinWait2Orphan_Linger2Of90s_KeepaliveTimerFor30sThenTimewaitSocketFor30s()
    {
        var (h, c, _) = ClosedByClient(setup: (h, c) => h.SetOption(c.Id, SocketOption.TCP_LINGER2, 90));
        // tcp_rcv_state_process() FIN_WAIT1 → FIN_WAIT2 of an orphan: tcp_fin_time() = 90 s > TCP_TIMEWAIT_LEN, so the
        // full socket stays, its keepalive timer armed for 90 − 60 = 30 s: jiffy 30 + 7500 = 7530, level 3 → 7928.
        Assert.Equal(TcpState.FinWait2, c.State);
        Assert.Equal(("keepalive", Ms(30_120)), (c.SsTimer!.Value.Name, c.SsTimer!.Value.Expires));
        h.At(Ms(31_711));
        Assert.Null(h.TimeWaitOf(c));
        // tcp_keepalive_timer(): tcp_time_wait(sk, TCP_FIN_WAIT2, 90 − 60 s) at jiffy 7928 (31.712 s): expires 15428,
        // level 3 → 15608 (62.432 s).
        h.At(Ms(31_712));
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal((TcpState.FinWait2, Ms(61_712)), (tw.Substate, tw.Expires));
        h.At(Ms(62_431));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        h.At(Ms(62_432));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
    }

    [Fact]
    public void FinWait2Orphan_Linger2Of200s_ClampedToTcpFinTimeoutMaxOf120s()
    {
        var (h, c, _) = ClosedByClient(setup: (h, c) => h.SetOption(c.Id, SocketOption.TCP_LINGER2, 200));
        // do_tcp_setsockopt(TCP_LINGER2): above TCP_FIN_TIMEOUT_MAX / HZ → TCP_FIN_TIMEOUT_MAX (120 s): 60 s on the
        // keepalive timer (15030 → 15096, 60.384 s), then a FIN_WAIT2 timewait socket for 60 s (30096 → 30456).
        Assert.Equal(Ms(60_120), c.SsTimer!.Value.Expires);
        h.At(Ms(60_384));
        Assert.Equal(Ms(120_384), h.TimeWaitOf(c)!.Expires);
        h.At(Ms(121_823));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        h.At(Ms(121_824));
        Assert.Equal(TcpState.Close, h.StateOf(c));
    }

    [Fact]
    public void FinWait2OrphanOnKeepaliveTimer_FinTimeoutLoweredBeforeItFires_ActiveRstAndGone()
    {
        // tcp_keepalive_timer() recomputes tcp_fin_time() when it runs: with the sysctl now 30 s, tmo = 30 − 60 ≤ 0, so
        // no timewait socket — tcp_send_active_reset() and tcp_done() (no MIB counter) at 31.712 s.
        var (h, c, _) = ClosedByClient(setup: (h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "90"));
        h.At(S(10));
        h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "30");
        h.At(S(40));
        var rst = h.Sent("client").Last();
        Assert.Equal(("R.", Ms(31_712), c.SndNxt), (rst.Flags.ToLetters(), rst.At, rst.SeqNo));
        Assert.Null(h.TimeWaitOf(c));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(0, h.Client.OrphanCount);
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 200, 120)]
    [InlineData(KernelProfile.Linux44, 200, 60)]
    [InlineData(KernelProfile.Linux44, 61, 60)]
    [InlineData(KernelProfile.Linux44, 60, 60)]
    [InlineData(KernelProfile.Linux44, 30, 30)]
    public void Close_SetTcpLinger2AboveTheLimit_GetReadsTheProfilesValue(KernelProfile profile, int set, int get)
    {
        // linux-4.4 do_tcp_setsockopt(TCP_LINGER2): above sysctl_tcp_fin_timeout / HZ → 0, "use the sysctl"; 5.8+
        // ("net: Replace the limit of TCP_LINGER2 with TCP_FIN_TIMEOUT_MAX"): TCP_FIN_TIMEOUT_MAX.
        var h = new TwoHostHarness(profile: profile);
        var s = h.Call("client", SocketCallKind.Socket).SocketId;
        h.SetOption(s, SocketOption.TCP_LINGER2, set);
        Assert.Equal(get, h.GetOption(s, SocketOption.TCP_LINGER2).Result);
    }

    [Fact]
    public void FinWait2OrphanOnLinux44_Linger2AboveFinTimeout_UsesTheSysctlAndTheTimewaitSocketAtOnce()
    {
        // 4.4 stores linger2 = 0 for 90 > 60, so tcp_fin_time() is tcp_fin_timeout (60 s): no keepalive-timer phase,
        // a FIN_WAIT2 timewait socket from the ACK of the FIN (jiffy 30), 60 s (mod_timer_pinned(), no slack).
        var (h, c, _) = ClosedByClient(KernelProfile.Linux44, (h, c) => h.SetOption(c.Id, SocketOption.TCP_LINGER2, 90));
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal((TcpState.FinWait2, Ms(60_120)), (tw.Substate, tw.Expires));
        var (h2, c2, _) = ClosedByClient(KernelProfile.Linux44, (h, c) =>
        {
            h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "90");
            h.SetOption(c.Id, SocketOption.TCP_LINGER2, 70);
        });
        // The limit is the sysctl at setsockopt() time: with it at 90 s, 70 is kept — 70 − 60 = 10 s on the keepalive timer,
        // jiffy 30 + 2500, which 4.4's mod_timer() moves by apply_slack() to 2536 (limit 2539, highest differing bit 4).
        Assert.Equal(("keepalive", Ms(10_144)), (c2.SsTimer!.Value.Name, c2.SsTimer!.Value.Expires));
    }

    [Fact]
    public void FinWait2OrphanOnKeepaliveTimer_PeerFin_TimeWaitFor60s()
    {
        var (h, c, s) = ClosedByClient(setup: (h, c) => h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "90"));
        h.At(S(10));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(10_011));
        // tcp_fin() in FIN_WAIT2: tcp_send_ack(), tcp_time_wait(sk, TCP_TIME_WAIT, 0) — TCP_TIMEWAIT_LEN from the FIN's jiffy.
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal((TcpState.TimeWait, Ms(70_008)), (tw.Substate, tw.Expires)); // the FIN came in jiffy 2502
        Assert.Equal(0, h.Client.OrphanCount);
    }

    [Fact]
    public void FinWait1Orphan_AckOfFinCarryingThePeersFin_TimeWaitFor60s()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        // The peer's FIN acknowledges ours (tcp_fin_time() = 60 s, th->fin: "Bad case. We could lose such FIN
        // otherwise" — the keepalive timer, then tcp_fin() makes it TIME_WAIT at once).
        h.Deliver(h.Client, From(s, TcpFlags.Fin | TcpFlags.Ack, s.Iss + 1, c.Iss + 2));
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal((TcpState.TimeWait, Ms(100) + TcpConstants.TimeWaitLen), (tw.Substate, tw.Expires));
        var ack = h.Sent("client").Last();
        Assert.Equal((TcpFlags.Ack, s.Iss + 2), (ack.Flags, ack.AckNo));
    }

    [Fact]
    public void FinWait2Orphan_FinTimeoutBelowThreeAndAHalfRto_TimewaitSocketLastsThreeAndAHalfRto()
    {
        var h = new TwoHostHarness(delayMs: 100);
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Sim.FindSocket(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)!;
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "1");
        h.At(Ms(300));
        // One 200 ms RTT sample: RTO = 200 + max(2 · 200, 200) = 600 ms, so 3.5 · RTO = 2.1 s.
        var rto = c.Rto;
        Assert.Equal(600, rto.TotalMilliseconds);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(600));
        // The FIN's ACK (the peer's delayed-ACK timer, one jiffy: ATO still 0) arrives at 504 ms (jiffy 126). tcp_ack() takes
        // its 204 ms RTT sample first (RTO 151 jiffies), then tcp_fin_time() = max(1 s, (151 << 2) − (151 >> 1) = 529
        // jiffies) and tcp_time_wait() keeps it: expires 504 + 2116 ms.
        Assert.Equal(604, c.Rto.TotalMilliseconds);
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal((TcpState.FinWait2, Ms(2620)), (tw.Substate, tw.Expires));
    }

    [Fact]
    public void FinWait1Orphan_RtoReachesTcpRtoMaxMsOfItsCreation_NotAliveSoNoRetriesAndSilentDeath()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_max_ms", "1000");
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(60));
        // FIN at 100 ms, loss probe 324 ms, RTOs at 548 (RTO → 440 ms), 992 (→ 880 ms), 1888 ms (→ min(1760, 1000)).
        // The next firing (jiffy 472 + 250 = 722, level 1 → 728, 2.912 s) finds icsk_rto = tcp_rto_max: not "alive",
        // tcp_orphan_retries() = 0, and retransmits_timed_out(0) (200 ms) holds: tcp_write_err(), no RST.
        var fins = h.Sent("client").Where(x => x.Flags.HasFlag(TcpFlags.Fin)).Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([100, 324, 548, 992, 1888], fins);
        Assert.Equal(Ms(2912), h.States(c.Id).Last().At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void FinWait1Orphan_TcpRtoMaxMsLoweredAfterTheSocketWasMade_KeepsItsOwn120s()
    {
        // tcp_init_sock() copies net.ipv4.tcp_rto_max_ms into icsk_rto_max when the socket is made; tcp_rto_max() reads
        // that copy, so lowering the sysctl later changes nothing for this connection: the RTO doubles past 1 s
        // (RetransmissionTests.FinWait1Orphan_DeadPeer_LossProbeThenEightRtosThenSilentDeath).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_max_ms", "1000");
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(200));
        var fins = h.Sent("client").Where(x => x.Flags.HasFlag(TcpFlags.Fin)).Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([100, 324, 548, 992, 1888, 3680, 7392, 14560, 28896, 58336], fins);
        Assert.Equal(Ms(115_680), h.States(c.Id).Last().At);
    }

    static void KeepaliveDeadPeer(TwoHostHarness h, TcpSocket c, int userTimeoutMs)
    {
        h.SetOption(c.Id, SocketOption.SO_KEEPALIVE, 1);
        h.SetOption(c.Id, SocketOption.TCP_KEEPIDLE, 2);
        h.SetOption(c.Id, SocketOption.TCP_KEEPINTVL, 1);
        h.SetOption(c.Id, SocketOption.TCP_KEEPCNT, 3);
        h.SetOption(c.Id, SocketOption.TCP_USER_TIMEOUT, userTimeoutMs);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
    }

    [Fact]
    public void Established_KeepaliveWithUserTimeout3500Ms_RstWhenIdleReachesItBeforeKeepCnt()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        KeepaliveDeadPeer(h, c, 3500);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(20));
        // Idle since the SYN-ACK (jiffy 5). Probes at jiffies 512 and 768; at 1024 (4.096 s) the idle time, 1019
        // jiffies, reaches msecs_to_jiffies(3500) = 875 with a probe out: tcp_keepalive_timer() resets instead of
        // sending the third probe that TCP_KEEPCNT would allow.
        var probes = h.Sent("client").Where(x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss).Select(x => x.At).ToList();
        Assert.Equal([Ms(2048), Ms(3072)], probes);
        var rst = h.Sent("client").Last();
        Assert.Equal(("R.", Ms(4096)), (rst.Flags.ToLetters(), rst.At));
        Assert.Equal("ETIMEDOUT", h.Returned(recv.CallId)!.Errno);
    }

    [Fact]
    public void Established_KeepaliveWithUserTimeout10s_ProbesPastKeepCntUntilIdleReachesIt()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        KeepaliveDeadPeer(h, c, 10_000);
        h.At(S(30));
        // With TCP_USER_TIMEOUT, TCP_KEEPCNT is not consulted: probes every 256 jiffies from 512 until the idle time
        // reaches 2500 jiffies — at jiffy 2560 (10.24 s), 2555 jiffies after the SYN-ACK.
        var probes = h.Sent("client").Where(x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss).Select(x => x.At).ToList();
        Assert.Equal(Enumerable.Range(0, 8).Select(i => Ms(2048 + 1024 * i)), probes);
        Assert.Equal(("R.", Ms(10_240)), (h.Sent("client").Last().Flags.ToLetters(), h.Sent("client").Last().At));
        Assert.Equal(8, h.Client.Mib[MibCounter.TcpExtTCPKeepAlive]);
    }

    [Fact]
    public void SynSent_UserTimeout3000Ms_RtoClampedAndEtimedoutAt3008Ms()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var sock = h.Call("client", SocketCallKind.Socket).SocketId;
        h.SetOption(sock, SocketOption.TCP_USER_TIMEOUT, 3000);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock, ToHost = "server", ToPort = 80 });
        h.At(S(200));
        // tcp_write_timeout() (6.x): the SYN count is not reached, but retransmits_timed_out() with icsk_user_timeout is.
        // SYNs at 0, 1.024 s (jiffy 256) and 2.048 s (512); the re-arm at 512 is clamped to the 952 ms left
        // (238 jiffies → 750, level 1 → 752): ETIMEDOUT at 3.008 s.
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At).ToList();
        Assert.Equal([Ms(0), Ms(1024), Ms(2048)], syns);
        var returned = h.Returned(c.CallId)!;
        Assert.Equal(("ETIMEDOUT", Ms(3008)), (returned.Errno, returned.At));
    }

    [Fact]
    public void SynSent_SynLinearTimeoutsZero_SynsDoubleFrom1sAndFailAfterSixRetransmissions()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_syn_linear_timeouts", "0");
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(S(200));
        // Every RTO doubles (total_rto > 0): 250 → 256, 756 → 760 (level 1), 1760 → 1784, 3784 → 3832, 7832 → 7864
        // (level 2), 15864 → 16120, 32120 → 32504 (level 3), where icsk_retransmits = tcp_syn_retries (6) expires.
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([0, 1024, 3040, 7136, 15328, 31456, 64480], syns);
        var returned = h.Returned(c.CallId)!;
        Assert.Equal(("ETIMEDOUT", Ms(130_016)), (returned.Errno, returned.At));
    }

    [Fact]
    public void TimewaitFinWait2OnLinux44_FinAfterAShortTimeout_RearmedFor60sAndCountedAsTwAtExpiry()
    {
        // fin_timeout 3 s: a FIN_WAIT2 timewait socket armed for 3 s (tw_kill, ≤ 4 s). The peer's FIN at 1 s makes it
        // TIME_WAIT, re-armed for TCP_TIMEWAIT_LEN by inet_twsk_schedule(), which sets tw_kill again (false): 4.4's
        // tw_timer_handler() counts TIMEWAITED, not TIMEWAITKILLED, when it finally expires.
        var (h, c, s) = ClosedByClient(KernelProfile.Linux44, (h, _) => h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "3"));
        Assert.Equal(TcpState.FinWait2, h.TimeWaitOf(c)!.Substate);
        h.At(S(1));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(2));
        Assert.Equal(TcpState.TimeWait, h.TimeWaitOf(c)!.Substate);
        Assert.Equal((0L, 0L), (h.Client.Mib[MibCounter.TcpExtTW], h.Client.Mib[MibCounter.TcpExtTWKilled]));
        h.At(S(70));
        Assert.Null(h.TimeWaitOf(c));
        Assert.Equal((1L, 0L), (h.Client.Mib[MibCounter.TcpExtTW], h.Client.Mib[MibCounter.TcpExtTWKilled]));
    }

    [Fact]
    public void SynSentOnLinux44_UserTimeout3000Ms_IgnoredSynsDoubleAndFailAt127s()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var sock = h.Call("client", SocketCallKind.Socket).SocketId;
        h.SetOption(sock, SocketOption.TCP_USER_TIMEOUT, 3000);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock, ToHost = "server", ToPort = 80 });
        h.At(S(200));
        // 4.4's tcp_write_timeout() passes a user timeout of 0 while syn_set, and its RTO re-arm has no clamp: the same
        // SYNs and the same 127.2 s as without the option (HandshakeTests.SynSent_Linux44_SynsDoubleFrom1sAndFailAt127s).
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9).ToArray();
        Assert.Equal([0, 1, 3.004, 7.008, 15.024, 31.072, 63.136], syns);
        var returned = h.Returned(c.CallId)!;
        Assert.Equal(("ETIMEDOUT", Ms(127_200)), (returned.Errno, returned.At));
    }

    [Theory]
    [InlineData(SocketOption.TCP_KEEPINTVL, 32768)]
    [InlineData(SocketOption.TCP_KEEPCNT, 0)]
    [InlineData(SocketOption.TCP_KEEPCNT, -1)]
    public void Close_KeepaliveValueOutOfItsRange_Einval(SocketOption option, int value)
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket).SocketId;
        Assert.Equal("EINVAL", h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = s, Option = option, Value = value }).Errno);
    }
}
