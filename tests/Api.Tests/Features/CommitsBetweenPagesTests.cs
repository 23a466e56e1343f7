using System.Data.Common;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Features.Clock;
using SimService.Api.Tests.Infrastructure;
using SimService.Persistence;
using static SimService.Api.Tests.Reliability.HeavyWorkTests;

namespace SimService.Api.Tests.Features;

/// <summary>
/// A big request's journal (pre-written a page per transaction) and a deleted simulation's rows (purged a page per
/// transaction) never hold another simulation's commit for more than one page (issue #11), asserted as an order of
/// events: a page is held while the other simulation's command is sent, and the next page is held until that command's
/// answer is in — it can only be a 200 if its commit went between the two pages (SQLite: the writer takes a waiting group
/// before the next page; PostgreSQL: a second writer writes the pages beside the groups). Before, the big request's rows
/// were inserted in its command's own transaction, and the other simulation's commit waited for all of them. Pages here
/// are 10 rows of one event. How long such a commit waits on a real process is measured by the benchmark <c>JP1M</c>.
/// </summary>
public sealed class CommitsBetweenPagesTests
{
    private const int PageRows = 10;

    /// <summary>
    /// Small pages; and a request limit of 120 s instead of 10 s, so that the setup's commands are not cut on a machine at
    /// load 40 and more (they were): what is held here is an order, not a time.
    /// </summary>
    private static readonly Dictionary<string, string?> SmallPages = new()
    {
        ["Persistence:JournalPageRows"] = $"{PageRows}", ["Persistence:PurgePageRows"] = $"{PageRows}", ["Persistence:JournalPageEvents"] = "1",
        ["Limits:RequestSeconds"] = "120",
    };

    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    /// <summary>Against a hang, not a bound on time: what is awaited here comes at once or never (a commit behind a held page).</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(300);

    [Theory, MemberData(nameof(Providers))]
    public async Task BigCommandsJournalBeingPreWritten_AnotherSimulationsCommand_CommitsBetweenTwoOfItsPages(DatabaseProvider provider)
    {
        // A pre-write page's transaction starts by checking that its journal write is still there.
        var hold = new HoldTwoPages(sql => sql.Contains("\"JournalWrites\"", StringComparison.Ordinal) && sql.Contains("EXISTS", StringComparison.Ordinal));
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, hold.Install(provider), SmallPages);
        var big = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "big");
        var quiet = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "quiet");
        var pair = await big.ConnectAsync();
        await big.CallAsync(pair.ClientSocketId, "send", new { bytes = 20_000 });
        var version = await quiet.VersionAsync();

        hold.Arm();
        var bigAdvance = big.PostAsync("advance", new { byNs = 1_000_000_000 }); // > 5 pages of journal

        await HeldAsync(host, hold, quiet, bigAdvance);

        var advanced = await big.ReadAsync<AdvanceResponse>(await bigAdvance, HttpStatusCode.OK);
        Assert.True(advanced!.JournalEvents > 3 * PageRows, $"{advanced.JournalEvents} journal events: not past three pages");
        Assert.Equal(version + 1, await quiet.VersionAsync());
        var journal = await big.JournalAsync();
        Assert.Equal(Enumerable.Range(0, journal.Count).Select(i => $"{i}"), journal.Select(line => line.Split(' ')[0]));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task DeletedSimulationBeingPurged_AnotherSimulationsCommand_CommitsBetweenTwoOfItsPages(DatabaseProvider provider)
    {
        var hold = new HoldTwoPages(sql => sql.StartsWith("DELETE FROM \"Events\"", StringComparison.Ordinal));
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, hold.Install(provider), SmallPages);
        var big = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "deleted");
        var quiet = await SimulationDriver.TwoHostsAsync(host.CreateClient(), "quiet");
        var pair = await big.ConnectAsync();
        await big.CallAsync(pair.ClientSocketId, "send", new { bytes = 20_000 });
        await big.AdvanceAsync(new { byNs = 1_000_000_000 });
        var writer = host.Services.GetRequiredService<CommandLogWriter>();
        await writer.WhenIdleAsync();
        var version = await quiet.VersionAsync();

        hold.Arm();
        Assert.Equal(HttpStatusCode.NoContent, (await big.Client.DeleteAsync(big.Base)).StatusCode);
        await HeldAsync(host, hold, quiet, done: null);

        await writer.WhenIdleAsync();
        await using var scope = host.Services.CreateAsyncScope();
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<SimDbContext>().Events.CountAsync(e => e.RunId == big.Id));
        Assert.Equal(version + 1, await quiet.VersionAsync());
    }

    /// <summary>
    /// With the paged work held at its second page: sends the quiet simulation's advance, lets that page go once the advance
    /// waits for the writer (or has committed beside it), holds the third page, and requires the advance's 200 meanwhile.
    /// <paramref name="done"/> is the big request, which must not have been answered before its pages were all written.
    /// </summary>
    private static async Task HeldAsync(SimServiceFactory host, HoldTwoPages hold, SimulationDriver quiet, Task<HttpResponseMessage>? done)
    {
        var writer = host.Services.GetRequiredService<CommandLogWriter>();
        try
        {
            await Until(() => hold.First.IsCompleted || done?.IsCompleted == true);
            if (!hold.First.IsCompleted)
                Assert.Fail($"answered {(int)(await done!).StatusCode} without a second page written before its commit");

            var advance = quiet.PostAsync("advance", new { byNs = 1_000_000 });
            await Until(() => writer.Queued > 0 || advance.IsCompleted); // behind the page (SQLite), or committed beside it (PostgreSQL)
            hold.ReleaseFirst();
            var answered = await advance.WaitAsync(Guard); // the third page is held until it is released below: this commit went before it
            Assert.True(answered.StatusCode == HttpStatusCode.OK,
                $"the other simulation's advance, sent during a page: {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync()}");

            await hold.Second.WaitAsync(Guard); // the paged work goes on after it, still under way
            Assert.False(done?.IsCompleted == true, "the big request was answered before its third page");
        }
        finally
        {
            hold.ReleaseFirst();
            hold.ReleaseSecond();
        }
    }
}

