using System.Net;
using System.Text.Json;
using SimService.Api.Features.Connections;
using SimService.Api.Features.Sockets;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// POST …/hosts/{host}/processes/{process}/setrlimit: RLIMIT_NOFILE as a call of the process, through the handler to the
/// engine; what the kernel refuses (EINVAL, EPERM, the EMFILE that follows) is a call result, a bad value a 400 (BadInputTests).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class NoFileLimitTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Setrlimit_FullTable_AcceptFailsEmfileAndTheConnectionWaitsForAClose(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider), "nofile");
        var set = await sim.PostOkAsync("hosts/server/processes/nginx/setrlimit", new { resource = "RLIMIT_NOFILE", soft = 5, hard = 5 });
        var listener = await sim.OnHostAsync("server", "listen", new { port = 80, process = "nginx" });
        var spare = await sim.OnHostAsync("server", "sockets", new { process = "nginx" });
        await sim.OnHostAsync("client", "connect", new { to = "server:80" });
        await sim.AdvanceToAsync(100_000_000);

        var refused = await sim.CallAsync(listener.SocketId, "accept");
        var socket = await sim.OnHostAsync("server", "sockets", new { process = "nginx" });
        await sim.CallAsync(spare.SocketId, "close");
        var accepted = await sim.CallAsync(listener.SocketId, "accept");

        Assert.Equal(("setrlimit", 0L, "returned"), (set.GetProperty("call").GetString(), set.GetProperty("result").GetInt64(), set.GetProperty("status").GetString()));
        Assert.Equal(4L, spare.Result);
        Assert.Equal((CallResponse.Returned, null, "EMFILE"), (refused.Status, refused.Result, refused.Errno));
        Assert.Equal("EMFILE", socket.Errno);
        Assert.Equal((CallResponse.Returned, 4L), (accepted.Status, accepted.Result));
        Assert.Equal("ESTABLISHED", (await sim.SocketAsync(accepted.SocketId)).State);
        Assert.Contains(await sim.JournalAsync("&type=call-returned"), e => e.Contains("\"errno\":\"EMFILE\"") && e.Contains("\"call\":\"accept\""));
        var step = JsonDocument.Parse(await sim.ExportAsync()).RootElement.GetProperty("steps").EnumerateArray()
            .Single(s => s.TryGetProperty("call", out var call) && call.GetString() == "setrlimit");
        Assert.Equal(("nginx", "RLIMIT_NOFILE", 5L, 5L), (step.GetProperty("process").GetString(), step.GetProperty("resource").GetString(),
            step.GetProperty("soft").GetInt64(), step.GetProperty("hard").GetInt64()));
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// socket(), listen, connect and the connection convenience that fail EMFILE make no socket: 200 with the call's errno, as
    /// any call's errno, and no Location (it was 201 with …/sockets/0, a 404). The simulation exports (each failed call its
    /// own alias: it was 409, "s0" defined twice) to a scenario that runs, and replays identically.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task OnHost_EmfileMakesNoSocket_200WithoutLocationAndTheSimulationExports(DatabaseProvider provider)
    {
        var client = hosts.Client(provider);
        var sim = await SimulationDriver.TwoHostsAsync(client, "nofile on host");
        await sim.PostOkAsync("hosts/client/processes/app/setrlimit", new { resource = "RLIMIT_NOFILE", soft = 3 });
        await sim.OnHostAsync("server", "listen", new { port = 80 });

        var responses = new[]
        {
            await sim.PostAsync("hosts/client/sockets", new { }),
            await sim.PostAsync("hosts/client/sockets", new { }),
            await sim.PostAsync("hosts/client/listen", new { port = 81 }),
            await sim.PostAsync("hosts/client/connect", new { to = "server:80" }),
            await sim.PostAsync("connections", new { client = "client", server = "server", port = 80 }),
        };
        var calls = new List<(HttpStatusCode, Uri?, int, string?)>();
        foreach (var response in responses.Take(4))
        {
            var call = (await sim.ReadAsync<CallResponse>(response, HttpStatusCode.OK))!;
            calls.Add((response.StatusCode, response.Headers.Location, call.SocketId, call.Errno));
        }
        var pair = (await sim.ReadAsync<ConnectionResponse>(responses[4], HttpStatusCode.OK))!;
        var document = await sim.ExportAsync();

        Assert.All(calls, c => Assert.Equal((HttpStatusCode.OK, (Uri?)null, 0, "EMFILE"), c));
        Assert.Equal((0, "EMFILE", (Uri?)null), (pair.ClientSocketId, pair.Connect!.Errno, responses[4].Headers.Location));
        var aliases = JsonDocument.Parse(document).RootElement.GetProperty("steps").EnumerateArray()
            .Select(s => s.TryGetProperty("as", out var alias) ? alias.GetString() : null).OfType<string>().ToList();
        Assert.Equal(aliases.Count, aliases.Distinct().Count());
        Assert.True((await client.RunScenarioAsync(document)).Passed);
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// dup2() onto a standard stream (the inetd/CGI pattern) replaces it, as do_dup2() closes the file there: it returns 1,
    /// and the replay is identical (session 31's limit made it EBUSY, so a simulation stored before then rebuilt otherwise).
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Dup2_OntoStdout_ReturnsOneAndReplaysIdentically(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider), "dup2 stdout");
        var listener = await sim.OnHostAsync("server", "listen", new { port = 80 });

        var stdout = await sim.CallAsync(listener.SocketId, "dup2", new { newFd = 1 });
        var stdin = await sim.CallAsync(listener.SocketId, "dup2", new { newFd = 0 });
        var closed = await sim.CallAsync(listener.SocketId, "close", new { fd = 1 });
        var socket = await sim.OnHostAsync("server", "sockets");

        Assert.Equal((1L, null), (stdout.Result, stdout.Errno));
        Assert.Equal((0L, null), (stdin.Result, stdin.Errno));
        Assert.Equal(0L, closed.Result);
        Assert.Equal(1L, socket.Result);
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    /// <summary>
    /// <c>"fd": 0</c> names descriptor 0, which a dup2() onto stdin gave the socket: close_fd() frees 0 only, so the next
    /// socket() takes 0 and fd 3 still holds the socket (until session 32 the engine read 0 as "the socket's own": it closed
    /// fd 3, socket() returned 3 and the close of fd 3 closed that new socket). An absent <c>fd</c> is still the socket's own.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Close_Fd0AfterDup2OntoStdin_ClosesDescriptor0AndReplaysIdentically(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider), "close fd 0");
        var socket = await sim.OnHostAsync("server", "sockets");

        var stdin = await sim.CallAsync(socket.SocketId, "dup2", new { newFd = 0 });
        var closed = await sim.CallAsync(socket.SocketId, "close", new { fd = 0 });
        var next = await sim.OnHostAsync("server", "sockets");
        var own = await sim.CallAsync(socket.SocketId, "close");
        var again = await sim.CallAsync(next.SocketId, "close", new { fd = 0 });

        Assert.Equal((3L, 0L, 0L), (socket.Result!.Value, stdin.Result!.Value, closed.Result!.Value));
        Assert.Equal((0L, null), (next.Result, next.Errno));
        Assert.Equal((0L, null), (own.Result, own.Errno));
        Assert.Equal((0L, null), (again.Result, again.Errno));
        Assert.True((await sim.ReplayAsync()).Identical);
    }

    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Setrlimit_KernelRefusals_AreResultsAndKeepTheLimit(DatabaseProvider provider)
    {
        // do_prlimit(): soft above hard → EINVAL; hard above fs.nr_open → EPERM. The calls are made (version moves), the limit stays.
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider), "nofile refusals");
        await sim.PostOkAsync("hosts/client/processes/app/setrlimit", new { resource = "RLIMIT_NOFILE", soft = 4 });

        var einval = await sim.PostOkAsync("hosts/client/processes/app/setrlimit", new { resource = "RLIMIT_NOFILE", soft = 9, hard = 8 });
        var eperm = await sim.PostOkAsync("hosts/client/processes/app/setrlimit", new { resource = "RLIMIT_NOFILE", soft = 8, hard = 1_048_577 });
        var first = await sim.OnHostAsync("client", "sockets");
        var second = await sim.OnHostAsync("client", "sockets");

        Assert.Equal("EINVAL", einval.GetProperty("errno").GetString());
        Assert.Equal("EPERM", eperm.GetProperty("errno").GetString());
        Assert.Equal((3L, "EMFILE"), (first.Result!.Value, second.Errno));
        Assert.Equal(0, second.SocketId);
    }
}
