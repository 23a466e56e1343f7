using System.Net;
using System.Text.Json;
using SimService.Api.Features.Sockets;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// The central teardown stories (the examples of docs/scenario-format.md), told through the REST API (the README's walk-through does the
/// same with curl). Each asserts what the story shows and returns the simulation for further checks.
/// </summary>
internal static class Stories
{
    public static readonly string[] Names = ["linger-zero-rst", "orderly-close-time-wait", "fin-wait2-timeout", "port-exhaustion-and-tw-reuse"];

    public static Task<SimulationDriver> TellAsync(HttpClient client, string name) => name switch
    {
        "linger-zero-rst" => LingerZeroRstAsync(client),
        "orderly-close-time-wait" => OrderlyCloseAsync(client),
        "fin-wait2-timeout" => FinWait2TimeoutAsync(client),
        "port-exhaustion-and-tw-reuse" => PortExhaustionAsync(client),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>SO_LINGER {1,0} + close(): RST instead of FIN; the peer's recv() gets ECONNRESET; no TIME-WAIT.</summary>
    public static async Task<SimulationDriver> LingerZeroRstAsync(HttpClient client)
    {
        var sim = await SimulationDriver.TwoHostsAsync(client, "linger zero rst");
        var pair = await sim.ConnectAsync();
        Assert.True(pair.Established);
        var (c, s) = (pair.ClientSocketId, pair.ServerSocketId!.Value);
        Assert.Equal(100, (await sim.CallAsync(c, "send", new { bytes = 100 })).Result);
        var recv = await sim.CallAsync(s, "recv");
        Assert.Equal(CallResponse.Pending, recv.Status);
        await sim.AdvanceToAsync(200_000_000);
        var received = await sim.GetJsonAsync($"calls/{recv.CallId}");
        Assert.Equal((CallResponse.Returned, 100L), (received.GetProperty("status").GetString(), received.GetProperty("result").GetInt64()));

        await sim.CallAsync(c, "setsockopt", new { option = "SO_LINGER", value = new { onoff = 1, linger = 0 } });
        var close = await sim.CallAsync(c, "close");
        Assert.Equal((CallResponse.Returned, 0L), (close.Status, close.Result!.Value));
        await sim.AdvanceToAsync(300_000_000);
        var reset = await sim.CallAsync(s, "recv");
        Assert.Equal((CallResponse.Returned, "ECONNRESET"), (reset.Status, reset.Errno));

        var rst = await sim.JournalAsync("&host=client&type=segment-sent");
        Assert.Contains(rst, line => line.Contains("\"flags\":\"R.\"") && line.Contains(" 200000000 "));
        Assert.DoesNotContain(rst, line => line.Contains("\"flags\":\"F.\""));
        var counters = await sim.GetJsonAsync("hosts/client/counters");
        Assert.Equal(1, counters.GetProperty("counters").GetProperty("TcpExt.TCPAbortOnData").GetInt64());
        Assert.Equal(0, counters.GetProperty("sockstat").GetProperty("tw").GetInt64());
        return sim;
    }

    /// <summary>Orderly close: the active closer sits in TIME-WAIT for 60 s; the passive closer goes CLOSE-WAIT, LAST-ACK, CLOSED.</summary>
    public static async Task<SimulationDriver> OrderlyCloseAsync(HttpClient client)
    {
        var sim = await SimulationDriver.TwoHostsAsync(client, "orderly close");
        var pair = await sim.ConnectAsync();
        var (c, s) = (pair.ClientSocketId, pair.ServerSocketId!.Value);
        await sim.AdvanceToAsync(100_000_000);
        Assert.Equal(0, (await sim.CallAsync(c, "close")).Result);
        var eof = await sim.CallAsync(s, "recv");
        await sim.AdvanceToAsync(400_000_000);
        Assert.Equal(0, (await sim.GetJsonAsync($"calls/{eof.CallId}")).GetProperty("result").GetInt64());
        Assert.Equal("FIN-WAIT-2", (await sim.SocketAsync(c)).State);
        Assert.Equal("CLOSE-WAIT", (await sim.SocketAsync(s)).State);

        Assert.Equal(0, (await sim.CallAsync(s, "close")).Result);
        await sim.AdvanceToAsync(1_000_000_000);
        var client1s = await sim.SocketAsync(c);
        Assert.Equal("TIME-WAIT", client1s.State);
        var timer = client1s.Rows.Single(r => r.Kind == "timewait").Timer!;
        Assert.Equal("timewait", timer.Name);
        Assert.InRange(timer.LeftNs, 58_000_000_000, 60_500_000_000);
        Assert.Equal("CLOSED", (await sim.SocketAsync(s)).State);
        Assert.Contains("TIME-WAIT", await sim.GetTextAsync("hosts/client/ss"));

        await sim.AdvanceToAsync(60_000_000_000);
        Assert.Equal("TIME-WAIT", (await sim.SocketAsync(c)).State);
        await sim.AdvanceToAsync(63_000_000_000);
        Assert.Equal("CLOSED", (await sim.SocketAsync(c)).State);
        Assert.Contains("tw 0", await sim.GetTextAsync("hosts/client/proc/net/sockstat"));
        return sim;
    }

    /// <summary>tcp_fin_timeout=5: the orphaned FIN-WAIT-2 disappears about 5 s after the peer's ACK.</summary>
    public static async Task<SimulationDriver> FinWait2TimeoutAsync(HttpClient client)
    {
        var sim = await SimulationDriver.TwoHostsAsync(client, "fin-wait-2 timeout", new Dictionary<string, object> { ["net.ipv4.tcp_fin_timeout"] = 5 });
        var pair = await sim.ConnectAsync();
        var (c, s) = (pair.ClientSocketId, pair.ServerSocketId!.Value);
        await sim.AdvanceToAsync(100_000_000);
        await sim.CallAsync(c, "close");
        await sim.AdvanceToAsync(1_000_000_000);
        var orphan = await sim.SocketAsync(c);
        Assert.Equal("FIN-WAIT-2", orphan.State);
        var row = Assert.Single(orphan.Rows);
        Assert.Equal(("timewait", "FIN-WAIT-2", "timewait"), (row.Kind, row.State, row.Timer!.Name));
        await sim.AdvanceToAsync(4_800_000_000);
        Assert.Equal("FIN-WAIT-2", (await sim.SocketAsync(c)).State);
        await sim.AdvanceToAsync(6_000_000_000);
        Assert.Equal("CLOSED", (await sim.SocketAsync(c)).State);
        Assert.Equal("CLOSE-WAIT", (await sim.SocketAsync(s)).State);
        return sim;
    }

    /// <summary>A 4-port range all in TIME-WAIT: connect() fails with EADDRNOTAVAIL; with tcp_tw_reuse=1 it succeeds once a TIME-WAIT is over 1 s old.</summary>
    public static async Task<SimulationDriver> PortExhaustionAsync(HttpClient client)
    {
        var sim = await SimulationDriver.TwoHostsAsync(client, "port exhaustion",
            new Dictionary<string, object> { ["net.ipv4.ip_local_port_range"] = "40000 40003" });
        for (int i = 0; i < 4; i++)
        {
            var pair = await sim.ConnectAsync();
            Assert.True(pair.Established);
            await sim.CallAsync(pair.ClientSocketId, "close");
            await sim.CallAsync(pair.ServerSocketId!.Value, "recv");
            await sim.AdvanceAsync(new { byNs = 20_000_000 });
            await sim.CallAsync(pair.ServerSocketId!.Value, "close");
            await sim.AdvanceAsync(new { byNs = 100_000_000 });
        }
        var sockets = await sim.GetJsonAsync("hosts/client/sockets");
        Assert.Equal(4, sockets.GetProperty("items").EnumerateArray().Count(r => r.GetProperty("state").GetString() == "TIME-WAIT"));

        var refused = await sim.OnHostAsync("client", "connect", new { to = "server:80" });
        Assert.Equal((CallResponse.Returned, "EADDRNOTAVAIL"), (refused.Status, refused.Errno));

        var reuse = await sim.PatchAsync("hosts/client/sysctls", new Dictionary<string, object> { ["net.ipv4.tcp_tw_reuse"] = 1 });
        Assert.Equal(HttpStatusCode.OK, reuse.StatusCode);
        await sim.AdvanceToAsync(2_500_000_000);
        var reused = await sim.ConnectAsync();
        Assert.True(reused.Established);
        var counters = await sim.GetJsonAsync("hosts/client/counters");
        Assert.Equal(1, counters.GetProperty("counters").GetProperty("TcpExt.TWRecycled").GetInt64());
        return sim;
    }

    public static JsonElement Property(this JsonElement e, string name) => e.GetProperty(name);
}
