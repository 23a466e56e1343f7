using System.Net;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// The interactive API says where a simulation left what the engine models (Simulation.LeftModel, D161), as a scenario run
/// does with its run error (tester40 MEDIUM-2: the same world built by requests ran on silently): the advance answer, the
/// command batch's answer and the clock carry <c>leftModel</c> from the moment it happened on, and not before.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class LeftModelApiTests(ApiHosts hosts)
{
    /// <summary>
    /// MtuProbingTests' healed black hole built by requests (client tcp_mtu_probing 1, 5 ms link): 200000 bytes meet a 3.4 s
    /// outage toward the server, black-hole detection cuts the MSS, the path heals, and at 7.093 s tcp_write_xmit() →
    /// tcp_mtu_probe() would send a 980-byte probe the engine does not model.
    /// </summary>
    [Fact]
    public async Task HealedBlackHole_ThroughRequests_AnswersSayWhereItLeftTheModel()
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(DatabaseProvider.Sqlite), "left model");
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1", sysctls = new Dictionary<string, object> { ["net.ipv4.tcp_mtu_probing"] = 1 } }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "server", address = "10.0.0.2" }, HttpStatusCode.Created);
        await sim.PostOkAsync("links", new { between = new[] { "client", "server" }, delayNs = 5_000_000 }, HttpStatusCode.Created);
        var connection = await sim.ConnectAsync();
        await sim.AdvanceToAsync(100_000_000);
        Assert.Equal(HttpStatusCode.OK, (await sim.PatchAsync("links/client/server", new { loss = 1.0, oneWay = true })).StatusCode);
        await sim.CallAsync(connection.ClientSocketId, "send", new { bytes = 200_000 });
        await sim.AdvanceToAsync(3_500_000_000);
        Assert.Equal(HttpStatusCode.OK, (await sim.PatchAsync("links/client/server", new { loss = 0.0, oneWay = true })).StatusCode);
        await sim.CallAsync(connection.ServerSocketId!.Value, "recv", new { bytes = 200_000 });

        var before = await sim.PostOkAsync("advance", new { toNs = 7_000_000_000 });
        var batch = await sim.PostOkAsync("commands", new { commands = new object[] { new { type = "advance", toNs = 9_000_000_000 } } });
        var clock = await sim.GetJsonAsync("clock");
        var after = await sim.PostOkAsync("advance", new { byNs = 1_000_000_000 });

        Assert.False(before.TryGetProperty("leftModel", out _));
        var left = batch.GetProperty("leftModel");
        Assert.Equal(7_093_000_000, left.GetProperty("atNs").GetInt64());
        Assert.Equal(("client", "D161"), (left.GetProperty("host").GetString(), left.GetProperty("row").GetString()));
        Assert.Equal("tcp_mtu_probe() would send a 980-byte MTU probe (search_low 564, search_high 1500)", left.GetProperty("what").GetString());
        Assert.StartsWith("the run left what the engine models at 7.093s: client 10.0.0.1:", left.GetProperty("message").GetString());
        Assert.Equal(left.ToString(), batch.GetProperty("results")[0].GetProperty("advance").GetProperty("leftModel").ToString());
        Assert.Equal(left.ToString(), clock.GetProperty("leftModel").ToString());
        Assert.Equal(left.ToString(), after.GetProperty("leftModel").ToString());
    }
}
