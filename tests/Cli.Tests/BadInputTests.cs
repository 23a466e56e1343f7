using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// What a new user gets wrong on the command line: each is one line on stderr and exit 2 (or an INVALID file) — never a
/// crash (exit 134 and a stack trace), a .NET exception's text, or exit 0.
/// </summary>
public sealed class BadInputTests
{
    const string Passing = "tests/Cli.Tests/Fixtures/mixed/passing.json";

    /// <summary>
    /// --cases past int crashed Enumerable.Range (exit 134); --case past int wrapped to another case; a negative --case ran
    /// them all. The line names the option, its value and its range, as <c>kernel</c>'s do (one line listed all three options' ranges).
    /// </summary>
    [Theory]
    [InlineData("--cases", "3000000000", "1 to 2147483647")]
    [InlineData("--cases", "-1", "1 to 2147483647")]
    [InlineData("--cases", "0", "1 to 2147483647")]
    [InlineData("--case", "99999999999", "0 to 2147483647")]
    [InlineData("--case", "-5", "0 to 2147483647")]
    [InlineData("--seed", "18446744073709551616", "-9223372036854775808 to 9223372036854775807")]
    [InlineData("--seed", "x", "-9223372036854775808 to 9223372036854775807")]
    public async Task Fuzz_CaseNumbersOutOfRange_IsOneLineNamingTheOptionAndExitTwo(string option, string value, string range)
    {
        var run = await Tool.RunAsync("fuzz", "--engine", option, value);

        Assert.Equal((2, "", $"simservice: fuzz: {option}: '{value}' is not a whole number from {range}\n"),
            (run.ExitCode, run.Output, run.Error));
    }

    /// <summary>An option whose value is forgotten took the next option as its value (<c>--json --junit r.xml</c>: --json "--junit", then "r.xml: no such file").</summary>
    [Fact]
    public async Task OptionFollowedByAnotherOption_Run_SaysItNeedsAValue()
    {
        var folder = Tool.TempFolder();
        var passing = Path.Combine(Tool.RepoRoot, Passing);

        var forgotten = await Tool.RunInAsync(folder, "run", "--json", "--junit", "r.xml", passing);
        var inline = await Tool.RunInAsync(folder, "run", "--json=--r.json", passing);

        Assert.Equal((2, "simservice: run: --json needs a value\n"), (forgotten.ExitCode, forgotten.Error));
        Assert.Empty(Directory.GetFiles(folder, "r.xml"));
        Assert.Equal((0, ""), (inline.ExitCode, inline.Error));
        Assert.True(File.Exists(Path.Combine(folder, "--r.json")));
    }

    /// <summary>
    /// A script nesting 100,000 braces overflowed the parser's stack: "Stack overflow." and exit 134 on validate, run and
    /// kernel. It is INVALID at the first brace past the 64 levels a value may nest.
    /// </summary>
    [Fact]
    public async Task DeeplyNestedScript_Validate_IsInvalidAtTheBrace()
    {
        var script = Tool.TempFile("deep.pkt");
        File.WriteAllText(script, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_LINGER, "
            + new string('{', 100_000) + new string('}', 100_000) + ", 8) = 0\n");

        var validate = await Tool.RunAsync("validate", script);

        Assert.Equal((2, ""), (validate.ExitCode, validate.Error));
        Assert.Equal([$"INVALID  {script}  (1 problem)",
            "         line 2, column 105: a value nested deeper than 64 levels ({ }, [ ], ( ) and each | or = count one)",
            "1 file: 0 valid, 1 invalid"], validate.OutputLines);
    }

