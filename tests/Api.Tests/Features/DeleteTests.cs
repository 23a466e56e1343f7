using System.Net;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using SimService.Persistence.Entities;

namespace SimService.Api.Tests.Features;

/// <summary>
/// Deleting a simulation marks it deleted in one short statement (gone for every read and append at once) and removes
/// its rows afterwards, a page per short transaction, so that a million-row simulation's delete does not hold SQLite's
/// one write lock (issue #11); a purge cut short is finished at the next start. Pages here are 10 rows.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class DeleteTests
{
    private const int PageRows = 10;

    private static readonly Dictionary<string, string?> SmallPages = new()
    {
        ["Persistence:JournalPageRows"] = $"{PageRows}", ["Persistence:PurgePageRows"] = $"{PageRows}", ["Persistence:JournalPageEvents"] = "1",
    };

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_SimulationOfManyPages_IsGoneAtOnceAndItsRowsRemovedAPageAtATime(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, settings: SmallPages);
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "big");
        var other = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "other");
        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "send", new { bytes = 20_000 });
        await sim.AdvanceAsync(new { byNs = 1_000_000_000 });
        var otherJournal = await other.JournalAsync();
        var writer = host.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        var (events, commands) = await RowsAsync(host.Services, sim.Id);
        Assert.True(events > 5 * PageRows, $"{events} journal rows: not many pages");
        long pagesBefore = writer.PurgePages;

        Assert.Equal(HttpStatusCode.NoContent, (await sim.Client.DeleteAsync(sim.Base)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync(sim.Base)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync($"{sim.Base}/journal")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.PostAsync("advance", new { byNs = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.DeleteAsync(sim.Base)).StatusCode);
        await writer.WhenIdleAsync();
        Assert.Equal((0, 0), await RowsAsync(host.Services, sim.Id));
        Assert.False(await RowExistsAsync(host.Services, sim.Id));
        // A page of sequence numbers per statement: one delete statement per page of journal and of log, and the last.
        long pages = writer.PurgePages - pagesBefore;
        Assert.True(pages >= events / PageRows + 1, $"{pages} purge statements for {events} journal and {commands} log rows");
        Assert.Equal(otherJournal, await other.JournalAsync());
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsync("advance", new { byNs = 1 })).StatusCode);
    }

    /// <summary>
    /// A purge page that fails (here the first two deletes of journal rows throw, as SQLite busy past its timeout or a
    /// PostgreSQL deadlock would) rolls back and is tried again a second later: the purge finishes without a restart.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_PurgePageFailsTwice_RetriedAndFinishedWithoutARestart(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var failing = new FailJournalDeletes(2);
        await using var host = new SimServiceFactory(database, services => failing.Install(services, provider), settings: SmallPages);
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "flaky purge");
        await sim.ConnectAsync();
        var writer = host.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        Assert.NotEqual((0, 0), await RowsAsync(host.Services, sim.Id));

        Assert.Equal(HttpStatusCode.NoContent, (await sim.Client.DeleteAsync(sim.Base)).StatusCode);
        await writer.WhenIdleAsync(); // a purge waiting to retry is still under way

        Assert.True(failing.Failed > 2, $"{failing.Failed} journal deletes: the failing ones were not retried");
        Assert.Equal((0, 0), await RowsAsync(host.Services, sim.Id));
        Assert.False(await RowExistsAsync(host.Services, sim.Id));
    }

    /// <summary>
    /// A process died part-way through a purge: the simulation is marked deleted and some of its rows are gone. Nothing of
    /// it is visible, no append to it commits, and the next start finishes the purge.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Startup_HalfPurgedSimulation_IsInvisibleAndItsPurgeFinished(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        Guid id;
        await using (var died = new SimServiceFactory(database, settings: SmallPages))
        {
            var sim = await SimulationDriver.TwoHostsAsync(died.CreateClient(), "half purged");
            await sim.ConnectAsync();
            var version = await sim.VersionAsync();
            id = sim.Id;
            await using (var scope = died.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
                await db.Simulations.Where(r => r.Id == id).ExecuteUpdateAsync(set => set.SetProperty(r => r.Deleted, true));
                var half = (await db.Events.Where(e => e.RunId == id).MaxAsync(e => e.Seq)) / 2;
                Assert.True(await db.Events.Where(e => e.RunId == id && e.Seq < half).ExecuteDeleteAsync() > 0);
            }
            // A command applied before the mark, committing after it, is refused like one that lost a race.
            var late = new LogAppend(id, version, version + 1,
                [new CommandRecord { RunId = id, Seq = version + 1, AtNs = 0, Type = "advance", PayloadJson = "{}" }], []);
            Assert.Equal(AppendResult.VersionMoved, await died.Services.GetRequiredService<CommandLogWriter>().AppendAsync(late));
            Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync(sim.Base)).StatusCode);
        }
        Assert.NotEqual((0, 0), await RowsOfAsync(database, id));

        await using var restarted = new SimServiceFactory(database, settings: SmallPages);
        var client = restarted.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"{SimServiceApi.Simulations}/{id}/journal")).StatusCode);
        Assert.DoesNotContain(id, (await client.ListSimulationsAsync()).Select(s => s.Id));
        await restarted.Services.GetRequiredService<CommandLogWriter>().WhenIdleAsync();
        Assert.Equal((0, 0), await RowsAsync(restarted.Services, id));
        Assert.False(await RowExistsAsync(restarted.Services, id));
        Assert.Equal(1, restarted.Services.GetRequiredService<CommandLogWriter>().SimulationsPurged);
    }

    /// <summary>
    /// The host stops part-way through a purge, one of its pages running (held until the writer is closed, so that it is the last): that page is
    /// awaited, and nothing of the writer runs after the host's disposal — the purge is no longer under way, no page starts
    /// after (a purge or an append asked for then starts nothing), and the database's folder deletes at once (it did not
    /// when a purge's next page, after its pause, opened the database again while the folder was being deleted: "Directory
    /// not empty"). The purge cut short is left to the next start (<see cref="Startup_HalfPurgedSimulation_IsInvisibleAndItsPurgeFinished"/>).
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Dispose_DuringAPurge_NothingRunsAfterAndTheFolderDeletes(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        var held = new HoldJournalDelete(2);
        var host = new SimServiceFactory(database, services => held.Install(services, provider), settings: SmallPages);
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "purged at shutdown");
        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "send", new { bytes = 20_000 });
        await sim.AdvanceAsync(new { byNs = 1_000_000_000 });
        var writer = host.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        held.ReleaseWhen(writer.Closing); // released only once nothing new can start: the page running is the purge's last
        Assert.Equal(HttpStatusCode.NoContent, (await sim.Client.DeleteAsync(sim.Base)).StatusCode);
        await held.Reached; // the purge's second journal page is running

        await host.DisposeAsync();

        long pages = writer.PurgePages, commands = held.Commands;
        Assert.True(writer.WhenIdleAsync().IsCompletedSuccessfully, "the writer is still busy after the host's disposal");
        Assert.Equal(0, writer.Purging);
        writer.Purge(sim.Id);
        writer.SweepDeleted();
        var late = writer.AppendAsync(new LogAppend(Guid.NewGuid(), 0, 1, [], []));
        Assert.True(writer.WhenIdleAsync().IsCompletedSuccessfully, "a purge or sweep asked for after the disposal started work");
        Assert.Equal(0, writer.Purging);
        Assert.Equal(TaskStatus.Canceled, late.Status); // nothing of it written
        Assert.Equal((pages, commands), (writer.PurgePages, held.Commands));
        // Cut short: rows left, the simulation marked deleted (invisible), for the next start's sweep.
        var (events, _) = await RowsOfAsync(database, sim.Id);
        Assert.True(events > 0, "the purge was not cut short: the test did not stop the host during it");
        await database.DisposeAsync(); // the folder deletes: nothing holds or reopens the database
    }

    /// <summary>
    /// A purge counts as finished — <c>simservice_simulations_purging</c> back to 0, <c>…_purged_total</c> one up, the writer idle —
    /// only once the work its callback returned is done: the delete's callback gives the memory back
    /// (<c>SimulationEngines.Purged</c>), and the tests that measure the process's memory once no purge is under way
    /// (RunawayTests, JournalPagesLoadTests) read it then. It counted as finished when the callback had only scheduled that
    /// give-back (up to 5 s later), and the simulation as purged before the callback was even called. The give-back here
    /// is a task the test completes.
    /// </summary>
    [Fact]
    public async Task Purge_CountsAsFinishedOnlyOnceItsCallbackHasGivenTheMemoryBack()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var host = new SimServiceFactory(database);
        var sim = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "purge callback");
        var writer = host.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        await using (var scope = host.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<SimDbContext>().Simulations.Where(r => r.Id == sim.Id)
                .ExecuteUpdateAsync(set => set.SetProperty(r => r.Deleted, true)); // as the delete marks it
        long purged = writer.SimulationsPurged;
        var rowsGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var memoryBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        writer.Purge(sim.Id, () =>
        {
            rowsGone.SetResult();
            return memoryBack.Task;
        });
        await rowsGone.Task;

        Assert.False(await RowExistsAsync(host.Services, sim.Id));
        Assert.Equal((1, purged), (writer.Purging, writer.SimulationsPurged));
        var idle = writer.WhenIdleAsync();
        Assert.False(idle.IsCompleted, "the writer is idle while the purge's memory is still held");
        memoryBack.SetResult();
        await idle;
        Assert.Equal((0, purged + 1), (writer.Purging, writer.SimulationsPurged));
    }

    /// <summary>
    /// The delete's purge callback (<c>SimulationEngines.Purged</c>) for a big engine completes once the give-back it asked for
    /// has run — in the service a full collection and malloc_trim, at most 5 s after the last one — not when it was
    /// scheduled. The give-backs are the test's own (held, then let go): it read the process's counter, which another
    /// test's give-back raised as well, and forced a full aggressive collection that stalled the tests beside it.
    /// </summary>
    [Fact]
    public async Task PurgedCallback_OfABigEngine_CompletesOnceTheMemoryWasGivenBack()
    {
        using var started = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        var giveBacks = new MemoryGiveBack(() =>
        {
            started.Release();
            release.Wait();
        }, intervalMs: 0);

        var purged = SimulationEngines.Purged(engineBytes: long.MaxValue, committedBytes: 0, giveBacks);
        await started.WaitAsync();

        Assert.False(purged.IsCompleted, "the purge's callback completed before the memory was given back");
        release.Set();
        await purged;
        Assert.Equal(1, giveBacks.Count);
    }

    /// <summary>
    /// The purge of a small engine counts as finished at once, while the process holds more than 64 MB: the give-back it
    /// asks for runs apart. It waited for that give-back — at most one every 5 s, process-wide — so nearly every delete's
    /// purge stayed running (<c>purging</c>, <c>WhenIdleAsync</c>) up to 5 s. The give-backs here are the test's own, held.
    /// </summary>
    [Fact]
    public async Task PurgedCallback_OfASmallEngine_CompletesAtOnce_TheGiveBackItAsksForRunsApart()
    {
        using var release = new ManualResetEventSlim();
        var giveBacks = new MemoryGiveBack(() => release.Wait(), intervalMs: 0);

        var purged = SimulationEngines.Purged(engineBytes: 1, committedBytes: long.MaxValue, giveBacks);

        Assert.True(purged.IsCompleted, "the purge of a small engine waits for the process's give-back");
        Assert.True(giveBacks.Pending, "no give-back asked for while the process holds more than 64 MB");
        release.Set();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (giveBacks.Pending && DateTime.UtcNow < deadline) await Task.Yield();
        Assert.Equal((false, 1L), (giveBacks.Pending, giveBacks.Count));
    }

    /// <summary>
    /// A give-back that throws (malloc_trim's libc call, say) fails the asks that waited for it, with its exception — so a
    /// purge waiting on it logs the failure — and is no longer pending. It completed them as given back, and the exception
    /// was left unobserved on the timer's task.
    /// </summary>
    [Fact]
    public async Task GiveBack_ThatThrows_FailsItsAsksAndEnds()
    {
        var giveBacks = new MemoryGiveBack(() => throw new EntryPointNotFoundException("malloc_trim"), intervalMs: 0);

        var error = await Assert.ThrowsAsync<EntryPointNotFoundException>(() => giveBacks.Ask());

        Assert.Equal("malloc_trim", error.Message);
        Assert.Equal((false, 0L), (giveBacks.Pending, giveBacks.Count));
    }

    /// <summary>
    /// Two give-backs that overlap (one scheduled while a long one ran): pending while either runs. It was one flag, cleared
    /// by whichever ended first, and <c>simservice_memory_give_back_pending</c> read 0 while the other still ran.
    /// </summary>
    [Fact]
    public async Task GiveBackPending_WhileEitherOfTwoOverlappingGiveBacksRuns()
    {
        using var started = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var giveBacks = new MemoryGiveBack(() =>
        {
            started.Release();
            release.Wait();
        }, intervalMs: 0);
        var first = giveBacks.Ask();
        await started.WaitAsync();
        var second = giveBacks.Ask(); // the first has started: this one is the next
        await started.WaitAsync();

        release.Release();
        var ended = await Task.WhenAny(first, second);

        Assert.False((ended == first ? second : first).IsCompleted);
        Assert.True(giveBacks.Pending, "no give-back pending while one still runs");
        release.Release();
        await Task.WhenAll(first, second);
        Assert.Equal((false, 2L), (giveBacks.Pending, giveBacks.Count));
    }

    private static async Task<(int Events, int Commands)> RowsOfAsync(TestDatabase database, Guid id)
    {
        await using var db = database.Open();
        return (await db.Events.CountAsync(e => e.RunId == id), await db.Commands.CountAsync(c => c.RunId == id));
    }

    private static async Task<(int Events, int Commands)> RowsAsync(IServiceProvider services, Guid id)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        return (await db.Events.CountAsync(e => e.RunId == id), await db.Commands.CountAsync(c => c.RunId == id));
    }

    private static async Task<bool> RowExistsAsync(IServiceProvider services, Guid id)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SimDbContext>().Simulations.IgnoreQueryFilters().AnyAsync(r => r.Id == id);
    }
}

