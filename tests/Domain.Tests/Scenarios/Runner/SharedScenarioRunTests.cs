using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>Every example of ../shared/scenarios must run with passed = true, and run the same way twice.</summary>
public class SharedScenarioRunTests
{
    public static TheoryData<string> Files() => [.. SharedScenarios.All().Select(f => f.Name)];

    [Theory]
    [MemberData(nameof(Files))]
    public void SharedScenario_Run_Passes(string file)
    {
        var result = RunnerAssert.Run(SharedScenarios.Read(file));

        RunnerAssert.Passed(result, file);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void SharedScenario_RunTwice_SameJournal(string file)
    {
        var json = SharedScenarios.Read(file);

        var first = RunnerAssert.Run(json);
        var second = RunnerAssert.Run(json);

        Assert.True(first.Simulation.Journal.SequenceEqual(second.Simulation.Journal), $"{file}: two runs gave different journals");
        Assert.True(first.Checks.SequenceEqual(second.Checks), $"{file}: two runs gave different check results");
    }

    [Fact]
    public void SharedScenarios_AllEight_AreRun()
    {
        Assert.True(Files().Count >= 8, $"expected at least the 8 shared scenarios, found {Files().Count}");
    }
}
