using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Where the linux-4.4 profile follows 4.4's own algorithm instead of 6.x's (session 34): the SYN on a full accept
/// queue, the initial receive window, the loss probe's timeout and connect()'s port search. Each runs on linux-6 too,
/// whose answer is unchanged. Client 10.0.0.1, server 10.0.0.2, 10 ms apart.
/// </summary>
public class Linux44AlgorithmTests
{
    /// <summary>
    /// Listener backlog 2: three connections' children fill the accept queue (sk_acceptq_is_full(): 3 &gt; 2). linux-6's
    /// tcp_conn_request() drops every later SYN (ListenOverflows, ListenDrops). linux-4.4 drops one only when more than
    /// one young request waits too (inet_csk_reqsk_queue_young() &gt; 1): the SYNs at 100 and 200 ms get requests and
    /// SYN-ACKs (young 0, then 1 — their ACKs overflow in tcp_v4_syn_recv_sock() and the requests stay, acked, still
    /// young), so connect() returns and both clients are ESTABLISHED; the SYN at 300 ms finds young 2 and is dropped (the
    /// SYN queue being full too, 4.4's qlen &gt;= backlog, it would have been a cookie).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 5, new[] { TcpState.Established, TcpState.Established, TcpState.SynSent })]
    [InlineData(KernelProfile.Linux6, 3, new[] { TcpState.SynSent, TcpState.SynSent, TcpState.SynSent })]
    public void SynOnFullAcceptQueue_Linux44DropsOnlyWithMoreThanOneYoungRequest(KernelProfile profile, int synAcks, TcpState[] later)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 2 });
        var first = Enumerable.Range(0, 3)
            .Select(_ => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)
            .ToList();
        var sockets = new List<int>();
        for (int i = 1; i <= 3; i++)
        {
            h.At(Ms(100 * i));
            sockets.Add(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId);
        }
        h.At(Ms(400));

        Assert.All(first, s => Assert.Equal(TcpState.Established, h.Sim.FindSocket(s)!.State));
        Assert.Equal(later, sockets.Select(s => h.Sim.FindSocket(s)!.State));
        Assert.Equal(synAcks, h.Sent("server").Count(s => s.Flags.ToLetters() == "S."));
        // linux-4.4: two ACKs overflowed and one SYN was dropped; linux-6: three SYNs dropped.
        Assert.Equal(3, h.Server.Mib[MibCounter.TcpExtListenOverflows]);
        Assert.Equal(3, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        Assert.Equal(profile == KernelProfile.Linux44 ? 2 : 0, h.Server.RequestSockets.Count());
    }

    /// <summary>
    /// 4.4's tcp_select_initial_window() caps the first window at tcp_default_init_rwnd(mss) = 2 · TCP_INIT_CWND = 20
    /// segments of the MSS it is given when that MSS is above 1 &lt;&lt; wscale (7 here): the SYN 20 × 1460 = 29200, the
    /// SYN-ACK 20 × (1460 − 12) = 28960, and the ACK after them rcv_ssthresh 29200 rounded up to the scale, 229 &lt;&lt; 7.
    /// linux-6 offers the whole space (4.19 dropped the cap): 44 × 1460 and 45 × 1448 (Linux 6.18.44), then 63 << 10.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 29200, 28960, 229)]
    [InlineData(KernelProfile.Linux6, 64240, 65160, 63)]
    public void InitialWindow_Linux44CapsTheSynAndSynAckAtTwentySegments(KernelProfile profile, int syn, int synAck, int ack)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Establish();

        var segments = h.Segments().Take(3).Select(s => (s.Host, s.Flags.ToLetters(), (int)s.Win)).ToList();
        Assert.Equal([("client", "S", syn), ("server", "S.", synAck), ("client", ".", ack)], segments);
    }

    /// <summary>
    /// A 400 ms path (srtt 400 ms from the handshake, RTO 1.2 s); at 1 s the link loses everything and the client sends
    /// 100 bytes, one packet out. 4.4's tcp_schedule_loss_probe(): max(2 · 100 jiffies, 100 + 50 + TCP_DELACK_MAX 50) =
    /// 200 jiffies — the probe at 1.8 s. linux-6: 2 · srtt + TCP_RTO_MIN = 1 s, the probe at 2 s (on the wheel's tick).
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 1800)]
    [InlineData(KernelProfile.Linux6, 2016)]
    public void LossProbe_Linux44TimeoutIsTwoRttOrOneAndAHalfPlusDelackMax(KernelProfile profile, double probeMs)
    {
        var h = new TwoHostHarness(profile: profile, delayMs: 200);
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(1000));
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(c.SocketId)!.State);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.SocketId, 100);
        h.At(Ms(3000));

        var after = h.Sent("client").Where(x => x.At >= Ms(1000)).Select(x => (x.At, x.Reason)).ToList();
        Assert.Equal((Ms(1000), (Ms(probeMs), "tcp_send_loss_probe")), (after[0].At, (after[1].At, after[1].Reason)));
    }

    /// <summary>
    /// connect()'s port search. 4.4's __inet_hash_connect() starts at (hint + port_offset) &amp; ~1 and walks the range one
    /// port at a time; the port taken advances the host's hint by (i + 2) &amp; ~1. So to one destination: p0, then —
    /// p0 + 2 being held by bind() — p0 + 3 (i = 1, hint 4), then p0 + 4. linux-6 searches the range's even ports
    /// first from a perturbation-table offset with a random step, so all three are even.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44)]
    [InlineData(KernelProfile.Linux6)]
    public void ConnectPort_Linux44ScansSequentiallyFromTheHint(KernelProfile profile)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        int Connect() => h.Sim.FindSocket(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)!.Local.Port;
        int p0 = Connect();
        int bound = h.Call("client", SocketCallKind.Socket).SocketId;
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = bound, Port = (ushort)(p0 + 2) });
        int[] ports = [p0, Connect(), Connect()];

        if (profile == KernelProfile.Linux44)
        {
            uint portOffset = (uint)KeyedHash.Of(h.Sim.PortSecret, h.Client.Address.Value, h.Server.Address.Value, 80);
            Assert.Equal(32768 + (int)((portOffset & ~1u) % 28232), p0);
            Assert.Equal([p0, p0 + 3, p0 + 4], ports);
        }
        else Assert.All(ports, p => Assert.Equal(0, p & 1));
    }
}
