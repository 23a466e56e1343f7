using System.Net;
using System.Text.Json;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// The interactive API says where a simulation left what the engine models (Simulation.LeftModel), as a scenario run does
/// with its run error (tester40 MEDIUM-2: the same world built by requests ran on silently): the advance answer, the
/// command batch's answer and the clock carry <c>leftModel</c> from the moment it happened on, and not before.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class LeftModelApiTests(ApiHosts hosts)
{
    /// <summary>
    /// A linux-4.4 client with tcp_mtu_probing 2 (MtuProbingTests.Probing2_Linux44_LeavesTheModelAtTcpMtupInit): 4.4's
    /// tcp_connect_init() runs tcp_mtup_init() before tcp_sync_mss(), an order the engine does not model (D161), so the run
    /// leaves the model at the connect; a linux-6 simulation with the same requests does not.
    /// </summary>
    [Theory]
    [InlineData("linux-4.4", true)]
    [InlineData("linux-6", false)]
    public async Task Linux44Probing2_ThroughRequests_AnswersSayWhereItLeftTheModel(string profile, bool leaves)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(DatabaseProvider.Sqlite), "left model", profile);
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1", sysctls = new Dictionary<string, object> { ["net.ipv4.tcp_mtu_probing"] = 2 } }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "server", address = "10.0.0.2" }, HttpStatusCode.Created);
        await sim.PostOkAsync("links", new { between = new[] { "client", "server" }, delayNs = 5_000_000 }, HttpStatusCode.Created);
        var before = await sim.PostOkAsync("advance", new { toNs = 1_000_000 });

        var connected = await sim.ConnectAsync();
        var batch = await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "advance", toNs = 100_000_000 } } });
        var clock = await sim.GetJsonAsync("clock");
        var after = await sim.PostOkAsync("advance", new { byNs = 1_000_000_000 });

        Assert.False(before.TryGetProperty("leftModel", out _));
        if (!leaves)
        {
            Assert.Null(connected.LeftModel);
            Assert.Null((await sim.ReplayAsync()).LeftModel);
            Assert.False(batch.TryGetProperty("leftModel", out _) || clock.TryGetProperty("leftModel", out _) || after.TryGetProperty("leftModel", out _));
            return;
        }
        var left = batch.GetProperty("leftModel");
        Assert.Equal(("client", "D161"), (left.GetProperty("host").GetString(), left.GetProperty("row").GetString()));
        Assert.StartsWith("linux-4.4: tcp_mtup_init()", left.GetProperty("what").GetString());
        Assert.StartsWith("the run left what the engine models at ", left.GetProperty("message").GetString());
        Assert.Equal(left.ToString(), batch.GetProperty("results")[0].GetProperty("advance").GetProperty("leftModel").ToString());
        Assert.Equal(left.ToString(), clock.GetProperty("leftModel").ToString());
        Assert.Equal(left.ToString(), after.GetProperty("leftModel").ToString());
        // tester41 MEDIUM-1: the connection's own answer says it (it left at the connect's instant), not only the next advance.
        Assert.Equal(left.GetProperty("message").GetString(), connected.LeftModel?.Message);
    }

    /// <summary>
    /// tester41 MEDIUM-1: every command's answer carries <c>leftModel</c> from the command that left the model on (one place:
    /// LiveSimulations.WriteAsync), so a client that makes calls and reads their answers learns it without an advance or the
    /// clock: the connect() call that runs linux-4.4's tcp_mtup_init() at tcp_mtu_probing 2 (D161), then a send, a sysctl
    /// change and a kill; the listen before it does not.
    /// </summary>
    [Fact]
    public async Task Linux44Probing2_TheConnectCallsOwnAnswer_AndEveryCommandAfter_SayWhereItLeftTheModel()
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(DatabaseProvider.Sqlite), "left model by calls", "linux-4.4");
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1", sysctls = new Dictionary<string, object> { ["net.ipv4.tcp_mtu_probing"] = 2 } }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "server", address = "10.0.0.2" }, HttpStatusCode.Created);
        await sim.PostOkAsync("links", new { between = new[] { "client", "server" }, delayNs = 1_000_000 }, HttpStatusCode.Created);

        var listen = await sim.OnHostAsync("server", "listen", new { port = 80 });
        var connect = await sim.OnHostAsync("client", "connect", new { to = "server:80" });
        var send = await sim.CallAsync(connect.SocketId, "send", new { bytes = 1000 });
        var sysctls = await sim.PatchAsync("hosts/client/sysctls", new Dictionary<string, object> { ["net.ipv4.tcp_fin_timeout"] = 30 });
        var kill = await sim.PostOkAsync("hosts/client/processes/app/kill", new { signal = "SIGKILL" });

        Assert.Null(listen.LeftModel);
        var left = connect.LeftModel;
        Assert.NotNull(left);
        Assert.Equal(("client", "D161", 0L), (left.Host, left.Row, left.AtNs));
        Assert.Equal(left, send.LeftModel);
        var changed = JsonDocument.Parse(await sysctls.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(left.Message, changed.GetProperty("leftModel").GetProperty("message").GetString());
        Assert.Equal(left.Message, kill.GetProperty("leftModel").GetProperty("message").GetString());
        // A replay rebuilds the engine from the log, departure and all, and says so as well.
        var replay = await sim.ReplayAsync();
        Assert.True(replay.Identical);
        Assert.Equal(left, replay.LeftModel);
    }
}
