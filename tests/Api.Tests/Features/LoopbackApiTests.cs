using System.Net;
using System.Net.Http.Json;
using SimService.Api.Features.Hosts;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>Several addresses per host, bind() to an address and loopback connections through the API.</summary>
[Collection(ApiCollection.Name)]
public sealed class LoopbackApiTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Hosts_SecondAddressAndLoopbackListener_BindConflictsByAddressAndLoopbackConnect(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider));
        await sim.PostOkAsync("hosts", new { name = "client", address = "10.0.0.1", addresses = new[] { "10.0.0.11" } }, HttpStatusCode.Created);
        var host = (await sim.Client.GetFromJsonAsync<HostResponse>($"{sim.Base}/hosts/client"))!;

        var lo = await sim.OnHostAsync("client", "sockets");
        var loBind = await sim.CallAsync(lo.SocketId, "bind", new { port = 80, address = "127.0.0.1" });
        await sim.CallAsync(lo.SocketId, "listen");
        var eth = await sim.OnHostAsync("client", "sockets");
        var ethBind = await sim.CallAsync(eth.SocketId, "bind", new { port = 80, address = "10.0.0.11" });
        var any = await sim.OnHostAsync("client", "sockets");
        var anyBind = await sim.CallAsync(any.SocketId, "bind", new { port = 80 });
        var foreign = await sim.CallAsync(any.SocketId, "bind", new { port = 80, address = "10.0.0.2" });
        var c = await sim.OnHostAsync("client", "connect", new { to = "127.0.0.1:80" });
        await sim.AdvanceAsync(new { byNs = 1_000_000 });
        var connected = await sim.SocketAsync(c.SocketId);

        Assert.Equal(["10.0.0.1", "10.0.0.11"], host.Addresses);
        Assert.Equal((0L, 0L), (loBind.Result, ethBind.Result));
        Assert.Equal(("EADDRINUSE", "EADDRNOTAVAIL"), (anyBind.Errno, foreign.Errno));
        Assert.Equal(("ESTABLISHED", "127.0.0.1:80"), (connected.State, connected.Remote));
        Assert.StartsWith("127.0.0.1:", connected.Local);
        Assert.Contains("\"addresses\": [\n        \"10.0.0.11\"\n      ]", await sim.ExportAsync());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Hosts_ListenOnPortWithAnAddress_ListensThereOnly(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var lo = await sim.OnHostAsync("client", "listen", new { port = 80, address = "127.0.0.1" });
        var remote = await sim.OnHostAsync("server", "connect", new { to = "client:80" });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });

        Assert.Equal(("LISTEN", "127.0.0.1:80"), ((await sim.SocketAsync(lo.SocketId)).State, (await sim.SocketAsync(lo.SocketId)).Local));
        Assert.Equal("ECONNREFUSED", (await sim.GetJsonAsync($"calls/{remote.CallId}")).GetProperty("errno").GetString());
    }
}
