using System.Text.Json;
using Json.Schema;

namespace SimService.Domain.Tests.Scenarios;

/// <summary>docs/scenario.schema.json accepts every example scenario of the repository and refuses what the format forbids.</summary>
public class SchemaTests
{
    static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, "..", "docs", "scenario.schema.json"))));

    static EvaluationResults Evaluate(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Schema.Value.Evaluate(doc.RootElement.Clone(), new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    static string Errors(EvaluationResults results) =>
        string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}")).Take(10));

    public static TheoryData<string> Files() => [.. ExampleScenarios.Everywhere()];

    [Theory]
    [MemberData(nameof(Files))]
    public void ExampleScenario_Schema_Validates(string file)
    {
        var results = Evaluate(ExampleScenarios.ReadAnywhere(file));

        Assert.True(results.IsValid, $"{file}: {Errors(results)}");
    }

    /// <summary>
    /// tester41 MEDIUM-5: the schema (and the format's own list) lacked net.ipv4.ip_autobind_reuse, which the API takes (so an
    /// export answered 409), and offered four sysctls no profile simulates. The schema's sysctl names and their properties
    /// are exactly those some profile simulates (SysctlCatalog.All), the list the format reads.
    /// </summary>
    [Fact]
    public void SysctlValues_NamesAndProperties_AreWhatSomeProfileSimulates()
    {
        var text = File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, "..", "docs", "scenario.schema.json"));
        var sysctls = JsonDocument.Parse(text).RootElement.GetProperty("$defs").GetProperty("sysctlValues");
        string[] simulated = [.. SimService.Domain.Network.SysctlCatalog.All.Keys.Order(StringComparer.Ordinal)];

        Assert.Equal(simulated, sysctls.GetProperty("propertyNames").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(simulated, sysctls.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{ "md5": 1 }""")]
    [InlineData("""{ "mss": 0 }""")]
    [InlineData("""{ "ts": { "ecr": 0 } }""")]
    [InlineData("""{ "ts": { "val": 1, "ecr": "last" } }""")]
    [InlineData("""{ "ts": { "val": 1 }, "sack": [ [1, 2], [3, 4], [5, 6], [7, 8] ] }""")]
    [InlineData("""{ "sack": [ [1] ] }""")]
    public void InjectOptions_TheFormatForbids_AreRefused(string options)
    {
        var json = File.ReadAllText(Path.Combine(ExampleScenarios.ProjectFolder, "scripted-peer-negotiates-options.json"))
            .Replace("""{ "mss": 1000, "sackOK": true, "ts": { "val": 100, "ecr": 0 }, "wscale": 2 }""", options);

        Assert.False(Evaluate(json).IsValid, options);
        Assert.False(SimService.Domain.Scenarios.ScenarioParser.Parse(json).IsValid, options);
    }

    /// <summary>A link step may change only lossBySegment; with a direction it may not (the draw is the whole link's): schema and parser agree.</summary>
    [Theory]
    [InlineData("""{ "between": ["client", "server"], "lossBySegment": true }""", true)]
    [InlineData("""{ "between": ["client", "server"], "loss": 0.2, "lossBySegment": false }""", true)]
    [InlineData("""{ "between": ["client", "server"], "direction": "client->server", "lossBySegment": true }""", false)]
    [InlineData("""{ "between": ["client", "server"], "lossBySegment": 1 }""", false)]
    [InlineData("""{ "between": ["client", "server"] }""", false)]
    public void LinkStepLossBySegment_SchemaAndParser_Agree(string link, bool valid)
    {
        var json = $$"""
            {
              "name": "link-step", "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "10ms" } ],
              "steps": [ { "at": "1s", "link": {{link}} } ]
            }
            """;

        Assert.Equal(valid, Evaluate(json).IsValid);
        Assert.Equal(valid, SimService.Domain.Scenarios.ScenarioParser.Parse(json).IsValid);
    }

    /// <summary>
    /// setsockopt of what the kernel answers with an errno is a call like any other: a read-only option (ENOPROTOOPT) and a
    /// congestion control no module has (ENOENT) — only a module the kernel has and the engine does not run is refused.
    /// Schema, parser and run agree (tester session 32, LOW-4: such a run could not be exported).
    /// </summary>
    [Theory]
    [InlineData("\"SO_MEMINFO\"", "1", "ENOPROTOOPT")]
    [InlineData("\"SO_ERROR\"", "0", "ENOPROTOOPT")]
    [InlineData("\"TCP_INFO\"", "0", "ENOPROTOOPT")]
    [InlineData("\"TCP_CONGESTION\"", "\"nosuchcc\"", "ENOENT")]
    [InlineData("\"TCP_CONGESTION\"", "\"reno\"", "0")]
    [InlineData("\"TCP_CONGESTION\"", "\"bbr\"", null)]
    [InlineData("\"TCP_CONGESTION\"", "7", null)]
    public void SetsockoptTheKernelRefuses_SchemaParserAndRun_Agree(string option, string value, string? result)
    {
        var json = $$"""
            {
              "name": "setsockopt-errno", "hosts": { "client": { "address": "10.0.0.1" } },
              "steps": [
                { "at": "0ms", "host": "client", "call": "socket", "as": "s" },
                { "at": "0ms", "host": "client", "call": "setsockopt", "socket": "s", "option": {{option}}, "value": {{value}}{{(result is null ? "" : $", \"expect\": {{ \"result\": {(result == "0" ? "0" : $"\"{result}\"")} }}")}} }
              ]
            }
            """;

        Assert.Equal(result is not null, Evaluate(json).IsValid);
        var run = SimService.Domain.Scenarios.ScenarioRunner.Run(json);
        Assert.Equal(result is not null, run.IsValid);
        if (result is not null) Assert.True(run.Result!.Passed, string.Join("; ", run.Result.Checks.Select(c => c.ToString())));
    }

    /// <summary>linux-4.4's tcp_tw_recycle takes any int as a JSON integer, as its text (proc_dointvec): schema and parser agree.</summary>
    [Theory]
    [InlineData("5", true)]
    [InlineData("-2147483648", true)]
    [InlineData("2147483648", false)]
    public void TwRecycleInteger_SchemaAndParser_AgreeOnTheIntRange(string value, bool valid)
    {
        var json = $$"""
            {
              "name": "tw-recycle", "kernel": "linux-4.4",
              "hosts": { "client": { "address": "10.0.0.1", "sysctls": { "net.ipv4.tcp_tw_recycle": {{value}} } }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "10ms" } ],
              "steps": []
            }
            """;

        Assert.Equal(valid, Evaluate(json).IsValid);
        Assert.Equal(valid, SimService.Domain.Scenarios.ScenarioParser.Parse(json).IsValid);
    }

    /// <summary>A send's bytes are bounded by what a run's event budget can deliver (EventBudgetBound): schema and parser agree.</summary>
    [Theory]
    [InlineData(3_274_750_000_000L, true)]
    [InlineData(3_274_750_000_001L, false)]
    public void SendBytes_SchemaAndParser_AgreeOnTheMaximum(long bytes, bool valid)
    {
        var json = SimService.Domain.Tests.Scenarios.Runner.RunnerScenarios.TwoHosts($$"""
            {{SimService.Domain.Tests.Scenarios.Runner.RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "send", "socket": "c", "bytes": {{bytes}} }
            """);

        Assert.Equal(valid, Evaluate(json).IsValid);
        Assert.Equal(valid, SimService.Domain.Scenarios.ScenarioParser.Parse(json).IsValid);
        Assert.Equal(3_274_750_000_000L, SimService.Domain.Scenarios.ScenarioRunOptions.DefaultEventBudget * SimService.Domain.Engine.EventBudgetBound.MaxSegmentPayload);
    }

    /// <summary>The engine rules a document carries (an export's) are 0 to 4 (<see cref="Domain.Commands.EngineRules"/>): schema and parser agree.</summary>
    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    [InlineData(-1, false)]
    public void EngineRules_SchemaAndParserAgree(int rules, bool valid)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(SimService.Domain.Tests.Scenarios.Runner.RunnerScenarios.TwoHosts(
            SimService.Domain.Tests.Scenarios.Runner.RunnerScenarios.Connected))!;
        node["engineRules"] = rules;
        var json = node.ToJsonString();

        Assert.Equal(valid, Evaluate(json).IsValid);
        var parsed = SimService.Domain.Scenarios.ScenarioParser.Parse(json);
        Assert.Equal(valid, parsed.IsValid);
        if (valid) Assert.Equal(rules, parsed.Document!.EngineRules);
        else parsed.HasError("$.engineRules");
    }

    /// <summary>A scenario's name becomes the simulation's, 1–200 characters: schema and parser agree (it was cut to 200 silently).</summary>
    [Theory]
    [InlineData(200, true)]
    [InlineData(201, false)]
    public void ScenarioName_SchemaAndParserAgreeOnTheLongest(int length, bool valid)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(SimService.Domain.Tests.Scenarios.Runner.RunnerScenarios.TwoHosts(
            SimService.Domain.Tests.Scenarios.Runner.RunnerScenarios.Connected))!;
        node["name"] = new string('a', length);
        var json = node.ToJsonString();

        Assert.Equal(valid, Evaluate(json).IsValid);
        var parsed = SimService.Domain.Scenarios.ScenarioParser.Parse(json);
        if (valid) Assert.True(parsed.IsValid);
        else parsed.HasError("$.name", "at most 200 characters");
    }

    /// <summary>
    /// A process name is what <see cref="Domain.Network.SimProcess.NameProblem"/> takes — 1–200 characters, no control
    /// characters, no bidirectional controls (U+202A–E, U+2066–9, session 33), '/' or '%', not "." or "..": schema and
    /// parser agree (the schema took any non-empty string).
    /// </summary>
    [Theory]
    [InlineData("app", true)]
    [InlineData("a\u00e9\u20ac", true)]
    [InlineData("a\u0007b", false)]
    [InlineData("a\u0000", false)]
    [InlineData("\u001f", false)]
    [InlineData("a\u007f", false)]
    [InlineData("a\u0085b", false)]
    [InlineData("\u009f", false)]
    [InlineData("\u202egnp.exe", false)]
    [InlineData("a\u202a", false)]
    [InlineData("a\u2066b\u2069", false)]
    [InlineData("a\u2029b", true)]
    [InlineData("a/b", false)]
    [InlineData("100%", false)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("...", true)]
    [InlineData("", false)]
    public void ProcessName_SchemaAndParserAgree(string name, bool valid) => AssertProcessName(name, valid);

    [Theory]
    [InlineData(200, true)]
    [InlineData(201, false)]
    public void ProcessName_SchemaAndParserAgreeOnTheLongest(int length, bool valid) => AssertProcessName(new string('p', length), valid);

    static void AssertProcessName(string name, bool valid)
    {
        var json = """{"name":"t","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{"at":"0ms","host":"a","call":"setrlimit","resource":"RLIMIT_NOFILE","soft":3,"process":"""
            + System.Text.Json.JsonSerializer.Serialize(name) + "}]}";

        Assert.Equal(valid, Evaluate(json).IsValid);
        var parsed = SimService.Domain.Scenarios.ScenarioParser.Parse(json);
        if (valid) Assert.True(parsed.IsValid);
        else parsed.HasError("$.steps[0].process");
    }
}
