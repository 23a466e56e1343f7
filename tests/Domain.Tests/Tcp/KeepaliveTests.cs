using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §4.2 and §14 scenario 26.</summary>
public class KeepaliveTests
{
    [Fact]
    public void Established_KeepaliveDeadPeer_ThreeProbesThenRstAndEtimedout()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        void Opt(SocketOption o, int v) => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = o, Value = v });
        Opt(SocketOption.SO_KEEPALIVE, 1);
        Opt(SocketOption.TCP_KEEPIDLE, 2);
        Opt(SocketOption.TCP_KEEPINTVL, 1);
        Opt(SocketOption.TCP_KEEPCNT, 3);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(10));
        var probes = h.Sent("client").Where(x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss).Select(x => x.At).ToList();
        // Idle is measured from the last segment received (the SYN-ACK at 21 ms, jiffy 5). TCP_KEEPIDLE at
        // 100 ms (jiffy 25) re-arms for 500 − 20 = 480 jiffies: expires 505, level 1 (63 ≤ 480 < 504), so the
        // wheel runs it at the next multiple of 8 after 505 (INITIAL_JIFFIES ≡ 0 mod 8): jiffy 512 = 2.048 s.
        // Each probe re-arms 250 jiffies (level 1): 512+250 = 762 → 768, 1018 → 1024, 1274 → 1280 —
        // probes 1.024 s apart, as measured on 6.18.
        Assert.Equal([Ms(2048), Ms(3072), Ms(4096)], probes);
        var rst = h.Sent("client").Last();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(Ms(5120), rst.At);
        Assert.Equal("ETIMEDOUT", h.Returned(recv.CallId)!.Errno);
        Assert.Equal(3, h.Client.Mib[MibCounter.TcpExtTCPKeepAlive]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void SynRecv_KeepIdleSet_FiresAtOnceThenFullIntervalAndDataMovesTheProbe()
    {
        // A simultaneous open in SYN-RECV: rcv_tstamp and lrcvtime are still 0, keepalive_time_elapsed() is the whole
        // u32 jiffies counter, so TCP_KEEPIDLE arms the timer for now (jiffy 79 → runs at 80); it finds the SYN-ACK
        // unacknowledged and re-arms 250 jiffies from within its callback (base->clk 81: level 1, bucket 336 =
        // 1.344 s). Data at 348.8 ms (jiffy 87) leaves 249 jiffies idle there: one more jiffy, level 0, rounded up
        // to 338 = 1.352 s — the probe's time on Linux 6.18.44 (the engine had measured idle from time 0: 1.376 s).
        var run = PacketdrillRunner.Run("""
                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
               +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
               +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
            0.300 < S 0:0(0) win 1000 <mss 1460,nop,wscale 0>
            0.3195 setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0
               +0 setsockopt(3, SOL_TCP, TCP_KEEPIDLE, [1], 4) = 0
            0.3248 < . 1:1(0) ack 1 win 1000
            0.3488 < P. 1:1001(1000) ack 1 win 1000
            1.500 %{ assert tcpi_state >= 0 }%
            """, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.Null(run.Failure);
        var keepalive = run.Simulation!.Journal.OfType<TimerArmed>().Where(t => t.Timer == TcpTimerKind.Keepalive).Select(t => (t.At, t.Expires)).ToList();
        Assert.Equal([(Ms(319.5), Ms(320)), (Ms(320), Ms(1344)), (Ms(1344), Ms(1352))], keepalive.Skip(1).Take(3));
        var probe = run.Recording.Where(e => e.Kind == RecordedKind.Packet).Last();
        Assert.Equal("1.352000 > . 0:0(0) ack 1001 win 62", probe.ToString());
    }

    [Fact]
    public void CloseWait_KeepaliveProbesRunThere()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.SetOption(s.Id, SocketOption.SO_KEEPALIVE, 1);
        h.SetOption(s.Id, SocketOption.TCP_KEEPIDLE, 5);
        h.At(S(7));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPKeepAlive]);
    }

    /// <summary>
    /// tcp_keepalive_timer() keeps keepalive_time_when() — an int, negative when tcp_keepalive_time is (proc_dointvec_jiffies
    /// takes -1) — in its u32 <c>elapsed</c> and compares unsigned: the idle time is never reached. SO_KEEPALIVE at 100 ms
    /// arms the timer in the past (inet_csk_reset_keepalive_timer()'s unsigned long), it runs at once and re-arms
    /// (u32)(−250) − elapsed jiffies ahead, ~198 days, which the timer wheel holds at WHEEL_TIMEOUT_MAX (1,040,187,392
    /// jiffies, ~48 days: __mod_timer()'s calc_wheel_index()); no probe. Observed on Linux 6.18.44: no probe, ss shows the
    /// keepalive timer 71582min ahead.
    /// </summary>
    [Fact]
    public void Established_KeepaliveTimeMinusOne_NeverProbes()
    {
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_keepalive_time", "-1"));
        var (c, _, _) = h.Establish();
        h.At(Ms(100));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = SocketOption.SO_KEEPALIVE, Value = 1 });
        h.At(S(600));

        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPKeepAlive]);
        Assert.DoesNotContain(h.Sent("client"), x => x.At > Ms(100));
        var armed = h.Sim.Journal.OfType<TimerArmed>().Last(t => t.Host == "client" && t.Timer == TcpTimerKind.Keepalive);
        Assert.InRange((armed.Expires - armed.At).Ns, S(47 * 86400).Ns, S(49 * 86400).Ns); // WHEEL_TIMEOUT_MAX: 48.15 days
    }

    /// <summary>
    /// A negative tcp_keepalive_intvl: the probe after tcp_keepalive_time (1 s) goes out, and the timer re-arms the u32
    /// (−250) jiffies after it — no second probe (Linux 6.18.44: TCPKeepAlive 1, the timer 71582min ahead).
    /// </summary>
    [Fact]
    public void Established_KeepaliveIntvlMinusOne_OneProbeThenNone()
    {
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_keepalive_time", "1"));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_keepalive_intvl", "-1"));
        var (c, _, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = SocketOption.SO_KEEPALIVE, Value = 1 });
        h.At(S(600));

        var probe = Assert.Single(h.Sent("client"), x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPKeepAlive]);
        var armed = h.Sim.Journal.OfType<TimerArmed>().Last(t => t.Host == "client" && t.Timer == TcpTimerKind.Keepalive);
        Assert.Equal(probe.At, armed.At);
        Assert.InRange((armed.Expires - armed.At).Ns, S(47 * 86400).Ns, S(49 * 86400).Ns); // WHEEL_TIMEOUT_MAX: 48.15 days
    }
}
