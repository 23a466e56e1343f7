using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// net.ipv4.tcp_migrate_req (linux-6): a closed SO_REUSEPORT listener's children and requests move to another listener of
/// its group — inet_csk_listen_stop(), reqsk_timer_handler() and tcp_v4_rcv()'s TCP_NEW_SYN_RECV path, each through
/// reuseport_migrate_sock() (net/core/sock_reuseport.c). l1 listens alone, so every SYN is its own; l2 joins its group later.
/// </summary>
public class MigrateReqTests
{
    const uint PeerIsn = 1000;
    static readonly FourTuple PeerTuple = new(new Endpoint(IPv4.Parse("10.0.0.1"), 46000), new Endpoint(IPv4.Parse("10.0.0.2"), 80));

    internal static TcpSocket ReuseportListener(Fixtures.TwoHostHarness h, int maxseg = 0)
    {
        int id = h.Call("server", SocketCallKind.Socket).SocketId;
        h.SetOption(id, SocketOption.SO_REUSEPORT, 1);
        if (maxseg != 0) h.SetOption(id, SocketOption.TCP_MAXSEG, maxseg);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Bind) { SocketId = id, Port = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = id });
        return h.Sim.FindSocket(id)!;
    }

    static Fixtures.TwoHostHarness Harness(bool migrateReq)
    {
        var h = new Fixtures.TwoHostHarness();
        if (migrateReq) h.Sim.SetSysctl("server", "net.ipv4.tcp_migrate_req", "1");
        return h;
    }

    /// <summary>l1, then two clients whose children wait in l1's accept queue by 50 ms; l2 (if asked) listens at 50 ms; l1 closed at 100 ms.</summary>
    static (TcpSocket L1, TcpSocket? L2, TcpSocket[] Clients) CloseWithTwoQueued(bool migrateReq, bool second = true)
    {
        var h = Harness(migrateReq);
        var l1 = ReuseportListener(h);
        h.At(Ms(1));
        var clients = new[] { 1, 2 }.Select(_ => h.Sim.FindSocket(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)!).ToArray();
        h.At(Ms(50));
        Assert.Equal(2, l1.AcceptQueueCount);
        var l2 = second ? ReuseportListener(h) : null;
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Close, l1.Id);
        h.At(Ms(200));
        return (l1, l2, clients);
    }

    [Fact]
    public void ListenerClose_MigrateReqOn_QueuedChildrenMoveToTheOtherListenerWithoutRst()
    {
        var (l1, l2, clients) = CloseWithTwoQueued(migrateReq: true);
        var server = l1.Host;
        // inet_csk_listen_stop() → reuseport_migrate_sock() → inet_csk_reqsk_queue_add(l2): one TCPMigrateReqSuccess each.
        Assert.Equal(2, l2!.AcceptQueueCount);
        Assert.All(l2.AcceptQueue, c => Assert.Equal(TcpState.Established, c.State));
        Assert.Equal(clients.Select(c => c.Local), l2.AcceptQueue.Select(c => c.Remote));
        Assert.All(clients, c => Assert.Equal(TcpState.Established, c.State));
        Assert.Equal((2, 0, 0), (server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], server.Mib[MibCounter.TcpExtTCPMigrateReqFailure], server.Mib[MibCounter.TcpOutRsts]));
        Assert.DoesNotContain(server.Sim.Journal.OfType<SegmentSent>(), s => s.Host == "server" && s.At >= Ms(100));
    }

    [Fact]
    public void ListenerClose_MigrateReqOff_QueuedChildrenReset()
    {
        var (_, l2, clients) = CloseWithTwoQueued(migrateReq: false);
        var server = l2!.Host;
        // reuseport_stop_listen_sock() detached l1 (reuseport_detach_sock()): reuseport_migrate_sock() finds no group and counts nothing.
        Assert.Equal(0, l2.AcceptQueueCount);
        Assert.All(clients, c => Assert.Equal(TcpState.Close, c.State));
        Assert.Equal((0, 0, 2), (server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], server.Mib[MibCounter.TcpExtTCPMigrateReqFailure], server.Mib[MibCounter.TcpOutRsts]));
    }

    [Fact]
    public void ListenerClose_MigrateReqOnAndNoOtherListener_FailureCountedPerChildAndReset()
    {
        var (l1, _, clients) = CloseWithTwoQueued(migrateReq: true, second: false);
        var server = l1.Host;
        // The group has no listener left (num_socks 0): goto failure, then inet_child_forget().
        Assert.All(clients, c => Assert.Equal(TcpState.Close, c.State));
        Assert.Equal((0, 2, 2), (server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], server.Mib[MibCounter.TcpExtTCPMigrateReqFailure], server.Mib[MibCounter.TcpOutRsts]));
    }

    static readonly Segment PeerSyn = new(PeerTuple, TcpFlags.Syn, PeerIsn, 0, 65535, 0, new TcpOptions(Mss: 1460));

    /// <summary>
    /// A request under l1 from a SYN handed to the server at 1 ms (link cut), l2 listening at 50 ms and l1 closed at 100 ms;
    /// each listener with its TCP_MAXSEG when given.
    /// </summary>
    static (Fixtures.TwoHostHarness H, TcpSocket L1, TcpSocket L2, RequestSocket Req) RequestOfClosedListener(int maxseg1 = 0, int maxseg2 = 0)
    {
        var h = Harness(migrateReq: true);
        var l1 = ReuseportListener(h, maxseg1);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(Ms(1));
        h.Deliver(h.Server, PeerSyn);
        h.At(Ms(50));
        var l2 = ReuseportListener(h, maxseg2);
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Close, l1.Id);
        var req = Assert.Single(h.Server.RequestSockets);
        Assert.Same(l1, req.Listener);
        return (h, l1, l2, req);
    }

    [Fact]
    public void RequestTimer_ListenerClosed_RequestMigratesAndItsSynAckIsResent()
    {
        var (h, _, l2, req) = RequestOfClosedListener();
        h.At(S(2));
        // reqsk_timer_handler() at 1.024 s: l1 not in TCP_LISTEN → the clone joins l2 (reqsk_queue_migrated()), the round
        // goes on there: tcp_syn_ack_timeout(), inet_rtx_syn_ack(), TCPMigrateReqSuccess; the next expiry 2 s later.
        Assert.Same(req, Assert.Single(h.Server.RequestSockets));
        Assert.Same(l2, req.Listener);
        Assert.Equal((1, 0), (l2.ReqskQueueLen, l2.ReqskQueueYoung));
        Assert.Equal([("S.", Ms(1)), ("S.", Ms(1024))], h.Sent("server").Select(s => (s.Flags.ToLetters(), s.At)));
        Assert.Equal((1, 0, 1, 1), (h.Server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], h.Server.Mib[MibCounter.TcpExtTCPMigrateReqFailure],
            h.Server.Mib[MibCounter.TcpExtTCPTimeouts], h.Server.Mib[MibCounter.TcpExtTCPSynRetrans]));
        Assert.Equal(Ms(3024), req.TimerExpires);
    }

    [Fact]
    public void RequestAck_ListenerClosed_ChildJoinsTheOtherListenersQueue()
    {
        var (h, l1, l2, req) = RequestOfClosedListener();
        uint iss = req.Iss;
        h.At(Ms(150));
        h.Deliver(h.Server, new Segment(PeerTuple, TcpFlags.Ack, PeerIsn + 1, iss + 1, 65535, 0, TcpOptions.None));
        // tcp_v4_rcv(): reuseport_migrate_sock() gives l2, whose tcp_check_req() makes the child;
        // inet_csk_complete_hashdance() drops the request from l1's queue and queues the child on l2.
        Assert.Empty(h.Server.RequestSockets);
        var child = Assert.Single(l2.AcceptQueue);
        Assert.Equal((TcpState.Established, PeerTuple.Local), (child.State, child.Remote));
        Assert.Equal((0, 0), (l1.ReqskQueueLen, l2.ReqskQueueLen));
        Assert.Equal((1, 0, 0), (h.Server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], h.Server.Mib[MibCounter.TcpExtTCPMigrateReqFailure], h.Server.Mib[MibCounter.TcpOutRsts]));
    }

    /// <summary>
    /// review34b S3: the peer's retransmitted SYN at 150 ms reaches the request of closed l1 (TCP_MAXSEG 1000): tcp_v4_rcv()
    /// takes l2 (TCP_MAXSEG 1200) from reuseport_migrate_sock(), and tcp_check_req(l2)'s inet_rtx_syn_ack(l2, req) →
    /// tcp_make_synack() clamps the MSS by l2's user_mss: 1200. The engine sent l1's 1000. The request stays l1's (no
    /// child yet): no TCPMigrateReqSuccess.
    /// </summary>
    [Fact]
    public void RetransmittedSyn_ListenerClosed_SynAckClampedByTheNewListenersMaxseg()
    {
        var (h, l1, _, req) = RequestOfClosedListener(maxseg1: 1000, maxseg2: 1200);
        h.At(Ms(150));
        h.Deliver(h.Server, PeerSyn);
        Assert.Equal([(Ms(1), 1000), (Ms(150), 1200)], h.Sent("server").Select(s => (s.At, (int)s.Options.Mss)));
        Assert.Same(l1, Assert.Single(h.Server.RequestSockets).Listener);
        Assert.Equal((1, 0, 0), (req.NumRetrans, h.Server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], h.Server.Mib[MibCounter.TcpExtTCPMigrateReqFailure]));
    }

    /// <summary>
    /// The child l2 makes from l1's request takes the request's req->mss — the SYN's 1460 lowered to l1's TCP_MAXSEG 1000
    /// when the SYN came (tcp_parse_options() in tcp_conn_request()) — as its mss_clamp (tcp_create_openreq_child()),
    /// not l2's 1200: mss_cache 1000 (Linux 6.18.44: TCP_MAXSEG reads 1000 on the accepted socket). The engine clamped
    /// the SYN's MSS again by the child's user_mss, copied from l2: 1200.
    /// </summary>
    [Fact]
    public void RequestAck_ListenerClosed_ChildKeepsTheMssOfTheListenerTheSynCameTo()
    {
        var (h, _, l2, req) = RequestOfClosedListener(maxseg1: 1000, maxseg2: 1200);
        h.At(Ms(150));
        h.Deliver(h.Server, new Segment(PeerTuple, TcpFlags.Ack, PeerIsn + 1, req.Iss + 1, 65535, 0, TcpOptions.None));
        var child = Assert.Single(l2.AcceptQueue);
        Assert.Equal((TcpState.Established, 1000), (child.State, child.Info.SndMss));
    }

    /// <summary>
    /// A request whose rounds run out on the listener it migrates to: l2 has TCP_SYNCNT 1; l1's round at 1.024 s resends
    /// the SYN-ACK (num_timeout 1), l1 is closed at 1.5 s, and the timer at 3.024 s clones the request onto l2, whose
    /// icsk_syn_retries 1 is reached: tcp_syn_ack_timeout() (TCPTimeouts 2), then — the clone expired — TCPMigrateReqFailure
    /// and inet_csk_reqsk_queue_drop_and_put() of the request: no SYN-ACK, both queues empty. As on Linux 6.18.44
    /// (packetdrill/migrate-req-timer-expires-by-the-new-listeners-syncnt.pkt, counters compared).
    /// </summary>
    [Fact]
    public void RequestTimer_ListenerClosed_RoundsRunOutOnTheNewListener_FailureAndDropped()
    {
        var h = Harness(migrateReq: true);
        var l1 = ReuseportListener(h);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(Ms(1));
        h.Deliver(h.Server, PeerSyn);
        h.At(Ms(50));
        var l2 = ReuseportListener(h);
        h.SetOption(l2.Id, SocketOption.TCP_SYNCNT, 1);
        h.At(Ms(1500));
        h.Call("server", SocketCallKind.Close, l1.Id);
        h.At(S(4));
        Assert.Empty(h.Server.RequestSockets);
        Assert.Equal([Ms(1), Ms(1024)], h.Sent("server").Select(s => s.At));
        Assert.Equal((0, 0, 0, 0), (l1.ReqskQueueLen, l2.ReqskQueueLen, l1.ReqskQueueYoung, l2.ReqskQueueYoung));
        Assert.Equal((0, 1, 2), (h.Server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], h.Server.Mib[MibCounter.TcpExtTCPMigrateReqFailure],
            h.Server.Mib[MibCounter.TcpExtTCPTimeouts]));
    }

    /// <summary>
    /// The sysctl turned off after the close: reuseport_stop_listen_sock() kept l1 in its group (the sysctl was on), but
    /// reuseport_migrate_sock() reads it again: the request's timer at 1.024 s counts TCPMigrateReqFailure and goes to drop
    /// before tcp_syn_ack_timeout() — no SYN-ACK, no TCPTimeouts. As on Linux 6.18.44
    /// (packetdrill/migrate-req-sysctl-off-after-close-drops-the-request.pkt, counters compared).
    /// </summary>
    [Fact]
    public void RequestTimer_SysctlOffAfterTheClose_FailureAndDroppedWithoutATimeout()
    {
        var (h, l1, l2, _) = RequestOfClosedListener();
        h.At(Ms(500));
        h.Sim.SetSysctl("server", "net.ipv4.tcp_migrate_req", "0");
        h.At(S(2));
        Assert.Empty(h.Server.RequestSockets);
        Assert.Equal([Ms(1)], h.Sent("server").Select(s => s.At));
        Assert.Equal((0, 0), (l1.ReqskQueueLen, l2.ReqskQueueLen));
        Assert.Equal((0, 1, 0), (h.Server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], h.Server.Mib[MibCounter.TcpExtTCPMigrateReqFailure],
            h.Server.Mib[MibCounter.TcpExtTCPTimeouts]));
    }

    /// <summary>
    /// shutdown(SHUT_RD) of a listener is tcp_disconnect() → inet_csk_listen_stop(): l1's two queued children move to l2
    /// (TCPMigrateReqSuccess 2, no RST); l1 listens again and rejoins l2's group (reuseport_add_sock(): out of the closed
    /// section), so close(l2) moves them back to l1 (4). As on Linux 6.18.44
    /// (packetdrill/migrate-req-listener-shutdown-rd-moves-queue-and-relistens.pkt).
    /// </summary>
    [Fact]
    public void ListenerShutdownRd_QueueMovesAndARelistenRejoinsTheGroup()
    {
        var h = Harness(migrateReq: true);
        var l1 = ReuseportListener(h);
        h.At(Ms(1));
        var clients = new[] { 1, 2 }.Select(_ => h.Sim.FindSocket(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)!).ToArray();
        h.At(Ms(50));
        var l2 = ReuseportListener(h);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = l1.Id, How = ShutdownHow.SHUT_RD });
        Assert.Equal((TcpState.Close, 0, 2), (l1.State, l1.AcceptQueueCount, l2.AcceptQueueCount));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = l1.Id });
        h.Call("server", SocketCallKind.Close, l2.Id);
        h.At(Ms(100));
        Assert.Equal(clients.Select(c => c.Local), l1.AcceptQueue.Select(c => c.Remote));
        Assert.All(clients, c => Assert.Equal(TcpState.Established, c.State));
        Assert.Equal((4, 0, 0), (h.Server.Mib[MibCounter.TcpExtTCPMigrateReqSuccess], h.Server.Mib[MibCounter.TcpExtTCPMigrateReqFailure], h.Server.Mib[MibCounter.TcpOutRsts]));
    }
}
