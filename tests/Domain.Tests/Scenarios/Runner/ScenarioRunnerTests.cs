using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios.Runner;

/// <summary>The runner's execution rules: call expectations, aliases, run errors, the end of the run, the event budget, determinism.</summary>
public class ScenarioRunnerTests
{
    [Fact]
    public void InvalidJson_Run_ReturnsParseErrorsAndNoResult()
    {
        var outcome = ScenarioRunner.Run("""{ "name": "x" }""");

        Assert.False(outcome.IsValid);
        Assert.Null(outcome.Result);
        Assert.NotEmpty(outcome.ParseErrors);
    }

    [Fact]
    public void CallExpect_ErrnoAndValue_ComparedWhenTheCallReturns()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "server", "call": "recv", "socket": "s", "expect": { "result": 0, "returnsAfter": "~110ms" } },
            { "at": "200ms", "host": "client", "call": "close", "socket": "c", "expect": { "result": "EBADF" } }
            """);

        var result = RunnerAssert.Run(json);

        var recv = RunnerAssert.Check(result, "$.steps[3].expect.result");
        Assert.Equal((true, "0", "0", new SimTime(210_000_000)), (recv.Passed, recv.Expected, recv.Actual, recv.At));
        var blocked = RunnerAssert.Check(result, "$.steps[3].expect.returnsAfter");
        Assert.Equal((true, "returned after 110ms"), (blocked.Passed, blocked.Actual));
        var close = RunnerAssert.Check(result, "$.steps[4].expect.result");
        Assert.Equal((false, "EBADF", "0"), (close.Passed, close.Expected, close.Actual));
    }

    [Fact]
    public void SocketCheck_AliasInTimeWaitWithDescriptorOpen_ClosedUntilTheLastCloseThenTimeWait()
    {
        // tcp_time_wait(): the fd keeps a TCP_CLOSE socket; the TIME-WAIT entry is the alias's only after close().
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "shutdown", "socket": "c", "how": "SHUT_WR", "expect": { "result": 0 } },
            { "at": "200ms", "host": "server", "call": "close", "socket": "s", "expect": { "result": 0 } },
            { "at": "300ms", "expect": { "sockets": [
                { "socket": "c", "state": "CLOSED" },
                { "host": "client", "remote": "server:80", "state": "TIME-WAIT", "count": 1 } ] } },
            { "at": "300ms", "host": "client", "call": "shutdown", "socket": "c", "how": "SHUT_RDWR", "expect": { "result": "ENOTCONN" } },
            { "at": "300ms", "host": "client", "call": "close", "socket": "c", "expect": { "result": 0 } },
            { "at": "301ms", "expect": { "sockets": [ { "socket": "c", "state": "TIME-WAIT", "timer": "timewait" } ] } }
            """);

        var result = RunnerAssert.Run(json);

        Assert.True(result.Passed, string.Join("\n", result.Checks.Where(c => !c.Passed).Select(c => $"{c.Path}: {c.Expected} / {c.Actual}")));
        Assert.Equal("no socket (CLOSED)", RunnerAssert.Check(result, "$.steps[5].expect.sockets[0]").Actual);
    }

    [Fact]
    public void CallExpect_CallNeverReturns_FailsAtTheEnd()
    {
        var json = RunnerScenarios.TwoHosts("""
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "1ms", "host": "server", "call": "accept", "socket": "listener", "as": "s", "expect": { "result": 0, "returnsAfter": "1s" } }
            """);

        var result = RunnerAssert.Run(json);

        Assert.False(result.Passed);
        Assert.Empty(result.Errors);
        Assert.All(result.Checks, c => Assert.Contains("still blocked at the end of the run (issued at 1ms)", c.Actual));
        Assert.Equal(["call.result", "call.returnsAfter"], result.Checks.Select(c => c.Kind));
    }

    [Fact]
    public void Alias_UsedBeforeAcceptReturns_IsRunErrorNamingTheStep()
    {
        var json = RunnerScenarios.TwoHosts("""
            { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
            { "at": "1ms", "host": "server", "call": "accept", "socket": "listener", "as": "s" },
            { "at": "2ms", "host": "server", "call": "recv", "socket": "s", "expect": { "result": 0 } },
            { "at": "3ms", "expect": { "sockets": [ { "socket": "s", "state": "ESTABLISHED" } ] } }
            """);

        var result = RunnerAssert.Run(json);

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.steps[2]", error.Path);
        Assert.Contains("the accept at $.steps[1] has not returned", error.Message);
        Assert.Contains("call not made", RunnerAssert.Check(result, "$.steps[2].expect.result").Actual);
        var check = RunnerAssert.Check(result, "$.steps[3].expect.sockets[0]");
        Assert.False(check.Passed);
        Assert.Contains("names no socket yet", check.Actual);
    }

    [Fact]
    public void Alias_OfASocketThatFailedEmfile_IsRunErrorNamingTheStep()
    {
        // setrlimit(RLIMIT_NOFILE) 4: fd 3 is the last; the second socket() fails EMFILE and its alias names nothing.
        var json = RunnerScenarios.TwoHosts("""
            { "at": "0ms", "host": "client", "call": "setrlimit", "resource": "RLIMIT_NOFILE", "soft": 4, "expect": { "result": 0 } },
            { "host": "client", "call": "socket", "as": "a", "expect": { "result": 3 } },
            { "host": "client", "call": "socket", "as": "b", "expect": { "result": "EMFILE" } },
            { "host": "client", "call": "close", "socket": "b" }
            """);

        var result = RunnerAssert.Run(json);

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.steps[3]", error.Path);
        Assert.Contains("the socket at $.steps[2] failed with EMFILE", error.Message);
        Assert.All(result.Checks, c => Assert.True(c.Passed, c.Actual));
    }

    [Fact]
    public void Kill_UnknownProcess_IsRunErrorAndRunGoesOn()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "50ms", "kill": { "host": "client", "process": "nobody", "signal": "SIGKILL" } },
            { "at": "60ms", "expect": { "sockets": [ { "socket": "c", "state": "ESTABLISHED" } ] } }
            """);

        var result = RunnerAssert.Run(json);

        Assert.False(result.Passed);
        Assert.Equal("$.steps[3]", Assert.Single(result.Errors).Path);
        Assert.True(RunnerAssert.Check(result, "$.steps[4].expect.sockets[0]").Passed);
    }

    [Fact]
    public void LinkStep_OneDirection_DropsOnlyThatWay()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "50ms", "link": { "between": ["client", "server"], "direction": "server->client", "loss": 1.0 } },
            { "at": "100ms", "host": "client", "call": "close", "socket": "c" }
            """, top: "\"runUntil\": \"3s\",");

        var result = RunnerAssert.Run(json);

        var late = ScenarioRunner.CapturePackets(result.Simulation.Journal, a => result.Simulation.FindHost(a)?.Name)
            .Where(p => p.At > new SimTime(50_000_000)).ToList();
        Assert.Contains(late, p => p.From == "server");
        Assert.All(late, p => Assert.Equal(p.From == "server", p.Dropped));
    }

    [Fact]
    public void Nat_ClientBehindIt_ServerSeesTheNatAddressAndPacketsNameTheInsideHost()
    {
        var json = """
            {
              "name": "nat", "nats": { "nat1": { "address": "203.0.113.1" } },
              "hosts": { "client": { "address": "10.0.0.1", "behindNat": "nat1" }, "server": { "address": "10.0.0.2" } },
              "links": [ { "between": ["client", "server"] } ],
              "steps": [
                { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "l" },
                { "at": "1ms", "host": "client", "call": "connect", "to": "server:80", "as": "c", "expect": { "result": 0 } },
                { "at": "10ms", "expect": { "sockets": [ { "host": "server", "remote": "nat1:", "state": "ESTABLISHED", "count": 1 },
                                                         { "host": "server", "remote": "10.0.0.1:", "count": 0 } ] } }
              ],
              "expect": { "packets": [ { "from": "client", "to": "server", "flags": "S" }, { "from": "server", "to": "client", "flags": "S." } ] }
            }
            """;

        var result = RunnerAssert.Run(json);

        Assert.True(result.Passed, string.Join("\n", result.FailedChecks.Select(c => $"{c.Path}: {c.Expected} / {c.Actual}")
            .Concat(result.Errors.Select(e => $"{e.Path}: {e.Message}"))));
    }

    [Fact]
    public void Counter_NotKeptByTheEngine_FailsSayingSo()
    {
        // A real 6.18 counter (LINUX_MIB_TCPAOGOOD, TCP-AO) the engine does not count; a name no kernel has is a parse error.
        var json = RunnerScenarios.TwoHosts(RunnerScenarios.Connected, """{ "counters": { "client": { "TcpExt.TCPAOGood": 0, "TcpActiveOpens": 1 } } }""");

        var result = RunnerAssert.Run(json);

        var missing = RunnerAssert.Check(result, "$.expect.counters.client[\"TcpExt.TCPAOGood\"]");
        Assert.Equal((false, "TcpExt.TCPAOGood is not simulated by the engine"), (missing.Passed, missing.Actual));
        Assert.True(RunnerAssert.Check(result, "$.expect.counters.client[\"Tcp.ActiveOpens\"]").Passed);
    }

    [Theory]
    [InlineData("linux-4.4", "TcpExt.TCPKeepAlive")] // LINUX_MIB_TCPKEEPALIVE came in 4.6
    [InlineData("linux-4.4", "TcpExt.TCPDelivered")] // 4.10
    [InlineData("linux-6", "TcpExt.PAWSPassive")] // went with tcp_tw_recycle in 4.12
    public void Counter_TheProfilesKernelDoesNotHave_FailsSayingSo(string kernel, string counter)
    {
        var json = RunnerScenarios.TwoHosts(RunnerScenarios.Connected, $$"""{ "counters": { "client": { "{{counter}}": 0 } } }""",
            top: $"\"kernel\": \"{kernel}\",");

        var result = RunnerAssert.Run(json);

        var check = RunnerAssert.Check(result, $"$.expect.counters.client[\"{counter}\"]");
        Assert.Equal((false, $"{counter} is not a counter of {kernel}"), (check.Passed, check.Actual));
    }

    [Fact]
    public void Counter_SnmpValues_CheckedAsProcNetSnmpShowsThem()
    {
        var json = RunnerScenarios.TwoHosts(RunnerScenarios.Connected,
            """{ "counters": { "client": { "Tcp.CurrEstab": 1, "TcpRtoMin": 200, "Tcp.RtoMax": 120000, "TcpExt.TCPDelivered": 1, "TcpExt.TCPSynRetrans": 0 } } }""");

        var result = RunnerAssert.Run(json);

        Assert.True(result.Passed, string.Join("\n", result.FailedChecks.Select(c => $"{c.Path}: {c.Expected} / {c.Actual}")));
        Assert.Equal("Tcp.CurrEstab=1", RunnerAssert.Check(result, "$.expect.counters.client[\"Tcp.CurrEstab\"]").Actual);
    }

    [Fact]
    public void Dmesg_LineMissing_Fails()
    {
        var json = RunnerScenarios.TwoHosts(RunnerScenarios.Connected, """{ "dmesg": { "server": [ "too many orphaned sockets" ] } }""");

        var check = RunnerAssert.Check(RunnerAssert.Run(json), "$.expect.dmesg.server[0]");

        Assert.False(check.Passed);
        Assert.StartsWith("no such line", check.Actual);
    }

    [Fact]
    public void SockstatAndData_FieldsGiven_ComparedAndShown()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "send", "socket": "c", "bytes": 1000 },
            { "at": "100ms", "host": "server", "call": "recv", "socket": "s" },
            { "at": "200ms", "expect": { "sockstat": { "server": { "inuse": 2, "tw": 0 } } } }
            """, """{ "data": { "c": { "sent": 1000, "delivered": 1000, "lost": 1 } } }""");

        var result = RunnerAssert.Run(json);

        var sockstat = RunnerAssert.Check(result, "$.steps[5].expect.sockstat.server");
        Assert.Equal((true, "inuse=2 tw=0", "inuse=2 tw=0"), (sockstat.Passed, sockstat.Expected, sockstat.Actual));
        var data = RunnerAssert.Check(result, "$.expect.data.c");
        Assert.Equal((false, "sent=1000 delivered=1000 lost=0"), (data.Passed, data.Actual));
    }

    [Fact]
    public void Inject_AckRelativeToPeerIsn_CompletesHandshakeWithScriptedHost()
    {
        var json = """
            {
              "name": "scripted",
              "hosts": { "server": { "address": "10.0.0.2" }, "peer": { "address": "10.0.0.3", "kind": "scripted" } },
              "links": [ { "between": ["peer", "server"], "delay": "10ms" } ],
              "steps": [
                { "at": "0ms", "host": "server", "call": "listen", "port": 80, "as": "listener" },
                { "at": "0ms", "host": "server", "call": "accept", "socket": "listener", "as": "s" },
                { "at": "1ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": "S", "seq": 1000, "win": 65535 } },
                { "at": "30ms", "inject": { "from": "peer:40000", "to": "server:80", "flags": ".", "seq": 1001, "ack": 1 } },
                { "at": "100ms", "expect": { "sockets": [ { "socket": "s", "state": "ESTABLISHED" },
                                                          { "host": "server", "remote": "peer:40000", "count": 1 } ] } }
              ],
              "expect": { "packetsExact": [
                { "from": "peer", "to": "server", "flags": "S", "seq": 0 },
                { "from": "server", "to": "peer", "flags": "S.", "seq": 0, "ack": 1 },
                { "from": "peer", "to": "server", "flags": ".", "seq": 1, "ack": 1, "at": "30ms" } ] }
            }
            """;

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void RunUntil_Given_RunsThatLongAfterTheLastStep()
    {
        var json = RunnerScenarios.TwoHosts(RunnerScenarios.Connected, top: "\"runUntil\": \"2s\",");

        Assert.Equal(new SimTime(2_001_000_000), RunnerAssert.Run(json).Simulation.Now);
    }

    [Fact]
    public void RunUntil_OmittedAndQueueNeverDrains_StopsAnHourAfterTheLastStep()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "setsockopt", "socket": "c", "option": "SO_KEEPALIVE", "value": 1 }
            """, """{ "sockets": [ { "socket": "c", "state": "ESTABLISHED", "timer": "keepalive" } ] }""");

        var result = RunnerAssert.Run(json);

        RunnerAssert.Passed(result);
        Assert.Equal(new SimTime(100_000_000) + ScenarioDocument.IdleCap, result.Simulation.Now);
    }

    [Fact]
    public void Setsockopt_TcpRtoMaxMs_ByItsWireName()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "setsockopt", "socket": "c", "option": "TCP_RTO_MAX_MS", "value": 999, "expect": { "result": "EINVAL" } },
            { "at": "100ms", "host": "client", "call": "setsockopt", "socket": "c", "option": "TCP_RTO_MAX_MS", "value": 1001 },
            { "at": "100ms", "host": "client", "call": "getsockopt", "socket": "c", "option": "TCP_RTO_MAX_MS", "expect": { "result": 1004 } }
            """);

        RunnerAssert.Passed(RunnerAssert.Run(json));
    }

    [Fact]
    public void RunUntil_OmittedAndQueueDrains_StopsAtTheLastEvent()
    {
        var result = RunnerAssert.Run(RunnerScenarios.TwoHosts(RunnerScenarios.Connected));

        Assert.Equal(0, result.Simulation.PendingEvents);
        Assert.True(result.Simulation.Now < new SimTime(10_000_000_000), $"ended at {result.Simulation.Now}, not at the last event");
    }

    /// <summary>
    /// A run the journal limit stopped says at which step in its result (<c>JournalStoppedAt</c>), not only in an error: the
    /// API read the step from the last error, which need not be that one (and an empty list threw).
    /// </summary>
    [Fact]
    public void JournalLimit_Reached_TheResultNamesTheStepItStoppedAt()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "1s", "expect": { "sockets": [ { "socket": "c", "state": "ESTABLISHED" } ] } }
            """);

        var result = RunnerAssert.Run(json, new ScenarioRunOptions { JournalLimit = 1 });

        Assert.True(result.JournalLimitReached);
        Assert.Equal(Assert.Single(result.Errors).Path, result.JournalStoppedAt);
        Assert.StartsWith("$.steps[", result.JournalStoppedAt, StringComparison.Ordinal);
    }

    /// <summary>
    /// MaxHosts bounds the hosts a run makes, counted as the steps add them (the command-line tool's bound in process,
    /// tester35 HIGH-1: three steps of 200,000 generated clients grew it to 2.3 GB, nothing bounded more): the workload step
    /// that would pass it stops the run there, before it makes a host, and the steps before it ran.
    /// </summary>
    [Fact]
    public void MaxHosts_AWorkloadStepPassingIt_StopsTheRunThereBeforeItMakesAHost()
    {
        var json = """
            { "name": "generated", "hosts": { "server": { "address": "10.0.0.2" } }, "steps": [
              { "at": "0s", "workload": { "generatedClients": 2, "server": "server", "port": 80, "rate": 1000, "count": 2, "drainLimit": "1s" } },
              { "at": "10s", "workload": { "generatedClients": 2, "server": "server", "port": 81, "rate": 1000, "count": 2, "drainLimit": "1s" } },
              { "at": "20s", "workload": { "generatedClients": 2, "server": "server", "port": 82, "rate": 1000, "count": 2, "drainLimit": "1s" } },
              { "at": "30s", "expect": { "sockstat": { "server": { "inuse": 0 } } } } ] }
            """;

        var result = RunnerAssert.Run(json, new ScenarioRunOptions { MaxHosts = 5 });

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.steps[2].workload.generatedClients", error.Path);
        Assert.Equal("A run may have 5 hosts; this would make 7: the run stopped there, before it made them", error.Message);
        Assert.Equal(5, result.Simulation.Hosts.Count);
        Assert.Equal(20_000_000_000, result.Simulation.Now.Ns);
        Assert.Empty(result.Checks);
        RunnerAssert.Passed(RunnerAssert.Run(json, new ScenarioRunOptions { MaxHosts = 7 }));
    }

    /// <summary>The document's own hosts count first: more than MaxHosts stops the run at <c>$.hosts</c> before it makes one.</summary>
    [Fact]
    public void MaxHosts_BelowTheDocumentsHosts_StopsTheRunAtHostsBeforeItMakesOne()
    {
        var result = RunnerAssert.Run(RunnerScenarios.TwoHosts(RunnerScenarios.Connected), new ScenarioRunOptions { MaxHosts = 1 });

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.hosts", error.Path);
        Assert.Equal("A run may have 1 hosts; this would make 2: the run stopped there, before it made them", error.Message);
        Assert.Empty(result.Simulation.Hosts);
    }

    /// <summary>What validate and a server's quota count before the run: the first place the total passes the limit, with that total.</summary>
    [Fact]
    public void HostsPast_CountsTheDocumentsHostsThenEachStepsGeneratedClients()
    {
        var document = ScenarioParser.Parse("""
            { "name": "generated", "hosts": { "server": { "address": "10.0.0.2" } }, "steps": [
              { "at": "0s", "workload": { "generatedClients": 200000, "server": "server", "port": 80, "rate": 1000, "count": 1 } },
              { "at": "100s", "workload": { "generatedClients": 200000, "server": "server", "port": 81, "rate": 1000, "count": 1 } },
              { "at": "200s", "workload": { "generatedClients": 200000, "server": "server", "port": 82, "rate": 1000, "count": 1 } } ] }
            """).Document!;

        Assert.Equal(("$.hosts", 1L), document.HostsPast(0));
        Assert.Equal(("$.steps[0].workload.generatedClients", 200_001L), document.HostsPast(64));
        Assert.Equal(("$.steps[1].workload.generatedClients", 400_001L), document.HostsPast(250_000));
        Assert.Equal(("$.steps[2].workload.generatedClients", 600_001L), document.HostsPast(600_000));
        Assert.Null(document.HostsPast(600_001));
    }

    [Fact]
    public void EventBudget_Spent_RunStopsWithError()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "1s", "expect": { "sockets": [ { "socket": "c", "state": "ESTABLISHED" } ] } }
            """);

        // Two events (the SYN and the SYN-ACK arriving) of the three before 1 s: the handshake's ACK is left.
        var result = RunnerAssert.Run(json, new ScenarioRunOptions { EventBudget = 2 });

        Assert.False(result.Passed);
        var error = Assert.Single(result.Errors);
        Assert.Contains("event budget of 2 events", error.Message);
        Assert.DoesNotContain(result.Checks, c => c.Path.StartsWith("$.steps[3]", StringComparison.Ordinal));
    }

    /// <summary>
    /// The budget is exact: a budget of N stops the run at N events, whatever the steps after it; a budget of the run's own
    /// count runs it whole. A spent budget gave each later step's advance a budget of 1 (max(1, what was left)), and the
    /// events a call ran at its own instant were not counted: budget 3 ran 4 events here.
    /// </summary>
    [Fact]
    public void EventBudget_ExactlyN_StopsAtNEvents()
    {
        var json = RunnerScenarios.TwoHosts($$"""
            {{RunnerScenarios.Connected}},
            { "at": "100ms", "host": "client", "call": "send", "socket": "c", "bytes": 3000 },
            { "at": "100ms", "host": "server", "call": "recv", "socket": "s" },
            { "at": "200ms", "host": "client", "call": "close", "socket": "c" },
            { "at": "300ms", "host": "server", "call": "close", "socket": "s" },
            { "at": "1s", "expect": { "sockets": [ { "socket": "c", "state": "TIME-WAIT" } ] } }
            """);
        var whole = RunnerAssert.Run(json);
        RunnerAssert.Passed(whole);
        long total = whole.Simulation.EventsProcessed;

        foreach (var budget in new[] { 1L, 2, 3, total / 2, total - 1 })
        {
            var cut = RunnerAssert.Run(json, new ScenarioRunOptions { EventBudget = budget });
            Assert.True(cut.EventBudgetSpent, $"budget {budget}");
            Assert.Equal(budget, cut.Simulation.EventsProcessed);
        }
        var exact = RunnerAssert.Run(json, new ScenarioRunOptions { EventBudget = total });
        Assert.False(exact.EventBudgetSpent);
        RunnerAssert.Passed(exact);
        Assert.Equal(total, exact.Simulation.EventsProcessed);
    }

    [Fact]
    public void ManySeeds_RunTwice_SameJournalAndChecks()
    {
        var distinct = new HashSet<string>();
        for (int seed = 1; seed <= 20; seed++)
        {
            var json = RunnerScenarios.TwoHosts($$"""
                {{RunnerScenarios.Connected}},
                { "at": "100ms", "host": "client", "call": "send", "socket": "c", "bytes": 20000 },
                { "at": "100ms", "host": "server", "call": "recv", "socket": "s" },
                { "at": "300ms", "host": "client", "call": "close", "socket": "c" }
                """, top: $"\"seed\": {seed},", loss: 0.2);

            var first = RunnerAssert.Run(json);
            var second = RunnerAssert.Run(json);

            Assert.True(first.Simulation.Journal.SequenceEqual(second.Simulation.Journal), $"seed {seed}: journals differ");
            Assert.True(first.Checks.SequenceEqual(second.Checks), $"seed {seed}: checks differ");
            distinct.Add(string.Join("\n", first.Simulation.Journal));
        }
        Assert.True(distinct.Count > 1, "every seed gave the same journal: the seed is not used");
    }
}
