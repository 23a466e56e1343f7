using SimService.Domain.Scenarios;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Scenarios;

public class ExampleScenarioTests
{
    [Fact]
    public void Parse_EveryExampleScenario_HasNoErrors()
    {
        var failures = ExampleScenarios.All()
            .Select(f => (f.Name, Result: ScenarioParser.Parse(f.Json)))
            .Where(f => !f.Result.IsValid)
            .Select(f => $"{f.Name}: {string.Join("; ", f.Result.Errors)}")
            .ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Parse_OrderlyClose_ResolvesDefaultsAndTimes()
    {
        var doc = Parse("orderly-close-time-wait.json");

        Assert.Equal("orderly-close-time-wait", doc.Name);
        Assert.Equal(Engine.KernelProfile.Linux6, doc.Kernel);
        Assert.Equal(1, doc.Seed);
        Assert.Equal(["client", "server"], doc.Hosts.Select(h => h.Name));
        Assert.Equal(0x0A000001u, doc.Hosts[0].Address);
        var link = Assert.Single(doc.Links);
        Assert.Equal(("client", "server", SimDuration.FromMilliseconds(10), 0.0), (link.A, link.B, link.Delay, link.Loss));

        var connect = Assert.IsType<CallStep>(doc.Steps[1]);
        Assert.Equal(new SimTime(1_000_000), connect.At);
        Assert.Equal("$.steps[1]", connect.Path);
        Assert.Equal(CallStep.DefaultProcess, connect.Process);
        Assert.Equal(new HostPort("server", 80), connect.To);
        Assert.Equal(CallResult.Returns(0), connect.Expect!.Result);
        var listen = Assert.IsType<CallStep>(doc.Steps[0]);
        Assert.Equal((SocketCall.Listen, 80, 128), (listen.Call, listen.Port!.Value, listen.Backlog!.Value));

        var timeWait = Assert.IsType<ExpectStep>(doc.Steps[8]);
        Assert.Equal(new SimTime(1_000_000_000), timeWait.At);
        var check = timeWait.Expect.Sockets[0];
        Assert.Equal(new HostSelector("client", null, new SockAddrPattern("server", null, 80)), check.Selector);
        Assert.Equal((SocketStateName.TimeWait, 1L, SsTimer.TimeWait), (check.State!.Value, check.Count!.Value, check.Timer!.Value));
        Assert.Equal("58s..60.5s", check.TimerLeft!.Value.ToString());
        Assert.Equal(new SockstatCheck("client", null, null, 1, null), timeWait.Expect.Sockstat[0]);

        Assert.Equal(new CounterCheck("client", new CounterName("TcpExt", "TW"), 1), Assert.Single(doc.Expect!.State.Counters));
        Assert.Equal(3, doc.Expect.Packets.Length);
        Assert.Null(doc.RunUntil);
    }

    [Fact]
    public void Parse_KillKeepsBufferedData_ReadsProcessKillAndData()
    {
        var doc = Parse("kill-keeps-buffered-data.json");

        var kill = Assert.IsType<KillStep>(doc.Steps[5]);
        Assert.Equal(("client", "uploader", KillSignal.Kill, new SimTime(101_000_000)), (kill.Host, kill.Process, kill.Signal, kill.At));
        var setsockopt = Assert.IsType<CallStep>(doc.Steps[3]);
        Assert.Equal((SocketOption.SoSndBuf, (SockoptValue)new IntSockoptValue(262144)), (setsockopt.Option!.Value, setsockopt.Value!));
        var recvAll = Assert.IsType<CallStep>(doc.Steps[7]);
        Assert.Null(recvAll.Bytes);
        Assert.Equal(new DataCheck("c", 50000, 50000, 0), Assert.Single(doc.Expect!.Data));
    }

    [Fact]
    public void Parse_PortExhaustion_ReadsSysctlsAndErrno()
    {
        var doc = Parse("port-exhaustion-and-tw-reuse.json");

        Assert.Equal(new SysctlSetting("net.ipv4.ip_local_port_range", "40000 40003"), Assert.Single(doc.Hosts[0].Sysctls));
        var sysctl = Assert.IsType<SysctlStep>(doc.Steps.Single(s => s is SysctlStep));
        Assert.Equal(new SysctlSetting("net.ipv4.tcp_tw_reuse", "1"), Assert.Single(sysctl.Values));
        var failing = doc.Steps.OfType<CallStep>().Single(c => c.As == "x1");
        Assert.Equal("EADDRNOTAVAIL", failing.Expect!.Result!.Value.Errno!.Value.Name);
    }

    [Fact]
    public void ToJson_EveryExampleScenario_RoundTrips()
    {
        foreach (var (name, json) in ExampleScenarios.All())
        {
            var doc = ScenarioParser.Parse(json).Document!;
            var canonical = ScenarioWriter.ToJson(doc);
            var again = ScenarioParser.Parse(canonical);

            Assert.True(again.IsValid, $"{name}: {string.Join("; ", again.Errors)}\n{canonical}");
            StructuralEquality.AssertEqual(doc, again.Document);
            Assert.Equal(canonical, ScenarioWriter.ToJson(again.Document!));
        }
    }

    static ScenarioDocument Parse(string file)
    {
        var result = ScenarioParser.Parse(ExampleScenarios.Read(file));
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        return result.Document!;
    }
}
