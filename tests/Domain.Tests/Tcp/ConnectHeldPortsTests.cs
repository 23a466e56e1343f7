using SimService.Domain.Commands;
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
