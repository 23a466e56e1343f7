using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SimService.Api.Features.Packetdrill;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Packetdrill;
using SimService.Persistence;

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

    /// <summary>A listener accepts a connection from the scripted peer (MSS 1000): descriptor 4.</summary>
    const string Accepted = """
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
        +0 bind(3, ..., ...) = 0
        +0 listen(3, 1) = 0
        +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
        +0 > S. 0:0(0) ack 1 <...>
        +.1 < . 1:1(0) ack 1 win 257
        +0 accept(3, ..., ...) = 4

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

    /// <summary>
    /// tester41 MEDIUM-4: a linux-4.4 script that leaves what the engine models (tcp_mtu_probing 2, D161) answers as a
    /// scenario does — passed false, a run error at the script line that was running (the handshake's ACK, line 8),
    /// <c>leftModel</c> in the answer — where it answered passed true, no error, no leftModel.
    /// </summary>
    [Fact]
    public async Task Linux44ScriptThatLeavesTheModel_Runs_FailsWithARunErrorAtItsLineAndSaysWhere()
    {
        var run = await Run(hosts.Client(DatabaseProvider.Sqlite), "`sysctl -q net.ipv4.tcp_mtu_probing=2`\n" + Accepted, "?profile=linux-4.4");

        Assert.False(run.Passed);
        Assert.Null(run.Failure);
        Assert.Empty(run.Checks);
        var error = Assert.Single(run.Errors);
        Assert.Equal("line 8", error.Path);
        Assert.Equal(("D161", 100_000_000L, "local"), (run.LeftModel?.Row, run.LeftModel?.AtNs, run.LeftModel?.Host));
        Assert.Equal(run.LeftModel!.Message, error.Message);
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

    /// <summary>An absolute time going backward stops packetdrill (run.c, get_next_event()): a 400 at its line, nothing run. It passed.</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task TimeGoingBackward_Refused_400AtItsLine(DatabaseProvider provider)
    {
        var response = await PostScript(hosts.Client(provider), "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n0.100 bind(3, ..., ...) = 0\n0.050 close(3) = 0\n");

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.InvalidScript, problem.GetProperty("type").GetString());
        Assert.Equal(["line 3, column 1"], problem.ErrorFields());
        Assert.Equal("time goes backward in script from 100000 usec to 50000 usec",
            problem.GetProperty("errors").GetProperty("line 3, column 1")[0].GetString());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task UnsupportedScript_Refused_400KeyedByLineAndColumn(DatabaseProvider provider)
    {
        var response = await PostScript(hosts.Client(provider), "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 epoll_create(1) = 4\n+0 < S 0:0(0) <...>\n");
        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.InvalidScript, problem.GetProperty("type").GetString());
        Assert.Equal(["line 3, column 15"], problem.ErrorFields());
    }

    /// <summary>
    /// A 12 KB script nesting 6,000 braces overflowed the parser's stack and ended the service process (2026-12-06):
    /// now values nest at most <see cref="SimService.Domain.Packetdrill.ScriptParser.MaxNesting"/> levels, and the
    /// first brace past it is the problem; nothing is run or kept, and the service goes on answering.
    /// </summary>
    [Fact]
    public async Task DeeplyNestedScript_Refused_400AtTheFirstBracePastTheLimit_TheServiceGoesOn()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var count = (await client.ListSimulationsAsync()).Count;
        var script = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_LINGER, "
            + new string('{', 6000) + new string('}', 6000) + ", 8) = 0\n";

        var problem = await (await PostScript(client, script)).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(ProblemTypes.InvalidScript, problem.GetProperty("type").GetString());
        // "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, " is 40 characters: the 65th brace is column 105
        Assert.Equal(["line 2, column 105"], problem.ErrorFields());
        Assert.Equal("a value nested deeper than 64 levels ({ }, [ ], ( ) and each | or = count one)",
            problem.GetProperty("errors").GetProperty("line 2, column 105")[0].GetString());
        Assert.Equal(count, (await client.ListSimulationsAsync()).Count);
        Assert.True((await Run(client, ListenerRst)).Passed);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
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
    [InlineData("?name=%E2%80%AEgnp.pkt", "name")]
    [InlineData("?name=", "name")]
    [InlineData("?name=%20%20", "name")]
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

    /// <summary>The parameter's message is the API's, naming it as the query does (it was packetdrill's command line: "--mss: bad value '0'").</summary>
    [Fact]
    public async Task MssZero_MessageNamesTheQueryParameter()
    {
        var problem = await (await PostScript(hosts.Client(DatabaseProvider.Sqlite), ListenerRst, "?mss=0&ip_version=ipv6")).ReadProblemAsync(HttpStatusCode.BadRequest);

        var errors = problem.GetProperty("errors");
        Assert.Equal("mss is packetdrill's --mss: a segment size from 1 to 65535, not '0'.", errors.GetProperty("mss")[0].GetString());
        Assert.Equal("ip_version is packetdrill's --ip_version: only ipv4 runs here, not 'ipv6'.", errors.GetProperty("ip_version")[0].GetString());
    }

    /// <summary>
    /// tolerance_usecs takes what a script's --tolerance_usecs line takes, an int (tester38 LOW-12: 2147483648 up to a
    /// long's most ran, where the script's option refused them); a negative one is refused by the same rule, in its words.
    /// </summary>
    [Theory]
    [InlineData("2147483648")]
    [InlineData("99999999999")]
    [InlineData("-1")]
    public async Task ToleranceOutsideAnInt_RefusedAsTheScriptsOptionIs(string tolerance)
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var count = (await client.ListSimulationsAsync()).Count;

        var problem = await (await PostScript(client, ListenerRst, $"?tolerance_usecs={tolerance}")).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal($"tolerance_usecs is packetdrill's --tolerance_usecs: a number of microseconds from 0 to 2147483647 (an int, as packetdrill's), not '{tolerance}'.",
            Assert.Single(problem.GetProperty("errors").GetProperty("tolerance_usecs").EnumerateArray()).GetString());
        Assert.Equal(count, (await client.ListSimulationsAsync()).Count);
    }

    /// <summary>
    /// The script is read as UTF-8, as JSON bodies are: bytes that are not UTF-8 are a 400 naming the body and the byte (a
    /// body starting FF FE was guessed to be UTF-16 and answered "found '戀摡'"), a charset other than UTF-8 is a 415, and a
    /// UTF-8 byte order mark is skipped. Nothing is run or stored for a refused body.
    /// </summary>
    [Fact]
    public async Task BodyNotUtf8_Refused400NamingTheScript_OtherCharset415_Utf8BomRuns()
    {
        var client = hosts.Client(DatabaseProvider.Sqlite);
        var count = (await client.ListSimulationsAsync()).Count;

        var notUtf8 = new ByteArrayContent([0xFF, 0xFE, 0x00, (byte)'b', (byte)'a', (byte)'d']);
        notUtf8.Headers.ContentType = new("text/plain");
        var problem = await (await client.PostAsync("/api/v1/packetdrill/run", notUtf8)).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(ProblemTypes.Validation, problem.GetProperty("type").GetString());
        Assert.Equal("The body is not UTF-8 text: byte 0 (0xFF) begins no UTF-8 character. Send it in UTF-8 (a byte order mark EF BB BF may lead).",
            problem.GetProperty("errors").GetProperty("script")[0].GetString());

        var latin1 = new StringContent(ListenerRst, Encoding.Latin1, "text/plain");
        var unsupported = await (await client.PostAsync("/api/v1/packetdrill/run", latin1)).ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(ProblemTypes.UnsupportedMediaType, unsupported.GetProperty("type").GetString());
        Assert.Equal(["Content-Type"], unsupported.ErrorFields());
        Assert.Equal(count, (await client.ListSimulationsAsync()).Count);

        var withBom = new ByteArrayContent([.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(ListenerRst)]);
        withBom.Headers.ContentType = new("text/plain") { CharSet = "utf-8" };
        var response = await client.PostAsync("/api/v1/packetdrill/run", withBom);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(JsonSerializer.Deserialize<PacketdrillRunResponse>(await response.Content.ReadAsStringAsync(), JsonSerializerOptions.Web)!.Passed);
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

    /// <summary>
    /// A script whose log would add more journal events than one request may (Limits:JournalEventsPerRequest) is refused
    /// whole: 422 work-limit, nothing stored. It was a 200 "passed" whose stored log was cut at the limit (no close), while
    /// the cached engine had run the whole script; a restart then showed another simulation. A script under the limit is
    /// stored whole, and a new process on the same database rebuilds exactly what the run answered.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task ScriptPastTheJournalLimit_IsRefusedWhole_AndOneUnderItIsStoredWhole(DatabaseProvider provider)
    {
        const int limit = 60;
        await using var database = TestDatabase.Create(provider);
        var settings = new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = $"{limit}" };
        static string AcksThenClose(int acks) => Accepted + string.Concat(Enumerable.Repeat("+0 < . 1:1(0) ack 1 win 257\n", acks)) + "+0 close(4) = 0\n+0 > F. 1:1(0) ack 1\n";
        PacketdrillRunResponse fits;
        (string Ss, IReadOnlyList<string> Journal, long Version) before;
        await using (var first = new SimServiceFactory(database, settings: settings))
        {
            var client = first.CreateClient();
            var refused = await PostScript(client, AcksThenClose(100));
            var problem = await refused.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
            Assert.Equal(ProblemTypes.WorkLimit, problem.GetProperty("type").GetString());
            Assert.Equal(["$"], problem.ErrorFields());
            Assert.Equal($"The script would add more than {limit} journal events; nothing was stored: the journal limit stopped the run "
            + "at 100ms. Run a shorter script, "
            + "or run it in process with the command-line tool (simservice run FILE), which stores no journal (an export of a "
            + "simulation built by many requests can be this large).",
                problem.GetProperty("detail").GetString());
            await using (var scope = first.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
                Assert.Equal((0, 0, 0), (await db.Simulations.IgnoreQueryFilters().CountAsync(), await db.Commands.CountAsync(), await db.Events.CountAsync()));
            }

            fits = await Run(client, AcksThenClose(2));
            Assert.True(fits.Passed, fits.Output);
            Assert.InRange(fits.JournalEvents, 1, limit - 1);
            var sim = new SimulationDriver(client, fits.SimulationId);
            before = (await sim.GetTextAsync("hosts/local/ss"), await sim.JournalAsync(), await sim.VersionAsync());
            Assert.Contains("FIN-WAIT-1", before.Ss);
            Assert.Equal(fits.JournalEvents, before.Journal.Count);
        }

        await using var second = new SimServiceFactory(database, settings: settings);
        var again = new SimulationDriver(second.CreateClient(), fits.SimulationId);
        Assert.Equal(before.Ss, await again.GetTextAsync("hosts/local/ss"));
        Assert.Equal(before.Journal, await again.JournalAsync());
        Assert.Equal(before.Version, await again.VersionAsync());
        Assert.Equal(fits.NowNs, (await again.ClockAsync()).NowNs);
    }

    /// <summary>
    /// A script whose last wait crosses the journal limit is refused whole as well: 422 work-limit naming the advance the
    /// limit stopped, nothing stored. The replay's advance stopped between events at the limit (truncated, as a single
    /// advance request is), and with no command after it to be refused the run was stored cut short — the retransmission
    /// the script waited for missing from its journal — and answered 200 "passed", as if it had run whole.
    /// </summary>
    [Fact]
    public async Task ScriptWhoseLastWaitCrossesTheJournalLimit_IsRefusedWhole()
    {
        // The RTO fires at 416 ms: the wait for the retransmission is the script's last command, an advance that processes the
        // timer and then the segment it sends (delivered at the same instant on packetdrill's zero-delay link).
        const string script = Accepted + """
            +0 write(4, ..., 1000) = 1000
            +0 > P. 1:1001(1000) ack 1
            +.316 > P. 1:1001(1000) ack 1

            """;
        // The limit falls inside that last advance: one journal event past what the commands before it journal.
        var whole = PacketdrillRunner.Run(script);
        Assert.True(whole.Passed, whole.Failure?.Message);
        var engine = new Simulation(KernelProfile.Linux6, 1);
        foreach (var command in whole.Commands[..^1]) Assert.True(CommandApplier.Apply(engine, command).IsOk);
        long limit = engine.Sink.Appended + 1;
        var last = Assert.IsType<AdvanceCommand>(whole.Commands[^1]);
        Assert.True(CommandApplier.Apply(engine, last).Advance!.EventsProcessed >= 2, "the last advance must have an event to cut");

        await using var database = TestDatabase.Create(DatabaseProvider.Sqlite);
        await using var host = new SimServiceFactory(database, settings: new Dictionary<string, string?> { ["Limits:JournalEventsPerRequest"] = $"{limit}" });
        var refused = await PostScript(host.CreateClient(), script, "?name=rto.pkt");

        var problem = await refused.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(ProblemTypes.WorkLimit, problem.GetProperty("type").GetString());
        Assert.Equal(["$"], problem.ErrorFields());
        Assert.Equal($"The script would add more than {limit} journal events; nothing was stored: the journal limit stopped the advance "
            + "to 416ms at 416ms, after 1 event. Run a shorter script, or run it in process with the command-line tool (simservice run FILE), "
            + "which stores no journal (an export of a simulation built by many requests can be this large).",
            problem.GetProperty("detail").GetString());
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SimDbContext>();
        Assert.Equal((0, 0, 0), (await db.Simulations.IgnoreQueryFilters().CountAsync(), await db.Commands.CountAsync(), await db.Events.CountAsync()));
    }
}
