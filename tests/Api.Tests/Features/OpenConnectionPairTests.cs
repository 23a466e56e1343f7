using System.Net;
using SimService.Api.Tests.Infrastructure;
using SimService.Domain.Time;

namespace SimService.Api.Tests.Features;

/// <summary>
/// POST …/connections answers the two ends of the connection it made, never another's (tester35 MEDIUM-3: with an older
/// connection queued on the listener, accept() returned that one's child, reported as this connection's server socket and
/// "established").
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OpenConnectionPairTests(ApiHosts hosts)
{
    [Theory, MemberData(nameof(ApiHosts.Providers), MemberType = typeof(ApiHosts))]
    public async Task Connections_ListenerHoldsAnUnacceptedConnection_RefusedWholeNamingWhatAcceptTookThenPairsOnceAccepted(DatabaseProvider provider)
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(provider));
        var listener = await sim.OnHostAsync("server", "listen", new { port = 80 });
        var queued = await sim.OnHostAsync("client", "connect", new { to = "server:80" });
        await sim.AdvanceAsync(new { byNs = 50_000_000 });
        var version = await sim.VersionAsync();
        var queuedEnd = await sim.SocketAsync(queued.SocketId);

        var response = await sim.PostAsync("connections", new { client = "client", server = "server", port = 80 });

        var problem = await response.ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(version, await sim.VersionAsync());

        // Once the queued connection is accepted, the call pairs its own two ends (the client's port, as the refused call's:
        // nothing of that was kept).
        var accepted = await sim.CallAsync(listener.SocketId, "accept");
        Assert.Equal(queuedEnd.Local, (await sim.SocketAsync(accepted.SocketId)).Remote);
        var opened = await sim.ConnectAsync();
        var client = await sim.SocketAsync(opened.ClientSocketId);
        Assert.True(opened.Established);
        Assert.Equal(client.Local, (await sim.SocketAsync(opened.ServerSocketId!.Value)).Remote);
        Assert.Equal([$"accept() took a connection the listener had queued before this one (socket {accepted.SocketId}, from {queuedEnd.Local}), "
            + $"not this connection's (from {client.Local}); nothing was applied. Accept the queued connections first (POST …/sockets/"
            + $"{listener.SocketId}/accept), or connect and accept with separate calls."],
            problem.GetProperty("errors").GetProperty("port").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>
    /// At the clock's maximum the connect's SYN is due after it: the answer says why nothing was established, as an advance
    /// there does — stoppedBy "horizon" and when the next event is due (tester36 LOW-3: a bare established:false, read as a
    /// refused connection); a connection made as usual carries neither.
    /// </summary>
    [Fact]
    public async Task Connections_AtTheClocksMaximum_StoppedByHorizonWithTheNextEvent()
    {
        var sim = await SimulationDriver.TwoHostsAsync(hosts.Client(DatabaseProvider.Sqlite));
        var usual = await sim.PostOkAsync("connections", new { client = "client", server = "server", port = 81 }, HttpStatusCode.Created);
        await sim.AdvanceToAsync(SimTime.MaxClock.Ns);

        var opened = await sim.PostOkAsync("connections", new { client = "client", server = "server", port = 80 }, HttpStatusCode.Created);

        Assert.False(usual.TryGetProperty("stoppedBy", out _));
        Assert.False(usual.TryGetProperty("nextEventNs", out _));
        Assert.False(opened.GetProperty("established").GetBoolean());
        Assert.Equal("pending", opened.GetProperty("connect").GetProperty("status").GetString());
        Assert.Equal(SimTime.MaxClock.Ns, opened.GetProperty("nowNs").GetInt64());
        Assert.Equal("horizon", opened.GetProperty("stoppedBy").GetString());
        Assert.Equal(SimTime.MaxClock.Ns + 10_000_000, opened.GetProperty("nextEventNs").GetInt64()); // the SYN, one 10 ms link later
    }
}
