extern alias cli;
using System.Net.Http.Json;
using System.Text.Json;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>The tool against a real API process on a loopback port: the same results as in process, and export.</summary>
[Collection(ServerCollection.Name)]
public sealed class ServerModeTests(ApiServer server)
{
    [Fact]
    public async Task EveryRepositoryScenarioScriptAndFixture_RunInProcessAndOnServer_GiveIdenticalResults()
    {
        var local = Tool.TempFile("in-process.json");
        var remote = Tool.TempFile("server.json");
        string[] paths = ["scenarios", "packetdrill", "tests/Cli.Tests/Fixtures"];

        var inProcess = await Tool.RunAsync(["run", "--in-process", .. paths, "--json", local]);
        var onServer = await Tool.RunAsync(["run", "--server", server.Url, .. paths, "--json", remote]);

        Assert.Equal(2, inProcess.ExitCode);
        Assert.Equal(inProcess.ExitCode, onServer.ExitCode);
        var expected = Comparable(local);
        Assert.True(expected.Count > 45, $"only {expected.Count} files ran");
        Assert.Equal(expected, Comparable(remote));
    }

    /// <summary>A duplicated key: the server names its path as the in-process reader does (it said "$: must be a JSON object").</summary>
    [Fact]
    public async Task DuplicateKey_RunInProcessAndOnServer_GiveTheSameErrorAtItsPath()
    {
        var file = Tool.TempFile("dupkey.json");
        await File.WriteAllTextAsync(file, """{"name":"t","hosts":{"a":{"address":"10.0.0.1","address":"10.0.0.2"}},"steps":[{"host":"a","call":"socket","as":"x"}]}""");
        var local = Tool.TempFile("dup-in-process.json");
        var remote = Tool.TempFile("dup-server.json");

        var inProcess = await Tool.RunAsync(["run", "--in-process", file, "--json", local]);
        var onServer = await Tool.RunAsync(["run", "--server", server.Url, file, "--json", remote]);

        Assert.Equal(inProcess.ExitCode, onServer.ExitCode);
        Assert.All(new[] { inProcess, onServer }, run => Assert.Contains("$.hosts.a.address: duplicate key \"address\"", run.Output + run.Error));
    }

