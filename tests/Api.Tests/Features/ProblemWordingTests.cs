using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Api.Tests.Features;

/// <summary>
/// What a new user's mistakes are told (session 28's tester): the problem names a field the request sent, nesting past the
/// JSON reader's limit is said to be that, one rule and one wording where endpoints do the same thing.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ProblemWordingTests(ApiHosts hosts)
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>
    /// An eventBudget too small for the default sizes named requestBytes, which the request never sent ("1,024 bytes cannot
    /// be delivered within the event budget of 1 events… at most 0 bytes"): it names eventBudget, with the least budget the
    /// sizes need. Sizes the request sent are named as before, beside the budget it sent.
    /// </summary>
    [Fact]
    public async Task Workload_EventBudgetTooSmall_NamesEventBudgetWithTheLeastThatDelivers()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "budget of one");
        var version = await sim.VersionAsync();

        var problem = await (await sim.PostAsync("workloads",
            """{"clients":["client"],"server":"server","port":89,"rate":1000,"count":100,"eventBudget":1}""")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(["eventBudget"], problem.ErrorFields());
        Assert.Equal("eventBudget 1 cannot deliver one connection's request (1,024 bytes) and response (1,024 bytes): they take at least 2 segments, "
            + "each at least one event and at most 65,495 bytes. Give eventBudget 2 or more (the handshake and close of a connection take events too).",
            problem.GetProperty("errors").GetProperty("eventBudget")[0].GetString());

        var both = await (await sim.PostAsync("workloads",
            """{"clients":["client"],"server":"server","port":89,"rate":1000,"count":1,"requestBytes":200000,"eventBudget":3}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["eventBudget", "requestBytes"], both.ErrorFields());
        Assert.Contains("Give eventBudget 5 or more", both.GetProperty("errors").GetProperty("eventBudget")[0].GetString());
        Assert.Equal(version, await sim.VersionAsync());
    }

    /// <summary>A duration × rate under one connection named count, which the request did not send: it names durationNs.</summary>
    [Fact]
    public async Task Workload_DurationOpensNoConnection_NamesDurationNs()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "no connection");

        var problem = await (await sim.PostAsync("workloads", """{"clients":["client"],"server":"server","rate":1,"durationNs":"500ms"}"""))
            .ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(["durationNs"], problem.ErrorFields());
        Assert.Equal("the workload opens no connection: duration × rate is less than one", problem.GetProperty("errors").GetProperty("durationNs")[0].GetString());
    }

    /// <summary>Numbers read as numbers: the rate's range was "between 1E-06 and 1000000000"; the least resolution gets a duration beside its ns.</summary>
    [Fact]
    public async Task Workload_RateAndResolution_NumbersReadable()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "readable");

        var rate = await (await sim.PostAsync("workloads", """{"clients":["client"],"server":"server","rate":0,"count":1}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        var resolution = await (await sim.PostAsync("workloads", """{"clients":["client"],"server":"server","rate":1,"count":1000001,"resolutionNs":"1ms"}"""))
            .ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("The field rate must be between 0.000001 and 1000000000.", rate.GetProperty("errors").GetProperty("rate")[0].GetString());
        Assert.EndsWith("use a resolution of at least 100010001001 ns (100.010001001s)", resolution.GetProperty("errors").GetProperty("resolutionNs")[0].GetString());
    }

    /// <summary>
    /// One paging rule and one wording: afterSeq -1 is "from the start" on the journal and the command log alike (the log
    /// refused it, the journal took it), below it both refuse in the same words, and so do both limits.
    /// </summary>
    [Fact]
    public async Task JournalAndCommandLog_PagingParameters_OneRuleOneWording()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "paging");

        foreach (var list in new[] { "journal", "commands" })
        {
            Assert.Equal(HttpStatusCode.OK, (await sim.Client.GetAsync($"{sim.Base}/{list}?afterSeq=-1")).StatusCode);
            var below = await (await sim.Client.GetAsync($"{sim.Base}/{list}?afterSeq=-5")).ReadProblemAsync(HttpStatusCode.BadRequest);
            Assert.Equal("The field afterSeq must be -1 or more.", below.GetProperty("errors").GetProperty("afterSeq")[0].GetString());
            var limit = await (await sim.Client.GetAsync($"{sim.Base}/{list}?limit=0")).ReadProblemAsync(HttpStatusCode.BadRequest);
            Assert.Equal($"The field limit must be between 1 and {(list == "journal" ? 5000 : 1000)}.", limit.GetProperty("errors").GetProperty("limit")[0].GetString());
        }
    }

    /// <summary>A start past the clock is a 400 naming fromNs on every output with a time range (the diagram was a 200 with an empty ladder, the capture 24 bytes).</summary>
    [Theory]
    [InlineData("diagram.svg")]
    [InlineData("pcap")]
    [InlineData("pcap?host=client&")]
    [InlineData("timeseries")]
    public async Task Output_FromNsPastTheClock_400NamingFromNs(string output)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "future");
        await sim.AdvanceAsync(new { byNs = "1s" });

        var query = output.EndsWith('&') ? output : output + "?";
        var problem = await (await sim.Client.GetAsync($"{sim.Base}/{query}fromNs=5000000000")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(["fromNs"], problem.ErrorFields());
        Assert.Equal("fromNs 5s is after the simulation's current time 1s (1000000000 ns); advance the clock first.",
            problem.GetProperty("errors").GetProperty("fromNs")[0].GetString());
    }

    /// <summary>
    /// Valid JSON nested past the reader's 64 levels is said to be that, at the path of the first value past them, before any
    /// endpoint reads it: it was a syntax error ("malformed-json … line 1, byte 111") in a scenario's description and a
    /// batch's sysctls, and "The value is not valid for this field." as a simulation's name. Nothing is stored.
    /// </summary>
    [Fact]
    public async Task Body_NestedPast64Levels_400NamingThePathAndTheLimit()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var sim = await SimulationDriver.TwoHostsAsync(client, "deep");
        var version = await sim.VersionAsync();
        static string Objects(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{}" + new string('}', depth - 1);
        static string As(int count) => string.Concat(Enumerable.Repeat(".a", count));

        // The 100,000-deep array (200 KB: the body is copied, not checked in place) is level 2 of the document.
        var scenario = JsonNode.Parse(ScenarioFiles.Read("examples/linger-zero-rst.json"))!.AsObject();
        scenario.Remove("description");
        var deepScenario = scenario.ToJsonString().Insert(1, "\"description\":" + new string('[', 100_000) + new string(']', 100_000) + ",");
        var cases = new (HttpResponseMessage Response, string Field)[]
        {
            (await client.PostAsync("/api/v1/scenarios/run", Json(deepScenario)), "description" + string.Concat(Enumerable.Repeat("[0]", 63))),
            (await sim.PostAsync("commands", $$"""{"commands":[{"type":"add-host","name":"third","address":"10.0.0.3","sysctls":{{Objects(70)}}}]}"""),
                "commands[0].sysctls" + As(61)),
            (await client.PostAsync(SimServiceApi.Simulations, Json($$"""{"name":{{Objects(70)}}}""")), "name" + As(63)),
        };

        foreach (var (response, field) in cases)
        {
            var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
            Assert.Equal(ProblemTypes.Validation, problem.GetProperty("type").GetString());
            Assert.Equal([field], problem.ErrorFields());
            Assert.Equal(JsonNesting.Message, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        }
        Assert.Equal(version, await sim.VersionAsync());
        // 64 levels are read: the same batch one level shallower is refused for its sysctl, not its depth.
        var shallower = await (await sim.PostAsync("commands", $$"""{"commands":[{"type":"add-host","name":"third","address":"10.0.0.3","sysctls":{{Objects(61)}}}]}"""))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.Validation, shallower.GetProperty("type").GetString());
        Assert.DoesNotContain(JsonNesting.Message, shallower.GetRawText(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A step whose call is misspelt is the one error of the document (the tester's linger-zero-rst.json with "acceptt"): the
    /// alias it defines counts as defined, so the steps that use it are not blamed ("used before $.steps[2] defines it").
    /// </summary>
    [Fact]
    public async Task ScenarioRun_MisspeltCallOfAStepDefiningAnAlias_OnlyThatStepIsAnError()
    {
        var scenario = JsonNode.Parse(ScenarioFiles.Read("examples/linger-zero-rst.json"))!.AsObject();
        scenario["steps"]![2]!["call"] = "acceptt";

        var problem = await (await hosts.Client(DatabaseProvider.Sqlite).PostAsync("/api/v1/scenarios/run", Json(scenario.ToJsonString())))
            .ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.InvalidScenario, problem.GetProperty("type").GetString());
        Assert.Equal(["$.steps[2].call"], problem.ErrorFields());
    }
    /// <summary>
    /// A value of the wrong kind says what the field takes (and, for numbers, what was found): each was "The value is not
    /// valid for this field.", and 1e-400 was taken as a loss of 0. Duration text says why it is none: an exponent, a step
    /// finer than the clock's nanosecond. Nothing is applied.
    /// </summary>
    [Theory]
    [InlineData("PATCH", "links/client/server", """{"loss":"NaN"}""", "loss",
        "expected a number, found a string (\"NaN\"): write the number without quotes; JSON has no NaN or Infinity")]
    [InlineData("POST", "workloads", """{"clients":["client"],"server":"server","port":80,"count":1,"rate":"Infinity"}""", "rate",
        "expected a number, found a string (\"Infinity\"): write the number without quotes; JSON has no NaN or Infinity")]
    [InlineData("PATCH", "links/client/server", """{"loss":true}""", "loss", "expected a number, found a boolean")]
    [InlineData("PATCH", "links/client/server", """{"loss":1e-400}""", "loss",
        "1e-400 is too small to be held (below 4.9E-324, it would be read as 0): write 0 for none")]
    [InlineData("PATCH", "links/client/server", """{"loss":1e400}""", "loss", "1e400 is outside the range of a number here (±1.7976931348623157E+308)")]
    [InlineData("POST", "sockets/2/send", """{"bytes":1,"flags":"MSG_DONTWAIT"}""", "flags", "Expected a list (a JSON array).")]
    [InlineData("POST", "sockets/2/shutdown", """{"how":3}""", "how", "Expected a string: one of SHUT_RD, SHUT_WR, SHUT_RDWR.")]
    [InlineData("POST", "advance", """{"byNs":"1e9s"}""", "byNs",
        "\"1e9s\" is not a duration: a duration has no exponent (\"1000000000s\"). " + DurationNsConverter.Message)]
    [InlineData("POST", "advance", """{"byNs":"1e12s"}""", "byNs",
        "\"1e12s\" is not a duration: a duration has no exponent (\"1000000000000s\", which is past the clock's range: a duration is at most 3155760000000000000 ns (3155760000s, 100 years): the simulation's clock may not pass that time). " + DurationNsConverter.Message)]
    [InlineData("POST", "advance", """{"byNs":"0.0000000001ns"}""", "byNs",
        "\"0.0000000001ns\" is not a whole number of nanoseconds: the clock's step is 1 ns (1.5ns is none, 1.5us is 1500 ns). " + DurationNsConverter.Message)]
    public async Task Body_ValueOfTheWrongKind_400SaysWhatTheFieldTakes(string method, string path, string body, string field, string message)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "wording");
        await sim.ConnectAsync();
        var version = await sim.VersionAsync();

        var response = await sim.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{sim.Base}/{path}")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        });

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal([message], problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(version, await sim.VersionAsync());
    }

    /// <summary>
    /// An exited process is reaped at once (no zombie), so a second kill is kill() of a pid that no longer exists: ESRCH,
    /// a 404 naming the process, nothing applied.
    /// </summary>
    [Fact]
    public async Task Kill_AProcessKilledBefore_404SayingEsrch_NothingApplied()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "kill twice");
        await sim.ConnectAsync();
        await sim.PostOkAsync("hosts/client/processes/app/kill", new { });
        var (version, journal) = (await sim.VersionAsync(), await sim.JournalAsync());

        var problem = await (await sim.PostAsync("hosts/client/processes/app/kill", new { })).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(["process"], problem.ErrorFields());
        Assert.Equal("process 'app' on host 'client' does not exist (it exited, or never ran): kill() fails with ESRCH; nothing was applied",
            problem.GetProperty("detail").GetString());
        Assert.Equal(version, await sim.VersionAsync());
        Assert.Equal(journal, await sim.JournalAsync());
    }
}
