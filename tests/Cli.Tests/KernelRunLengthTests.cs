extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// A scenario the kernel run refuses for its length names what makes it long: its last step (<c>$.steps</c>), or the
/// <c>runUntil</c> that follows it (<c>$.runUntil</c>; tester35 LOW-7: it was blamed on <c>$.steps</c>, "its last step is at 0s").
/// </summary>
public sealed class KernelRunLengthTests
{
    private static ScenarioDocument Parse(string steps, string runUntil) => ScenarioParser.Parse(
        "{\"name\":\"long\",\"hosts\":{\"a\":{\"address\":\"10.0.0.1\"},\"b\":{\"address\":\"10.0.0.2\"}},\"links\":[{\"between\":[\"a\",\"b\"]}]," +
        $"\"steps\":[{steps}],\"runUntil\":\"{runUntil}\"}}").Document!;

    [Fact]
    public void RunUntilPastTheLongestRun_NamedAtRunUntil()
    {
        var error = Assert.Single(KernelScenarioRunner.Unsupported(Parse("{\"host\":\"b\",\"call\":\"listen\",\"port\":80}", "200s")));

        Assert.Equal("$.runUntil", error.Path);
        Assert.Contains("runUntil 200s after the last step", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LastStepPastTheLongestRun_NamedAtTheSteps()
    {
        var error = Assert.Single(KernelScenarioRunner.Unsupported(Parse("{\"at\":\"200s\",\"host\":\"b\",\"call\":\"listen\",\"port\":80}", "1s")));

        Assert.Equal("$.steps", error.Path);
        Assert.Contains("its last step is at 200s", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A packetdrill script whose timeline runs past the same bound is refused at the line that passes it — a relative time
    /// after the line before, an absolute one, a blocking call's return — before the kernel lock is taken (tester36 LOW-2: a
    /// <c>+500</c> line held the machine's kernel lock for 500 s).
    /// </summary>
    [Theory]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+500 close(3) = 0\n", 2, "500s")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+100 listen(3, 1) = 0\n+40 close(3) = 0\n", 3, "140s")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n131 close(3) = 0\n", 2, "131s")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 listen(3, 1) = 0\n+0.1...200 accept(3, ..., ...) = 4\n", 3, "200s")]
    public void ScriptPastTheLongestRun_NamedAtItsLine(string text, int line, string at)
    {
        var script = SimService.Domain.Packetdrill.ScriptParser.Parse(text).Script!;

        var (late, when) = KernelScriptRunner.PastTheLongestRun(script)!.Value;

        Assert.Equal((line, at), (late.At.Line, when.ToString()));
    }

    /// <summary>
    /// A "*" outbound segment counts at its latest, 10 s (the runner's wait) after the event before it: thirteen of them are
    /// 130 s, the fourteenth past it (review36 N-2: "*" lines never moved the bound).
    /// </summary>
    [Fact]
    public void AnyTimeOutboundSegments_EachCountsTheRunnersWait()
    {
        string Lines(int n, string line) => string.Concat(Enumerable.Repeat(line, n));
        string head = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = -1 EINPROGRESS\n";
        var script = SimService.Domain.Packetdrill.ScriptParser.Parse(head + Lines(14, "* > S 0:0(0) <...>\n")).Script!;

        var (late, when) = KernelScriptRunner.PastTheLongestRun(script)!.Value;

        Assert.Equal((16, "140s"), (late.At.Line, when.ToString()));
        Assert.Null(KernelScriptRunner.PastTheLongestRun(SimService.Domain.Packetdrill.ScriptParser.Parse(head + Lines(13, "* > S 0:0(0) <...>\n")).Script!));
    }

    /// <summary>
    /// An outbound segment with a time counts at its latest, the tolerance after it (at most the runner's 10 s wait): with
    /// <c>--tolerance_usecs=10000000</c> thirteen of them 10 ms apart reach 130.13 s, twelve 120.12 s (tester37 MEDIUM-1: sixteen
    /// keepalive probes 9 s late each passed, 147 s of a timeline written as 0.16 s).
    /// </summary>
    [Fact]
    public void OutboundSegmentsWithALargeTolerance_EachCountsItsTolerance()
    {
        string Lines(int n, string line) => string.Concat(Enumerable.Repeat(line, n));
        string head = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = -1 EINPROGRESS\n";
        var script = SimService.Domain.Packetdrill.ScriptParser.Parse(head + Lines(13, "+0.01 > S 0:0(0) <...>\n")).Script!;

        var (late, when) = KernelScriptRunner.PastTheLongestRun(script, toleranceUs: 10_000_000)!.Value;

        Assert.Equal((15, "130.13s"), (late.At.Line, when.ToString()));
        Assert.Null(KernelScriptRunner.PastTheLongestRun(script)); // the default 4 ms: 13 × 14 ms
        Assert.Null(KernelScriptRunner.PastTheLongestRun(
            SimService.Domain.Packetdrill.ScriptParser.Parse(head + Lines(12, "+0.01 > S 0:0(0) <...>\n")).Script!, toleranceUs: 10_000_000));
    }

    /// <summary>
    /// An outbound segment with a time range may arrive up to the range's end plus the tolerance, and the next relative
    /// line is anchored at its arrival: thirteen <c>+0~+0.01</c> lines at <c>--tolerance_usecs=10000000</c> reach 130.13 s
    /// (review37a S-2: counted from the range's start, they were 130 s and the run was not refused).
    /// </summary>
    [Fact]
    public void OutboundSegmentsWithATimeRange_CountTheRangesEndPlusTheTolerance()
    {
        var script = SimService.Domain.Packetdrill.ScriptParser.Parse("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = -1 EINPROGRESS\n"
            + string.Concat(Enumerable.Repeat("+0~+0.01 > S 0:0(0) <...>\n", 13))).Script!;

        var (late, when) = KernelScriptRunner.PastTheLongestRun(script, toleranceUs: 10_000_000)!.Value;

        Assert.Equal((15, "130.13s"), (late.At.Line, when.ToString()));
    }

    [Fact]
    public void ScriptWithinTheLongestRun_Runs() =>
        Assert.Null(KernelScriptRunner.PastTheLongestRun(SimService.Domain.Packetdrill.ScriptParser.Parse(
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+100 listen(3, 1) = 0\n+29.9 close(3) = 0\n").Script!));
}