    /// <summary>
    /// Control characters quoted from a file reached the terminal raw: an ESC [2J cleared the screen, an OSC retitled the
    /// window, a newline in a value started a line that looked like the tool's own. They are written as JSON escapes.
    /// </summary>
    [Fact]
    public async Task ControlCharactersFromAFile_AreEscapedOnTheConsole()
    {
        var scenario = Tool.TempFile("escape.json");
        File.WriteAllText(scenario, """{"name":"x","hosts":{"a":{"address":"10.0.0.1"}},"steps":[{"at":"0s","host":"a","call":"\u001b[2J\u001b]0;pwned\u0007listen\nPASS     all.json","port":80}]}""");

        var validate = await Tool.RunAsync("validate", scenario);
        var run = await Tool.RunAsync("run", scenario);

        Assert.Equal(2, validate.ExitCode);
        Assert.DoesNotContain(validate.Output, c => char.IsControl(c) && c != '\n');
        Assert.DoesNotContain(run.Output, c => char.IsControl(c) && c != '\n');
        var quoted = validate.OutputLines.Single(l => l.Contains("unknown value", StringComparison.Ordinal));
        Assert.StartsWith("         $.steps[0].call: unknown value \"\\u001b[2J\\u001b]0;pwned\\u0007listen\\nPASS     all.json\"", quoted);
        Assert.Contains(quoted, run.OutputLines);
        Assert.DoesNotContain(run.OutputLines, l => l.StartsWith("PASS", StringComparison.Ordinal));
    }

    /// <summary>
    /// A lone surrogate escape (<c>"\ud800"</c>) parsed, then crashed the tool re-writing the document without its comments:
    /// an unhandled InvalidOperationException, exit 134, the folder's later files never run and no JUnit report. It is an
    /// INVALID file at its field, in the API's words, and every other file runs.
    /// </summary>
    [Fact]
    public async Task LoneSurrogateEscape_RunAFolder_IsInvalidAtItsFieldAndTheRestRuns()
    {
        var folder = Tool.TempFolder();
        File.Copy(Path.Combine(Tool.RepoRoot, Passing), Path.Combine(folder, "a.json"));
        File.WriteAllText(Path.Combine(folder, "b.json"), """{"name":"t","description":"x\udc00","hosts":{},"steps":[]} // a comment""");
        File.Copy(Path.Combine(Tool.RepoRoot, Passing), Path.Combine(folder, "c.json"));

        var validate = await Tool.RunInAsync(folder, "validate", "b.json");
        var run = await Tool.RunInAsync(folder, "run", "--junit", "r.xml", ".");

        Assert.Equal((2, ""), (validate.ExitCode, validate.Error));
        Assert.Equal(["INVALID  b.json  (1 problem)",
            "         $.description: The text is not valid Unicode: invalid UTF-8 bytes or a lone surrogate escape.",
            "1 file: 0 valid, 1 invalid"], validate.OutputLines);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(2, run.OutputLines.Count(l => l.StartsWith("PASS", StringComparison.Ordinal)));
        Assert.Contains("lone surrogate", File.ReadAllText(Path.Combine(folder, "r.xml")));
    }