/// <summary>Makes the first <c>count</c> deletes of journal rows throw, as a transient database error would.</summary>
internal sealed class FailJournalDeletes(int count) : DbCommandInterceptor
{
    private int _failed;
    public int Failed => Volatile.Read(ref _failed);

    public void Install(IServiceCollection services, DatabaseProvider provider)
    {
        void Add(DbContextOptionsBuilder options) => options.AddInterceptors(this);
        if (provider == DatabaseProvider.Sqlite) services.ConfigureDbContext<Persistence.Sqlite.SqliteSimDbContext>(Add);
        else services.ConfigureDbContext<Persistence.Postgres.PostgresSimDbContext>(Add);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (command.CommandText.StartsWith("DELETE FROM \"Events\"", StringComparison.Ordinal) && Interlocked.Increment(ref _failed) <= count)
            throw new InvalidOperationException("injected transient failure");
        return ValueTask.FromResult(result);
    }
}

/// <summary>
/// Holds the <c>count</c>th delete of journal rows (a purge page) until <see cref="ReleaseWhen"/>'s token fires; counts
/// every command the hosts' contexts run.
/// </summary>
internal sealed class HoldJournalDelete(int count) : DbCommandInterceptor
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _deletes;
    private long _commands;

    /// <summary>Completes when the held delete is running.</summary>
    public Task Reached => _reached.Task;

    public long Commands => Interlocked.Read(ref _commands);

    public void ReleaseWhen(CancellationToken token) => token.Register(() => _release.TrySetResult());

    public void Install(IServiceCollection services, DatabaseProvider provider)
    {
        void Add(DbContextOptionsBuilder options) => options.AddInterceptors(this);
        if (provider == DatabaseProvider.Sqlite) services.ConfigureDbContext<Persistence.Sqlite.SqliteSimDbContext>(Add);
        else services.ConfigureDbContext<Persistence.Postgres.PostgresSimDbContext>(Add);
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _commands);
        if (command.CommandText.StartsWith("DELETE FROM \"Events\"", StringComparison.Ordinal) && Interlocked.Increment(ref _deletes) == count)
        {
            _reached.TrySetResult();
            await _release.Task;
        }
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _commands);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _commands);
        return ValueTask.FromResult(result);
    }
}
