using SimService.Domain.Scenarios;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>Runs scenario text and asserts on the outcome with messages that show every failed check.</summary>
internal static class RunnerAssert
{
    /// <summary>Parses and runs JSON that must be valid.</summary>
    public static ScenarioRunResult Run(string json, ScenarioRunOptions? options = null)
    {
        var outcome = ScenarioRunner.Run(json, options);
        Assert.True(outcome.IsValid, "the scenario does not parse: " + string.Join("; ", outcome.ParseErrors));
        return outcome.Result!;
    }

    /// <summary>Every run error and failed check, one per line.</summary>
    public static string Failures(ScenarioRunResult result) =>
        string.Join("\n", result.Errors.Select(e => $"  error {e}")
            .Concat(result.FailedChecks.Select(c => $"  {c.Kind} {c.Path} at {c.At}: expected {c.Expected}; actual {c.Actual}")));

    public static void Passed(ScenarioRunResult result, string name = "scenario") =>
        Assert.True(result.Passed, $"{name} failed:\n{Failures(result)}");

    /// <summary>The single check made at a JSON path.</summary>
    public static CheckResult Check(ScenarioRunResult result, string path)
    {
        var matches = result.Checks.Where(c => c.Path == path).ToList();
        Assert.True(matches.Count == 1, $"expected one check at {path}, found {matches.Count}: {string.Join("; ", result.Checks.Select(c => c.Path))}");
        return matches[0];
    }
}
