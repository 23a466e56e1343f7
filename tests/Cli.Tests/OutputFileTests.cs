using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// Output options (<c>--json</c>, <c>--junit</c>, <c>--pcap</c>, <c>--diagram</c>, <c>--output</c>) by one rule: missing
/// folders are created; a path that cannot be written is one line naming the option, the path and the OS's reason, and
/// exit 3 — never a stack trace. <c>run</c> and <c>kernel</c> still run every file and write every other output.
/// </summary>
public sealed class OutputFileTests
{
    const string Failing = "tests/Cli.Tests/Fixtures/mixed/failing-checks.json";
    const string Passing = "tests/Cli.Tests/Fixtures/mixed/passing.json";
    const string FailingScript = "packetdrill/wrong/time-wait-expected-over-at-30s.pkt";

    /// <summary>
    /// One unwritable output among four: the runs all run, the three others are written, the failing one is one line on
    /// stderr however many failed runs it was asked for, and the exit is 3 (it stopped the run before --json and --junit).
    /// </summary>
    [Theory]
    [InlineData("json", "x.json")]
    [InlineData("junit", "x.xml")]
    [InlineData("pcap", "dir")]
    [InlineData("diagram", "dir")]
    public async Task PathThroughAFile_Run_RunsEveryFileWritesTheOtherOutputsAndExitsThree(string option, string name)
    {
        var file = Tool.TempFile("a-file");
        File.WriteAllText(file, "");
        var folder = Tool.TempFolder();
        var outputs = new Dictionary<string, string>
        {
            ["json"] = Path.Combine(folder, "r.json"), ["junit"] = Path.Combine(folder, "r.xml"),
            ["pcap"] = Path.Combine(folder, "pcap"), ["diagram"] = Path.Combine(folder, "diagram"),
        };
        var path = outputs[option] = Path.Combine(file, name);

        var run = await Tool.RunAsync(["run", .. outputs.SelectMany(o => new[] { $"--{o.Key}", o.Value }), Failing, Passing, FailingScript]);

        Assert.Equal((3, $"simservice: run: --{option} {path}: Not a directory\n"), (run.ExitCode, run.Error));
        Assert.StartsWith("3 files: 1 passed, 2 failed, 0 invalid (in-process", run.OutputLines[^1]);
        foreach (var (other, written) in outputs.Where(o => o.Key != option))
            Assert.True(other is "json" or "junit" ? File.Exists(written) : Directory.GetFiles(written).Length == 2, $"--{other} {written} not written");
    }

    [Fact]
    public async Task FolderThatCannotBeMade_RunWithPcap_RunsAndExitsThreeWithOneLine()
    {
        var run = await Tool.RunAsync("run", "--pcap", "/proc/simservice-x", Failing);

        Assert.Equal((3, "simservice: run: --pcap /proc/simservice-x: No such file or directory\n"), (run.ExitCode, run.Error));
        Assert.StartsWith("1 file: 0 passed, 1 failed, 0 invalid", run.OutputLines[^1]);
    }

    /// <summary>A file option naming a folder is EISDIR, a folder option naming a file ENOTDIR (.NET said "access denied" and "exists").</summary>
    [Fact]
    public async Task FolderForAFileAndFileForAFolder_Run_SayWhatTheyAre()
    {
        var folder = Tool.TempFolder();
        var file = Tool.TempFile("a-file");
        File.WriteAllText(file, "");

        var run = await Tool.RunAsync("run", "--json", folder, "--diagram", file, Failing);

        Assert.Equal((3, $"simservice: run: --diagram {file}: Not a directory\nsimservice: run: --json {folder}: Is a directory\n"), (run.ExitCode, run.Error));
    }

    [Theory]
    [InlineData("json", "x.json")]
    [InlineData("junit", "x.xml")]
    [InlineData("pcap", "dir")]
    [InlineData("diagram", "dir")]
    public async Task MissingFolders_Run_AreCreated(string option, string name)
    {
        var path = Path.Combine(Tool.TempFolder(), "a", "b", name);

        var run = await Tool.RunAsync("run", $"--{option}", path, Failing);

        Assert.Equal((1, ""), (run.ExitCode, run.Error));
        Assert.True(File.Exists(path) || Directory.GetFiles(path).Length == 1, $"{path} not written");
    }

    [Fact]
    public async Task MissingFolderAndPathThroughAFile_NewWithOutput_CreatesTheFolderOrExitsThreeWithOneLine()
    {
        var created = Path.Combine(Tool.TempFolder(), "a", "starter.json");
        var file = Tool.TempFile("a-file");
        File.WriteAllText(file, "");

        var made = await Tool.RunAsync("new", "--output", created);
        var refused = await Tool.RunAsync("new", "--output", Path.Combine(file, "x.json"));

        Assert.Equal((0, ""), (made.ExitCode, made.Error));
        Assert.StartsWith("// A SimService scenario", File.ReadAllText(created));
        Assert.Equal((3, $"simservice: new: --output {file}/x.json: Not a directory\n"), (refused.ExitCode, refused.Error));
    }

    [Fact]
    public async Task CasesNotKept_FuzzEngine_SaysSoInsteadOfPrintingPathsThatWillNotExist()
    {
        var keep = Path.Combine(Tool.TempFolder(), "kept");

        var temporary = await Tool.RunAsync("fuzz", "--engine", "--cases", "1", "--seed", "3");
        var kept = await Tool.RunAsync("fuzz", "--engine", "--cases", "1", "--seed", "3", "--keep", keep);

        Assert.Equal((0, 0), (temporary.ExitCode, kept.ExitCode));
        Assert.EndsWith(" fuzz-3-0.json (not kept: use --keep DIR)", temporary.OutputLines[0]);
        Assert.EndsWith($" {Path.Combine(keep, "fuzz-3-0.json")}", kept.OutputLines[0]);
        Assert.True(File.Exists(Path.Combine(keep, "fuzz-3-0.json")));
    }
}
