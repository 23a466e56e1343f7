using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Scenarios;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>Socket checks: selectors, the state/count rule, CLOSED for a connection that is gone, timers.</summary>
public class SocketCheckTests
{
    static readonly IPv4 Server = IPv4.Parse("10.0.0.2");
    static readonly IPv4 Client = IPv4.Parse("10.0.0.1");

    static SocketRow Row(TcpState state, string? timer = null, long expiresMs = 0) =>
        new("server", SocketRowKind.Full, 1, state, new Endpoint(Server, 80), new Endpoint(Client, 40000), 0, 0, timer,
            new SimTime(expiresMs * 1_000_000), 0, false);

    static SocketCheck Check(SocketStateName? state = null, long? count = null, SsTimer? timer = null, string? left = null)
    {
        CheckedDuration? timerLeft = null;
        if (left is not null)
        {
            Assert.True(CheckedDuration.TryParse(left, out var parsed));
            timerLeft = parsed;
        }
        return new SocketCheck(new HostSelector("server", null, null), state, count, timer, timerLeft);
    }

    static bool Holds(SocketCheck check, params SocketRow[] rows) => ScenarioRunner.SocketCheckHolds(check, rows, SimTime.Zero);

    [Fact]
    public void EndpointMatches_EmptyHostPart_MatchesAnyAddress()
    {
        Assert.True(ScenarioRunner.EndpointMatches(null, 80, new Endpoint(Server, 80), null));
        Assert.False(ScenarioRunner.EndpointMatches(null, 80, new Endpoint(Server, 81), null));
    }

    [Fact]
    public void EndpointMatches_EmptyPortPart_MatchesAnyPort()
    {
        Assert.True(ScenarioRunner.EndpointMatches(Client, null, new Endpoint(Client, 40000), null));
        Assert.False(ScenarioRunner.EndpointMatches(Client, null, new Endpoint(Server, 40000), null));
    }

    [Fact]
    public void EndpointMatches_WildcardLocal_MatchesOnlyItsOwnHostsAddress()
    {
        var listener = new Endpoint(IPv4.Any, 80);

        Assert.True(ScenarioRunner.EndpointMatches(Server, 80, listener, wildcardMeans: Server));
        Assert.False(ScenarioRunner.EndpointMatches(Client, 80, listener, wildcardMeans: Server));
        Assert.False(ScenarioRunner.EndpointMatches(Server, 80, listener, wildcardMeans: null));
    }

    [Fact]
    public void StateAlone_EveryRowMustBeInIt()
    {
        Assert.True(Holds(Check(SocketStateName.Established), Row(TcpState.Established), Row(TcpState.Established)));
        Assert.False(Holds(Check(SocketStateName.Established), Row(TcpState.Established), Row(TcpState.Listen)));
    }

    [Fact]
    public void StateAlone_NoRow_OnlyClosedHolds()
    {
        Assert.False(Holds(Check(SocketStateName.TimeWait)));
        Assert.True(Holds(Check(SocketStateName.Closed)));
        Assert.False(Holds(Check(SocketStateName.Closed), Row(TcpState.TimeWait)));
    }

    [Fact]
    public void CountWithState_CountsOnlyRowsInThatState()
    {
        SocketRow[] rows = [Row(TcpState.Established), Row(TcpState.TimeWait), Row(TcpState.TimeWait)];

        Assert.True(Holds(Check(SocketStateName.TimeWait, count: 2), rows));
        Assert.False(Holds(Check(SocketStateName.TimeWait, count: 3), rows));
        Assert.True(Holds(Check(count: 3), rows));
        Assert.True(Holds(Check(SocketStateName.FinWait2, count: 0), rows));
    }

    [Fact]
    public void Timer_OffMeansNoTimer_LeftCheckedOnEveryCountedRow()
    {
        Assert.True(Holds(Check(SocketStateName.CloseWait, timer: SsTimer.Off), Row(TcpState.CloseWait)));
        Assert.False(Holds(Check(SocketStateName.CloseWait, timer: SsTimer.Off), Row(TcpState.CloseWait, "keepalive", 1000)));
        Assert.True(Holds(Check(SocketStateName.TimeWait, timer: SsTimer.TimeWait, left: "~60s"), Row(TcpState.TimeWait, "timewait", 59_000)));
        Assert.False(Holds(Check(SocketStateName.TimeWait, left: "~60s"),
            Row(TcpState.TimeWait, "timewait", 60_000), Row(TcpState.TimeWait, "timewait", 30_000)));
    }

