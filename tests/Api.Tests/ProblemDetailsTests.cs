using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests;

/// <summary>Every rejected request gets an RFC 9457 problem, and none of them persists anything.</summary>
[Collection(ApiCollection.Name)]
public sealed class ProblemDetailsTests(ApiHosts hosts)
{
    private static readonly (string Body, string Field)[] InvalidBodies =
    [
        ("""{"name":"x","profile":"linux-6","seed":1,"colour":"red"}""", "colour"),
        ("""{"name":"x","profile":"linux-5","seed":1}""", "profile"),
        ("""{"name":"x","profile":"linux-6","seed":-1}""", "seed"),
        ("""{"name":"x","profile":"linux-6","seed":"1"}""", "seed"),
        ("""{"name":"x","profile":"linux-6","seed":1.5}""", "seed"),
        ("""{"name":"","profile":"linux-6","seed":1}""", "name"),
        ("""{"name":"  ","profile":"linux-6","seed":1}""", "name"),
        ("""{"name":"x","name":"y","profile":"linux-6","seed":1}""", "name"),
        ("""[]""", "$"),
    ];

    public static TheoryData<DatabaseProvider, string, string> InvalidRequests
    {
        get
        {
            var data = new TheoryData<DatabaseProvider, string, string>();
            foreach (var provider in TestDatabase.Available)
                foreach (var (body, name) in InvalidBodies)
                    data.Add(provider, body, name);
            return data;
        }
    }

