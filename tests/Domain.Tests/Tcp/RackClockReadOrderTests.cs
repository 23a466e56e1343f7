using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tests.Scenarios.Runner;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_skb_sent_after() (include/net/tcp.h), which tcp_rack_detect_loss() and tcp_rack_advance() (net/ipv4/tcp_recovery.c)
/// use, compares the skbs' send stamps (tcp_skb_timestamp_us()) before their end_seq. Each segment the socket processes
/// reads the clock again (tcp_rcv_established(): tcp_mstamp_refresh()), so what it sends on a later ACK of a burst that
/// arrives at one virtual instant carries a later stamp than what it sent on an earlier one, whatever their sequence
/// numbers. Observed on Linux 6.18.44 by <c>simservice fuzz --profile loss</c>, seed 4, case 2 (docs/kernel-check.md,
/// "Fuzzing loss recovery", D35).
/// </summary>
public class RackClockReadOrderTests
{
    /// <summary>
    /// Seed 4, case 2 up to its second write: 11 ms client → server, 21 ms back, 30 % loss each way drawn by segment. The
    /// client's 24560 bytes lose 1:5793 and 13033:14481; at 279 ms three of the server's SACK ACKs arrive at one instant:
    /// on the first the client sends new data 14481:15901, on the third it enters recovery and resends 1:4317 (1:1421
    /// lost again). At 311 ms the ACK SACKing 14481:15901 arrives, at 312.1 ms the one SACKing 1421:4317.
    /// </summary>
    const string Case = """
        {
          "name": "rack-clock-read-order",
          "hosts": {
            "client": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_dsack": 0, "net.ipv4.tcp_frto": 2, "net.ipv4.tcp_retries2": 6 } },
            "server": { "address": "10.0.0.2", "sysctls": { "net.ipv4.tcp_early_retrans": 3, "net.ipv4.tcp_frto": 0, "net.ipv4.tcp_retries2": 4 } }
          },
          "links": [ { "between": ["client", "server"], "delay": "11ms", "loss": 0, "lossBySegment": true } ],
          "steps": [
            { "at": "0ms", "link": { "between": ["client", "server"], "delay": "21ms", "direction": "server->client" } },
            { "at": "0ms", "host": "server", "process": "srv", "call": "listen", "port": 80, "as": "l" },
            { "at": "1ms", "host": "client", "process": "c1", "call": "connect", "to": "server:80", "as": "c1" },
            { "at": "115ms", "host": "server", "process": "srv", "call": "accept", "socket": "l", "as": "s1" },
            { "at": "171ms", "link": { "between": ["client", "server"], "loss": 0.3, "direction": "client->server" } },
            { "at": "171ms", "link": { "between": ["client", "server"], "loss": 0.3, "direction": "server->client" } },
            { "at": "235ms", "host": "server", "process": "srv", "call": "send", "socket": "s1", "bytes": 17376, "flags": ["MSG_DONTWAIT"] },
            { "at": "247ms", "host": "client", "process": "c1", "call": "send", "socket": "c1", "bytes": 24560, "flags": ["MSG_DONTWAIT"] }
          ],
          "runUntil": "70ms"
        }
        """;

    [Fact]
    public void Recovery_SackOfDataSentOnAnEarlierAckOfOneInstant_RetransmissionsSentLaterNotLost()
    {
        var journal = RunnerAssert.Run(Case).Simulation.Journal;
        var sent = journal.OfType<SegmentSent>().ToList();
        uint isn = sent.First(s => s.Host == "client" && s.Flags == TcpFlags.Syn).SeqNo;

        var client = sent.Where(s => s.Host == "client" && s.Len > 0 && s.At.Ns is > 270_000_000 and < 316_000_000)
            .Select(s => $"{s.At.Ns / 100_000 / 10.0}ms {s.Flags.ToLetters()} {s.SeqNo - isn}:{s.SeqNo - isn + (uint)s.Len}")
            .ToList();

        // 6.18.44: 14481:15901 and the resends at 279 ms; at 312.1 ms 4317:5737 alone (the SACK of 14481:15901, sent on an
        // earlier ACK than the resends, marks only 4317:5793 and 13033:14481 lost; one segment of room), at 313.9 ms
        // 1:1421 (the SACK of 1421:4317, sent after it), the one-segment rest 5737:5793 without PSH, and 13033:14453.
        // The engine used to judge all of 279 ms by end_seq: 1:1421 lost at once at 311 ms, and 4317:5793 resent whole.
        Assert.Equal(
        [
            "279ms . 14481:15901",
            "279ms . 1:1421",
            "279ms P. 1421:2841",
            "279ms . 2841:2897",
            "279ms . 2897:4317",
            "311ms . 4317:5737",
            "312.1ms . 1:1421",
            "312.1ms . 5737:5793",
            "312.1ms . 13033:14453",
        ], client);
    }
}
