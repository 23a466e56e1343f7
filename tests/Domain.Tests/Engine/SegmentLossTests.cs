using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;
using SimService.Domain.Tests.Scenarios.Runner;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// A link's loss by segment (<c>lossBySegment</c>): the draw follows what a segment is, relative to each side's ISN, so
/// two runs with other ISNs, ports and extra pure ACKs lose the same segments — the engine's and the kernel's behind
/// the link emulator.
/// </summary>
public class SegmentLossTests
{
    static Endpoint At(string address, ushort port) => new(IPv4.Parse(address), port);

    /// <summary>One connection's segments (client ISN <paramref name="c"/>, server ISN <paramref name="s"/>): the draws in order.</summary>
    static List<double> Draws(SegmentLoss loss, ushort port, uint c, uint s, bool extraAck)
    {
        var client = At("10.0.0.1", port);
        var server = At("10.0.0.2", 80);
        var draws = new List<double>
        {
            loss.Draw(client, server, TcpFlags.Syn, c, 0, 0),
            loss.Draw(server, client, TcpFlags.Syn | TcpFlags.Ack, s, c + 1, 0),
            loss.Draw(client, server, TcpFlags.Ack, c + 1, s + 1, 0),
            loss.Draw(client, server, TcpFlags.Ack | TcpFlags.Psh, c + 1, s + 1, 1448),
        };
        if (extraAck) loss.Draw(server, client, TcpFlags.Ack, s + 1, c + 1, 0); // a window update the other run did not send
        draws.Add(loss.Draw(client, server, TcpFlags.Ack, c + 1449, s + 1, 1448));
        draws.Add(loss.Draw(server, client, TcpFlags.Ack, s + 1, c + 2897, 0));
        draws.Add(loss.Draw(client, server, TcpFlags.Ack, c + 1, s + 1, 1448)); // the first segment again, PSH off
        draws.Add(loss.Draw(client, server, TcpFlags.Fin | TcpFlags.Ack, c + 2897, s + 1, 0));
        return draws;
    }

    [Fact]
    public void Draw_SameSegmentsOtherIsnsPortsAndAnExtraAck_SameDraws()
    {
        var engine = Draws(new SegmentLoss(7), 40000, 1000, 5000, extraAck: false);
        var kernel = Draws(new SegmentLoss(7), 51234, 0xFFFFFF00, 123, extraAck: true);

        Assert.Equal(engine, kernel);
        Assert.All(engine, d => Assert.InRange(d, 0.0, 1.0));
        Assert.Equal(engine.Count, engine.Distinct().Count()); // the retransmission (index 6) is a draw of its own
        Assert.NotEqual(engine, Draws(new SegmentLoss(8), 40000, 1000, 5000, extraAck: false));
    }

    /// <summary>
    /// The draw is a fixed function of the seed and the segment, the same in every process and on every machine (no
    /// per-process hash seed): these values were computed outside .NET from SplitMix64's finalizer over the fields
    /// (connection 0, from the lower endpoint, seq and ack relative to the ISNs, flags without PSH, length, times sent).
    /// </summary>
    [Fact]
    public void Draw_FixedSegments_ValuesPinnedAcrossProcesses()
    {
        var loss = new SegmentLoss(7);
        var client = At("10.0.0.1", 40000);
        var server = At("10.0.0.2", 80);

        Assert.Equal(0.548026018647635, loss.Draw(client, server, TcpFlags.Syn, 1000, 0, 0));
        loss.Draw(server, client, TcpFlags.Syn | TcpFlags.Ack, 5000, 1001, 0);
        Assert.Equal(0.062078968318921235, loss.Draw(client, server, TcpFlags.Ack | TcpFlags.Psh, 1001, 5001, 1448));
    }

    /// <summary>
    /// The limit of "the same segments lose the same": the window is not hashed, so a window update one run sends and
    /// the other does not is an earlier sending of the duplicate ACK that follows with the same seq and ack — that ACK
    /// gets the draw of a second sending.
    /// </summary>
    [Fact]
    public void Draw_ExtraAckSameAsALaterDuplicateAck_ThatAckDrawsAsItsSecondSending()
    {
        var client = At("10.0.0.1", 40000);
        var server = At("10.0.0.2", 80);
        double DupAck(bool windowUpdateFirst)
        {
            var loss = new SegmentLoss(7);
            loss.Draw(client, server, TcpFlags.Syn, 1000, 0, 0);
            loss.Draw(server, client, TcpFlags.Syn | TcpFlags.Ack, 5000, 1001, 0);
            if (windowUpdateFirst) loss.Draw(server, client, TcpFlags.Ack, 5001, 1001, 0);
            return loss.Draw(server, client, TcpFlags.Ack, 5001, 1001, 0);
        }

        // SplitMix64 over (connection 0, from the higher endpoint, seq 1, ack 1, ACK, length 0, sent 0 or 1 times before).
        Assert.Equal(0.30829026578524865, DupAck(windowUpdateFirst: false));
        Assert.Equal(0.8606766273263422, DupAck(windowUpdateFirst: true));
    }

