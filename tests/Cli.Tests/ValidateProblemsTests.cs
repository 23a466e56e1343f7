using System.Text.Json.Nodes;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary><c>validate</c> names the real problem of a file, once (session 28's tester).</summary>
public sealed class ValidateProblemsTests
{
    /// <summary>
    /// scenarios/examples/linger-zero-rst.json with step 2's call misspelt: that step is the one problem. The steps that use
    /// its alias "s" were blamed too ("socket alias \"s\" is used before $.steps[2] defines it", at steps 4 and 7).
    /// </summary>
    [Fact]
    public async Task MisspeltCallOfAStepDefiningAnAlias_Validate_OnlyThatStep()
    {
        var document = JsonNode.Parse(File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios/examples/linger-zero-rst.json")))!;
        document["steps"]![2]!["call"] = "acceptt";
        var file = Tool.TempFile("acceptt.json");
        File.WriteAllText(file, document.ToJsonString());

        var run = await Tool.RunAsync("validate", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"INVALID  {file}  (1 problem)", run.OutputLines[0]);
        Assert.StartsWith("         $.steps[2].call: unknown value \"acceptt\"", run.OutputLines[1]);
    }

    /// <summary>A description nested 100,000 arrays deep is valid JSON past the reader's 64 levels: said so at its path (it was "not valid JSON").</summary>
    [Fact]
    public async Task NestedPast64Levels_Validate_TheLimitAtThePath()
    {
        var file = Tool.TempFile("deep.json");
        File.WriteAllText(file, File.ReadAllText(Path.Combine(Tool.RepoRoot, "scenarios/examples/linger-zero-rst.json"))
            .Replace("\"name\": \"linger-zero-rst\",", "\"name\": \"linger-zero-rst\", // deep\n \"labels\": " + new string('[', 100_000) + new string(']', 100_000) + ","));

        var run = await Tool.RunAsync("validate", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"INVALID  {file}  (1 problem)", run.OutputLines[0]);
        Assert.Equal("         $.labels" + string.Concat(Enumerable.Repeat("[0]", 63)) + ": The JSON nests arrays and objects more than 64 deep here; "
            + "at most 64 levels are read (the outermost counted).", run.OutputLines[1]);
    }

    /// <summary>
    /// A file that is not JSON: why, in the project's words, at the line and column an editor shows (from 1), as the API
    /// locates it. A trailing comma was ".NET"'s "… not supported in this mode. Change the reader options.", a second
    /// document "'{' is invalid after a single JSON value. Expected end of data."
    /// </summary>
    [Theory]
    [InlineData("{\"name\":\"x\",}", "line 1, column 13): a comma before '}' with no member after it: JSON has no trailing commas")]
    [InlineData("{\"steps\":[1,]}", "line 1, column 13): a comma before ']' with no value after it: JSON has no trailing commas")]
    [InlineData("{\"name\":\"x\"}\n{}", "line 2, column 1): '{' after the end of the document: the text holds one JSON value")]
    [InlineData("{\"name\":\"x\"\n", "line 2, column 1): the text ends inside an object or array: a '}' or ']' is missing")]
    public async Task NotJson_Validate_SaysWhyInTheProjectsWordsAtAnEditorsPosition(string text, string problem)
    {
        var file = Tool.TempFile("syntax.json");
        File.WriteAllText(file, text);

        var run = await Tool.RunAsync("validate", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("         $: not valid JSON (" + problem, run.OutputLines[1]);
    }

    /// <summary>
    /// A bad value is quoted as the API quotes it — its first 64 characters and "…" — not whole (tester41 LOW-4: a 300,000-letter
    /// <c>flags</c> made one 300,140-character line).
    /// </summary>
    [Fact]
    public async Task HugeBadValue_Validate_QuotedAsTheApiQuotesIt()
    {
        var file = Tool.TempFile("inj-big.json");
        File.WriteAllText(file, $$$"""{"name":"inj","hosts":{"server":{"address":"10.0.0.2"},"peer":{"address":"10.0.0.3","kind":"scripted"}},"links":[{"between":["peer","server"],"delay":"1ms"}],"steps":[{"host":"server","call":"listen","port":80},{"inject":{"from":"peer:40000","to":"server:80","flags":"{{{new string('S', 300_000)}}}","seq":0}}]}""");

        var run = await Tool.RunAsync("validate", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"         $.steps[1].inject.flags: \"{new string('S', 64)}…\" is not a set of packetdrill flags (S, F, R, P, \".\" for ACK, E for ECE and W for CWR, each at most once)",
            run.OutputLines[1]);
    }
}
