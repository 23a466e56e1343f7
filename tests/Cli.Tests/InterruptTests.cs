extern alias cli;

using System.Text.Json.Nodes;
using cli::SimService.Cli.Files;
using SimService.Cli.Tests.Infrastructure;
using SimService.Domain.Packetdrill;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// The tool's interrupt (Ctrl-C, SIGTERM, SIGHUP cancel one token) reaches the reader and the steps that make no event, not
/// only the boundary between two events (tester41 MEDIUM-2: a SIGTERM 12 s into a file of a million sysctl steps waited 17 s
/// more, and the file was reported PASSED; validate ignored it, started the next file and printed a plain summary). The token
/// is cancelled directly: no sleep.
/// </summary>
public sealed class InterruptTests
{
    /// <summary>A scenario of <paramref name="steps"/> sysctl steps on one host: steps that make no engine event.</summary>
    static string SysctlSteps(int steps) => new JsonObject
    {
        ["name"] = "sysctl-steps",
        ["hosts"] = new JsonObject { ["a"] = new JsonObject { ["address"] = "10.0.0.1" } },
        ["steps"] = new JsonArray([.. Enumerable.Range(0, steps).Select(_ => (JsonNode)new JsonObject
        {
            ["sysctl"] = new JsonObject { ["host"] = "a", ["values"] = new JsonObject { ["net.ipv4.tcp_fin_timeout"] = 30 } },
        })]),
    }.ToJsonString();

    static CancellationToken Cancelled() => new(canceled: true);

    /// <summary>The interrupt reaches the scenario reader: a run in process stops while reading, reported stopped (not passed).</summary>
    [Fact]
    public void InterruptedWhileReading_RunInProcess_StoppedNotPassed()
    {
        var run = new ScenarioJsonFormat().RunInProcess(SysctlSteps(100), "steps.json", new InProcessBounds(1000), Cancelled());

        Assert.True(run.WallLimitReached);
        Assert.False(run.Passed);
        Assert.Null(run.NowNs);
    }

    /// <summary>The interrupt reaches the reader of <c>validate</c> (both formats).</summary>
    [Fact]
    public void InterruptedWhileReading_Validate_Stops()
    {
        Assert.Throws<OperationCanceledException>(() => new ScenarioJsonFormat().Validate(SysctlSteps(100), "steps.json", Cancelled()));
        Assert.Throws<OperationCanceledException>(() => new PacketdrillFormat().Validate(
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n", "s.pkt", Cancelled()));
    }

    /// <summary>The interrupt reaches the step loop of a parsed scenario whose steps make no event.</summary>
    [Fact]
    public void InterruptedDuringStepsThatMakeNoEvent_ScenarioRunner_Stops()
    {
        var document = ScenarioParser.Parse(SysctlSteps(100)).Document!;

        Assert.Throws<OperationCanceledException>(() => ScenarioRunner.Run(document, new ScenarioRunOptions { Interruption = Cancelled() }));
    }

    /// <summary>The interrupt reaches the line loop of a parsed packetdrill script whose lines make no event.</summary>
    [Fact]
    public void InterruptedDuringLinesThatMakeNoEvent_PacketdrillRunner_Stops()
    {
        var lines = string.Concat(Enumerable.Repeat("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n", 100));
        var script = ScriptParser.Parse("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" + lines).Script!;

        Assert.Throws<OperationCanceledException>(() => PacketdrillRunner.Run(script, new PacketdrillOptions { Interruption = Cancelled() }));
    }

    /// <summary>
    /// validate interrupted after its first file (the token cancelled as that file's line is written): no other file starts,
    /// and the summary counts the files not validated, as run's does; Program exits 130.
    /// </summary>
    [Fact]
    public void InterruptedAfterTheFirstFile_Validate_StartsNoOther()
    {
        var passing = Path.Combine(Tool.Fixtures, "mixed", "passing.json");
        var (line, _) = cli::SimService.Cli.CommandLine.Parse([passing, Path.Combine(Tool.Fixtures, "mixed", "failing-checks.json")], [], []);
        using var interrupt = new CancellationTokenSource();
        var output = new CancelOnWrite(interrupt);
        var error = new StringWriter();

        cli::SimService.Cli.Commands.ValidateCommand.Run(line!, output, error, interrupt.Token);

        Assert.Equal([$"VALID    {passing}", "2 files: 1 valid, 0 invalid, 1 not run"], output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("simservice: interrupted: 1 of 2 files not run\n", error.ToString());
    }

    /// <summary>The interrupt as a file's line is written: cancels its source at the first line.</summary>
    sealed class CancelOnWrite(CancellationTokenSource source) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            source.Cancel();
        }
    }
}