    [Theory, MemberData(nameof(InvalidRequests))]
    public async Task Create_InvalidBody_Returns400NamingTheFieldAndPersistsNothing(DatabaseProvider provider, string body, string field)
    {
        var client = hosts.Client(provider);
        var before = (await client.ListSimulationsAsync()).Count;

        var problem = await (await client.PostJsonAsync(body)).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.Validation, problem.GetProperty("type").GetString());
        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_UnknownFieldsOnly_Returns400NamingEach(DatabaseProvider provider)
    {
        var problem = await (await hosts.Client(provider).PostJsonAsync("""{"kernel":"linux-6"}""")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(["kernel"], problem.ErrorFields());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_MalformedJson_Returns400ProblemAndPersistsNothing(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var before = (await client.ListSimulationsAsync()).Count;

        var problem = await (await client.PostJsonAsync("""{"name":"x","profile":"linux-6","seed":""")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.MalformedJson, problem.GetProperty("type").GetString());
        Assert.Contains("$.seed", problem.GetProperty("detail").GetString());
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_JsonWithComment_SaysCommentsAreNotJson(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var line = await (await client.PostJsonAsync("{ // a scenario file's comment\n\"name\":\"x\"}")).ReadProblemAsync(HttpStatusCode.BadRequest);
        var block = await (await client.PostJsonAsync("""{"name":"x", /* c */ "profile":"linux-6"}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        var other = await (await client.PostJsonAsync("{name")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("JSON syntax error at line 1, column 3 (path $): '/' after a value: expected ',', '}' or ']'. "
            + "Comments (// and /* */) are not JSON: the API takes plain JSON "
            + "(the simservice tool drops them from a file before it sends it).", line.GetProperty("detail").GetString());
        Assert.Contains("Comments (// and /* */) are not JSON", block.GetProperty("detail").GetString());
        Assert.DoesNotContain("Comments", other.GetProperty("detail").GetString());
    }

    /// <summary>
    /// Why the body is not JSON, in the project's words, at the line and column an editor shows (from 1) — the
    /// <c>simservice</c> tool's convention for the same file. The detail said "line 1, byte 1447" (0-based, where the tool
    /// says column 1448) and gave no reason; the tool's reason was .NET's ("Change the reader options.").
    /// </summary>
    [Theory]
    [InlineData("{\"name\":\"x\",}", "JSON syntax error at line 1, column 13 (path $): a comma before '}' with no member after it: JSON has no trailing commas.")]
    [InlineData("{\"name\":\"x\"}\n{}", "JSON syntax error at line 2, column 1 (path $): '{' after the end of the document: the text holds one JSON value.")]
    [InlineData("{\"name\":", "JSON syntax error at line 1, column 9 (path $.name): the text ends inside an object or array: a '}' or ']' is missing.")]
    public async Task Create_NotJson_DetailSaysWhyAtAnEditorsLineAndColumn(string body, string detail)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var before = (await client.ListSimulationsAsync()).Count;

        var problem = await (await client.PostJsonAsync(body)).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.MalformedJson, problem.GetProperty("type").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_NotJson_Returns400MalformedJson(DatabaseProvider provider)
    {
        var problem = await (await hosts.Client(provider).PostJsonAsync("{name")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.MalformedJson, problem.GetProperty("type").GetString());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Create_NotJsonContentType_Returns415Problem(DatabaseProvider provider)
    {
        // Not text/plain: a form type, refused before binding (WebHygiene) with a 400.
        var content = new StringContent("""{"name":"x","profile":"linux-6","seed":1}""", Encoding.UTF8, "application/xml");

        var problem = await (await hosts.Client(provider).PostAsync(SimServiceApi.Simulations, content)).ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);

        Assert.Equal(ProblemTypes.UnsupportedMediaType, problem.GetProperty("type").GetString());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Get_UnknownId_Returns404ProblemNamingTheSimulation(DatabaseProvider provider)
    {
        var id = Guid.Parse("00000000-0000-7000-8000-000000000001");

        var problem = await (await hosts.Client(provider).GetAsync($"{SimServiceApi.Simulations}/{id}")).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(ProblemTypes.SimulationNotFound, problem.GetProperty("type").GetString());
        Assert.Equal(id, problem.GetProperty("simulationId").GetGuid());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_UnknownId_Returns404Problem(DatabaseProvider provider)
    {
        var problem = await (await hosts.Client(provider).DeleteAsync($"{SimServiceApi.Simulations}/{Guid.Empty}")).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(ProblemTypes.SimulationNotFound, problem.GetProperty("type").GetString());
    }

    public static TheoryData<DatabaseProvider, string, string, string> IdsThatAreNotUuids
    {
        get
        {
            var data = new TheoryData<DatabaseProvider, string, string, string>();
            foreach (var provider in TestDatabase.Available)
            {
                data.Add(provider, "GET", "not-a-guid", "");
                data.Add(provider, "GET", "null", "/clock");
                data.Add(provider, "GET", "123", "");
                data.Add(provider, "DELETE", "123", "");
                data.Add(provider, "POST", "123", "/replay");
                data.Add(provider, "GET", "123", "/journal");
                data.Add(provider, "GET", "abc", "/hosts/client/sockets");
                data.Add(provider, "POST", "abc", "/sockets/1/close");
            }
            return data;
        }
    }

    /// <summary>Routes constrain the id to a UUID, so no route matches; the answer is still the project's own problem.</summary>
    [Theory, MemberData(nameof(IdsThatAreNotUuids))]
    public async Task Request_SimulationIdThatIsNotAUuid_Returns404SimulationNotFoundNamingIt(DatabaseProvider provider, string method, string id, string rest)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), $"{SimServiceApi.Simulations}/{id}{rest}");
        if (method == "POST") request.Content = JsonContent.Create(new { });

        var problem = await (await hosts.Client(provider).SendAsync(request)).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(ProblemTypes.SimulationNotFound, problem.GetProperty("type").GetString());
        Assert.False(problem.TryGetProperty("simulationId", out _), "simulationId is documented as a UUID");
        Assert.Equal($"There is no simulation with id '{id}'.", problem.GetProperty("detail").GetString());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Request_ItemIdThatIsNotANumber_Returns404NotFoundNamingTheField(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var simulation = await client.CreateSimulationAsync("ids");

        foreach (var (path, field) in new[] { ("sockets/x/close", "socketId"), ("workloads/null", "workloadId"), ("calls/first", "callId") })
        {
            using var request = new HttpRequestMessage(path.EndsWith("close", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get,
                $"{SimServiceApi.Simulations}/{simulation.Id}/{path}");
            var problem = await (await client.SendAsync(request)).ReadProblemAsync(HttpStatusCode.NotFound);

            Assert.Equal(ProblemTypes.NotFound, problem.GetProperty("type").GetString());
            Assert.Equal(simulation.Id, problem.GetProperty("simulationId").GetGuid());
            Assert.Equal([field], problem.ErrorFields());
        }
    }

    /// <summary>A path no endpoint has is the project's own problem (it was the framework's, of type an RFC 9110 section URI).</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Get_UnknownPathUnderAKnownSimulation_Returns404UnknownPath(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var simulation = await client.CreateSimulationAsync("unknown-path");

        var problem = await (await client.GetAsync($"{SimServiceApi.Simulations}/{simulation.Id}/nonsense")).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(ProblemTypes.UnknownPath, problem.GetProperty("type").GetString());
        Assert.Equal($"No endpoint has the path {SimServiceApi.Simulations}/{simulation.Id}/nonsense.", problem.GetProperty("detail").GetString());
        Assert.False(problem.TryGetProperty("errors", out _), "nothing of the request is at fault but its path");
    }

    /// <summary>A method the path does not take is the project's 405, naming what <c>Allow</c> lists (it was the framework's).</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task WrongMethod_Returns405MethodNotAllowedNamingAllow(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var simulation = await client.CreateSimulationAsync("wrong-method");

        foreach (var (method, path, allow) in new[]
        {
            (HttpMethod.Put, SimServiceApi.Simulations, "GET, HEAD, POST"),
            (HttpMethod.Put, $"{SimServiceApi.Simulations}/{simulation.Id}", "DELETE, GET, HEAD"),
            (HttpMethod.Get, $"{SimServiceApi.Simulations}/{simulation.Id}/workloads", "POST"),
        })
        {
            using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(new { }) };
            var response = await client.SendAsync(request);
            var problem = await response.ReadProblemAsync(HttpStatusCode.MethodNotAllowed);

            Assert.Equal(ProblemTypes.MethodNotAllowed, problem.GetProperty("type").GetString());
            var allowed = string.Join(", ", response.Content.Headers.Allow);
            Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow.Order(StringComparer.Ordinal)));
            Assert.Equal($"{method} is not a method of {path}: it takes {allowed} (the Allow header).", problem.GetProperty("detail").GetString());
        }
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task UnhandledException_Returns500ProblemWithoutDetails(DatabaseProvider provider)
    {
        await using var database = TestDatabase.Create(provider);
        await using var host = new SimServiceFactory(database, services => services.AddSingleton<TimeProvider>(new BrokenClock()));

        var response = await host.CreateClient().PostAsJsonAsync(SimServiceApi.Simulations, new { name = "x", profile = "linux-6", seed = 1 });

        var problem = await response.ReadProblemAsync(HttpStatusCode.InternalServerError);
        Assert.Equal(ProblemTypes.Internal, problem.GetProperty("type").GetString());
        var text = problem.GetRawText();
        Assert.DoesNotContain(BrokenClock.Secret, text);
        Assert.DoesNotContain("   at ", text);
    }

    private sealed class BrokenClock : TimeProvider
    {
        public const string Secret = "clock internals that must not leak";

        public override DateTimeOffset GetUtcNow() => throw new InvalidOperationException(Secret);
    }
}
