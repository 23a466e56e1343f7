extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;
using cli::SimService.Cli.Kernel;
using cli::SimService.Cli.Running;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile timers</c>: the timer-teardown generator is a pure function of (seed, case); every case is
/// a schema-valid scenario the kernel runner takes, passes on the engine with its results written in within 90 s of
/// virtual time, and draws what the other profiles do not (a black hole while data is in flight, both ways too, timer
/// sysctls, zero-window writers); the judge reports a planted difference in a timer's retransmission.
/// </summary>
public sealed class TimersFuzzTests
{
    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument() => FuzzTests.AssertDeterministic(TimersFuzzCase.Draw, "fuzz-timers-7-3");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Draw_EveryCaseOfASeed_ValidatesAgainstTheSchemaAndPassesOnTheEngine(long seed)
    {
        int twoWay = 0, timerSysctls = 0, bigWriters = 0, lifted = 0;
        for (int number = 0; number < 20; number++)
        {
            string json = FuzzTests.CalibratedRunningOnTheEngine(TimersFuzzCase.Draw(seed, number), number, TimersFuzzCase.LongestNs);

            var doc = JsonNode.Parse(json)!;
            var steps = doc["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
            var holes = steps.Where(s => s["link"]?["loss"]?.GetValue<double>() == 1.0).ToList();
            Assert.InRange(holes.Count, 1, 2);
            if (holes.Count == 2) twoWay++;
            if (steps.Any(s => s["link"]?["loss"]?.GetValue<double>() == 0.0)) lifted++;
            if (new[] { "client", "server" }.Any(h => doc["hosts"]![h]!["sysctls"] is JsonObject)) timerSysctls++;
            if (steps.Any(s => s["call"]?.GetValue<string>() == "send" && s["bytes"]!.GetValue<int>() >= 200_000)) bigWriters++;
            Assert.Equal("expect", steps[^1].Select(p => p.Key).Last(k => k != "at"));
        }
        Assert.InRange(twoWay, 2, 18);
        Assert.InRange(lifted, 2, 18);
        Assert.InRange(timerSysctls, 10, 20);
        Assert.InRange(bigWriters, 2, 20);
    }

    /// <summary>
    /// Since session 33 a case may change one timer sysctl of one host while it runs (drawn after everything else): over
    /// 40 cases of seed 33031, 19 draw it, each a single sysctl of the timer set on the client or the server, after the
    /// black hole began; every case passes on the engine; in 3 the change moves the segments (a timer reads the new
    /// value when it fires: 33031-8's orphan_retries, 33031-33's and -34's retries2), and the same step setting the
    /// value the host already had moves nothing (the wrong input). A case without the draw is the one the seed drew
    /// before: timers 33031-4's end as before session 33.
    /// </summary>
    [Fact]
    public void Draw_SysctlChangedWhileRunning_ATimerReadsTheNewValue()
    {
        int changed = 0, moved = 0;
        for (int number = 0; number < 40; number++)
        {
            string json = FuzzTests.CalibratedRunningOnTheEngine(TimersFuzzCase.Draw(33031, number), number, TimersFuzzCase.LongestNs);
            var doc = JsonNode.Parse(json)!.AsObject();
            var steps = doc["steps"]!.AsArray();
            if (steps.SingleOrDefault(s => s!["sysctl"] is not null) is not { } change) continue;
            changed++;
            var values = change["sysctl"]!["values"]!.AsObject();
            var (name, value) = Assert.Single(values);
            Assert.True(name.StartsWith("net.ipv4.", StringComparison.Ordinal) && Defaults.ContainsKey(name["net.ipv4.".Length..]), name);
            string host = change["sysctl"]!["host"]!.GetValue<string>();
            Assert.Contains(host, new[] { "client", "server" });
            long hole = steps.Where(s => s!["link"]?["loss"]?.GetValue<double>() == 1.0).Min(s => At(s!));
            Assert.True(At(change) >= hole, $"case {number}: the change before the black hole");

            // The host's value before the step: set again, it is no change at all, and nothing moves.
            int before = doc["hosts"]![host]!["sysctls"]?[name]?.GetValue<int>() ?? Defaults[name["net.ipv4.".Length..]];
            int drawn = value!.GetValue<int>();
            var asDrawn = EnginePackets(doc);
            values[name] = before;
            var unchanged = EnginePackets(doc);
            steps.Remove(change);
            Assert.True(unchanged.SequenceEqual(EnginePackets(doc)), $"case {number}: {name} set to its own value moved a segment");
            if (drawn != before && !asDrawn.SequenceEqual(unchanged)) moved++;
        }
        Assert.Equal(19, changed);
        Assert.Equal(3, moved);
        // Timers 33031-4 draws no change: its end as before session 33.
        var case4 = TimersFuzzCase.Draw(33031, 4).Draft;
        Assert.Equal("10272ms", case4["runUntil"]!.GetValue<string>());
        Assert.Equal("26301500us", case4["steps"]!.AsArray()[^1]!["at"]!.GetValue<string>());
    }

    /// <summary>The kernel's defaults of the timer sysctls the timers profile changes while a case runs.</summary>
    static readonly Dictionary<string, int> Defaults = new(StringComparer.Ordinal)
    {
        ["tcp_retries2"] = 15, ["tcp_orphan_retries"] = 0, ["tcp_fin_timeout"] = 60, ["tcp_keepalive_intvl"] = 75, ["tcp_keepalive_probes"] = 9,
    };

    /// <summary>The segments of <paramref name="doc"/> run on the engine.</summary>
    static List<OutcomePacket> EnginePackets(JsonObject doc) =>
        [.. RunOutcome.OfEngine(ScenarioParser.Parse(doc.ToJsonString()).Document!).Packets];

    static long At(JsonNode step) =>
        DurationText.TryParseFormat(step["at"]!.GetValue<string>(), out var at) ? at.Ns : throw new FormatException();

    /// <summary>The engine's outcome of a timers case against itself agrees; a retransmission missing on the kernel and a sockstat are reported.</summary>
    [Fact]
    public void Judge_MissingRetransmissionAndSockstat_AreReported()
    {
        var document = ScenarioParser.Parse(FuzzCase.Calibrate(TimersFuzzCase.Draw(40, 3).Draft).Json!).Document!;
        var engine = RunOutcome.OfEngine(document);
        var passed = new FileResult("case", "scenario", FileOutcome.Passed, [], [], null, null, null, 0);
        Assert.True(FuzzRun.Of(OutcomeDiff.Compare(engine, engine, 4_000_000), passed, _ => "step").Agrees);

        // The engine's last segment (a timer's, after the black hole) not sent on the kernel; a socket left in use there.
        var fewer = engine.Packets.Take(engine.Packets.Count - 1).ToList();
        var failed = passed with
        {
            Outcome = FileOutcome.Failed,
            Checks = [new CheckOutcome(false, "sockstat", "$.steps[18].expect.sockstat.client.inuse", "0", "1", "5.211s", 5_211_000_000)],
        };
        var planted = FuzzRun.Of(OutcomeDiff.Compare(engine, engine with { Packets = fewer }, 4_000_000), failed, _ => "expect");

        Assert.False(planted.Agrees);
        Assert.Contains(planted.Keys, k => k.Contains(" engine only ", StringComparison.Ordinal));
        Assert.Contains("sockstat inuse", planted.Keys);
    }
}
