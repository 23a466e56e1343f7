using System.Net;
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
