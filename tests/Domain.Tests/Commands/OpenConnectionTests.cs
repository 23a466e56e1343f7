using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.CommandLog;

/// <summary>"Open a connection" as one command applied through <see cref="CommandApplier"/>.</summary>
public class OpenConnectionTests
{
    static readonly SimCommand[] TwoHosts =
    [
        new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(10), 0),
    ];

    static OpenConnectionCommand Open(string client = "client", string server = "server", ushort port = 80) =>
        new(client, server, port, "app", "app", null, false, 128, 1_000_000, SimDuration.FromSeconds(3600));

    static Simulation WithHosts()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        foreach (var c in TwoHosts) Assert.True(CommandApplier.Apply(sim, c).IsOk);
        return sim;
    }

    [Fact]
    public void NoListener_OpenConnection_ListensConnectsAcceptsAndStopsWhenBothReturned()
    {
        var sim = WithHosts();

        var outcome = CommandApplier.Apply(sim, Open());

        var opened = outcome.Connection!;
        Assert.NotNull(opened.Listen);
        var connect = sim.FindCall(opened.Connect!.Value.CallId)!;
        var accept = sim.FindCall(opened.Accept!.Value.CallId)!;
        Assert.True(connect.Returned && accept.Returned);
        Assert.Equal(TcpState.Established, sim.FindSocket(connect.SocketId)!.State);
        Assert.Equal(TcpState.Established, sim.FindSocket(accept.SocketId)!.State);
        Assert.Equal(new SimTime(30_000_000), sim.Now); // SYN 10 ms, SYN-ACK 20 ms, ACK (and accept's return) 30 ms
        Assert.False(opened.Advance!.Truncated);
    }

    [Fact]
    public void Listening_OpenConnectionTwice_SecondReusesTheListener()
    {
        var sim = WithHosts();
        var first = CommandApplier.Apply(sim, Open()).Connection!;

        var second = CommandApplier.Apply(sim, Open()).Connection!;

        Assert.Null(second.Listen);
        Assert.Equal(first.ListenerSocketId, second.ListenerSocketId);
        Assert.True(sim.FindCall(second.Accept!.Value.CallId)!.Returned);
    }

    [Fact]
    public void UnknownServer_OpenConnection_RefusedAndNothingChanged()
    {
        var sim = WithHosts();
        int journal = sim.Journal.Count;

        var outcome = CommandApplier.Apply(sim, Open(server: "nobody"));

        Assert.Equal("server", outcome.Error!.Field);
        Assert.Equal(journal, sim.Journal.Count);
        Assert.Empty(sim.Calls);
    }

    [Fact]
    public void NoListener_ClientPortTaken_ListenFailsAndNothingConnects()
    {
        var sim = WithHosts();
        Assert.True(CommandApplier.Apply(sim, new SocketCallCommand(new SocketCallRequest("server", "other", SocketCallKind.Socket))).IsOk);
        Assert.True(CommandApplier.Apply(sim, new SocketCallCommand(new SocketCallRequest("server", "other", SocketCallKind.Bind) { SocketId = 1, Port = 80 })).IsOk);

        var opened = CommandApplier.Apply(sim, Open()).Connection!;

        Assert.True(opened.ListenFailed);
        Assert.Equal(Errno.EADDRINUSE, opened.Listen!.Value.Errno);
        Assert.Null(opened.Connect);
    }

    [Fact]
    public void Log_WithOpenConnection_ReplaysToAnEqualJournal()
    {
        SimCommand[] log = [.. TwoHosts, Open(), new SocketCallCommand(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = 2 }),
            new AdvanceCommand(AdvanceMode.UntilIdle, SimDuration.FromSeconds(120), 1_000_000)];
        var live = new Simulation(KernelProfile.Linux6, 5);
        foreach (var c in log) Assert.True(CommandApplier.Apply(live, c).IsOk);

        var replayed = Replay.Compare(new Simulation(KernelProfile.Linux6, 5), log, live.Journal);

        Assert.True(replayed.Identical);
        Assert.Equal(live.Journal, replayed.Engine.Journal);
    }
}
