using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Heavy work (workloads, replays, rebuilds, scenario and packetdrill runs) shared fairly and stopped when it is no longer
/// wanted: one tenant's heavy work never holds another tenant's (each tenant has its own <c>Engines:HeavyParallelism</c>
/// slots), a deleted simulation's running work is cancelled, and so is every engine's work when the process stops.
/// Slots are held deterministically through <see cref="EngineThreads"/>, as in <c>RestartTests</c>; nothing sleeps.
/// </summary>
public sealed class HeavyWorkTests
{
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    /// <summary>
    /// Tenant globex's heavy work holds its only slot (as a 300 s workload would); tenant acme's replay runs at once (it
    /// used to wait for the process's one slot and be cut off at its wall-time limit, a 422), while globex's own replay
    /// still waits for globex's slot (bounded per tenant) and is cut off: a 503 saying it waited for a heavy slot.
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task OneTenantsHeavySlotHeld_OtherTenantsReplay_RunsAtOnceWhileTheHoldersOwnWaits(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Engines:HeavyParallelism"] = "1",
            ["Limits:HeavySeconds"] = "3", // a replay's limit (by default the workload's 300 s): globex's waits it out
        });
        var acme = await factory.TenantClientAsync("acme");
        var globex = await factory.TenantClientAsync("globex");
        var acmes = await SimulationDriver.TwoHostsAsync(acme, "acme's");
        var globexs = await SimulationDriver.TwoHostsAsync(globex, "globex's");
        await acmes.PostOkAsync("advance", new { byNs = 1_000_000 });
        using var holdSlot = new ManualResetEventSlim();
        var heavyWork = factory.Services.GetRequiredService<EngineThreads>()
            .RunAsync(() => holdSlot.Wait(), heavy: true, CancellationToken.None, tenant: "globex");

        try
        {
            Assert.True((await acmes.ReplayAsync()).Identical);
            var waited = await globex.PostAsync($"{globexs.Base}/replay", null);
            var problem = await waited.ReadProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal(ProblemTypes.Busy, problem.GetProperty("type").GetString());
            Assert.Contains("for one of the tenant's 1 heavy slots", problem.GetProperty("detail").GetString());
        }
        finally
        {
            holdSlot.Set();
            await heavyWork;
        }
        Assert.True((await globexs.ReplayAsync()).Identical);
    }

    /// <summary>A workload that would run for minutes: 100 million connections at 1,000 a virtual second, sampled every 100 s.</summary>
    private static readonly object Endless = new
    {
        clients = new[] { "client" }, server = "server", port = 91, rate = 1000, count = 100_000_000, resolutionNs = 100_000_000_000,
    };

    /// <summary>
    /// Starts <see cref="Endless"/> and returns once its engine work runs (heavy work is demoted at its start: the count of
    /// demotions moves). Spins on the counter, yielding; no sleep.
    /// </summary>
    private static async Task<Task<HttpResponseMessage>> StartEndlessAsync(SimServiceFactory factory, SimulationDriver sim)
    {
        var threads = factory.Services.GetRequiredService<EngineThreads>();
        var before = threads.Demotions;
        var running = sim.PostAsync("workloads", Endless);
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (threads.Demotions == before && !running.IsCompleted)
        {
            guard.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
        Assert.False(running.IsCompleted, "the workload ended before it was seen running");
        return running;
    }

    /// <summary>
    /// DELETE while the simulation's workload runs: the workload is cancelled at once (its request a 404, nothing
    /// persisted) and its heavy slot is free — before, it ran on to its end or its 300 s limit, holding the slot.
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task WorkloadRunning_SimulationDeleted_WorkCancelledAndItsHeavySlotFreed(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Engines:HeavyParallelism"] = "1" });
        var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "deleted while busy");
        var running = await StartEndlessAsync(factory, sim);

        Assert.Equal(HttpStatusCode.NoContent, (await sim.Client.DeleteAsync(sim.Base)).StatusCode);

        var cancelled = await running.WaitAsync(TimeSpan.FromSeconds(60));
        await cancelled.ReadProblemAsync(HttpStatusCode.NotFound);
        var slotFree = factory.Services.GetRequiredService<EngineThreads>().RunAsync(() => 1, heavy: true, CancellationToken.None);
        Assert.Equal(1, await slotFree.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// The process is stopping (ApplicationStopping, as SIGTERM signals it) while a workload runs: the workload is
    /// cancelled at once instead of running on through the 30 s shutdown timeout, unacknowledged and not half-applied —
    /// another process on the database finds version and clock as before. (Under the test server the host's services
    /// are gone by the time the request ends, so its 422 is not seen here; a real process answers it.)
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task WorkloadRunning_ProcessStopping_WorkCancelledNothingApplied(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        long version, clock;
        Guid id;
        await using (var factory = new SimServiceFactory(database))
        {
            var sim = await SimulationDriver.TwoHostsAsync(factory.CreateClient(), "stopped while busy");
            (id, version, clock) = (sim.Id, await sim.VersionAsync(), (await sim.ClockAsync()).NowNs);
            var running = await StartEndlessAsync(factory, sim);

            factory.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

            // Before: it ran on for minutes (a TimeoutException here). Its end under the stopped test server is an
            // ObjectDisposedException (the host's services went first), or a response that is no success.
            var ended = await Record.ExceptionAsync(async () =>
                Assert.NotEqual(HttpStatusCode.OK, (await running.WaitAsync(TimeSpan.FromSeconds(60))).StatusCode));
            Assert.True(ended is null or ObjectDisposedException, ended?.ToString());
        }
        await using var next = new SimServiceFactory(database);
        var again = new SimulationDriver(next.CreateClient(), id);
        Assert.Equal((version, clock), (await again.VersionAsync(), (await again.ClockAsync()).NowNs));
    }
}
