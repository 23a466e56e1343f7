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

    [Theory]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":1000,\"count\":501", "a workload of 501 connections (at most 500")]
    [InlineData("\"generatedClients\":3,\"server\":\"s\",\"rate\":100,\"count\":3", "a workload of generated clients")]
    [InlineData("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":1,\"count\":200", "its last connection starts at 199s, past the kernel run's 130s")]
    public void LargerWorkload_IsRefusedAtItsStepSayingWhy(string workload, string why)
    {
        var error = Assert.Single(KernelScenarioRunner.Unsupported(Parse(workload)));

        Assert.Equal("$.steps[0].workload", error.Path);
        Assert.StartsWith(why, error.Message, StringComparison.Ordinal);
        // The refusal puts "not run on the kernel: " before it: said once (tester38 LOW-2).
        Assert.DoesNotContain("not run on the kernel", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WorkloadAdoptingTheScenariosListener_IsRefused()
    {
        var doc = Parse("\"clients\":[\"c\"],\"server\":\"s\",\"rate\":100,\"count\":2", "{\"host\":\"s\",\"call\":\"listen\",\"port\":80},");

        var error = Assert.Single(KernelScenarioRunner.Unsupported(doc));

        Assert.Equal("$.steps[1].workload", error.Path);
        Assert.Contains("a workload adopting a listener: the scenario's own steps listen on the server", error.Message, StringComparison.Ordinal);
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
                w.Replace("PORT", "80").Replace("COUNT", "3"),
                w.Replace("PORT", "81").Replace("COUNT", "4").Replace("{\"workload\"", "{\"at\":\"100ms\",\"workload\""),
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
        Assert.StartsWith("$.steps[1].workload: the engine refused it (workload 1 is still running;", refused.Text, StringComparison.Ordinal);
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
}
