using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>A new API process on the same database rebuilds a simulation from its log and carries on from where it was.</summary>
[Collection(ApiCollection.Name)]
public sealed class RestartTests
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Simulation_NewProcessOnSameDatabase_ContinuesWithIdenticalState(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        Guid id;
        int clientSocket;
        (string Ss, string ServerSs, IReadOnlyList<string> Journal, long Now, long Version) before;
        await using (var first = new SimServiceFactory(database))
        {
            var sim = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "restart");
            var pair = await sim.ConnectAsync();
            clientSocket = pair.ClientSocketId;
            await sim.AdvanceToAsync(100_000_000);
            await sim.CallAsync(clientSocket, "close");
            await sim.CallAsync(pair.ServerSocketId!.Value, "close");
            await sim.AdvanceToAsync(1_000_000_000);
            id = sim.Id;
            before = (await sim.GetTextAsync("hosts/client/ss"), await sim.GetTextAsync("hosts/server/ss"), await sim.JournalAsync(),
                (await sim.ClockAsync()).NowNs, await sim.VersionAsync());
        }

        await using var second = new SimServiceFactory(database);
        var again = new SimulationDriver(second.CreateClient(), id);

        Assert.Equal(before.Ss, await again.GetTextAsync("hosts/client/ss"));
        Assert.Equal(before.ServerSs, await again.GetTextAsync("hosts/server/ss"));
        Assert.Equal(before.Journal, await again.JournalAsync());
        Assert.Equal((before.Now, before.Version), ((await again.ClockAsync()).NowNs, await again.VersionAsync()));
        Assert.Equal("TIME-WAIT", (await again.SocketAsync(clientSocket)).State);

        var advanced = await again.AdvanceToAsync(62_000_000_000);
        Assert.Equal(before.Version + 1, advanced.Version);
        Assert.Equal("CLOSED", (await again.SocketAsync(clientSocket)).State);
        Assert.True((await again.ReplayAsync()).Identical);
    }

    /// <summary>
    /// A rebuild after a restart that outlasts its request's wall-time limit is not thrown away: the request is a 503
    /// with Retry-After saying the simulation is being rebuilt, the rebuild runs on, and the next request takes its engine instead of replaying the log again. The rebuild (of
    /// 1,003 commands, heavy work) is held deterministically by taking the process's only heavy slot first.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task RebuildOutlastingItsRequest_NextRequest_ContinuesItInsteadOfReplayingAgain(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        Guid id;
        long nowNs;
        await using (var first = new SimServiceFactory(database))
        {
            var sim = await SimulationDriver.TwoHostsAsync(first.CreateClient(), "long log");
            var advances = Enumerable.Range(0, 1000).Select(_ => new { type = "advance", byNs = 1_000, eventBudget = 1 });
            await sim.PostOkAsync("commands", new { commands = advances });
            (id, nowNs) = (sim.Id, (await sim.ClockAsync()).NowNs);
        }

        await using var second = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Limits:RequestSeconds"] = "1",
            ["Engines:HeavyParallelism"] = "1",
        });
        var again = new SimulationDriver(second.CreateClient(), id);
        var engines = second.Services.GetRequiredService<SimulationEngines>();
        using var holdSlot = new ManualResetEventSlim();
        var heavyWork = second.Services.GetRequiredService<EngineThreads>().RunAsync(() => holdSlot.Wait(), heavy: true, CancellationToken.None);

        var cutOff = await again.Client.GetAsync($"{again.Base}/clock");
        var problem = await cutOff.ReadProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal(ProblemTypes.Busy, problem.GetProperty("type").GetString());
        Assert.Equal(id, problem.GetProperty("simulationId").GetGuid());
        Assert.Equal("5", cutOff.Headers.GetValues("Retry-After").Single());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains($"The read waited the 1 s limit on one request's wall time (Limits:RequestSeconds) for simulation {id} to be rebuilt", detail);
        Assert.DoesNotContain("event budget", detail);
        Assert.Equal(1, engines.Rebuilds);
        holdSlot.Set();
        await heavyWork;

        Assert.Equal(nowNs, (await again.ClockAsync()).NowNs);
        Assert.Equal(1, engines.Rebuilds);
        Assert.Equal(1004, (await again.AdvanceAsync(new { byNs = 1_000 })).Version);
        Assert.Equal(1, engines.Rebuilds);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task ScenarioRun_NewProcessOnSameDatabase_IsRebuiltByRunningItsDocumentAgain(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        Guid id;
        string ss;
        await using (var first = new SimServiceFactory(database))
        {
            var run = await first.CreateClient().RunScenarioAsync(ScenarioFiles.Read("examples/orderly-close-time-wait.json"));
            id = run.SimulationId;
            ss = await new SimulationDriver(first.CreateClient(), id).GetTextAsync("hosts/client/ss");
        }

        await using var second = new SimServiceFactory(database);
        var again = new SimulationDriver(second.CreateClient(), id);

        Assert.Equal(ss, await again.GetTextAsync("hosts/client/ss"));
        Assert.Equal(HttpStatusCode.OK, (await again.PostAsync("advance", new { byNs = 1_000_000_000 })).StatusCode);
        Assert.True((await again.ReplayAsync()).Identical);
    }
}
