using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Entities;
using SimService.Persistence.Serialization;

namespace SimService.Api.Tests.Features;

/// <summary>
/// The journal read back from stored pages (<see cref="JournalPageCodec"/>) is the journal read back from one-event
/// rows: the same simulation stored with pages of 1 and of 7 events, and then with its first half rewritten as the
/// one-event JSON rows an existing database holds (what migration JournalPages leaves), answers every journal query —
/// paging by sequence number, each filter, their combinations — with the same bytes, and replays identically.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class JournalPageReadTests
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Journal_StoredAsPagesOrOneEventJsonRows_AnswersEveryQueryWithTheSameBytes(DatabaseProvider provider)
    {
        await using var oneDatabase = TestDatabase.Create(provider);
        await using var sevenDatabase = TestDatabase.Create(provider);
        await using var one = new SimServiceFactory(oneDatabase, settings: new Dictionary<string, string?> { ["Persistence:JournalPageEvents"] = "1" });
        await using var seven = new SimServiceFactory(sevenDatabase, settings: new Dictionary<string, string?> { ["Persistence:JournalPageEvents"] = "7" });
        var a = await RunAsync(one);
        var b = await RunAsync(seven);
        var total = (await a.GetJsonAsync("journal?limit=1")).GetProperty("total").GetInt64();
        Assert.True(total > 100, $"{total} events");
        var queries = Queries(total, (await a.GetJsonAsync("journal?limit=5000")).GetProperty("items"));

        await AssertSameAsync(a, b, queries);
        Assert.Equal(await PagedThroughAsync(a, 3), await PagedThroughAsync(b, 3));
        Assert.True((await b.ReplayAsync()).Identical);

        await RewriteAsJsonRowsAsync(seven.Services, b.Id, below: total / 2);
        await AssertSameAsync(a, b, queries);
        Assert.Equal(await PagedThroughAsync(a, 5), await PagedThroughAsync(b, 5));
        Assert.True((await b.ReplayAsync()).Identical);
    }

    /// <summary>
    /// A stored page changed behind the service's back (a bit flipped on disk, a truncated write): reading it is a clean
    /// 500 problem document — the page's checksum names it (<see cref="JournalPageFormatException"/>) — and the service goes on:
    /// the rest of the journal, the simulation and its commands still answer.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Journal_APageCorruptedInTheDatabase_IsA500ProblemAndTheServiceGoesOn(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Persistence:JournalPageEvents"] = "16" });
        var sim = await RunAsync(host);
        var total = (await sim.GetJsonAsync("journal?limit=1")).GetProperty("total").GetInt64();
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
            var row = await db.JournalOf(sim.Id).Where(e => e.Seq > 16).OrderBy(e => e.Seq).FirstAsync();
            var truncated = row.Page![..(row.Page!.Length / 2)];
            Assert.Equal(1, await db.Events.Where(e => e.RunId == sim.Id && e.Seq == row.Seq && e.WriteId == row.WriteId)
                .ExecuteUpdateAsync(set => set.SetProperty(e => e.Page, truncated)));
        }

        var broken = await sim.Client.GetAsync($"{sim.Base}/journal?afterSeq=16&limit=5");
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);
        Assert.Equal("application/problem+json", broken.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.InternalServerError, (await sim.PostAsync("replay", null)).StatusCode);

        Assert.Equal(16, (await sim.GetJsonAsync("journal?limit=16")).GetProperty("items").GetArrayLength());
        Assert.Equal(total, (await sim.GetJsonAsync("journal?limit=1")).GetProperty("total").GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await sim.PostAsync("advance", new { byNs = 1 })).StatusCode);
    }

    private static async Task<SimulationDriver> RunAsync(SimServiceFactory host)
    {
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "read");
        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "send", new { bytes = 20_000 });
        await sim.AdvanceAsync(new { byNs = 1_000_000_000 });
        await sim.CallAsync(pair.ClientSocketId, "close");
        await sim.AdvanceAsync(new { byNs = 120_000_000_000 });
        return sim;
    }

    /// <summary>Queries at every kind of boundary: page starts and ends, filters that match nothing, one, many.</summary>
    private static List<string> Queries(long total, System.Text.Json.JsonElement items)
    {
        var times = items.EnumerateArray().Select(i => i.GetProperty("atNs").GetInt64()).ToList();
        long mid = times[times.Count / 2], late = times[^10];
        List<string> queries = ["journal", "journal?limit=5000", $"journal?afterSeq={total - 1}", $"journal?afterSeq={total + 100}"];
        foreach (var after in new long[] { -1, 0, 5, 6, 7, 13, 14, 20, total / 2, total - 2 })
            foreach (var limit in new[] { 1, 2, 7, 8, 100 })
                queries.Add($"journal?afterSeq={after}&limit={limit}");
        queries.AddRange(
        [
            "journal?type=segment-sent&limit=9", "journal?type=state-changed&type=timer-fired", "journal?type=link-changed",
            "journal?host=server&limit=11", "journal?host=client&host=server&limit=17", "journal?socketId=3&limit=13", "journal?socketId=3&host=server",
            $"journal?fromNs={mid}&limit=10", $"journal?toNs={mid}&afterSeq=10&limit=10", $"journal?fromNs={mid}&toNs={late}&type=segment-delivered",
            $"journal?fromNs={late + 1}", "journal?host=client&type=call-returned&type=call-issued&afterSeq=3&limit=4",
        ]);
        return queries;
    }

    private static async Task AssertSameAsync(SimulationDriver a, SimulationDriver b, List<string> queries)
    {
        foreach (var query in queries)
            Assert.Equal((query, await TextAsync(a, query)), (query, await TextAsync(b, query)));
    }

    private static async Task<string> TextAsync(SimulationDriver sim, string query)
    {
        var response = await sim.Client.GetAsync($"{sim.Base}/{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {query}: {(int)response.StatusCode}: {text}");
        return text;
    }

    /// <summary>The whole journal, page by page of <paramref name="limit"/>, following nextAfterSeq.</summary>
    private static async Task<List<string>> PagedThroughAsync(SimulationDriver sim, int limit)
    {
        var pages = new List<string>();
        long? after = -1;
        while (after is { } next)
        {
            var page = await sim.GetJsonAsync($"journal?afterSeq={next}&limit={limit}&type=segment-sent&type=timer-armed");
            pages.Add(page.GetProperty("items").GetRawText());
            after = page.GetProperty("nextAfterSeq").ValueKind == System.Text.Json.JsonValueKind.Null ? null : page.GetProperty("nextAfterSeq").GetInt64();
        }
        return pages;
    }

    /// <summary>The simulation's events below <paramref name="below"/> as one-event JSON rows, as stored before pages; the rest stays pages.</summary>
    private static async Task RewriteAsJsonRowsAsync(IServiceProvider services, Guid id, long below)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        var rows = await db.JournalOf(id).Where(e => e.Seq < below).ToListAsync();
        var events = JournalRows.Events(rows.OrderBy(r => r.Seq)).ToList();
        await using var transaction = await db.Database.BeginTransactionAsync();
        Assert.Equal(rows.Count, await db.Events.Where(e => e.RunId == id && e.Seq < below).ExecuteDeleteAsync());
        db.Events.AddRange(events.Select(e => EventTypeMap.ToRecord(id, e)));
        await db.SaveChangesAsync();
        await transaction.CommitAsync();
        Assert.Contains(await db.JournalOf(id).ToListAsync(), r => r.Page is null);
        Assert.Contains(await db.JournalOf(id).ToListAsync(), r => r.Page is not null);
    }
}
