using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>IP_LOCAL_PORT_RANGE and IP_BIND_ADDRESS_NO_PORT through the socket endpoints, the socket resource and the export.</summary>
[Collection(ApiCollection.Name)]
public sealed class LocalPortOptionApiTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Close_LocalPortRangeAndNoPortBind_ConnectTakesThePortOfTheRange(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        await sim.OnHostAsync("server", "listen", new { port = 80 });
        var socket = await sim.OnHostAsync("client", "sockets");

        var range = await sim.CallAsync(socket.SocketId, "setsockopt", new { option = "IP_LOCAL_PORT_RANGE", value = new { lo = 50000, hi = 50000 } });
        var read = await sim.CallAsync(socket.SocketId, "getsockopt", new { option = "IP_LOCAL_PORT_RANGE" });
        var inverted = await sim.CallAsync(socket.SocketId, "setsockopt", new { option = "IP_LOCAL_PORT_RANGE", value = new { lo = 50001, hi = 50000 } });
        await sim.CallAsync(socket.SocketId, "setsockopt", new { option = "IP_BIND_ADDRESS_NO_PORT", value = 1 });
        var bind = await sim.CallAsync(socket.SocketId, "bind", new { port = 0 });
        var unbound = await sim.SocketAsync(socket.SocketId);
        await sim.CallAsync(socket.SocketId, "connect", new { to = "server:80" });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        var connected = await sim.SocketAsync(socket.SocketId);

        Assert.Equal(0L, range.Result);
        Assert.Equal((50000L << 16 | 50000L, 50000, 50000), (read.Result!.Value, read.Value!.Value.GetProperty("lo").GetInt32(), read.Value!.Value.GetProperty("hi").GetInt32()));
        Assert.Equal("EINVAL", inverted.Errno);
        Assert.Equal(0L, bind.Result);
        Assert.EndsWith(":0", unbound.Local);
        Assert.Equal(("ESTABLISHED", "10.0.0.1:50000"), (connected.State, connected.Local));
        Assert.Contains("\"option\": \"IP_LOCAL_PORT_RANGE\",\n      \"value\": {\n        \"lo\": 50000,\n        \"hi\": 50000\n      }", await sim.ExportAsync());
    }
}
