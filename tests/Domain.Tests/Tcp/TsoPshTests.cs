using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// PSH on multi-MSS skbs: __tcp_transmit_skb() (net/ipv4/tcp_output.c) sets PSH on every non-SYN skb with
/// tcp_skb_pcount() &gt; 1 (Linux 5.4+), and tcp_gso_segment() (net/ipv4/tcp_offload.c) leaves it on the last segment
/// of the chunk only. Observed on Linux 6.18.44: write(5000) at MSS 1000 leaves in 2-segment TSO chunks
/// (tcp_tso_autosize() at the first pacing rate), each ending with PSH; the one-segment tail has tcp_mark_push()'s.
/// linux-4.4 has no such rule: only the pushed tail carries PSH.
/// </summary>
public class TsoPshTests
{
    const string Handshake = """
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,wscale 6,nop,nop,sackOK>
           +0 > . 1:1(0) ack 1
           +0 write(3, ..., 5000) = 5000

        """;

    static PacketdrillRunResult Run(string sent, KernelProfile profile) =>
        PacketdrillRunner.Run(Handshake + sent + "\n +.01 < . 1:1(0) ack 5001 win 1024\n", new PacketdrillOptions { Profile = profile });

    [Fact]
    public void Established_WriteOfFiveMss_EachTwoSegmentChunkEndsWithPsh()
    {
        var result = Run("""
               +0 > . 1:1001(1000) ack 1
               +0 > P. 1001:2001(1000) ack 1
               +0 > . 2001:3001(1000) ack 1
               +0 > P. 3001:4001(1000) ack 1
               +0 > P. 4001:5001(1000) ack 1
            """, KernelProfile.Linux6);

        Assert.True(result.Passed, result.Output);
    }

    [Fact]
    public void Established_WriteOfFiveMssOnLinux44_OnlyThePushedTailHasPsh()
    {
        var result = Run("""
               +0 > . 1:1001(1000) ack 1
               +0 > . 1001:2001(1000) ack 1
               +0 > . 2001:3001(1000) ack 1
               +0 > . 3001:4001(1000) ack 1
               +0 > P. 4001:5001(1000) ack 1
            """, KernelProfile.Linux44);

        Assert.True(result.Passed, result.Output);
    }

    [Fact]
    public void Corked_WriteJoiningAPushedSkb_ClearsItsPsh_FullSegmentLeavesWithout()
    {
        // Writes of 500 and 500 under TCP_CORK share one skb that tcp_push() marked PSH; the next write (1460) joins it
        // and clears the mark (tcp_sendmsg_locked(): "if (!copied) ... &= ~TCPHDR_PSH"), so the full MSS 1:1449 leaves
        // without PSH and the corked rest, this call's tail, with it. Observed on Linux 6.18.44 (the script passes on both).
        var (sim, _, _, iss) = SackReorderingTests.Run("write-into-pushed-skb-clears-its-psh.pkt");

        var data = sim.Journal.OfType<SimService.Domain.Journal.SegmentSent>()
            .Where(s => s.Host == PacketdrillRunner.LocalHost && s.Len > 0).Select(s => (s.SeqNo - iss, s.Len, s.Flags.Has(TcpFlags.Psh))).ToList();
        Assert.Equal([(1u, 1448, false), (1449u, 1012, true)], data);
    }

    /// <summary>A handshake with timestamps at 0.010 s, MSS 1000 (as partial-undo-timestamps.pkt).</summary>
    internal const string TsHandshake = """
        `./defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
           +0...0.010 connect(3, ..., ...) = 0
           +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
         +.01 < S. 0:0(0) ack 1 win 65535 <mss 1012,sackOK,TS val 700 ecr 100,nop,wscale 7>
           +0 > . 1:1(0) ack 1 <nop,nop,TS val 110 ecr 700>

        """;

