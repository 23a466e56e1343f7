using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The timewait table past several pages (64 entries each) and hash doublings (64, 128, 256 buckets), whose pages and
/// buckets are read without their arrays' headers since session 30 (Paging.At): every entry is found by its 4-tuple, the
/// observable order (<see cref="Host.TimeWaitSockets"/>) is the slot order, and a freed slot is the next one taken.
/// </summary>
public class TimeWaitTableTests
{
    [Fact]
    public void ManyTimeWaits_FoundByTuple_ListedInSlotOrder_LastFreedReusedFirst()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 3);
        Apply(sim, new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []));
        Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
        Apply(sim, new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0));
        int listener = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 1024 }).SocketId;
        var client = sim.Hosts.Single(h => h.Name == "client");

        var ids = new List<int>();
        void Lifecycle()
        {
            // A connection the client closes first, 10 ms of virtual time: its socket becomes a timewait socket.
            var c = Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(3));
            var a = Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = listener });
            Call(sim, new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = c.SocketId });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(3));
            Call(sim, new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = a.SocketId });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(4));
            ids.Add(c.SocketId);
        }
        for (int i = 0; i < 300; i++) Lifecycle();

        var tws = client.TimeWaitSockets.ToList();
        Assert.Equal(ids, tws.Select(t => t.SocketId));
        Assert.All(tws, t => Assert.Equal(TcpState.TimeWait, t.Substate));
        var slots = tws.Select(t => client.TimeWaits.TryFind(t.Tuple, out int slot) ? slot : -1).ToList();
        Assert.Equal(Enumerable.Range(0, 300), slots);
        var absent = new FourTuple(tws[0].Local, new Endpoint(tws[0].Remote.Address, 81));
        Assert.False(client.TimeWaits.TryFind(absent, out _));

        // Kill two (inet_twsk_deschedule_put()): the next two timewait sockets take their slots, the last freed first.
        client.TimeWaits.Kill(slots[70], "test");
        client.TimeWaits.Kill(slots[5], "test");
        Assert.False(client.TimeWaits.TryFind(tws[70].Tuple, out _));
        Assert.Equal(298, client.TimeWaits.Count);
        Lifecycle();
        Lifecycle();
        var after = client.TimeWaitSockets.Select(t => t.SocketId).ToList();
        Assert.Equal(ids[300], after[5]);
        Assert.Equal(ids[301], after[70]);
        Assert.All(client.TimeWaitSockets, t => Assert.True(client.TimeWaits.TryFind(t.Tuple, out _)));

        // Every timer runs out: the table is empty and lets its pages and buckets go.
        sim.RunUntilIdle(sim.Now + SimDuration.FromSeconds(300));
        Assert.Equal(0, client.TimeWaits.Count);
        Assert.Equal(0, client.TimeWaits.Capacity);
        Assert.False(client.TimeWaits.TryFind(tws[1].Tuple, out _));
    }

    static void Apply(Simulation sim, SimCommand c) => Assert.True(CommandApplier.Apply(sim, c).IsOk);

    static CallHandle Call(Simulation sim, SocketCallRequest r)
    {
        var o = CommandApplier.Apply(sim, new SocketCallCommand(r));
        Assert.True(o.IsOk, o.Error?.Message);
        Assert.Null(o.Call!.Value.Errno);
        return o.Call!.Value;
    }
}
