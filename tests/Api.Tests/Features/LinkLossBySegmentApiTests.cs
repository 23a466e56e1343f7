using System.Net;
using System.Text.Json;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>A link's lossBySegment through the links endpoint: shown in link responses, logged, replayed exactly and exported.</summary>
[Collection(ApiCollection.Name)]
public sealed class LinkLossBySegmentApiTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task AddLink_LossBySegment_ShownReplayedAndExported(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider), "loss by segment", seed: 7);
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1" }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "server", address = "10.0.0.2" }, HttpStatusCode.Created);
        var added = await sim.PostOkAsync("links",
            new { between = new[] { "client", "server" }, delayNs = 10_000_000, loss = 0.3, lossBySegment = true }, HttpStatusCode.Created);
        var listed = await sim.GetJsonAsync("links");
        await sim.OnHostAsync("server", "listen", new { port = 80 });
        var socket = await sim.OnHostAsync("client", "sockets");
        await sim.CallAsync(socket.SocketId, "connect", new { to = "server:80" });
        await sim.AdvanceAsync(new { byNs = 2_000_000_000 });
        await sim.CallAsync(socket.SocketId, "send", new { bytes = 20_000 });
        await sim.CallAsync(socket.SocketId, "close");
        await sim.AdvanceAsync(new { untilIdle = true, maxNs = 120_000_000_000 });
        var journal = await sim.JournalAsync();

        Assert.Equal((true, 0.3), (added.GetProperty("lossBySegment").GetBoolean(), added.GetProperty("forward").GetProperty("loss").GetDouble()));
        Assert.True(listed.GetProperty("items")[0].GetProperty("lossBySegment").GetBoolean());
        Assert.Contains(journal, line => line.Contains(" segment-dropped ", StringComparison.Ordinal));
        var replay = await sim.ReplayAsync();
        Assert.True(replay.Identical, JsonSerializer.Serialize(replay));
        Assert.Contains("\"lossBySegment\": true", await sim.ExportAsync(), StringComparison.Ordinal);
    }

    /// <summary>PATCH switches the whole link to the generator and back; not one way; replay gives the same journal.</summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task ChangeLink_LossBySegment_SwitchesTheWholeLinkAndReplays(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider), seed: 7);
        var connection = await sim.ConnectAsync();
        var on = await sim.PatchAsync("links/client/server", new { loss = 0.3, lossBySegment = true });
        var oneWay = await sim.PatchAsync("links/client/server", new { oneWay = true, lossBySegment = false });
        await sim.CallAsync(connection.ClientSocketId, "send", new { bytes = 20_000 });
        await sim.AdvanceAsync(new { byNs = 5_000_000_000 });
        var off = await sim.PatchAsync("links/client/server", new { lossBySegment = false });
        await sim.CallAsync(connection.ClientSocketId, "close");
        await sim.AdvanceAsync(new { untilIdle = true, maxNs = 120_000_000_000 });

        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.True(JsonDocument.Parse(await on.Content.ReadAsStringAsync()).RootElement.GetProperty("lossBySegment").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, oneWay.StatusCode);
        Assert.Contains("lossBySegment", await oneWay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(JsonDocument.Parse(await off.Content.ReadAsStringAsync()).RootElement.GetProperty("lossBySegment").GetBoolean());
        var replay = await sim.ReplayAsync();
        Assert.True(replay.Identical, JsonSerializer.Serialize(replay));
    }
}
