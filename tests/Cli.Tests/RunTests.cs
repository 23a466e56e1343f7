extern alias cli;

using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using cli::SimService.Cli.Reports;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary><c>simservice run</c> as CI runs it: a real process, exit codes, the console report and the JUnit and JSON files.</summary>
public sealed class RunTests
{
    [Fact]
    public async Task MixedFolder_Run_ExitsOneAndJUnitCountsThePassAndTheFailure()
    {
        var junit = Tool.TempFile("report.xml");

        var run = await Tool.RunAsync("run", "--in-process", Path.Combine(Tool.Fixtures, "mixed"), "--junit", junit);

        Assert.Equal(1, run.ExitCode);
        var suites = XDocument.Load(junit).Root!;
        Assert.Equal(("2", "1", "0"), (suites.Attribute("tests")!.Value, suites.Attribute("failures")!.Value, suites.Attribute("errors")!.Value));
        var cases = suites.Descendants("testcase").ToList();
        Assert.Equal(2, cases.Count);
        var failed = Assert.Single(cases, c => c.Element("failure") is not null);
        Assert.EndsWith("failing-checks.json", failed.Attribute("name")!.Value);
        Assert.Equal("3 of 10 checks failed", failed.Element("failure")!.Attribute("message")!.Value);
        Assert.Contains("call.result $.steps[3].expect.result at 100ms: expected 99; actual 100", failed.Element("failure")!.Value);
        Assert.Single(cases, c => !c.HasElements);
    }

    [Fact]
    public async Task ControlCharacterInAFileNameOrAScenarioName_Run_EveryReportIsWrittenWithTheCharacterEscaped()
    {
        var folder = Tool.TempFolder();
        File.Copy(Path.Combine(Tool.Fixtures, "mixed", "passing.json"), Path.Combine(folder, "ctl\u0001.json"));
        var named = JsonNode.Parse(File.ReadAllText(Path.Combine(Tool.Fixtures, "mixed", "passing.json")))!;
        named["name"] = "n\u0001x";
        File.WriteAllText(Path.Combine(folder, "named.json"), named.ToJsonString());
        var junit = Tool.TempFile("report.xml");
        var json = Tool.TempFile("report.json");

        var run = await Tool.RunInAsync(folder, "run", "--in-process", ".", "--junit", junit, "--json", json);

        // The invalid name makes the run exit 2 (the file is INVALID); the XML writer refused U+0001, which ended
        // the process with a stack trace (exit 134), a truncated JUnit file and no JSON report.
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain("Unhandled exception", run.Error);
        var cases = XDocument.Load(junit).Root!.Descendants("testcase").ToList();
        Assert.Equal(["./ctl\\u0001.json", "./named.json"], cases.Select(c => c.Attribute("name")!.Value).Order(StringComparer.Ordinal));
        Assert.Contains("\\u0001", cases.Single(c => c.Attribute("name")!.Value == "./named.json").Element("error")!.Value);
        using var results = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(2, results.RootElement.GetProperty("summary").GetProperty("files").GetInt32());
    }

    [Theory]
    [InlineData("plain name.json", "plain name.json")]
    [InlineData("tab\tand\u00e9", "tab\tand\u00e9")]
    [InlineData("a\u0001b\u001fc", "a\\u0001b\\u001Fc")]
    [InlineData("pair \ud83d\ude00 kept", "pair \ud83d\ude00 kept")]
    [InlineData("\ufffe\uffff", "\\uFFFE\\uFFFF")]
    public void Holdable_WritesOnlyWhatXmlCannotHoldAsEscapes(string text, string expected) =>
        Assert.Equal(expected, JUnitReport.Holdable(text));

    [Fact]
    public void Holdable_WritesALoneSurrogateAsAnEscape() =>
        Assert.Equal("lone \\uD800 surrogate", JUnitReport.Holdable("lone " + (char)0xD800 + " surrogate"));

