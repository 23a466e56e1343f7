using SimService.Domain.Journal;
using SimService.Domain.Network;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>
/// A segment to or from port 0 is one like any other on Linux (6.18.44 in a netns, raw segments over lo, session 26):
/// no socket has port 0 — bind() to it picks an ephemeral port, an unbound socket is not hashed — so tcp_v4_rcv()'s
/// lookup finds none and tcp_v4_send_reset() answers from port 0 (a SYN: R. seq 0 ack 1001; an ACK of 5: R seq 5), and a
/// listener answers a SYN from port 0 with a SYN-ACK to port 0 (tcp_conn_request() checks no port). An inject step
/// takes port 0 on either end (it was "port 1-65535").
/// </summary>
public class InjectPortZeroTests
{
    /// <summary>peer 10.0.0.3 (scripted) ↔ server 10.0.0.2 (Linux), 10 ms; the server listens on 80 and holds an unbound socket.</summary>
    static string PeerAndServer(string inject) => $$"""
        {
          "name": "inject-port-zero",
          "hosts": { "server": { "address": "10.0.0.2" }, "peer": { "address": "10.0.0.3", "kind": "scripted" } },
          "links": [ { "between": ["peer", "server"], "delay": "10ms" } ],
          "steps": [
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "0ms", "host": "server", "call": "socket", "as": "unbound" },
            { "at": "1ms", "inject": {{inject}} }
          ]
        }
        """;

    /// <summary>The server's first segment (a SYN-ACK is then resent: the peer never answers).</summary>
    static SegmentSent Reply(string inject)
    {
        var result = RunnerAssert.Run(PeerAndServer(inject));
        RunnerAssert.Passed(result);
        return result.Simulation.Journal.OfType<SegmentSent>().First(e => e.Host == "server");
    }

    [Fact]
    public void Inject_SynToPortZero_ResetFromPortZero()
    {
        var rst = Reply("""{ "from": "peer:4000", "to": "server:0", "flags": "S", "seq": 1000 }""");

        Assert.Equal((11_000_000L, TcpFlags.Rst | TcpFlags.Ack, 0u, 1001u), (rst.At.Ns, rst.Flags, rst.SeqNo, rst.AckNo));
        Assert.Equal(("10.0.0.2:0", "10.0.0.3:4000"), (rst.Tuple.Local.ToString(), rst.Tuple.Remote.ToString()));
    }

    [Fact]
    public void Inject_AckToPortZero_ResetWithItsAckAsSeq()
    {
        var rst = Reply("""{ "from": "peer:4001", "to": "server:0", "flags": ".", "seq": 1000, "ack": 5 }""");

        Assert.Equal((TcpFlags.Rst, 5u), (rst.Flags, rst.SeqNo));
        Assert.Equal(("10.0.0.2:0", "10.0.0.3:4001"), (rst.Tuple.Local.ToString(), rst.Tuple.Remote.ToString()));
    }

    [Fact]
    public void Inject_SynFromPortZeroToAListener_SynAckToPortZero()
    {
        var synAck = Reply("""{ "from": "peer:0", "to": "server:80", "flags": "S", "seq": 1000 }""");

        Assert.Equal((11_000_000L, TcpFlags.Syn | TcpFlags.Ack, 1001u), (synAck.At.Ns, synAck.Flags, synAck.AckNo));
        Assert.Equal(("10.0.0.2:80", "10.0.0.3:0"), (synAck.Tuple.Local.ToString(), synAck.Tuple.Remote.ToString()));
    }
}
