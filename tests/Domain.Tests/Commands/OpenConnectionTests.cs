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

    /// <summary>One host `a` with a connection to itself over 127.0.0.1 (the tester's API story), under the given rules.</summary>
    static (Simulation Sim, int Client, int Server) OneHostConnectedToItself(int engineRules)
    {
        var sim = new Simulation(KernelProfile.Linux6, 1) { EngineRules = engineRules };
        Assert.True(CommandApplier.Apply(sim, new AddHostCommand("a", "10.0.0.1", HostKind.Linux, [])).IsOk);
        var opened = CommandApplier.Apply(sim, Open("a", "a")).Connection!;
        return (sim, opened.Connect!.Value.SocketId, sim.FindCall(opened.Accept!.Value.CallId)!.SocketId);
    }

    static CallHandle Apply(Simulation sim, SocketCallRequest r) => CommandApplier.Apply(sim, new SocketCallCommand(r)).Call!.Value;

    static SocketCallRequest Request(SocketCallKind call, int socketId = 0) => new("a", "app", call) { SocketId = socketId };

    /// <summary>
    /// Each command's loopback segments are processed before the next command, as the NET_RX softirq runs before send()
    /// and close() return (<see cref="EngineRules.SameInstant"/>). Observed on Linux 6.18.44: after send() of 10 bytes a
    /// recv(MSG_DONTWAIT) on the peer gets 10 (the peer's Recv-Q 10, the sender's bytes_acked 11), and after close() the
    /// peer has taken the FIN (CLOSE-WAIT). Under the original rules the recv was EAGAIN and the peer ESTABLISHED until an advance.
    /// </summary>
    [Theory]
    [InlineData(EngineRules.SameInstant, 10L, null, 0, TcpState.CloseWait)]
    [InlineData(EngineRules.Original, -1L, "EAGAIN", 1, TcpState.Established)]
    public void Loopback_SendThenRecvDontwaitAndClose_UnderEachRules(int rules, long received, string? errno, int unacked, TcpState peer)
    {
        var (sim, client, server) = OneHostConnectedToItself(rules);
        var now = sim.Now;

        var send = Apply(sim, Request(SocketCallKind.Send, client) with { Bytes = 10 });
        var recv = Apply(sim, Request(SocketCallKind.Recv, server) with { Bytes = 100, Flags = MsgFlags.MSG_DONTWAIT });
        var unackedAfterSend = sim.FindSocket(client)!.Info.Unacked;
        Apply(sim, Request(SocketCallKind.Close, client));

        Assert.Equal((10L, received, errno, unacked), (send.Result, recv.Result, recv.Errno, unackedAfterSend));
        Assert.Equal(peer, sim.FindSocket(server)!.State);
        Assert.Equal(now, sim.Now);
    }

    /// <summary>
    /// A blocking connect() to a listener on lo: __inet_stream_connect() — net/ipv4/af_inet.c — waits in sk_wait_event(),
    /// whose release_sock() processes the SYN-ACK the call's own softirq put in the backlog, so the socket is ESTABLISHED
    /// before the wait condition is first tested and connect() returns 0 without sleeping; a non-blocking one returns
    /// EINPROGRESS before that and the socket is ESTABLISHED right after it. Observed on 6.18.44 (python in a fresh netns,
    /// three runs): blocking 0 in 0.11–0.12 ms, ESTABLISHED; non-blocking EINPROGRESS, ESTABLISHED and SO_ERROR 0 at once;
    /// to a closed port, blocking ECONNREFUSED, non-blocking EINPROGRESS then SO_ERROR ECONNREFUSED. Under the original rules
    /// the blocking connect was still pending (SYN-SENT) when the command returned.
    /// </summary>
    [Fact]
    public void LoopbackConnect_BlockingReturnsZeroWithinTheCall_NonBlockingSaysEinprogress()
    {
        var (sim, _, _) = OneHostConnectedToItself(EngineRules.SameInstant);

        var blocking = Apply(sim, Request(SocketCallKind.Connect) with { ToHost = "127.0.0.1", ToPort = 80 });
        var refused = Apply(sim, Request(SocketCallKind.Connect) with { ToHost = "127.0.0.1", ToPort = 81 });
        var socket = Apply(sim, Request(SocketCallKind.Socket));
        Apply(sim, Request(SocketCallKind.Fcntl, socket.SocketId) with { NonBlock = true });
        var nonBlocking = Apply(sim, Request(SocketCallKind.Connect, socket.SocketId) with { ToHost = "127.0.0.1", ToPort = 80 });

        Assert.Equal((false, 0L, (string?)null), (blocking.Blocked, blocking.Result, blocking.Errno));
        Assert.Equal(TcpState.Established, sim.FindSocket(blocking.SocketId)!.State);
        Assert.Equal((false, "ECONNREFUSED"), (refused.Blocked, refused.Errno));
        Assert.Equal((false, "EINPROGRESS"), (nonBlocking.Blocked, nonBlocking.Errno));
        Assert.Equal(TcpState.Established, sim.FindSocket(socket.SocketId)!.State);
        Assert.Equal(SimTime.Zero, sim.Now);
    }

    [Fact]
    public void LoopbackConnect_UnderTheOriginalRules_StillPendingWhenTheCommandReturns()
    {
        var (sim, _, _) = OneHostConnectedToItself(EngineRules.Original);

        var blocking = Apply(sim, Request(SocketCallKind.Connect) with { ToHost = "127.0.0.1", ToPort = 80 });

        Assert.True(blocking.Blocked);
        Assert.Equal(TcpState.SynSent, sim.FindSocket(blocking.SocketId)!.State);
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
