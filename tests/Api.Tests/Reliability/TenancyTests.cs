using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure.Tenancy;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Reliability;

/// <summary>
/// Tenants kept apart by API keys: another tenant's simulation does not exist for a caller (404 for every read,
/// command, replay, export, delete and output, and it is not listed); no key, a wrong key and a revoked key are 401
/// problems with WWW-Authenticate; the rate limit is per tenant (429 with Retry-After). Each test has its own host,
/// since creating a key turns keys on for that database.
/// </summary>
public sealed class TenancyTests
{
    public static TheoryData<DatabaseProvider> Providers => [.. TestDatabase.Available];

    /// <summary>GETs that read a simulation or one of its outputs.</summary>
    private static readonly string[] Reads =
    [
        "", "journal", "commands", "export", "clock", "hosts", "hosts/client", "hosts/client/sockets", "hosts/client/ss",
        "hosts/client/proc/net/tcp", "hosts/client/procfs.tar", "links", "pcap", "diagram.svg", "socket-table",
        "timeseries", "timeseries.svg", "view",
    ];

    /// <summary>POSTs that change a simulation or replay it.</summary>
    private static readonly (string Path, string Body)[] Changes =
    [
        ("advance", """{"byNs":1000}"""),
        ("hosts", """{"name":"third","address":"10.0.0.3"}"""),
        ("commands", """{"commands":[{"type":"advance","byNs":1}]}"""),
        ("connections", """{"client":"client","server":"server","port":80}"""),
        ("hosts/client/connect", """{"to":"server:80"}"""),
        ("replay", "{}"),
    ];

    [Theory, MemberData(nameof(Providers))]
    public async Task OtherTenantsSimulation_EveryReadChangeReplayExportDelete_Returns404AndIsNotListed(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database);
        var acme = await factory.TenantClientAsync("acme");
        var globex = await factory.TenantClientAsync("globex");
        var sim = await SimulationDriver.TwoHostsAsync(acme, "acme's");
        await sim.PostOkAsync("advance", new { byNs = 1_000_000 });
        var before = await acme.ETagAsync(sim.Base);

        foreach (var read in Reads)
        {
            Assert.Equal((read, HttpStatusCode.OK), (read, (await acme.GetAsync($"{sim.Base}/{read}")).StatusCode));
            await NotFoundAsync(read, await globex.GetAsync($"{sim.Base}/{read}"));
        }
        foreach (var (path, body) in Changes) await NotFoundAsync(path, await globex.PostAsync($"{sim.Base}/{path}", Json(body)));
        await NotFoundAsync("DELETE", await globex.DeleteAsync(sim.Base));