    /// <summary>The first six segments of a write at 0.010 s, in three 2-segment skbs.</summary>
    const string FirstSixSegments = """
           +0 > . 1:1001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > P. 1001:2001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > . 2001:3001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > P. 3001:4001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > . 4001:5001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
           +0 > P. 5001:6001(1000) ack 1 <nop,nop,TS val 110 ecr 700>

        """;

    /// <summary>Six segments in three 2-segment skbs at 0.010 s (MSS 1000, timestamps), as partial-undo-timestamps.pkt.</summary>
    const string SixSegmentsInFlight = TsHandshake + "   +0 write(3, ..., 6000) = 6000\n" + FirstSixSegments;

    // Observed on Linux 6.18.44 (simservice kernel): three SACKed segments mark 1:2001 lost, PRR gives cwnd 4 with one
    // segment in flight, so tcp_xmit_retransmit_queue() resends the 2-segment skb whole (segs = min(3, max_segs 2)):
    // __tcp_transmit_skb() forces PSH on it and GSO leaves it on its last segment.
    [Fact]
    public void Recovery_LostTwoSegmentSkbWithRoomForBoth_ResentWholeEndingWithPsh()
    {
        var result = PacketdrillRunner.Run(SixSegmentsInFlight + """
             +.01 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 710 ecr 110,nop,nop,sack 2001:5001>
               +0 > . 1:1001(1000) ack 1 <nop,nop,TS val 120 ecr 710>
               +0 > P. 1001:2001(1000) ack 1 <nop,nop,TS val 120 ecr 710>
               +0 %{ assert tcpi_snd_cwnd == 4 }%
            """, new PacketdrillOptions());

        Assert.True(result.Passed, result.Output);
    }

    // Observed on Linux 6.18.44: two SACKed segments leave the loss to RACK's reordering timer (0.032 s in the engine,
    // 0.0297 s on the kernel); PRR then gives cwnd 2 with one in flight: segs 1, so __tcp_retransmit_skb() cuts the
    // skb at one MSS (tcp_fragment()) and sends it without PSH; the next ACK lets the rest (1001:2001) and the
    // SACK-edge piece 2001:3001 go as one-segment skbs, no PSH either.
    [Fact]
    public void Recovery_LostTwoSegmentSkbWithRoomForOne_ResentOneSegmentAtATimeWithoutPsh()
    {
        var result = PacketdrillRunner.Run(SixSegmentsInFlight + """
             +.01 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 710 ecr 110,nop,nop,sack 3001:5001>
             +.011 > . 1:1001(1000) ack 1 <nop,nop,TS val 113 ecr 710>
               +0 %{ assert tcpi_snd_cwnd == 2
            assert tcpi_ca_state == 3 }%
            +.001 < . 1:1(0) ack 1001 win 257 <nop,nop,TS val 720 ecr 113,nop,nop,sack 3001:5001>
               +0 > . 1001:2001(1000) ack 1 <nop,nop,TS val 120 ecr 720>
               +0 > . 2001:3001(1000) ack 1 <nop,nop,TS val 120 ecr 720>
            """, new PacketdrillOptions());

        Assert.True(result.Passed, result.Output);
    }

