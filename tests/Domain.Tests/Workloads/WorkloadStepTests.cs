using SimService.Domain.Scenarios;
using SimService.Domain.Tests.Scenarios;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Workloads;

/// <summary>The scenario format's workload step: read, written back, and run.</summary>
public class WorkloadStepTests
{
    static string Project => File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, "workload-port-exhaustion.json"));

    [Fact]
    public void WorkloadStep_ProjectScenario_ReadWrittenBackAndReadAgainEqual()
    {
        var parsed = ScenarioParser.Parse(Project);
        Assert.Empty(parsed.Errors);
        var step = Assert.IsType<WorkloadStep>(parsed.Document!.Steps[0]);
        Assert.Equal(["client"], step.Spec.Clients);
        Assert.Equal(("server", 100.0, 11L, 100L, 200L), (step.Spec.Server, step.Spec.Rate, step.Spec.Count, step.Spec.RequestBytes, step.Spec.ResponseBytes));
        var again = ScenarioParser.Parse(ScenarioWriter.ToJson(parsed.Document));
        Assert.Empty(again.Errors);
        var spec = Assert.IsType<WorkloadStep>(again.Document!.Steps[0]).Spec;
        Assert.Equal(step.Spec with { Clients = [] }, spec with { Clients = [] });
        Assert.Equal(step.Spec.Clients, spec.Clients);
    }

    [Fact]
    public void WorkloadStep_ProjectScenario_ElevenConnectsTenPortsPasses()
    {
        var outcome = ScenarioRunner.Run(Project);
        Assert.True(outcome.Result!.Passed, string.Join("\n", outcome.Result.FailedChecks.Select(c => c.ToString())));
        var w = outcome.Result!.Simulation.FindWorkload(1)!.Result();
        Assert.Equal(new Dictionary<string, long> { ["0"] = 10, ["EADDRNOTAVAIL"] = 1 }, w.ConnectResults);
    }

    [Theory]
    [InlineData("""{ "server": "server", "rate": 0, "count": 5, "clients": ["client"] }""", "$.steps[0].workload.rate")]
    [InlineData("""{ "server": "server", "rate": 5, "clients": ["client"] }""", "$.steps[0].workload.count")]
    // A spec check's field is named as the other fields are (tester38 LOW-13: these were at "$.steps[0].workload").
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "resolution": "0s" }""", "$.steps[0].workload.resolution")]
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "resolution": "1ns" }""", "$.steps[0].workload.resolution")]
    [InlineData("""{ "server": "server", "rate": 5, "duration": "0s", "clients": ["client"] }""", "$.steps[0].workload.duration")]
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "closeStyle": "slam" }""", "$.steps[0].workload.closeStyle")]
    [InlineData("""{ "server": "nowhere", "rate": 5, "count": 5, "clients": ["client"] }""", "$.steps[0].workload.server")]
    [InlineData("""{ "server": "server", "rate": 0.0002, "count": 2, "clients": ["client"], "resolution": "1ms" }""", "$.steps[0].workload.resolution")]
    // linger without lingerSeconds was SO_LINGER {1,0} (an RST close, as linger-zero); lingerSeconds elsewhere was ignored (tester37b LOW-6)
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "closeStyle": "linger" }""", "$.steps[0].workload.lingerSeconds")]
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "lingerSeconds": 5 }""", "$.steps[0].workload.lingerSeconds")]
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "closeStyle": "close", "lingerSeconds": 0 }""", "$.steps[0].workload.lingerSeconds")]
    // duration × rate past count's bound passed validate (3·10¹⁸ connections; tester37b LOW-7)
    [InlineData("""{ "server": "server", "rate": 1000000000, "duration": "3155759998s", "clients": ["client"] }""", "$.steps[0].workload.duration")]
    [InlineData("""{ "server": "server", "rate": 100000001, "duration": "1s", "clients": ["client"] }""", "$.steps[0].workload.duration")]
    public void WorkloadStep_BadField_ErrorAtItsPath(string workload, string path) =>
        Assert.Contains(ScenarioParser.Parse(WorkloadDocument(workload)).Errors, e => e.Path == path);

    /// <summary>
    /// A duration × rate past the count's bound prints the count it opens as an integer (tester38 LOW-11: "opens 1E+08
    /// connections: at most 100,000,000", a count that read as the bound itself).
    /// </summary>
    [Fact]
    public void WorkloadStep_DurationTimesRateOneOverTheBound_PrintsTheWholeCount()
    {
        var errors = ScenarioParser.Parse(WorkloadDocument("""{ "server": "server", "rate": 100000001, "duration": "1s", "clients": ["client"] }""")).Errors;

        Assert.Equal([("$.steps[0].workload.duration", "duration × rate opens 100,000,001 connections: at most 100,000,000, as count")],
            errors.Select(e => (e.Path, e.Message)));
    }

    /// <summary>
    /// The bounds' edges are taken: linger with its seconds (0 too), exactly 100,000,000 connections by a duration; a step
    /// without rate runs at 100 per second, as the API's workload does (tester37b LOW-8: the format required it).
    /// </summary>
    [Theory]
    [InlineData("""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "closeStyle": "linger", "lingerSeconds": 0 }""", 5.0)]
    [InlineData("""{ "server": "server", "rate": 100000000, "duration": "1s", "clients": ["client"] }""", 1e8)]
    [InlineData("""{ "server": "server", "count": 3, "clients": ["client"] }""", 100.0)]
    public void WorkloadStep_AtTheBounds_IsTaken(string workload, double rate)
    {
        var parsed = ScenarioParser.Parse(WorkloadDocument(workload));
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        Assert.Equal(rate, Assert.IsType<WorkloadStep>(Assert.Single(parsed.Document!.Steps)).Spec.Rate);
    }

    /// <summary>
    /// count and duration together: the format says one of them, and the duration was dropped silently (the count won); an
    /// error at duration for a new run, parsed as it was for a stored one's rebuild, and an export writes the count only.
    /// </summary>
    [Fact]
    public void WorkloadStep_CountAndDuration_ErrorAtDurationForANewRunOnly()
    {
        var both = WorkloadDocument("""{ "server": "server", "rate": 5, "count": 5, "duration": "2s", "clients": ["client"] }""");

        var errors = ScenarioParser.Parse(both).Errors;
        var stored = ScenarioParser.ParseStored(both);

        Assert.Equal([("$.steps[0].workload.duration", "give count or duration, not both (count connections, or duration × rate)")],
            errors.Select(e => (e.Path, e.Message)));
        Assert.True(stored.IsValid, string.Join("\n", stored.Errors));
        var written = ScenarioWriter.ToJson(stored.Document!);
        Assert.DoesNotContain("\"duration\"", written);
        Assert.Equal(5, Assert.IsType<WorkloadStep>(ScenarioParser.Parse(written).Document!.Steps[0]).Spec.Connections);
    }

    /// <summary>A workload's backlog is any int, as listen()'s (read and written back as given); it was "outside [1, …]" below 1.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void WorkloadStep_BacklogZeroOrNegative_ReadAndWrittenBack(int backlog)
    {
        var parsed = ScenarioParser.Parse(WorkloadDocument($$"""{ "server": "server", "rate": 5, "count": 5, "clients": ["client"], "backlog": {{backlog}} }"""));
        Assert.Empty(parsed.Errors);
        Assert.Equal(backlog, Assert.IsType<WorkloadStep>(parsed.Document!.Steps[0]).Spec.Backlog);
        var again = ScenarioParser.Parse(ScenarioWriter.ToJson(parsed.Document));
        Assert.Equal(backlog, Assert.IsType<WorkloadStep>(again.Document!.Steps[0]).Spec.Backlog);
    }

    /// <summary>
    /// A stored scenario is rebuilt with the bounds it was accepted under: a workload step whose series the bound added later
    /// refuses (two connections 5,000 s apart at 1 ms), a negative seed, a run's end past the clock's maximum — each refused
    /// for a new run and parsed for a rebuild; any other rule stays (an unknown server).
    /// </summary>
    [Fact]
    public void StoredScenario_BoundsAddedLater_ParsedForItsRebuildOnly()
    {
        var tooFine = WorkloadDocument("""{ "server": "server", "rate": 0.0002, "count": 2, "clients": ["client"], "resolution": "1ms" }""");
        var negativeSeed = tooFine.Replace("\"name\": \"bad\",", "\"name\": \"bad\", \"seed\": -1,", StringComparison.Ordinal)
            .Replace("\"resolution\": \"1ms\"", "\"resolution\": \"1s\"", StringComparison.Ordinal);
        var pastTheClock = negativeSeed.Replace("\"seed\": -1,", "\"runUntil\": \"876601h\",", StringComparison.Ordinal);
        foreach (var (doc, path) in new[] { (tooFine, "$.steps[0].workload.resolution"), (negativeSeed, "$.seed"), (pastTheClock, "$.runUntil") })
        {
            Assert.Contains(ScenarioParser.Parse(doc).Errors, e => e.Path == path);
            var stored = ScenarioParser.ParseStored(doc);
            Assert.True(stored.IsValid, string.Join("\n", stored.Errors));
        }
        Assert.Equal(-1, ScenarioParser.ParseStored(negativeSeed).Document!.Seed);
        Assert.Contains(ScenarioParser.ParseStored(tooFine.Replace("\"server\": \"server\"", "\"server\": \"nowhere\"", StringComparison.Ordinal)).Errors,
            e => e.Path == "$.steps[0].workload.server");
    }

    static string WorkloadDocument(string workload) => $$"""
        { "name": "bad", "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
          "links": [ { "between": ["client", "server"] } ],
          "steps": [ { "workload": {{workload}} } ] }
        """;
}
