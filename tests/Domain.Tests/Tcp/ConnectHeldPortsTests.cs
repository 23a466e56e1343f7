using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// __inet_hash_connect()'s search passes over the ports whose 4-tuple to the destination a connect()-bound socket holds
/// with one bit test (Host._connectHeld), not two hash lookups a port: a range held to one destination made every
/// connect() probe all of it (tester session 26: a 20,000-connection burst, 72 s for 30,000 events). The ports and errnos
/// are the search's as before, on the same seed, through exhaustion, closes and a second destination.
/// </summary>
public class ConnectHeldPortsTests
{
    /// <summary>1,000 ports (500 of each parity), a listener on 80 and 81; <paramref name="heldAfter"/> probes before the held ports are kept.</summary>
    static TwoHostHarness World(int heldAfter)
    {
        var h = new TwoHostHarness(seed: 7);
        h.Client.ConnectHeldAfterProbes = heldAfter;
        h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40999");
        foreach (ushort port in new ushort[] { 80, 81 })
            h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = port, Backlog = 100 });
        return h;
    }

    /// <summary>Connects (the SYNs stay in flight: the clock does not move) and closes; each connect's port or errno.</summary>
    static List<string> Script(TwoHostHarness h)
    {
        var outcomes = new List<string>();
        var sockets = new List<int>();
        void Connect(ushort port)
        {
            // Non-blocking (EINPROGRESS): a close() then closes the socket, where one blocked in connect() holds it.
            var sock = h.Call("client", SocketCallKind.Socket);
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
            var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock.SocketId, ToHost = "server", ToPort = port });
            outcomes.Add(c.Errno == Errno.EINPROGRESS ? $"{h.Sim.FindSocket(c.SocketId)!.Local.Port}" : c.Errno!);
            if (c.Errno == Errno.EINPROGRESS) sockets.Add(c.SocketId);
            else h.Call("client", SocketCallKind.Close, sock.SocketId);
        }
        for (int i = 0; i < 1003; i++) Connect(80);      // every even port, every odd port, then EADDRNOTAVAIL
        foreach (int i in new[] { 10, 600, 999, 3 }) h.Call("client", SocketCallKind.Close, sockets[i]);
        for (int i = 0; i < 6; i++) Connect(80);         // the four ports closed, then none again
        for (int i = 0; i < 5; i++) Connect(81);         // another destination: every port is free for it
        return outcomes;
    }

    /// <summary>
    /// The held ports to a destination are kept only while a connect()-bound socket holds one (8 KB each): made by a search
    /// once one is held, freed with the last — closed in SYN_SENT, or gone to TIME-WAIT (the timewait socket is not in the
    /// established table; its port is looked up as before) — and made again by the next search. Each step's ports and
    /// errnos are the search's without them; the kept destinations and their counts after each step.
    /// </summary>
    [Fact]
    public void HeldPortsFreedWithTheLastSocketHoldingOne_SamePortsAndErrnos()
    {
        var before = World(heldAfter: int.MaxValue);
        var held = World(heldAfter: 0);

        var (expected, none) = Steps(before);
        var (outcomes, kept) = Steps(held);

        Assert.Equal(expected, outcomes);
        Assert.All(none, Assert.Empty);
        var (a, to80) = (IPv4.Parse("10.0.0.1"), new Endpoint(IPv4.Parse("10.0.0.2"), 80));
        Assert.Equal([
            [(a, to80, 3)], // three connects: the first found none held (nothing kept), the second kept its one, then its own
            [(a, to80, 2)], // one closed in SYN_SENT; a connect to port 81 found none held to it (nothing kept)
            [(a, to80, 2)], // established
            [(a, to80, 2)], // one closed: FIN_WAIT1 is still in the established table …
            [],             // … until it and the last are timewait sockets: freed
            [],             // a connect found none held (nothing kept) …
            [(a, to80, 2)], // … the next one made them again
        ], kept);
        Assert.Equal("2 TIME-WAIT", expected[^1]);
    }

    /// <summary>The steps of <see cref="HeldPortsFreedWithTheLastSocketHoldingOne_SamePortsAndErrnos"/>: each connect's port, and the kept destinations after each step.</summary>
    static (List<string> Outcomes, List<(IPv4, Endpoint Remote, int Count)[]> Kept) Steps(TwoHostHarness h)
    {
        var outcomes = new List<string>();
        var kept = new List<(IPv4, Endpoint, int)[]>();
        var sockets = new List<int>();
        void Keep() => kept.Add([.. h.Client.ConnectHeldCounts.Select(e => (e.Key.Saddr, e.Key.Remote, e.Value))]);
        void Connect(ushort port)
        {
            var sock = h.Call("client", SocketCallKind.Socket);
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
            var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock.SocketId, ToHost = "server", ToPort = port });
            outcomes.Add(c.Errno == Errno.EINPROGRESS ? $"{h.Sim.FindSocket(c.SocketId)!.Local.Port}" : c.Errno!);
            sockets.Add(c.SocketId);
        }
        for (int i = 0; i < 3; i++) Connect(80);
        Keep();
        h.Call("client", SocketCallKind.Close, sockets[0]); // in SYN_SENT: tcp_disconnect() → inet_put_port()
        Connect(81);
        Keep();
        h.At(TwoHostHarness.Ms(100)); // the handshakes done
        Keep();
        h.Call("client", SocketCallKind.Close, sockets[1]);
        Keep();
        h.At(TwoHostHarness.Ms(200)); // FIN acked: an orphan FIN_WAIT2 becomes a timewait socket (tcp_time_wait())
        h.Call("client", SocketCallKind.Close, sockets[2]);
        h.At(TwoHostHarness.Ms(300));
        Keep();
        Connect(80);
        Keep();
        Connect(80);
        Keep();
        outcomes.Add($"{h.Client.TimeWaitSockets.Count} TIME-WAIT");
        return (outcomes, kept);
    }

    [Fact]
    public void HeldPortsKept_SamePortsAndErrnos_OneProbeAPortTaken()
    {
        var before = World(heldAfter: int.MaxValue);
        var held = World(heldAfter: 0);

        var expected = Script(before);
        Assert.Equal(expected, Script(held));

        Assert.Equal(500, expected.Take(500).Count(p => int.Parse(p) % 2 == 0));
        Assert.Equal(1000, expected.Take(1000).Distinct().Count());
        Assert.Equal([Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL], expected.Skip(1000).Take(3));
        Assert.Equal(4, expected.Skip(1003).Take(4).Count(p => p != Errno.EADDRNOTAVAIL));
        Assert.Equal([Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL], expected.Skip(1007).Take(2));
        // The search as it was looked every held port up; with the held ports kept, only the port it takes: one probe per
        // connect() that got a port (1,000 + 4 + 5), none for the ones that found none.
        Assert.True(before.Client.ConnectPortProbes > 500 * 500, $"{before.Client.ConnectPortProbes} probes");
        Assert.Equal(1009, held.Client.ConnectPortProbes);
    }
}
