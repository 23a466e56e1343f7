extern alias cli;

using System.Text.Json;
using System.Text.Json.Nodes;
using cli::SimService.Cli.Fuzz;
using cli::SimService.Cli.Kernel;
using Json.Schema;
using SimService.Domain.Scenarios;

namespace SimService.Cli.Tests;

/// <summary>
/// <c>simservice fuzz --profile listen</c>: the listen/limits generator is a pure function of (seed, case); every case is
/// a schema-valid scenario the kernel runner takes, passes on the engine with its results written in, and draws what the
/// teardown profile does not (a listener's backlog, bursts of non-blocking connects, listen-queue sysctls).
/// </summary>
public sealed class ListenFuzzTests
{
    /// <summary>The schema is registered once per process: the teardown profile's tests load it.</summary>
    private static Lazy<JsonSchema> Schema => FuzzTests.Schema;

    [Fact]
    public void Draw_SameSeedAndCase_GivesTheSameDocument()
    {
        string first = FuzzCase.Calibrate(ListenFuzzCase.Draw(7, 3).Draft).Json!;
        string again = FuzzCase.Calibrate(ListenFuzzCase.Draw(7, 3).Draft).Json!;

        Assert.Equal(first, again);
        Assert.NotEqual(first, FuzzCase.Calibrate(ListenFuzzCase.Draw(7, 4).Draft).Json);
        Assert.NotEqual(first, FuzzCase.Calibrate(ListenFuzzCase.Draw(8, 3).Draft).Json);
        Assert.Equal("fuzz-listen-7-3", ListenFuzzCase.Draw(7, 3).Name);
    }

    public static TheoryData<long> Seeds() => [1, 2];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Draw_EveryCaseOfASeed_ValidatesAgainstTheSchemaAndPassesOnTheEngine(long seed)
    {
        int connects = 0, backlogs = 0, queueSysctls = 0;
        for (int number = 0; number < 15; number++)
        {
            string json = FuzzTests.CalibratedRunningOnTheEngine(ListenFuzzCase.Draw(seed, number), number);

            var doc = JsonNode.Parse(json)!;
            var steps = doc["steps"]!.AsArray();
            int caseConnects = steps.Count(s => s!["call"]?.GetValue<string>() == "connect");
            Assert.InRange(caseConnects, 5, 60);
            connects += caseConnects;
            Assert.All(steps.Where(s => s!["call"]?.GetValue<string>() == "connect"),
                s => Assert.Contains(s!["expect"]!["result"]!.ToString(), new[] { "EINPROGRESS", "EADDRNOTAVAIL" }));
            if (steps.Any(s => s!["call"]?.GetValue<string>() == "listen" && s["backlog"] is not null)) backlogs++;
            if (doc["hosts"]!["server"]!["sysctls"] is JsonObject) queueSysctls++;
        }
        Assert.Equal(15, backlogs);
        Assert.InRange(queueSysctls, 5, 15);
        Assert.True(connects > 15 * 10, $"{connects} connects");
    }
}