    /// <summary>
    /// A new connection on the same four-tuple (another ISN) forgets the old one's segment counts, and its draws are
    /// those of a new connection (the link's second), as before the counts were kept per connection.
    /// </summary>
    [Fact]
    public void Draw_NewConnectionOnTheSameFourTuple_ForgetsTheOldCountsDrawsUnchanged()
    {
        var loss = new SegmentLoss(7);
        var first = Draws(loss, 40000, 1000, 5000, extraAck: false);
        int afterFirst = loss.SegmentsRemembered;
        var second = Draws(loss, 40000, 90000, 7000, extraAck: false);
        var reference = new SegmentLoss(7);
        Draws(reference, 40001, 1, 2, extraAck: false); // another four-tuple takes number 0: the same draws for number 1

        Assert.Equal(7, afterFirst); // 8 segments, one sent twice
        Assert.Equal(7, loss.SegmentsRemembered); // not 14: the first connection's counts are gone
        Assert.NotEqual(first, second);
        Assert.Equal(Draws(reference, 40000, 3, 4, extraAck: false), second);
    }

    const string Steps = """
        { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
        { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c" },
        { "at": "100ms", "host": "server", "call": "accept", "socket": "listener", "as": "s" },
        { "at": "110ms", "link": { "between": ["client", "server"], "loss": 0.1 } },
        { "at": "110ms", "host": "client", "call": "send", "socket": "c", "bytes": 20000 },
        { "at": "110ms", "host": "client", "call": "close", "socket": "c" }
        """;

    static string Document(bool bySegment, string steps = Steps) => $$"""
        {
          "name": "loss-by-segment", "seed": 3,
          "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
          "links": [ { "between": ["client", "server"], "delay": "10ms", "lossBySegment": {{(bySegment ? "true" : "false")}} } ],
          "steps": [ {{steps}} ],
          "runUntil": "20s"
        }
        """;

    /// <summary>The segments a run lost: the sender's host, flags, sequence relative to its first SYN, length.</summary>
    static List<string> Lost(ScenarioRunResult run)
    {
        var isn = run.Simulation.Journal.OfType<SegmentSent>().Where(s => s.Flags.Has(TcpFlags.Syn))
            .GroupBy(s => s.Host).ToDictionary(g => g.Key, g => g.First().SeqNo);
        return [.. run.Simulation.Journal.OfType<SegmentDropped>()
            .Select(d => $"{d.Host} {d.Flags.ToLetters()} {d.SeqNo - isn[d.Host]}:{d.Len} ({d.Reason})")];
    }

    [Fact]
    public void Scenario_LossBySegment_LosesTheSegmentsItsHashPicks()
    {
        var parsed = ScenarioParser.Parse(Document(bySegment: true)).Document!;
        Assert.True(Assert.Single(parsed.Links).LossBySegment);
        Assert.Contains("\"lossBySegment\": true", ScenarioWriter.ToJson(parsed), StringComparison.Ordinal);

        var keyed = Lost(RunnerAssert.Run(Document(bySegment: true)));
        var drawn = Lost(RunnerAssert.Run(Document(bySegment: false)));

        // Linux 6.18.44 behind the link emulator (`simservice kernel --trace`, 2026-12-05 09:28 UTC) loses the same three;
        // a fourth, a second duplicate ACK, went before RACK ordered stamps of one instant by clock read (D35).
        Assert.Equal(["client P. 1449:1448 (loss)", "client P. 7241:1448 (loss)", "server . 1:0 (loss)"], keyed);
        Assert.NotEqual(drawn, keyed);
    }

    /// <summary>
    /// A <c>link</c> step with <c>lossBySegment</c> switches the link the links list left drawing from the generator: it
    /// loses exactly what the links list's lossBySegment loses (nothing was drawn before the step, so the fresh draw has
    /// the same counts and connection numbers), the step is written back, and the journal's link changes carry it.
    /// </summary>
    [Fact]
    public void Scenario_LinkStepLossBySegment_LosesWhatTheLinksListWould()
    {
        var steps = Steps.Replace("\"loss\": 0.1 }", "\"loss\": 0.1, \"lossBySegment\": true }", StringComparison.Ordinal);
        var parsed = ScenarioParser.Parse(Document(bySegment: false, steps)).Document!;
        var oneWay = ScenarioParser.Parse(Document(bySegment: false, steps.Replace("\"lossBySegment\"", "\"direction\": \"client->server\", \"lossBySegment\"", StringComparison.Ordinal)));

        var run = RunnerAssert.Run(Document(bySegment: false, steps));

        Assert.True(parsed.Steps.OfType<LinkStep>().Single().LossBySegment);
        Assert.Contains("\"lossBySegment\": true", ScenarioWriter.ToJson(parsed), StringComparison.Ordinal);
        Assert.Contains(oneWay.Errors, e => e.Message.Contains("whole link", StringComparison.Ordinal));
        Assert.Equal(["client P. 1449:1448 (loss)", "client P. 7241:1448 (loss)", "server . 1:0 (loss)"], Lost(run)); // the kernel's too
        Assert.Equal([(0.1, true), (0.1, true)], run.Simulation.Journal.OfType<LinkChanged>().Select(e => (e.Loss, e.LossBySegment)));
    }
}
