using System.Net;
using System.Text;
using System.Text.Json;
using SimService.Api.Features.Packetdrill;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>POST /api/v1/packetdrill/run: a script in, a scenario-run-shaped result out, the run kept as a simulation.</summary>
[Collection(ApiCollection.Name)]
public sealed class PacketdrillRunTests(ApiHosts hosts)
{
    const string ListenerRst = """
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
        +0 bind(3, ..., ...) = 0
        +0 listen(3, 1) = 0
        +.01 < . 1:1(0) ack 1 win 257
        +0 > R 1:1(0)
        """;

    static async Task<HttpResponseMessage> PostScript(HttpClient client, string script, string query = "") =>
        await client.PostAsync($"/api/v1/packetdrill/run{query}", new StringContent(script, Encoding.UTF8, "text/plain"));

    static async Task<PacketdrillRunResponse> Run(HttpClient client, string script, string query = "")
    {
        var response = await PostScript(client, script, query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonSerializer.Deserialize<PacketdrillRunResponse>(text, JsonSerializerOptions.Web)!;
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task PassingScript_Runs_IsKeptAsASimulationThatReplays(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var run = await Run(client, ListenerRst, "?name=listener-rst.pkt&seed=3");

        Assert.True(run.Passed, run.Output);
        Assert.Empty(run.Checks);
        Assert.Null(run.Failure);
        var sim = new SimulationDriver(client, run.SimulationId);
        Assert.Equal($"/api/v1/simulations/{run.SimulationId}/journal", run.Journal);
        Assert.Equal(run.JournalEvents, (await sim.JournalAsync()).Count);
        var stored = await sim.GetAsync();
        Assert.Equal(("listener-rst.pkt", 3L, "linux-6"), (stored.Name, stored.Seed, stored.Profile));
        Assert.True((await sim.ReplayAsync()).Identical);
        Assert.Contains("LISTEN", await sim.GetTextAsync("hosts/local/ss"));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task LateExpectation_Runs_FailsWithLineAndPacketdrillsMessage(DatabaseProvider provider)
    {
        var run = await Run(hosts.Client(provider), ListenerRst.Replace("+0 > R 1:1(0)", "+.1 > R 1:1(0)"), "?name=late.pkt");

        Assert.False(run.Passed);
        Assert.Equal(6, run.Failure!.Line);
        Assert.StartsWith("late.pkt:6: error handling packet: timing error: expected outbound packet at 0.110000 sec but happened at 0.010000 sec; tolerance 0.004000 sec",
            run.Output);
        var check = Assert.Single(run.Checks);
        Assert.Equal(("packetdrill", "line 6", false), (check.Kind, check.Path, check.Passed));
        Assert.Equal("0.110000 R 1:1(0)", check.Expected);
        Assert.Equal("0.010000 R 1:1(0) win 0", check.Actual);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task ToleranceQuery_WidensTheTimingCheck(DatabaseProvider provider)
    {
        var run = await Run(hosts.Client(provider), ListenerRst.Replace("+0 > R 1:1(0)", "+.1 > R 1:1(0)"), "?tolerance_usecs=100000&profile=linux-4.4");
        Assert.True(run.Passed, run.Output);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task UnsupportedScript_Refused_400KeyedByLineAndColumn(DatabaseProvider provider)
    {
        var response = await PostScript(hosts.Client(provider), "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 epoll_create(1) = 4\n+0 < S 0:0(0) <...>\n");
        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.InvalidScript, problem.GetProperty("type").GetString());
        Assert.Equal(["line 3, column 15"], problem.ErrorFields());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task BadQuery_Refused_400NamingTheParameters(DatabaseProvider provider)
    {
        var response = await PostScript(hosts.Client(provider), ListenerRst, "?profile=linux-5&seed=-1");
        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["profile", "seed"], problem.ErrorFields());
    }

    /// <summary>
    /// The script's name follows the simulation name's rule (no control characters: it is the simulation's name and the
    /// prefix of packetdrill's messages), and packetdrill's options are refused by the parameter that carries them. Until
    /// 2026-12-05 <c>name=a%00b</c> ran and was stored, and <c>mss=0</c> or <c>ip_version=ipv6</c> were keyed "line 1, column 1".
    /// </summary>
    [Theory]
    [InlineData("?name=a%00b.pkt", "name")]
    [InlineData("?name=%1B%5B31mred.pkt", "name")]
    [InlineData("?name=del%7F.pkt", "name")]
    [InlineData("?name=c1%C2%9B.pkt", "name")]
    [InlineData("?mss=0", "mss")]
    [InlineData("?mss=-1", "mss")]
    [InlineData("?mss=70000", "mss")]
    [InlineData("?ip_version=ipv6", "ip_version")]
    [InlineData("?ip_version=%00", "ip_version")]
    public async Task BadNameOrOption_Refused400NamingTheParameterAndRunsNothing(string query, string field)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var count = (await client.ListSimulationsAsync()).Count;

        var problem = await (await PostScript(client, ListenerRst, query)).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.Validation, problem.GetProperty("type").GetString());
        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(count, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>The script is text: a JSON body is a 415 that names text/plain, not the JSON advice of the other endpoints.</summary>
    [Fact]
    public async Task JsonBody_Refused415NamingTextPlain()
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).PostAsync("/api/v1/packetdrill/run",
            new StringContent("{\"script\":\"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\"}", Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(ProblemTypes.UnsupportedMediaType, problem.GetProperty("type").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("Content-Type: text/plain", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("JSON", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonEndpoint_TextBody_Refused415WithTheJsonAdvice()
    {
        var response = await hosts.Client(DatabaseProvider.Sqlite).PostAsync(SimServiceApi.Simulations,
            new StringContent("name", Encoding.UTF8, "text/csv"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(AcceptedMediaTypes.JsonAdvice, problem.GetProperty("detail").GetString());
    }
}
