using System.Net;
using SimService.Api.Features.Clock;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// An advance that stops on its event budget names the field that lets it go further, <c>eventBudget</c>, and the budget
/// that stopped it — also when the request sent none and the default 10,000 did (it said only <c>truncated: true</c>, and a
/// refused budget's message spoke of "the event budget", a name the request cannot send).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class AdvanceBudgetTests(ApiHosts hosts)
{
    /// <summary>A connection whose client probes every second (tcp_keepalive_time and _intvl 1): events without end.</summary>
    private async Task<SimulationDriver> KeepaliveEverySecondAsync()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "budget",
            clientSysctls: new Dictionary<string, int> { ["net.ipv4.tcp_keepalive_time"] = 1, ["net.ipv4.tcp_keepalive_intvl"] = 1 });
        var pair = await sim.ConnectAsync();
        Assert.Equal(0, (await sim.CallAsync(pair.ClientSocketId, "setsockopt", new { option = "SO_KEEPALIVE", value = 1 })).Result);
        return sim;
    }

    [Fact]
    public async Task Advance_NoBudgetSent_TheDefaultStopsItAndTheResponseNamesEventBudget()
    {
        var sim = await KeepaliveEverySecondAsync();

        var advance = await sim.PostOkAsync("advance", new { untilIdle = true, maxNs = "100000h" });

        Assert.Equal((10_000L, true, false), (advance.GetProperty("eventsProcessed").GetInt64(), advance.GetProperty("truncated").GetBoolean(), advance.GetProperty("idle").GetBoolean()));
        Assert.Equal(("eventBudget", AdvanceRequest.DefaultEventBudget), (advance.GetProperty("stoppedBy").GetString(), advance.GetProperty("eventBudget").GetInt64()));
        Assert.False(advance.TryGetProperty("nextEventNs", out _));
        Assert.Equal(advance.GetProperty("nowNs").GetInt64(), (await sim.ClockAsync()).NowNs);
    }

    [Fact]
    public async Task Advance_BudgetSent_NamedWhenItStopsTheRun_AbsentWhenNot()
    {
        var sim = await KeepaliveEverySecondAsync();

        var stopped = await sim.PostOkAsync("advance", new { byNs = "1h", eventBudget = 7 });
        var done = await sim.PostOkAsync("advance", new { byNs = "1s", eventBudget = 100_000 });
        var batch = await sim.PostOkAsync("commands", """{"commands":[{"type":"advance","byNs":"1s","eventBudget":1},{"type":"advance","byNs":"1s"}]}""");

        Assert.Equal((7L, "eventBudget", 7L), (stopped.GetProperty("eventsProcessed").GetInt64(), stopped.GetProperty("stoppedBy").GetString(), stopped.GetProperty("eventBudget").GetInt64()));
        Assert.False(done.GetProperty("truncated").GetBoolean());
        Assert.False(done.TryGetProperty("stoppedBy", out _));
        Assert.False(done.TryGetProperty("eventBudget", out _));
        var advances = batch.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("advance")).ToList();
        Assert.Equal(("eventBudget", 1L), (advances[0].GetProperty("stoppedBy").GetString(), advances[0].GetProperty("eventBudget").GetInt64()));
        Assert.False(advances[1].TryGetProperty("stoppedBy", out _));
    }

    [Theory]
    [InlineData("""{"byNs":1,"eventBudget":0}""")]
    [InlineData("""{"byNs":1,"eventBudget":100001}""")]
    public async Task Advance_BudgetOutOfRange_400NamesEventBudgetInTheMessageToo(string body)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite), "budget range");

        var problem = await (await sim.PostAsync("advance", body)).ReadProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(["eventBudget"], problem.ErrorFields());
        Assert.Equal(["eventBudget is between 1 and 100000 (10000 when left out)."],
            problem.GetProperty("errors").GetProperty("eventBudget").EnumerateArray().Select(e => e.GetString()));
    }
}
