using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Black-hole detection — net.ipv4.tcp_mtu_probing 1: tcp_write_timeout() (net/ipv4/tcp_timer.c) runs tcp_mtu_probing() on
/// every RTO of a synchronized socket once retransmits_timed_out(tcp_retries1) holds. The first call sets
/// icsk_mtup.enabled and tcp_sync_mss() caps mss_cache at tcp_mtu_to_mss(search_low) — tcp_init_transfer()'s tcp_mtup_init()
/// took search_low = tcp_mss_to_mtu(tcp_base_mss); each later call halves search_low's MSS (at most tcp_base_mss, at least
/// tcp_mtu_probe_floor and tcp_min_snd_mss; linux-4.4: 68 − tcp_header_len). __tcp_retransmit_skb() cuts the head it
/// resends to the new MSS. The client (timestamps on: mss_cache 1448) sends 3 · 1448 bytes at 200 ms into a black hole
/// (<see cref="AckedSender"/>: no ACK ever comes); tcp_retries1 3 is 3 s of tcp_model_timeout(). On Linux 6.18.44:
/// packetdrill/mtu-probing-1-orphan-blackhole-rtos-halve-the-mss.pkt and
/// scenarios/observed-2host-mtu-probing-1-orphan-blackhole-retransmissions-shrink.json.
/// </summary>
public class MtuProbingTests
{
    const int Mss = 1448;

    static AckedSender BlackHoled(KernelProfile profile = KernelProfile.Linux6, params (string Name, string Value)[] sysctls)
    {
        var f = new AckedSender((h, _) =>
        {
            foreach (var (name, value) in sysctls) Assert.Null(h.Sim.SetSysctl("client", name, value));
        }, profile: profile);
        f.H.Send(f.C.Id, 3 * Mss);
        f.H.At(S(400));
        return f;
    }

    static (SimTime At, int Len)[] Retransmissions(AckedSender f) =>
        [.. f.H.Sent("client").Where(s => s.Reason == "tcp_retransmit_timer").Select(s => (s.At, s.Len))];

    /// <summary>
    /// tcp_mtu_probing 1: the RTOs at 472 ms, 928 ms and 1.824 s resend the head whole (1448); the one at 3.616 s finds 3 s
    /// gone since the first transmission: mss_cache 1024 (tcp_mss_to_mtu(1024) = 1076 with the timestamp option, less
    /// 40 and 12), then 512, 256, 128, 64 and the floor 48 (tcp_mtu_probe_floor, tcp_min_snd_mss), the head cut to each;
    /// TCP_INFO's snd_mss reads mss_cache. tcp_mtu_probing 0 (the default) resends 1448 bytes every time.
    /// </summary>
    [Theory]
    [InlineData("1", new[] { Mss, Mss, Mss, 1024, 512, 256, 128, 64, 48 }, 48)]
    [InlineData("0", new[] { Mss, Mss, Mss, Mss, Mss, Mss, Mss, Mss, Mss }, Mss)]
    public void BlackHole_RtosPastTcpRetries1_HeadCutToBaseMssThenHalved(string probing, int[] lengths, int sndMss)
    {
        var f = BlackHoled(sysctls: ("net.ipv4.tcp_mtu_probing", probing));

        var resent = Retransmissions(f);
        Assert.Equal(lengths, resent.Take(lengths.Length).Select(r => r.Len));
        Assert.Equal(new[] { Ms(472), Ms(928), Ms(1824), Ms(3616) }, resent.Take(4).Select(r => r.At));
        Assert.Equal(sndMss, f.C.Info.SndMss);
    }

    /// <summary>
    /// tcp_base_mss 700 and tcp_mtu_probe_floor 300: the first cut is to 700 (search_low = tcp_mss_to_mtu(700)), the
    /// next to 350, then the floor: max(175, 300) = 300 from then on.
    /// </summary>
    [Fact]
    public void BlackHole_BaseMssAndProbeFloor_BoundTheCuts()
    {
        var f = BlackHoled(sysctls: [("net.ipv4.tcp_mtu_probing", "1"), ("net.ipv4.tcp_base_mss", "700"), ("net.ipv4.tcp_mtu_probe_floor", "300")]);

        Assert.Equal(new[] { Mss, Mss, Mss, 700, 350, 300, 300 }, Retransmissions(f).Take(7).Select(r => r.Len));
    }