    [Fact]
    public async Task MixedFolder_Run_ConsoleHasALinePerFileAndEachFailedCheck()
    {
        var run = await Tool.RunInAsync(Tool.Fixtures, "run", "mixed");

        // The run drains the queue: its last item is the stale SYN and SYN-ACK timers' expiry, which the
        // timer wheel runs at jiffy 256 (1.024 s): 250 jiffies from jiffy 0 (and 252 from jiffy 2, the
        // SYN-ACK at 11 ms) are level 1, the next multiple of 8 jiffies after expiry (calc_wheel_index()).
        Assert.Equal(
        [
            "FAIL     mixed/failing-checks.json  (3 of 10 checks failed, 1.024s virtual, <t>)",
            "         call.result $.steps[3].expect.result at 100ms: expected 99; actual 100",
            "         call.result $.steps[4].expect.result at 110ms: expected 99; actual 100",
            "         counters $.expect.counters.client[\"TcpExt.TCPAbortOnData\"] at 1.024s: expected TcpExt.TCPAbortOnData=3; actual TcpExt.TCPAbortOnData=1",
            "PASS     mixed/passing.json  (6 checks, 6s virtual, <t>)",
            "2 files: 1 passed, 1 failed, 0 invalid (in-process, <t>)",
        ], run.OutputLines.Select(WithoutWallClock));
        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task RepositoryScenarios_Run_AllPassAndExitZero()
    {
        var json = Tool.TempFile("results.json");

        var run = await Tool.RunAsync("run", "scenarios", "--json", json);

        Assert.Equal(0, run.ExitCode);
        using var results = JsonDocument.Parse(File.ReadAllText(json));
        var summary = results.RootElement.GetProperty("summary");
        Assert.Equal(Directory.GetFiles(Tool.Scenarios, "*.json", SearchOption.AllDirectories).Length, summary.GetProperty("files").GetInt32());
        Assert.Equal(summary.GetProperty("files").GetInt32(), summary.GetProperty("passed").GetInt32());
    }

    [Fact]
    public async Task InvalidFiles_Run_ExitTwoAndJUnitCountsErrorsWithEveryJsonPath()
    {
        var junit = Tool.TempFile("report.xml");

        var run = await Tool.RunInAsync(Tool.Fixtures, "run", "invalid", "mixed/passing.json", "--junit", junit);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("INVALID  invalid/bad-values.json  (2 problems)", run.OutputLines);
        Assert.Contains(run.OutputLines, l => l.StartsWith("         $.steps[5].option: unknown value \"SO_LINGERING\"", StringComparison.Ordinal));
        Assert.Contains(run.OutputLines, l => l.StartsWith("         $.steps[7].at: \"3xx\" is not a step time", StringComparison.Ordinal));
        Assert.Contains(run.OutputLines, l => l.StartsWith("         $: not valid JSON (line 3", StringComparison.Ordinal));
        var suites = XDocument.Load(junit).Root!;
        Assert.Equal(("3", "0", "2"), (suites.Attribute("tests")!.Value, suites.Attribute("failures")!.Value, suites.Attribute("errors")!.Value));
    }

    [Fact]
    public async Task PacketdrillFolder_Run_ProjectScriptsPassAndTheWrongOnesFailOnTheirLine()
    {
        var json = Tool.TempFile("results.json");

        var run = await Tool.RunAsync("run", "packetdrill", "--json", json);

        Assert.Equal(1, run.ExitCode);
        using var results = JsonDocument.Parse(File.ReadAllText(json));
        var files = results.RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(Directory.GetFiles(Path.Combine(Tool.RepoRoot, "packetdrill"), "*.pkt", SearchOption.AllDirectories).Length, files.Count);
        Assert.All(files, f => Assert.Equal(f.GetProperty("file").GetString()!.StartsWith("packetdrill/wrong/", StringComparison.Ordinal) ? "failed" : "passed",
            f.GetProperty("outcome").GetString()));
        Assert.Contains("         packetdrill line 10 at 0s: expected 0.000000 S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>; " +
            "actual 0.000000 S 0:0(0) win 65535 <mss 1460,sackOK,TS val 2336642154 ecr 0,nop,wscale 8>", run.OutputLines);
    }

    /// <summary>
    /// tester41 MEDIUM-4 / LOW-3: a packetdrill script whose every line holds but whose run left what the engine models (a
    /// tcp_mtu_probe() probe above the route's MTU, D161) fails with a run error at the script line that was running (it
    /// passed until session 41), in the console and the JSON report.
    /// </summary>
    [Fact]
    public async Task ScriptThatLeavesTheModel_Run_FailsWithARunErrorAtItsLine()
    {
        var json = Tool.TempFile("results.json");

        var run = await Tool.RunInAsync(Tool.Fixtures, "run", "left-model/probe-above-route-mtu.pkt", "--json", json);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("         run error line 16: the run left what the engine models at 200ms: local 192.168.0.1:8080->192.0.2.1:47000: "
            + "tcp_mtu_probe(): a probe above the route's MTU (EMSGSIZE) (docs/kernel-check.md D161); the kernel's packets may differ from here on",
            run.OutputLines);
        using var results = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("failed", results.RootElement.GetProperty("files")[0].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task UnreadableScript_Run_ExitsTwoWithTheLineAndColumn()
    {
        var run = await Tool.RunInAsync(Tool.Fixtures, "run", "packetdrill/not-a-call.pkt", "mixed/passing.json");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(["INVALID  packetdrill/not-a-call.pkt  (1 problem)", "         line 3, column 1: unsupported: system call frobnicate()"],
            run.OutputLines[..2]);
    }

    [Theory]
    [InlineData("no/such/folder", "simservice: no/such/folder: no such file or folder")]
    [InlineData("README.md", "simservice: README.md: not a file this tool reads (it reads *.json, *.pkt)")]
    [InlineData("src/Cli/Commands", "simservice: src/Cli/Commands: no *.json, *.pkt file in this folder")]
    public async Task BadPath_Run_ExitsTwoWithAOneLineReason(string path, string reason)
    {
        var run = await Tool.RunAsync("run", path);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([reason], run.ErrorLines);
        Assert.Equal("", run.Output);
    }

    [Theory]
    [InlineData("--colour", "simservice: run: unknown option --colour")]
    [InlineData("--junit", "simservice: run: --junit needs a value")]
    [InlineData("--server=ftp://x", "simservice: --server: 'ftp://x' is not an http:// or https:// URL")]
    public async Task BadOption_Run_ExitsTwoWithAOneLineReason(string option, string reason)
    {
        var run = await Tool.RunAsync("run", "scenarios", option);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([reason], run.ErrorLines);
    }

    [Fact]
    public async Task NothingListening_RunAgainstServer_ExitsTwoSayingItCannotReachIt()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var run = await Tool.RunAsync("run", "--server", $"http://127.0.0.1:{port}", "scenarios");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"simservice: cannot reach http://127.0.0.1:{port}/: Connection refused (127.0.0.1:{port})"], run.ErrorLines);
    }

