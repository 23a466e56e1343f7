using System.Net;
using System.Text.Json;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Per-tenant quotas: a request that would pass one is a 403 problem naming it, nothing of it is stored (the
/// simulation's version and journal stay, no simulation is added), another tenant is not affected, and the hit is
/// counted on /metrics.
/// </summary>
public sealed class QuotaTests
{
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    [Theory, MemberData(nameof(Providers))]
    public async Task TenantAtItsQuotas_CreateAddHostConnect_Returns403NamingTheQuotaAndStoresNothing(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Quotas:Simulations"] = "2", ["Quotas:HostsPerSimulation"] = "2", ["Quotas:SocketsPerSimulation"] = "2",
        });
        var acme = await factory.TenantClientAsync("acme");
        var globex = await factory.TenantClientAsync("globex");
        var sim = await SimulationDriver.TwoHostsAsync(acme, "first");
        await acme.CreateSimulationAsync("second");
        var version = await acme.ETagAsync(sim.Base);
        var events = await JournalCountAsync(acme, sim.Base);

        await QuotaAsync(await acme.PostJsonAsync("""{"name":"third"}"""), "simulations", 2);
        await QuotaAsync(await sim.PostAsync("hosts", new { name = "third", address = "10.0.0.3" }), "hosts", 2);
        // A listener, the connecting socket and the accepted one: three full sockets.
        await QuotaAsync(await sim.PostAsync("connections", new { client = "client", server = "server", port = 80 }), "sockets", 2);

        Assert.Equal(2, (await acme.ListSimulationsAsync()).Count);
        Assert.Equal(version, await acme.ETagAsync(sim.Base));
        Assert.Equal(events, await JournalCountAsync(acme, sim.Base));
        Assert.Equal(HttpStatusCode.OK, (await sim.PostAsync("advance", new { byNs = 1_000 })).StatusCode);
        await globex.CreateSimulationAsync("globex's first");
        var metrics = await acme.GetStringAsync("/metrics");
        foreach (var quota in new[] { "simulations", "hosts", "sockets" })
            Assert.Contains(metrics.Split('\n'), line => line.StartsWith("simservice_limits_quota_total{", StringComparison.Ordinal)
                && line.Contains($"quota=\"{quota}\"", StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task JournalBytesQuota_AdvanceThatWouldPassIt_Returns403AndKeepsTheJournal(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Quotas:JournalBytes"] = "20000" });
        var client = factory.CreateClient();
        var sim = await SimulationDriver.TwoHostsAsync(client, "journal");
        HttpResponseMessage? refused = null;
        long version = 0, events = 0;
        for (int i = 0; i < 50 && refused is null; i++)
        {
            version = long.Parse((await client.ETagAsync(sim.Base))!.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
            events = await JournalCountAsync(client, sim.Base);
            var response = await sim.PostAsync("connections", new { client = "client", server = "server", port = 1000 + i });
            if (response.StatusCode != HttpStatusCode.Created) refused = response;
        }

        Assert.NotNull(refused);
        await QuotaAsync(refused, "journalBytes", 20000);
        Assert.Equal($"\"{version}\"", await client.ETagAsync(sim.Base));
        Assert.Equal(events, await JournalCountAsync(client, sim.Base));
    }

    private static async Task QuotaAsync(HttpResponseMessage response, string quota, long limit)
    {
        var problem = await response.ReadProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("urn:simservice:problem:quota-exceeded", problem.GetProperty("type").GetString());
        Assert.Equal(quota, problem.GetProperty("quota").GetString());
        Assert.Equal(limit, problem.GetProperty("limit").GetInt64());
    }

    private static async Task<long> JournalCountAsync(HttpClient client, string path) =>
        JsonDocument.Parse(await client.GetStringAsync($"{path}/journal?limit=1")).RootElement.GetProperty("total").GetInt64();
}
