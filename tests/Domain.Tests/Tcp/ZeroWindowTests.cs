using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.5, §3.5 and §14 scenarios 7, 28: teardown behind a zero window.</summary>
public class ZeroWindowTests
{
    /// <summary>
    /// Established by 100 ms (10 ms links, RTO 220 ms); the link dies, the client sends 1000 bytes at 100 ms, and at
    /// 105 ms an ACK from the server acknowledging nothing shrinks the window to 0: data in flight, snd_wnd 0.
    /// </summary>
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) WindowShrunkWithDataInFlight()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 1000);
        h.At(Ms(105));
        h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Ack, s.SndNxt, c.SndUna, 0, 0, TcpOptions.None));
        Assert.Equal(0, c.Info.SndWnd);
        Assert.Equal(1000u, c.SndNxt - c.SndUna);
        return (h, c, s);
    }

    static List<SimService.Domain.Time.SimTime> ZeroWindowRtos(TwoHostHarness h) =>
        [.. h.Sent("client").Where(x => x.Reason == "tcp_retransmit_timer (zero window)").Select(x => x.At)];

    [Fact]
    public void Established_RtoWithWindowShrunkToZero_RtoAndBackoffGrowButRetransmitsStayZero()
    {
        var (h, c, _) = WindowShrunkWithDataInFlight();
        h.At(S(10));
        // The loss probe at 324 ms (jiffy 81) re-arms the RTO for 55 jiffies: 136 → 137 (548 ms). Each zero-window
        // RTO doubles icsk_rto (out_reset_timer), and the wheel runs it: 247 → 248 (992 ms), 468 → 472, 912 → 920
        // (level 1, 8-jiffy buckets), 1800 → 1848 (level 2, buckets at jiffies ≡ 56 mod 64; 7.392 s).
        Assert.Equal([Ms(548), Ms(992), Ms(1888), Ms(3680), Ms(7392)], ZeroWindowRtos(h));
        Assert.Equal(7_040_000, c.Info.RtoUs);
        // The branch jumps to out_reset_timer:, where 6.8+ counts icsk_backoff beside the doubling (5 RTOs); but no
        // icsk_retransmits++ (tcp_update_rto_stats()) and no TCPTimeouts.
        Assert.Equal(5, c.Info.Backoff);
        Assert.Equal(0, c.Info.Retransmits);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.Equal(TcpState.Established, c.State);
    }

    [Fact]
    public void Established_WindowShrunkToZeroWithUserTimeoutAndPeerAckingEachProbe_DiesOnceRetransmittingLongerThanIt()
    {
        var (h, c, s) = WindowShrunkWithDataInFlight();
        h.SetOption(c.Id, SocketOption.TCP_USER_TIMEOUT, 2000);
        // The peer answers every probe (a zero-window ACK 10 ms later), so rcv_tstamp stays fresh; yet
        // tcp_rtx_probe0_timed_out() ends the connection once rtx_delta (since retrans_stamp, 548 ms) passes
        // TCP_USER_TIMEOUT: "it does not want win 0 packets to 'reset the timer' while retransmits are not making progress".
        foreach (var at in new[] { 558, 1002, 1898 })
        {
            h.At(Ms(at));
            h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Ack, s.SndNxt, c.SndUna, 0, 0, TcpOptions.None));
        }
        h.At(S(5));
        // 548, 992, 1888 ms as without the option; then tcp_clamp_rto_to_user_timeout() cuts the 1760 ms RTO to the
        // 660 ms left (165 jiffies: 637 → 640), and at 2.56 s rtx_delta is 2012 ms > 2000.
        Assert.Equal([Ms(548), Ms(992), Ms(1888)], ZeroWindowRtos(h));
        var died = h.States(c.Id).Last();
        Assert.Equal((Ms(2560), "tcp_retransmit_timer (zero window)"), (died.At, died.Cause));
        Assert.Equal(TcpState.Close, c.State);
    }

    [Fact]
    public void Established_WindowShrunkToZeroAndPeerSilent_DiesOnceNoAckAndRetransmittingFor240s()
    {
        var (h, c, _) = WindowShrunkWithDataInFlight();
        h.At(S(600));
        // As above, then level 3 (512-jiffy buckets, ≡ 248 mod 512) and the 120 s cap: 58.336, 115.68, 230.368 s.
        // At 230.368 s the timer's expiry (jiffy 57080) is 57054 jiffies after the last ACK (jiffy 26): not above
        // 2·rto_max (60000), so one more probe; at 351.2 s (expiry 87592) both that and the time since the first
        // zero-window retransmission (548 ms, retrans_stamp) exceed it: tcp_write_err().
        Assert.Equal([Ms(548), Ms(992), Ms(1888), Ms(3680), Ms(7392), Ms(14_560), Ms(28_896), Ms(58_336), Ms(115_680), Ms(230_368)],
            ZeroWindowRtos(h));
        Assert.Equal(TcpState.Close, c.State);
        var died = h.States(c.Id).Last();
        Assert.Equal((Ms(351_200), "tcp_retransmit_timer (zero window)"), (died.At, died.Cause));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void Established_ZeroWindowRtoTimesOutUnderRtoMax1s_TcpInfoShowsBackoffZeroButLostAndRetransKept()
    {
        var (h, c, _) = WindowShrunkWithDataInFlight();
        h.SetOption(c.Id, SocketOption.TCP_RTO_MAX_MS, 1000);
        h.At(S(10));
        // tcp_rtx_probe0_timed_out() with rto_max 1 s: no ACK for more than 2 s before the timer's expiry and the
        // zero-window retransmissions (since retrans_stamp, 548 ms) lasting as long.
        var died = h.States(c.Id).Last();
        Assert.Equal((Ms(2912), "tcp_retransmit_timer (zero window)", TcpState.Close), (died.At, died.Cause, c.State));
        // tcp_write_err() -> tcp_write_queue_purge(): packets_out and icsk_backoff back to 0 (the backoff had grown to 3),
        // while lost_out and retrans_out keep the head's marks — only tcp_disconnect()'s tcp_clear_retrans() clears them.
        // Observed on Linux 6.18.44 (packetdrill/zero-window-rto-peer-silent-ends-after-two-rto-max.pkt).
        Assert.Equal((0, 0, 1, 1), (c.Info.Backoff, c.Info.Unacked, c.Info.Lost, c.Info.Retrans));
    }

    /// <summary>
    /// The client sets SO_SNDBUF 43520 (sk_sndbuf 87040, locked: more than the 65535-byte window the peer offers;
    /// tcp_sndbuf_expand()'s 46080 would not fill it at once), writes <paramref name="bytes"/> with O_NONBLOCK (a
    /// blocking write of more than the send buffer takes would sleep in sk_stream_wait_memory() while the peer
    /// reads nothing) and returns what was queued: tcp_sendmsg_locked() takes skbs while sk_wmem_queued &lt;
    /// sk_sndbuf: 110048 bytes.
    /// </summary>
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) FilledWindow(long bytes, int linger = -1) => FilledWindow(bytes, linger, out _);

    static (TwoHostHarness H, TcpSocket C, TcpSocket S) FilledWindow(long bytes, int linger, out long queued, double delayMs = 10, Action<TwoHostHarness>? setup = null)
    {
        var h = new TwoHostHarness(delayMs: delayMs);
        setup?.Invoke(h);
        var (c, s, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 43520);
        if (linger >= 0)
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = SocketOption.SO_LINGER, LingerOnOff = 1, Value = linger });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = c.Id, NonBlock = true });
        var send = h.Send(c.Id, bytes);
        queued = send.Result;
        Assert.Equal(Math.Min(bytes, 110048), queued);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = c.Id, NonBlock = false });
        h.At(S(2));
        // The receiver's window is closed: the sender holds the rest and probes.
        Assert.True(s.Unread >= 65536 - 1448, s.Unread.ToString());
        Assert.True(c.SendQueue > 0);
        return (h, c, s);
    }

    [Fact]
    public void FinWait1Orphan_PeerNeverReads_PersistProbesDoubleThenSilentDeathOnceIntervalReachesRtoMax()
    {
        var (h, c, s) = FilledWindow(500_000);
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(TcpState.FinWait1, c.State);
        h.At(S(1000));
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At).ToList();
        Assert.True(probes.Count >= 8, h.Trace());
        // Each interval doubles (base·2^backoff, capped at rto_max). tcp_ack_probe() re-arms the timer when the
        // peer's zero-window ACK arrives, one RTT (20 ms) after the probe; an answer suppressed by the
        // peer's out-of-window rate limit (tcp_oow_rate_limited, 500 ms) leaves the timer as it was. The
        // timer wheel then runs it 1 jiffy to one granule of its level late (calc_wheel_index()), so a gap
        // is 0 or 20 ms + the interval + that lateness, and gap − 2·previous gap lies within
        // [−40 ms − 2·granule(previous), 20 ms + granule(gap)].
        for (int i = 2; i < probes.Count; i++)
        {
            double gap = (probes[i] - probes[i - 1]).TotalMilliseconds;
            double prev = (probes[i - 1] - probes[i - 2]).TotalMilliseconds;
            Assert.InRange(gap - 2 * prev, -40 - 2 * WheelGranuleMs(prev), 20 + WheelGranuleMs(gap));
        }
        // Intervals of 16.128 s (LVL_START(3) = 4032 jiffies) and more are on level 3, whose buckets run on
        // jiffies that are multiples of 512: INITIAL_JIFFIES ≡ 264 (mod 512), so jiffy ≡ 248 of the simulation.
        foreach (var (probe, gap) in probes.Skip(1).Zip(probes.Zip(probes.Skip(1), (a, b) => (b - a).TotalMilliseconds)))
            if (gap > 16_128 + 20) Assert.Equal(248, probe.Ns / 4_000_000 % 512);
        // The orphan dies at the first firing whose backed-off interval reaches rto_max (not "alive"):
        // 30000 jiffies (+ 5 when re-armed by the ACK) from a level-3 bucket run 59 buckets later, 120.832 s.
        var death = h.States(c.Id).Last();
        Assert.Equal(TcpState.Close, death.To);
        var lastGap = (death.At - probes[^1]).TotalMilliseconds;
        Assert.Equal(120_832, lastGap);
        Assert.Equal(probes.Count, h.Client.Mib[MibCounter.TcpExtTCPWinProbe]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(TcpState.Established, s.State);
    }

    /// <summary>
    /// tcp_probe_timer() judges an orphan "alive" by inet_csk_rto_backoff(): icsk_rto &lt;&lt; icsk_backoff (capped at
    /// rto_max) below rto_max — the RTO, not tcp_probe0_base()'s max(icsk_rto, TCP_RTO_MIN) that spaces the probes.
    /// With net.ipv4.tcp_rto_min_us 20000 the RTO is 100 ms when the window fills (tcp_rtt_estimator() with the 20 ms
    /// floor; no sample while probing), the probes still 200 ms · 2^backoff: alive up to backoff 10 (100 ms · 1024 =
    /// 102.4 s), dead at the first run with backoff 11 — one probe at rto_max later than with the probe base, which
    /// reaches 204.8 s at backoff 10 (where the engine killed it).
    /// </summary>
    [Fact]
    public void FinWait1Orphan_PeerNeverReadsWithRtoMin20ms_AliveJudgedByTheRtoNotTheProbeBase()
    {
        static (TwoHostHarness H, TcpSocket C, long RtoUs) Closed()
        {
            var (h, c, _) = FilledWindow(500_000, -1, out _, setup: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "20000"));
            var rto = c.Info.RtoUs;
            h.Call("client", SocketCallKind.Close, c.Id);
            return (h, c, rto);
        }
        var (h, c, rto) = Closed();
        h.At(S(2000));
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At).ToList();
        var death = h.States(c.Id).Last();
        Assert.Equal(TcpState.Close, death.To);
        Assert.Equal((100_000L, 1L), (rto, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]));
        Assert.Equal(probes.Count, h.Client.Mib[MibCounter.TcpExtTCPWinProbe]);
        // The backoff the fatal run found (tcp_write_err()'s tcp_write_queue_purge() then zeroes it): the same run again,
        // stopped just before the death.
        var (again, before, _) = Closed();
        again.At(death.At - SimService.Domain.Time.SimDuration.FromMilliseconds(1));
        Assert.Equal((TcpState.FinWait1, 11), (before.State, before.Info.Backoff));
    }

    [Fact]
    public void FinWait1Orphan_PeerGoneSilentWhileProbing_NotAliveOnceTheIntervalReachesRtoMax()
    {
        var (h, c, _) = FilledWindow(500_000);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(3));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(1000));
        // Probe base max(icsk_rto = 232 ms, TCP_RTO_MIN) << backoff; the probe at 2.208 s (backoff 3) was the last one
        // answered. Six unanswered probes later (123.872 s, backoff 9: 118.784 s, still "alive", icsk_probes_out 6 < 8) a
        // seventh goes at 244.704 s with backoff 10; the next firing finds 232 ms << 10 ≥ rto_max: tcp_orphan_retries(sk, false)
        // = 0 ≤ backoff, abort — silently (tcp_write_err()), 120.832 s later.
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal(232, c.Rto.TotalMilliseconds);
        Assert.Equal([752, 1248, 2208, 4096, 7904, 15584, 30688, 62432, 123872, 244704], probes);
        Assert.Equal((TcpState.Close, Ms(365_536)), (h.States(c.Id).Last().To, h.States(c.Id).Last().At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    [Fact]
    public void FinWait1Orphan_RtoBelowTcpRtoMin_AliveJudgedFromIcskRtoNotTheProbeBase()
    {
        // net.ipv4.tcp_rto_min_us = 10 ms on a 1 ms link: icsk_rto is a few jiffies, the probe interval
        // tcp_probe0_base() = max(icsk_rto, TCP_RTO_MIN) << backoff. tcp_probe_timer()'s "alive" is
        // inet_csk_rto_backoff(icsk, rto_max) = icsk_rto << backoff, so the orphan outlives the first capped intervals.
        var (h, c, _) = FilledWindow(500_000, -1, out _, delayMs: 1, setup: h => h.Sim.SetSysctl("client", "net.ipv4.tcp_rto_min_us", "10000"));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(3000));
        // icsk_rto_min = usecs_to_jiffies(10000) = 3 jiffies, so icsk_rto = 2 ms + 12 ms, rounded up to 16 ms: alive while
        // 16 ms << backoff < 120 s, up to backoff 12. The probe at 209.888 s (backoff → 10)
        // is the first capped interval; the peer answers every probe (icsk_probes_out back to 0), so three more go,
        // 120.832 s apart (level 3 of the wheel), and the firing with backoff 13 (131.072 s) aborts. A rule on the
        // 200 ms probe base would end it at 330.720 s.
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal(16, c.Rto.TotalMilliseconds);
        Assert.Equal([372, 800, 1632, 3264, 6624, 13280, 26336, 52192, 105440, 209888, 330720, 451552, 572384], probes);
        Assert.Equal((TcpState.Close, Ms(693_216)), (h.States(c.Id).Last().To, h.States(c.Id).Last().At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    /// <summary>
    /// tcp_write_queue_purge() ends with icsk_backoff = 0: a socket the persist timer killed (tcp_probe_timer() →
    /// tcp_write_err() → tcp_done_with_error()) reads tcpi_backoff 0, while tcpi_probes keeps the count that ended it —
    /// as Linux 6.18.44 reads it (packetdrill/zero-window-probes-timeout-tcp-info-after-etimedout.pkt).
    /// </summary>
    [Fact]
    public void Established_PersistProbesUnansweredUntilRetries2_TcpInfoOfTheDeadSocketReadsBackoffZero()
    {
        var (h, c, _) = FilledWindow(500_000);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_retries2", "3");
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(100));
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At.Ns / 1e6).ToArray();
        // Probes 752 and 1248 ms are answered before the link dies at 2 s; 2208 and 4096 ms are not (icsk_backoff 3,
        // tcp_retries2 caps it), and the firing at 5.984 s finds icsk_probes_out 3 = max_probes: tcp_write_err().
        Assert.Equal([752, 1248, 2208, 4096], probes);
        Assert.Equal((TcpState.Close, Ms(5984)), (h.States(c.Id).Last().To, h.States(c.Id).Last().At));
        Assert.Equal((3, 0, 0), (c.Info.Probes, c.Info.Backoff, c.Info.Retransmits));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void FinWait1Orphan_PeerGoneSilentWithRetries2Of5_AbortsAfterEightUnansweredProbes()
    {
        var (h, c, _) = FilledWindow(500_000);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_retries2", "5");
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(3));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(1000));
        // tcp_send_probe0() stops the backoff at tcp_retries2 (5: 232 ms << 5 = 1856 jiffies), so the orphan stays "alive"
        // and tcp_orphan_retries() gives 8: the firing after the eighth unanswered probe (4.096 … 53.984 s; once capped
        // every 1920 jiffies, since each expiry is a level-2 bucket boundary and runs on the next) finds
        // icsk_probes_out = 8 and aborts, silently.
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([752, 1248, 2208, 4096, 7904, 15584, 23264, 30944, 38624, 46304, 53984], probes);
        Assert.Equal((TcpState.Close, Ms(61_664)), (h.States(c.Id).Last().To, h.States(c.Id).Last().At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    [Fact]
    public void FinWait1Orphan_ProbeTimerOverTcpMaxOrphans_RstAndAbortOnMemory()
    {
        var (h, c, _) = FilledWindow(500_000);
        h.Call("client", SocketCallKind.Close, c.Id);
        // The limit drops under the one orphan after its close: the next tcp_orphan_timer run samples 1, and the next
        // probe firing's tcp_out_of_resources(sk, true) kills it — with a RST, as tcp_probe_timer() always asks for one.
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_orphans", "0");
        uint sndNxt = c.SndNxt;
        h.At(S(30));
        var rst = h.Sent("client").Single(x => x.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(("R.", sndNxt), (rst.Flags.ToLetters(), rst.SeqNo));
        Assert.Equal((TcpState.Close, rst.At), (h.States(c.Id).Last().To, h.States(c.Id).Last().At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnMemory]);
        Assert.Contains("TCP: too many orphaned sockets", h.Client.KernelLog);
    }

    [Fact]
    public void FinWait1_Linger3PeerNotReading_CloseReturnsZeroAfter3sAndAllDataArrivesLater()
    {
        var (h, c, s) = FilledWindow(300_000, linger: 3, out long queued);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(6));
        var returned = h.Returned(close.CallId)!;
        Assert.Equal(0, returned.Result);
        // sk_stream_wait_close()'s schedule_timeout() timer: jiffy 500 + 750 = 1250, level 2 (504 ≤ 750 < 4032),
        // whose buckets fall on jiffies ≡ 56 (mod 64) of the simulation (INITIAL_JIFFIES ≡ 8): 1272 = 5.088 s.
        Assert.Equal(SimService.Domain.Time.SimDuration.FromMilliseconds(3088), returned.Blocked);
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.True(c.IsOrphan);
        long read = 0;
        for (int i = 0; i < 200 && read < queued; i++)
        {
            var r = h.Call("server", SocketCallKind.Recv, s.Id);
            if (!r.Blocked && r.Result > 0) read += r.Result;
            h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromMilliseconds(500));
        }
        Assert.Equal(queued, read);
        h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromSeconds(1));
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Equal(0, c.Ledger.Lost);
    }

    [Fact]
    public void FinWait1_Linger5PeerDrainsAt1s_CloseReturnsWhenTheFinIsAcked()
    {
        var (h, c, s) = FilledWindow(100_000, linger: 5);
        h.At(S(2));
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(3));
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.At(S(10));
        var returned = h.Returned(close.CallId)!;
        Assert.Equal(0, returned.Result);
        Assert.True(returned.Blocked < SimService.Domain.Time.SimDuration.FromSeconds(2), returned.Blocked.ToString());
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
    }

    /// <summary>The granule of the timer-wheel level an interval of <paramref name="ms"/> goes to at HZ=250 (LVL_START(n) = 63·8^(n−1) jiffies).</summary>
    static double WheelGranuleMs(double ms)
    {
        double jiffies = ms / 4, granule = 4;
        for (double start = 63; jiffies >= start; start *= 8) granule *= 8;
        return granule;
    }

    /// <summary>
    /// tcp_clamp_probe0_to_user_timeout() — net/ipv4/tcp_timer.c — works in whole jiffies with a floor of
    /// TCP_TIMEOUT_MIN (2 jiffies): remaining = msecs_to_jiffies(user_timeout) − (jiffies − icsk_probes_tstamp),
    /// max(remaining, 2), min(remaining, when). The server's receive buffer is 4096 bytes, the client writes 50000 at
    /// 1 s with TCP_USER_TIMEOUT 504 ms (126 jiffies); the window closes and the first probe runs at 1.292 s (jiffy
    /// 323: icsk_probes_tstamp). Its answer at 1.312 s re-arms the timer: when = 57 &lt;&lt; 1 = 114 jiffies, remaining
    /// 126 − 5 = 121, so 114: expiry 442, level-1 bucket 448 = 1.792 s. The link dies at 1.5 s. At 1.792 s 125 jiffies
    /// have passed (&lt; 126): the second probe goes, and remaining is 1 jiffy, raised to 2: expiry 450, run at 451 =
    /// 1.804 s, where 128 ≥ 126 aborts — silently (tcp_write_err(): ETIMEDOUT, TCPAbortOnTimeout).
    /// </summary>
    [Fact]
    public void Established_PersistWithUserTimeoutOneJiffyLeft_ClampedToTwoJiffiesDiesAt1804ms()
    {
        var h = new TwoHostHarness();
        var l = h.Call("server", SocketCallKind.Socket);
        h.SetOption(l.SocketId, SocketOption.SO_RCVBUF, 4096);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = l.SocketId, Port = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l.SocketId });
        var cs = h.Call("client", SocketCallKind.Socket);
        h.SetOption(cs.SocketId, SocketOption.TCP_USER_TIMEOUT, 504);
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = cs.SocketId, ToHost = "server", ToPort = 80 });
        h.At(Ms(100));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(S(1));
        h.Send(cs.SocketId, 50_000);
        h.At(Ms(1500));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(3));

        Assert.Equal([Ms(1292), Ms(1792)], h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At));
        var death = h.States(cs.SocketId).Last();
        Assert.Equal((TcpState.Close, Ms(1804)), (death.To, death.At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    /// <summary>
    /// __tcp_send_ack() builds its ACK with tcp_acceptable_seq() too (net/ipv4/tcp_output.c): 5,000 bytes in flight,
    /// the peer ACKs 1,000 with a zero window, then sends 100 bytes (its window still 0); the client's ACK of them carries the window's
    /// right edge ISS + 1001 as its sequence number, not snd_nxt ISS + 5001.
    /// </summary>
    [Fact]
    public void Established_AckBehindAShrunkWindow_SeqIsTheWindowsRightEdge()
    {
        var p = InjectedPeer.Connected();
        var (h, c) = (p.H, p.C);
        h.Send(c.Id, 5000);
        h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromMilliseconds(1));
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, c.Iss + 1001) with { Window = 0 });

        int before = h.Sent("client").Count();
        var at = h.Sim.Now;
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack | TcpFlags.Psh, p.S.Iss + 1, c.Iss + 1001, len: 100) with { Window = 0 });
        h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromMilliseconds(199));

        var ack = h.Sent("client").Skip(before).First();

        Assert.Equal((at, ".", c.Iss + 1001, p.S.Iss + 101), (ack.At, ack.Flags.ToLetters(), ack.SeqNo, ack.AckNo));
    }

    /// <summary>
    /// tcp_acceptable_seq() keeps snd_nxt when the window was shrunk by less than one unit of our window scale
    /// ("loss of precision", wscale_ok) — not in linux-4.4, whose version returns tcp_wnd_end() whenever snd_nxt lies
    /// beyond it. 5,000 bytes in flight; the peer ACKs 1,000 with a window that ends a few bytes (less than
    /// 1 &lt;&lt; rcv_wscale) short of snd_nxt, then sends 100 bytes: 6.18's ACK carries ISS + 5001, linux-4.4's the right edge.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6)]
    [InlineData(KernelProfile.Linux44)]
    public void Established_WindowShrunkByLessThanAScaleUnit_AckSeqByProfile(KernelProfile profile)
    {
        var p = InjectedPeer.Connected(profile: profile);
        var (h, c) = (p.H, p.C);
        int sndWs = c.Info.SndWscale, rcvWs = c.Info.RcvWscale;
        ushort field = (ushort)(4000 >> sndWs);
        uint edge = c.Iss + 1001 + ((uint)field << sndWs);
        Assert.InRange(c.Iss + 5001 - edge, 1u, (1u << rcvWs) - 1); // shrunk, by less than a scale unit
        h.Send(c.Id, 5000);
        h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromMilliseconds(1));
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, c.Iss + 1001) with { Window = field });

        int before = h.Sent("client").Count();
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack | TcpFlags.Psh, p.S.Iss + 1, c.Iss + 1001, len: 100) with { Window = field });
        h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromMilliseconds(199));

        var ack = h.Sent("client").Skip(before).First(x => x.AckNo == p.S.Iss + 101);
        Assert.Equal(profile == KernelProfile.Linux6 ? c.Iss + 5001 : edge, ack.SeqNo);
    }
}