    [Fact]
    public void Selectors_HostAndPortParts_PickTheRightRows()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "0ms", "expect": { "sockets": [
                { "host": "server", "local": ":80", "state": "LISTEN" },
                { "host": "server", "local": "server:80", "state": "LISTEN", "count": 1 },
                { "host": "server", "local": "10.0.0.2:", "count": 1 },
                { "host": "server", "local": "client:80", "count": 0 },
                { "host": "server", "local": ":", "count": 1 } ] } },
            { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c" },
            { "at": "1ms", "host": "server", "call": "accept", "socket": "listener", "as": "s" },
            { "at": "100ms", "expect": { "sockets": [
                { "host": "server", "local": ":80", "count": 2 },
                { "host": "server", "local": ":80", "state": "ESTABLISHED", "count": 1 },
                { "host": "server", "remote": "client:", "state": "ESTABLISHED" },
                { "host": "server", "remote": "10.0.0.1:", "count": 1 },
                { "host": "client", "remote": "server:80", "state": "ESTABLISHED", "count": 1 },
                { "host": "client", "remote": ":81", "count": 0 },
                { "socket": "listener", "state": "LISTEN" } ] } },
            { "at": "101ms", "expect": { "sockets": [ { "host": "server", "local": ":80", "state": "LISTEN" } ] } }
            """);

        var result = RunnerAssert.Run(json);

        var everyRowRule = RunnerAssert.Check(result, "$.steps[5].expect.sockets[0]");
        Assert.False(everyRowRule.Passed, "a selector matching the listener and the connection: not every row is LISTEN");
        Assert.Contains("ESTABLISHED", everyRowRule.Actual);
        Assert.Empty(result.Errors);
        Assert.Equal([everyRowRule], result.FailedChecks);
    }

    [Fact]
    public void Alias_ConnectionGone_IsClosed()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "close", "socket": "c" },
            { "at": "300ms", "host": "server", "call": "close", "socket": "s" },
            { "at": "1s", "expect": { "sockets": [
                { "socket": "c", "state": "TIME-WAIT", "count": 1, "timer": "timewait", "timerLeft": "58s..60s" },
                { "socket": "s", "state": "CLOSED" },
                { "socket": "s", "count": 0 } ] } },
            { "at": "70s", "expect": { "sockets": [ { "socket": "c", "state": "CLOSED" }, { "socket": "c", "state": "UNCONN" } ] } }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void Alias_StillEstablished_ClosedFailsWithRowShown()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "expect": { "sockets": [ { "socket": "c", "state": "CLOSED" } ] } }
            """);

        var check = RunnerAssert.Check(RunnerAssert.Run(json), "$.steps[3].expect.sockets[0]");

        Assert.False(check.Passed);
        Assert.Equal(("sockets", "CLOSED"), (check.Kind, check.Expected));
        Assert.StartsWith("ESTABLISHED 10.0.0.1:", check.Actual);
        Assert.Equal(new SimTime(100_000_000), check.At);
    }

    [Fact]
    public void TimerLeft_IsWholeJiffiesAsInetDiagReportsIt()
    {
        // jiffies_delta_to_msecs(timeout − jiffies): at 50 ms (jiffy 12) a timer due at 1 s (jiffy 250) has 238
        // jiffies left — `ss -o` prints 952ms, not 950ms.
        var row = Row(TcpState.SynSent, "on", expiresMs: 1000);
        Assert.Equal(952, row.TimerLeft(new SimTime(50_000_000)).TotalMilliseconds);
        Assert.True(ScenarioRunner.SocketCheckHolds(Check(timer: SsTimer.On, left: "952ms"), [row], new SimTime(50_000_000)));
        Assert.False(ScenarioRunner.SocketCheckHolds(Check(timer: SsTimer.On, left: "950ms"), [row], new SimTime(50_000_000)));
    }
}
