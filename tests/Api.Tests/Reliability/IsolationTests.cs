using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Features.Simulations;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;
using static SimService.Api.Tests.Reliability.HeavyWorkTests;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Work on one simulation does not hold up another's (issue #11), asserted as an order of events, not a latency: another
/// simulation's commands and reads are all answered while the heavy work is provably still under way — a replay parked
/// part-way through its log (its turn passed to work the test holds), a workload of minutes running on its demoted
/// engine thread. Before, a replay held SQLite's write lock while it replayed, and engine work ran on the request
/// threads: the quiet simulation's commands waited for it. How fast they are answered meanwhile is a measurement, not a
/// test: the benchmark <c>ISO</c> (tests/Benchmarks, README "Reliability", Isolation).
/// </summary>
public sealed class IsolationTests
{
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    /// <summary>
    /// The request limit: 120 s, not 10, so that the setup's commands are not cut on a machine at load 40 and more (they
    /// were). What is asserted is an order, not a time; a quiet command held behind the busy work fails all the same (a
    /// 429 or 422 at the limit).
    /// </summary>
    private const string RequestSeconds = "120";

    /// <summary>Commands (an advance and a read each) the quiet simulation is sent while the busy one's work is held.</summary>
    private const int QuietCommands = 20;

    /// <summary>
    /// Simulation A's replay (a log of 500 connects) is parked part-way: it took the tenant's only heavy slot, passed
    /// its turn at its first event boundary (slice 0) to heavy work the test holds, and waits for the slot again — with
    /// the snapshot it read, its simulation's gate and everything else a running replay holds. Simulation B's advances
    /// and clock reads are all answered meanwhile, and only then is the held work let go: A's replay then finishes,
    /// identical. (Light work never waits for a heavy slot; a replay reads its snapshot in a deferred transaction that
    /// it ends before replaying.)
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task QuietSimulation_WhileAnotherReplayIsPartWay_EveryCommandAnsweredBeforeTheReplayEnds(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Engines:HeavyParallelism"] = "1",
            ["Engines:HeavySliceMs"] = "0",
            ["Limits:RequestSeconds"] = RequestSeconds,
        });
        var threads = factory.Services.GetRequiredService<EngineThreads>();
        var client = factory.CreateClient();
        var busy = await SimulationDriver.TwoHostsAsync(client, "busy: replayed");
        var quiet = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "quiet");
        var log = "{\"commands\":[" + string.Join(',', ["""{"type":"call","call":"listen","host":"server","port":80,"backlog":4096}""",
            .. Enumerable.Repeat("""{"type":"call","call":"connect","host":"client","to":"server:80"}""", 500)]) + "]}";
        var logged = await client.PostAsync($"{busy.Base}/commands", RunawayTests.Json(log));
        Assert.True(logged.IsSuccessStatusCode, await logged.Content.ReadAsStringAsync());
        var version = await quiet.VersionAsync();

        using var first = new ManualResetEventSlim();
        using var second = new ManualResetEventSlim();
        using var secondRuns = new ManualResetEventSlim();
        var holder = threads.RunAsync(() => first.Wait(), heavy: true, CancellationToken.None);
        var replay = client.PostAsync($"{busy.Base}/replay", null);
        await Until(() => threads.HeavyWaiting == 1);
        var next = threads.RunAsync(() => { secondRuns.Set(); second.Wait(); }, heavy: true, CancellationToken.None);
        try
        {
            first.Set(); // the replay gets the slot, starts, and passes it at its first boundary: the next work holds it
            await Until(() => secondRuns.IsSet);
            Assert.Equal(1, threads.TurnsPassed);
            Assert.False(replay.IsCompleted, "the replay ended before it was parked part-way");

            await CommandsAnsweredAsync(quiet);

            Assert.False(replay.IsCompleted, "the replay was no longer under way when the quiet simulation's commands were answered");
            Assert.Equal(1, threads.TurnsPassed); // still parked where it passed its turn
        }
        finally
        {
            first.Set();
            second.Set();
            await holder;
            await next;
        }
        Assert.Equal(version + QuietCommands, await quiet.VersionAsync());
        var replayed = await busy.ReadAsync<ReplayReport>(await replay, HttpStatusCode.OK);
        Assert.True(replayed!.Identical);
        Assert.True(replayed.Commands > 500, $"{replayed.Commands} commands replayed");
    }

    /// <summary>
    /// Simulation A's workload of 100 million connections runs (its engine thread demoted, the tenant's only heavy slot
    /// held, and kept: its slice is an hour, so it never passes its turn); simulation B's advances and clock reads are all
    /// answered while it still runs, and it is still running after them — light work never waits for a heavy slot, nor
    /// for another simulation's engine. Then A is deleted: its workload is cancelled (404).
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task QuietSimulation_WhileAnotherRunsAWorkloadOfMinutes_EveryCommandAnsweredWhileItRuns(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Engines:HeavyParallelism"] = "1",
            ["Engines:HeavySliceMs"] = "3600000",
            ["Limits:RequestSeconds"] = RequestSeconds,
        });
        var client = factory.CreateClient();
        var busy = await SimulationDriver.TwoHostsAsync(client, "busy: a workload of minutes");
        var quiet = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "quiet");
        var version = await quiet.VersionAsync();
        var workload = await StartEndlessAsync(factory, busy);

        await CommandsAnsweredAsync(quiet);

        Assert.False(workload.IsCompleted, "the workload was no longer running when the quiet simulation's commands were answered");
        Assert.Equal(version + QuietCommands, await quiet.VersionAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(busy.Base)).StatusCode);
        await (await workload.WaitAsync(TimeSpan.FromSeconds(60))).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    /// <summary><see cref="QuietCommands"/> advances of 1 ms, each followed by a clock read: every one a 200.</summary>
    private static async Task CommandsAnsweredAsync(SimulationDriver quiet)
    {
        for (int i = 0; i < QuietCommands; i++)
        {
            var advanced = await quiet.PostAsync("advance", new { byNs = 1_000_000 });
            Assert.True(advanced.StatusCode == HttpStatusCode.OK, $"advance {i}: {(int)advanced.StatusCode} {await advanced.Content.ReadAsStringAsync()}");
            Assert.Equal((i + 1) * 1_000_000L, (await quiet.ClockAsync()).NowNs);
        }
    }
}
