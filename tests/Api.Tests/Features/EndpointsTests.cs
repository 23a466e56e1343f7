using System.Net;
using System.Net.Http.Json;
using SimService.Api.Features.Commands;
using SimService.Api.Features.Hosts;
using SimService.Api.Features.Links;
using SimService.Api.Features.Processes;
using SimService.Api.Features.Sockets;
using SimService.Api.Infrastructure;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>Each endpoint's success path (the stories cover the rest of the happy paths).</summary>
[Collection(ApiCollection.Name)]
public sealed class EndpointsTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Hosts_AddGetListAndSysctls(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider));

        var added = await sim.PostAsync("hosts", new { name = "client", address = "10.0.0.1", sysctls = new Dictionary<string, object>
        {
            ["net.ipv4.ip_local_port_range"] = "40000 40009", ["net.ipv4.tcp_fin_timeout"] = 30,
        } });

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(new Uri(sim.Client.BaseAddress!, $"{sim.Base}/hosts/client"), added.Headers.Location);
        Assert.Equal("\"1\"", added.Headers.ETag?.Tag);
        var host = (await sim.Client.GetFromJsonAsync<HostResponse>($"{sim.Base}/hosts/client"))!;
        Assert.Equal(("client", "10.0.0.1", "linux", 1L), (host.Name, host.Address, host.Kind, host.Version));
        Assert.Equal(("40000\t40009", "30"), (host.Sysctls["net.ipv4.ip_local_port_range"], host.Sysctls["net.ipv4.tcp_fin_timeout"]));

        await sim.PostOkAsync("hosts", new { name = "peer", address = "10.0.0.9", kind = "scripted" }, HttpStatusCode.Created);
        var list = (await sim.Client.GetFromJsonAsync<HostList>($"{sim.Base}/hosts"))!;
        Assert.Equal(["client:linux", "peer:scripted"], list.Items.Select(h => $"{h.Name}:{h.Kind}"));

        var changed = await sim.PatchAsync("hosts/client/sysctls", new Dictionary<string, object> { ["net.ipv4.tcp_max_tw_buckets"] = 2 });
        var body = (await changed.Content.ReadFromJsonAsync<SysctlsChanged>())!;
        Assert.Equal(("2", 3L), (body.Values["net.ipv4.tcp_max_tw_buckets"], body.Version));
        var journal = await sim.JournalAsync("&type=sysctl-changed");
        Assert.Equal(3, journal.Count);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync($"{sim.Base}/hosts/nohost")).StatusCode);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Links_AddListAndChangeOneDirection(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var changed = await sim.PatchAsync("links/client/server", new { oneWay = true, blackhole = true });

        var link = (await changed.Content.ReadFromJsonAsync<LinkResponse>())!;
        Assert.Equal((true, false), (link.Forward.Blackhole, link.Backward.Blackhole));
        var list = (await sim.Client.GetFromJsonAsync<LinkList>($"{sim.Base}/links"))!;
        var only = Assert.Single(list.Items);
        Assert.Equal((10_000_000L, 10_000_000L, true), (only.Forward.DelayNs, only.Backward.DelayNs, only.Forward.Blackhole));
        var connect = await sim.OnHostAsync("client", "connect", new { to = "server:80" });
        await sim.AdvanceAsync(new { byNs = 2_000_000_000 });
        Assert.Contains(await sim.JournalAsync("&type=segment-dropped"), e => e.Contains("\"reason\":\"blackhole\""));
        Assert.Equal(CallResponse.Pending, (await sim.GetJsonAsync($"calls/{connect.CallId}")).GetProperty("status").GetString());
        var export = await sim.Client.GetAsync($"{sim.Base}/export");
        Assert.Equal(ProblemTypes.NotExportable, (await export.ReadProblemAsync(HttpStatusCode.Conflict)).GetProperty("type").GetString());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Established_ConnectAfUnspec_ZeroCloseThenConnectsAgain(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        await sim.OnHostAsync("server", "listen", new { port = 80 });
        var client = await sim.OnHostAsync("client", "sockets");
        await sim.CallAsync(client.SocketId, "connect", new { to = "server:80" });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });

        var unspec = await sim.CallAsync(client.SocketId, "connect", new { family = "AF_UNSPEC" });
        var info = (await sim.CallAsync(client.SocketId, "getsockopt", new { option = "TCP_INFO" })).Value!.Value;
        var error = await sim.CallAsync(client.SocketId, "getsockopt", new { option = "SO_ERROR" });
        var again = await sim.CallAsync(client.SocketId, "connect", new { to = "server:80" });

        Assert.Equal(0L, unspec.Result);
        Assert.Equal("CLOSED", info.GetProperty("state").GetString());
        Assert.Equal(104L, error.Result);
        Assert.Equal(CallResponse.Pending, again.Status);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Close_LowWaterMarkOptions_SetAndReadBackThroughTheApi(DatabaseProvider provider)
    {
        // tcp_set_rcvlowat(): SO_RCVLOWAT 100000 grows the unlocked sk_rcvbuf to tcp_space_from_win(100000) = 200000;
        // TCP_NOTSENT_LOWAT reads 0 until set (tcp_notsent_lowat() then takes the sysctl).
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var s = await sim.OnHostAsync("client", "sockets");

        Assert.Equal(0L, (await sim.CallAsync(s.SocketId, "getsockopt", new { option = "TCP_NOTSENT_LOWAT" })).Result);
        Assert.Equal(0L, (await sim.CallAsync(s.SocketId, "setsockopt", new { option = "SO_RCVLOWAT", value = 100000 })).Result);
        Assert.Equal(100000L, (await sim.CallAsync(s.SocketId, "getsockopt", new { option = "SO_RCVLOWAT" })).Result);
        Assert.Equal(200000L, (await sim.CallAsync(s.SocketId, "getsockopt", new { option = "SO_RCVBUF" })).Result);
        Assert.Equal(0L, (await sim.CallAsync(s.SocketId, "setsockopt", new { option = "TCP_NOTSENT_LOWAT", value = 16384 })).Result);
        Assert.Equal(16384L, (await sim.CallAsync(s.SocketId, "getsockopt", new { option = "TCP_NOTSENT_LOWAT" })).Result);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Sockets_EveryCall_OnTheSocketEndpoints(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var listener = await sim.OnHostAsync("server", "sockets", new { process = "nginx" });
        Assert.Equal((CallResponse.Returned, 3L, "nginx"), (listener.Status, listener.Result!.Value, listener.Process));
        Assert.Equal(0, (await sim.CallAsync(listener.SocketId, "setsockopt", new { option = "SO_REUSEADDR", value = 1 })).Result);
        Assert.Equal(0, (await sim.CallAsync(listener.SocketId, "bind", new { port = 8080 })).Result);
        Assert.Equal(0, (await sim.CallAsync(listener.SocketId, "listen", new { backlog = 16 })).Result);
        var accept = await sim.CallAsync(listener.SocketId, "accept");
        Assert.Equal(CallResponse.Pending, accept.Status);

        var client = await sim.OnHostAsync("client", "sockets");
        var connect = await sim.CallAsync(client.SocketId, "connect", new { to = "server:8080" });
        Assert.Equal(CallResponse.Pending, connect.Status);
        await sim.AdvanceAsync(new { untilIdle = true, maxNs = 1_000_000_000 });

        var accepted = await sim.GetJsonAsync($"calls/{accept.CallId}");
        var server = accepted.GetProperty("socketId").GetInt32();
        Assert.Equal((CallResponse.Returned, 30_000_000L), (accepted.GetProperty("status").GetString(), accepted.GetProperty("blockedNs").GetInt64()));
        Assert.Equal(7200, (await sim.CallAsync(client.SocketId, "getsockopt", new { option = "TCP_KEEPIDLE" })).Result);
        var info = (await sim.CallAsync(client.SocketId, "getsockopt", new { option = "TCP_INFO" })).Value!.Value;
        Assert.Equal(("ESTABLISHED", 1448), (info.GetProperty("state").GetString(), info.GetProperty("snd_mss").GetInt32()));
        var peer = await sim.CallAsync(client.SocketId, "getpeername");
        Assert.Equal((0L, "10.0.0.2:8080"), (peer.Result!.Value, peer.Value!.Value.GetString()));
        Assert.Equal("10.0.0.2:8080", (await sim.GetJsonAsync($"calls/{peer.CallId}")).GetProperty("value").GetString());
        Assert.Equal(0, (await sim.CallAsync(client.SocketId, "fcntl", new { nonblock = true })).Result);
        var poll = await sim.CallAsync(client.SocketId, "poll", new { events = new[] { "POLLIN", "POLLOUT" } });
        Assert.Equal((1L, "POLLOUT"), (poll.Result!.Value, poll.Value!.Value.GetString()));
        Assert.Equal("EAGAIN", (await sim.CallAsync(client.SocketId, "recv")).Errno);
        var sleeping = await sim.CallAsync(client.SocketId, "poll", new { events = new[] { "POLLIN" }, timeoutMs = 50 });
        Assert.Equal(CallResponse.Pending, sleeping.Status);
        await sim.AdvanceAsync(new { byNs = 60_000_000 });
        var timedOut = await sim.GetJsonAsync($"calls/{sleeping.CallId}");
        Assert.Equal((0L, 50_050_000L, "0"), (timedOut.GetProperty("result").GetInt64(), timedOut.GetProperty("blockedNs").GetInt64(), timedOut.GetProperty("value").GetString()));
        var dup = await sim.CallAsync(client.SocketId, "dup");
        Assert.Equal(4L, dup.Result);
        Assert.Equal(10L, (await sim.CallAsync(client.SocketId, "dup2", new { newFd = 10 })).Result);
        Assert.Equal(0, (await sim.CallAsync(client.SocketId, "close", new { fd = 4 })).Result);
        Assert.Equal("EBADF", (await sim.CallAsync(client.SocketId, "close", new { fd = 4 })).Errno);
        Assert.Equal(0, (await sim.CallAsync(client.SocketId, "shutdown", new { how = "SHUT_WR" })).Result);
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        var socket = await sim.SocketAsync(server);
        Assert.Equal(("CLOSE-WAIT", "server", "nginx"), (socket.State, socket.Host, socket.Process));
        Assert.Contains(socket.RecentCalls, c => c.Call == "accept");
        Assert.Equal("FIN-WAIT-2", (await sim.SocketAsync(client.SocketId)).State);
        var killed = await sim.PostOkAsync("hosts/server/processes/nginx/kill", new { signal = "SIGTERM" });
        Assert.Equal("SIGTERM", killed.GetProperty("signal").GetString());
        Assert.Contains(await sim.JournalAsync("&type=process-exited"), e => e.Contains("\"signal\":\"SIGTERM\""));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Advance_ByToUntilIdle_AndTruncatedOnItsBudget(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        await sim.ConnectAsync();
        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "close");

        var truncated = await sim.AdvanceAsync(new { untilIdle = true, eventBudget = 2 });
        Assert.Equal((2L, true, false), (truncated.EventsProcessed, truncated.Truncated, truncated.Idle));
        var by = await sim.AdvanceAsync(new { byNs = 1_000_000_000 });
        Assert.False(by.Truncated);
        var to = await sim.AdvanceToAsync(5_000_000_000);
        Assert.Equal(5_000_000_000, to.NowNs);
        var idle = await sim.AdvanceAsync(new { untilIdle = true });
        Assert.True(idle.Idle);
        Assert.Equal(idle.NowNs, (await sim.ClockAsync()).NowNs);
        Assert.Equal(0, (await sim.ClockAsync()).PendingEvents);
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Commands_BatchAppliesInOrder_AndTheLogPages(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider));

        var applied = await sim.PostOkAsync("commands", new
        {
            commands = new object[]
            {
                new { type = "add-host", name = "client", address = "10.0.0.1" },
                new { type = "add-host", name = "server", address = "10.0.0.2", sysctls = new Dictionary<string, object> { ["net.ipv4.tcp_fin_timeout"] = 5 } },
                new { type = "add-link", between = new[] { "client", "server" }, delayNs = 1_000_000 },
                new { type = "call", call = "listen", host = "server", port = 80 },
                new { type = "call", call = "connect", host = "client", to = "server:80" },
                new { type = "call", call = "accept", socketId = 1 },
                new { byNs = 10_000_000, type = "advance" },
                new { type = "set-sysctls", host = "client", values = new Dictionary<string, object> { ["net.ipv4.tcp_tw_reuse"] = 1 } },
                new { type = "change-link", between = new[] { "client", "server" }, loss = 0.0 },
                new { type = "call", call = "setsockopt", socketId = 2, option = "SO_LINGER", value = new { onoff = 1, linger = 0 } },
                new { type = "call", call = "close", socketId = 2 },
                new { type = "kill", host = "server", process = "app" },
            },
        });

        var results = applied.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(12, results.Count);
        Assert.Equal(Enumerable.Range(1, 12), results.Select(r => r.GetProperty("seq").GetInt32()));
        Assert.Equal("pending", results[4].GetProperty("call").GetProperty("status").GetString());
        Assert.Equal(10_000_000, results[6].GetProperty("advance").GetProperty("nowNs").GetInt64());
        Assert.Equal(12, await sim.VersionAsync());

        var first = (await sim.Client.GetFromJsonAsync<CommandLogPage>($"{sim.Base}/commands?limit=5"))!;
        Assert.Equal((5, 5L), (first.Items.Count, first.NextAfterSeq!.Value));
        var rest = (await sim.Client.GetFromJsonAsync<CommandLogPage>($"{sim.Base}/commands?afterSeq=5&limit=100"))!;
        Assert.Equal(Enumerable.Range(6, 7).Select(i => (long)i), rest.Items.Select(c => c.Seq));
        Assert.Null(rest.NextAfterSeq);
        Assert.Equal(["add-host", "add-host", "add-link", "socket-call", "socket-call"], first.Items.Select(c => c.Type));
        Assert.Equal(("socket-call", "advance", "set-sysctl"), (rest.Items[0].Type, rest.Items[1].Type, rest.Items[2].Type));
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Journal_PagesAndFilters(DatabaseProvider provider)
    {
        var sim = await Stories.LingerZeroRstAsync(hosts.Client(provider));
        var all = await sim.JournalAsync();

        var page = await sim.GetJsonAsync("journal?limit=10");
        Assert.Equal(10, page.GetProperty("items").GetArrayLength());
        Assert.Equal(9, page.GetProperty("nextAfterSeq").GetInt64());
        Assert.Equal(all.Count, page.GetProperty("total").GetInt64());
        var next = await sim.GetJsonAsync("journal?limit=10&afterSeq=9");
        Assert.Equal(10, next.GetProperty("items")[0].GetProperty("seq").GetInt64());

        var server = await sim.JournalAsync("&host=server");
        Assert.All(server, e => Assert.Contains("\"host\":\"server\"", e));
        var states = await sim.JournalAsync("&socketId=2&type=state-changed");
        Assert.Equal(["CLOSED>SYN-SENT", "SYN-SENT>ESTABLISHED", "ESTABLISHED>CLOSED"],
            states.Select(e => System.Text.RegularExpressions.Regex.Match(e, "\"from\":\"([^\"]+)\",\"to\":\"([^\"]+)\"")).Select(m => $"{m.Groups[1]}>{m.Groups[2]}"));
        var window = await sim.JournalAsync("&fromNs=200000000&toNs=200000000&type=segment-sent&type=state-changed");
        Assert.NotEmpty(window);
        Assert.All(window, e => Assert.Contains(" 200000000 ", e));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task HostViews_KernelTextFormatsAndJson(DatabaseProvider provider)
    {
        var sim = await Stories.OrderlyCloseAsync(hosts.Client(provider));
        await sim.AdvanceToAsync(63_500_000_000);
        var pair = await sim.ConnectAsync();
        await sim.CallAsync(pair.ClientSocketId, "close");
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        await sim.CallAsync(pair.ServerSocketId!.Value, "close");
        await sim.AdvanceAsync(new { byNs = 1_000_000_000 });

        Assert.StartsWith("State", await sim.GetTextAsync("hosts/client/ss"));
        Assert.DoesNotContain("cubic", await sim.GetTextAsync("hosts/client/ss?info=false"));
        Assert.DoesNotContain(" ino:", await sim.GetTextAsync("hosts/client/ss"));
        Assert.Contains(" ino:0 sk:", await sim.GetTextAsync("hosts/client/ss?info=false&extended=true"));
        Assert.StartsWith("sockets: used", await sim.GetTextAsync("hosts/client/proc/net/sockstat"));
        Assert.StartsWith("  sl  local_address", await sim.GetTextAsync("hosts/client/proc/net/tcp"));
        Assert.StartsWith("TcpExt:", await sim.GetTextAsync("hosts/client/proc/net/netstat"));
        Assert.StartsWith("Ip:", await sim.GetTextAsync("hosts/client/proc/net/snmp"));
        Assert.NotNull(await sim.GetTextAsync("hosts/client/dmesg"));
        var rows = (await sim.Client.GetFromJsonAsync<HostSockets>($"{sim.Base}/hosts/client/sockets"))!;
        var tw = Assert.Single(rows.Items);
        Assert.Equal(("timewait", "TIME-WAIT", "timewait"), (tw.Kind, tw.State, tw.Timer!.Name));
        var counters = (await sim.Client.GetFromJsonAsync<HostCounters>($"{sim.Base}/hosts/client/counters"))!;
        Assert.Equal(2, counters.Counters["TcpExt.TW"]);
        Assert.Equal(1, counters.Sockstat["tw"]);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync($"{sim.Base}/hosts/nohost/ss")).StatusCode);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task SocketResource_TimeWaitWhileDescriptorOpen_ClosedUntilTheLastClose(DatabaseProvider provider)
    {
        // tcp_time_wait(): the TIME-WAIT entry replaces the connection; the descriptor keeps a TCP_CLOSE socket.
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var pair = await sim.ConnectAsync();
        var (c, s) = (pair.ClientSocketId, pair.ServerSocketId!.Value);
        Assert.Equal(0, (await sim.CallAsync(c, "shutdown", new { how = "SHUT_WR" })).Result);
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        Assert.Equal(0, (await sim.CallAsync(s, "close")).Result);
        await sim.AdvanceAsync(new { byNs = 100_000_000 });

        var open = await sim.SocketAsync(c);
        Assert.Equal(("CLOSED", "app"), (open.State, open.Process));
        Assert.Empty(open.Rows);
        Assert.Contains("TIME-WAIT", await sim.GetTextAsync("hosts/client/ss"));
        Assert.Equal("ENOTCONN", (await sim.CallAsync(c, "shutdown", new { how = "SHUT_RDWR" })).Errno);

        Assert.Equal(0, (await sim.CallAsync(c, "close")).Result);
        var closed = await sim.SocketAsync(c);
        Assert.Equal("TIME-WAIT", closed.State);
        Assert.Equal("timewait", Assert.Single(closed.Rows).Kind);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Delete_ForgetsTheLiveEngineToo(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        Assert.Equal(HttpStatusCode.NoContent, (await sim.Client.DeleteAsync(sim.Base)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await sim.Client.GetAsync($"{sim.Base}/hosts")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await sim.PostAsync("advance", new { byNs = 1 })).StatusCode);
    }

    [Fact]
    public void KillSignals_AreTheScenarioFormats() => Assert.Contains("SIGKILL", SignalNameAttribute.Names);

    [Fact]
    public void Batch_LimitIsAThousand() => Assert.Equal(1000, ApplyCommandsRequest.MaxCommands);
}
