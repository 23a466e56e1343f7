using System.Net;
using System.Text.Json;
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
