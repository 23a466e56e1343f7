extern alias cli;

using System.Text.Json;
using System.Xml.Linq;
using cli::SimService.Cli.Kernel;
using cli::SimService.Cli.Reports;
using cli::SimService.Cli.Running;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice kernel --diff</c>'s report in the machine-readable outputs: a planted wrong kernel outcome
/// (<see cref="OutcomeDiffTests.WrongKernelOutcome"/>) appears in --json as one record per difference, and in --junit
/// as the case's output, or with --strict as a failure carrying each difference's text.
/// </summary>
public sealed class DiffReportTests
{
    private const long Ms = 1_000_000;

    private static FileResult Scenario(bool strict, bool checkFailed = false)
    {
        var report = OutcomeDiff.Compare(OutcomeDiffTests.OrderlyClose(40000), OutcomeDiffTests.WrongKernelOutcome(), 4 * Ms);
        CheckOutcome[] checks = [new(!checkFailed, "packets", "$.expect.packets[0]", "F.", checkFailed ? "R." : "F.", "100ms", 100 * Ms)];
        return new FileResult("scenarios/orderly.json", "scenario", checkFailed ? FileOutcome.Failed : FileOutcome.Passed, checks, [], null, 130 * Ms, null, 1.5)
        {
            Diff = report.ToResult(strict),
        };
    }

    [Fact]
    public void Json_WrongKernelOutcome_EachDifferenceIsARecord()
    {
        var path = Tool.TempFile("diff.json");

        JsonReport.Write(path, [Scenario(strict: false), Scenario(strict: false) with { File = "scenarios/plain.json", Diff = null }], [], "kernel", null, 3);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(1, json.RootElement.GetProperty("summary").GetProperty("differing").GetInt32());
        var files = json.RootElement.GetProperty("files");
        Assert.False(files[1].TryGetProperty("diff", out _));
        var diff = files[0].GetProperty("diff");
        Assert.Equal(7, diff.GetProperty("differences").GetInt32());
        Assert.Equal(1, diff.GetProperty("unmodelled").GetInt32());
        Assert.False(diff.GetProperty("strict").GetBoolean());
        var items = diff.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["packet engine-only", "packet kernel-only", "packet differ", "socket engine-only", "socket kernel-only", "counter differ", "counter differ",
            "unmodelled-counter kernel-only"], items.Select(i => $"{i.GetProperty("kind").GetString()} {i.GetProperty("what").GetString()}"));

        var rst = items[1];
        Assert.Equal("client:~1 > server:80", rst.GetProperty("where").GetString());
        Assert.Equal(100 * Ms, rst.GetProperty("atNs").GetInt64());
        Assert.Equal("100ms ~1>80 R. seq=1 ack=1 win=64 len=0 <TS>", rst.GetProperty("kernel").GetString());
        Assert.False(rst.TryGetProperty("engine", out _));
        Assert.Equal("packets client:~1 > server:80: kernel only: 100ms ~1>80 R. seq=1 ack=1 win=64 len=0 <TS>", rst.GetProperty("text").GetString());

