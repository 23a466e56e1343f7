using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>
/// Every example of scenarios/examples/ and of the project's scenarios/ folder must run with
/// passed = true, and run the same way twice.
/// </summary>
public class ExampleScenarioRunTests
{
    public static TheoryData<string> Files() => [.. ExampleScenarios.Everywhere()];

    [Theory]
    [MemberData(nameof(Files))]
    public void ExampleScenario_Run_Passes(string file)
    {
        var result = RunnerAssert.Run(ExampleScenarios.ReadAnywhere(file));

        RunnerAssert.Passed(result, file);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ExampleScenario_RunTwice_SameJournal(string file)
    {
        var json = ExampleScenarios.ReadAnywhere(file);

        var first = RunnerAssert.Run(json);
        var second = RunnerAssert.Run(json);

        Assert.True(first.Simulation.Journal.SequenceEqual(second.Simulation.Journal), $"{file}: two runs gave different journals");
        Assert.True(first.Checks.SequenceEqual(second.Checks), $"{file}: two runs gave different check results");
    }

    [Fact]
    public void SharedScenarios_AllEight_AreRun()
    {
        Assert.True(ExampleScenarios.All().Count >= 8, $"expected at least the 8 example scenarios, found {ExampleScenarios.All().Count}");
        Assert.True(Files().Count >= 13, $"expected the example scenarios and the project's own, found {Files().Count}");
    }
}

/// <summary>A scenario run is an ordinary command log: replaying what it applied gives the same journal.</summary>
public class ScenarioCommandLogTests
{
    public static TheoryData<string> Files() => [.. ExampleScenarios.Everywhere()];

    [Theory]
    [MemberData(nameof(Files))]
    public void Scenario_ReplayOfItsCommandLog_SameJournal(string file)
    {
        var result = RunnerAssert.Run(ExampleScenarios.ReadAnywhere(file));
        Assert.NotEmpty(result.Commands);
        var sim = result.Simulation;
        var replayed = SimService.Domain.Commands.CommandApplier.Replay(sim.Profile, sim.Seed, result.Commands);
        Assert.True(sim.Journal.SequenceEqual(replayed.Journal), $"{file}: replaying the run's commands gave a different journal");
        Assert.Equal(sim.Now, replayed.Now);
    }
}
