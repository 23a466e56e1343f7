using SimService.Api.Features.Sockets;
using SimService.Api.Tests.Infrastructure;

namespace SimService.Api.Tests.Features;

/// <summary>
/// recv with bytes 0 is recv(fd, buf, 0, flags) as Linux 6.18 runs it (tcp_recvmsg_locked(): target 1, one pass of its
/// loop; the engine's RecvZeroLengthTests): accepted by the socket endpoint and the command batch — it was a 400
/// "must be 1 or more" — and a negative count is still refused naming the field.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class RecvZeroLengthApiTests(ApiHosts hosts)
{
    /// <summary>
    /// Nothing queued: recv(0) sleeps until the client's 100 bytes arrive 10 ms later, returns 0 and leaves them queued;
    /// with MSG_DONTWAIT and nothing queued it is EAGAIN; with data queued (batch) 0 at once.
    /// </summary>
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Established_RecvZero_BlocksUntilDataThenZeroAndTheDataStays(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var connection = await sim.ConnectAsync();
        var server = connection.ServerSocketId!.Value;

        var dontWait = await sim.CallAsync(server, "recv", new { bytes = 0, flags = new[] { "MSG_DONTWAIT" } });
        var read = await sim.CallAsync(server, "recv", new { bytes = 0 });
        await sim.CallAsync(connection.ClientSocketId, "send", new { bytes = 100 });
        await sim.AdvanceAsync(new { byNs = 100_000_000 });
        var returned = await sim.GetJsonAsync($"calls/{read.CallId}");
        var batch = await sim.PostOkAsync("commands", new { commands = new object[]
        {
            new { type = "call", call = "recv", socketId = server, bytes = 0 },
        } });
        var all = await sim.CallAsync(server, "recv", new { bytes = 1000 });

        Assert.Equal((CallResponse.Returned, "EAGAIN"), (dontWait.Status, dontWait.Errno));
        Assert.Equal(CallResponse.Pending, read.Status);
        Assert.Equal((0L, connection.NowNs + 10_000_000), (returned.GetProperty("result").GetInt64(), returned.GetProperty("returnedAtNs").GetInt64()));
        Assert.Equal(0L, batch.GetProperty("results")[0].GetProperty("call").GetProperty("result").GetInt64());
        Assert.Equal(100L, all.Result);
    }

    [Theory]
    [InlineData("sockets/2/recv", """{"bytes":-1}""", "bytes")]
    [InlineData("commands", """{"commands":[{"type":"call","call":"recv","socketId":2,"bytes":-1}]}""", "commands[0].bytes")]
    public async Task RecvOfNegativeBytes_Refused_NamingTheField(string path, string body, string field)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        await sim.ConnectAsync();

        var response = await sim.PostAsync(path, body);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"\"{field}\"", await response.Content.ReadAsStringAsync());
    }
}
