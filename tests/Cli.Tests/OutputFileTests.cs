using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// Output options (<c>--json</c>, <c>--junit</c>, <c>--pcap</c>, <c>--diagram</c>, <c>--output</c>) by one rule: missing
/// folders are created; a path that cannot be written is exit 2 with one line naming the option, the path and the OS's
/// reason — never a stack trace.
/// </summary>
public sealed class OutputFileTests
{
    const string Failing = "tests/Cli.Tests/Fixtures/mixed/failing-checks.json";

    [Theory]
    [InlineData("json", "x.json")]
    [InlineData("junit", "x.xml")]
    [InlineData("pcap", "dir")]
    [InlineData("diagram", "dir")]
    public async Task PathThroughAFile_Run_ExitsTwoWithOneLineNamingTheOptionPathAndReason(string option, string name)
    {
        var file = Tool.TempFile("a-file");
        File.WriteAllText(file, "");
        var path = Path.Combine(file, name);

        var run = await Tool.RunAsync("run", $"--{option}", path, Failing);

        Assert.Equal((2, $"simservice: run: --{option} {path}: Not a directory\n"), (run.ExitCode, run.Error));
    }

    [Fact]
    public async Task FolderThatCannotBeMade_RunWithPcap_ExitsTwoWithOneLine()
    {
        var run = await Tool.RunAsync("run", "--pcap", "/proc/simservice-x", Failing);

        Assert.Equal((2, "simservice: run: --pcap /proc/simservice-x: No such file or directory\n"), (run.ExitCode, run.Error));
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
    public async Task MissingFolderAndPathThroughAFile_NewWithOutput_CreatesTheFolderOrExitsTwoWithOneLine()
    {
        var created = Path.Combine(Tool.TempFolder(), "a", "starter.json");
        var file = Tool.TempFile("a-file");
        File.WriteAllText(file, "");

        var made = await Tool.RunAsync("new", "--output", created);
        var refused = await Tool.RunAsync("new", "--output", Path.Combine(file, "x.json"));

        Assert.Equal((0, ""), (made.ExitCode, made.Error));
        Assert.StartsWith("// A SimService scenario", File.ReadAllText(created));
        Assert.Equal((2, $"simservice: new: --output {file}/x.json: Not a directory\n"), (refused.ExitCode, refused.Error));
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
