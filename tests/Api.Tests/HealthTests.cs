using System.Net;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class HealthTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Healthz_ProcessUp_Returns200(DatabaseProvider provider) =>
        Assert.Equal(HttpStatusCode.OK, (await hosts.Client(provider).GetAsync("/healthz")).StatusCode);

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Readyz_DatabaseReachable_Returns200(DatabaseProvider provider) =>
        Assert.Equal(HttpStatusCode.OK, (await hosts.Client(provider).GetAsync("/readyz")).StatusCode);

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Readyz_DatabaseGone_Returns503WhileHealthzStays200(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database);
        var client = host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);

        await database.BreakAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }
}
