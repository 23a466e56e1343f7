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
}
