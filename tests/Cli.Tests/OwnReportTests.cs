extern alias cli;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// A report (<c>--json</c>, <c>--junit</c>) is never written over a file the run reads, nor over an existing scenario
/// or script (exit 2, the file untouched: <c>run --json v.json v.json</c> used to print PASS and replace the scenario
/// with its report); and a folder search skips the tool's own reports, so <c>run DIR --json DIR/report.json</c> passes
/// the second time too (it said INVALID … $.tool: unknown field "tool").
/// </summary>
public sealed class OwnReportTests
{
    const string Passing = "tests/Cli.Tests/Fixtures/mixed/passing.json";

    static string CopyOfPassing(string folder, string name = "v.json")
    {
        var copy = Path.Combine(folder, name);
        File.Copy(Path.Combine(Tool.RepoRoot, Passing), copy);
        return copy;
    }

    /// <summary>
    /// A hard link: another name of the file, which no resolving of the path shows (<c>ln v.json r.xml; run v.json --junit
    /// r.xml</c> printed PASS and left v.json holding the JUnit XML).
    /// </summary>
    static string HardLink(string target, string link)
    {
        using var ln = System.Diagnostics.Process.Start("ln", [target, link])!;
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
        return link;
    }

    /// <summary>The report named as the input itself, as another spelling of its path, through a symbolic link, and as a hard link to it.</summary>
    [Theory]
    [InlineData("run", "json", "same")]
    [InlineData("run", "junit", "same")]
    [InlineData("run", "json", "dotdot")]
    [InlineData("run", "json", "symlink")]
    [InlineData("run", "junit", "folderlink")]
    [InlineData("run", "junit", "hardlink")]
    [InlineData("run", "json", "hardlink")]
    [InlineData("kernel", "json", "same")]
    public async Task ReportNamingAnInput_Refused_ExitTwoAndTheFileUntouched(string command, string option, string spelling)
    {
        var folder = Tool.TempFolder();
        var input = CopyOfPassing(folder);
        var before = File.ReadAllText(input);
        var report = spelling switch
        {
            "same" => input,
            "dotdot" => Path.Combine(folder, "sub", "..", "v.json"),
            "symlink" => File.CreateSymbolicLink(Path.Combine(folder, "link.json"), input).FullName,
            "hardlink" => HardLink(input, Path.Combine(folder, "hl-report.xml")),
            _ => Path.Combine(Directory.CreateSymbolicLink(Path.Combine(folder, "dir"), folder).FullName, "v.json"),
        };
        Directory.CreateDirectory(Path.Combine(folder, "sub"));

        var run = await Tool.RunAsync(command, $"--{option}", report, input);

        // kernel may print a note on the machine's congestion control first.
        Assert.Equal((2, "", $"simservice: {command}: --{option} {report} is {input}, a file this run reads: the report would overwrite it; name another file"),
            (run.ExitCode, run.Output, run.ErrorLines[^1]));
        Assert.Equal(before, File.ReadAllText(input));
    }

    /// <summary>A newcomer's <c>run --json scenarios/x.json other.json</c>: the existing scenario is not an input, and is refused all the same.</summary>
    [Theory]
    [InlineData("json", "x.json")]
    [InlineData("junit", "x.pkt")]
    public async Task ReportNamingAnExistingScenarioThatIsNotAnInput_Refused(string option, string name)
    {
        var folder = Tool.TempFolder();
        var existing = Path.Combine(folder, name);
        File.WriteAllText(existing, "kept");

        var run = await Tool.RunAsync("run", $"--{option}", existing, Passing);

        Assert.Equal((2, $"simservice: run: --{option} {existing} is an existing *.json, *.pkt file and not a report of this tool: the report would overwrite it; name another file (or delete it first)\n"),
            (run.ExitCode, run.Error));
        Assert.Equal("kept", File.ReadAllText(existing));
    }

    /// <summary>
    /// <c>--json</c> and <c>--junit</c> naming one file, spelled alike or not and whether it exists or not: refused before
    /// anything runs (the JUnit report used to overwrite the JSON one), and nothing is written.
    /// </summary>
    [Theory]
    [InlineData("run", "same")]
    [InlineData("run", "dotdot")]
    [InlineData("kernel", "same")]
    public async Task JsonAndJunitNamingOneFile_Refused_NothingWritten(string command, string spelling)
    {
        var folder = Tool.TempFolder();
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        var json = Path.Combine(folder, "report.xml");
        var junit = spelling == "same" ? json : Path.Combine(folder, "sub", "..", "report.xml");

        var run = await Tool.RunAsync(command, "--json", json, "--junit", junit, Passing);

        // kernel may print a note on the machine's congestion control first.
        Assert.Equal((2, "", $"simservice: {command}: --json {json} and --junit {junit} are the same file: one report would overwrite the other; name two files"),
            (run.ExitCode, run.Output, run.ErrorLines[^1]));
        Assert.False(File.Exists(json));
    }

