using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Every problem names the field, parameter or header at fault in <c>errors</c>, as the validation problems do: a
/// simulation that is not there (<c>id</c>), a stale <c>If-Match</c>, a refused <c>Content-Type</c>, a cross-site
/// <c>Origin</c> or <c>Sec-Fetch-Site</c>, a missing key (<c>Authorization</c>), and for a quota or work limit the field
/// that decides how much the request does — <c>$</c> for the request as a whole. Until 2026-12-05 403s, 422s, 412s and
/// simulation-not-found 404s had no <c>errors</c>, and a journal limit named <c>eventBudget</c> on requests that have none.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ProblemFieldsTests(ApiHosts hosts)
{
    private static async Task<JsonElement> NamesAsync(HttpResponseMessage response, HttpStatusCode status, string type, string field)
    {
        var problem = await response.ReadProblemAsync(status);
        Assert.Equal(type, problem.GetProperty("type").GetString());
        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(problem.GetProperty("detail").GetString(), Assert.Single(problem.GetProperty("errors").GetProperty(field).EnumerateArray()).GetString());
        return problem;
    }

    [Fact]
    public async Task RequestRefusedByItsPathOrHeaders_Problem_NamesTheParameterOrHeader()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var sim = await SimulationDriver.TwoHostsAsync(client, "problem fields");
        var json = () => new StringContent("""{"byNs":1}""", Encoding.UTF8, "application/json");

        await NamesAsync(await client.GetAsync($"{SimServiceApi.Simulations}/{Guid.Empty}/clock"), HttpStatusCode.NotFound, ProblemTypes.SimulationNotFound, "id");
        await NamesAsync(await client.GetAsync($"{SimServiceApi.Simulations}/not-a-uuid/clock"), HttpStatusCode.NotFound, ProblemTypes.SimulationNotFound, "id");
        await NamesAsync(await client.PostAsync($"{SimServiceApi.Simulations}//advance", json()), HttpStatusCode.NotFound, ProblemTypes.SimulationNotFound, "id");
        await NamesAsync(await sim.PostAsync("advance", new { byNs = 1 }, ifMatch: "\"999\""), HttpStatusCode.PreconditionFailed, ProblemTypes.VersionMismatch, "If-Match");
        await NamesAsync(await client.PostAsync($"{sim.Base}/advance", new StringContent("byNs=1", Encoding.UTF8, "application/x-www-form-urlencoded")),
            HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType, "Content-Type");
        await NamesAsync(await client.PostAsync($"{sim.Base}/advance", new StringContent("""{"byNs":1}""", Encoding.UTF8, "application/xml")),
            HttpStatusCode.UnsupportedMediaType, ProblemTypes.UnsupportedMediaType, "Content-Type");
        var foreign = new HttpRequestMessage(HttpMethod.Post, $"{sim.Base}/advance") { Content = json() };
        foreign.Headers.Add("Origin", "https://evil.example");
        await NamesAsync(await client.SendAsync(foreign), HttpStatusCode.Forbidden, ProblemTypes.CrossSiteRequest, "Origin");
        var crossSite = new HttpRequestMessage(HttpMethod.Post, $"{sim.Base}/advance") { Content = json() };
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        await NamesAsync(await client.SendAsync(crossSite), HttpStatusCode.Forbidden, ProblemTypes.CrossSiteRequest, "Sec-Fetch-Site");
    }

    [Fact]
    public async Task KeysOn_NoKeyOrAWrongOne_401NamesTheHeader()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database);
        await factory.CreateKeyAsync("acme");
        var client = factory.CreateClient();

        await NamesAsync(await client.GetAsync(SimServiceApi.Simulations), HttpStatusCode.Unauthorized, ProblemTypes.Unauthorized, "Authorization");
        var wrong = new HttpRequestMessage(HttpMethod.Get, SimServiceApi.Simulations);
        wrong.Headers.Add("X-Api-Key", "ssk_0000000000000000_wrong");
        await NamesAsync(await client.SendAsync(wrong), HttpStatusCode.Unauthorized, ProblemTypes.Unauthorized, "X-Api-Key");
    }

    [Fact]
    public async Task QuotaHit_403_NamesTheEndpointsWorkFieldOrTheWholeRequest()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Quotas:Simulations"] = "1", ["Quotas:HostsPerSimulation"] = "2", ["Quotas:SocketsPerSimulation"] = "2",
        });
        var client = factory.CreateClient();
        var sim = await SimulationDriver.TwoHostsAsync(client, "quota fields");

        await NamesAsync(await client.PostJsonAsync("""{"name":"second"}"""), HttpStatusCode.Forbidden, ProblemTypes.QuotaExceeded, "$");
        await NamesAsync(await sim.PostAsync("hosts", new { name = "third", address = "10.0.0.3" }), HttpStatusCode.Forbidden, ProblemTypes.QuotaExceeded, "$");
        await NamesAsync(await sim.PostAsync("commands", new { commands = new object[]
        {
            new { type = "advance", byNs = 1_000 },
            new { type = "add-host", name = "third", address = "10.0.0.3" },
        } }), HttpStatusCode.Forbidden, ProblemTypes.QuotaExceeded, "commands");
        // Refused before the engine makes any host: 200,000 generated clients were built (4 GB, minutes) and then refused.
        await NamesAsync(await sim.PostAsync("workloads", new { generatedClients = 200_000, server = "server", count = 1 }),
            HttpStatusCode.Forbidden, ProblemTypes.QuotaExceeded, "generatedClients");
        Assert.Equal(2, (await sim.GetJsonAsync("hosts")).GetProperty("items").GetArrayLength());
        // A scenario is held to the hosts quota before it runs, naming its hosts or the workload step that generates them.
        const string Hosts = "\"hosts\": {\"client\": {\"address\": \"10.0.0.1\"}, \"server\": {\"address\": \"10.0.0.2\"}";
        await NamesAsync(await client.PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(
            "{\"name\": \"three\", " + Hosts + ", \"third\": {\"address\": \"10.0.0.3\"}}, \"steps\": []}", Encoding.UTF8, "application/json")),
            HttpStatusCode.Forbidden, ProblemTypes.QuotaExceeded, "$.hosts");
        await NamesAsync(await client.PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(
            "{\"name\": \"generated\", " + Hosts + "}, \"steps\": [{\"at\": \"0ms\", \"workload\": "
            + "{\"generatedClients\": 200000, \"server\": \"server\", \"rate\": 100, \"count\": 1}}]}", Encoding.UTF8, "application/json")),
            HttpStatusCode.Forbidden, ProblemTypes.QuotaExceeded, "$.steps[0].workload.generatedClients");
    }

    [Fact]
    public async Task JournalLimitHit_422_NamesTheBudgetOfAnAdvanceTheCommandOfABatchOrTheWholeRequest()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "5" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "journal fields");

        // A connection's handshake journals more than 5 events: the request as a whole (it has no eventBudget).
        await NamesAsync(await sim.PostAsync("connections", new { client = "client", server = "server", port = 80 }),
            HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "$");
        await NamesAsync(await sim.PostAsync("commands", new { commands = new object[]
        {
            new { type = "advance", byNs = 1_000 },
            new { type = "call", call = "listen", host = "server", port = 80 },
            new { type = "call", call = "connect", host = "client", to = "server:80" },
        } }), HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "commands[2]");
        // The listener and the SYN fit; the advance that completes the handshake does not: its budget is at fault.
        Assert.Equal(HttpStatusCode.OK, (await sim.PostAsync("commands", new { commands = new object[]
        {
            new { type = "call", call = "listen", host = "server", port = 80 },
        } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await sim.PostAsync("commands", new { commands = new object[]
        {
            new { type = "call", call = "connect", host = "client", to = "server:80" },
        } })).StatusCode);
        // The advance that completes the handshake journals more: it stops between events, truncated as on its budget, and
        // names the budget its logged command keeps (it was a 422 naming eventBudget until session 33).
        var advance = await sim.PostOkAsync("advance", new { byNs = 1_000_000_000 });
        Assert.True(advance.GetProperty("truncated").GetBoolean());
        Assert.Equal(advance.GetProperty("eventsProcessed").GetInt64(), advance.GetProperty("eventBudget").GetInt64());
    }

    /// <summary>A service whose per-request journal limit is <c>limit</c>, and on it a two-host simulation listening on server:80.</summary>
    private sealed class ListeningUnderLimit(TestDatabase database, SimServiceFactory factory, SimulationDriver sim) : IAsyncDisposable
    {
        public SimulationDriver Sim => sim;

        public static async Task<ListeningUnderLimit> StartAsync(int limit)
        {
            var database = TestDatabase.Create(DatabaseProvider.Sqlite);
            var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = $"{limit}" });
            var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "journal boundary");
            await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "call", call = "listen", host = "server", port = 80 } } });
            return new ListeningUnderLimit(database, factory, sim);
        }

        public async ValueTask DisposeAsync()
        {
            await factory.DisposeAsync();
            await database.DisposeAsync();
        }
    }

    /// <summary>
    /// fix34g N4, the limit's boundary: a request may add Limits:JournalEventsPerRequest journal events. A connect() that adds
    /// exactly that many (4: the call issued, the SYN, the timer armed, the state) is applied — it was refused as "more
    /// than 4", the check being "the journal has reached the limit"; one event fewer allowed is refused.
    /// </summary>
    [Theory]
    [InlineData(4, HttpStatusCode.OK)]
    [InlineData(3, HttpStatusCode.UnprocessableEntity)]
    public async Task JournalLimit_CommandAddingExactlyTheLimit_IsApplied(int limit, HttpStatusCode status)
    {
        await using var api = await ListeningUnderLimit.StartAsync(limit);
        var sim = api.Sim;

        var response = await sim.PostAsync("commands", new { commands = new object[] { new { type = "call", call = "connect", host = "client", to = "server:80" } } });

        Assert.Equal(status, response.StatusCode);
        if (status == HttpStatusCode.OK)
            Assert.Equal(4, Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()).GetProperty("journalEvents").GetInt32());
        else
            Assert.Contains($"more than {limit} journal events", (await NamesAsync(response, status, ProblemTypes.WorkLimit, "commands[0]")).GetProperty("detail").GetString());
    }

    /// <summary>
    /// An advance that processes every due event and fills the journal exactly on the last (4 events, 12 journal events, with
    /// a limit of 12) is complete, not cut: not truncated, and a command after it that adds nothing (an advance of 1 µs with
    /// nothing due) is applied too — it was refused as "more than 12". With a limit of 11 the advance's last event takes the
    /// journal past it: the advance is applied (at most the last event's entries pass the limit), and the next command is
    /// refused.
    /// </summary>
    [Theory]
    [InlineData(12, true)]
    [InlineData(11, false)]
    public async Task JournalLimit_AdvanceFillingItExactlyOnItsLastDueEvent_IsComplete(int limit, bool fits)
    {
        var status = fits ? HttpStatusCode.OK : HttpStatusCode.UnprocessableEntity;
        await using var api = await ListeningUnderLimit.StartAsync(limit);
        var sim = api.Sim;
        await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "call", call = "connect", host = "client", to = "server:80" } } });
        long version = await sim.VersionAsync();

        var response = await sim.PostAsync("commands", new { commands = new object[]
        {
            new { type = "advance", byNs = 100_000_000 },
            new { type = "advance", byNs = 1_000 },
        } });

        Assert.Equal(status, response.StatusCode);
        if (status != HttpStatusCode.OK)
        {
            Assert.Contains($"more than {limit} journal events", (await response.ReadProblemAsync(status)).GetProperty("detail").GetString());
            Assert.Equal(version, await sim.VersionAsync());
            return;
        }
        var results = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("advance")).ToList();
        Assert.Equal((4L, 12, false, false), (results[0].GetProperty("eventsProcessed").GetInt64(), results[0].GetProperty("journalEvents").GetInt32(),
            results[0].GetProperty("truncated").GetBoolean(), results[0].TryGetProperty("stoppedBy", out _)));
        Assert.Equal((0L, 100_001_000L), (results[1].GetProperty("eventsProcessed").GetInt64(), results[1].GetProperty("nowNs").GetInt64()));
        Assert.Equal(version + 2, await sim.VersionAsync());
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// In a batch of commands, an advance the journal limit stops is what it is alone: as the batch's last command it is
    /// applied, truncated, its answer naming the budget it used (the events it processed) — it named the request's budget
    /// (10,000), not what its logged command keeps. A command after it refuses the whole batch, saying that the earlier
    /// advance was cut at the limit — it was the generic "would add more than 5 journal events … send fewer commands".
    /// </summary>
    [Fact]
    public async Task JournalLimitHit_BatchWhoseAdvanceIsCut_ReportsItAsAnAdvanceAloneAndRefusesWhatFollows()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "5" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "journal batch");
        await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "call", call = "listen", host = "server", port = 80 } } });
        await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "call", call = "connect", host = "client", to = "server:80" } } });
        long version = await sim.VersionAsync();

        var refused = await NamesAsync(await sim.PostAsync("commands", new { commands = new object[]
        {
            new { type = "advance", byNs = 1_000_000_000 },
            new { type = "call", call = "listen", host = "server", port = 81 },
        } }), HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "commands[1]");
        Assert.Equal(version, await sim.VersionAsync());

        var applied = await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "advance", byNs = 1_000_000_000 } } });
        var advance = Assert.Single(applied.GetProperty("results").EnumerateArray()).GetProperty("advance");
        Assert.True(advance.GetProperty("truncated").GetBoolean());
        long processed = advance.GetProperty("eventsProcessed").GetInt64();
        Assert.Equal(processed, advance.GetProperty("eventBudget").GetInt64());
        Assert.Equal(version + 1, await sim.VersionAsync());
        var stoppedAt = new SimService.Domain.Time.SimTime(advance.GetProperty("nowNs").GetInt64());
        Assert.Equal("An earlier advance of this request was cut at the journal limit (5 events per request): the journal limit stopped the advance "
            + $"by 1s at {stoppedAt}, after {processed} event{(processed == 1 ? "" : "s")}; nothing was applied. Send the commands after that advance in "
            + "another request (alone, the advance is applied, truncated there).", refused.GetProperty("detail").GetString());
    }

    /// <summary>
    /// A workload that journals past the request's journal cap is told what makes it fit: its count (with the number) or a
    /// coarser level — not an advance's "smaller event budget, smaller steps" (tester session 24).
    /// </summary>
    [Theory]
    [InlineData("Full", "lower count or set a coarser level: \"States\" (state changes only) or \"Counters\" (no journal events)")]
    [InlineData("States", "lower count or set level \"Counters\" (no journal events)")]
    public async Task JournalLimitHit_Workload_AdvisesItsCountAndLevel(string level, string advice)
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "20" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "journal advice");

        var problem = await NamesAsync(await sim.PostAsync("workloads", new { clients = new[] { "client" }, server = "server", rate = 100, count = 5000, level }),
            HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "count");

        Assert.Equal($"The request would add more than 20 journal events; nothing was applied. The workload's 5000 connections at level \"{level}\" "
            + $"journal more than that: {advice}.", problem.GetProperty("detail").GetString());
        Assert.Equal(3, await sim.VersionAsync());
    }

    /// <summary>
    /// A workload of one connection past the journal cap is told to send fewer bytes, naming the larger size — its count
    /// cannot go lower (tester34: 10 GB at "States" was told "lower count" for "1 connections", naming count).
    /// </summary>
    [Fact]
    public async Task JournalLimitHit_WorkloadOfOneConnection_NamesItsLargerSize()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "20" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "journal advice, one connection");

        var problem = await NamesAsync(await sim.PostAsync("workloads", new
        {
            clients = new[] { "client" }, server = "server", rate = 1, count = 1, requestBytes = 10, responseBytes = 10_000_000, level = "States",
        }), HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "responseBytes");

        Assert.Equal("The request would add more than 20 journal events; nothing was applied. The workload's one connection at level \"States\" "
            + "journals more than that with its responseBytes: send fewer bytes or set level \"Counters\" (no journal events).",
            problem.GetProperty("detail").GetString());
        Assert.Equal(3, await sim.VersionAsync());
    }

    /// <summary>
    /// A Full workload far past the journal cap stops at the event that reached it (Simulation.RunWhile) and is refused
    /// naming its count; it ran on to the wall-time limit, a 422 naming eventBudget, which the request had not sent
    /// (tester session 26: 300 s of CPU for count 100,000).
    /// </summary>
    [Fact]
    public async Task JournalLimitHit_FullWorkloadOfAMillion_StopsThereNamingCount()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Limits:JournalEventsPerRequest"] = "20", ["Limits:WorkloadSeconds"] = "20",
        });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "journal stop");

        var problem = await NamesAsync(await sim.PostAsync("workloads", new { clients = new[] { "client" }, server = "server", rate = 1000, count = 1_000_000, level = "Full" }),
            HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "count");

        Assert.StartsWith("The request would add more than 20 journal events; nothing was applied.", problem.GetProperty("detail").GetString());
        Assert.Equal(3, await sim.VersionAsync());
    }

    /// <summary>
    /// A kill is one command that cannot be split: a process holding more sockets than one request's journal limit covers
    /// is killed all the same — each close within the limit (CommandBatch.KillJournalLimit) — and stored as a rebuild gives
    /// it; it was a 422 whose advice ("send fewer commands, or advance in smaller steps") could not apply (tester session 32,
    /// MEDIUM-3: 5,000 connections at the default 20,000).
    /// </summary>
    [Fact]
    public async Task JournalLimitHit_KillOfAProcessHoldingManySockets_AppliedWithinTheLimitPerClose()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "50" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "kill many");
        await sim.PostOkAsync("workloads", new { clients = new[] { "client" }, server = "server", port = 80, rate = 1000, count = 40, thinkTimeNs = "1h", drainLimitNs = "1s", level = "Counters" });
        long version = await sim.VersionAsync();

        var killed = await sim.PostAsync("hosts/server/processes/w1-srv/kill", new { });

        Assert.Equal(HttpStatusCode.OK, killed.StatusCode);
        Assert.Equal(version + 1, await sim.VersionAsync());
        Assert.True((await sim.JournalAsync()).Count > 50 + 40 * 2);
        var ss = await sim.GetTextAsync("hosts/server/ss");
        Assert.Equal(40, ss.Split('\n').Count(line => line.StartsWith("FIN-WAIT-1", StringComparison.Ordinal)));
        Assert.DoesNotContain("ESTAB", ss);
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// The advance after such a kill: the FINs of all its closes reach their peers at one instant, and that instant journals
    /// more than a request may (30,000 connections at the default 20,000: a 422 whose advice, a smaller event budget, the
    /// user could only guess). The advance now stops between events once the journal is full, as on its event budget —
    /// truncated, logged with the events it processed as its budget (the response's eventBudget) — and the next ones go
    /// on, each within the limit, until the instant is done; a rebuild replays identically. Here 300 connections, a
    /// limit of 200.
    /// </summary>
    [Fact]
    public async Task JournalLimitHit_AdvanceAfterAKillOfManySockets_StopsBetweenEventsAndTheNextGoOn()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "200" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "kill then advance");
        await sim.PostOkAsync("workloads", new { clients = new[] { "client" }, server = "server", port = 80, rate = 100_000, count = 300, thinkTimeNs = "1h", drainLimitNs = "1s", level = "Counters" });
        await sim.PostOkAsync("hosts/server/processes/w1-srv/kill", new { });
        long killedAt = (await sim.ClockAsync()).NowNs, version = await sim.VersionAsync();

        var first = await sim.PostOkAsync("advance", new { byNs = "10ms" });

        Assert.True(first.GetProperty("truncated").GetBoolean());
        Assert.Equal("eventBudget", first.GetProperty("stoppedBy").GetString());
        long used = first.GetProperty("eventBudget").GetInt64();
        Assert.Equal(first.GetProperty("eventsProcessed").GetInt64(), used);
        Assert.InRange(used, 1, 199);
        Assert.InRange(first.GetProperty("journalEvents").GetInt32(), 200, 220);
        Assert.Equal(version + 1, first.GetProperty("version").GetInt64());
        int advances = 1;
        for (var next = first; next.GetProperty("truncated").GetBoolean(); advances++)
        {
            next = await sim.PostOkAsync("advance", new { toNs = killedAt + 10_000_000 });
            Assert.InRange(next.GetProperty("journalEvents").GetInt32(), 0, 220);
        }
        Assert.Equal(killedAt + 10_000_000, (await sim.ClockAsync()).NowNs);
        Assert.True(advances > 3, $"{advances} advances");
        Assert.Equal(300, (await sim.GetTextAsync("hosts/client/ss")).Split('\n').Count(line => line.StartsWith("CLOSE-WAIT", StringComparison.Ordinal)));
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>A kill past even that (a limit smaller than one close's events) is refused whole, naming the limit that applies to it.</summary>
    [Fact]
    public async Task JournalLimitHit_KillPastItsPerCloseAllowance_422NamesProcessAndTheLimit()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "1" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "kill refused");
        await sim.PostOkAsync("workloads", new { clients = new[] { "client" }, server = "server", port = 80, rate = 1000, count = 5, thinkTimeNs = "1h", drainLimitNs = "1s", level = "Counters" });
        long version = await sim.VersionAsync();

        var problem = await NamesAsync(await sim.PostAsync("hosts/server/processes/w1-srv/kill", new { }), HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "process");

        Assert.Equal("The request would add more than 1 journal events; nothing was applied. A kill cannot be split: it may add that many per "
            + "descriptor it closes, and this one needs more: raise Limits:JournalEventsPerRequest (the number), or close some of the process's sockets first.",
            problem.GetProperty("detail").GetString());
        Assert.Equal(version, await sim.VersionAsync());
        Assert.Contains("ESTAB", await sim.GetTextAsync("hosts/server/ss"));
    }

    [Fact]
    public async Task WallTimeLimitHit_422_NamesTheEndpointsWorkField()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Limits:WorkloadSeconds"] = "1",
        });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "time fields");
        // The workload runs past its 1 s limit (a hundred million connections); one that only waited is a 429 busy (WallTimeLimitTests).
        // It names the field that sized the work as the request sent it: count (it named eventBudget, never sent), or eventBudget.
        await NamesAsync(await sim.PostAsync("workloads", new { clients = new[] { "client" }, server = "server", rate = 1_000_000, count = 100_000_000 }),
            HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "count");
        await NamesAsync(await sim.PostAsync("workloads", new { clients = new[] { "client" }, server = "server", rate = 1_000_000, count = 100_000_000, eventBudget = 1_000_000_000 }),
            HttpStatusCode.UnprocessableEntity, ProblemTypes.WorkLimit, "eventBudget");
    }
}