    // Observed on Linux 6.18.44 (simservice kernel): eight segments in four 2-segment skbs, the loss probe cuts the last
    // (7001:8001), the RTO resends the head alone (segs 1: `. 1:1001`). In CA_Loss the walk resends what the ACKs make
    // room for: after ack 3001 cwnd 4 and nothing in flight, so 3001:4001 (the rest of a cut skb), then the skb
    // 4001:6001 whole (segs = min(3, max_segs 2)), ending with PSH, then one segment of room: 6001:7001.
    [Fact]
    public void Loss_AfterTheRtoTheWalkResendsATwoSegmentSkbWholeEndingWithPsh()
    {
        var result = PacketdrillRunner.Run(TsHandshake + "   +0 write(3, ..., 8000) = 8000\n" + FirstSixSegments + """
               +0 > . 6001:7001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
               +0 > P. 7001:8001(1000) ack 1 <nop,nop,TS val 110 ecr 700>
            +.026 > P. 7001:8001(1000) ack 1 <nop,nop,TS val 136 ecr 700>
             +.216 > . 1:1001(1000) ack 1 <nop,nop,TS val 346 ecr 700>
             +.01 < . 1:1(0) ack 1001 win 257 <nop,nop,TS val 720 ecr 346>
               +0 > . 1001:2001(1000) ack 1 <nop,nop,TS val 356 ecr 720>
               +0 > . 2001:3001(1000) ack 1 <nop,nop,TS val 356 ecr 720>
             +.01 < . 1:1(0) ack 3001 win 257 <nop,nop,TS val 730 ecr 356>
               +0 %{ assert tcpi_snd_cwnd == 4
            assert tcpi_ca_state == 4 }%
               +0 > . 3001:4001(1000) ack 1 <nop,nop,TS val 366 ecr 730>
               +0 > . 4001:5001(1000) ack 1 <nop,nop,TS val 366 ecr 730>
               +0 > P. 5001:6001(1000) ack 1 <nop,nop,TS val 366 ecr 730>
               +0 > . 6001:7001(1000) ack 1 <nop,nop,TS val 366 ecr 730>
            """, new PacketdrillOptions());

        Assert.True(result.Passed, result.Output);
    }

    /// <summary>
    /// tcp_push_one() sends one TSO chunk: tcp_write_xmit(push_one = 1) takes min(tcp_cwnd_test(), tcp_tso_segs())
    /// segments — half the cwnd — and stops ("if (push_one) break;"). Observed on Linux 6.18.44 (simservice fuzz, seed 2,
    /// case 1): a 191343-byte MSG_DONTWAIT send over a 1 ms link (cwnd 10, tcp_tso_autosize() 9 segments) fills the first
    /// skb to size_goal (22 MSS), tcp_push_one() sends 5, the copy stops at the send buffer (46336 bytes) and tcp_push()
    /// sends the next 5: PSH on the 5th and the 10th segment. The engine sent 5 + 4 + 1 (PSH on the 9th).
    /// </summary>
    [Fact]
    public void Established_PushOneAfterAFullSkb_SendsOneChunkOfHalfTheCwnd()
    {
        var burst = ClientDataSegments("""
            {
              "name": "push-one",
              "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "1ms" } ],
              "steps": [
                { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "l" },
                { "at": "9ms", "host": "client", "call": "connect", "to": "server:80", "as": "c" },
                { "at": "990ms", "host": "client", "call": "send", "socket": "c", "bytes": 191343, "flags": ["MSG_DONTWAIT"], "expect": { "result": 46336 } }
              ],
              "runUntil": "1ms"
            }
            """).Where(p => p.At.Ns == 990_000_000).ToList();

        Assert.Equal(10, burst.Count);
        Assert.Equal([1u, 1449u, 2897u, 4345u, 5793u, 7241u, 8689u, 10137u, 11585u, 13033u], burst.Select(p => p.RelativeSeq));
        Assert.Equal([".", ".", ".", ".", "P.", ".", ".", ".", ".", "P."], burst.Select(p => p.Flags.ToLetters()));
    }

