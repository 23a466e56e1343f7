extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// A scenario's workload step runs on the real kernel (<see cref="KernelWorkload"/>) when it is small: named clients, at
/// most <see cref="KernelWorkload.MaxConnections"/> connections, its arrivals within the kernel run's bound; a larger one is
/// refused at its step, saying why. Until session 37 every workload step was refused ("not run on the kernel").
/// </summary>
public sealed class KernelWorkloadTests
{
    private static ScenarioDocument Parse(string workload, string extraSteps = "") => ScenarioParser.Parse(
        "{\"name\":\"w\",\"hosts\":{\"c\":{\"address\":\"10.0.0.1\"},\"s\":{\"address\":\"10.0.0.2\"}},\"links\":[{\"between\":[\"c\",\"s\"]}]," +
        $"\"steps\":[{extraSteps}{{\"workload\":{{{workload}}}}}],\"runUntil\":\"1s\"}}").Document!;

    [Fact]
    public void SmallWorkloadOfNamedClients_IsRun()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":11,\"closeStyle\":\"linger-zero\"");

        Assert.Empty(KernelScenarioRunner.Unsupported(doc));
    }

    /// <summary>Arrivals the harness keeps up with: a connection every 1 ms or slower, or a burst it makes within the tolerance.</summary>
    [Theory]
    [InlineData(1000, 500)]
    [InlineData(500, 500)]
    [InlineData(1_000_000_000, 4)]
    public void ArrivalsTheHarnessMakesOnTime_AreRun(double rate, int count) =>
        Assert.Empty(KernelScenarioRunner.Unsupported(Parse($"\"clients\":[\"c\"],\"server\":\"s\",\"rate\":{rate},\"count\":{count}")));

    [Theory]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":1000,\"count\":501", "a workload of 501 connections (at most 500")]
    [InlineData("\"generatedClients\":3,\"server\":\"s\",\"rate\":100,\"count\":3", "a workload of generated clients")]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":1,\"count\":200", "its last connection starts at 199s, past the kernel run's 130s")]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":1000000000,\"count\":500",
        "its 500 connections arrive within 499ns: the harness makes a connection every 1ms at best, so its last would start 499.999501ms late, past the 4ms")]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":5000,\"count\":40", "its 40 connections arrive within 7.8ms")]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2,\"drainLimit\":\"1ns\"",
        "a drain limit of 1ns: the harness may make the last connection as late as the 4ms a kernel run's times are held to, so a shorter limit could end the workload before it; give a drainLimit of at least 4ms")]
    public void LargerWorkload_IsRefusedAtItsStepSayingWhy(string workload, string why)
    {
        var error = Assert.Single(KernelScenarioRunner.Unsupported(Parse(workload)));

        Assert.Equal("$.steps[0].workload", error.Path);
        Assert.StartsWith(why, error.Message, StringComparison.Ordinal);
        // The refusal puts "not run on the kernel: " before it: said once (tester38 LOW-2).
        Assert.DoesNotContain("not run on the kernel", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"host\":\"s\",\"call\":\"listen\",\"port\":80},", "$.steps[0]")]
    [InlineData("{\"host\":\"s\",\"call\":\"socket\",\"as\":\"l\"},{\"host\":\"s\",\"call\":\"bind\",\"socket\":\"l\",\"port\":80},{\"host\":\"s\",\"call\":\"listen\",\"socket\":\"l\"},", "$.steps[2]")]
    public void WorkloadAdoptingTheScenariosListener_IsRefused(string listen, string listenPath)
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2", listen);

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc));

        Assert.EndsWith(".workload", error.Path, StringComparison.Ordinal);
        Assert.Equal($"a workload adopting a listener: {listenPath} listens on s:80 before it", error.Message);
    }

    /// <summary>
    /// Only a listener on the workload's port, there at its step, is adopted (Workload.OwnedListener): one on another port,
    /// one closed before, or one on the client is not (tester38 LOW-7: any listen on the server was refused).
    /// </summary>
    [Theory]
    [InlineData("{\"host\":\"s\",\"call\":\"listen\",\"port\":8080},")]
    [InlineData("{\"host\":\"s\",\"call\":\"listen\",\"port\":80,\"as\":\"l\"},{\"host\":\"s\",\"call\":\"close\",\"socket\":\"l\"},")]
    [InlineData("{\"host\":\"c\",\"call\":\"listen\",\"port\":80},")]
    public void WorkloadBesideAListenerItDoesNotAdopt_IsRun(string listen)
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2", listen);

        Assert.Empty(KernelScenarioRunner.Unsupported(doc));
    }

    /// <summary>
    /// The 500-connection cap is the scenario's, all workload steps together: every step's threads are started before the run
    /// (tester38 LOW-9: three steps of 300 each ran).
    /// </summary>
    [Fact]
    public void WorkloadStepsPastTheCapTogether_TheStepThatPassesItIsRefused()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"port\":81,\"rate\":1000,\"count\":201",
            "{\"workload\":{\"clients\":[\"c\"],\"server\":\"s\",\"rate\":1000,\"count\":300}},{\"at\":\"5s\",\"expect\":{\"sockstat\":{\"s\":{\"inuse\":0}}}},");

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc));

        Assert.Equal("$.steps[2].workload", error.Path);
        Assert.StartsWith("the scenario's workload steps make 501 connections up to this one (at most 500 in all", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// --diff compares the engine's packets of a workload whatever its journal level: at "counters" (the default) the
    /// engine's run recorded none of them, and every one of the kernel's was reported "kernel only".
    /// </summary>
    [Fact]
    public void EngineOutcome_KeepsAWorkloadsPacketsAtItsDefaultLevel()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2,\"requestBytes\":10,\"responseBytes\":10");

        var outcome = RunOutcome.OfEngine(doc);

        Assert.Equal(2, outcome.Packets.Count(p => p.From == "c" && p.Flags == "S"));
        var (path, results) = Assert.Single(outcome.ConnectResults);
        Assert.Equal("$.steps[0].workload", path);
        Assert.Equal(2, results["0"]);
    }

    /// <summary>--trace prints the engine's segments of a workload beside the kernel's, whatever its level (tester38 LOW-5: none).</summary>
    [Fact]
    public void Trace_TheEnginesColumnHoldsAWorkloadsSegments()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2,\"requestBytes\":10,\"responseBytes\":10");

        var engine = cli::SimService.Cli.Commands.KernelCommand.EngineSegments(doc);

        Assert.Equal(2, engine.Count(line => line.Contains("c:", StringComparison.Ordinal) && line.Contains(" S seq=0", StringComparison.Ordinal)));
    }

    /// <summary>
    /// --diff counts a workload whose connect() results by errno differ, naming its step and both counts — the kernel's
    /// outcome sent as the kernel run's child sends it to its parent, as JSON (review37b M-2: tuples arrived empty, and
    /// nothing was compared).
    /// </summary>
    [Fact]
    public void Diff_ReportsDifferingConnectResults()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2,\"requestBytes\":10,\"responseBytes\":10");
        var engine = RunOutcome.OfEngine(doc);
        var web = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web);
        var kernel = System.Text.Json.JsonSerializer.Deserialize<RunOutcome>(System.Text.Json.JsonSerializer.Serialize(
            engine with { ConnectResults = [new("$.steps[0].workload", new Dictionary<string, long> { ["0"] = 1, ["EADDRNOTAVAIL"] = 1 })] }, web), web)!;

        var same = OutcomeDiff.Compare(engine, engine, KernelScenarioRunner.Tolerance.Ns);
        var report = OutcomeDiff.Compare(engine, kernel, KernelScenarioRunner.Tolerance.Ns);

        Assert.Equal(0, same.Differences);
        Assert.Equal(1, report.Differences);
        Assert.Contains("connect() results of $.steps[0].workload (engine → kernel): 0 ×2 → 0 ×1, EADDRNOTAVAIL ×1", report.Lines);
    }

    /// <summary>
    /// Workloads pair by step: the engine refuses a workload step while another workload runs (the kernel run makes it), so
    /// that step is said refused and the next step's results are that step's — paired by position, the refused step took
    /// the next one's results and every later pair was compared with the wrong step (review37b S-5).
    /// </summary>
    [Fact]
    public void Diff_AWorkloadTheEngineRefused_SaidRefused_TheNextPairedWithItsOwnStep()
    {
        const string w = "{\"workload\":{\"clients\":[\"c\"],\"server\":\"s\",\"port\":PORT,\"rate\":10,\"count\":COUNT}}";
        var doc = ScenarioParser.Parse("{\"name\":\"w\",\"hosts\":{\"c\":{\"address\":\"10.0.0.1\"},\"s\":{\"address\":\"10.0.0.2\"}}," +
            "\"links\":[{\"between\":[\"c\",\"s\"]}],\"steps\":[" + string.Join(",",
                w.Replace("PORT", "80").Replace("COUNT", "3,\"thinkTime\":\"1s\""), // its servers think past the next step
                w.Replace("PORT", "81").Replace("COUNT", "4").Replace("{\"workload\"", "{\"at\":\"201ms\",\"workload\""),
                w.Replace("PORT", "82").Replace("COUNT", "2").Replace("{\"workload\"", "{\"at\":\"2s\",\"workload\"")) + "],\"runUntil\":\"3s\"}").Document!;
        var engine = RunOutcome.OfEngine(doc);
        var kernel = engine with
        {
            ConnectResults = [.. new[] { 3, 4, 2 }.Select((n, i) => new StepConnectResults($"$.steps[{i}].workload", new Dictionary<string, long> { ["0"] = n }))],
        };

        var report = OutcomeDiff.Compare(engine, kernel, KernelScenarioRunner.Tolerance.Ns);

        Assert.Equal(["$.steps[0].workload", "$.steps[1].workload", "$.steps[2].workload"], engine.ConnectResults.Select(r => r.Path));
        Assert.Equal([3L, 0, 2], engine.ConnectResults.Select(r => r.Results.GetValueOrDefault("0")));
        var refused = Assert.Single(report.Items, i => i.Kind == "workload");
        Assert.Equal(("kernel-only", "$.steps[1].workload"), (refused.What, refused.Where));
        Assert.StartsWith("$.steps[1].workload: the engine refused it (the workload of $.steps[0] is still running at 201ms: one workload runs at a time;", refused.Text, StringComparison.Ordinal);
        Assert.EndsWith("; the kernel ran it, connect() results 0 ×4", refused.Text, StringComparison.Ordinal);
    }

    /// <summary>
    /// A client whose socket() fails (EMFILE here) ends its side at once, its errno counted with connect()'s results as the
    /// engine's workload counts it; the workload then finishes and closes its listener (review37b N-1: the socket() error
    /// was thrown, the side never ended, and the kernel run waited with the listener open until its bound). The listener is
    /// a real socket of this process's namespace, on a port no client reaches.
    /// </summary>
    [Fact]
    public void AClientWhoseSocketFails_EndsItsSideAtOnce_CountedByErrno()
    {
        var doc = Parse($"\"clients\":[\"c\"],\"server\":\"s\",\"port\":{40_000 + Environment.ProcessId % 20_000},\"rate\":1000,\"count\":2");
        var workload = KernelWorkload.Create(doc.Steps.OfType<WorkloadStep>().Single(), new Dictionary<string, HostNamespace>(),
            new Dictionary<string, uint> { ["c"] = 0x7F000001, ["s"] = 0x7F000001 },
            host => host == "s" ? (Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), 0) : (-1, 24 /* EMFILE */));
        try
        {
            workload.Prepare(Libc.MonotonicNs());
            workload.Listen();

            Assert.True(workload.WaitFinished(TimeSpan.FromSeconds(10)), string.Join("; ", workload.Errors()));
            Assert.Equal("EMFILE ×2", KernelWorkload.Describe(workload.ConnectResults()));
            Assert.Empty(workload.Errors());
        }
        finally
        {
            workload.Stop();
        }
    }

    /// <summary>A workload on this process's own loopback: the listener on a port no other test uses, its clients connecting to it.</summary>
    private static KernelWorkload OnLoopback(string workload, out int port)
    {
        port = 40_000 + (Environment.ProcessId + workload.Length) % 20_000;
        var doc = Parse($"\"clients\":[\"c\"],\"server\":\"s\",\"port\":{port},{workload}");
        return KernelWorkload.Create(doc.Steps.OfType<WorkloadStep>().Single(), new Dictionary<string, HostNamespace>(),
            new Dictionary<string, uint> { ["c"] = 0x7F000001, ["s"] = 0x7F000001 },
            _ => (Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), Libc.Errno));
    }

    /// <summary>
    /// Every thread a workload's sides can use at once is started before the run's clock: none is started while it runs, where
    /// a thread started late began up to 16 ms after its time (tester38 MEDIUM-4: with 128 pooled, 282 of 500 connect()s were
    /// made in the run's second). 100 connections arriving within 10 µs, each server thinking 200 ms: 202 sides at once.
    /// </summary>
    [Fact]
    public void AWorkloadArrivingAtOnce_StartsNoThreadWhileItRuns()
    {
        var workload = OnLoopback("\"rate\":10000000,\"count\":100,\"requestBytes\":10,\"responseBytes\":10,\"thinkTime\":\"200ms\"", out _);
        try
        {
            workload.Prepare(Libc.MonotonicNs());
            workload.Listen();

            Assert.True(workload.WaitFinished(TimeSpan.FromSeconds(20)), string.Join("; ", workload.Errors()));
            Assert.Equal("0 ×100", KernelWorkload.Describe(workload.ConnectResults()));
            Assert.Equal(0, workload.ThreadsStartedLate);
        }
        finally
        {
            workload.Stop();
        }
    }

    /// <summary>
    /// drainLimit after the last arrival the workload ends as the engine's (Workload.Finish(drained: true)): its listener is
    /// closed (a new connect() is refused) and its connections stop acting — the servers thinking for 1 s never answer
    /// (tester38 MEDIUM-5: the kernel run had no drain, served both and kept listening). The drain comes at its time, not at the
    /// next 100 ms of a poll (tester39 MEDIUM-5: a 20 ms limit drained at ≈ 100 ms, after servers thinking 80 ms had answered).
    /// </summary>
    [Theory]
    [InlineData("50ms", 1000)]
    [InlineData("20ms", 80)]
    public void ADrainLimitBeforeTheWorkEnds_ClosesTheListener_TheConnectionsStopActing(string drainLimit, int thinkMs)
    {
        var workload = OnLoopback($"\"rate\":1000,\"count\":2,\"requestBytes\":10,\"responseBytes\":10,\"thinkTime\":\"{thinkMs}ms\",\"drainLimit\":\"{drainLimit}\"", out int port);
        try
        {
            long start = Libc.MonotonicNs();
            workload.Prepare(start);
            workload.Listen();

            Assert.True(workload.WaitFinished(TimeSpan.FromMilliseconds(800)), $"not ended 800 ms into a workload whose drain limit ends it {drainLimit} after its last arrival");
            Assert.True(workload.Done);
            int probe = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            var to = Libc.Address(0x7F000001, (ushort)port);
            Assert.Equal(-1, Libc.connect(probe, ref to, 16)); // ECONNREFUSED: nothing listens there any more
            Libc.close(probe);
            Libc.SleepUntil(start + (thinkMs + 200) * 1_000_000L); // past the servers' think time: they woke drained and sent nothing
            // Both connections' four sockets ESTABLISHED (1), as the engine leaves them: no response, no close.
            Assert.Equal([1, 1, 1, 1], SockDiag.Dump().Where(r => r.LocalPort == port || r.RemotePort == port).Select(r => r.State));
            Assert.Equal("0 ×2", KernelWorkload.Describe(workload.ConnectResults()));
            Assert.Empty(workload.Errors());
        }
        finally
        {
            workload.Stop();
        }
    }

    /// <summary>
    /// A scenario with a workload keeps its link emulators' and workload's threads on one CPU (the machine's last): a
    /// client's recv() woken by a response's first segment then waits until the emulator has written the rest, as the
    /// engine runs the woken call after the segments of its instant (tester38 MEDIUM-3: on the other core it owned the
    /// socket and the rest went to its backlog, TCPBacklogCoalesce 0 → 1, one ACK fewer). A scenario without one is not pinned.
    /// </summary>
    [Fact]
    public void AWorkloadsThreads_KeepToTheLinkEmulatorsCpu()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":3");
        int? cpu = KernelScenarioRunner.WorkloadCpu(doc);
        int before = ThreadsKeptTo(cpu);

        var workload = KernelWorkload.Create(doc.Steps.OfType<WorkloadStep>().Single(), new Dictionary<string, HostNamespace>(),
            new Dictionary<string, uint> { ["c"] = 0x7F000001, ["s"] = 0x7F000001 }, cpu: cpu);
        try
        {
            Assert.Equal(Environment.ProcessorCount - 1, cpu);
            Assert.Null(KernelScenarioRunner.WorkloadCpu(ScenarioParser.Parse(
                "{\"name\":\"w\",\"hosts\":{\"c\":{\"address\":\"10.0.0.1\"}},\"steps\":[{\"host\":\"c\",\"call\":\"socket\",\"as\":\"x\"}]}").Document!));
            // Its 8 pooled threads (3 connections' sides, the accept loop, the arrivals) keep to that CPU once started.
            Assert.True(SpinWait.SpinUntil(() => ThreadsKeptTo(cpu) - before >= 8, TimeSpan.FromSeconds(10)), $"{ThreadsKeptTo(cpu) - before} threads kept to CPU {cpu}");
        }
        finally
        {
            workload.Stop();
        }
    }

    /// <summary>This process's threads allowed on <paramref name="cpu"/> alone (/proc/self/task/*/status, Cpus_allowed_list).</summary>
    private static int ThreadsKeptTo(int? cpu) => Directory.GetDirectories("/proc/self/task").Count(task =>
    {
        try
        {
            return File.ReadLines(Path.Combine(task, "status")).Any(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal) && l.Split(':')[1].Trim() == $"{cpu}");
        }
        catch (IOException)
        {
            return false; // the thread ended meanwhile
        }
    });
}
