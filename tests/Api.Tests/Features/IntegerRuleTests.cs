using System.Net;
using System.Net.Http.Json;
using System.Text;
using SimService.Api.Features.Simulations;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Scenarios;

namespace SimService.Api.Tests.Features;

/// <summary>
/// One rule for a JSON number in an integer field, in request bodies and scenario files alike (<see cref="JsonInteger"/>,
/// JSON Schema's "integer": a number with a zero fractional part): 1.0 and 1e3 are integers, 1.5 is not, 1e400 is out of
/// range. Until session 28 the API refused <c>{"seed":1.0}</c> ("The value is not valid for this field.") while a scenario
/// file took 1.0. Both sides read the same table here and must answer each row alike, with the same message.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class IntegerRuleTests(ApiHosts hosts)
{
    private const string LongRange = "-9223372036854775808..9223372036854775807";

    /// <summary>(the JSON value as written, the integer it is — or null —, the refusal's message — or null).</summary>
    public static TheoryData<string, long?, string?> Table => new()
    {
        { "1", 1, null },
        { "1.0", 1, null },
        { "1e3", 1000, null },
        { "1.5e1", 15, null },
        { "-0", 0, null },
        { "1.5", null, "1.5 is not an integer" },
        { "1e-400", null, "1e-400 is not an integer" },
        { "1e400", null, $"1e400 is outside {LongRange}" },
        { "9223372036854775808", null, $"9223372036854775808 is outside {LongRange}" },
        { "\"1\"", null, "expected an integer, found a string" },
    };

    /// <summary>
    /// The API: a request body's integer field (<c>seed</c>, a long) — taken as the integer, or a 400 naming the field, nothing
    /// created. A number past the long is outside the seed's own range, 0..9223372036854775807 (it named a long's, whose
    /// negative half the seed refuses).
    /// </summary>
    [Theory, MemberData(nameof(Table))]
    public async Task ApiBody_SeedAsWritten_TakenOrRefusedByTheRule(string json, long? value, string? problem)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var before = (await client.ListSimulationsAsync()).Count;

        var response = await client.PostJsonAsync($$"""{"name":"integer rule","seed":{{json}}}""");

        if (value is { } seed)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(seed, (await response.Content.ReadFromJsonAsync<SimulationResponse>())!.Seed);
            return;
        }
        var refused = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.Validation, refused.GetProperty("type").GetString());
        Assert.Equal(["seed"], refused.ErrorFields());
        Assert.Equal([problem!.Replace(LongRange, "0..9223372036854775807", StringComparison.Ordinal)],
            refused.GetProperty("errors").GetProperty("seed").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>
    /// The scenario loader, in process and through <c>POST /api/v1/scenarios/run</c>: a timeval's seconds (a long, in
    /// setsockopt(SO_SNDTIMEO)'s value) — taken as the integer, or refused at <c>$.steps[1].value.sec</c> with the API's
    /// message, nothing run.
    /// </summary>
    [Theory, MemberData(nameof(Table))]
    public async Task Scenario_TimevalSecondsAsWritten_TakenOrRefusedByTheRule(string json, long? value, string? problem)
    {
        var document = $$$"""
            {"name":"integer-rule","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{"host":"a","call":"socket","as":"s"},
             {"host":"a","call":"setsockopt","socket":"s","option":"SO_SNDTIMEO","value":{"sec":{{{json}}},"usec":0}}]}
            """;

        var parsed = ScenarioParser.Parse(document);

        if (value is { } sec)
        {
            Assert.Empty(parsed.Errors);
            Assert.Equal(new TimevalSockoptValue(sec, 0), Assert.IsType<CallStep>(parsed.Document!.Steps[1]).Value);
            return;
        }
        Assert.Equal(new ScenarioError("$.steps[1].value.sec", problem!), Assert.Single(parsed.Errors));
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var before = (await client.ListSimulationsAsync()).Count;
        var response = await client.PostAsync($"{SimServiceApi.Scenarios}/run", new StringContent(document, Encoding.UTF8, "application/json"));
        var refused = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.InvalidScenario, refused.GetProperty("type").GetString());
        Assert.Equal([problem], refused.GetProperty("errors").GetProperty("$.steps[1].value.sec").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>
    /// The other integer readers of request bodies follow the rule too: a duration in nanoseconds (1e9 is a second; 1e400
    /// is past the clock, as 9223372036854775807 is), a sysctl's value, setsockopt's integer and struct members.
    /// </summary>
    [Fact]
    public async Task ApiBody_DurationsSysctlsAndOptionValues_TakeIntegralNumbers()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "integer forms");

        Assert.Equal(1_000_000_000, (await sim.AdvanceAsync("""{"byNs":1e9,"eventBudget":1.0e2}""")).NowNs);
        var pastClock = await (await sim.PostAsync("advance", """{"byNs":1e400}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([DurationNsConverter.TooLong], pastClock.GetProperty("errors").GetProperty("byNs").EnumerateArray().Select(e => e.GetString()));
        var fraction = await (await sim.PostAsync("advance", """{"byNs":1.5}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([DurationNsConverter.Message], fraction.GetProperty("errors").GetProperty("byNs").EnumerateArray().Select(e => e.GetString()));

        var written = await sim.ReadAsync<System.Text.Json.JsonElement>(await sim.PatchAsync("hosts/client/sysctls", """{"net.ipv4.tcp_fin_timeout":3e1}"""), HttpStatusCode.OK);
        Assert.Equal("30", written.GetProperty("values").GetProperty("net.ipv4.tcp_fin_timeout").GetString());
        var sysctl = await (await sim.PatchAsync("hosts/client/sysctls", """{"net.ipv4.tcp_fin_timeout":30.5}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["30.5 is not an integer"], sysctl.GetProperty("errors").GetProperty("net.ipv4.tcp_fin_timeout").EnumerateArray().Select(e => e.GetString()));

        var socket = await sim.OnHostAsync("client", "sockets");
        Assert.Equal(0, (await sim.CallAsync(socket.SocketId, "setsockopt", """{"option":"SO_KEEPALIVE","value":1.0}""")).Result);
        Assert.Equal(0, (await sim.CallAsync(socket.SocketId, "setsockopt", """{"option":"SO_LINGER","value":{"onoff":1.0,"linger":5e0}}""")).Result);
        var option = await (await sim.PostAsync($"sockets/{socket.SocketId}/setsockopt", """{"option":"SO_KEEPALIVE","value":0.5}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["SO_KEEPALIVE's value: 0.5 is not an integer"], option.GetProperty("errors").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
        var range = await (await sim.PostAsync($"sockets/{socket.SocketId}/setsockopt", """{"option":"TCP_KEEPIDLE","value":1e10}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["TCP_KEEPIDLE's value: 1e10 is outside -2147483648..2147483647"], range.GetProperty("errors").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
        // SO_LINGER's members by the same rule, the one out of range named (it said only the shape, "onoff": 0 or 1, which is not what is taken).
        var linger = await (await sim.PostAsync($"sockets/{socket.SocketId}/setsockopt", """{"option":"SO_LINGER","value":{"onoff":2,"linger":2147483648}}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["SO_LINGER's value: linger: 2147483648 is outside -2147483648..2147483647 (struct linger holds two ints; onoff 0 is off, any other value on)."],
            linger.GetProperty("errors").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
        var shape = await (await sim.PostAsync($"sockets/{socket.SocketId}/setsockopt", """{"option":"SO_LINGER","value":{"onoff":1}}""")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["SO_LINGER's value is {\"onoff\": int, \"linger\": seconds}, struct linger's two ints (onoff 0 is off, any other value on)."],
            shape.GetProperty("errors").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>
    /// An integer dictionary key (a property name, so a string) is read by the converter too: digits within the type's
    /// range, written back as digits; "1.5", "1e3" and a key past the range are refused with the rule's messages.
    /// </summary>
    [Theory]
    [InlineData("""{"7":"a","-2":"b"}""", null)]
    [InlineData("""{"1.5":"a"}""", "\"1.5\" is not an integer")]
    [InlineData("""{"1e3":"a"}""", "\"1e3\" is not an integer")]
    [InlineData("""{"-":"a"}""", "\"-\" is not an integer")]
    [InlineData("""{"2147483648":"a"}""", "2147483648 is outside -2147483648..2147483647")]
    public void DictionaryKey_IntegerConverter_ReadsDigitsAndWritesThemBack(string json, string? problem)
    {
        var options = new System.Text.Json.JsonSerializerOptions { Converters = { new IntegerConverter() } };

        if (problem is null)
        {
            var read = System.Text.Json.JsonSerializer.Deserialize<Dictionary<int, string>>(json, options)!;
            Assert.Equal(new Dictionary<int, string> { [7] = "a", [-2] = "b" }, read);
            Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(read, options));
            return;
        }
        var refused = Assert.Throws<JsonInputException>(() => System.Text.Json.JsonSerializer.Deserialize<Dictionary<int, string>>(json, options));
        Assert.Equal(problem, refused.Message);
    }
}
