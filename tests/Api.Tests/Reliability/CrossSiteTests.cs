using System.Net;
using System.Text;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// State-changing requests a browser sends for a page of another site — a form with <c>enctype=text/plain</c>, a
/// <c>no-cors</c> fetch without a body — need no preflight, so CORS alone does not stop them while API keys are off.
/// They carry <c>Origin</c> and <c>Sec-Fetch-Site</c>; the API refuses them (403) and lets through requests with
/// neither header (curl, the CLI, generated clients) and those from its own or a configured origin.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class CrossSiteTests(ApiHosts hosts)
{
    private const string Evil = "https://evil.example";

    private static HttpRequestMessage Request(HttpMethod method, string url, string? origin, string? fetchSite = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (fetchSite is not null) request.Headers.Add("Sec-Fetch-Site", fetchSite);
        return request;
    }

    private static async Task RefusedAsync(HttpResponseMessage response) =>
        Assert.Equal("urn:simservice:problem:cross-site-request",
            (await response.ReadProblemAsync(HttpStatusCode.Forbidden)).GetProperty("type").GetString());

    [Theory]
    [InlineData(Evil, null)]
    [InlineData("null", null)]
    [InlineData("http://localhost:8080", null)]
    [InlineData("https://localhost", null)]
    [InlineData(null, "cross-site")]
    [InlineData("http://localhost", "cross-site")]
    public async Task BodilessPost_FromAnotherSite_Refused403AndNothingChanges(string? origin, string? fetchSite)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var sim = await SimulationDriver.TwoHostsAsync(client, "cross-site");
        var version = await sim.VersionAsync();
        var count = (await client.ListSimulationsAsync()).Count;

        await RefusedAsync(await client.SendAsync(Request(HttpMethod.Post, $"{sim.Base}/replay", origin, fetchSite)));
        await RefusedAsync(await client.SendAsync(Request(HttpMethod.Post, SimServiceApi.Simulations, origin, fetchSite)));
        await RefusedAsync(await client.SendAsync(Request(HttpMethod.Delete, sim.Base, origin, fetchSite)));
        await RefusedAsync(await client.SendAsync(Request(HttpMethod.Patch, sim.Base, origin, fetchSite,
            new StringContent("""{"name":"renamed"}""", Encoding.UTF8, "application/json"))));

        Assert.Equal(version, await sim.VersionAsync());
        Assert.Equal(count, (await client.ListSimulationsAsync()).Count);
    }

    [Fact]
    public async Task PacketdrillScript_AsACrossSiteTextPlainForm_Refused403()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var count = (await client.ListSimulationsAsync()).Count;
        var form = new StringContent("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", Encoding.UTF8, "text/plain");

        await RefusedAsync(await client.SendAsync(Request(HttpMethod.Post, "/api/v1/packetdrill/run", Evil, "cross-site", form)));

        Assert.Equal(count, (await client.ListSimulationsAsync()).Count);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("http://localhost", "same-origin")]
    [InlineData("http://localhost:80", null)]
    [InlineData(null, "same-site")]
    [InlineData(null, "none")]
    public async Task Post_WithoutBrowserHeadersOrFromItsOwnOrigin_Passes(string? origin, string? fetchSite)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var sim = await SimulationDriver.TwoHostsAsync(client, "same-origin");

        var replay = await client.SendAsync(Request(HttpMethod.Post, $"{sim.Base}/replay", origin, fetchSite));
        var create = await client.SendAsync(Request(HttpMethod.Post, SimServiceApi.Simulations, origin, fetchSite));

        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
    }

    /// <summary>Swagger UI opened at an IPv6 address: its Origin is the Host header's own, brackets and all.</summary>
    [Theory]
    [InlineData("http://[::1]:5180", "[::1]:5180", false)]
    [InlineData("http://[::1]:5181", "[::1]:5180", true)]
    [InlineData("http://127.0.0.1:5180", "[::1]:5180", true)]
    public void Origin_AnIPv6Address_IsItsOwnOnlyAtThatAddressAndPort(string origin, string host, bool refused)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Scheme = "http";
        context.Request.Host = new Microsoft.AspNetCore.Http.HostString(host);
        context.Request.Headers.Origin = origin;

        Assert.Equal(refused, new SimService.Api.Infrastructure.Hardening.CrossSite([]).Refuses(context.Request));
    }

    [Fact]
    public async Task GetFromAnotherSite_IsNotRefused()
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).SendAsync(
            Request(HttpMethod.Get, $"{SimServiceApi.Simulations}?limit=1", Evil, "cross-site"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ConfiguredCorsOrigin_MayChangeState_OthersMayNot()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins:0"] = "https://app.example",
        });
        var client = factory.CreateClient();

        var allowed = await client.SendAsync(Request(HttpMethod.Post, SimServiceApi.Simulations, "https://app.example", "cross-site"));
        var other = await client.SendAsync(Request(HttpMethod.Post, SimServiceApi.Simulations, Evil, "cross-site"));

        Assert.Equal(HttpStatusCode.Created, allowed.StatusCode);
        Assert.Equal("https://app.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        await RefusedAsync(other);
        Assert.Single(await client.ListSimulationsAsync());
    }
}
