extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile loss</c>: the loss-recovery generator is a pure function of (seed, case); every case is a
/// schema-valid scenario the kernel runner takes and passes on the engine with its results written in within 60 s of
/// virtual time; it draws what it says (a link losing by segment, each direction its own loss and often its own delay,
/// bulk writes of several MSS and of TSO size, teardown calls with SO_LINGER, since session 37 a client's process killed, lingering or not, the recovery sysctls), and on the engine
/// the loss takes the segments the profile is about: a FIN, the ACK of a FIN, the last data segment of a write, an ACK
/// carrying SACK blocks.
/// </summary>
public sealed class LossFuzzTests
{
    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(LossFuzzCase.Draw, "fuzz-loss-7-3");

    [Fact]
    public void Draw_TwentyCasesOfTwoSeeds_ValidRunOnTheEngineAndDrawWhatTheProfileSays()
    {
        int asymmetric = 0, bulk = 0, tso = 0, linger = 0, shutdowns = 0, lifted = 0, killed = 0, lingeringKilled = 0, idle = 0, sndbuf = 0, rcvbuf = 0, lateReads = 0;
        var sysctls = new HashSet<string>(StringComparer.Ordinal);
        var lost = new HashSet<string>(StringComparer.Ordinal);
        foreach (long seed in new long[] { 1, 2 })
            for (int number = 0; number < 20; number++)
            {
                string json = FuzzTests.CalibratedRunningOnTheEngine(LossFuzzCase.Draw(seed, number), number, LossFuzzCase.LongestNs);

                var doc = JsonNode.Parse(json)!;
                Assert.True(doc["links"]![0]!["lossBySegment"]!.GetValue<bool>());
                var steps = doc["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
                Assert.Contains(steps, s => s["link"]?["loss"]?.GetValue<double>() > 0);
                if (steps.Any(s => s["link"]?["delay"] is not null)) asymmetric++;
                long rttMs = (long)Ms(doc["links"]![0]!["delay"]!) + (long)Ms(steps.FirstOrDefault(s => s["link"]?["delay"] is not null)?["link"]!["delay"] ?? doc["links"]![0]!["delay"]!);
                Assert.True(rttMs % 4 != 0, $"seed {seed}, case {number}: an RTT of {rttMs} ms, a whole number of jiffies");
                if (steps.Any(s => s["link"]?["loss"]?.GetValue<double>() == 0.0)) lifted++;
                var sends = steps.Where(s => s["call"]?.GetValue<string>() == "send").Select(s => s["bytes"]!.GetValue<int>()).ToList();
                if (sends.Any(b => b >= 2 * 1448)) bulk++;
                if (sends.Any(b => b >= 45 * 1448)) tso++;
                if (steps.Any(s => s["option"]?.GetValue<string>() == "SO_LINGER")) linger++;
                if (steps.Any(s => s["call"]?.GetValue<string>() == "shutdown")) shutdowns++;
                if (sends.Count > 0 && steps.Where(s => s["call"]?.GetValue<string>() == "send").GroupBy(s => s["socket"]!.GetValue<string>())
                    .Any(g => g.Select(s => AtMs(s["at"]!)).Zip(g.Select(s => AtMs(s["at"]!)).Skip(1), (a, b) => b - a).Any(gap => gap >= 300))) idle++;
                if (steps.Any(s => s["option"]?.GetValue<string>() == "SO_SNDBUF")) sndbuf++;
                if (steps.Any(s => s["option"]?.GetValue<string>() == "SO_RCVBUF")) rcvbuf++;
                // A read on a socket after some other socket's close or shutdown: the peer may be an orphan by then.
                int firstTeardown = steps.FindIndex(s => s["call"]?.GetValue<string>() is "close" or "shutdown");
                if (firstTeardown >= 0 && steps.Skip(firstTeardown).Any(s => s["call"]?.GetValue<string>() == "recv")) lateReads++;
                var killedProcesses = steps.Where(s => s["kill"] is not null).Select(s => s["kill"]!["process"]!.GetValue<string>()).ToList();
                if (killedProcesses.Count > 0) killed++;
                if (steps.Any(s => s["option"]?.GetValue<string>() == "SO_LINGER" && s["value"]!["linger"]!.GetValue<int>() > 0
                    && killedProcesses.Contains(s["process"]!.GetValue<string>()))) lingeringKilled++;
                foreach (var host in new[] { "client", "server" })
                    foreach (var (name, _) in doc["hosts"]![host]!["sysctls"]?.AsObject() ?? []) sysctls.Add(name);
                Assert.Equal("expect", steps[^1].Select(p => p.Key).Last(k => k != "at"));
                lost.UnionWith(WhatWasLost(json));
            }
        Assert.InRange(asymmetric, 10, 38);
        Assert.InRange(lifted, 2, 30);
        Assert.InRange(bulk, 30, 40);
        Assert.InRange(tso, 5, 40);
        Assert.InRange(linger, 5, 40);
        Assert.InRange(shutdowns, 5, 40);
        Assert.InRange(killed, 3, 30);
        Assert.InRange(lingeringKilled, 1, 30);
        Assert.InRange(idle, 5, 30);
        Assert.InRange(sndbuf, 5, 30);
        Assert.InRange(rcvbuf, 5, 30);
        Assert.InRange(lateReads, 5, 40);
        Assert.Superset(new HashSet<string>(["net.ipv4.tcp_sack", "net.ipv4.tcp_dsack", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_early_retrans",
            "net.ipv4.tcp_recovery", "net.ipv4.tcp_frto", "net.ipv4.tcp_retries2", "net.ipv4.tcp_orphan_retries",
            "net.ipv4.tcp_congestion_control", "net.ipv4.tcp_slow_start_after_idle"]), sysctls);
        Assert.Superset(new HashSet<string>(["FIN", "ACK of a FIN", "last data segment", "ACK with SACK blocks", "retransmission"]), lost);
    }

    /// <summary>A step's time ("37ms", "3952500us", "2s") in milliseconds.</summary>
    static double AtMs(JsonNode at)
    {
        string text = at.GetValue<string>();
        int unit = text.IndexOfAny(['n', 'u', 'm', 's']);
        double value = double.Parse(text[..unit], System.Globalization.CultureInfo.InvariantCulture);
        return text[unit..] switch { "ns" => value / 1e6, "us" => value / 1e3, "ms" => value, _ => value * 1e3 };
    }

    static double Ms(JsonNode delay) => double.Parse(delay.GetValue<string>().TrimEnd('m', 's'), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// loss-21-1 (41 ms each way): the server's send was drawn 371 ms and moved 50 ms, the old search's limit, to 421 ms —
    /// exactly the arrival of the client's 380 ms burst, so on the kernel, whose burst the emulator spread over 6 ms, the
    /// send met the first segment's ACK and not the rest, and its data left before the duplicate ACKs. The search goes on
    /// past 50 ms to the first time 12 ms clear of every step of the last 300 ms and of one to three delays after it.
    /// </summary>
    [Fact]
    public void AwayFromArrivals_NoClearTimeWithin50Ms_SearchesOnToAClearOne()
    {
        const long ms = 1_000_000;
        long[] steps = [0, 1 * ms, 91 * ms, 355 * ms, 356 * ms, 368 * ms, 368 * ms, 380 * ms];
        long[] delays = [41 * ms, 41 * ms, 82 * ms];

        long at = FuzzSteps.AwayFromArrivals(371 * ms, steps, delays, 12 * ms);

        Assert.Equal(556 * ms, at);
        Assert.All(steps, s => Assert.All(delays, d => Assert.All(Enumerable.Range(0, 4), k => Assert.True(Math.Abs(at - (s + k * d)) >= 12 * ms))));
    }

    /// <summary>With no clear time within the search (a step every 50 ms, 30 ms to keep clear), the step goes to the time farthest from every step and arrival, the earliest of equals.</summary>
    [Fact]
    public void AwayFromArrivals_NoClearTimeAtAll_TakesTheFarthestFromEveryArrival()
    {
        const long ms = 1_000_000;
        var steps = Enumerable.Range(0, 21).Select(i => i * 50 * ms).ToArray();

        long at = FuzzSteps.AwayFromArrivals(10 * ms, steps, [1000 * ms], 30 * ms);

        Assert.Equal(25 * ms, at);
    }

    /// <summary>The EDGE verdict's slower links lengthen the delay a link step gives one direction too (an asymmetric case's).</summary>
    [Fact]
    public void Edge_AsymmetricCase_BothDirectionsDelaysLengthened()
    {
        var json = Enumerable.Range(0, 20).Select(n => FuzzCase.Calibrate(LossFuzzCase.Draw(1, n).Draft).Json!)
            .First(j => JsonNode.Parse(j)!["steps"]!.AsArray().Any(s => s!["link"]?["delay"] is not null));
        string Delays(string doc) => string.Join(" ", new[] { JsonNode.Parse(doc)!["links"]![0]!["delay"]!.GetValue<string>() }
            .Concat(JsonNode.Parse(doc)!["steps"]!.AsArray().Select(s => s!["link"]?["delay"]?.GetValue<string>()).OfType<string>()));

        var before = Delays(json).Split(' ').Select(d => int.Parse(d[..^2], System.Globalization.CultureInfo.InvariantCulture) * 1000);
        var after = Delays(FuzzEdge.Lengthened(json, 0.3)!).Split(' ').Select(d => int.Parse(d[..^2], System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(before.Select(us => us + 300), after);
    }

    /// <summary>What the loss took in a case's engine run, by kind.</summary>
    static IEnumerable<string> WhatWasLost(string json)
    {
        var journal = ScenarioRunner.Run(ScenarioParser.Parse(json).Document!).Simulation.Journal;
        var sent = journal.OfType<SegmentSent>().ToList();
        var fins = sent.Where(s => s.Flags.Has(TcpFlags.Fin)).Select(s => (s.Tuple.Reversed, s.SeqNo + (uint)s.Len + 1)).ToHashSet();
        var highest = sent.Where(s => s.Len > 0).GroupBy(s => s.Tuple).ToDictionary(g => g.Key, g => g.Max(s => s.SeqNo + (uint)s.Len));
        var seen = new HashSet<(FourTuple, uint, int)>();
        foreach (var segment in sent)
        {
            bool again = !seen.Add((segment.Tuple, segment.SeqNo, segment.Len)) && segment.Len > 0;
            if (!journal.OfType<SegmentDropped>().Any(d => d.SegmentId == segment.SegmentId && d.Reason == "loss")) continue;
            if (segment.Flags.Has(TcpFlags.Fin)) yield return "FIN";
            if (segment.Flags.Has(TcpFlags.Ack) && fins.Contains((segment.Tuple, segment.AckNo))) yield return "ACK of a FIN";
            if (segment.Len > 0 && segment.SeqNo + (uint)segment.Len == highest[segment.Tuple]) yield return "last data segment";
            if (segment.Len == 0 && segment.Options.HasSack) yield return "ACK with SACK blocks";
            if (again) yield return "retransmission";
        }
    }
}
