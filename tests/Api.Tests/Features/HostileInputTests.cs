using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// Findings of a fresh-clone hostile tester (session 23): repeated and unknown query parameters, unknown hosts in filters,
/// ids past Int32, duration text, If-Match lists, content codings, validation messages and where an advance stopped.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class HostileInputTests(ApiHosts hosts)
{
    private async Task<SimulationDriver> ConnectedAsync()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "hostile");
        await sim.ConnectAsync();
        return sim;
    }

    private static IEnumerable<(string Host, int Socket)> Items(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(e => (e.GetProperty("host").GetString()!, e.TryGetProperty("socketId", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : 0));

    /// <summary>The journal's host and socketId filters are repeatable: events of any of the values (they were joined "client,server": no events).</summary>
    [Fact]
    public async Task Journal_RepeatedHostAndSocketId_EventsOfAnyOfThem()
    {
        var sim = await ConnectedAsync();

        var both = await sim.GetJsonAsync("journal?host=client&host=server&limit=5000");
        var twice = await sim.GetJsonAsync("journal?host=client&host=client&limit=5000");
        var client = await sim.GetJsonAsync("journal?host=client&limit=5000");
        var all = await sim.GetJsonAsync("journal?limit=5000");
        var sockets = await sim.GetJsonAsync("journal?socketId=2&socketId=3&limit=5000");

        Assert.Equal(Items(all).Count(i => i.Host is "client" or "server"), Items(both).Count());
        Assert.Equal(Items(client), Items(twice));
        Assert.NotEmpty(Items(client));
        Assert.Equal(Items(all).Where(i => i.Socket is 2 or 3), Items(sockets));
        Assert.Contains(Items(sockets), i => i.Socket == 2);
        Assert.Contains(Items(sockets), i => i.Socket == 3);
    }

    /// <summary>A host filter naming no host is a 404 naming host on every output (the journal answered an empty 200).</summary>
    [Theory]
    [InlineData("journal?host=nohost")]
    [InlineData("journal?host=")]
    [InlineData("journal?host=client&host=nohost")]
    [InlineData("pcap?host=nohost")]
    [InlineData("diagram.svg?host=nohost")]
    public async Task HostFilter_UnknownHost_404NamingHost(string path)
    {
        var sim = await ConnectedAsync();

        var problem = await (await sim.Client.GetAsync($"{sim.Base}/{path}")).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(["host"], problem.ErrorFields());
        Assert.Equal(sim.Id, problem.GetProperty("simulationId").GetGuid());
    }

    /// <summary>A parameter that takes one value given twice, or one the endpoint does not take, is a 400 naming it.</summary>
    [Theory]
    [InlineData("pcap?host=client&host=server", "host")]
    [InlineData("socket-table?atNs=1&atNs=2", "atNs")]
    [InlineData("journal?bogus=1", "bogus")]
    [InlineData("journal?hots=client", "hots")]
    [InlineData("clock?x=1", "x")]
    public async Task Query_RepeatedSingleValueOrUnknownParameter_400NamingIt(string path, string field)
    {
        var sim = await ConnectedAsync();

        var problem = await (await sim.Client.GetAsync($"{sim.Base}/{path}")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.Validation, problem.GetProperty("type").GetString());
        Assert.Equal([field], problem.ErrorFields());
    }

    /// <summary>packetdrill's ?name= past 200 characters was cut to 200 silently, and ?bogus=1 ignored; both are 400s now, and no simulation is made.</summary>
    [Theory]
    [InlineData("name", 201)]
    [InlineData("bogus", 1)]
    public async Task Packetdrill_LongNameOrUnknownParameter_400NamingIt(string parameter, int length)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        int before = (await client.ListSimulationsAsync()).Count;

        var response = await client.PostAsync($"/api/v1/packetdrill/run?{parameter}={new string('a', length)}",
            new StringContent("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", Encoding.UTF8, "text/plain"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal([parameter], problem.ErrorFields());
        Assert.Equal(before, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>
    /// Names are limited in characters — Unicode scalar values, as README says and JSON Schema's maxLength counts —, not UTF-16
    /// code units: 200 "😀" (400 code units) are a simulation's name, a packetdrill run's name and a process name; 201 are
    /// not (150 of them were a 400 "maximum length of 200"). A process name's limit is the domain's 200 in every body (the
    /// call bodies said 64).
    /// </summary>
    [Fact]
    public async Task Names_CountedInUnicodeCharacters_NotUtf16Units()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        string emoji = string.Concat(Enumerable.Repeat("😀", 200)), over = emoji + "😀";

        var made = await client.PostAsJsonAsync("/api/v1/simulations", new { name = emoji });
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        Assert.Equal(emoji, (await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        var refused = await (await client.PostAsJsonAsync("/api/v1/simulations", new { name = over })).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["name"], refused.ErrorFields());
        Assert.Equal("The field name must be a string with a minimum length of 1 and a maximum length of 200.", refused.GetProperty("errors").GetProperty("name")[0].GetString());

        var script = new StringContent("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", Encoding.UTF8, "text/plain");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/packetdrill/run?name={Uri.EscapeDataString(emoji)}", script)).StatusCode);
        var scriptRefused = await (await client.PostAsync($"/api/v1/packetdrill/run?name={Uri.EscapeDataString(over)}",
            new StringContent("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", Encoding.UTF8, "text/plain"))).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["name"], scriptRefused.ErrorFields());

        var sim = await SimulationDriver.TwoHostsAsync(client, "names");
        Assert.Equal(emoji, (await sim.OnHostAsync("client", "sockets", new { process = emoji })).Process);
        var processRefused = await (await sim.PostAsync("hosts/client/sockets", new { process = over })).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["process"], processRefused.ErrorFields());
        var batchRefused = await (await sim.PostAsync("commands", new { commands = new object[] { new { type = "call", call = "socket", host = "client", process = over } } }))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["commands[0].process"], batchRefused.ErrorFields());
    }

    /// <summary>Ids past Int32 matched no route and got the framework's bare 404; they are the project's not-found naming the id now.</summary>
    [Theory]
    [InlineData("GET", "sockets/2147483648", "socketId")]
    [InlineData("GET", "sockets/9223372036854775807", "socketId")]
    [InlineData("POST", "sockets/2147483648/close", "socketId")]
    [InlineData("GET", "workloads/2147483648", "workloadId")]
    [InlineData("GET", "calls/9223372036854775808", "callId")]
    public async Task Id_PastTheRoutesInteger_NotFoundNamingIt(string method, string path, string field)
    {
        var sim = await ConnectedAsync();

        var response = await sim.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{sim.Base}/{path}")
        {
            Content = method == "POST" ? new StringContent("{}", Encoding.UTF8, "application/json") : null,
        });

        var problem = await response.ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(ProblemTypes.NotFound, problem.GetProperty("type").GetString());
        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(sim.Id, problem.GetProperty("simulationId").GetGuid());
    }

    /// <summary>A workload's durations take duration text as byNs and delayNs do (they were "The value is not valid for this field").</summary>
    [Fact]
    public async Task Workload_DurationText_Accepted()
    {
        var sim = await ConnectedAsync();

        var run = await sim.PostOkAsync("workloads", """{"clients":["client"],"server":"server","port":8080,"count":2,"rate":100,"thinkTimeNs":"1ms","drainLimitNs":"10s","resolutionNs":"100ms","clientLinkDelayNs":"1ms"}""");

        Assert.Equal(2, run.GetProperty("result").GetProperty("connections").GetInt64());
        Assert.Equal(100_000_000, run.GetProperty("result").GetProperty("resolutionNs").GetInt64());
    }

    /// <summary>RFC 9110 §13.1.1: If-Match holds when any listed entity-tag matches (or it is *); a list of none is a 412.</summary>
    [Fact]
    public async Task IfMatch_ListNamingTheCurrentVersion_Applied_ListOfOthers412()
    {
        var sim = await ConnectedAsync();
        long version = await sim.VersionAsync();

        var listed = await sim.PostAsync("advance", new { byNs = 1 }, $"\"1\", \"{version}\"");
        var star = await sim.PostAsync("advance", new { byNs = 1 }, "*");
        var others = await sim.PostAsync("advance", new { byNs = 1 }, "\"1\", W/\"2\"");

        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, star.StatusCode);
        var problem = await others.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(["If-Match"], problem.ErrorFields());
        Assert.Equal(version + 2, await sim.VersionAsync());
    }

    /// <summary>
    /// Only application/json (no charset, or charset=utf-8) is taken as a JSON body: another charset (it was decoded as
    /// latin1) or another +json type the API does not declare (application/merge-patch+json was read as JSON) is a 415
    /// naming Content-Type, and nothing is created (tester session 24).
    /// </summary>
    [Theory]
    [InlineData("application/json; charset=latin1", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("application/merge-patch+json", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("application/problem+json", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("application/json; charset=UTF-8", HttpStatusCode.Created)]
    [InlineData("application/json", HttpStatusCode.Created)]
    // RFC 9110 §8.3.2 and §5.6.6: a parameter value may be a quoted-string, and charset is case-insensitive (it was a 415).
    [InlineData("application/json; charset=\"utf-8\"", HttpStatusCode.Created)]
    [InlineData("application/json;charset=\"UTF-8\"", HttpStatusCode.Created)]
    [InlineData("Application/JSON; Charset=\"Utf-8\"", HttpStatusCode.Created)]
    [InlineData("application/json; charset=\"latin1\"", HttpStatusCode.UnsupportedMediaType)]
    public async Task CreateSimulation_JsonContentTypeOtherThanUtf8ApplicationJson_415NamingContentType(string contentType, HttpStatusCode expected)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var content = new ByteArrayContent("{\"name\":\"ct\"}"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await client.PostAsync(SimServiceApi.Simulations, content);

        if (expected == HttpStatusCode.Created) Assert.Equal(expected, response.StatusCode);
        else Assert.Equal(["Content-Type"], (await response.ReadProblemAsync(expected)).ErrorFields());
    }

    /// <summary>A gzip body was read as JSON ("malformed at byte 0"); a content coding is a 415 naming Content-Encoding, and nothing is applied.</summary>
    [Fact]
    public async Task ContentEncoding_Gzip_415NamingTheHeader()
    {
        var sim = await ConnectedAsync();
        long version = await sim.VersionAsync();
        var body = new ByteArrayContent([0x1f, 0x8b, 0x08, 0x00]);
        body.Headers.ContentType = new("application/json");
        body.Headers.ContentEncoding.Add("gzip");

        var response = await sim.Client.PostAsync($"{sim.Base}/advance", body);

        var problem = await response.ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(ProblemTypes.UnsupportedMediaType, problem.GetProperty("type").GetString());
        Assert.Equal(["Content-Encoding"], problem.ErrorFields());
        Assert.Equal(["identity"], response.Headers.GetValues("Accept-Encoding"));
        Assert.Equal(version, await sim.VersionAsync());
    }

    /// <summary>
    /// A key given twice in a dictionary of the body is named by its path, as a duplicated field is (tester35 LOW-6: the
    /// serializer's duplicate in a dictionary came out at <c>$</c>): the sysctls of a new host, of a PATCH, of a command.
    /// </summary>
    [Theory]
    [InlineData("hosts", """{"name":"third","address":"10.0.0.3","sysctls":{"net.ipv4.tcp_fin_timeout":30,"net.ipv4.tcp_fin_timeout":40}}""",
        "sysctls.net.ipv4.tcp_fin_timeout")]
    [InlineData("hosts/client/sysctls", """{"net.ipv4.tcp_fin_timeout":30,"net.ipv4.tcp_fin_timeout":40}""", "net.ipv4.tcp_fin_timeout")]
    [InlineData("commands", """{"commands":[{"type":"set-sysctls","host":"client","values":{"net.ipv4.tcp_sack":0,"net.ipv4.tcp_sack":1}}]}""",
        "commands[0].values.net.ipv4.tcp_sack")]
    [InlineData("hosts", """{"name":"third","name":"fourth","address":"10.0.0.3"}""", "name")]
    public async Task DuplicatedKey_400NamingItsPath(string path, string body, string field)
    {
        var sim = await ConnectedAsync();

        var problem = await (await (path.EndsWith("/sysctls", StringComparison.Ordinal) ? sim.PatchAsync(path, body) : sim.PostAsync(path, body)))
            .ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal([field], problem.ErrorFields());
        Assert.Equal(["This field appears more than once."], problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()));
    }

    /// <summary>Validation messages name the allowed values and print 64-bit bounds as integers.</summary>
    [Theory]
    [InlineData("sockets/2/connect", """{"family":"AF_INET6"}""", "family", "The field family is AF_UNSPEC (or left out).")]
    [InlineData("sockets/2/send", """{"bytes":-5}""", "bytes", "The field bytes must be between 0 and 3274750000000.")]
    [InlineData("sockets/2/send", """{"bytes":3274750000001}""", "bytes", "The field bytes must be between 0 and 3274750000000.")]
    [InlineData("commands", """{"commands":[{"type":"call","call":"send","socketId":2,"bytes":9223372036854775807}]}""", "commands[0].bytes",
        "9,223,372,036,854,775,807 bytes cannot be delivered within a scenario's event budget of 50,000,000 events: at most 3,274,750,000,000 bytes (each segment is at least one event and carries at most 65,495 bytes)")]
    [InlineData("sockets/2/shutdown", """{"how":"SHUT_NONE"}""", "how", "The field how is one of SHUT_RD, SHUT_WR, SHUT_RDWR.")]
    [InlineData("workloads", """{"clients":["client"],"server":"server","requestBytes":-1}""", "requestBytes", "The field requestBytes must be 0 or more.")]
    [InlineData("workloads", """{"clients":["client"],"server":"server","responseBytes":-1}""", "responseBytes", "The field responseBytes must be 0 or more.")]
    public async Task Validation_Messages_NameTheAllowedValuesExactly(string path, string body, string field, string message)
    {
        var sim = await ConnectedAsync();

        var problem = await (await sim.PostAsync(path, body)).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal([message], problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()));
    }

    /// <summary>
    /// A send takes what a scenario's send takes (<see cref="Domain.Scenarios.ScenarioRunOptions.MaxSendBytes"/>), so the
    /// simulation still exports: a send of 2^63 - 1 bytes was taken and the export then answered 409 with no errors.
    /// </summary>
    [Fact]
    public async Task Send_OfTheMostAScenarioSends_IsTakenAndTheSimulationExports()
    {
        var sim = await ConnectedAsync();
        await sim.PostOkAsync("sockets/2/send", $$"""{"bytes":{{Domain.Scenarios.ScenarioRunOptions.MaxSendBytes}}}""");

        var export = await sim.Client.GetAsync($"{sim.Base}/export");

        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Contains("3274750000000", await export.Content.ReadAsStringAsync());
    }

    /// <summary>A simulation the scenario format cannot express: the 409 names what is at fault in errors (it had none).</summary>
    [Fact]
    public async Task Export_Refused_409ErrorsNameTheCommandOrTheWhole()
    {
        var sim = await ConnectedAsync();
        await sim.PostOkAsync("advance", """{"byNs":"1s","eventBudget":1}""");

        var problem = await (await sim.Client.GetAsync($"{sim.Base}/export")).ReadProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal(ProblemTypes.NotExportable, problem.GetProperty("type").GetString());
        // Since session 38 (tester37b LOW-5) the refusal names the command that stopped on its budget, the advance.
        Assert.Equal(["commandSeq"], problem.ErrorFields());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Equal(detail, problem.GetProperty("errors").GetProperty("commandSeq")[0].GetString());
        Assert.Contains("(advance) stopped on its event budget (1 events)", detail, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Number, problem.GetProperty("commandSeq").ValueKind);
    }

    /// <summary>
    /// An untilIdle that stops because the next event lies past its horizon (now + maxNs, default 1 h) says so: it stopped at
    /// 134.112 s with idle and truncated false and no reason (connect() had timed out; the SYN's copies were still in flight).
    /// </summary>
    [Fact]
    public async Task AdvanceUntilIdle_NextEventPastTheHorizon_SaysHorizonAndWhenTheNextIsDue()
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(DatabaseProvider.Sqlite), "far");
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1" }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "server", address = "10.0.0.2" }, HttpStatusCode.Created);
        await sim.PostOkAsync("links", new { between = new[] { "client", "server" }, delayNs = "100000h" }, HttpStatusCode.Created);
        await sim.OnHostAsync("client", "connect", new { to = "server:80" });

        var advance = await sim.PostOkAsync("advance", new { untilIdle = true });

        Assert.False(advance.GetProperty("idle").GetBoolean());
        Assert.False(advance.GetProperty("truncated").GetBoolean());
        Assert.Equal("horizon", advance.GetProperty("stoppedBy").GetString());
        Assert.Equal(360_000_000_000_000_000, advance.GetProperty("nextEventNs").GetInt64());
        // The clock stands at the last event processed: connect()'s ETIMEDOUT at 134.112 s, after the SYN's retransmissions
        // (tcp_syn_linear_timeouts 4 then backoff, tcp_syn_retries 6: tcp_write_timeout()); the first SYN arrives at 100,000 h.
        Assert.Equal(134_112_000_000, advance.GetProperty("nowNs").GetInt64());
    }

    /// <summary>
    /// A problem quotes at most 64 characters of a value or member name sent, then "…" (ProblemText): a 4,000,000-digit seed,
    /// a 3 MB address and a 3 MB unknown member (the errors key) made problems as large as the body; a value with spaces is
    /// cut at 2,048 characters.
    /// </summary>
    [Theory]
    [InlineData("seed")]
    [InlineData("address")]
    [InlineData("member")]
    [InlineData("spaces")]
    public async Task LongValueOrMemberName_ProblemQuotesItsFirst64Characters(string what)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(DatabaseProvider.Sqlite), "long");
        string ones = new('1', 1_000_000), first64 = new('1', 64), spaced = string.Join(' ', Enumerable.Repeat("x", 500_000));
        var (path, body, field, message) = what switch
        {
            "seed" => (SimServiceApi.Simulations, $$"""{"seed":{{ones}}}""", "seed", $"{first64}… is outside 0..9223372036854775807"),
            "address" => ($"{sim.Base}/hosts", $$"""{"name":"e","address":"{{ones}}"}""", "address", $"'{first64}…' is not an IPv4 address"),
            "member" => (SimServiceApi.Simulations, $$"""{"name":"x","{{ones}}":1}""", $"{first64}…", "This field is not part of the request."),
            _ => ($"{sim.Base}/workloads", $$"""{"clients":["client"],"server":"server","count":1,"closeStyle":"{{spaced}}"}""", "closeStyle", null as string),
        };

        using var response = await sim.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(text.Length < 3_000, $"{text.Length} characters");
        var messages = JsonDocument.Parse(text).RootElement.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()!).ToList();
        if (message is not null) Assert.Equal([message], messages);
        else Assert.Equal((2_049, "'x x x", "…"), (messages[0].Length, messages[0][..6], messages[0][^1..]));
    }
}
