using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Tests.Features;

/// <summary>
/// A request's journal rows past one page are written before its command's transaction, tagged with a journal write
/// that readers ignore until that transaction marks it committed (issue #11: a big command no longer holds other
/// simulations' commits). Pages here are 10 rows, so an ordinary connection's journal spans several.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class JournalPagesTests
{
    private const int PageRows = 10;

    /// <summary>Pre-writes past 10 rows, each a stored page of 2 events.</summary>
    private static readonly Dictionary<string, string?> SmallPages = new()
    {
        ["Persistence:JournalPageRows"] = $"{PageRows}", ["Persistence:JournalPageEvents"] = "2",
    };

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Command_JournalPastOnePage_IsPreWrittenThenCommittedWhole(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, settings: SmallPages);
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "pages");

        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "send", new { bytes = 20_000 });
        var advanced = await sim.AdvanceAsync(new { byNs = 1_000_000_000 });

        Assert.True(advanced.JournalEvents > PageRows, $"{advanced.JournalEvents} events: not past one page");
        var writes = await WritesAsync(host.Services, sim.Id);
        Assert.NotEmpty(writes);
        Assert.All(writes, w => Assert.True(w.Committed));
        var journal = await sim.JournalAsync();
        Assert.Equal(Enumerable.Range(0, journal.Count).Select(i => $"{i}"), journal.Select(line => line.Split(' ')[0]));
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// Process A pre-writes the journal rows of the simulation's next sequence numbers and has not committed (it is slow,
    /// or died); process B commits a command with the same sequence numbers. A's rows are never visible, and B's commit
    /// makes them an orphan that is deleted.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TwoProcesses_UncommittedPreWrite_IsInvisibleAndDeletedWhenAnotherCommandCommits(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var first = new SimServiceFactory(database, settings: SmallPages);
        await using var second = new SimServiceFactory(database, settings: SmallPages);
        var a = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "orphan");
        var b = new SimulationDriver(second.CreateClient(), a.Id);
        var before = await a.JournalAsync();
        var version = await a.VersionAsync();

        var orphan = await PreWriteAsync(first.Services, a.Id, version, firstSeq: before.Count, rows: 3 * PageRows);

        Assert.Equal(before, await b.JournalAsync());
        var pair = await b.ConnectAsync();
        Assert.Equal(HttpStatusCode.OK, (await b.PostAsync("advance", new { byNs = 1_000_000_000 })).StatusCode);
        await second.Services.GetRequiredService<CommandLogWriter>().WhenIdleAsync();

        Assert.Equal(0, await RowsOfWriteAsync(first.Services, a.Id, orphan));
        Assert.DoesNotContain(await WritesAsync(first.Services, a.Id), w => w.Id == orphan);
        var journal = await a.JournalAsync();
        Assert.Equal(journal, await b.JournalAsync());
        Assert.Equal(Enumerable.Range(0, journal.Count).Select(i => $"{i}"), journal.Select(line => line.Split(' ')[0]));
        Assert.True(pair.Version > version);
        Assert.True((await a.ReplayAsync()).Identical);
    }

    /// <summary>A process that died after pre-writing left a write that can no longer commit: the next start deletes it.</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Startup_WriteOfAnEarlierVersion_IsDeleted(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        Guid id;
        long orphan, version;
        int journal;
        await using (var died = new SimServiceFactory(database, settings: SmallPages))
        {
            var sim = await SimulationDriver.TwoHostsAsync(died.CreateClient(), "died");
            journal = (await sim.JournalAsync()).Count;
            version = await sim.VersionAsync();
            (id, orphan) = (sim.Id, await PreWriteAsync(died.Services, sim.Id, version - 1, firstSeq: journal - 1, rows: 2 * PageRows));
        }

        await using var restarted = new SimServiceFactory(database, settings: SmallPages);
        var again = new SimulationDriver(restarted.CreateClient(), id);
        Assert.Equal(journal, (await again.JournalAsync()).Count);
        await restarted.Services.GetRequiredService<CommandLogWriter>().WhenIdleAsync();

        Assert.Equal(0, await RowsOfWriteAsync(restarted.Services, id, orphan));
        Assert.Empty(await WritesAsync(restarted.Services, id));
        Assert.Equal(version, await again.VersionAsync());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Command_PastTheConfiguredJournalCap_IsRefusedWhole(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = "5" });
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "capped");
        var version = await sim.VersionAsync();

        var response = await sim.PostAsync("connections", new { client = "client", server = "server", port = 80 });

        var problem = await response.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(ProblemTypes.WorkLimit, problem.GetProperty("type").GetString());
        Assert.Contains("5 journal events", problem.GetProperty("detail").GetString());
        Assert.Equal(version, await sim.VersionAsync());
    }

    private static async Task<long> PreWriteAsync(IServiceProvider services, Guid id, long fromVersion, int firstSeq, int rows) =>
        await services.GetRequiredService<CommandLogWriter>().PreWriteAsync(id, fromVersion, [.. Enumerable.Range(firstSeq, rows).Select(seq =>
            new EventRecord { RunId = id, Seq = seq, LastSeq = seq, AtNs = 0, Type = "kernel-logged", PayloadJson = "{\"orphan\":true}" })]);

    private static async Task<List<JournalWrite>> WritesAsync(IServiceProvider services, Guid id)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SimDbContext>().JournalWrites.AsNoTracking().Where(w => w.RunId == id).ToListAsync();
    }

    private static async Task<int> RowsOfWriteAsync(IServiceProvider services, Guid id, long writeId)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SimDbContext>().Events.CountAsync(e => e.RunId == id && e.WriteId == writeId);
    }
}