        var fin = items[2];
        Assert.Equal("server:80 > client:~1", fin.GetProperty("where").GetString());
        Assert.Equal(110 * Ms, fin.GetProperty("atNs").GetInt64());
        Assert.Equal(118 * Ms, fin.GetProperty("kernelAtNs").GetInt64());
        Assert.Equal(["win 64 → 63", "time +8.0 ms"], fin.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));

        var timeWait = items[3];
        Assert.Equal("$.steps[5]", timeWait.GetProperty("where").GetString());
        Assert.Equal("client TIME-WAIT (timewait socket) :~1 > server:80", timeWait.GetProperty("engine").GetString());
        Assert.Equal("client FIN-WAIT-2 :~1 > server:80", items[4].GetProperty("kernel").GetString());

        var tw = items[6];
        Assert.Equal(("client", "TcpExt.TW", 1, 0), (tw.GetProperty("where").GetString(), tw.GetProperty("counter").GetString(),
            tw.GetProperty("engineValue").GetInt64(), tw.GetProperty("kernelValue").GetInt64()));
        var unknown = items[7];
        Assert.Equal(("TcpExt.TCPSomethingNew", 2, false), (unknown.GetProperty("counter").GetString(), unknown.GetProperty("kernelValue").GetInt64(),
            unknown.GetProperty("teardown").GetBoolean()));
        Assert.False(unknown.TryGetProperty("engineValue", out _));
    }

    [Fact]
    public void JUnit_WrongKernelOutcomeWithStrict_IsAFailureWithEachDifferencesText()
    {
        var path = Tool.TempFile("diff.xml");

        JUnitReport.Write(path, [Scenario(strict: true)], [], "real kernel", 3, DateTimeOffset.UnixEpoch);

        var suite = XDocument.Load(path).Root!.Element("testsuite")!;
        Assert.Equal("1", suite.Attribute("failures")!.Value);
        Assert.Equal("0", suite.Attribute("errors")!.Value);
        var failure = suite.Element("testcase")!.Element("failure")!;
        Assert.Equal("diff", failure.Attribute("type")!.Value);
        Assert.Equal("7 differences from the engine (--strict)", failure.Attribute("message")!.Value);
        Assert.Equal(
        [
            "packets client:~1 > server:80: engine only: 100ms ~1>80 F. seq=1 ack=1 win=64 len=0 <TS>",
            "packets client:~1 > server:80: kernel only: 100ms ~1>80 R. seq=1 ack=1 win=64 len=0 <TS>",
            "packets server:80 > client:~1: differ: engine 110ms 80>~1 F. seq=1 ack=2 win=64 len=0 <TS> | kernel 118ms 80>~1 F. seq=1 ack=2 win=63 len=0 <TS> — win 64 → 63, time +8.0 ms",
            "sockets at $.steps[5] (130ms; kernel reading 130ms): engine only: client TIME-WAIT (timewait socket) :~1 > server:80",
            "sockets at $.steps[5] (130ms; kernel reading 130ms): kernel only: client FIN-WAIT-2 :~1 > server:80",
            "counters client (engine → kernel): TcpExt.DelayedACKs 0 → 1",
            "counters client (engine → kernel): TcpExt.TW 1 → 0",
            "counters client the engine does not model (kernel delta): TcpExt.TCPSomethingNew 2",
        ], failure.Value.Split('\n'));
    }

    [Fact]
    public void JUnit_WrongKernelOutcomeWithoutStrict_IsTheCasesOutputNotAFailure()
    {
        var path = Tool.TempFile("diff.xml");

        JUnitReport.Write(path, [Scenario(strict: false)], [], "real kernel", 3, DateTimeOffset.UnixEpoch);

        var suite = XDocument.Load(path).Root!.Element("testsuite")!;
        Assert.Equal("0", suite.Attribute("failures")!.Value);
        var testCase = suite.Element("testcase")!;
        Assert.Null(testCase.Element("failure"));
        var output = testCase.Element("system-out")!.Value.Split('\n');
        Assert.Equal("7 differences from the engine", output[0]);
        Assert.Contains("counters client (engine → kernel): TcpExt.TW 1 → 0", output);
    }

    [Fact]
    public void JUnit_FailedCheckAndStrictDifferences_OneFailureWithBothTexts()
    {
        var path = Tool.TempFile("diff.xml");

        JUnitReport.Write(path, [Scenario(strict: true, checkFailed: true)], [], "real kernel", 3, DateTimeOffset.UnixEpoch);

        var suite = XDocument.Load(path).Root!.Element("testsuite")!;
        Assert.Equal("1", suite.Attribute("failures")!.Value);
        var failures = suite.Element("testcase")!.Elements("failure").ToList();
        var failure = Assert.Single(failures);
        Assert.Equal("check", failure.Attribute("type")!.Value);
        var text = failure.Value.Split('\n');
        Assert.Equal("packets $.expect.packets[0] at 100ms: expected F.; actual R.", text[0]);
        Assert.Equal("7 differences from the engine (--strict):", text[1]);
        Assert.Equal("packets client:~1 > server:80: engine only: 100ms ~1>80 F. seq=1 ack=1 win=64 len=0 <TS>", text[2]);
    }
}