    /// <summary>
    /// A run in process stops at its event budget (default RunCommand.DefaultEventBudget, as an API advance has its
    /// eventBudget) with an error at the step or line it was running: keepalives for a 100-year runUntil ran for
    /// minutes. --event-budget raises it. The runaway scenario lives outside Fixtures/: on a server the same file meets the
    /// request's wall-time limit instead (a 422 that ends the run), so it cannot be one of the files ServerModeTests runs
    /// both ways and compares.
    /// </summary>
    [Fact]
    public async Task RunawayScenario_Run_StopsAtTheEventBudgetNamingTheStep()
    {
        var run = await Tool.RunAsync("run", "--event-budget", "20000", "tests/Cli.Tests/Runaway/keepalive-for-a-century.json");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(["FAIL     tests/Cli.Tests/Runaway/keepalive-for-a-century.json  (0 checks passed, 1 run error, <v> virtual, <t>)",
            "         run error $.runUntil: the event budget of 20000 events was spent at <v>, before 3153600000s: the run stopped there; --event-budget N allows more (at most 50000000)",
            "1 file: 0 passed, 1 failed, 0 invalid (in-process, <t>)"],
            run.OutputLines[..3].Select(l => System.Text.RegularExpressions.Regex.Replace(WithoutWallClock(l), @"\d+(\.\d+)?s\b(?=( virtual|, before))", "<v>")));
    }

