extern alias cli;
using System.Net.Sockets;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// What the tool reads, as <c>find</c> and <c>rg</c> read (session 29): a folder search does not follow a symbolic link to
/// a folder (a link back up the tree crashed <c>validate</c>, <c>run</c> and <c>kernel</c>: "Too many levels of symbolic
/// links", exit 134) and passes FIFOs, devices and sockets by (a FIFO named *.json hung the search, a link to /dev/zero
/// ran it out of memory); a file named on the command line must be regular; no file larger than the API's request-body
/// limit (64 MiB) is read; a path the OS refuses is one line naming it, exit 2.
/// </summary>
public sealed class InputPathTests
{
    const string Passing = "tests/Cli.Tests/Fixtures/mixed/passing.json";

    static string CopyOfPassing(string folder, string name = "v.json")
    {
        Directory.CreateDirectory(folder);
        var copy = Path.Combine(folder, name);
        File.Copy(Path.Combine(Tool.RepoRoot, Passing), copy);
        return copy;
    }

    /// <summary>
    /// The tester's tree: cyc/a/v.json with cyc/a/up → .. and cyc/a/self → ../a, and a symbolic link to a scenario outside
    /// it (a linked file is read). Each command finds the two files once; <c>kernel</c> gets as far as its report refusal.
    /// </summary>
    [Theory]
    [InlineData("validate")]
    [InlineData("run")]
    [InlineData("kernel")]
    public async Task SymbolicLinkLoopInAFolder_NotFollowed_EachFileFoundOnce(string command)
    {
        var root = Tool.TempFolder();
        var cyc = Path.Combine(root, "cyc");
        CopyOfPassing(Path.Combine(cyc, "a"));
        Directory.CreateSymbolicLink(Path.Combine(cyc, "a", "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(cyc, "a", "self"), "../a");
        File.CreateSymbolicLink(Path.Combine(cyc, "linked.json"), CopyOfPassing(Path.Combine(root, "elsewhere"), "w.json"));
        var existing = CopyOfPassing(Path.Combine(root, "out"), "not-a-report.json");

        var run = command == "kernel"
            ? await Tool.RunInAsync(root, "kernel", "--json", existing, "cyc")
            : await Tool.RunInAsync(root, command, "cyc");

        if (command == "kernel")
        {
            // Past the search: the report option is refused before anything runs (kernel may print a note on congestion control first).
            Assert.Equal((2, $"simservice: kernel: --json {existing} is an existing *.json, *.pkt file and not a report of this tool: the report would overwrite it; name another file (or delete it first)"),
                (run.ExitCode, run.ErrorLines[^1]));
            return;
        }
        Assert.Equal((0, ""), (run.ExitCode, run.Error));
        var verdict = command == "run" ? "PASS" : "VALID";
        Assert.Equal([$"{verdict,-9}cyc/a/v.json", $"{verdict,-9}cyc/linked.json"], run.OutputLines[..^1].Select(l => l.Split("  (")[0]));
        Assert.StartsWith("2 files: 2 ", run.OutputLines[^1]);
    }

    /// <summary>A symbolic link to a folder named on the command line is searched (only links met during a search are not followed).</summary>
    [Fact]
    public async Task LinkToAFolderNamedOnTheCommandLine_Searched_ItsOwnLoopNot()
    {
        var root = Tool.TempFolder();
        CopyOfPassing(Path.Combine(root, "a"));
        Directory.CreateSymbolicLink(Path.Combine(root, "a", "self"), "../a");

        var run = await Tool.RunInAsync(root, "validate", "a/self");

        Assert.Equal((0, "", "VALID    a/self/v.json\n1 file: 1 valid, 0 invalid\n"), (run.ExitCode, run.Error, run.Output));
    }

    /// <summary>
    /// A FIFO, a link to /dev/zero and a socket named *.json beside a scenario: passed by, never opened (the FIFO hung
    /// <c>validate</c> — the search's report sniffing read every file whole —, /dev/zero ran it out of memory).
    /// </summary>
    [Theory]
    [InlineData("validate")]
    [InlineData("run")]
    public async Task FifoDeviceAndSocketInAFolder_PassedBy(string command)
    {
        var folder = Tool.TempFolder();
        CopyOfPassing(folder);
        MakeFifo(Path.Combine(folder, "f.json"));
        File.CreateSymbolicLink(Path.Combine(folder, "z.json"), "/dev/zero");
        using var socket = Listen(Path.Combine(folder, "s.pkt"));

        var run = await Tool.RunInAsync(folder, command, ".");

        Assert.Equal((0, ""), (run.ExitCode, run.Error));
        Assert.Equal([command == "run" ? "PASS     ./v.json" : "VALID    ./v.json"], run.OutputLines[..^1].Select(l => l.Split("  (")[0]));
    }

    /// <summary>A FIFO, a device or a socket named on the command line: one line saying what it is, exit 2, nothing run.</summary>
    [Theory]
    [InlineData("validate", "fifo", "a FIFO")]
    [InlineData("run", "zero", "a character device")]
    [InlineData("run", "socket", "a socket")]
    [InlineData("kernel", "fifo", "a FIFO")]
    public async Task NotARegularFileNamed_OneLineExitTwo(string command, string kind, string what)
    {
        var folder = Tool.TempFolder();
        var path = Path.Combine(folder, "x.json");
        using var socket = kind == "socket" ? Listen(path) : null;
        if (kind == "fifo") MakeFifo(path);
        if (kind == "zero") File.CreateSymbolicLink(path, "/dev/zero");

        var run = await Tool.RunAsync(command, path, Passing);

        Assert.Equal((2, "", $"simservice: {path}: {what}, not a regular file: the tool reads regular files only"), (run.ExitCode, run.Output, run.ErrorLines[^1]));
    }

    /// <summary>
    /// A file past 64 MiB, named or found, scenario or script: one line with its size and the limit, exit 2, nothing run
    /// (it was read whole: a 5 MB file of spaces was INVALID as "not valid JSON" after the read). 64 MiB exactly is read.
    /// </summary>
    [Theory]
    [InlineData("validate", "x.json", false)]
    [InlineData("run", "x.pkt", false)]
    [InlineData("validate", "x.pkt", true)]
    [InlineData("run", "x.json", true)]
    public async Task FileLargerThanTheLimit_OneLineExitTwo(string command, string name, bool inAFolder)
    {
        var folder = Tool.TempFolder();
        var big = Path.Combine(folder, "sub", name);
        Directory.CreateDirectory(Path.GetDirectoryName(big)!);
        File.WriteAllText(big, new string(' ', cli::SimService.Cli.Files.InputFiles.MaxBytes + 1));

        var run = await Tool.RunAsync(command, inAFolder ? folder : big, Passing);

        Assert.Equal((2, "", $"simservice: {big}: 67108865 bytes, larger than 64 MiB (67108864 bytes), the most the tool reads of a file\n"),
            (run.ExitCode, run.Output, run.Error));
    }

    [Fact]
    public async Task FileOfExactlyTheLimit_Read()
    {
        var file = Tool.TempFile("x.json");
        var text = File.ReadAllText(Path.Combine(Tool.RepoRoot, Passing));
        File.WriteAllText(file, text + new string(' ', cli::SimService.Cli.Files.InputFiles.MaxBytes - System.Text.Encoding.UTF8.GetByteCount(text)));

        var run = await Tool.RunAsync("validate", file);

        Assert.Equal((0, "", $"VALID    {file}\n1 file: 1 valid, 0 invalid\n"), (run.ExitCode, run.Error, run.Output));
    }

    /// <summary>
    /// A scenario larger than the API's 4 MiB request-body limit — as a server's export of a simulation of 35,000 commands or
    /// more is — runs in process, as README sends such an export to (tester36 MEDIUM-1: a 7.5 MB export was refused, "larger
    /// than 4 MiB", and `POST /scenarios/run` answered 413, so nothing ran it).
    /// </summary>
    [Fact]
    public async Task ScenarioLargerThanTheApisBodyLimit_RunsInProcess()
    {
        var file = Tool.TempFile("export.json");
        var steps = Enumerable.Range(1, 20_000).SelectMany(i => new[]
        {
            $$"""    { "at": "{{i}}us", "host": "client", "call": "socket", "as": "s{{i}}", "expect": { "result": 3 } }""",
            $$"""    { "at": "{{i}}us", "host": "client", "call": "setsockopt", "socket": "s{{i}}", "option": "SO_REUSEADDR", "value": 1, "expect": { "result": 0 } }""",
            $$"""    { "at": "{{i}}us", "host": "client", "call": "close", "socket": "s{{i}}", "expect": { "result": 0 } }""",
        });
        File.WriteAllText(file, $$"""
            { "name": "large-export",
              "hosts": { "client": { "address": "10.0.0.1" } },
              "steps": [
            {{string.Join(",\n", steps)}}
              ] }
            """);
        Assert.True(new FileInfo(file).Length > SimService.Api.Infrastructure.Hardening.HardeningSetup.DefaultMaxRequestBodyBytes);

        var run = await Tool.RunAsync("run", file);

        Assert.Equal((0, ""), (run.ExitCode, run.Error));
        Assert.StartsWith($"PASS     {file}", run.Output);
    }

    /// <summary>A report of the tool larger than the limit in a searched folder is still a report, skipped: the sniffing reads its first 4 KiB.</summary>
    [Fact]
    public async Task LargeReportInAFolder_SkippedNotRefused()
    {
        var folder = Tool.TempFolder();
        CopyOfPassing(folder);
        File.WriteAllText(Path.Combine(folder, "report.json"),
            """{ "tool": "simservice", "mode": "in-process", "files": [""" + string.Join(",", Enumerable.Repeat("""{ "file": "x" }""", 4_500_000)) + "] }");

        var run = await Tool.RunInAsync(folder, "validate", ".");

        Assert.Equal((0, "", "VALID    ./v.json\n1 file: 1 valid, 0 invalid\n"), (run.ExitCode, run.Error, run.Output));
    }

    /// <summary>A file linked to itself in a searched folder is an error of the OS on a path: one line naming it, exit 2.</summary>
    [Fact]
    public async Task LinkLoopOfAFileInAFolder_OneLineNamingIt()
    {
        var folder = Tool.TempFolder();
        CopyOfPassing(folder);
        File.CreateSymbolicLink(Path.Combine(folder, "loop.json"), "loop.json");

        var run = await Tool.RunInAsync(folder, "validate", ".");

        Assert.Equal((2, "", "simservice: ./loop.json: Too many levels of symbolic links\n"), (run.ExitCode, run.Output, run.Error));
    }

    static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }
    /// <summary>Runs <paramref name="script"/> with sh, its arguments as $0, $1, …: names of raw bytes that .NET cannot make or remove.</summary>
    static void Shell(string script, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("sh") { ArgumentList = { "-c", script } };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var shell = System.Diagnostics.Process.Start(start)!;
        shell.WaitForExit();
        Assert.Equal(0, shell.ExitCode);
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="folder"/> under a name of raw bytes (printf's octal escapes), as .NET cannot name one.</summary>
    static void CopyAsBytes(string source, string folder, string printfName) =>
        Shell("mkdir -p \"$(dirname \"$1/$(printf \"$2\")\")\" && cp \"$0\" \"$1/$(printf \"$2\")\"", source, folder, printfName);

    /// <summary>
    /// A name that is not UTF-8 (bad\xff.json) reaches .NET with U+FFFD for the bad byte, a name of no file: a folder search
    /// passed it by without a word ("1 file: 1 passed" — a CI run passing with a case it did not read), and named it was "no
    /// such file or folder". Found or named, file or folder, it is one line naming it and why, exit 2.
    /// </summary>
    [Theory]
    [InlineData("run", "odd", "odd/bad\uFFFD.json", "bad\uFFFD.json")]
    [InlineData("validate", "odd", "odd/bad\uFFFD.json", "bad\uFFFD.json")]
    [InlineData("run", "odd/bad\uFFFD.json", "odd/bad\uFFFD.json", "bad\uFFFD.json")]
    [InlineData("run", "odder", "odder/dir\uFFFD", "dir\uFFFD")]
    public async Task NameThatIsNotUtf8_FoundOrNamed_IsOneLineAndExitTwo(string command, string path, string shown, string name)
    {
        var root = Tool.TempFolder();
        CopyOfPassing(Path.Combine(root, "odd"), "ok.json");
        CopyAsBytes(Path.Combine(Tool.RepoRoot, Passing), Path.Combine(root, "odd"), "bad\\377.json");
        CopyAsBytes(Path.Combine(Tool.RepoRoot, Passing), Path.Combine(root, "odder"), "dir\\377/v.json");

        var run = await Tool.RunInAsync(root, command, path);
        Shell("rm -r \"$0\"", root);

        Assert.Equal((2, "", $"simservice: {shown}: the name {name} is not valid UTF-8 (\uFFFD stands for each byte that is not): the tool opens files by UTF-8 names only; rename it\n"),
            (run.ExitCode, run.Output, run.Error));
    }

    /// <summary>
    /// A file whose bytes are not UTF-8 (a Latin-1 "café", a stray 0xFF) was read with U+FFFD for each bad byte and run — or
    /// sent to a server — as another text than the file's; the API refuses such a body naming the byte. The tool reports the
    /// file INVALID at its first bad byte's offset (after a UTF-8 byte order mark, counted), runs the other files, exit 2.
    /// </summary>
    [Theory]
    [InlineData("run")]
    [InlineData("validate")]
    public async Task FileThatIsNotUtf8_InvalidAtTheByte_OtherFilesStillRun(string command)
    {
        var folder = Tool.TempFolder();
        CopyOfPassing(folder, "a.json");
        File.WriteAllBytes(Path.Combine(folder, "b.json"), [.. "{\"name\":\"x\",\"description\":\"caf"u8, 0xE9, .. "\",\"hosts\":{},\"steps\":[]}"u8]);
        File.WriteAllBytes(Path.Combine(folder, "c.pkt"), [0xEF, 0xBB, 0xBF, .. "`./defaults.sh`\n    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // "u8, 0xFF, 0xFE, .. "\n"u8]);

        var run = await Tool.RunInAsync(folder, command, ".");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"INVALID  ./b.json  (1 problem)\n         $: cannot read the file: the file is not UTF-8 text: byte 30 (0xE9) begins no UTF-8 character; save it in UTF-8\n", run.Output);
        Assert.Contains($"INVALID  ./c.pkt  (1 problem)\n         $: cannot read the file: the file is not UTF-8 text: byte 70 (0xFF) begins no UTF-8 character; save it in UTF-8\n", run.Output);
        Assert.Contains(command == "run" ? "PASS     ./a.json" : "VALID    ./a.json", run.Output);
    }
}