        Assert.Empty(await globex.ListSimulationsAsync());
        Assert.Equal([sim.Id], (await acme.ListSimulationsAsync()).Select(s => s.Id));
        Assert.Equal(before, await acme.ETagAsync(sim.Base));
        Assert.Equal(HttpStatusCode.NoContent, (await acme.DeleteAsync(sim.Base)).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task KeysOffSimulation_KeysTurnedOn_NoTenantSeesItUntilAdopted(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database);
        var anonymous = factory.CreateClient();
        var early = await anonymous.CreateSimulationAsync("made while keys were off");
        var acme = await factory.TenantClientAsync("acme");
        var globex = await factory.TenantClientAsync("globex");
        var path = $"{SimServiceApi.Simulations}/{early.Id}";

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        foreach (var tenant in new[] { acme, globex })
        {
            await NotFoundAsync("GET", await tenant.GetAsync(path));
            Assert.Empty(await tenant.ListSimulationsAsync());
        }

        await using (var scope = factory.Services.CreateAsyncScope())
            Assert.Equal(1, await scope.ServiceProvider.GetRequiredService<ApiKeyStore>().AdoptAsync("acme", CancellationToken.None));

        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync(path)).StatusCode);
        Assert.Equal([early.Id], (await acme.ListSimulationsAsync()).Select(s => s.Id));
        await NotFoundAsync("GET", await globex.GetAsync(path));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task KeysExist_BrowserOpensViewWithoutKey_Gets401WithAKeyPromptThatShowsNothingOfTheSimulation(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database);
        var acme = await factory.TenantClientAsync("acme");
        var sim = await SimulationDriver.TwoHostsAsync(acme, "acme's");
        var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");

        var prompt = await anonymous.GetAsync($"{sim.Base}/view");
        var missing = await anonymous.GetAsync($"{SimServiceApi.Simulations}/{Guid.NewGuid()}/view");

        Assert.Equal(HttpStatusCode.Unauthorized, prompt.StatusCode);
        Assert.Equal("text/html", prompt.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", prompt.Headers.WwwAuthenticate.Single().Scheme);
        var page = await prompt.Content.ReadAsStringAsync();
        Assert.Contains("id=\"key-form\"", page);
        Assert.DoesNotContain(sim.Id.ToString(), page);
        Assert.Equal(page, await missing.Content.ReadAsStringAsync()); // the same page whether the simulation exists or not
        // Not a browser (no text/html in Accept), a key that is wrong, or another path: the usual 401 problem.
        await (await factory.CreateClient().GetAsync($"{sim.Base}/view")).ReadProblemAsync(HttpStatusCode.Unauthorized);
        anonymous.DefaultRequestHeaders.Add("X-Api-Key", "ssk_0000000000000000_wrong");
        await (await anonymous.GetAsync($"{sim.Base}/view")).ReadProblemAsync(HttpStatusCode.Unauthorized);
        anonymous.DefaultRequestHeaders.Remove("X-Api-Key");
        await (await anonymous.GetAsync(sim.Base)).ReadProblemAsync(HttpStatusCode.Unauthorized);

        var view = await acme.GetAsync($"{sim.Base}/view");
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        Assert.Contains("sessionStorage.getItem(\"simservice-api-key\")", await view.Content.ReadAsStringAsync());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task KeysExist_RequestWithoutKey_Returns401ProblemWithWwwAuthenticate(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database);
        var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(SimServiceApi.Simulations)).StatusCode); // keys off: open
        await factory.TenantClientAsync("acme");

        var response = await anonymous.GetAsync(SimServiceApi.Simulations);

        var problem = await response.ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("urn:simservice:problem:unauthorized", problem.GetProperty("type").GetString());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/swagger/v1/swagger.json")).StatusCode);
    }

    /// <summary>A Bearer key and an X-Api-Key naming different keys (even two valid ones) are ambiguous: 401, neither wins.</summary>
    [Fact]
    public async Task BearerAndXApiKey_DifferentKeys_Returns401Ambiguous()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database);
        var acme = await factory.CreateKeyAsync("acme");
        var globex = await factory.CreateKeyAsync("globex");
        var both = factory.CreateClient();
        both.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", acme.Key);
        both.DefaultRequestHeaders.Add("X-Api-Key", globex.Key);
        var same = factory.CreateClient();
        same.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", acme.Key);
        same.DefaultRequestHeaders.Add("X-Api-Key", acme.Key);

        var problem = await (await both.GetAsync(SimServiceApi.Simulations)).ReadProblemAsync(HttpStatusCode.Unauthorized);

        Assert.Contains("different keys", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await same.GetAsync(SimServiceApi.Simulations)).StatusCode);
    }

    /// <summary>
    /// Two X-Api-Key values (two field lines, or a comma-separated list) naming different keys are ambiguous as a Bearer key
    /// and an X-Api-Key are: 401 "send one key", not "unknown or revoked" (it was, even for two valid keys). The same key twice is one key.
    /// </summary>
    [Fact]
    public async Task XApiKeyTwice_DifferentKeys_Returns401Ambiguous_SameKeyTwiceIsOneKey()
    {
        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var factory = new SimServiceFactory(database);
        var acme = await factory.CreateKeyAsync("acme");
        var globex = await factory.CreateKeyAsync("globex");
        HttpClient Sending(params string[] lines)
        {
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.TryAddWithoutValidation("X-Api-Key", lines);
            return client;
        }

        foreach (var client in new[] { Sending(acme.Key, globex.Key), Sending($"{acme.Key}, {globex.Key}") })
        {
            var problem = await (await client.GetAsync(SimServiceApi.Simulations)).ReadProblemAsync(HttpStatusCode.Unauthorized);
            var detail = problem.GetProperty("detail").GetString();
            Assert.Equal("The request names different keys (Authorization: Bearer, X-Api-Key, or X-Api-Key twice); send one key.", detail);
            Assert.Equal(detail, problem.GetProperty("errors").GetProperty("X-Api-Key")[0].GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await Sending(acme.Key, acme.Key).GetAsync(SimServiceApi.Simulations)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Sending($"{acme.Key},{acme.Key}").GetAsync(SimServiceApi.Simulations)).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task KeysExist_WrongOrRevokedKey_Returns401(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var factory = new SimServiceFactory(database);
        var (id, key) = await factory.CreateKeyAsync("acme");
        var valid = await factory.CreateKeyAsync("acme");
        string[] wrong = [key[..^1] + (key[^1] == 'A' ? 'B' : 'A'), "ssk_" + id, "ssk_0000000000000000_x", "nonsense", ""];

        foreach (var text in wrong)
        {
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.TryAddWithoutValidation("X-Api-Key", text);
            await (await client.GetAsync(SimServiceApi.Simulations)).ReadProblemAsync(HttpStatusCode.Unauthorized);
        }
        await using (var scope = factory.Services.CreateAsyncScope())
            Assert.True(await scope.ServiceProvider.GetRequiredService<ApiKeyStore>().RevokeAsync(id, CancellationToken.None));
        var revoked = factory.CreateClient();
        revoked.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var refused = await revoked.GetAsync(SimServiceApi.Simulations);

        await refused.ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("invalid_token", refused.Headers.WwwAuthenticate.Single().Parameter);
        var other = factory.CreateClient();
        other.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", valid.Key);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(SimServiceApi.Simulations)).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TenantBucketEmpty_NextRequest_Returns429WithRetryAfterAndOtherTenantsGoOn(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        // Two tokens, refilled hourly: the third request is refused whatever the machine's speed.
        await using var factory = new SimServiceFactory(database, settings: new Dictionary<string, string?>
        {
            ["RateLimit:PerSecond"] = "1", ["RateLimit:Burst"] = "2", ["RateLimit:PeriodSeconds"] = "3600",
        });
        var acme = await factory.TenantClientAsync("acme");
        var globex = await factory.TenantClientAsync("globex");

        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync(SimServiceApi.Simulations)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync(SimServiceApi.Simulations)).StatusCode);
        var refused = await acme.GetAsync(SimServiceApi.Simulations);

        var problem = await refused.ReadProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("urn:simservice:problem:rate-limited", problem.GetProperty("type").GetString());
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 3600);
        Assert.Equal(HttpStatusCode.OK, (await globex.GetAsync(SimServiceApi.Simulations)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await acme.GetAsync("/healthz")).StatusCode); // health is not limited
        Assert.Contains("aspnetcore_rate_limiting_policy=\"per-tenant\",aspnetcore_rate_limiting_result=\"endpoint_limiter\"} 1",
            await acme.GetStringAsync("/metrics"));
    }

    private static async Task NotFoundAsync(string path, HttpResponseMessage response)
    {
        Assert.Equal((path, HttpStatusCode.NotFound), (path, response.StatusCode));
        var problem = await response.ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("urn:simservice:problem:simulation-not-found", problem.GetProperty("type").GetString());
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
