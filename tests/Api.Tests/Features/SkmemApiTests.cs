using System.Net.Http.Json;
using SimService.Api.Features.Hosts;
using SimService.Api.Features.Sockets;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>A socket's memory (sk_get_meminfo()) through getsockopt(SO_MEMINFO), the host's socket rows and `ss -m`.</summary>
[Collection(ApiCollection.Name)]
public sealed class SkmemApiTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task UnreadSegment_ReadAlikeByGetsockoptSocketRowsAndSs(DatabaseProvider provider)
    {
        // One 1000-byte segment unread on the server: one 2304-byte skb (the NIC model's 2 KB buffer), one page scheduled.
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var connection = await sim.ConnectAsync();
        var server = connection.ServerSocketId!.Value;
        var sent = await sim.CallAsync(connection.ClientSocketId, "send", new { bytes = 1000 });
        await sim.AdvanceToAsync(200_000_000);

        var get = await sim.CallAsync(server, "getsockopt", new { option = "SO_MEMINFO" });
        var set = await sim.CallAsync(server, "setsockopt", new { option = "SO_MEMINFO", value = 1 });
        var rows = (await sim.Client.GetFromJsonAsync<HostSockets>($"{sim.Base}/hosts/server/sockets"))!;
        var ss = await sim.GetTextAsync("hosts/server/ss?info=false&memory=true");

        Assert.Equal(1000, sent.Result);
        Assert.Equal(0, get.Result);
        Assert.Equal("""{"rmem_alloc":2304,"rcvbuf":131072,"wmem_alloc":0,"sndbuf":46080,"fwd_alloc":1792,"wmem_queued":0,"optmem":0,"backlog":0,"drops":0}""",
            get.Value!.Value.GetRawText());
        Assert.Equal("ENOPROTOOPT", set.Errno);
        var established = Assert.Single(rows.Items, r => r.State == "ESTABLISHED");
        Assert.Equal(new SkmemView(2304, 131072, 0, 46080, 1792, 0, 0, 0, 0), established.Skmem);
        Assert.Equal(new SkmemView(0, 131072, 0, 16384, 0, 0, 0, 0, 0), Assert.Single(rows.Items, r => r.State == "LISTEN").Skmem);
        Assert.Contains("\n\t skmem:(r2304,rb131072,t0,tb46080,f1792,w0,o0,bl0,d0)", ss);
        Assert.DoesNotContain("skmem", await sim.GetTextAsync("hosts/server/ss?info=false"));
    }
}
