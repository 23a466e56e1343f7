using System.Net;
using System.Net.Http.Json;
using SimService.Api.Features.Links;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// The forms a user reaches for first are accepted: durations as text or nanoseconds, peers by name or
/// address, If-Match with or without quotes; and a connect with no route fails at once, as Linux does.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class InputFormsTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Advance_DurationText_SameAsNanoseconds(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var byText = await sim.AdvanceAsync(new { byNs = "1.5ms" });
        var toText = await sim.AdvanceAsync(new { toNs = "60s" });
        var byNumber = await sim.AdvanceAsync(new { byNs = 2_000 });

        Assert.Equal((1_500_000L, 60_000_000_000L, 60_000_002_000L), (byText.NowNs, toText.NowNs, byNumber.NowNs));
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Links_DelayText_StoredAsNanoseconds(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.CreateAsync(hosts.Client(provider));
        await sim.PostOkAsync("hosts", new { name = "a", address = "10.0.0.1" }, HttpStatusCode.Created);
        await sim.PostOkAsync("hosts", new { name = "b", address = "10.0.0.2" }, HttpStatusCode.Created);

        var link = await sim.ReadAsync<LinkResponse>(await sim.PostAsync("links", new { between = new[] { "a", "b" }, delayNs = "10ms" }), HttpStatusCode.Created);
        var changed = await sim.ReadAsync<LinkResponse>(await sim.PatchAsync("links/a/b", new { delayNs = "250us" }), HttpStatusCode.OK);

        Assert.Equal(10_000_000, link!.Forward.DelayNs);
        Assert.Equal(250_000, changed!.Forward.DelayNs);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Batch_DurationsAsText_Applied(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var applied = await sim.PostOkAsync("commands", """
            {"commands":[{"type":"change-link","between":["client","server"],"delayNs":"5ms"},{"type":"advance","byNs":"2s"}]}
            """);

        Assert.Equal(2_000_000_000, applied.GetProperty("nowNs").GetInt64());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Connect_HostWithNoLink_EnetunreachAtOnceWithNoSyn(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        await sim.PostOkAsync("hosts", new { name = "island", address = "10.0.0.9" }, HttpStatusCode.Created);

        var call = await sim.OnHostAsync("client", "connect", new { to = "island:80" });

        Assert.Equal(("returned", "ENETUNREACH", 0L), (call.Status, call.Errno, call.IssuedAtNs));
        Assert.DoesNotContain(await sim.JournalAsync(), line => line.Contains("segment-sent", StringComparison.Ordinal));
        Assert.Equal(0, (await sim.AdvanceAsync(new { untilIdle = true })).EventsProcessed);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Connect_ToAddressAndPort_ConnectsToThatHost(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        await sim.OnHostAsync("server", "listen", new { port = 80 });

        var call = await sim.OnHostAsync("client", "connect", new { to = "10.0.0.2:80" });
        await sim.AdvanceAsync(new { byNs = "100ms" });

        Assert.Equal("pending", call.Status);
        Assert.Equal("ESTABLISHED", (await sim.SocketAsync(call.SocketId)).State);
        // Exported as it was given: a run of the export journals the same `to=10.0.0.2:80` (as "server:80" it journaled
        // the host's name, session 32's export round trip).
        Assert.Contains("\"10.0.0.2:80\"", await sim.ExportAsync());
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Connect_ToAddressOfNoHost_Enetunreach(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));

        var call = await sim.OnHostAsync("client", "connect", new { to = "192.0.2.1:80" });

        Assert.Equal("ENETUNREACH", call.Errno);
    }

    /// <summary>
    /// listen()'s backlog is any int, as Linux takes it (__sys_listen_socket() caps one above net.core.somaxconn, a negative
    /// one too, to somaxconn): {"backlog":-1} was a 400; now the listener takes the connection, on each form of listen.
    /// </summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(100_000)]
    public async Task Listen_BacklogNegativeOrAboveSomaxconn_TakenAndTheConnectionQueues(int backlog)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        var socket = await sim.OnHostAsync("server", "sockets");
        await sim.CallAsync(socket.SocketId, "bind", new { port = 80 });

        var listen = await sim.CallAsync(socket.SocketId, "listen", new { backlog });
        var onPort = await sim.OnHostAsync("server", "listen", new { port = 81, backlog });
        var batch = await sim.PostAsync("commands", new { commands = new object[] { new { type = "call", call = "listen", host = "server", port = 82, backlog } } });

        Assert.Equal((0L, 0L), (listen.Result, onPort.Result));
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        await sim.OnHostAsync("client", "connect", new { to = "server:80" });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        Assert.Contains("ESTAB", await sim.GetTextAsync("hosts/server/ss"));
    }

    /// <summary>POST /connections's backlog is any int too, as the listen endpoints take it (it was 0 to 65535).</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(100_000)]
    public async Task Connections_BacklogNegativeOrAboveSomaxconn_Established(int backlog)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));

        var pair = await sim.PostOkAsync("connections", new { client = "client", server = "server", port = 80, backlog }, HttpStatusCode.Created);

        Assert.True(pair.GetProperty("established").GetBoolean());
    }

    /// <summary>
    /// connect() to port 0, as Linux takes it (tcp_v4_connect() checks no port; observed on 6.18.44): the SYN goes to
    /// port 0, where nothing listens, and the server's RST from port 0 refuses it — on the connect endpoints, the batch
    /// and POST /connections (whose listener binds port 0: an ephemeral one). Each was a 400.
    /// </summary>
    [Fact]
    public async Task Connect_ToPortZero_SynThereAndEconnrefused()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));

        var onHost = await sim.OnHostAsync("client", "connect", new { to = "server:0" });
        var socket = await sim.OnHostAsync("client", "sockets");
        var onSocket = await sim.CallAsync(socket.SocketId, "connect", new { to = "10.0.0.2:0" });
        var batch = await sim.PostAsync("commands", new { commands = new object[] { new { type = "call", call = "connect", host = "client", to = "server:0" } } });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        var pair = await sim.PostOkAsync("connections", new { client = "client", server = "server", port = 0 }, HttpStatusCode.Created);

        Assert.Equal(("pending", "pending", HttpStatusCode.OK), (onHost.Status, onSocket.Status, batch.StatusCode));
        foreach (var call in new[] { onHost.CallId, onSocket.CallId })
            Assert.Equal(("ECONNREFUSED", 20_000_000L),
                ((await sim.GetJsonAsync($"calls/{call}")).GetProperty("errno").GetString(), (await sim.GetJsonAsync($"calls/{call}")).GetProperty("blockedNs").GetInt64()));
        Assert.Equal((false, "ECONNREFUSED"), (pair.GetProperty("established").GetBoolean(), pair.GetProperty("connect").GetProperty("errno").GetString()));
        Assert.Contains("10.0.0.2:0", (await sim.JournalAsync("&type=segment-sent")).First());
    }

    [Theory]
    [InlineData("3")]
    [InlineData("\"3\"")]
    public async Task IfMatch_CurrentVersionQuotedOrNot_Applies(string ifMatch)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));

        var response = await sim.PostAsync("advance", new { byNs = 1_000 }, ifMatch);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"4\"", response.Headers.ETag?.Tag);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("\"2\"")]
    [InlineData("-3")]
    [InlineData("\"\"")]
    [InlineData("W/\"3\"")]
    public async Task IfMatch_OtherVersionQuotedOrNot_Returns412(string ifMatch)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));

        var response = await sim.PostAsync("advance", new { byNs = 1_000 }, ifMatch);

        await response.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Created_EveryLocation_IsAbsolute(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var created = await client.PostJsonAsync("{}");
        var sim = new SimulationDriver(client, (await created.Content.ReadFromJsonAsync<Api.Features.Simulations.SimulationResponse>())!.Id);

        var host = await sim.PostAsync("hosts", new { name = "a", address = "10.0.0.1" });
        var socket = await sim.PostAsync("hosts/a/sockets", new { });

        foreach (var response in new[] { created, host, socket })
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.True(response.Headers.Location!.IsAbsoluteUri, response.Headers.Location.OriginalString);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(response.Headers.Location)).StatusCode);
        }
    }
}