    /// <summary>
    /// In process --timeout bounds each file's run in wall time (default 600 s, as a request on a server): a run still going
    /// stops between two events with an error naming the limit and the virtual time it got to (each file has its own).
    /// The budget alone did not bound it: a workload past port exhaustion ran more than 16 minutes within its 2,000,000 events.
    /// </summary>
    [Fact]
    public async Task RunawayScenario_RunWithATimeout_StopsAtTheWallLimitSayingWhere()
    {
        var run = await Tool.RunAsync("run", "--event-budget", "50000000", "--timeout", "1.5", "tests/Cli.Tests/Runaway/keepalive-for-a-century.json");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(["FAIL     tests/Cli.Tests/Runaway/keepalive-for-a-century.json  (0 checks passed, 1 run error, <v> virtual, <t>)",
            "         run error $: the run was stopped after 1.5 s of wall time, at <v> virtual; --timeout SECONDS allows more",
            "1 file: 0 passed, 1 failed, 0 invalid (in-process, <t>)"],
            run.OutputLines.Select(l => System.Text.RegularExpressions.Regex.Replace(WithoutWallClock(l), @"\d+(\.\d+)?s\b(?= virtual)", "<v>")));
    }

    /// <summary>
    /// Interrupted (the token Ctrl-C, SIGTERM and SIGHUP cancel) while a file runs in process: that run stops between two
    /// events and says so, and no later file starts (review37a M-2: every file still ran, each up to --timeout, before the
    /// tool exited 130, which Program gives any interrupted command).
    /// </summary>
    [Fact]
    public async Task InterruptedWhileAFileRuns_InProcess_StopsItAndStartsNoOther()
    {
        var json = Path.Combine(Tool.TempFolder(), "report.json");
        var junit = Path.Combine(Tool.TempFolder(), "report.xml");
        var (line, _) = cli::SimService.Cli.CommandLine.Parse(["--in-process", "--event-budget", "50000000", "--json", json, "--junit", junit,
            Path.Combine(Tool.RepoRoot, "tests/Cli.Tests/Runaway/keepalive-for-a-century.json"), Path.Combine(Tool.Fixtures, "mixed", "passing.json")],
            cli::SimService.Cli.Commands.RunCommand.Options, cli::SimService.Cli.Commands.RunCommand.Flags);
        var (output, error) = (new StringWriter(), new StringWriter());
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        await cli::SimService.Cli.Commands.RunCommand.RunAsync(line!, output, error, interrupt.Token);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The file's own line says STOPPED, its name in the column of the others' (review40c N-2: INTERRUPTED put it 3 to the
        // right), and the summary counts every file given, as --json does (tester40 LOW-2: "FAIL" and "1 file" above "0 failed",
        // where --json said files 2 and outcome "failed").
        Assert.StartsWith("STOPPED  " + Path.Combine(Tool.RepoRoot, "tests/Cli.Tests/Runaway/keepalive-for-a-century.json") + "  (", lines[0]);
        // No virtual time when the interrupt came while the file was still read (the reader stops too: tester41 MEDIUM-2).
        Assert.Matches(@"^         \$: the run was stopped: the tool was interrupted(, at \S+ virtual)?$", lines[1]);
        Assert.StartsWith("2 files: 0 passed, 0 failed, 0 invalid, 1 interrupted, 1 not run (in-process, ", lines[2]);
        Assert.Equal("simservice: interrupted: 1 of 2 files not run\n", error.ToString());
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("""{"files":2,"passed":0,"failed":0,"invalid":0,"interrupted":1,"notRun":1}""",
            System.Text.Json.JsonSerializer.Serialize(report.RootElement.GetProperty("summary").EnumerateObject().Where(p => p.Name != "seconds")
                .ToDictionary(p => p.Name, p => p.Value.GetInt32())));
        var file = report.RootElement.GetProperty("files")[0];
        Assert.Equal("interrupted", file.GetProperty("outcome").GetString());
        Assert.False(file.TryGetProperty("interrupted", out _));
        var suite = System.Xml.Linq.XDocument.Load(junit).Root!.Element("testsuite")!;
        Assert.Equal(["2", "0", "1", "1"], new[] { "tests", "failures", "errors", "skipped" }.Select(a => suite.Attribute(a)!.Value));
        var stopped = suite.Elements("testcase").First().Element("error")!;
        Assert.Equal("interrupted", stopped.Attribute("type")!.Value);
        Assert.Matches(@"^interrupted: the run was stopped: the tool was interrupted(, at \S+ virtual)?$", stopped.Attribute("message")!.Value);
    }

    /// <summary>
    /// Interrupted while a server runs a file (here one that never answers): the file is reported as interrupted, the others
    /// not run, the summary printed and --json written, as in process (tester38 MEDIUM-6: the cancelled request's exception
    /// went past all of them, and only "simservice: interrupted" was said). The file not run is in --json's summary and list, and
    /// a skipped case of --junit (tester39 LOW-3: both left it out, their counts the files run).
    /// </summary>
    [Fact]
    public async Task InterruptedWhileAFileRunsOnAServer_ReportedAsInProcess()
    {
        using var server = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        server.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)server.LocalEndpoint).Port}/";
        var json = Path.Combine(Tool.TempFolder(), "report.json");
        var junit = Path.Combine(Tool.TempFolder(), "report.xml");
        var (line, _) = cli::SimService.Cli.CommandLine.Parse(["--server", url, "--json", json, "--junit", junit, Path.Combine(Tool.Fixtures, "mixed", "passing.json"),
            Path.Combine(Tool.Fixtures, "mixed", "failing-checks.json")],
            cli::SimService.Cli.Commands.RunCommand.Options, cli::SimService.Cli.Commands.RunCommand.Flags);
        var (output, error) = (new StringWriter(), new StringWriter());
        using var interrupt = new CancellationTokenSource();

        var run = cli::SimService.Cli.Commands.RunCommand.RunAsync(line!, output, error, interrupt.Token);
        using (await server.AcceptTcpClientAsync()) interrupt.Cancel();
        await run;

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("STOPPED  " + Path.Combine(Tool.Fixtures, "mixed", "passing.json") + "  (", lines[0]);
        Assert.Equal("         $: the run was stopped: the tool was interrupted", lines[1]);
        Assert.StartsWith($"2 files: 0 passed, 0 failed, 0 invalid, 1 interrupted, 1 not run (server {url}, ", lines[2]);
        Assert.Equal("simservice: interrupted: 1 of 2 files not run\n", error.ToString());
        Assert.Contains("the run was stopped: the tool was interrupted", File.ReadAllText(json));
        // --json's summary counts as the console's (review38a N-5: it said failed 1, and nothing of the interrupt).
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var summary = report.RootElement.GetProperty("summary");
        Assert.Equal((2, 0, 0, 0, 1, 1), (summary.GetProperty("files").GetInt32(), summary.GetProperty("passed").GetInt32(), summary.GetProperty("failed").GetInt32(),
            summary.GetProperty("invalid").GetInt32(), summary.TryGetProperty("interrupted", out var i) ? i.GetInt32() : -1,
            summary.TryGetProperty("notRun", out var n) ? n.GetInt32() : -1));
        Assert.Equal([Path.Combine(Tool.Fixtures, "mixed", "failing-checks.json")], report.RootElement.GetProperty("notRun").EnumerateArray().Select(f => f.GetString()));
        var suite = System.Xml.Linq.XDocument.Load(junit).Root!.Element("testsuite")!;
        Assert.Equal(["2", "0", "1", "1"], new[] { "tests", "failures", "errors", "skipped" }.Select(a => suite.Attribute(a)!.Value));
        Assert.Equal("not run: the tool was interrupted before it", suite.Elements("testcase").Last().Element("skipped")!.Attribute("message")!.Value);
    }

    /// <summary>
    /// A file an interrupt stopped is counted "interrupted" in the summary, not "failed" — by <c>kernel</c> as by <c>run</c>,
    /// in the same words (tester37b LOW-9: an interrupted kernel run read "1 failed").
    /// </summary>
    [Fact]
    public void InterruptedKernelRun_SummaryCountsItInterrupted_AsRunDoes()
    {
        var (files, _) = cli::SimService.Cli.Files.FileCollector.Collect([Path.Combine(Tool.Fixtures, "mixed", "passing.json")]);
        var summary = new StringWriter();
        var stopped = cli::SimService.Cli.Commands.KernelCommand.Interrupted(files[0], System.Diagnostics.Stopwatch.StartNew());

        ConsoleReport.WriteSummary(summary, [stopped], 1, "real kernel 6.18.44", 1);

        // InterruptedWhileAFileRuns_InProcess_StopsItAndStartsNoOther: run's "2 files: 0 passed, 0 failed, 0 invalid, 1 interrupted, 1 not run (in-process, …".
        Assert.Equal("2 files: 0 passed, 0 failed, 0 invalid, 1 interrupted, 1 not run (real kernel 6.18.44, 1.00 s)\n", summary.ToString());
        Assert.Equal(cli::SimService.Cli.Running.FileOutcome.Interrupted, stopped.Outcome);
    }

    /// <summary>
    /// A kernel run stopped mid-run says it ran and the real time it reached, as the engine's interrupted line says the virtual
    /// time (tester41 LOW-5: "no run" read as if it had never started).
    /// </summary>
    [Fact]
    public void InterruptedKernelRun_SaysTheRealTimeItReached()
    {
        var (files, _) = cli::SimService.Cli.Files.FileCollector.Collect([Path.Combine(Tool.Fixtures, "mixed", "passing.json")]);
        var output = new StringWriter();

        ConsoleReport.WriteFile(output, cli::SimService.Cli.Commands.KernelCommand.Interrupted(files[0], System.Diagnostics.Stopwatch.StartNew()), "real");

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^STOPPED  \S+passing\.json  \(0 checks passed, \S+ real, \d+\.\d\d s\)$", lines[0]);
        Assert.Matches(@"^         kernel: the run was stopped: the tool was interrupted, at \S+ real \(its namespace's set-up included\)$", lines[1]);
    }

    /// <summary>
    /// validate cannot know a server's hosts quota, but a document past the default one (64) is VALID with a warning at the
    /// step that passes it: in process it runs, a server with the default quota refuses it (ServerModeTests).
    /// </summary>
    [Fact]
    public async Task PastTheDefaultHostsQuota_Validate_ValidWithAWarningAtTheStep()
    {
        var run = await Tool.RunAsync("validate", "tests/Cli.Tests/Runaway/workload-65-generated-clients.json", "tests/Cli.Tests/Fixtures/mixed/passing.json");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["VALID    tests/Cli.Tests/Runaway/workload-65-generated-clients.json",
            "         warning $.steps[0].workload.generatedClients: 67 hosts with the generated clients: a server with the default hosts quota (64, Quotas:HostsPerSimulation) refuses the run (403); "
                + "so does run in process unless --max-hosts N raises its bound",
            "VALID    tests/Cli.Tests/Fixtures/mixed/passing.json",
            "2 files: 2 valid, 0 invalid"], run.OutputLines);
    }

    /// <summary>
    /// A run in process may make 250,000 hosts (the document's and its workloads' generated clients, counted as the steps
    /// add them): validate counts every step and names the one that passes it (tester35 HIGH-1: it said VALID with a warning
    /// naming only step 0's 200,001 of the 600,001 hosts, and run grew the tool by 0.75 GB a step).
    /// </summary>
    [Fact]
    public async Task PastTheToolsHosts_Validate_InvalidAtTheStepThatPassesIt()
    {
        var run = await Tool.RunAsync("validate", "tests/Cli.Tests/Runaway/workload-generated-clients-past-the-tool.json");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(["INVALID  tests/Cli.Tests/Runaway/workload-generated-clients-past-the-tool.json  (1 problem)",
            "         $.steps[1].workload.generatedClients: A run in process may have 250000 hosts; this would make 400001 (the document's hosts "
                + "and its workloads' generated clients so far): the run would stop here",
            "1 file: 0 valid, 1 invalid"], run.OutputLines);
    }

    /// <summary>
    /// A run in process has a server's default hosts quota (64): a file past it is refused before it runs, at the field that
    /// passes it, and --max-hosts raises it (tester39 MEDIUM-7: 200,000 generated clients at rate 10⁹ grew the tool to 5 GB
    /// before the event budget stopped it, where the API answered 403 at once).
    /// </summary>
    [Fact]
    public async Task PastTheDefaultHostsQuota_Run_RefusedAtTheFieldUnlessRaised()
    {
        const string file = "tests/Cli.Tests/Runaway/workload-65-generated-clients.json";
        var run = await Tool.RunAsync("run", file);
        var raised = await Tool.RunAsync("run", "--max-hosts", "67", file);

        Assert.Equal((1, 0), (run.ExitCode, raised.ExitCode));
        Assert.Equal([$"FAIL     {file}  (0 checks passed, 1 run error, no run, <t>)",
            "         run error $.steps[0].workload.generatedClients: 67 hosts (the document's and its workloads' generated clients so far): "
                + "a run in process may have 64, a server's default hosts quota; --max-hosts N allows more (at most 250000)"],
            run.OutputLines.Take(2).Select(WithoutWallClock));
    }

    /// <summary>
    /// A run in process has a server's default sockets quota (100,000; --max-sockets sets it): a workload stops at the first
    /// event past it and the run where it was (here the run to runUntil), as the API's sockets quota stops a workload request
    /// (tester39 MEDIUM-7).
    /// 20 connections each held 1 s by its server's think time: 41 sockets with the listener.
    /// </summary>
    [Fact]
    public async Task PastTheSocketsBound_Run_StopsWhereItPassedIt()
    {
        var file = Tool.TempFile("sockets.json");
        File.WriteAllText(file, """
            { "name": "sockets", "hosts": { "client": { "address": "10.0.0.1" }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"], "delay": "1ms" } ],
              "steps": [ { "workload": { "clients": ["client"], "server": "server", "rate": 1000, "count": 20, "thinkTime": "1s" } } ],
              "runUntil": "3s" }
            """);

        var bounded = await Tool.RunAsync("run", "--max-sockets", "10", file);
        var run = await Tool.RunAsync("run", file);

        Assert.Equal((1, 0), (bounded.ExitCode, run.ExitCode));
        Assert.Matches(@"^         run error \$\.runUntil: more than 10 sockets were allocated at [0-9.]+ms: the run stopped there; "
            + @"--max-sockets N allows more \(at most 500000\)$", bounded.OutputLines[1]);
    }

    [Theory]
    [InlineData("--max-hosts", "0", "--max-hosts: '0' is not a number of hosts from 1 to 250000")]
    [InlineData("--max-hosts", "250001", "--max-hosts: '250001' is not a number of hosts from 1 to 250000")]
    [InlineData("--max-sockets", "500001", "--max-sockets: '500001' is not a number of sockets from 1 to 500000")]
    public async Task BadBound_Run_ExitsTwoWithAOneLineReason(string option, string value, string why)
    {
        var run = await Tool.RunAsync("run", option, value, "scenarios");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"simservice: {why}"], run.ErrorLines);
    }

    [Fact]
    public async Task RunawayScript_Run_StopsAtTheEventBudgetNamingTheLine()
    {
        var run = await Tool.RunAsync("run", "--event-budget", "3", "packetdrill/connect-to-port-zero-established.pkt");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(run.OutputLines, l => l.Contains("the event budget of 3 events spent at", StringComparison.Ordinal));
        Assert.Contains("         run error $: the run needs more than 3 events; --event-budget N allows more (at most 50000000)", run.OutputLines);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("50000001")]
    public async Task BadEventBudget_Run_ExitsTwoWithAOneLineReason(string budget)
    {
        var run = await Tool.RunAsync("run", "--event-budget", budget, "scenarios");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"simservice: --event-budget: '{budget}' is not a number of events from 1 to 50000000"], run.ErrorLines);
    }

    [Fact]
    public async Task EventBudgetWithServer_Run_ExitsTwo()
    {
        var run = await Tool.RunAsync("run", "--server", "http://127.0.0.1:9", "--event-budget", "10", "scenarios");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(["simservice: --event-budget bounds a run on the engine in process; a server bounds its runs by its own limits (Limits:HeavySeconds)"],
            run.ErrorLines);
    }

    private static string WithoutWallClock(string line) =>
        System.Text.RegularExpressions.Regex.Replace(line, @"(, |\()\d+\.\d\d s\)", "$1<t>)");

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("1e300")]
    [InlineData("2147484")]
    [InlineData("0,1")] // a thousands separator: 0,1 ran with 1 s, 5,5 with 55 s (tester37 LOW-6)
    [InlineData(" 5")]
    public async Task BadTimeout_RunInProcess_IsRefusedAsWithServer(string timeout)
    {
        var inProcess = await Tool.RunAsync("run", "--timeout", timeout, "tests/Cli.Tests/Fixtures/mixed/failing-checks.json");
        var withServer = await Tool.RunAsync("run", "--server", "http://127.0.0.1:9", "--timeout", timeout, "tests/Cli.Tests/Fixtures/mixed/failing-checks.json");

        string expected = $"simservice: --timeout: '{timeout}' is not a number of seconds above 0 and at most 2147483\n";
        Assert.Equal((2, expected), (inProcess.ExitCode, inProcess.Error));
        Assert.Equal((2, expected), (withServer.ExitCode, withServer.Error));
    }
}
