using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary><c>validate</c> and <c>new</c>.</summary>
public sealed class OtherCommandsTests
{
    [Fact]
    public async Task InvalidAndValidFiles_Validate_ExitsTwoNamingTheJsonPathOfEveryProblem()
    {
        var run = await Tool.RunInAsync(Tool.Fixtures, "validate", "invalid/bad-values.json", "mixed");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("INVALID  invalid/bad-values.json  (2 problems)", run.OutputLines[0]);
        Assert.StartsWith("         $.steps[5].option: ", run.OutputLines[1]);
        Assert.Equal("         $.steps[7].at: \"3xx\" is not a step time (\"2s\" or \"+200ms\")", run.OutputLines[2]);
        Assert.Equal(["VALID    mixed/failing-checks.json", "VALID    mixed/passing.json", "3 files: 2 valid, 1 invalid"], run.OutputLines[3..]);
    }

    [Fact]
    public async Task RepositoryScenarios_Validate_AllValid()
    {
        var run = await Tool.RunAsync("validate", "scenarios");

        Assert.Equal(0, run.ExitCode);
        Assert.EndsWith(" valid, 0 invalid", run.OutputLines[^1]);
    }

    [Fact]
    public async Task Starter_New_IsACommentedScenarioThatValidatesAndPasses()
    {
        var file = Tool.TempFile("starter.json");

        var created = await Tool.RunAsync("new", "--output", file);
        var again = await Tool.RunAsync("new", "--output", file);
        var run = await Tool.RunAsync("run", file);

        Assert.Equal(0, created.ExitCode);
        Assert.StartsWith("// A SimService scenario", File.ReadAllText(file));
        Assert.Equal((2, $"simservice: new: {file} exists (--force replaces it)\n"), (again.ExitCode, again.Error));
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("PASS ", run.OutputLines[0]);
    }

    [Theory]
    [InlineData("kernel")]
    [InlineData("run")]
    [InlineData("new")]
    public async Task HelpAfterACommand_Simservice_PrintsUsageAndExitsZero(string command)
    {
        var run = await Tool.RunAsync(command, "--help");

        Assert.Equal((0, ""), (run.ExitCode, run.Error));
        Assert.StartsWith("usage: simservice <command>", run.Output);
    }

    [Fact]
    public async Task NoArguments_Simservice_PrintsUsageAndExitsTwo()
    {
        var run = await Tool.RunAsync();

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("usage: simservice <command>", run.Output);
    }
}
