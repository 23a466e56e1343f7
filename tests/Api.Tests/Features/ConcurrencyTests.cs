using System.Data.Common;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Postgres;
using SimService.Persistence.Sqlite;

namespace SimService.Api.Tests.Features;

/// <summary>Commands to one simulation are serialized, If-Match guards stale writers, and two API processes never interleave a log.</summary>
[Collection(ApiCollection.Name)]
public sealed class ConcurrencyTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task IfMatch_StaleVersion_Returns412AndAppliesNothing(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var response = await sim.PostAsync("advance", new { byNs = 1_000 }, ifMatch: "\"2\"");

        var problem = await response.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(ProblemTypes.VersionMismatch, problem.GetProperty("type").GetString());
        Assert.Equal(3, problem.GetProperty("currentVersion").GetInt64());
        Assert.Equal("If-Match names version \"2\", not the simulation's current version, \"3\"; nothing was applied.", problem.GetProperty("detail").GetString());
        Assert.Equal((3L, 0L), (await sim.VersionAsync(), (await sim.ClockAsync()).NowNs));
    }

    /// <summary>A list in If-Match (RFC 9110: any member may match) is named member by member, then the current version.</summary>
    [Theory]
    [InlineData("\"1\", \"2\"", "If-Match names versions \"1\", \"2\", none of them the simulation's current version, \"3\"; nothing was applied.")]
    [InlineData("\"1\", W/\"3\"", "If-Match names version \"1\", not the simulation's current version, \"3\"; nothing was applied.")] // a weak tag never matches (RFC 9110 §13.1.1)
    [InlineData("\"x\", abc", "If-Match names no version of this simulation (\"x\", abc); its current version is \"3\"; nothing was applied.")]
    // An entity-tag is compared character by character (RFC 9110 §8.8.3.2): "03" is not the ETag "3", whatever its number.
    [InlineData("\"03\"", "If-Match names no version of this simulation (\"03\"); its current version is \"3\"; nothing was applied.")]
    [InlineData("03", "If-Match names no version of this simulation (03); its current version is \"3\"; nothing was applied.")]
    [InlineData("W/\"3\"", "If-Match names no version of this simulation; its current version is \"3\"; nothing was applied.")]
    // Only commas: a list of no entity-tag, which RFC 9110 §13.1.1 evaluates as false (it was taken for no header, and the
    // command applied); sent empty, as curl -H 'If-Match;' sends it: EmptyIfMatchTests, on the wire.
    [InlineData(" , ,", "If-Match names no version of this simulation; its current version is \"3\"; nothing was applied.")]
    public async Task IfMatch_ListOfStaleVersions_412NamesEachAndTheCurrent(string ifMatch, string detail)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));

        var problem = await (await sim.PostAsync("advance", new { byNs = 1_000 }, ifMatch: ifMatch)).ReadProblemAsync(HttpStatusCode.PreconditionFailed);

        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.Equal((3L, 0L), (await sim.VersionAsync(), (await sim.ClockAsync()).NowNs));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task IfMatch_CurrentVersion_AppliesAndAnswersTheNewETag(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var etag = (await sim.Client.GetAsync(sim.Base)).Headers.ETag?.Tag;
        Assert.Equal("\"3\"", etag);

        var response = await sim.PostAsync("advance", new { byNs = 1_000 }, ifMatch: etag);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"4\"", response.Headers.ETag?.Tag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await sim.PostAsync("advance", new { byNs = 1_000 }, ifMatch: "not-a-version")).StatusCode);
    }

    /// <summary>RFC 9110 §13.1.1: a DELETE with an If-Match that names another version (or only a weak tag) is a 412 and deletes nothing.</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_IfMatchStaleOrWeak_412KeepsIt_CurrentDeletes(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        using var stale = await sim.Client.SendAsync(Delete(sim, "\"1\""));
        using var weak = await sim.Client.SendAsync(Delete(sim, "W/\"3\""));

        foreach (var refused in new[] { stale, weak })
        {
            var problem = await refused.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
            Assert.Equal(ProblemTypes.VersionMismatch, problem.GetProperty("type").GetString());
            Assert.Equal(3, problem.GetProperty("currentVersion").GetInt64());
            Assert.Equal(["If-Match"], problem.ErrorFields());
        }
        Assert.Equal(3, await sim.VersionAsync());
        using var current = await sim.Client.SendAsync(Delete(sim, "\"1\", \"3\""));
        Assert.Equal(HttpStatusCode.NoContent, current.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync(sim.Base)).StatusCode);
        using var gone = await sim.Client.SendAsync(Delete(sim, "\"3\""));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Delete_IfMatchStar_Deletes()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));

        using var response = await sim.Client.SendAsync(Delete(sim, "*"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static HttpRequestMessage Delete(SimulationDriver sim, string ifMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, sim.Base);
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return request;
    }

    /// <summary>
    /// RFC 9110 §13.1.2: GET (and HEAD) of a simulation with an If-None-Match naming its ETag — weak comparison, so W/"3"
    /// too — or * is 304 Not Modified with the ETag and no body; another version gets the 200 with the body.
    /// </summary>
    [Theory]
    [InlineData("GET", "\"3\"", HttpStatusCode.NotModified)]
    [InlineData("GET", "W/\"3\"", HttpStatusCode.NotModified)]
    [InlineData("GET", "\"1\", \"3\"", HttpStatusCode.NotModified)]
    [InlineData("GET", "*", HttpStatusCode.NotModified)]
    [InlineData("GET", "\"2\"", HttpStatusCode.OK)]
    [InlineData("GET", "\"03\"", HttpStatusCode.OK)] // another tag than "3" (RFC 9110 §8.8.3.2): it was a 304
    [InlineData("GET", "W/\"003\"", HttpStatusCode.OK)]
    [InlineData("HEAD", "W/\"3\"", HttpStatusCode.NotModified)]
    [InlineData("HEAD", "\"2\"", HttpStatusCode.OK)]
    public async Task GetSimulation_IfNoneMatch_304WithETagWhenItNamesTheVersion(string method, string ifNoneMatch, HttpStatusCode expected)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        var request = new HttpRequestMessage(new HttpMethod(method), sim.Base);
        request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);

        using var response = await sim.Client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("\"3\"", response.Headers.ETag?.Tag);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(expected == HttpStatusCode.OK && method == "GET", body.Length > 0);
    }

    /// <summary>
    /// RFC 9110 §13.1.1: If-Match holds for GET and HEAD too (it was not looked at): one naming no current version —
    /// strong comparison, so W/"3" never matches — is a 412 naming If-Match, before If-None-Match is looked at (§13.2.2);
    /// one naming it, or *, gets the 200.
    /// </summary>
    [Theory]
    [InlineData("GET", "\"2\"", null, HttpStatusCode.PreconditionFailed)]
    [InlineData("GET", "W/\"3\"", null, HttpStatusCode.PreconditionFailed)]
    [InlineData("GET", "\"2\"", "\"3\"", HttpStatusCode.PreconditionFailed)]
    [InlineData("HEAD", "\"7\"", null, HttpStatusCode.PreconditionFailed)]
    [InlineData("GET", "\"1\", \"3\"", null, HttpStatusCode.OK)]
    [InlineData("GET", "*", null, HttpStatusCode.OK)]
    [InlineData("HEAD", "3", null, HttpStatusCode.OK)] // bare digits: taken on purpose (Versioning.ExpectedVersion)
    [InlineData("GET", "\"03\"", null, HttpStatusCode.PreconditionFailed)] // it matched "3" until session 29
    [InlineData("GET", "\"3\"", "\"3\"", HttpStatusCode.NotModified)]
    public async Task GetSimulation_IfMatch_412WhenItNamesNoCurrentVersion(string method, string ifMatch, string? ifNoneMatch, HttpStatusCode expected)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        var request = new HttpRequestMessage(new HttpMethod(method), sim.Base);
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        if (ifNoneMatch is not null) request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);

        using var response = await sim.Client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(method == "GET" && expected != HttpStatusCode.NotModified, body.Length > 0);
        if (expected == HttpStatusCode.PreconditionFailed && method == "GET")
        {
            var problem = await response.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
            Assert.Equal(["If-Match"], problem.ErrorFields());
            Assert.Equal(3L, problem.GetProperty("currentVersion").GetInt64());
        }
        else if (expected != HttpStatusCode.PreconditionFailed) Assert.Equal("\"3\"", response.Headers.ETag?.Tag);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task ParallelCommands_OneProcess_AreSerializedIntoAGapFreeLog(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => sim.PostAsync("advance", new { byNs = 1_000_000 })));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(23, await sim.VersionAsync());
        Assert.Equal(20_000_000, (await sim.ClockAsync()).NowNs);
        await AssertGapFreeAsync(hosts.Services(provider), sim.Id, 23);
    }

    /// <summary>
    /// Two API processes (two hosts with their own engine caches) on one database take turns and race on one
    /// simulation. Each sees the other's commands; a race for the next sequence number is lost by one, which
    /// reloads and retries (or answers 409). The log ends gap-free and replays to the same journal.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TwoProcesses_InterleavedAndRacingCommands_LeaveAGapFreeLogThatReplaysIdentically(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var first = new SimServiceFactory(database);
        await using var second = new SimServiceFactory(database);
        var a = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "two processes");
        var b = new SimulationDriver(second.CreateClient(), a.Id);

        var pair = await a.ConnectAsync();
        Assert.Equal(pair.Version, await b.VersionAsync());
        await b.CallAsync(pair.ClientSocketId, "send", new { bytes = 1000 });
        await a.CallAsync(pair.ServerSocketId!.Value, "recv");
        await b.AdvanceAsync(new { byNs = 50_000_000 });
        Assert.Equal(await a.GetTextAsync("hosts/server/ss"), await b.GetTextAsync("hosts/server/ss"));

        var racing = await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
            (i % 2 == 0 ? a : b).PostAsync("advance", new { byNs = 1_000_000 })));

        Assert.All(racing, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"unexpected {r.StatusCode}"));
        int applied = racing.Count(r => r.StatusCode == HttpStatusCode.OK);
        var version = await a.VersionAsync();
        Assert.Equal(pair.Version + 3 + applied, version);
        Assert.Equal(version, await b.VersionAsync());
        await AssertGapFreeAsync(first.Services, a.Id, version);
        Assert.Equal(await a.JournalAsync(), await b.JournalAsync());
        Assert.Equal((await a.ClockAsync()).NowNs, (await b.ClockAsync()).NowNs);
        Assert.True((await a.ReplayAsync()).Identical);
        Assert.True((await b.ReplayAsync()).Identical);
    }

    /// <summary>
    /// The race made deterministic: process B appends a command after process A has read the simulation and
    /// applied its command to its engine, but before A inserts it. A's insert loses on the (simulation, sequence)
    /// key; A drops its engine, rebuilds it from the log (now with B's command), applies its command again as the
    /// next one, and succeeds.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TwoProcesses_LoserOfTheSequenceKey_ReloadsAndRetries(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        SimulationDriver? b = null;
        var race = new RaceBeforeNextWrite(async () =>
            Assert.Equal(HttpStatusCode.OK, (await b!.PostAsync("advance", new { byNs = 5_000_000 })).StatusCode));
        await using var first = new SimServiceFactory(database, services => race.Install(services, provider));
        await using var second = new SimServiceFactory(database);
        var a = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "race");
        b = new SimulationDriver(second.CreateClient(), a.Id);
        race.Arm();

        var response = await a.PostAsync("advance", new { byNs = 1_000_000 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, race.Fired);
        Assert.Equal("\"5\"", response.Headers.ETag?.Tag);
        Assert.Equal(6_000_000, (await a.ClockAsync()).NowNs);
        Assert.Equal(6_000_000, (await b.ClockAsync()).NowNs);
        await AssertGapFreeAsync(first.Services, a.Id, 5);
        Assert.True((await a.ReplayAsync()).Identical);
    }

    /// <summary>
    /// A command that process A's engine refuses only because another process (B) appended since A last saw the log
    /// (B added the host A's command names): the refusal from A's stale engine is not answered. A sees the stored
    /// version moved on, drops its engine, rebuilds it from the log (B's command included) and applies the command there.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TwoProcesses_CommandRefusedOnAStaleEngine_IsAppliedOnTheRebuiltEngine(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var first = new SimServiceFactory(database);
        await using var second = new SimServiceFactory(database);
        var a = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "stale engine");
        var b = new SimulationDriver(second.CreateClient(), a.Id);
        await a.ClockAsync(); // both processes hold a live engine at version 3
        await b.ClockAsync();
        var rebuilds = first.Services.GetRequiredService<SimulationEngines>().Rebuilds;
        await b.PostOkAsync("hosts", new { name = "third", address = "10.0.0.3" }, HttpStatusCode.Created);

        await a.PostOkAsync("links", new { between = new[] { "client", "third" }, delayNs = 1_000_000 }, HttpStatusCode.Created);

        Assert.Equal(rebuilds + 1, first.Services.GetRequiredService<SimulationEngines>().Rebuilds);
        Assert.Equal(5, await a.VersionAsync());
        Assert.Equal(5, (await b.ClockAsync()).Version);
        await AssertGapFreeAsync(first.Services, a.Id, 5);
        Assert.Equal(await a.JournalAsync(), await b.JournalAsync());
        Assert.True((await a.ReplayAsync()).Identical);
    }

    /// <summary>
    /// A command refused on A's stale engine and refused again on the engine rebuilt with B's commands: the refusal is
    /// answered, nothing of it is persisted (no command row, no journal row, the version unchanged), and A's engine is
    /// the rebuilt one — it has B's connection, its journal is B's, and A's next command is applied on top of it.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TwoProcesses_CommandRefusedOnStaleAndRebuiltEngine_PersistsNothingAndKeepsTheRebuiltEngine(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var first = new SimServiceFactory(database);
        await using var second = new SimServiceFactory(database);
        var a = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "stale engine, refused");
        var b = new SimulationDriver(second.CreateClient(), a.Id);
        await a.ClockAsync();
        await b.ClockAsync();
        var pair = await b.ConnectAsync(); // A's engine knows nothing of it
        var stored = await RowCountsAsync(first.Services, a.Id);
        var rebuilds = first.Services.GetRequiredService<SimulationEngines>().Rebuilds;

        var refused = await a.PostAsync("links", new { between = new[] { "client", "nowhere" }, delayNs = 1_000_000 });

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Equal(stored, await RowCountsAsync(first.Services, a.Id));
        Assert.Equal(pair.Version, await a.VersionAsync());
        Assert.Equal(rebuilds + 1, first.Services.GetRequiredService<SimulationEngines>().Rebuilds);
        Assert.Equal(await b.JournalAsync(), await a.JournalAsync());
        Assert.Equal((await b.SocketAsync(pair.ClientSocketId)).State, (await a.SocketAsync(pair.ClientSocketId)).State);
        Assert.Equal(rebuilds + 1, first.Services.GetRequiredService<SimulationEngines>().Rebuilds); // reads used the kept engine

        await a.AdvanceAsync(new { byNs = 50_000_000 });

        Assert.Equal(pair.Version + 1, (await b.ClockAsync()).Version);
        Assert.Equal(await a.JournalAsync(), await b.JournalAsync());
        await AssertGapFreeAsync(first.Services, a.Id, pair.Version + 1);
        Assert.True((await a.ReplayAsync()).Identical);
    }

    private static async Task<(int Commands, int Events)> RowCountsAsync(IServiceProvider services, Guid id)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        return (await db.Commands.CountAsync(c => c.RunId == id), (int)await db.JournalOf(id).SumAsync(e => e.LastSeq - e.Seq + 1));
    }

    private static async Task AssertGapFreeAsync(IServiceProvider services, Guid id, long count)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        var seqs = db.Commands.Where(c => c.RunId == id).OrderBy(c => c.Seq).Select(c => c.Seq).ToList();
        Assert.Equal(Enumerable.Range(1, (int)count).Select(i => (long)i), seqs);
        // Rows are pages of events Seq..LastSeq: each starts where the one before ended.
        var rows = db.JournalOf(id).OrderBy(e => e.Seq).Select(e => new { e.Seq, e.LastSeq }).ToList();
        Assert.Equal(rows.Select((r, i) => i == 0 ? 0 : rows[i - 1].LastSeq + 1), rows.Select(r => r.Seq));
        await Task.CompletedTask;
    }
}

/// <summary>
/// Runs an action once, when armed, just before the host starts its next transaction (the one SaveChanges opens
/// to append the command): after the host read the simulation, before it writes.
/// </summary>
internal sealed class RaceBeforeNextWrite(Func<Task> interleave) : DbTransactionInterceptor
{
    private int _armed;
    public int Fired { get; private set; }

    public void Arm() => _armed = 1;

    public void Install(IServiceCollection services, DatabaseProvider provider) => Interceptors.Install(services, provider, this);

    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
        DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result,
        CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            Fired++;
            await interleave();
        }
        return result;
    }
}