    /// <summary>
    /// The pacing rate an active open starts with: the SYN-ACK's tcp_ack() → tcp_ack_update_window() raises max_window
    /// from 0 and re-syncs the MSS (tcp_sync_mss(): the peer's 1460 less the connect-time timestamp option, 1448), then
    /// tcp_cong_control() → tcp_update_pacing_rate(): 1448 · 10 · 200 % / 6 ms = 4826666 B/s, and tcp_tso_autosize()
    /// lets 3 segments go as one skb. Observed on Linux 6.18.44 (simservice fuzz, seed 3, case 4): a 3871-byte send two
    /// seconds after the handshake over a 3 ms link leaves as one 3-segment skb (PSH on the last only); TCP_INFO's
    /// pacing_rate 4686084 at the kernel's 6.18 ms RTT. The engine paced with the connect-time 524 (1746666 B/s, 2
    /// segments: PSH on the 2nd and the 3rd).
    /// </summary>
    [Fact]
    public void Established_FirstSendAfterActiveOpen_PacedWithTheMssTheSynAcksWindowSynced()
    {
        var sent = ClientDataSegments("""
            {
              "name": "first-send",
              "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "3ms" } ],
              "steps": [
                { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "l" },
                { "at": "25ms", "host": "client", "call": "connect", "to": "server:80", "as": "c" },
                { "at": "1s", "host": "client", "call": "getsockopt", "socket": "c", "option": "TCP_INFO",
                  "expect": { "value": { "pacing_rate": 4826666, "rtt": 6000, "snd_cwnd": 10 } } },
                { "at": "2035ms", "host": "client", "call": "send", "socket": "c", "bytes": 3871, "flags": ["MSG_DONTWAIT"], "expect": { "result": 3871 } }
              ],
              "runUntil": "1ms"
            }
            """);

        Assert.Equal([1u, 1449u, 2897u], sent.Select(p => p.RelativeSeq));
        Assert.Equal([".", ".", "P."], sent.Select(p => p.Flags.ToLetters()));
    }

    /// <summary>
    /// The SYN-ACK's tcp_sync_mss() with net.ipv4.tcp_mtu_probing 2: icsk_mtup.enabled since tcp_connect_init(), so
    /// mss_cache is held to tcp_mtu_to_mss(search_low) = tcp_base_mss 512 and tcp_update_pacing_rate() paces with it:
    /// 512 · 10 · 200 % / 6 ms = 1706666 B/s, and tcp_tso_autosize() lets 3 segments go as one skb (1666 + 31 bytes).
    /// Observed on Linux 6.18.44 (the same sysctls over a 5 ms link, three runs): the first flight leaves in 2-segment
    /// skbs, PSH on every second 512-byte segment. The engine paced with 1448 (4826666 B/s: 9 segments, one 6-segment
    /// skb here).
    /// </summary>
    [Fact]
    public void Established_FirstSendAfterActiveOpenWithMtuProbing2_PacedWithTheBaseMss()
    {
        var sent = ClientDataSegments("""
            {
              "name": "first-send-mtu-probing-2",
              "hosts": {
                "client": { "address": "10.0.0.1",
                  "sysctls": { "net.ipv4.tcp_mtu_probing": 2, "net.ipv4.tcp_base_mss": 512, "net.ipv4.tcp_probe_threshold": 16 } },
                "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "3ms" } ],
              "steps": [
                { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "l" },
                { "at": "25ms", "host": "client", "call": "connect", "to": "server:80", "as": "c" },
                { "at": "1s", "host": "client", "call": "getsockopt", "socket": "c", "option": "TCP_INFO",
                  "expect": { "value": { "pacing_rate": 1706666, "rtt": 6000, "snd_cwnd": 10, "snd_mss": 512 } } },
                { "at": "2035ms", "host": "client", "call": "send", "socket": "c", "bytes": 3072, "flags": ["MSG_DONTWAIT"], "expect": { "result": 3072 } }
              ],
              "runUntil": "1ms"
            }
            """);

        Assert.Equal([1u, 513u, 1025u, 1537u, 2049u, 2561u], sent.Select(p => p.RelativeSeq));
        Assert.Equal([".", ".", "P.", ".", ".", "P."], sent.Select(p => p.Flags.ToLetters()));
    }

    /// <summary>Runs the scenario, checks its expectations passed, and gives the client's data segments.</summary>
    static List<SimService.Domain.Scenarios.WirePacket> ClientDataSegments(string scenario)
    {
        var run = SimService.Domain.Scenarios.ScenarioRunner.Run(scenario).Result!;
        var sim = run.Simulation;
        Assert.True(run.Passed, string.Join("; ", run.FailedChecks));
        return SimService.Domain.Scenarios.ScenarioRunner.CapturePackets(sim.Journal, a => sim.FindHost(a)?.Name)
            .Where(p => p.From == "client" && p.Len > 0).ToList();
    }
}
