using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tests.Scenarios.Runner;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_event_data_sent() (net/ipv4/tcp_output.c) runs for every segment with data that __tcp_transmit_skb() sends, a
/// retransmission too: data resent within ATO of the last data received is a quick reply (inet_csk_inc_pingpong_cnt()),
/// so the receiver leaves quick-ACK mode (tcp_in_quickack_mode() is false in ping-pong mode) and in-order data that does
/// not move the window's right edge waits for the delayed ACK. Observed on Linux 6.18.44 by
/// <c>simservice fuzz --profile loss</c>, seed 3, case 3 (docs/kernel-check.md, "Fuzzing loss recovery").
/// </summary>
public class PingPongRetransmitTests
{
    /// <summary>
    /// Seed 3, case 3 up to its last write: the client sends 10136 bytes over a link that loses 20 % of them (two
    /// lost), receives the server's first ten segments at 312 ms and ACKs each (quick ACKs), retransmits its two lost
    /// segments at 324 ms — within ATO of that data — and at 360 ms receives 20 more in-order segments but for two lost.
    /// </summary>
    const string Case = """
        {
          "name": "pingpong-after-retransmission",
          "hosts": {
            "client": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_orphan_retries": 3 } },
            "server": { "address": "10.0.0.2", "sysctls": { "net.ipv4.tcp_dsack": 0, "net.ipv4.tcp_recovery": 3, "net.ipv4.tcp_frto": 2 } }
          },
          "links": [ { "between": ["client", "server"], "delay": "41ms", "loss": 0, "lossBySegment": true } ],
          "steps": [
            { "at": "0ms", "link": { "between": ["client", "server"], "delay": "7ms", "direction": "server->client" } },
            { "at": "0ms", "host": "server", "process": "srv", "call": "listen", "port": 80, "as": "l" },
            { "at": "1ms", "host": "client", "process": "c1", "call": "connect", "to": "server:80", "as": "c1" },
            { "at": "163ms", "host": "server", "process": "srv", "call": "accept", "socket": "l", "as": "s1" },
            { "at": "219ms", "link": { "between": ["client", "server"], "loss": 0.2, "direction": "client->server" } },
            { "at": "219ms", "link": { "between": ["client", "server"], "loss": 0.05, "direction": "server->client" } },
            { "at": "276ms", "host": "client", "process": "c1", "call": "send", "socket": "c1", "bytes": 10136, "flags": ["MSG_DONTWAIT"] },
            { "at": "305ms", "host": "server", "process": "srv", "call": "send", "socket": "s1", "bytes": 65160, "flags": ["MSG_DONTWAIT"] }
          ],
          "runUntil": "100ms"
        }
        """;

    [Fact]
    public void Established_RetransmissionWithinAtoOfData_InOrderDataWaitsForTheDelayedAck()
    {
        var journal = RunnerAssert.Run(Case).Simulation.Journal;
        var sent = journal.OfType<SegmentSent>().ToList();
        uint clientIsn = sent.First(s => s.Host == "client" && s.Flags == TcpFlags.Syn).SeqNo;
        uint serverIsn = sent.First(s => s.Host == "server" && s.Flags.Has(TcpFlags.Syn)).SeqNo;
        string Sack(SackBlocks b) => string.Join(" ", new[] { b.B1, b.B2, b.B3, b.B4 }.Take(b.Count).Select(x => $"{x.Left - serverIsn}:{x.Right - serverIsn}"));

        var client = sent.Where(s => s.Host == "client" && s.At.Ns is > 320_000_000 and < 365_000_000)
            .Select(s => $"{s.At.Ns / 100_000 / 10.0}ms {s.Flags.ToLetters()} {s.SeqNo - clientIsn}:{s.SeqNo - clientIsn + (uint)s.Len} ack {s.AckNo - serverIsn} {Sack(s.Options.Sack)}".TrimEnd())
            .ToList();

        // 6.18.44: the two retransmissions at 324 ms (330.9 ms on the kernel), then nothing for the nine in-order
        // segments of 360 ms; the first ACK is the out-of-order one, three at once and the fourth compressed
        // (tcp_sack_compress, TCP_FASTRETRANS_THRESH). The engine ACKed each of the nine (quick ACKs) before.
        Assert.Equal(
        [
            "324ms . 1449:2897 ack 14481",
            "324ms . 4345:5793 ack 14481",
            "360ms . 10137:10137 ack 27333 28761:30189",
            "360ms . 10137:10137 ack 27333 28761:31617",
            "360ms . 10137:10137 ack 27333 28761:33045",
            "361.1ms . 10137:10137 ack 27333 37329:43041 28761:35901",
        ], client);
    }
}