    /// <summary>An empty script passed with 0 checks (exit 0); packetdrill's grammar needs one event.</summary>
    [Fact]
    public async Task EmptyScript_RunAndValidate_AreInvalid()
    {
        var script = Tool.TempFile("empty.pkt");
        File.WriteAllText(script, "// nothing yet\n");

        var run = await Tool.RunAsync("run", script);
        var validate = await Tool.RunAsync("validate", script);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"INVALID  {script}  (1 problem)", "         line 2, column 1: the script has no events (packetdrill needs at least one)"], run.OutputLines[..2]);
        Assert.Equal(2, validate.ExitCode);
    }

    /// <summary>
    /// What packetdrill itself stops at is INVALID at its line: an absolute time before the absolute time of the event before
    /// it (run.c's get_next_event()), a descriptor past 32 bits (run_system_call.c's get_s32()). Both passed.
    /// </summary>
    [Theory]
    [InlineData("0.050 close(4) = 0", "line 9, column 1: time goes backward in script from 100000 usec to 50000 usec")]
    [InlineData("0.100 close(99999999999) = -1 EBADF (Bad file descriptor)", "line 9, column 13: Value out of range for 32-bit integer: 99999999999")]
    public async Task ScriptPacketdrillStops_RunIsInvalidAtTheLine(string line, string problem)
    {
        var script = Tool.TempFile("stops.pkt");
        File.WriteAllText(script, SimService.Tests.Shared.SharedTestData.AbsoluteHandshake + line + "\n");

        var run = await Tool.RunAsync("run", script);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"INVALID  {script}  (1 problem)", $"         {problem}"], run.OutputLines[..2]);
    }

    /// <summary>--record with a scenario tried to read the JSON as a script: "FAIL … expected an event time, found '{'" for every line, exit 1.</summary>
    [Fact]
    public async Task Scenario_RunRecord_IsAUsageErrorNamingIt()
    {
        var run = await Tool.RunAsync("run", "--record", "packetdrill/zero-window-probe.pkt", Passing);

        Assert.Equal((2, "", $"simservice: run: --record records packetdrill scripts (*.pkt) only: {Passing} is not one\n"), (run.ExitCode, run.Output, run.Error));
    }

    /// <summary>An option the mode drops was dropped without a word (a --json never written, --record on the engine despite --server; exit 0).</summary>
    [Theory]
    [InlineData("run --record --json r.json packetdrill/zero-window-probe.pkt", "run: --json is not used with --record, which records on the engine in process and prints the recordings")]
    [InlineData("run --record --server http://127.0.0.1:1 packetdrill/zero-window-probe.pkt", "run: --server is not used with --record, which records on the engine in process and prints the recordings")]
    [InlineData("kernel --keep kept packetdrill/zero-window-probe.pkt", "kernel: --keep goes with --fuzz-pkt N")]
    [InlineData("kernel --fuzz-edges packetdrill/zero-window-probe.pkt", "kernel: --fuzz-edges goes with --fuzz-pkt N")]
    [InlineData("kernel --fuzz-rcv packetdrill/zero-window-probe.pkt", "kernel: --fuzz-rcv goes with --fuzz-pkt N")]
    [InlineData("kernel --fuzz-opts packetdrill/zero-window-probe.pkt", "kernel: --fuzz-opts goes with --fuzz-pkt N")]
    [InlineData("kernel --fuzz-pkt 2 --junit r.xml", "kernel: --junit is not written with --fuzz-pkt, which prints a verdict per script instead")]
    [InlineData("kernel --record --json r.json packetdrill/zero-window-probe.pkt", "kernel: --json is not written with --record, which prints a verdict per script instead")]
    [InlineData("kernel --fuzz-pkt 2 packetdrill/zero-window-probe.pkt", "kernel: --fuzz-pkt writes its own cases, so packetdrill/zero-window-probe.pkt would not run (--record FILE… records given scripts)")]
    public async Task OptionTheModeDoesNotUse_IsOneLineAndExitTwo(string command, string message)
    {
        var run = await Tool.RunAsync(command.Split(' '));

        Assert.Equal((2, "", $"simservice: {message}\n"), (run.ExitCode, run.Output, run.Error));
    }

    /// <summary>An id that is no UUID went into the request's path (<c>../x</c> asked another endpoint) and came back as "not JSON: is it a SimService server?".</summary>
    [Theory]
    [InlineData("not-an-id")]
    [InlineData("../../health")]
    public async Task IdThatIsNoUuid_Export_IsAUsageErrorBeforeAnyRequest(string id)
    {
        var run = await Tool.RunAsync("export", "--server", "http://127.0.0.1:1", id);

        Assert.Equal((2, $"simservice: export: '{id}' is not a simulation id (a UUID such as 01a20b44-0000-7000-8000-000000000000)\n"), (run.ExitCode, run.Error));
    }

    /// <summary>
    /// "-" names no file or folder (it made a file named "-"): <c>new</c>'s and <c>export</c>'s --output take it for standard
    /// output, the only output they have; run's and kernel's reports and the folder options share standard output with the
    /// command's lines, so there it is one line and exit 2 before anything runs — nothing named "-" is made.
    /// </summary>
    [Theory]
    [InlineData("run --json -", "run: --json -", "file")]
    [InlineData("run --junit=-", "run: --junit -", "file")]
    [InlineData("run --pcap -", "run: --pcap -", "folder")]
    [InlineData("run --diagram -", "run: --diagram -", "folder")]
    [InlineData("kernel --json -", "kernel: --json -", "file")]
    [InlineData("fuzz --engine --keep -", "fuzz: --keep -", "folder")]
    public async Task DashForAnOutputThatSharesStandardOutput_IsOneLineAndExitTwo(string command, string option, string what)
    {
        var folder = Tool.TempFolder();
        string[] file = command.StartsWith("fuzz", StringComparison.Ordinal) ? [] : [Path.Combine(Tool.RepoRoot, "tests/Cli.Tests/Fixtures/mixed/failing-checks.json")];

        var run = await Tool.RunInAsync(folder, [.. command.Split(' '), .. file]);

        Assert.Equal((2, "", $"simservice: {option}: standard output carries this command's own lines, so \"-\" is not taken for it; name a {what}\n"),
            (run.ExitCode, run.Output, run.Error));
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    /// <summary>A refusal says what is allowed: a port past 65535 is not "not an http:// URL", a base URL has no query or fragment; a seed past the signed 64-bit range is a number.</summary>
    [Theory]
    [InlineData("http://127.0.0.1:99999", "--server: 'http://127.0.0.1:99999' has port 99999: a port is 1 to 65535")]
    [InlineData("https://u:p@h:123456/api/v1", "--server: 'https://***@h:123456/api/v1' has port 123456: a port is 1 to 65535")]
    [InlineData("http://host name:80/", "--server: 'http://host name:80/' is not an http:// or https:// URL")]
    // tester38 LOW-14: a query or a fragment ran, printed as "server http://localhost:5193/?x=1/".
    [InlineData("http://127.0.0.1:9/?x=1", "--server: 'http://127.0.0.1:9/?x=1' has a query: a base URL has no query or fragment")]
    [InlineData("https://u:p@127.0.0.1:9/api/v1#frag", "--server: 'https://***@127.0.0.1:9/api/v1#frag' has a fragment: a base URL has no query or fragment")]
    public async Task ServerUrlThatIsRefused_SaysWhy(string server, string message)
    {
        var run = await Tool.RunAsync("run", "--server", server, Passing);

        Assert.Equal((2, $"simservice: {message}\n"), (run.ExitCode, run.Error));
    }

    /// <summary>A seed past the signed 64-bit range is a number all the same: the refusal names the range.</summary>
    [KernelFact]
    public async Task SeedPastTheSigned64BitRange_KernelFuzzPkt_NamesTheRange()
    {
        var run = await Tool.RunAsync("kernel", "--fuzz-pkt", "1", "--seed", "18446744073709551615");

        Assert.Equal((2, $"simservice: kernel: --seed: '18446744073709551615' is not a whole number from {long.MinValue} to {long.MaxValue}"), (run.ExitCode, run.ErrorLines[^1]));
    }

    /// <summary>Seeds S..S+N-1 past long.MaxValue ran no case and exited 0 ("1 cases: 0 agree, … 0 differ").</summary>
    [KernelFact]
    public async Task SeedsPastTheLastLong_KernelFuzzPkt_IsAUsageError()
    {
        var run = await Tool.RunAsync("kernel", "--fuzz-pkt", "2", "--seed", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"simservice: kernel: --seed: {long.MaxValue} leaves no room for 2 cases (seeds S to S+N-1 must stay below {long.MaxValue})", run.ErrorLines[^1]);
    }
}
