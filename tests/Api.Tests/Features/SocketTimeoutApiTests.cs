using SimService.Api.Features.Sockets;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>SO_SNDTIMEO / SO_RCVTIMEO through the socket endpoints and the command batch, and exported as a scenario.</summary>
[Collection(ApiCollection.Name)]
public sealed class SocketTimeoutApiTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Established_RecvUnderRcvTimeo_PendingThenEagainAtTheWheelsTime(DatabaseProvider provider)
    {
        // OpenConnection leaves the clock at 30 ms (10 ms links): jiffy 7, expire 257, level-1 bucket 264 → 1.056 s.
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var connection = await sim.ConnectAsync();
        var server = connection.ServerSocketId!.Value;

        var set = await sim.CallAsync(server, "setsockopt", new { option = "SO_RCVTIMEO", value = new { sec = 1, usec = 0 } });
        var get = await sim.CallAsync(server, "getsockopt", new { option = "SO_RCVTIMEO" });
        var edom = await sim.CallAsync(server, "setsockopt", new { option = "SO_RCVTIMEO", value = new { sec = 0, usec = 1_000_000 } });
        var recv = await sim.CallAsync(server, "recv");
        await sim.AdvanceAsync(new { byNs = 2_000_000_000 });
        var returned = await sim.GetJsonAsync($"calls/{recv.CallId}");

        Assert.Equal((CallResponse.Returned, 0L), (set.Status, set.Result!.Value));
        Assert.Equal((0L, 1L, 0L), (get.Result!.Value, get.Value!.Value.GetProperty("sec").GetInt64(), get.Value!.Value.GetProperty("usec").GetInt64()));
        Assert.Equal((CallResponse.Returned, "EDOM"), (edom.Status, edom.Errno));
        Assert.Equal(CallResponse.Pending, recv.Status);
        Assert.Equal(("EAGAIN", 1_056_000_000L, 1_026_000_000L),
            (returned.GetProperty("errno").GetString(), returned.GetProperty("returnedAtNs").GetInt64(), returned.GetProperty("blockedNs").GetInt64()));
        Assert.Contains("\"option\": \"SO_RCVTIMEO\",\n      \"value\": {\n        \"sec\": 1,\n        \"usec\": 0\n      }", await sim.ExportAsync());
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Batch_SetsockoptSndTimeo_IsApplied(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var socket = await sim.OnHostAsync("client", "sockets");

        await sim.PostOkAsync("commands", new { commands = new object[]
        {
            new { type = "call", call = "setsockopt", socketId = socket.SocketId, option = "SO_SNDTIMEO", value = new { sec = 2, usec = 1 } },
        } });
        var get = await sim.CallAsync(socket.SocketId, "getsockopt", new { option = "SO_SNDTIMEO" });

        // 2·250 + DIV_ROUND_UP(1, 4000) = 501 jiffies, read back as {2, 4000}.
        Assert.Equal((2L, 4000L), (get.Value!.Value.GetProperty("sec").GetInt64(), get.Value!.Value.GetProperty("usec").GetInt64()));
    }
}