    /// <summary>
    /// linux-4.4's tcp_mtu_probing() floors the halved MSS at 68 − tcp_header_len (36 with timestamps), not at a
    /// tcp_mtu_probe_floor (5.4): 1024 … 64, 36 (tcp_mtu_to_mss(88): 48 − 12).
    /// </summary>
    [Fact]
    public void BlackHole_Linux44_FloorIs68LessTheHeader()
    {
        var f = BlackHoled(KernelProfile.Linux44, ("net.ipv4.tcp_mtu_probing", "1"));

        Assert.Equal(new[] { 1024, 512, 256, 128, 64, 36, 36 }, Retransmissions(f).Where(r => r.Len < Mss).Take(7).Select(r => r.Len));
    }

    /// <summary>
    /// A healed black hole (review39a): the client's 200000 bytes meet a 3.4 s outage, black-hole detection cuts the MSS
    /// to 1024 and 512 (search_low 564), then the path heals and the transfer climbs out of TCP_CA_Loss. From 7.093 s, in
    /// TCP_CA_Open with a cwnd of at least 11, tcp_write_xmit() → tcp_mtu_probe() sends probes of
    /// tcp_mtu_to_mss((search_high + search_low) &gt;&gt; 1) bytes — (1500 + 564) &gt;&gt; 1 = 1032: 980 — each
    /// acknowledged probe raising search_low to its MTU (tcp_mtup_probe_success()) and mss_cache with it: 980, 1214, 1331,
    /// 1389, 1418, then the next (1433) finds too little window. Linux 6.18.44 sends the same (kernel --trace, 2 runs:
    /// seq 31289 as 980 bytes at 7.093 s, 36365 as 1214 at 7.137 s …; kernel --diff: packets, states and counters alike).
    /// </summary>
    static string HealedBlackHole(int probing) => """
        {
          "name": "mtu-probing-healed-blackhole",
          "hosts": {"client": {"address": "10.0.0.1", "sysctls": {"net.ipv4.tcp_mtu_probing": PROBING}}, "server": {"address": "10.0.0.2"}},
          "links": [{"between": ["client", "server"], "delay": "5ms"}],
          "steps": [
            {"at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "l"},
            {"at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c", "expect": {"result": 0}},
            {"at": "1ms", "host": "server", "call": "accept", "socket": "l", "as": "s"},
            {"at": "100ms", "link": {"between": ["client", "server"], "loss": 1.0, "direction": "client->server"}},
            {"at": "100ms", "host": "client", "call": "send", "socket": "c", "bytes": 200000},
            {"at": "3500ms", "link": {"between": ["client", "server"], "loss": 0.0, "direction": "client->server"}},
            {"at": "3500ms", "host": "server", "call": "recv", "socket": "s", "bytes": 200000}
          ],
          "runUntil": "9s"
        }
        """.Replace("PROBING", probing.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    [Fact]
    public void HealedBlackHole_ProbesClimbFrom980To1418_EachAckRaisesTheMss()
    {
        var result = ScenarioRunner.Run(HealedBlackHole(probing: 1)).Result!;

        var probes = result.Simulation.Journal.OfType<SegmentSent>().Where(s => s.Reason == "tcp_mtu_probe").ToList();
        Assert.Equal(new[] { (Ms(7093), 31289u, 980), (Ms(7137), 36365u, 1214), (Ms(7189), 46399u, 1331), (Ms(7241), 61084u, 1389),
            (Ms(7293), 75783u, 1418) }, probes.Select(p => (p.At, p.SeqNo - IsnOf(result, p), p.Len)));
        // The first probe's burst goes on at the old mss_cache: 8 · 512 (the kernel's too), the cwnd one less for the probe.
        var client = result.Simulation.FindHost("client")!;
        Assert.Equal(8, result.Simulation.Journal.OfType<SegmentSent>().Count(s => s.Host == "client" && s.At == Ms(7093) && s.Len == 512));
        Assert.Equal((5L, 0L), (client.Mib[MibCounter.TcpExtTCPMTUPSuccess], client.Mib[MibCounter.TcpExtTCPMTUPFail]));
        Assert.True(result.Passed);
    }

    /// <summary>
    /// linux-4.4 runs tcp_mtup_init() right before the handshake's tcp_sync_mss() (tcp_rcv_synsent_state_process(),
    /// tcp_v4_syn_recv_sock()), so its first segments are already at tcp_base_mss's: the engine's 6.x order is not 4.4's,
    /// and a linux-4.4 socket under tcp_mtu_probing 2 says the run left the model (D161) at connect() (1 ms), on 6.x none.
    /// </summary>
    [Theory]
    [InlineData("linux-4.4", true)]
    [InlineData("linux-6", false)]
    public void Probing2_Linux44_LeavesTheModelAtTcpMtupInit(string kernel, bool leaves)
    {
        var result = ScenarioRunner.Run(HealedBlackHole(probing: 2).Replace("\"name\": \"mtu-probing-healed-blackhole\",",
            $"\"name\": \"mtu-probing-healed-blackhole\", \"kernel\": \"{kernel}\",", StringComparison.Ordinal)).Result!;

        var departure = result.Simulation.LeftModel;
        if (leaves) Assert.Equal(("D161", Ms(1), "client"), (departure!.Row, departure.At, departure.Host));
        else Assert.Null(departure);
        // tester41 LOW-3: the run error names the step that was running when it left (the connect, $.steps[1]), not "$".
        Assert.Equal(leaves ? [new ScenarioError("$.steps[1]", departure!.ToString())] : Array.Empty<ScenarioError>(), result.Errors.ToArray());
    }

    /// <summary>tcp_mtu_probing 0: icsk_mtup is never enabled, tcp_mtu_probe() returns at once: no probe, mss_cache stays 1448.</summary>
    [Fact]
    public void HealedBlackHole_ProbingOff_NoProbe()
    {
        var result = ScenarioRunner.Run(HealedBlackHole(probing: 0)).Result!;

        Assert.DoesNotContain(result.Simulation.Journal.OfType<SegmentSent>(), s => s.Reason == "tcp_mtu_probe");
        Assert.Equal(0, result.Simulation.FindHost("client")!.Mib[MibCounter.TcpExtTCPMTUPSuccess]);
        Assert.True(result.Passed);
    }

    /// <summary>
    /// tcp_mtu_probing 2: tcp_mtup_init() enables probing at connect(), search_low = tcp_mss_to_mtu(1024) with the
    /// timestamp option (1076); the SYN-ACK (no timestamps) syncs mss_cache to 1036, tcp_init_transfer()'s
    /// tcp_mtup_init() takes 1064 without a sync, and the ACK at 0.2 s that raises max_window syncs again: 1024. Only the
    /// peer's segments and the calls, run in record mode, so what the client sends and TCP_INFO reads are the engine's own (packetdrill/mtu-probing-2-*.pkt hold the
    /// kernel's, Linux 6.18.44).
    /// </summary>
    const string Probing2Connect = """
        `sysctl -q net.ipv4.tcp_mtu_probing=2`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.100 connect(3, ..., ...) = 0
         +.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7,nop,nop,sackOK>
           +0 write(3, ..., 20000) = 20000
        0.200 < . 1:1(0) ack 10361 win 1000

        """;

    /// <summary>The client's data segments of a packetdrill run: (time, seq relative to the ISN, length).</summary>
    static (SimTime At, uint Seq, int Len)[] DataSent(PacketdrillRunResult result)
    {
        var sent = result.Simulation!.Journal.OfType<SegmentSent>().Where(e => e.Host == PacketdrillRunner.LocalHost).ToList();
        return [.. sent.Where(e => e.Len > 0).Select(e => (e.At, e.SeqNo - sent[0].SeqNo, e.Len))];
    }

    /// <summary>The TCP_INFO fields a record-mode run read, as "tcpi_snd_cwnd = 19".</summary>
    static string[] InfoRead(PacketdrillRunResult result) =>
        [.. result.Recording.Where(e => e.Text.StartsWith("tcpi_", StringComparison.Ordinal)).Select(e => e.Text)];

    static long Counter(PacketdrillRunResult result, MibCounter counter) => result.Simulation!.FindHost(PacketdrillRunner.LocalHost)!.Mib[counter];

    /// <summary>
    /// The ACK at 0.2 s finds cwnd 20 (slow start) and nothing in flight: tcp_mtu_probe() sends 1242 bytes
    /// (tcp_mtu_to_mss((1500 + 1064) &gt;&gt; 1)) from the send head at snd_nxt 10361, cwnd 19, then 1024-byte segments.
    /// Three SACKed segments past it make RACK mark it lost: in TCP_CA_Open tcp_fastretrans_alert()'s "MTU probe failure"
    /// — TCPMTUPFail, cwnd 20 again, tcp_simple_retransmit(): TCP_CA_Loss, the probe resent at the MSS (1024 + 218), no
    /// Recovery (TCPSackRecovery 0).
    /// </summary>
    [Fact]
    public void Probing2_LostProbe_FailsWithoutCwndCut_ResentAtTheMss()
    {
        var result = PacketdrillRunner.Run(Probing2Connect + """
            0.200 %{ assert tcpi_snd_cwnd == 0 }%
            0.300 < . 1:1(0) ack 10361 win 1000 <sack 11603:14675,nop,nop>
            0.300 %{ assert tcpi_snd_cwnd == 0 }%
            0.300 %{ assert tcpi_ca_state == 0 }%

            """, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.True(result.Passed, result.Output);
        Assert.Equal(["tcpi_snd_cwnd = 19", "tcpi_snd_cwnd = 20", "tcpi_ca_state = 4"], InfoRead(result)); // 4: TCP_CA_Loss
        var data = DataSent(result);
        Assert.Equal(Enumerable.Repeat(1036, 10), data.Take(10).Select(d => d.Len));
        Assert.Equal((Ms(200), 10361u, 1242), data[10]);
        Assert.Equal([1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 206], data.Skip(11).Take(9).Select(d => d.Len));
        Assert.Equal(new[] { (Ms(300), 10361u, 1024), (Ms(300), 11385u, 218) }, data.Skip(20));
        Assert.Equal((1L, 0L, 0L), (Counter(result, MibCounter.TcpExtTCPMTUPFail), Counter(result, MibCounter.TcpExtTCPMTUPSuccess),
            Counter(result, MibCounter.TcpExtTCPSackRecovery)));
    }

    /// <summary>
    /// tcp_enter_loss(): "Disable F-RTO on path MTU probing". The probe at 0.2 s and the burst after it are never
    /// acknowledged; the TLP sends new data (0.408 s) and the RTO (0.736 s) resends the head at the MSS while the probe
    /// is still out, so the ACK of that retransmission gets conventional recovery — the rest of the head (218 bytes)
    /// resent — not F-RTO's new data (31059). Linux 6.18.44 (kernel --record, 3 runs) sends 11385:11603 at 0.8 s.
    /// </summary>
    [Fact]
    public void Probing2_RtoWithTheProbeOut_NoFrto_HeadResent()
    {
        var result = PacketdrillRunner.Run(Probing2Connect.Replace("20000) = 20000", "40000) = 40000", StringComparison.Ordinal) + """
            0.800 < . 1:1(0) ack 11385 win 1000

            """, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.True(result.Passed, result.Output);
        var data = DataSent(result);
        Assert.Equal((Ms(736), 10361u, 1024), data.Single(d => d.At == Ms(736)));
        Assert.Equal((Ms(800), 11385u, 218), data.First(d => d.At == Ms(800)));
    }

    /// <summary>
    /// search_high is held to the path MTU by tcp_sync_mss() only, not by tcp_mtup_init(): an accepted socket whose peer
    /// announced MSS 1600 takes search_high 1640 at tcp_init_transfer() and, with no sync since (the ACK at 0.2 s does not
    /// raise max_window), probes tcp_mtu_to_mss((1640 + 1064) &gt;&gt; 1) = 1312 bytes; mss_cache stays 1460. Linux 6.18.44 the
    /// same (packetdrill/mtu-probing-2-passive-search-high-is-the-peers-mss-until-a-sync.pkt, kernel and kernel --counters).
    /// </summary>
    [Fact]
    public void Probing2_PassivePeerMss1600_SearchHighUnsyncedProbes1312()
    {
        var result = PacketdrillRunner.Run("""
            `sysctl -q net.ipv4.tcp_mtu_probing=2`
                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
               +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
               +0 bind(3, ..., ...) = 0
               +0 listen(3, 1) = 0
               +0 < S 0:0(0) win 65535 <mss 1600,nop,wscale 7,nop,nop,sackOK>
              +.1 < . 1:1(0) ack 1 win 1000
               +0 accept(3, ..., ...) = 4
               +0 write(4, ..., 40000) = 40000
            0.200 < . 1:1(0) ack 14601 win 1000
            0.200 %{ assert tcpi_snd_mss == 0 }%

            """, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.True(result.Passed, result.Output);
        Assert.Equal(["tcpi_snd_mss = 1460"], InfoRead(result));
        Assert.Equal((Ms(200), 14601u, 1312), DataSent(result).First(d => d.At == Ms(200)));
    }

    /// <summary>
    /// The probe acknowledged at 0.3 s: tcp_mtup_probe_success() scales cwnd 19 by 1064 / 1282 (15), slow start adds the
    /// 10 segments acknowledged (25), search_low 1282 and mss_cache 1242 (TCPMTUPSuccess). The next write opens with the
    /// next probe, tcp_mtu_to_mss((1500 + 1282) &gt;&gt; 1) = 1351; its ACK makes mss_cache 1351.
    /// </summary>
    [Fact]
    public void Probing2_AckedProbes_RaiseTheMssAndScaleTheCwnd()
    {
        var result = PacketdrillRunner.Run(Probing2Connect + """
            0.300 < . 1:1(0) ack 20001 win 1000
            0.300 %{ assert tcpi_snd_mss == 0 }%
            0.300 %{ assert tcpi_snd_cwnd == 0 }%
            0.300 write(3, ..., 30000) = 30000
            0.400 < . 1:1(0) ack 49918 win 1000
            0.500 < . 1:1(0) ack 50001 win 1000
            0.500 %{ assert tcpi_snd_mss == 0 }%

            """, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.True(result.Passed, result.Output);
        Assert.Equal(["tcpi_snd_mss = 1242", "tcpi_snd_cwnd = 25", "tcpi_snd_mss = 1351"], InfoRead(result));
        var data = DataSent(result);
        Assert.Equal((Ms(300), 20001u, 1351), data.First(d => d.At == Ms(300)));
        Assert.Equal(23, data.Count(d => d.At == Ms(300) && d.Len == 1242));
        Assert.Equal((2L, 0L), (Counter(result, MibCounter.TcpExtTCPMTUPSuccess), Counter(result, MibCounter.TcpExtTCPMTUPFail)));
    }

    /// <summary>
    /// tcp_probe_threshold above the range (1500 − 1064 = 436): tcp_mtu_probe() never probes (tcp_mtu_check_reprobe()
    /// only), so the burst after the ACK is all 1024-byte segments.
    /// </summary>
    [Fact]
    public void Probing2_ThresholdAboveTheRange_NoProbe()
    {
        var result = PacketdrillRunner.Run("`sysctl -q net.ipv4.tcp_probe_threshold=437`\n" + Probing2Connect, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.True(result.Passed, result.Output);
        Assert.Equal(1024, DataSent(result).First(d => d.At == Ms(200)).Len);
        Assert.Equal(0, Counter(result, MibCounter.TcpExtTCPMTUPSuccess) + Counter(result, MibCounter.TcpExtTCPMTUPFail));
    }

    /// <summary>
    /// tcp_mtu_check_reprobe(): tcp_probe_threshold 300, so after the lost probe (search_high 1281: a range of 217) the
    /// search stops; the write at 1.2 s is past tcp_probe_interval (1 s) from probe_timestamp (tcp_init_transfer() at
    /// 0.1 s): the search restarts (that call sends no probe) and the ACK at 1.3 s sends a 1242-byte probe again. With
    /// the default 600 s none follows (packetdrill/mtu-probing-2-reprobe-after-tcp-probe-interval-restarts-the-search.pkt,
    /// Linux 6.18.44).
    /// </summary>
    [Theory]
    [InlineData("1", 1242)]
    [InlineData("600", 1024)]
    public void Probing2_AfterTcpProbeInterval_SearchRestartsAndProbesAgain(string interval, int firstAt1300)
    {
        var result = PacketdrillRunner.Run($"`sysctl -q net.ipv4.tcp_probe_threshold=300 net.ipv4.tcp_probe_interval={interval} net.ipv4.tcp_slow_start_after_idle=0`\n"
            + Probing2Connect + """
            0.300 < . 1:1(0) ack 10361 win 1000 <sack 11603:14675,nop,nop>
            0.400 < . 1:1(0) ack 20001 win 1000
            1.200 write(3, ..., 60000) = 60000
            1.300 < . 1:1(0) ack 40481 win 1000

            """, new PacketdrillOptions { ScriptName = "t.pkt", Record = true });

        Assert.True(result.Passed, result.Output);
        var data = DataSent(result);
        Assert.Equal(1024, data.First(d => d.At == Ms(1200)).Len);
        Assert.Equal((Ms(1300), 40481u, firstAt1300), data.First(d => d.At == Ms(1300)));
        Assert.Equal(1, Counter(result, MibCounter.TcpExtTCPMTUPFail));
    }

    /// <summary>The client's initial sequence number (the SYN's), so that a test reads relative sequence numbers.</summary>
    static uint IsnOf(ScenarioRunResult result, SegmentSent segment) =>
        result.Simulation.Journal.OfType<SegmentSent>().First(s => s.Host == segment.Host && s.Flags.HasFlag(TcpFlags.Syn)).SeqNo;
}
