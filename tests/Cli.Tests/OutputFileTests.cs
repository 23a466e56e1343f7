using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// Output options (<c>--json</c>, <c>--junit</c>, <c>--pcap</c>, <c>--diagram</c>, <c>--keep</c>, <c>--output</c>) by one
/// rule: the folder an output goes into must exist (a folder option's own folder is made, never a missing parent); a path
/// that cannot be written is one line naming the option, the path and the OS's reason, and exit 3 — never a stack trace.
/// <c>run</c> and <c>kernel</c> still run every file and write every other output.
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

    /// <summary>
    /// A missing folder on the way to an output is not made (session 29: <c>new --output /nonexistent/dir/x.json</c> made
    /// /nonexistent/dir and exited 0): one line, exit 3, nothing created; the runs still run and the other outputs are written.
    /// </summary>
    [Theory]
    [InlineData("json", "x.json")]
    [InlineData("junit", "x.xml")]
    [InlineData("pcap", "dir")]
    [InlineData("diagram", "dir")]
    public async Task MissingParentFolder_Run_NotMadeExitsThreeWithOneLine(string option, string name)
    {
        var folder = Tool.TempFolder();
        var path = Path.Combine(folder, "a", "b", name);
        var other = Path.Combine(folder, option == "json" ? "r.xml" : "r.json");

        var run = await Tool.RunAsync("run", $"--{option}", path, option == "json" ? "--junit" : "--json", other, Failing);

        Assert.Equal((3, $"simservice: run: --{option} {path}: No such file or directory\n"), (run.ExitCode, run.Error));
        Assert.StartsWith("1 file: 0 passed, 1 failed, 0 invalid", run.OutputLines[^1]);
        Assert.False(Directory.Exists(Path.Combine(folder, "a")));
        Assert.True(File.Exists(other));
    }

    /// <summary>A folder option's own folder is made when missing, in a folder that exists.</summary>
    [Theory]
    [InlineData("pcap")]
    [InlineData("diagram")]
    public async Task MissingFolderOfAFolderOption_Run_IsMade(string option)
    {
        var path = Path.Combine(Tool.TempFolder(), "new");

        var run = await Tool.RunAsync("run", $"--{option}", path, Failing);

        Assert.Equal((1, ""), (run.ExitCode, run.Error));
        Assert.Single(Directory.GetFiles(path));
    }

    [Fact]
    public async Task MissingParentFolderAndPathThroughAFile_NewWithOutput_ExitThreeWithOneLineNothingMade()
    {
        var folder = Tool.TempFolder();
        var written = Path.Combine(folder, "starter.json");
        var missing = Path.Combine(folder, "a", "starter.json");
        var file = Tool.TempFile("a-file");
        File.WriteAllText(file, "");

        var made = await Tool.RunAsync("new", "--output", written);
        var noFolder = await Tool.RunAsync("new", "--output", missing);
        var refused = await Tool.RunAsync("new", "--output", Path.Combine(file, "x.json"));

        Assert.Equal((0, ""), (made.ExitCode, made.Error));
        Assert.StartsWith("// A SimService scenario", File.ReadAllText(written));
        Assert.Equal((3, "", $"simservice: new: --output {missing}: No such file or directory\n"), (noFolder.ExitCode, noFolder.Output, noFolder.Error));
        Assert.False(Directory.Exists(Path.Combine(folder, "a")));
        Assert.Equal((3, $"simservice: new: --output {file}/x.json: Not a directory\n"), (refused.ExitCode, refused.Error));
    }

    /// <summary><c>fuzz --keep DIR</c>: DIR is made, its missing parent is not (one line, exit 3, no case drawn).</summary>
    [Fact]
    public async Task KeepInAMissingFolder_FuzzEngine_NotMadeExitsThreeWithOneLine()
    {
        var folder = Tool.TempFolder();
        var keep = Path.Combine(folder, "a", "kept");

        var run = await Tool.RunAsync("fuzz", "--engine", "--cases", "1", "--keep", keep);

        Assert.Equal((3, "", $"simservice: fuzz: --keep {keep}: No such file or directory\n"), (run.ExitCode, run.Output, run.Error));
        Assert.False(Directory.Exists(Path.Combine(folder, "a")));
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
    /// <summary>
    /// Two failed files whose paths flatten alike (x/y_z.json and x_y/z.pkt are both x_y_z) each keep their own capture and
    /// diagram: the second takes x_y_z-2 (it overwrote the first's, and both lines said "saved"). Each saved file is the one
    /// its file makes alone.
    /// </summary>
    [Fact]
    public async Task FailedFilesWhosePathsFlattenAlike_Run_EachKeepsItsArtefacts()
    {
        var root = Tool.TempFolder();
        Directory.CreateDirectory(Path.Combine(root, "x"));
        Directory.CreateDirectory(Path.Combine(root, "x_y"));
        File.Copy(Path.Combine(Tool.RepoRoot, Failing), Path.Combine(root, "x", "y_z.json"));
        File.Copy(Path.Combine(Tool.RepoRoot, FailingScript), Path.Combine(root, "x_y", "z.pkt"));

        var both = await Tool.RunInAsync(root, "run", "x/y_z.json", "x_y/z.pkt", "--pcap", "pc", "--diagram", "dg");
        var first = await Tool.RunInAsync(root, "run", "x/y_z.json", "--pcap", "pc1", "--diagram", "dg1");
        var second = await Tool.RunInAsync(root, "run", "x_y/z.pkt", "--pcap", "pc2", "--diagram", "dg2");

        Assert.Equal((1, 1, 1), (both.ExitCode, first.ExitCode, second.ExitCode));
        Assert.Equal([$"saved pcap: {root}/pc/x_y_z.pcapng", $"saved diagram: {root}/dg/x_y_z.svg", $"saved pcap: {root}/pc/x_y_z-2.pcapng", $"saved diagram: {root}/dg/x_y_z-2.svg"],
            both.OutputLines.Where(l => l.Contains("saved ", StringComparison.Ordinal)).Select(l => l.Trim()));
        foreach (var (folder, ext) in new[] { ("pc", ".pcapng"), ("dg", ".svg") })
        {
            Assert.Equal(2, Directory.GetFiles(Path.Combine(root, folder)).Length);
            Assert.Equal(File.ReadAllBytes(Path.Combine(root, folder + "1", "x_y_z" + ext)), File.ReadAllBytes(Path.Combine(root, folder, "x_y_z" + ext)));
            Assert.Equal(File.ReadAllBytes(Path.Combine(root, folder + "2", "x_y_z" + ext)), File.ReadAllBytes(Path.Combine(root, folder, "x_y_z-2" + ext)));
        }
    }

    /// <summary>
    /// <c>fuzz --keep DIR</c> wrote a case over whatever file had its name — a kept case edited into a regression scenario
    /// was lost without a word. The same seed again replaces its own identical case; an edited one is not written over:
    /// one line naming it, exit 3, the file as the user left it.
    /// </summary>
    [Fact]
    public async Task KeptCaseEdited_FuzzAgain_IsNotWrittenOver()
    {
        var keep = Tool.TempFolder();
        string[] fuzz = ["fuzz", "--engine", "--profile", "close", "--cases", "1", "--seed", "5", "--keep", keep];
        var kept = Path.Combine(keep, "fuzz-close-5-0.json");

        var first = await Tool.RunAsync(fuzz);
        var drawn = File.ReadAllText(kept);
        var again = await Tool.RunAsync(fuzz);
        var redrawn = File.ReadAllText(kept);
        File.WriteAllText(kept, "{\"mine\":true}");
        var edited = await Tool.RunAsync(fuzz);

        Assert.Equal((0, 0, ""), (first.ExitCode, again.ExitCode, again.Error));
        Assert.Equal(drawn, redrawn);
        Assert.Equal((3, $"simservice: fuzz: --keep {kept}: exists and is not this case as drawn (an edited case?): not written over it; move it, or keep the cases in another folder\n"),
            (edited.ExitCode, edited.Error));
        Assert.Equal("{\"mine\":true}", File.ReadAllText(kept));
    }

    /// <summary><c>kernel --fuzz-pkt --keep DIR</c> by the same rule: an edited fuzz-S.pkt is not written over, before any case runs.</summary>
    [KernelFact]
    public async Task KeptScriptEdited_FuzzPktAgain_IsNotWrittenOver()
    {
        var keep = Tool.TempFolder();
        var kept = Path.Combine(keep, "fuzz-5.pkt");
        File.WriteAllText(kept, "// mine\n");

        var run = await Tool.RunAsync("kernel", "--fuzz-pkt", "1", "--seed", "5", "--keep", keep);

        Assert.Equal((3, $"simservice: kernel: --keep {kept}: exists and is not this case as drawn (an edited case?): not written over it; move it, or keep the cases in another folder"),
            (run.ExitCode, run.ErrorLines[^1]));
        Assert.Equal("// mine\n", File.ReadAllText(kept));
        Assert.Equal([kept], Directory.GetFiles(keep));
    }
}
