using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.CommandLog;

/// <summary>
/// A kill's closes over a zero-delay link: each tcp_close()'s FIN reaches the peer inside the close, as over a veth pair
/// (veth_xmit() → __netif_rx() on the peer, the NET_RX softirq at the local_bh_enable() of __dev_queue_xmit()), so the
/// peer's answer is sent before the next descriptor is closed. Observed on Linux 6.18.44 with two namespaces joined by
/// veth (python, SIGKILL of a process holding two connections in CLOSE-WAIT): F. ACK F. ACK. The kernel runner's TUN
/// link forwards in user space, after every close (F. F. ACK ACK): what
/// scenarios/observed-2host-kill-over-zero-delay-link-each-fin-acked.json checks passes on both.
/// </summary>
public class KillOverZeroDelayLinkTests
{
    [Theory]
    [InlineData(EngineRules.WokenAfterSoftirq, new[] { "client:c2 F.", "server:c2 .", "client:c1 F.", "server:c1 ." })]
    [InlineData(EngineRules.SameInstant, new[] { "client:c2 F.", "server:c2 .", "client:c1 F.", "server:c1 ." })]
    [InlineData(EngineRules.Original, new[] { "client:c2 F.", "client:c1 F.", "server:c2 .", "server:c1 ." })]
    public void Kill_TwoConnectionsInCloseWait_EachFinIsAckedBeforeTheNextClose(int rules, string[] expected)
    {
        var t = new TwoHostHarness(delayMs: 0);
        t.Sim.EngineRules = rules;
        var l = t.Call(new SocketCallRequest("server", "srv", SocketCallKind.Listen) { Port = 80 });
        t.At(Ms(1));
        var c1 = t.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        t.At(Ms(2));
        var c2 = t.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        t.At(Ms(3));
        var a1 = t.Call(new SocketCallRequest("server", "srv", SocketCallKind.Accept) { SocketId = l.SocketId });
        var a2 = t.Call(new SocketCallRequest("server", "srv", SocketCallKind.Accept) { SocketId = l.SocketId });
        t.At(Ms(50));
        t.Call("server", SocketCallKind.Close, t.Returned(a1.CallId)!.SocketId, "srv");
        t.Call("server", SocketCallKind.Close, t.Returned(a2.CallId)!.SocketId, "srv");
        t.At(Ms(100));
        var names = new Dictionary<ushort, string>
        {
            [t.Sim.FindSocket(c1.SocketId)!.Local.Port] = "c1",
            [t.Sim.FindSocket(c2.SocketId)!.Local.Port] = "c2",
        };

        Assert.True(CommandApplier.Apply(t.Sim, new KillCommand("client", "app", "SIGKILL")).IsOk);
        t.At(Ms(100));

        Assert.Equal(expected, t.Segments().Where(s => s.At == Ms(100)).Select(s =>
            $"{s.Host}:{names[s.Host == "client" ? s.Tuple.Local.Port : s.Tuple.Remote.Port]} {s.Flags.ToLetters()}"));
        t.At(Ms(150));
        Assert.Equal(2, t.Server.TimeWaitSockets.Count);
        Assert.Equal(0, t.Client.Mib[MibCounter.TcpOutRsts]);
    }
}
