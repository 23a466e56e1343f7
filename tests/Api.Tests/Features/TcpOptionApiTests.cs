using System.Net;
using System.Text.Json;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>TCP_NODELAY, TCP_CORK, TCP_SYNCNT, TCP_CONGESTION and send/recv flags through the socket endpoints.</summary>
[Collection(ApiCollection.Name)]
public sealed class TcpOptionApiTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Established_CorkAndMsgMore_ValuesReadBackAndExported(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var conn = await sim.ConnectAsync();
        await sim.AdvanceAsync(new { byNs = 100_000_000 });

        var cork = await sim.CallAsync(conn.ClientSocketId, "setsockopt", new { option = "TCP_CORK", value = 1 });
        var read = await sim.CallAsync(conn.ClientSocketId, "getsockopt", new { option = "TCP_CORK" });
        var more = await sim.CallAsync(conn.ClientSocketId, "send", new { bytes = 100, flags = new[] { "MSG_MORE" } });
        var syncnt = await sim.CallAsync(conn.ClientSocketId, "setsockopt", new { option = "TCP_SYNCNT", value = 128 });
        var reno = await sim.CallAsync(conn.ClientSocketId, "setsockopt", new { option = "TCP_CONGESTION", value = "reno" });
        var ca = await sim.CallAsync(conn.ClientSocketId, "getsockopt", new { option = "TCP_CONGESTION" });

        Assert.Equal((0L, 1L, 100L), (cork.Result!.Value, read.Result!.Value, more.Result!.Value));
        Assert.Equal("EINVAL", syncnt.Errno); // tcp_sock_set_syncnt(): above MAX_TCP_SYNCNT
        Assert.Equal(0L, reno.Result);
        Assert.Equal("reno", ca.Value!.Value.GetString());
        var export = await sim.ExportAsync();
        Assert.Contains("\"flags\": [\n        \"MSG_MORE\"\n      ]", export);
        Assert.Contains("\"option\": \"TCP_CONGESTION\",\n      \"value\": \"reno\"", export);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Established_FlagTheCallDoesNotTake_ValidationProblemNamingFlags(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var conn = await sim.ConnectAsync();

        var peekOnSend = await sim.PostAsync($"sockets/{conn.ClientSocketId}/send", new { bytes = 1, flags = new[] { "MSG_PEEK" } });
        var bbr = await sim.PostAsync($"sockets/{conn.ClientSocketId}/setsockopt", new { option = "TCP_CONGESTION", value = "bbr" });

        foreach (var (response, field) in new[] { (peekOnSend, "flags"), (bbr, "value") })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }
    }
}