    [Fact]
    public async Task FailedAndPassedFiles_RunWithPcapAndDiagramInProcessAndOnServer_SaveTheSameArtefactsForTheFailedOneOnly()
    {
        var local = Tool.TempFolder();
        var remote = Tool.TempFolder();
        string[] files = ["tests/Cli.Tests/Fixtures/mixed/failing-checks.json", "tests/Cli.Tests/Fixtures/mixed/passing.json"];

        var inProcess = await Tool.RunAsync(["run", .. files, "--pcap", Path.Combine(local, "pcap"), "--diagram", Path.Combine(local, "svg")]);
        var onServer = await Tool.RunAsync(["run", "--server", server.Url, .. files, "--pcap", Path.Combine(remote, "pcap"), "--diagram", Path.Combine(remote, "svg")]);

        Assert.Equal((1, 1), (inProcess.ExitCode, onServer.ExitCode));
        const string stem = "tests_Cli.Tests_Fixtures_mixed_failing-checks";
        Assert.Equal([$"{stem}.pcapng"], Directory.GetFiles(Path.Combine(local, "pcap")).Select(Path.GetFileName));
        Assert.Equal([$"{stem}.svg"], Directory.GetFiles(Path.Combine(local, "svg")).Select(Path.GetFileName));
        var pcap = File.ReadAllBytes(Path.Combine(local, "pcap", $"{stem}.pcapng"));
        Assert.Equal([0x0A, 0x0D, 0x0D, 0x0A], pcap[..4]);
        Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(local, "svg", $"{stem}.svg")));
        Assert.Equal(pcap, File.ReadAllBytes(Path.Combine(remote, "pcap", $"{stem}.pcapng")));
        Assert.Equal(File.ReadAllText(Path.Combine(local, "svg", $"{stem}.svg")), File.ReadAllText(Path.Combine(remote, "svg", $"{stem}.svg")));
        Assert.Contains($"         saved pcap: {Path.Combine(local, "pcap", $"{stem}.pcapng")}", inProcess.OutputLines);
    }

    [Fact]
    public async Task SimulationWithAConnection_Export_SavesAScenarioThatRunsAndPasses()
    {
        var created = await server.Client.PostAsJsonAsync("api/v1/simulations", new { name = "cli export", profile = "linux-6", seed = 5 });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var setup = await server.Client.PostAsJsonAsync($"api/v1/simulations/{id}/commands", new
        {
            commands = new object[]
            {
                new { type = "add-host", name = "client", address = "10.0.0.1" },
                new { type = "add-host", name = "server", address = "10.0.0.2" },
                new { type = "add-link", between = new[] { "client", "server" }, delayNs = 10_000_000 },
            },
        });
        setup.EnsureSuccessStatusCode();
        (await server.Client.PostAsJsonAsync($"api/v1/simulations/{id}/connections", new { client = "client", server = "server", port = 80 }))
            .EnsureSuccessStatusCode();
        // --output's file is made in a folder that exists, as every output option's; a path through a file is exit 3, one line.
        var file = Path.Combine(Tool.TempFolder(), "exported.json");
        var notAFolder = Tool.TempFile("a-file");
        File.WriteAllText(notAFolder, "");

        var export = await Tool.RunAsync("export", "--server", server.Url, "--output", file, id);
        var run = await Tool.RunAsync("run", file);
        var refused = await Tool.RunAsync("export", "--server", server.Url, "--output", Path.Combine(notAFolder, "x.json"), id);

        Assert.Equal((0, $"saved simulation {id} as {file}\n"), (export.ExitCode, export.Output));
        Assert.Contains("\"name\": \"cli-export\"", File.ReadAllText(file));
        Assert.Equal(0, run.ExitCode);
        Assert.Equal((3, $"simservice: export: --output {notAFolder}/x.json: Not a directory\n"), (refused.ExitCode, refused.Error));
    }

    /// <summary>
    /// export --output follows new's rule: an existing file is replaced only with --force (it was replaced silently), and
    /// "-" is standard output (it made a file named "-").
    /// </summary>
    [Fact]
    public async Task ExportOutput_ExistingFileNeedsForce_DashIsStandardOutput()
    {
        var created = await server.Client.PostAsJsonAsync("api/v1/simulations", new { name = "cli export force", profile = "linux-6", seed = 5 });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await server.Client.PostAsJsonAsync($"api/v1/simulations/{id}/hosts", new { name = "a", address = "10.0.0.1" });
        var folder = Tool.TempFolder();
        var file = Path.Combine(folder, "kept.json");
        File.WriteAllText(file, "kept");

        var refused = await Tool.RunAsync("export", "--server", server.Url, "--output", file, id);
        var kept = File.ReadAllText(file);
        var forced = await Tool.RunAsync("export", "--server", server.Url, "--output", file, "--force", id);
        var dash = await Tool.RunInAsync(folder, "export", "--server", server.Url, "--output", "-", id);

        Assert.Equal((2, $"simservice: export: {file} exists (--force replaces it)\n", "kept"), (refused.ExitCode, refused.Error, kept));
        Assert.Equal((0, $"saved simulation {id} as {file}\n"), (forced.ExitCode, forced.Output));
        Assert.Contains("\"name\": \"cli-export-force\"", File.ReadAllText(file));
        Assert.Equal((0, File.ReadAllText(file)), (dash.ExitCode, dash.Output));
        Assert.False(File.Exists(Path.Combine(folder, "-")));
    }

    [Fact]
    public async Task UnknownSimulation_Export_ExitsTwoWithTheServersReason()
    {
        var id = "01a20b44-0000-7000-8000-000000000000";

        var export = await Tool.RunAsync("export", "--server", server.Url, id);

        Assert.Equal(2, export.ExitCode);
        Assert.Equal([$"simservice: simulation {id} was not exported: 404 There is no simulation with id '{id}'."], export.ErrorLines);
    }

    /// <summary>Each file's outcome, checks, problems (sorted: the server groups them by path), end time and journal size.</summary>
    private static List<string> Comparable(string report)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(report));
        return [.. document.RootElement.GetProperty("files").EnumerateArray().Select(f => string.Join("\n",
            f.GetProperty("file").GetString(), f.GetProperty("outcome").GetString(), f.GetProperty("nowNs").ToString(),
            f.GetProperty("journalEvents").ToString(), f.GetProperty("checks").GetRawText(),
            string.Join("|", f.GetProperty("problems").EnumerateArray().Select(p => p.GetRawText()).Order(StringComparer.Ordinal))))];
    }
    /// <summary>
    /// On a server a passed file's simulation is deleted after its run (three runs of packetdrill/ filled the 1,000
    /// simulations quota); a failed one's stays, and --keep keeps every one.
    /// </summary>
    [Fact]
    public async Task PassedAndFailedFiles_RunOnServer_ThePassedSimulationIsDeletedUnlessKeep()
    {
        string[] files = ["tests/Cli.Tests/Fixtures/mixed/failing-checks.json", "tests/Cli.Tests/Fixtures/mixed/passing.json"];
        int before = await SimulationCountAsync();

        var cleaned = await Tool.RunAsync(["run", "--server", server.Url, .. files]);
        int afterCleaned = await SimulationCountAsync();
        var kept = await Tool.RunAsync(["run", "--server", server.Url, "--keep", .. files]);
        int afterKept = await SimulationCountAsync();

        Assert.Equal((1, 1), (cleaned.ExitCode, kept.ExitCode));
        Assert.Equal(before + 1, afterCleaned);
        Assert.Equal(afterCleaned + 2, afterKept);
    }

    /// <summary>
    /// A file the server refuses (here 403, the hosts quota: 2 hosts and 65 generated clients) is that file's run error with the
    /// server's problem: the other files run, the reports are written and the exit code is 1 — it used to stop the whole
    /// batch with exit 2, later files never run and no report written. In process the same file passes once --max-hosts raises the
    /// tool's bound, the same default (RunTests.PastTheDefaultHostsQuota_Run_RefusedAtTheFieldUnlessRaised).
    /// </summary>
    [Fact]
    public async Task FileOverTheHostsQuota_RunOnServer_IsThatFilesErrorTheOthersRunAndTheReportsAreWritten()
    {
        var junit = Tool.TempFile("quota.xml");
        var json = Tool.TempFile("quota.json");
        string[] files = ["tests/Cli.Tests/Runaway/workload-65-generated-clients.json", "tests/Cli.Tests/Fixtures/mixed/passing.json"];

        var run = await Tool.RunAsync(["run", "--server", server.Url, .. files, "--junit", junit, "--json", json]);
        var inProcess = await Tool.RunAsync(["run", "--max-hosts", "67", files[0]]);

        Assert.Equal((1, 0), (run.ExitCode, inProcess.ExitCode));
        Assert.Equal("", run.Error);
        Assert.Equal("FAIL     tests/Cli.Tests/Runaway/workload-65-generated-clients.json  (0 checks passed, 1 run error, no run, <t>)",
            System.Text.RegularExpressions.Regex.Replace(run.OutputLines[0], @", \d+\.\d\d s\)$", ", <t>)"));
        Assert.StartsWith($"         run error $: {server.Url.TrimEnd('/')}/ refused the request (403 Forbidden): The tenant's hosts quota would be exceeded. "
            + "A simulation may have 64 hosts; this request would make 67.", run.OutputLines[1]);
        Assert.StartsWith("PASS     tests/Cli.Tests/Fixtures/mixed/passing.json  (", run.OutputLines[2]);
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(["failed", "passed"], report.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("outcome").GetString()));
        var xml = System.Xml.Linq.XDocument.Load(junit);
        Assert.Equal(["1", "0"], new[] { "errors", "failures" }.Select(a => xml.Root!.Attribute(a)?.Value));
    }

    /// <summary>
    /// A file past the server's request-body limit (4 MiB) is that file's run error with the server's 413, the next file runs
    /// and the exit code is 1: the server answered 413 and closed the connection while the tool was still sending the
    /// body, and the tool stopped the whole batch with exit 2, "cannot reach …: Error while copying content to a stream"
    /// (tester37 MEDIUM-4). The body is now sent after the server's 100 Continue, so its 413 comes first.
    /// </summary>
    [Fact]
    public async Task FilePastTheServersBodyLimit_RunOnServer_IsThatFilesErrorTheNextRuns()
    {
        var big = Tool.TempFile("past-the-body-limit.json");
        const string step = """{"at":"2s","expect":{"sockets":[{"host":"a","count":0}]}}""";
        await File.WriteAllTextAsync(big, $$$"""{"name":"big","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{{{string.Join(",", Enumerable.Repeat(step, 90_000))}}}]}""");

        var run = await Tool.RunAsync(["run", "--server", server.Url, big, "tests/Cli.Tests/Fixtures/mixed/passing.json"]);

        Assert.Equal((1, ""), (run.ExitCode, run.Error));
        Assert.StartsWith("FAIL     ", run.OutputLines[0]);
        Assert.Equal($"         run error $: {server.Url.TrimEnd('/')}/ refused the request (413 Payload Too Large): Content Too Large. "
            + "The request body is larger than the server accepts: at most 4,194,304 bytes (Limits:MaxRequestBodyBytes).", run.OutputLines[1]);
        Assert.StartsWith("PASS     tests/Cli.Tests/Fixtures/mixed/passing.json  (", run.OutputLines[2]);
    }

    /// <summary>
    /// A --server URL with user info (user:password@) is printed with it replaced by ***: in the summary line, the JUnit and
    /// JSON reports, an error about the server, and a --server value that is not a URL (it printed the password in all).
    /// </summary>
    [Fact]
    public async Task ServerUrlWithUserInfo_Run_NeverPrintsTheCredentials()
    {
        var junit = Tool.TempFile("creds.xml");
        var json = Tool.TempFile("creds.json");
        var secret = server.Url.Replace("://", "://ci-user:s3cr%40t@");
        var shown = new Uri(server.Url).AbsoluteUri.Replace("://", "://***@");

        var run = await Tool.RunAsync(["run", "--server", secret, "tests/Cli.Tests/Fixtures/mixed/passing.json", "--junit", junit, "--json", json]);
        var unreachable = await Tool.RunAsync(["run", "--server", "http://ci-user:s3cr%40t@127.0.0.1:9/", "tests/Cli.Tests/Fixtures/mixed/passing.json"]);
        var notUrl = await Tool.RunAsync(["run", "--server", "http://ci-user:s3cr@t@host name/", "tests/Cli.Tests/Fixtures/mixed/passing.json"]);

        Assert.Equal((0, 2, 2), (run.ExitCode, unreachable.ExitCode, notUrl.ExitCode));
        Assert.EndsWith($"(server {shown}", System.Text.RegularExpressions.Regex.Replace(run.OutputLines[^1], @", \d+\.\d\d s\)$", ""));
        Assert.StartsWith("simservice: cannot reach http://***@127.0.0.1:9/: ", unreachable.Error);
        Assert.Equal("simservice: --server: 'http://***@host name/' is not an http:// or https:// URL", notUrl.Error.TrimEnd());
        Assert.All(new[] { run.Output, run.Error, File.ReadAllText(junit), File.ReadAllText(json), unreachable.Error, notUrl.Error },
            text => Assert.DoesNotContain("s3cr", text));
        Assert.Contains(shown, File.ReadAllText(junit));
        Assert.Contains(shown, File.ReadAllText(json));
    }

    /// <summary>A 403 that is not about the key (a quota) prints the server's problem title and detail, not "check --api-key"; a 401 asks for the key.</summary>
    [Fact]
    public void Refusal_QuotaExceededSaysTheServersProblem_UnauthorizedAsksForTheKey()
    {
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(1));
        const string quota = """{"type":"urn:simservice:problem:quota-exceeded","title":"The tenant's simulations quota would be exceeded.","status":403,"detail":"The tenant keeps 1000 simulations already; delete one first."}""";
        const string key = """{"type":"urn:simservice:problem:unauthorized","title":"A valid API key is needed.","status":401}""";

        var forbidden = client.Refusal(System.Net.HttpStatusCode.Forbidden, "Forbidden", quota);
        var unauthorized = client.Refusal(System.Net.HttpStatusCode.Unauthorized, "Unauthorized", key);

        Assert.Equal("http://127.0.0.1:9/ refused the request (403 Forbidden): The tenant's simulations quota would be exceeded. The tenant keeps 1000 simulations already; delete one first.", forbidden);
        Assert.Equal("http://127.0.0.1:9/ refused the request (401 Unauthorized): check --api-key (A valid API key is needed.)", unauthorized);
    }

    /// <summary>
    /// A 429 (or 503) busy with Retry-After means nothing ran: the CLI sends the same request again (the same body) and
    /// takes the answer that follows — a full run on a loaded server used to abort the whole run at the first busy answer.
    /// </summary>
    [Fact]
    public async Task BusyAnswerWithRetryAfter_SameRequestSentAgain_RunTakesTheNextAnswer()
    {
        var handler = new BusyOnce();
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(5), handler);

        var run = await client.RunPacketdrillAsync("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", "x.pkt", CancellationToken.None);

        Assert.True(run.Passed);
        Assert.Equal(2, handler.Bodies.Count);
        Assert.Equal(handler.Bodies[0], handler.Bodies[1]);
        Assert.Equal(["text/plain; charset=utf-8", "text/plain; charset=utf-8"], handler.ContentTypes);
    }

    /// <summary>A request past --timeout names the limit as given (it said "within 0 s" for 0.0000001).</summary>
    [Fact]
    public async Task RequestPastTheTimeout_SaysTheTimeoutAsGiven()
    {
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(0.0000001), new Never());

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.RunScenarioAsync("{}", CancellationToken.None));

        Assert.Equal("http://127.0.0.1:9/ did not answer within 0.0000001 s (--timeout)", e.Message);
    }

    /// <summary>
    /// A 404 says which URL answered it and what --server takes: a URL with a path of its own (…/swagger) is a page, not
    /// the service's base (it said "a SimService server older than this tool?"); at a bare host:port, not a SimService.
    /// </summary>
    [Theory]
    [InlineData("http://localhost:5128/swagger/", "POST http://localhost:5128/swagger/api/v1/scenarios/run answered 404 Not Found: --server takes the service's base URL, such as http://localhost:5128/ (or http://localhost:5128/api/v1), not a page of it")]
    [InlineData("http://localhost:5128/", "POST http://localhost:5128/api/v1/scenarios/run answered 404 Not Found: not a SimService server, or one older than this tool")]
    public async Task NotFound_SaysTheUrlAndTheBaseUrlExpected(string server, string expected)
    {
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri(server), null, TimeSpan.FromSeconds(5), new NotFoundHandler());

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.RunScenarioAsync("{}", CancellationToken.None));

        Assert.Equal(expected, e.Message);
    }

    /// <summary>
    /// A 200 of another program — JSON of another shape, a member of another type — is a foreign server: one line, as for an
    /// answer that is not JSON (it was an unhandled KeyNotFoundException or InvalidOperationException, exit 134: tester36 MEDIUM-3).
    /// </summary>
    [Theory]
    [InlineData("""{"ok":true}""")]
    [InlineData("""{"passed":"yes","checks":[],"errors":[],"simulationId":"x","nowNs":0,"journalEvents":0}""")]
    [InlineData("""{"passed":true,"checks":[{"passed":true}],"errors":[],"simulationId":"x","nowNs":0,"journalEvents":0}""")]
    [InlineData("""[1,2]""")]
    public async Task ForeignOkAnswer_ServerUnavailable_OneLine(string body)
    {
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(5), new Answers(_ => Ok(body)));

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.RunScenarioAsync("{}", CancellationToken.None));

        Assert.Equal("http://127.0.0.1:9/ answered /api/v1/scenarios/run with JSON that is not a run's result: is it a SimService server?", e.Message);
    }

    /// <summary>export saves a scenario document only: a proxy's HTML page or another program's JSON under a 200 was saved as the file (tester36).</summary>
    [Theory]
    [InlineData("<html><body>Sign in</body></html>", "something that is not JSON")]
    [InlineData("""{"ok":true}""", "JSON that is not a scenario document")]
    public async Task ExportOfAForeignOkAnswer_NotSaved(string body, string what)
    {
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(5), new Answers(_ => Ok(body)));

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.ExportAsync("x", CancellationToken.None));

        Assert.Equal($"http://127.0.0.1:9/ answered /api/v1/simulations/x/export with {what}: is it a SimService server?", e.Message);
    }

    /// <summary>An answer past the tool's 64 MiB is not read on: one line (a 150 MB answer was read whole, 1.4 GB of memory: tester36).</summary>
    [Fact]
    public async Task AnswerPastTheLimit_NotReadOn()
    {
        var huge = new HttpResponseMessage(System.Net.HttpStatusCode.OK)
        {
            Content = new StreamContent(new Endless()),
        };
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(30), new Answers(_ => huge));

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.ExportAsync("x", CancellationToken.None));

        Assert.Equal("http://127.0.0.1:9/ answered /api/v1/simulations/x/export with more than 64 MiB (67108864 bytes), the most the tool reads of an answer: is it a SimService server?", e.Message);
    }

    /// <summary>
    /// --timeout bounds the whole answer, its body too: a server that sends its headers and then nothing held the tool
    /// without end once the body was read as a stream (review36 M-1).
    /// </summary>
    [Fact]
    public async Task BodyThatNeverEnds_StopsAtTheTimeout()
    {
        var trickle = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StreamContent(new Silent()) };
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(0.2), new Answers(_ => trickle));

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.ExportAsync("x", CancellationToken.None));

        Assert.Equal("http://127.0.0.1:9/ did not answer within 0.2 s (--timeout)", e.Message);
    }

    /// <summary>A body that sends nothing until it is cancelled.</summary>
    private sealed class Silent : ReadOnlyBody
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// A busy answer whose Retry-After is longer than --timeout is not waited for: the answer stands, one line (3,600 s was
    /// waited six times over without a word, 9,999,999 s crashed Task.Delay: tester36 MEDIUM-4); a date form is read too. The
    /// notice says why it is not sent again, as for a Retry-After that names no time (tester37 LOW-4: not a word was said).
    /// </summary>
    [Theory]
    [InlineData("3600", "its Retry-After of 3600 s is longer than --timeout (5 s)")]
    [InlineData("9999999", "its Retry-After of 9999999 s is longer than --timeout (5 s)")]
    [InlineData("Fri, 31 Dec 9999 23:59:59 GMT", "its Retry-After of ")]
    [InlineData("abc", "its Retry-After 'abc' names no time")]
    public async Task BusyWithAWaitPastTheTimeout_AnswerStands(string retryAfter, string why)
    {
        var handler = new Answers(_ =>
        {
            var busy = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests)
            {
                Content = new StringContent("""{"type":"urn:simservice:problem:busy","status":429,"detail":"Busy."}"""),
            };
            busy.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
            return busy;
        });
        var notices = new StringWriter();
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(5), handler) { Notices = notices };

        var e = await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.RunScenarioAsync("{}", CancellationToken.None));

        Assert.Equal(("http://127.0.0.1:9/ answered POST /api/v1/scenarios/run with 429: Busy.", 1), (e.Message, handler.Requests));
        Assert.StartsWith("simservice: http://127.0.0.1:9/ is busy (429); POST /api/v1/scenarios/run not sent again: " + why, notices.ToString());
    }

    /// <summary>
    /// A Retry-After date names a whole second: the wait to it is rounded up to one (tester37b LOW-9: a date an hour ahead
    /// was "its Retry-After of 3599.2871 s", a date 5 s ahead waited 4.3 s when the server meant 5), a date past is none,
    /// and the seconds form is taken as it is.
    /// </summary>
    [Fact]
    public async Task RetryAfterDate_WaitRoundedUpToItsWholeSecond()
    {
        var date = new System.Net.Http.Headers.RetryConditionHeaderValue(DateTimeOffset.Parse("2026-12-07T17:00:05Z", System.Globalization.CultureInfo.InvariantCulture));
        var at = (string t) => DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture);
        var handler = new Answers(_ =>
        {
            var busy = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests) { Content = new StringContent("""{"status":429,"detail":"Busy."}""") };
            busy.Headers.TryAddWithoutValidation("Retry-After", DateTimeOffset.UtcNow.AddHours(1).ToString("r", System.Globalization.CultureInfo.InvariantCulture));
            return busy;
        });
        var notices = new StringWriter();
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(5), handler) { Notices = notices };

        await Assert.ThrowsAsync<cli::SimService.Cli.Running.ServerUnavailableException>(() => client.RunScenarioAsync("{}", CancellationToken.None));

        Assert.Equal(
            [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromSeconds(7)],
            new[]
            {
                cli::SimService.Cli.Running.SimServiceClient.RetryWait(date, at("2026-12-07T17:00:00.3Z")),
                cli::SimService.Cli.Running.SimServiceClient.RetryWait(date, at("2026-12-07T17:00:00.7Z")),
                cli::SimService.Cli.Running.SimServiceClient.RetryWait(date, at("2026-12-07T17:00:04.999Z")),
                cli::SimService.Cli.Running.SimServiceClient.RetryWait(date, at("2026-12-07T17:00:06Z")),
                cli::SimService.Cli.Running.SimServiceClient.RetryWait(new(TimeSpan.FromSeconds(7)), at("2026-12-07T17:00:06Z")),
            });
        Assert.EndsWith("not sent again: its Retry-After of 3600 s is longer than --timeout (5 s)\n", notices.ToString());
    }

    /// <summary>A wait the tool does take is said on its standard error (it waited without a word).</summary>
    [Fact]
    public async Task BusyWait_Said()
    {
        var notices = new StringWriter();
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri("http://127.0.0.1:9/"), null, TimeSpan.FromSeconds(5), new BusyOnce()) { Notices = notices };

        var run = await client.RunScenarioAsync("{}", CancellationToken.None);

        Assert.Equal((true, "simservice: http://127.0.0.1:9/ is busy (429); sending POST /api/v1/scenarios/run again in 0 s (Retry-After; 1 of 6)\n"), (run.Passed, notices.ToString()));
    }

    private static HttpResponseMessage Ok(string body) => new(System.Net.HttpStatusCode.OK) { Content = new StringContent(body) };

    /// <summary>Answers every request with what <c>answer</c> makes, counting them.</summary>
    private sealed class Answers(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public int Requests { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            return Task.FromResult(answer(request));
        }
    }

    /// <summary>A response body to read from, once, forward.</summary>
    private abstract class ReadOnlyBody : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A body that never ends: spaces.</summary>
    private sealed class Endless : ReadOnlyBody
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)' ', offset, count);
            return count;
        }

    }

    private sealed class NotFoundHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.NotFound) { RequestMessage = request });
    }

    private sealed class Never : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException();
        }
    }

    /// <summary>README's <c>$B</c> (the API's base, …/api/v1) given as --server is taken for the server root before it.</summary>
    [Theory]
    [InlineData("http://127.0.0.1:9/api/v1/", "http://127.0.0.1:9/api/v1/packetdrill/run?name=x.pkt")]
    [InlineData("http://127.0.0.1:9/api/v1", "http://127.0.0.1:9/api/v1/packetdrill/run?name=x.pkt")]
    [InlineData("http://127.0.0.1:9/sim/api/v1/", "http://127.0.0.1:9/sim/api/v1/packetdrill/run?name=x.pkt")]
    [InlineData("http://127.0.0.1:9/", "http://127.0.0.1:9/api/v1/packetdrill/run?name=x.pkt")]
    public async Task ServerUrlEndingInApiV1_TakenForTheRoot_RequestsGoToTheApiOnce(string server, string expected)
    {
        var handler = new BusyOnce();
        using var client = new cli::SimService.Cli.Running.SimServiceClient(new Uri(server), null, TimeSpan.FromSeconds(5), handler);

        var run = await client.RunPacketdrillAsync("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", "x.pkt", CancellationToken.None);

        Assert.True(run.Passed);
        Assert.Equal(expected, handler.Uris[0]);
    }

    private sealed class BusyOnce : HttpMessageHandler
    {
        public List<string> Bodies { get; } = [];
        public List<string?> ContentTypes { get; } = [];
        public List<string> Uris { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Uris.Add(request.RequestUri!.ToString());
            Bodies.Add(await request.Content!.ReadAsStringAsync(cancellationToken));
            ContentTypes.Add(request.Content.Headers.ContentType?.ToString());
            if (Bodies.Count == 1)
            {
                var busy = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests)
                {
                    Content = new StringContent("""{"type":"urn:simservice:problem:busy","status":429}"""),
                };
                busy.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.Zero);
                return busy;
            }
            return new HttpResponseMessage(System.Net.HttpStatusCode.OK)
            {
                Content = new StringContent("""{"passed":true,"checks":[],"errors":[],"simulationId":"x","nowNs":0,"journalEvents":0}"""),
            };
        }
    }

    private async Task<int> SimulationCountAsync()
    {
        var list = await server.Client.GetFromJsonAsync<JsonElement>("api/v1/simulations?limit=1000");
        return list.GetProperty("items").GetArrayLength();
    }
}
