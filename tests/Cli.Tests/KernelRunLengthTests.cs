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
}
