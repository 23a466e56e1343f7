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

    /// <summary>
    /// A non-blocking connect() to server:<paramref name="port"/>: its port (the socket kept in <paramref name="sockets"/>) or
    /// errno (the socket closed) added to <paramref name="outcomes"/>. Non-blocking (EINPROGRESS): a close() then closes the
    /// socket, where one blocked in connect() holds it.
    /// </summary>
    static void ConnectNonBlocking(TwoHostHarness h, ushort port, List<string> outcomes, List<int> sockets)
    {
        var sock = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock.SocketId, ToHost = "server", ToPort = port });
        outcomes.Add(c.Errno == Errno.EINPROGRESS ? $"{h.Sim.FindSocket(c.SocketId)!.Local.Port}" : c.Errno!);
        if (c.Errno == Errno.EINPROGRESS) sockets.Add(c.SocketId);
        else h.Call("client", SocketCallKind.Close, sock.SocketId);
    }

    /// <summary>Connects (the SYNs stay in flight: the clock does not move) and closes; each connect's port or errno.</summary>
    static List<string> Script(TwoHostHarness h)
    {
        var outcomes = new List<string>();
        var sockets = new List<int>();
        void Connect(ushort port) => ConnectNonBlocking(h, port, outcomes, sockets);
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
            [(a, to80, 2)], // … then it and the last are timewait sockets, which hold their ports too …
            [],             // … until tcp_fin_timeout ends them: freed
            [],             // a connect found none held (nothing kept) …
            [(a, to80, 2)], // … the next one made them again
        ], kept);
        Assert.Equal("0 TIME-WAIT", expected[^1]);
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
        h.At(TwoHostHarness.Ms(61_000)); // past both timewait sockets' 60 s (tcp_fin_timeout: FIN_WAIT2 substate)
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

    /// <summary>
    /// 100 ports held by TIME-WAIT (the client closed first, the server after), then connect()s to the same destination
    /// with tcp_tw_reuse 2 (off loopback: none reused), 1 before and after its 1 s delay, and after the 60 s: each one's
    /// port or errno, and the TWRecycled count. Without timestamps (<paramref name="timestamps"/> false) no timewait
    /// socket is ever taken over (tcp_twsk_unique()).
    /// </summary>
    static (List<string> Outcomes, long Recycled, long[] Probes) TimeWaitScript(int heldAfter, bool timestamps)
    {
        var h = new TwoHostHarness(seed: 11);
        h.Client.ConnectHeldAfterProbes = heldAfter;
        h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40099");
        if (!timestamps) h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0");
        var listener = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 200 }).SocketId;
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 81, Backlog = 200 });
        var outcomes = new List<string>();
        var clients = new List<int>();
        void Connect(ushort port) => ConnectNonBlocking(h, port, outcomes, clients);
        for (int i = 0; i < 100; i++) Connect(80);
        h.At(TwoHostHarness.Ms(100));
        var children = new List<int>();
        for (int i = 0; i < 100; i++) children.Add(h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = listener }).SocketId);
        foreach (int c in clients) h.Call("client", SocketCallKind.Close, c);
        h.At(TwoHostHarness.Ms(200));
        foreach (int c in children) h.Call("server", SocketCallKind.Close, c);
        clients.Clear();
        h.At(TwoHostHarness.Ms(300));
        Assert.Equal(100, h.Client.TimeWaitCount);
        long probesBefore = h.Client.ConnectPortProbes;
        for (int i = 0; i < 3; i++) Connect(80);         // tcp_tw_reuse 2, not loopback: EADDRNOTAVAIL
        long probesRefused = h.Client.ConnectPortProbes - probesBefore;
        Connect(81);                                      // another destination: a port
        h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "1");
        for (int i = 0; i < 2; i++) Connect(80);         // within tcp_tw_reuse_delay (1 s) of the TIME-WAITs' entry
        h.At(TwoHostHarness.S(1.5));
        for (int i = 0; i < 3; i++) Connect(80);         // after it: timestamped TIME-WAITs are taken over
        h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "0");
        for (int i = 0; i < 2; i++) Connect(80);
        h.At(TwoHostHarness.S(61));
        for (int i = 0; i < 2; i++) Connect(80);         // the TIME-WAITs expired
        return (outcomes, h.Client.Mib[Network.MibCounter.TcpExtTWRecycled], [probesBefore, probesRefused]);
    }

    /// <summary>
    /// A range held by TIME-WAIT to one destination made every connect() probe all of it, three hash lookups a port
    /// (tester session 27: a workload at 1,000,000/s behind a 10 ms link, > 16 min for 2,000,000 events): a timewait
    /// socket tcp_twsk_unique() cannot hand over holds its bit too, and the search passes a word of held ports at once.
    /// Same ports, errnos and TWRecycled as the search probing every port.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TimeWaitHeldPorts_SamePortsErrnosAndRecycles_ProbesOnlyWhereATakeoverIsPossible(bool timestamps)
    {
        var before = TimeWaitScript(heldAfter: int.MaxValue, timestamps);
        var held = TimeWaitScript(heldAfter: 0, timestamps);

        Assert.Equal(before.Outcomes, held.Outcomes);
        Assert.Equal(before.Recycled, held.Recycled);
        var (outcomes, recycled, probes) = held;
        Assert.Equal(100, outcomes.Take(100).Distinct().Count());
        Assert.Equal([Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL], outcomes.Skip(100).Take(3));
        Assert.NotEqual(Errno.EADDRNOTAVAIL, outcomes[103]);
        Assert.Equal([Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL], outcomes.Skip(104).Take(2));
        Assert.Equal(timestamps ? 0 : 3, outcomes.Skip(106).Take(3).Count(p => p == Errno.EADDRNOTAVAIL));
        Assert.Equal(timestamps ? 3 : 0, recycled);
        Assert.Equal([Errno.EADDRNOTAVAIL, Errno.EADDRNOTAVAIL], outcomes.Skip(109).Take(2));
        Assert.Equal(0, outcomes.Skip(111).Count(p => p == Errno.EADDRNOTAVAIL));
        // The three refused connect()s probed the whole range each (two hash lookups a port and a timewait lookup) and now
        // none; the first 100 took one probe each (2,788 probing every port: each search passed the ports taken before it).
        Assert.Equal([2788, 300], before.Probes);
        Assert.Equal([100, 0], probes);
    }
}
