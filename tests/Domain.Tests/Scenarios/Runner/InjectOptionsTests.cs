using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>
/// Injected TCP options reach the kernel as a Linux peer's would (tcp_parse_options()), and packet
/// checks see the window and options Linux sends back. A scripted peer 10 ms from a Linux server.
/// </summary>
public class InjectOptionsTests
{
    /// <summary>peer 10.0.0.3 (scripted) ↔ server 10.0.0.2 (Linux), 10 ms each way, with a listener and an accept.</summary>
    static string PeerAndServer(string steps, string expect) => $$"""
        {
          "name": "inject-options",
          "hosts": { "server": { "address": "10.0.0.2" }, "peer": { "address": "10.0.0.3", "kind": "scripted" } },
          "links": [ { "between": ["peer", "server"], "delay": "10ms" } ],
          "steps": [
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "0ms", "host": "server", "call": "accept", "socket": "listener", "as": "s" },
            {{steps}}
          ],
          "expect": {{expect}}
        }
        """;

    static SegmentSent[] Sent(ScenarioRunResult result, string host) =>
        [.. result.Simulation.Journal.OfType<SegmentSent>().Where(e => e.Host == host)];

    [Fact]
    public void Listen_SynWithAllOptions_SynAckNegotiatesEachAsTcpOpenreqInit()
    {
        // tcp_conn_request() → tcp_parse_options() + tcp_openreq_init(); tcp_openreq_init_rwin() sizes
        // the window: tcp_full_space(listener) = 65536 rounded down to 45 × (1460 − 12) = 65160, and
        // wscale 10 from tcp_rmem[2] = 32 MiB (ilog2 25 − 15). TSecr echoes the SYN's TSval (tcp_synack_options).
        var json = PeerAndServer("""
            { "at": "1ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 1000, "win": 65535,
                                       "options": { "mss": 1000, "sackOK": true, "ts": { "val": 100, "ecr": 0 }, "wscale": 2 } } }
            """, """
            { "packets": [
                { "from": "peer", "flags": "S", "seq": 0, "at": "1ms", "options": { "mss": 1000, "wscale": 2, "sackOK": true, "ts": { "val": 100, "ecr": 0 } } },
                { "from": "server", "flags": "S.", "seq": 0, "ack": 1, "at": "11ms", "win": 65160,
                  "options": { "mss": 1460, "wscale": 10, "sackOK": true, "ts": { "ecr": 100 }, "sack": [] } } ] }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void Listen_SynWithoutOptions_SynAckOffersOnlyMssAndAnUnscaledWindow()
    {
        // No wscale/sackOK/TS in the SYN: tcp_synack_options() echoes none of them; the window is
        // 65536 rounded down to 44 × 1460 = 64240 (no timestamp to subtract), unscaled.
        var json = PeerAndServer("""
            { "at": "1ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 1000 } }
            """, """
            { "packets": [
                { "from": "server", "flags": "S.", "at": "11ms", "win": 64240,
                  "options": { "mss": 1460, "wscale": null, "sackOK": false, "ts": false } } ] }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void SynRecv_AckAfterSynWithoutMss_ChildSendsTcpMssDefaultSegments()
    {
        // A SYN with no MSS option leaves mss_clamp at TCP_MSS_DEFAULT (536): the child's data goes
        // out in 536-byte segments, unscaled window and no timestamps (tcp_openreq_init()).
        var json = PeerAndServer("""
            { "at": "1ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 1000, "win": 65535 } },
            { "at": "30ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 1001, "ack": 1, "win": 65535 } },
            { "at": "50ms", "host": "server", "call": "send", "socket": "s", "bytes": 1000 }
            """, """
            { "packets": [
                { "from": "peer", "flags": "S" },
                { "from": "server", "flags": "S.", "options": { "mss": 1460, "ts": false } },
                { "from": "peer", "flags": ".", "at": "30ms" },
                { "from": "server", "flags": ".", "seq": 1, "len": 536, "at": "50ms", "win": 64240, "options": { "ts": false } },
                { "from": "server", "flags": "P.", "seq": 537, "len": 464, "at": "50ms" } ] }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void Established_AckWithEchoTimestampAndScaledWindow_MssAndWindowFollowTheSyn()
    {
        // The SYN's MSS 1000 less the 12 timestamp bytes gives 988-byte segments; the ACK's window 1000
        // is scaled by the SYN's wscale 2 (snd_wnd 4000): four full segments fit, and the fifth is held
        // back whole although 48 bytes of window are left (tcp_snd_wnd_test()). size_goal is 1976 (half of the
        // peer's largest window, 4000, in whole segments): the second two-segment skb passes forced_push() and
        // tcp_mark_push() puts PSH on its last segment, 2965; the first went out by tcp_push_one(), unmarked.
        // "ecr": "echo" echoes the SYN-ACK's TSval; the server's data echoes the ACK's TSval 110.
        var json = PeerAndServer("""
            { "at": "1ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 1000, "win": 65535,
                                       "options": { "mss": 1000, "sackOK": true, "ts": { "val": 100, "ecr": 0 }, "wscale": 2 } } },
            { "at": "30ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 1001, "ack": 1, "win": 1000,
                                        "options": { "ts": { "val": 110, "ecr": "echo" } } } },
            { "at": "50ms", "host": "server", "call": "send", "socket": "s", "bytes": 5000 }
            """, """
            { "packets": [
                { "from": "peer", "flags": "S" },
                { "from": "server", "flags": "S." },
                { "from": "peer", "flags": ".", "at": "30ms" },
                { "from": "server", "flags": ".", "seq": 1, "len": 988, "at": "50ms", "options": { "ts": { "ecr": 110 } } },
                { "from": "server", "flags": "P.", "seq": 989, "len": 988, "at": "50ms" },
                { "from": "server", "flags": ".", "seq": 1977, "len": 988, "at": "50ms" },
                { "from": "server", "flags": "P.", "seq": 2965, "len": 988, "at": "50ms" } ],
              "noPackets": [ { "from": "server", "flags": ".", "seq": 3953 }, { "from": "server", "flags": "P.", "seq": 3953 } ] }
            """);

        var result = RunnerAssert.Run(json);

        RunnerAssert.Passed(result);
        var synAck = Sent(result, "server")[0];
        var ack = result.Simulation.Journal.OfType<SegmentSent>().Single(e => e.Host == "peer" && e.Flags == TcpFlags.Ack);
        Assert.Equal(synAck.Options.TsVal, ack.Options.TsEcr);
    }
    /// <summary>client 10.0.0.1 (Linux) connects at 0 ms to peer 10.0.0.3:80 (scripted), 10 ms each way.</summary>
    static string ClientAndPeer(string steps, string expect) => $$"""
        {
          "name": "inject-options-client",
          "hosts": { "client": { "address": "10.0.0.1" }, "peer": { "address": "10.0.0.3", "kind": "scripted" } },
          "links": [ { "between": ["client", "peer"], "delay": "10ms" } ],
          "steps": [
            { "at": "0ms", "host": "client", "call": "connect", "to": "peer:80", "bind": { "port": 40000 }, "as": "c" },
            {{steps}}
          ],
          "expect": {{expect}}
        }
        """;

    [Fact]
    public void SynSent_SynAckWithoutOptions_ClientSendsTcpMssDefaultSegmentsUnscaled()
    {
        // tcp_v4_connect() starts mss_clamp at TCP_MSS_DEFAULT; a SYN-ACK without MSS leaves it there, and
        // without wscale neither side scales (tcp_rcv_synsent_state_process()): the client's ACK
        // advertises its SYN window 64240 unscaled, and its data goes out in 536-byte segments.
        var json = ClientAndPeer("""
            { "at": "10ms", "inject": { "from": "peer:80", "to": "client:40000", "flags": "S.", "seq": 7000, "ack": 1, "win": 65535 } },
            { "at": "30ms", "host": "client", "call": "send", "socket": "c", "bytes": 600 }
            """, """
            { "packets": [
                { "from": "client", "flags": "S", "at": "0ms", "win": 64240,
                  "options": { "mss": 1460, "sackOK": true, "ts": { "ecr": 0 }, "wscale": 10 } },
                { "from": "peer", "flags": "S.", "at": "10ms" },
                { "from": "client", "flags": ".", "seq": 1, "ack": 1, "at": "20ms", "win": 64240, "options": { "ts": false } },
                { "from": "client", "flags": ".", "seq": 1, "len": 536, "at": "30ms" },
                { "from": "client", "flags": "P.", "seq": 537, "len": 64, "at": "30ms" } ] }
            """);

        var result = RunnerAssert.Run(json);

        RunnerAssert.Passed(result);
    }

    [Fact]
    public void SynSent_SynAckEchoingAFutureTsval_ResetAndPawsActive()
    {
        // tcp_rcv_synsent_state_process(): a TSecr outside [the first SYN's TSval, now] is PAWS-rejected
        // (PAWSActive) and answered with a RST at the SYN-ACK's ack (reset_and_undo → tcp_v4_send_reset());
        // the connection stays in SYN-SENT and its SYN is retransmitted when the timer wheel runs the 1 s
        // RTO: 250 jiffies is level 1, the next multiple of 8 jiffies after expiry, 256 (1.024 s).
        var json = ClientAndPeer("""
            { "at": "10ms", "inject": { "from": "peer:80", "to": "client:40000", "flags": "S.", "seq": 7000, "ack": 1,
                                        "options": { "mss": 1460, "ts": { "val": 1, "ecr": 4294967295 } } } },
            { "at": "100ms", "expect": { "sockets": [ { "socket": "c", "state": "SYN-SENT" } ],
                                         "counters": { "client": { "TcpExt.PAWSActive": 1 } } } }
            """, """
            { "packets": [
                { "from": "client", "flags": "S", "at": "0ms" },
                { "from": "peer", "flags": "S.", "at": "10ms" },
                { "from": "client", "flags": "R", "seq": 1, "at": "20ms", "options": { "ts": false } },
                { "from": "client", "flags": "S", "seq": 0, "at": "1024ms" } ],
              "noPackets": [ { "from": "client", "flags": "." } ] }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void Established_AckWithTwoSackBlocks_SackedSegmentsAreNeverResent()
    {
        // The SYN-ACK's "ecr": "echo" echoes the client's SYN TSval (so PAWS passes); MSS 1000 less the
        // timestamp gives 988-byte segments. An ACK of the first with SACK blocks for the third and fifth
        // tags both (tcp_sacktag_write_queue()): the SACKed segments are never sent again, and RACK
        // (tcp_rack_detect_loss()) resends the hole at the head. The window is scaled: the client offered
        // wscale 10 and the peer 0, so 64240 goes out as 63 (ALIGN(64240, 1024) >> 10).
        var json = ClientAndPeer("""
            { "at": "10ms", "inject": { "from": "peer:80", "to": "client:40000", "flags": "S.", "seq": 7000, "ack": 1, "win": 65535,
                                        "options": { "mss": 1000, "sackOK": true, "ts": { "val": 500, "ecr": "echo" }, "wscale": 0 } } },
            { "at": "30ms", "host": "client", "call": "send", "socket": "c", "bytes": 4940 },
            { "at": "40ms", "inject": { "from": "peer:80", "to": "client:40000", "flags": ".", "seq": 7001, "ack": 989, "win": 65535,
                                        "options": { "ts": { "val": 510, "ecr": "echo" }, "sack": [ [1977, 2965], [3953, 4941] ] } } }
            """, """
            { "packets": [
                { "from": "client", "flags": ".", "seq": 1, "ack": 1, "at": "20ms", "win": 63, "options": { "ts": { "ecr": 500 } } },
                { "from": "client", "flags": ".", "seq": 1, "len": 988, "at": "30ms", "win": 63 },
                { "from": "client", "flags": "P.", "seq": 989, "len": 988, "at": "30ms" },
                { "from": "client", "flags": ".", "seq": 1977, "len": 988, "at": "30ms" },
                { "from": "client", "flags": "P.", "seq": 2965, "len": 988, "at": "30ms" },
                { "from": "client", "flags": "P.", "seq": 3953, "len": 988, "at": "30ms" },
                { "from": "peer", "flags": ".", "at": "40ms", "options": { "sack": [ [1977, 2965], [3953, 4941] ] } },
                { "from": "client", "flags": ".", "seq": 989, "len": 988, "at": "40ms..60ms", "options": { "ts": { "ecr": 510 } } } ],
              "noPackets": [ { "from": "client", "flags": ".", "seq": 1977, "at": "31ms..1h" },
                             { "from": "client", "flags": "P.", "seq": 3953, "at": "31ms..1h" } ] }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void Established_SackThenNewDataSent_ReorderTimerIsNotReplacedByALossProbe()
    {
        // The example scenario: with SACKed data outstanding the socket is in TCP_CA_Disorder, so the
        // segment the SACK's window update lets out schedules no loss probe (tcp_schedule_loss_probe()
        // only in Open/CWR) and the RACK reorder timer is armed when the SACK arrives at 80 ms (jiffy 20): the
        // hole was sent at 50 ms, rack.rtt_us = 30,000 (the SACKed segments, also sent at 50 ms), reo_wnd =
        // min(min_rtt 29 ms / 4, srtt) = 7,250 µs, so remaining = 30,000 + 7,250 − 30,000 = 7,250 µs and
        // tcp_rack_mark_lost() arms usecs_to_jiffies(7,250 + TCP_TIMEOUT_MIN_US) = 3 jiffies: expires at jiffy 23
        // and, on level 0 of the timer wheel, runs one jiffy later: 96 ms, resending the hole (tcp_rack_reo_timeout()).
        // The window update lets out the tail skb (1048 bytes from 3953) up to the window's end, 989 + 4000: its first
        // 988 bytes, and — tcp_mss_split_point(): needed = min(1048, 1036), no small segment unacknowledged, so
        // tcp_nagle_check() holds nothing — the 48 bytes up to 4989 in the same TSO chunk.
        var json = File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, "scripted-peer-negotiates-options.json"));

        var result = RunnerAssert.Run(json);

        RunnerAssert.Passed(result);
        var sent = Sent(result, "server").Where(e => e.Reason != "tcp_sendmsg" && e.Len > 0).ToList();
        Assert.Equal(
            [(new SimTime(80_000_000), 3953u, 988, "tcp_data_snd_check"), (new SimTime(80_000_000), 4941u, 48, "tcp_data_snd_check")],
            sent.Take(2).Select(e => (e.At, e.SeqNo - sent[0].SeqNo + 3953u, e.Len, e.Reason)));
        Assert.Equal((new SimTime(96_000_000), 989u), (sent[2].At, sent[2].SeqNo - sent[0].SeqNo + 3953u));
    }
}
