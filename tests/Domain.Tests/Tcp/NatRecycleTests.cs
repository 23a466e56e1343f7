using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Reference §11 (tcp_tw_recycle, removed in 4.12): two clients behind one NAT address with
/// unrelated timestamp clocks. On linux-4.4 with tcp_tw_recycle the server's TIME-WAIT remembers
/// the NAT address's timestamp and then silently drops the other client's SYNs (PAWSPassive);
/// linux-6 accepts them.
/// </summary>
public class NatRecycleTests
{
    static Simulation Build(KernelProfile profile, long seed)
    {
        var sim = new Simulation(profile, seed);
        Apply(sim, new AddNatCommand("nat1", "203.0.113.1"));
        var server = new List<KeyValuePair<string, string>>();
        if (profile == KernelProfile.Linux44) server.Add(new("net.ipv4.tcp_tw_recycle", "1"));
        Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, server));
        Apply(sim, new AddHostCommand("c1", "192.168.0.11", HostKind.Linux, [], "nat1"));
        Apply(sim, new AddHostCommand("c2", "192.168.0.12", HostKind.Linux, [], "nat1"));
        Apply(sim, new AddLinkCommand("c1", "server", SimDuration.FromMilliseconds(10), 0));
        Apply(sim, new AddLinkCommand("c2", "server", SimDuration.FromMilliseconds(10), 0));
        return sim;
    }

    static CommandOutcome Apply(Simulation sim, SimCommand c)
    {
        var o = CommandApplier.Apply(sim, c);
        Assert.True(o.IsOk, o.Error?.Message);
        return o;
    }

    static CallHandle Call(Simulation sim, SocketCallRequest r) => Apply(sim, new SocketCallCommand(r)).Call!.Value;

    /// <summary>c1 connects through the NAT; the server closes first and holds TIME-WAIT; then c2 connects.</summary>
    static (Simulation Sim, TcpSocket C2) ServerClosesFirstThenSecondClientConnects(KernelProfile profile, long seed)
    {
        var sim = Build(profile, seed);
        var l = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c1 = Call(sim, new SocketCallRequest("c1", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        sim.RunUntil(new SimTime(100_000_000));
        var s1 = sim.Journal.OfType<SimService.Domain.Journal.CallReturned>().Single(e => e.CallId == a.CallId).SocketId;
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = s1 });
        sim.RunUntil(new SimTime(150_000_000));
        Call(sim, new SocketCallRequest("c1", "app", SocketCallKind.Close) { SocketId = c1.SocketId });
        sim.RunUntil(new SimTime(200_000_000));
        var c2 = Call(sim, new SocketCallRequest("c2", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        sim.RunUntil(new SimTime(5_000_000_000));
        return (sim, sim.FindSocket(c2.SocketId)!);
    }

    /// <summary>A seed under which c2's timestamp clock (its boot time) is behind c1's, as happens behind NATs.</summary>
    static long SeedWhereSecondClockIsBehind()
    {
        for (long seed = 1; ; seed++)
        {
            var sim = Build(KernelProfile.Linux44, seed);
            if ((int)(sim.FindHost("c1")!.BootClockOffset - sim.FindHost("c2")!.BootClockOffset) > 1000) return seed;
        }
    }

    [Fact]
    public void Linux44TwRecycle_SecondClientBehindNatWithOlderClock_SynsSilentlyDropped()
    {
        var (sim, c2) = ServerClosesFirstThenSecondClientConnects(KernelProfile.Linux44, SeedWhereSecondClockIsBehind());
        var server = sim.FindHost("server")!;
        Assert.Equal(TcpState.SynSent, c2.State);
        Assert.True(server.Mib[MibCounter.TcpExtPAWSPassive] >= 3);
        Assert.DoesNotContain(sim.Journal.OfType<SimService.Domain.Journal.SegmentSent>(),
            s => s.Host == "server" && s.Flags == (TcpFlags.Syn | TcpFlags.Ack) && s.At.Ns > 200_000_000);
        // The server's TIME-WAIT itself lasted 3.5 × RTO, not 60 s.
        Assert.Equal(0, server.TimeWaitCount);
    }

    [Fact]
    public void Linux6_SecondClientBehindNat_Connects()
    {
        var (sim, c2) = ServerClosesFirstThenSecondClientConnects(KernelProfile.Linux6, SeedWhereSecondClockIsBehind());
        Assert.Equal(TcpState.Established, c2.State);
        Assert.Equal(0, sim.FindHost("server")!.Mib[MibCounter.TcpExtPAWSPassive]);
        Assert.Equal(1, sim.FindHost("server")!.TimeWaitCount);
    }

    [Fact]
    public void Nat_ServerSeesTheNatAddress()
    {
        var sim = Build(KernelProfile.Linux6, 1);
        Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c1 = Call(sim, new SocketCallRequest("c1", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        sim.RunUntil(new SimTime(100_000_000));
        var child = sim.FindHost("server")!.AllSockets.Single(s => s.State == TcpState.Established);
        Assert.Equal(IPv4.Parse("203.0.113.1"), child.Remote.Address);
        Assert.Equal(sim.FindSocket(c1.SocketId)!.Local.Port, child.Remote.Port);
        Assert.Equal(TcpState.Established, sim.FindSocket(c1.SocketId)!.State);
    }
}