/// <summary>
/// Holds the second and the third page of paged work (a command recognised by <c>isPage</c> on its SQL, counted after
/// <see cref="Arm"/>) until each is released. A page in a transaction of its own (a pre-write page) is held once that
/// transaction has committed, a page that is one statement (a purge page) before the statement runs: so the writer is
/// held between two pages, and no database lock with it (SQLite's write lock held here would stop more than the writer).
/// </summary>
internal sealed class HoldTwoPages(Func<string, bool> isPage) : BeforeCommands, IDbTransactionInterceptor
{
    private readonly TaskCompletionSource[] _reached = [new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)];
    private readonly TaskCompletionSource[] _release = [new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)];
    private int _pages;
    private volatile bool _armed;

    /// <summary>The page's transaction, while a page in one runs (held at its commit).</summary>
    private DbTransaction? _page;

    /// <summary>Pages count from now (the setup's own commands may have been paged too).</summary>
    public void Arm() => _armed = true;

    /// <summary>The second page is written (or about to be), held.</summary>
    public Task First => _reached[0].Task;

    /// <summary>The third page is written (or about to be), held.</summary>
    public Task Second => _reached[1].Task;

    public void ReleaseFirst() => _release[0].TrySetResult();

    public void ReleaseSecond() => _release[1].TrySetResult();

    public Action<IServiceCollection> Install(DatabaseProvider provider) => services => Interceptors.Install(services, provider, this);

    protected override async Task BeforeAsync(DbCommand command)
    {
        if (!_armed || !isPage(command.CommandText)) return;
        if (command.Transaction is { } transaction) _page = transaction;
        else await HoldAsync();
    }

    private async Task HoldAsync()
    {
        int held = Interlocked.Increment(ref _pages) - 2;
        if (held is not (0 or 1)) return;
        _reached[held].TrySetResult();
        await _release[held].Task;
    }

    public async Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (!ReferenceEquals(Interlocked.CompareExchange(ref _page, null, transaction), transaction)) return;
        await HoldAsync();
    }
}
