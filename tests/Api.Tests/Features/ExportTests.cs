using System.Net;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>What the scenario format cannot say is refused with 409, never exported wrong.</summary>
[Collection(ApiCollection.Name)]
public sealed class ExportTests(ApiHosts hosts)
{
    private static readonly object[] ZeroDelayHandshake =
    [
        new { type = "add-host", name = "client", address = "10.0.0.1" },
        new { type = "add-host", name = "server", address = "10.0.0.2" },
        new { type = "add-link", between = new[] { "client", "server" }, delayNs = 0 },
        new { type = "call", call = "listen", host = "server", port = 80 },
        new { type = "call", call = "connect", host = "client", to = "server:80" },
        new { type = "call", call = "accept", socketId = 1 },
    ];

    /// <summary>
    /// A handshake over a zero-delay link: under the current engine rules each call runs the segments it left due at its own
    /// instant before it returns (as the softirq runs before a syscall returns), as a scenario does before its next step, so
    /// the log is exported (a simulation of the original rules was refused with 409, events due at the accept's time; the
    /// domain's exporter tests keep that refusal) and the scenario runs.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Export_ZeroDelayHandshake_IsAValidScenarioThatRuns(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.CreateAsync(client);
        await sim.PostOkAsync("commands", new { commands = ZeroDelayHandshake });

        var document = await sim.ExportAsync();

        Assert.Contains("\"call\": \"accept\"", document);
        Assert.True((await client.RunScenarioAsync(document)).Passed);
    }

    /// <summary>
    /// A call on /sockets/{id} without "fd" after the socket's first descriptor was closed goes through its dup: the export
    /// writes it on the dup's alias (it wrote the closed one's, and the run got EBADF: tester session 32, MEDIUM-6); and the
    /// setsockopt calls the kernel answers with an errno (ENOENT, ENOPROTOOPT) are exported as they ran (a 400 and a 409
    /// before: LOW-4). The run's journal is the simulation's, event for event.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Export_CallsThroughADupAndErrnoSetsockopts_RunGivesTheSameJournal(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.TwoHostsAsync(client);
        var conn = await sim.ConnectAsync();
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        var dup = await sim.CallAsync(conn.ClientSocketId, "dup");
        await sim.CallAsync(conn.ClientSocketId, "close");
        var sent = await sim.CallAsync(conn.ClientSocketId, "send", new { bytes = 10 });
        var cc = await sim.CallAsync(conn.ClientSocketId, "setsockopt", new { option = "TCP_CONGESTION", value = "nosuchcc" });
        var meminfo = await sim.CallAsync(conn.ClientSocketId, "setsockopt", new { option = "SO_MEMINFO", value = 1 });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });

        var document = await sim.ExportAsync();
        var run = await client.RunScenarioAsync(document);

        Assert.Equal((4L, 10L, "ENOENT", "ENOPROTOOPT"), (dup.Result, sent.Result, cc.Errno, meminfo.Errno));
        Assert.Contains($"\"socket\": \"s{conn.ClientSocketId}-dup", document); // the dup step's own is "as"
        Assert.True(run.Passed);
        Assert.Equal(await sim.JournalAsync(), await new SimulationDriver(client, run.SimulationId).JournalAsync());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Export_HostAddedAfterTraffic_Returns409NamingIt(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        await sim.AdvanceAsync(new { byNs = 1_000 });
        await sim.PostOkAsync("hosts", new { name = "late", address = "10.0.0.3" }, HttpStatusCode.Created);

        var problem = await (await sim.Client.GetAsync($"{sim.Base}/export")).ReadProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal(5, problem.GetProperty("commandSeq").GetInt64());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Export_HostsOnly_IsAValidScenarioThatRuns(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.CreateAsync(client, "Nothing Yet!", "linux-4.4", seed: 99);
        await sim.PostOkAsync("hosts", new { name = "lonely", address = "192.0.2.1" }, HttpStatusCode.Created);

        var document = await sim.ExportAsync();

        Assert.Contains("\"name\": \"nothing-yet\"", document);
        Assert.Contains("\"kernel\": \"linux-4.4\"", document);
        Assert.Contains("\"seed\": 99", document);
        Assert.True((await client.RunScenarioAsync(document)).Passed);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Export_EmptySimulation_Returns409BecauseAScenarioHasHosts(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider));

        var problem = await (await sim.Client.GetAsync($"{sim.Base}/export")).ReadProblemAsync(HttpStatusCode.Conflict);

        Assert.Contains("$.hosts", problem.GetProperty("detail").GetString());
    }
}
