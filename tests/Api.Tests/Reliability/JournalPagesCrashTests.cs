using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Postgres;
using SimService.Persistence.Sqlite;
using Xunit.Abstractions;
using static SimService.Api.Tests.Reliability.RunawayTests;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// <c>kill -9</c> while a big request's journal pages are being written, before its command's transaction: after the
/// restart nothing of it is visible (version and journal as before, replay identical), and once the simulation's next
/// command commits, the dead request's pages are deleted.
/// </summary>
[Collection(RealProcessCollection.Name)]
public sealed class JournalPagesCrashTests(ITestOutputHelper output)
{
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    [Theory, MemberData(nameof(Providers))]
    public async Task KilledWhileWritingPages_AfterRestart_NothingVisibleAndPagesDeletedAtNextCommit(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var settings = new Dictionary<string, string?>(database.Settings)
        {
            ["Persistence:JournalPageRows"] = "200",
            // Stored pages of 4 events: the request's ≈ 720,000 events are ≈ 900 page transactions, not one.
            ["Persistence:JournalPageEvents"] = "4",
            ["Limits:JournalEventsPerRequest"] = "1000000",
            ["Limits:WorkloadSeconds"] = "600",
            // The command after the restart rebuilds the engine first: at load 30+ that alone passed the default 10 s (a 422).
            ["Limits:RequestSeconds"] = "120",
        };
        var api = await ApiProcess.StartAsync(settings);
        Guid id;
        long version, journal;
        try
        {
            using var client = api.CreateClient();
            id = await JournalPagesLoadTests.ChurnSimulationAsync(client);
            (version, journal) = await StateAsync(client, id);
            // 10,000 connections: hundreds of page transactions, seconds of writing, so the poll below sees a page long
            // before the request could end (at 1,000, a fast PostgreSQL wrote all 90 pages between two polls). The kill
            // comes at the first page seen, so the size costs nothing.
            // Its engine work comes before its first page: past the client's 60 s at load 55 (the request "ended" by the
            // client's timeout). It may take the workload's own limit.
            using var patient = api.CreateClient();
            patient.Timeout = TimeSpan.FromSeconds(660);
            var big = patient.PostAsync($"/api/v1/simulations/{id}/workloads", Json(JournalPagesLoadTests.ChurnWorkload(10_000)));
            await using (var db = Open(settings))
                while (!await db.JournalWrites.AnyAsync(w => w.RunId == id && !w.Committed && db.Events.Any(e => e.WriteId == w.Id)))
                    if (big.IsCompleted)
                        Assert.Fail("the request ended before a page of it was seen: "
                            + (big.IsCompletedSuccessfully ? $"{(int)(await big).StatusCode} {await (await big).Content.ReadAsStringAsync()}" : big.Exception!.GetBaseException().Message));
            api.Kill();
            await Assert.ThrowsAnyAsync<Exception>(() => big);
        }
        finally
        {
            await api.DisposeAsync();
        }

        await using var restarted = await ApiProcess.StartAsync(settings);
        using var again = restarted.CreateClient();
        Assert.Equal((version, journal), await StateAsync(again, id));
        await using var check = Open(settings);
        var orphans = await check.JournalWrites.Where(w => w.RunId == id).Select(w => w.Id).ToListAsync();
        Assert.NotEmpty(orphans);
        var orphanRows = await check.Events.CountAsync(e => e.RunId == id && orphans.Contains(e.WriteId));

        var next = await again.PostAsync($"/api/v1/simulations/{id}/advance", Json("""{"byNs":1000000}"""));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        while (await check.JournalWrites.AnyAsync(w => w.RunId == id) || await check.Events.AnyAsync(e => e.RunId == id && orphans.Contains(e.WriteId)))
            Assert.False(restarted.HasExited);
        var replay = (await (await again.PostAsync($"/api/v1/simulations/{id}/replay", null)).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(replay["identical"]!.GetValue<bool>(), replay.ToJsonString());
        Assert.Equal(version + 1, (await StateAsync(again, id)).Version);
        Figures.Report(output, $"journal pages crash ({provider}): kill -9 during a 10,000-connection request's page writes: {orphanRows} pre-written rows "
            + $"of {orphans.Count} uncommitted write(s) invisible after the restart (version {version}, {journal} journal rows, as before), "
            + "deleted once the next command committed; replay identical");
        Assert.Empty(restarted.ErrorLines);
    }

    /// <summary>
    /// <c>kill -9</c> part-way through the purge of a deleted simulation's rows: after the restart nothing of it is visible
    /// (404, not listed), its remaining rows are removed by the start-up sweep, and another simulation is untouched.
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task KilledWhilePurgingADeletedSimulation_AfterRestart_InvisibleAndThePurgeFinished(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var settings = new Dictionary<string, string?>(database.Settings)
        {
            ["Persistence:JournalPageRows"] = "100",
            ["Persistence:PurgePageRows"] = "10", // ten times the statements of 100: at load ≈ 50 (session 40's CI) a 100-row purge had ended before the kill
            ["Persistence:JournalPageEvents"] = "4",
            ["Limits:JournalEventsPerRequest"] = "1000000",
            ["Limits:WorkloadSeconds"] = "600",
        };
        var api = await ApiProcess.StartAsync(settings);
        Guid id, other;
        IReadOnlyList<string> otherJournal;
        long rows, left;
        await using var check = Open(settings);
        try
        {
            using var client = api.CreateClient();
            other = await KeepaliveSimulationAsync(client);
            otherJournal = await JournalTextAsync(client, other);
            id = await JournalPagesLoadTests.ChurnSimulationAsync(client);
            var workload = await client.PostAsync($"/api/v1/simulations/{id}/workloads", Json(JournalPagesLoadTests.ChurnWorkload(1_500)));
            Assert.True(workload.IsSuccessStatusCode, await workload.Content.ReadAsStringAsync());
            rows = await check.Events.LongCountAsync(e => e.RunId == id);
            var first = await check.Events.Where(e => e.RunId == id).MinAsync(e => e.Seq);

            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/simulations/{id}")).StatusCode);
            // The first page gone: the purge is under way.
            while (await check.Events.Where(e => e.RunId == id).MinAsync(e => (long?)e.Seq) == first)
                Assert.False(api.HasExited);
            api.Kill();
        }
        finally
        {
            await api.DisposeAsync();
        }
        left = await check.Events.LongCountAsync(e => e.RunId == id);
        Assert.True(left > 0, "the purge had finished before the kill: nothing left for the restart to finish");
        Assert.True(await check.Simulations.IgnoreQueryFilters().AnyAsync(r => r.Id == id && r.Deleted));

        var restartedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var restarted = await ApiProcess.StartAsync(settings);
        using var again = restarted.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync($"/api/v1/simulations/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync($"/api/v1/simulations/{id}/journal?limit=1")).StatusCode);
        Assert.DoesNotContain($"{id}", await again.GetStringAsync("/api/v1/simulations?limit=1000"));
        while (await check.Simulations.IgnoreQueryFilters().AnyAsync(r => r.Id == id))
            Assert.False(restarted.HasExited);
        var finished = System.Diagnostics.Stopwatch.GetElapsedTime(restartedAt).TotalSeconds;
        Assert.Equal(0, await check.Events.CountAsync(e => e.RunId == id));
        Assert.Equal(0, await check.Commands.CountAsync(c => c.RunId == id));
        Assert.Equal(0, await check.JournalWrites.CountAsync(w => w.RunId == id));
        Assert.Equal(otherJournal, await JournalTextAsync(again, other));
        Figures.Report(output, $"delete crash ({provider}): kill -9 while purging a deleted simulation of {rows:N0} journal rows (100-row pages), "
            + $"{left:N0} left: after the restart 404 and not listed, the start-up sweep removed the rest ({finished:F1} s from restart); "
            + "another simulation's journal unchanged");
        Assert.Empty(restarted.ErrorLines);
    }

    private static async Task<IReadOnlyList<string>> JournalTextAsync(HttpClient client, Guid id) =>
        [.. (await client.GetFromJsonAsync<JsonObject>($"/api/v1/simulations/{id}/journal?limit=1000"))!["items"]!.AsArray().Select(i => i!.ToJsonString())];

    private static async Task<(long Version, long Journal)> StateAsync(HttpClient client, Guid id)
    {
        var run = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/simulations/{id}"))!;
        var page = (await client.GetFromJsonAsync<JsonObject>($"/api/v1/simulations/{id}/journal?limit=1"))!;
        return (run["version"]!.GetValue<long>(), page["total"]!.GetValue<long>());
    }

    private static SimDbContext Open(IReadOnlyDictionary<string, string?> settings) => TestDatabase.Open(settings);
}
