using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Scenarios;
using SimService.Persistence;

namespace SimService.Api.Tests.Features;

/// <summary>POST /api/v1/scenarios/run as docs/scenario-format.md specifies it.</summary>
[Collection(ApiCollection.Name)]
public sealed class ScenarioRunTests(ApiHosts hosts)
{
    public static TheoryData<DatabaseProvider, string> ExamplesOnEveryProvider()
    {
        var data = new TheoryData<DatabaseProvider, string>();
        foreach (var provider in TestDatabase.Available)
            foreach (var file in ScenarioFiles.All()) data.Add(provider, file);
        return data;
    }

    [Fact]
    public void Examples_FormatAndProjectScenarios_AreFound() =>
        Assert.True(ScenarioFiles.All().Count(f => f.StartsWith("examples/", StringComparison.Ordinal)) >= 8,
            "expected the eight example scenarios of docs/scenario-format.md in scenarios/examples/");

    [Theory, MemberData(nameof(ExamplesOnEveryProvider))]
    public async Task Example_ThroughHttp_Passes(DatabaseProvider provider, string file)
    {
        var run = await hosts.Client(provider).RunScenarioAsync(ScenarioFiles.Read(file));

        var failures = run.Checks.Where(c => !c.Passed).Select(c => $"{c.Path}: expected {c.Expected}, actual {c.Actual}")
            .Concat(run.Errors.Select(e => $"{e.Path}: {e.Message}"));
        Assert.True(run.Passed, $"{file}: {string.Join("; ", failures)}");
        Assert.NotEmpty(run.Checks);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Run_IsKeptAsASimulation_WhoseJournalReplaysAndExportsBack(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var document = ScenarioFiles.Read("examples/linger-zero-rst.json");

        var run = await client.RunScenarioAsync(document);

        var sim = new SimulationDriver(client, run.SimulationId);
        Assert.Equal($"/api/v1/simulations/{run.SimulationId}/journal", run.Journal);
        Assert.Equal(run.JournalEvents, (await sim.JournalAsync()).Count);
        var stored = await sim.GetAsync();
        Assert.Equal((true, 0L, "linger-zero-rst"), (stored.FromScenario, stored.Version, stored.Name));
        Assert.True((await sim.ReplayAsync()).Identical);
        Assert.Equal(document.TrimEnd(), await sim.ExportAsync());
        Assert.Contains("LISTEN", await sim.GetTextAsync("hosts/server/ss"));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Run_ThenCommands_ContinueItAndReplayIdentically(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var run = await client.RunScenarioAsync(ScenarioFiles.Read("examples/close-wait-forever.json"));
        var sim = new SimulationDriver(client, run.SimulationId);

        var socket = await sim.OnHostAsync("server", "sockets");
        await sim.AdvanceAsync(new { byNs = 1_000_000_000 });

        Assert.Equal(2, await sim.VersionAsync());
        Assert.True((await sim.ReplayAsync()).Identical);
        Assert.Equal("CLOSED", (await sim.SocketAsync(socket.SocketId)).State);
        var export = await (await sim.Client.GetAsync($"{sim.Base}/export")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(ProblemTypes.NotExportable, export.GetProperty("type").GetString());
        Assert.Equal(["commandSeq"], export.ErrorFields());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Run_FailingCheck_Returns200WithPassedFalse(DatabaseProvider provider)
    {
        var document = ScenarioFiles.Read("examples/linger-zero-rst.json").Replace("\"result\": \"ECONNRESET\"", "\"result\": \"EPIPE\"");

        var run = await hosts.Client(provider).RunScenarioAsync(document);

        Assert.False(run.Passed);
        var failed = Assert.Single(run.Checks, c => !c.Passed);
        Assert.Equal(("call.result", "$.steps[7].expect.result", "EPIPE", "ECONNRESET"), (failed.Kind, failed.Path, failed.Expected, failed.Actual));
        Assert.Equal((300_000_000L, "300ms"), (failed.AtNs, failed.At));
    }

    /// <summary>
    /// A run whose journal would pass what one request may add (Limits:JournalEventsPerRequest) is refused whole as a
    /// packetdrill run is: 422 work-limit naming "$", nothing stored. It was a 200 (a tester's 20,000 self-connects:
    /// 1,373,166 journal events). A document under the limit is run and stored as before.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Run_PastTheJournalLimit_IsRefusedWhole_AndOneUnderItIsStored(DatabaseProvider provider)
    {
        const int limit = 20;
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = $"{limit}" });
        var client = host.CreateClient();

        var refused = await client.PostAsync($"{SimServiceApi.Scenarios}/run",
            new StringContent(ScenarioFiles.Read("examples/linger-zero-rst.json"), Encoding.UTF8, "application/json"));

        var problem = await refused.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(ProblemTypes.WorkLimit, problem.GetProperty("type").GetString());
        Assert.Equal(["$"], problem.ErrorFields());
        Assert.Equal($"The scenario would add more than {limit} journal events; nothing was stored: the journal limit stopped the run at "
            + "31ms ($.steps[3]). Run a shorter scenario, "
            + "or run it in process with the command-line tool (simservice run FILE), which stores no journal (an export of a "
            + "simulation built by many requests can be this large).",
            problem.GetProperty("detail").GetString());
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
            Assert.Equal((0, 0), (await db.Simulations.IgnoreQueryFilters().CountAsync(), await db.Events.CountAsync()));
        }

        var fits = await client.RunScenarioAsync("""
            { "name": "small", "hosts": { "server": { "address": "10.0.0.2" } },
              "steps": [ { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "l" } ], "runUntil": "1ms" }
            """);
        Assert.True(fits.Passed);
        Assert.InRange(fits.JournalEvents, 1, limit - 1);
        Assert.Equal(fits.JournalEvents, (await new SimulationDriver(client, fits.SimulationId).JournalAsync()).Count);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Run_InvalidDocument_Returns400NamingEachJsonPathAndPersistsNothing(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var before = (await client.ListSimulationsAsync()).Count;
        var document = ScenarioFiles.Read("examples/linger-zero-rst.json")
            .Replace("\"at\": \"300ms\"", "\"at\": \"250qs\"")
            .Replace("\"option\": \"SO_LINGER\"", "\"option\": \"SO_LINGERING\"");

        var response = await client.PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(document, Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.InvalidScenario, problem.GetProperty("type").GetString());
        Assert.Equal(["$.steps[5].option", "$.steps[7].at"], problem.ErrorFields());
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>
    /// Bounds the rest of the API keeps: a seed is zero or positive (as POST /simulations), and no time — a step's or the
    /// end that runUntil sets after the last step — may pass the clock's maximum (an advance past it is a 400 naming the
    /// field; a run used to end silently at the last step).
    /// </summary>
    [Theory]
    [InlineData("\"seed\": -1", "$.seed")]
    [InlineData("\"runUntil\": \"3155760001s\"", "$.runUntil")]
    [InlineData("\"runUntil\": \"876601h\"", "$.runUntil")]
    [InlineData("\"runUntil\": \"9223372036854775807ns\"", "$.runUntil")]
    [InlineData("\"steps\": [{\"at\": \"3155760001s\", \"host\": \"a\", \"call\": \"socket\", \"as\": \"s\"}]", "$.steps[0].at")]
    [InlineData("\"steps\": [{\"at\": \"3155760000s\", \"host\": \"a\", \"call\": \"socket\", \"as\": \"s\"}, {\"at\": \"+1ns\", \"host\": \"a\", \"call\": \"socket\", \"as\": \"t\"}]", "$.steps[1].at")]
    public async Task Run_SeedOrTimePastItsBound_Returns400NamingTheField(string member, string field)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var before = (await client.ListSimulationsAsync()).Count;
        var document = "{\"name\": \"bounds\", \"hosts\": {\"a\": {\"address\": \"10.0.0.1\"}}, "
            + (member.StartsWith("\"steps\"", StringComparison.Ordinal) ? member : "\"steps\": [], " + member) + "}";

        var response = await client.PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(document, Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>
    /// A duplicated key anywhere in the document is the scenario reader's error at its path, as simservice validate and an
    /// in-process simservice run say it (it was a 400 at "$": "The request body must be a JSON object.").
    /// </summary>
    [Theory]
    [InlineData("""{"name":"t","name":"u","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{"host":"a","call":"socket","as":"x"}]}""", "$", "name")]
    [InlineData("""{"name":"t","hosts":{"a":{"address":"10.0.0.1","address":"10.0.0.2"}},"steps":[{"host":"a","call":"socket","as":"x"}]}""", "$.hosts.a", "address")]
    [InlineData("""{"name":"t","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{"host":"a","call":"socket","as":"x","as":"y"}]}""", "$.steps[0]", "as")]
    public async Task Run_DuplicateKey_400AtItsPathAsTheScenarioReaderSaysIt(string document, string objectPath, string key)
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(document, Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        var expected = ScenarioParser.Parse(document).Errors.Single(e => e.Message.Contains("duplicate key", StringComparison.Ordinal));
        Assert.Equal((ProblemTypes.InvalidScenario, $"{objectPath}.{key}", $"duplicate key \"{key}\""), (problem.GetProperty("type").GetString(), expected.Path, expected.Message));
        Assert.Equal([expected.Message], problem.GetProperty("errors").GetProperty(expected.Path).EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Run_RunUntilExactlyAtTheClocksMaximum_EndsThere()
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(
            """{"name": "to-the-end", "hosts": {"a": {"address": "10.0.0.1"}}, "steps": [{"at": "1s", "host": "a", "call": "socket", "as": "s"}], "runUntil": "3155759999s"}""",
            Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"nowNs\":3155760000000000000", await response.Content.ReadAsStringAsync());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Run_NotJson_Returns400(DatabaseProvider provider)
    {
        var response = await hosts.Client(provider).PostAsync($"{SimServiceApi.Scenarios}/run",
            new StringContent("{\"name\": ", Encoding.UTF8, "application/json"));

        await response.ReadProblemAsync(HttpStatusCode.BadRequest);
    }
}
