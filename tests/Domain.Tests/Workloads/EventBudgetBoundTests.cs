using SimService.Domain.Engine;
using SimService.Domain.Scenarios;
using SimService.Domain.Tests.Scenarios.Runner;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Workloads;

/// <summary>
/// Sizes an event budget cannot deliver are refused up front (<see cref="EventBudgetBound"/>): a workload's
/// <c>requestBytes</c> near 2^63 ran to the 300 s wall-time limit, then a 422; a scenario's send ran to its budget.
/// </summary>
public class EventBudgetBoundTests
{
    static readonly WorkloadSpec TenConnections = new() { Clients = ["client"], Server = "server", Rate = 100, Count = 10 };

    [Fact]
    public void Workload_RequestBytesNear2To63_RefusedNamingRequestBytesAndItsMaximum()
    {
        var error = (TenConnections with { RequestBytes = long.MaxValue }).BeyondEventBudget(100_000_000);

        Assert.NotNull(error);
        Assert.Equal("requestBytes", error.Field);
        Assert.Equal("9,223,372,036,854,775,807 bytes cannot be delivered within the event budget of 100,000,000 events, "
            + "1 of them for the responseBytes (1,024 bytes): at most 6,549,499,934,505 bytes "
            + "(each segment is at least one event and carries at most 65,495 bytes)", error.Message);
    }

    [Fact]
    public void Workload_LargerResponse_ItsMaximumFitsOneByteMoreDoesNot()
    {
        // 10,000 events, 1 of them for the 1,024-byte request: 9,999 segments of 65,495 bytes.
        var most = TenConnections with { ResponseBytes = 9_999 * 65_495 };

        Assert.Null(most.BeyondEventBudget(10_000));
        var error = (most with { ResponseBytes = most.ResponseBytes + 1 }).BeyondEventBudget(10_000);
        Assert.Equal("responseBytes", error?.Field);
        Assert.EndsWith(": at most 654,884,505 bytes (each segment is at least one event and carries at most 65,495 bytes)", error?.Message);
    }

    /// <summary>
    /// A budget the request set is told by the budget: the least that delivers both sizes (an eventBudget of 1 named the
    /// default requestBytes, "at most 0 bytes"); and that least is exactly where BeyondEventBudget stops refusing.
    /// </summary>
    [Fact]
    public void Workload_EventBudgetTooSmall_NamesTheBudgetFieldWithTheLeastThatDelivers()
    {
        var error = TenConnections.EventBudgetTooSmall(1, "eventBudget");

        Assert.Equal("eventBudget", error?.Field);
        Assert.Equal("eventBudget 1 cannot deliver one connection's request (1,024 bytes) and response (1,024 bytes): they take at least 2 segments, "
            + "each at least one event and at most 65,495 bytes. Give eventBudget 2 or more (the handshake and close of a connection take events too).", error?.Message);
        var large = TenConnections with { ResponseBytes = 3 * 65_495 + 1 };
        Assert.Equal(5, large.LeastEventBudget);
        Assert.NotNull(large.BeyondEventBudget(4));
        Assert.NotNull(large.EventBudgetTooSmall(4, "eventBudget"));
        Assert.Null(large.BeyondEventBudget(5));
        Assert.Null(large.EventBudgetTooSmall(5, "eventBudget"));
    }

    /// <summary>More connections than the budget has events: truncated by the budget as before, not refused for sizes one connection fits.</summary>
    [Fact]
    public void Workload_ManyConnectionsSizesFitOne_NotRefused() =>
        Assert.Null((TenConnections with { Count = 100_000_000 }).BeyondEventBudget(100_000_000));

    [Fact]
    public void ScenarioWorkloadStep_RequestBytesBeyondTheScenarioBudget_ErrorAtItsPath()
    {
        var json = RunnerScenarios.TwoHosts("""{ "workload": { "server": "server", "rate": 5, "count": 5, "clients": ["client"], "requestBytes": 9223372036854775807 } }""");

        var error = Assert.Single(ScenarioParser.Parse(json).Errors);

        Assert.Equal("$.steps[0].workload.requestBytes", error.Path);
        Assert.Equal("9,223,372,036,854,775,807 bytes cannot be delivered within the event budget of 50,000,000 events, "
            + "1 of them for the responseBytes (1,024 bytes): at most 3,274,749,934,505 bytes "
            + "(each segment is at least one event and carries at most 65,495 bytes)", error.Message);
    }

    [Fact]
    public void ScenarioSend_BytesBeyondTheScenarioBudget_ErrorAtItsPathAndTheMaximumPasses()
    {
        static string Send(long bytes) => RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "send", "socket": "c", "bytes": {{bytes}} }
            """);

        var error = Assert.Single(ScenarioParser.Parse(Send(3_274_750_000_001)).Errors);

        Assert.Equal("$.steps[3].bytes", error.Path);
        Assert.Equal("3,274,750,000,001 bytes cannot be delivered within a scenario's event budget of 50,000,000 events: at most 3,274,750,000,000 bytes "
            + "(each segment is at least one event and carries at most 65,495 bytes)", error.Message);
        Assert.True(ScenarioParser.Parse(Send(3_274_750_000_000)).IsValid);
        // the bound the API's send takes too (ScenarioRunOptions.MaxSendBytes): the same number, the same message
        Assert.Equal(3_274_750_000_000, ScenarioRunOptions.MaxSendBytes);
        Assert.Equal((null, error.Message), (ScenarioRunOptions.SendBytesProblem(ScenarioRunOptions.MaxSendBytes), ScenarioRunOptions.SendBytesProblem(ScenarioRunOptions.MaxSendBytes + 1)));
        Assert.True(ScenarioParser.ParseStored(Send(3_274_750_000_001)).IsValid); // a stored run rebuilds as it was accepted
    }
}