    /// <summary>--junit a hard link to the --json report (an earlier one, so not refused for itself): one report would overwrite the other.</summary>
    [Fact]
    public async Task JsonAndJunitHardLinkedToOneFile_Refused_TheEarlierReportUntouched()
    {
        var folder = Tool.TempFolder();
        var json = Path.Combine(folder, "report.json");
        File.WriteAllText(json, """{ "tool": "simservice", "mode": "in-process", "files": [] }""");
        var junit = HardLink(json, Path.Combine(folder, "report.xml"));

        var run = await Tool.RunAsync("run", "--json", json, "--junit", junit, Passing);

        Assert.Equal((2, "", $"simservice: run: --json {json} and --junit {junit} are the same file: one report would overwrite the other; name two files"),
            (run.ExitCode, run.Output, run.ErrorLines[^1]));
        Assert.Equal("""{ "tool": "simservice", "mode": "in-process", "files": [] }""", File.ReadAllText(json));
    }

    /// <summary>
    /// A --pcap or --diagram file already in the folder under the name the artefact takes, as a hard or symbolic link to a
    /// scenario the run reads, is not written through (the scenario became an SVG): exit 3 with the option, the path and
    /// why; the run's line and summary stand.
    /// </summary>
    [Theory]
    [InlineData("diagram", ".svg", "hardlink")]
    [InlineData("pcap", ".pcapng", "symlink")]
    public async Task ArtefactNameLinkedToAnInput_NotWrittenThrough_ExitThree(string option, string extension, string spelling)
    {
        var folder = Tool.TempFolder();
        var input = Path.Combine(folder, "f.json");
        File.Copy(Path.Combine(Tool.Fixtures, "mixed", "failing-checks.json"), input);
        var before = File.ReadAllText(input);
        var artefact = Path.Combine(Directory.CreateDirectory(Path.Combine(folder, "out")).FullName, "f" + extension);
        if (spelling == "hardlink") HardLink(input, artefact);
        else File.CreateSymbolicLink(artefact, input);

        var run = await Tool.RunInAsync(folder, "run", "f.json", $"--{option}", "out");

        Assert.Equal((3, $"simservice: run: --{option} {artefact}: is f.json, a file this run reads: not written over it\n"), (run.ExitCode, run.Error));
        Assert.StartsWith("FAIL     f.json", run.Output);
        Assert.Equal(before, File.ReadAllText(input));
    }

    /// <summary>
    /// CI's loop: the reports written into the folder the run searches — the JUnit one named *.json too — are skipped
    /// by the next run of the folder (and written over by it); the second run passes as the first did.
    /// </summary>
    [Fact]
    public async Task ReportsInsideTheSearchedFolder_SecondRunSkipsThemAndOverwritesThem()
    {
        var folder = Tool.TempFolder();
        CopyOfPassing(folder);
        string json = Path.Combine(folder, "report.json"), junit = Path.Combine(Directory.CreateDirectory(Path.Combine(folder, "out")).FullName, "junit.json");
        string[] args = ["run", folder, "--json", json, "--junit", junit];

        var first = await Tool.RunAsync(args);
        var second = await Tool.RunAsync(args);

        Assert.Equal((0, ""), (first.ExitCode, first.Error));
        Assert.Equal((0, ""), (second.ExitCode, second.Error));
        Assert.Equal(["PASS", "1 file: 1 passed, 0 failed, 0 invalid"], second.OutputLines.Select(l => l[..Math.Min(l.Length, l.StartsWith("PASS") ? 4 : 37)]));
        Assert.Contains("\"tool\": \"simservice\"", File.ReadAllText(json));
    }

    /// <summary>The shape is the test, not the name: a scenario is no report, a report is one, a JSON object with a foreign "tool" is not.</summary>
    [Theory]
    [InlineData("""{ "tool": "simservice", "mode": "in-process", "files": [] }""", true)]
    [InlineData("""<?xml version="1.0" encoding="utf-8"?><testsuites name="simservice" tests="0"></testsuites>""", true)]
    [InlineData("""{ "tool": "other" }""", false)]
    [InlineData("""<testsuites name="pytest"></testsuites>""", false)]
    [InlineData("""{ "name": "t", "hosts": {}, "steps": [] }""", false)]
    [InlineData("""{ "tool": "simservice", """, false)]
    public void IsReport_ByShape(string text, bool report)
    {
        var file = Tool.TempFile("shape.json");
        File.WriteAllText(file, text);

        Assert.Equal(report, cli::SimService.Cli.Files.OwnReports.IsReport(file));
    }
}
