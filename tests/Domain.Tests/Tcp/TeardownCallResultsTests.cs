using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// What the application's calls return during and after teardown, per state: tcp_recvmsg_locked(), tcp_sendmsg_locked()
/// with sk_stream_error(), tcp_poll(), inet_shutdown(), __inet_stream_connect(), inet_getname() and sock_error().
/// </summary>
public class TeardownCallResultsTests
{
    const int AllEvents = PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLRDNORM | PollEvents.POLLWRNORM | PollEvents.POLLRDHUP;

    static CallHandle Poll(TwoHostHarness h, TcpSocket s) =>
        h.Call(new SocketCallRequest(s.Host.Name, "app", SocketCallKind.Poll) { SocketId = s.Id, Events = AllEvents });

    static CallHandle Shutdown(TwoHostHarness h, TcpSocket s, ShutdownHow how) =>
        h.Call(new SocketCallRequest(s.Host.Name, "app", SocketCallKind.Shutdown) { SocketId = s.Id, How = how });

    static CallHandle Recv(TwoHostHarness h, TcpSocket s) => h.Call(s.Host.Name, SocketCallKind.Recv, s.Id);

    static CallHandle SoError(TwoHostHarness h, TcpSocket s) => h.GetOption(s.Id, SocketOption.SO_ERROR);

    static CallHandle Connect(TwoHostHarness h, int socket, ushort port = 80) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, ToHost = "server", ToPort = port });

    /// <summary>socket(), fcntl(O_NONBLOCK) and connect() to server:80 on the client: EINPROGRESS, SS_CONNECTING.</summary>
    static CallHandle NonBlockingConnect(TwoHostHarness h)
    {
        var sock = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
        Assert.Equal("EINPROGRESS", Connect(h, sock.SocketId).Errno);
        return sock;
    }

    static void PeerAborts(TwoHostHarness h, TcpSocket peer)
    {
        h.SetOption(peer.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call(peer.Host.Name, SocketCallKind.Close, peer.Id);
    }

    static (long, string?) R(CallHandle c) => (c.Result, c.Errno);

    [Fact]
    public void CloseWait_DataThenFin_RecvDataThenZeroSendWorksPollReadableWritableRdhup()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 5);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        Assert.Equal(TcpState.CloseWait, c.State);

        var poll = Poll(h, c);
        var data = Recv(h, c);
        var eof = Recv(h, c);
        var eof2 = Recv(h, c);
        var send = h.Send(c.Id, 10);
        var err = SoError(h, c);

        // tcp_poll(): RCV_SHUTDOWN → POLLIN|POLLRDNORM|POLLRDHUP; no SEND_SHUTDOWN and room → POLLOUT|POLLWRNORM.
        Assert.Equal("\"POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((5L, (string?)null), R(data));
        Assert.Equal((0L, (string?)null), R(eof));
        Assert.Equal((0L, (string?)null), R(eof2));
        Assert.Equal((10L, (string?)null), R(send));
        Assert.Equal((0L, "0"), (err.Result, err.Value));
    }

    [Fact]
    public void FinWait2_AfterShutWr_SendEpipePollWritableRecvStillBlocks()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Shutdown(h, c, ShutdownHow.SHUT_WR);
        h.At(Ms(200));
        Assert.Equal(TcpState.FinWait2, c.State);

        // tcp_poll(): SEND_SHUTDOWN → POLLOUT|POLLWRNORM (a write would not block: it fails).
        var poll = Poll(h, c);
        // tcp_sendmsg_locked(): not ESTABLISHED/CLOSE_WAIT → sk_stream_wait_connect() → -EPIPE → sk_stream_error().
        var send = h.Send(c.Id, 10);
        var err = SoError(h, c);

        Assert.Equal("\"POLLOUT|POLLWRNORM\"", poll.Value);
        Assert.Equal((-1L, "EPIPE"), R(send));
        Assert.Equal((0L, "0"), (err.Result, err.Value));
    }

    [Fact]
    public void Established_ShutRdwr_PollHupInRdhupOut()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Shutdown(h, c, ShutdownHow.SHUT_RDWR);

        var poll = Poll(h, c);

        // sk_shutdown == SHUTDOWN_MASK → POLLHUP; RCV_SHUTDOWN → POLLIN|POLLRDNORM|POLLRDHUP; SEND_SHUTDOWN → POLLOUT.
        Assert.Equal("\"POLLIN|POLLOUT|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((0L, (string?)null), R(Recv(h, c)));
    }

    [Fact]
    public void Established_Rst_PollErrHupThenSoErrorOnceThenRecvZero()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        PeerAborts(h, s);
        h.At(Ms(200));
        Assert.Equal(TcpState.Close, c.State);

        var poll = Poll(h, c);
        var err = SoError(h, c);
        var err2 = SoError(h, c);
        var pollAfter = Poll(h, c);
        var recv = Recv(h, c);
        var peer = h.Call("client", SocketCallKind.Getpeername, c.Id);
        var shut = Shutdown(h, c, ShutdownHow.SHUT_WR);
        var connect = Connect(h, c.Id);

        // tcp_done(): CLOSE and SHUTDOWN_MASK; sk_err ECONNRESET → POLLERR.
        Assert.Equal("\"POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((104L, "\"ECONNRESET\""), (err.Result, err.Value));
        Assert.Equal((0L, "0"), (err2.Result, err2.Value));
        Assert.Equal("\"POLLIN|POLLOUT|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", pollAfter.Value);
        // The error was taken by SO_ERROR: RCV_SHUTDOWN → 0.
        Assert.Equal((0L, (string?)null), R(recv));
        // inet_getname(): TCPF_CLOSE → -ENOTCONN.
        Assert.Equal("ENOTCONN", peer.Errno);
        // inet_shutdown(): TCP_CLOSE → -ENOTCONN.
        Assert.Equal("ENOTCONN", shut.Errno);
        // __inet_stream_connect(): sock->state is still SS_CONNECTED → -EISCONN.
        Assert.Equal("EISCONN", connect.Errno);
    }

    [Fact]
    public void Established_RstThenSendFirst_EconnresetThenRecvZero()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 3);
        h.At(Ms(150));
        PeerAborts(h, s);
        h.At(Ms(200));

        var send = h.Send(c.Id, 1);
        var data = Recv(h, c);
        var eof = Recv(h, c);

        // sk_stream_wait_connect() (CLOSE is not ESTABLISHED/CLOSE_WAIT): sock_error() → ECONNRESET.
        Assert.Equal((-1L, "ECONNRESET"), R(send));
        // tcp_reset() does not purge the receive queue: the data is still read; then RCV_SHUTDOWN → 0.
        Assert.Equal((3L, (string?)null), R(data));
        Assert.Equal((0L, (string?)null), R(eof));
    }

    [Fact]
    public void FinWait2_Rst_RecvEconnreset()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Shutdown(h, c, ShutdownHow.SHUT_WR);
        h.At(Ms(200));
        PeerAborts(h, s);
        h.At(Ms(300));
        Assert.Equal(TcpState.Close, c.State);

        Assert.Equal((-1L, "ECONNRESET"), R(Recv(h, c)));
        Assert.Equal((0L, (string?)null), R(Recv(h, c)));
        Assert.Equal((-1L, "EPIPE"), R(h.Send(c.Id, 1)));
    }

    [Fact]
    public void CloseWait_DataFinThenRst_RecvDataThenZeroErrorOnlyInSoError()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 4);
        h.At(Ms(150));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        h.Send(c.Id, 10); // the server closed with nothing unread: its answer to the data is an RST
        h.At(Ms(300));
        Assert.Equal(TcpState.Close, c.State);

        var poll = Poll(h, c);
        var data = Recv(h, c);
        var eof = Recv(h, c);
        var err = SoError(h, c);

        Assert.Equal("\"POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((4L, (string?)null), R(data));
        // SOCK_DONE is tested before sk_err when nothing was copied.
        Assert.Equal((0L, (string?)null), R(eof));
        Assert.Equal((32L, "\"EPIPE\""), (err.Result, err.Value));
    }

    [Fact]
    public void SynSent_BlockingConnectRefused_ConnectAgainStartsANewHandshake()
    {
        var h = new TwoHostHarness();
        var sock = h.Call("client", SocketCallKind.Socket);
        var first = Connect(h, sock.SocketId);
        h.At(Ms(30));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        // __inet_stream_connect()'s sock_error path disconnected the socket (tcp_disconnect(), SS_UNCONNECTED):
        // a new connect() starts over, its ISN the old write_seq moved on by max_window (0) + 2.
        var second = Connect(h, sock.SocketId);
        h.At(Ms(60));

        var syns = h.Sent("client").Where(x => x.Flags == Network.TcpFlags.Syn).ToList();
        Assert.Equal((Ms(20), "ECONNREFUSED"), (h.Returned(first.CallId)!.At, h.Returned(first.CallId)!.Errno));
        Assert.True(second.Blocked);
        Assert.Equal([Ms(0), Ms(30)], syns.Select(x => x.At));
        Assert.Equal(unchecked(syns[0].SeqNo + 3), syns[1].SeqNo);
        Assert.Equal((Ms(50), 0L, (string?)null), (h.Returned(second.CallId)!.At, h.Returned(second.CallId)!.Result, h.Returned(second.CallId)!.Errno));
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(sock.SocketId)!.State);
    }

    [Fact]
    public void Close_NonBlockingConnectRefusedAndCollected_ConnectAgainEinprogressWithANewSyn()
    {
        var h = new TwoHostHarness();
        var sock = NonBlockingConnect(h);
        h.At(Ms(30));

        // SS_CONNECTING and TCP_CLOSE: sock_error() → ECONNREFUSED, then tcp_disconnect(); SS_UNCONNECTED.
        var collected = Connect(h, sock.SocketId);
        var again = Connect(h, sock.SocketId);

        Assert.Equal("ECONNREFUSED", collected.Errno);
        Assert.Equal("EINPROGRESS", again.Errno);
        Assert.Equal(2, h.Sent("client").Count(x => x.Flags == Network.TcpFlags.Syn));
        Assert.Equal(TcpState.SynSent, h.Sim.FindSocket(sock.SocketId)!.State);
    }

    [Fact]
    public void Established_ChildResetInTheAcceptQueue_AcceptReturnsItThenRecvEconnreset()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = Connect(h, 0);
        h.At(Ms(50));
        var client = h.Sim.FindSocket(c.SocketId)!;
        PeerAborts(h, client);
        h.At(Ms(100));

        // inet_csk_accept() takes the child whatever its state (tcp_reset() left it in the queue, CLOSE);
        // __inet_accept() grafts it, SS_CONNECTED.
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        var child = h.Sim.FindSocket(a.SocketId)!;
        var poll = Poll(h, child);
        var peer = h.Call("server", SocketCallKind.Getpeername, child.Id);
        var info = h.GetOption(child.Id, SocketOption.TCP_INFO);
        var recv = Recv(h, child);
        var eof = Recv(h, child);
        var send = h.Send(child.Id, 1);

        Assert.Equal((false, (string?)null), (a.Blocked, a.Errno));
        Assert.Equal(TcpState.Close, child.State);
        Assert.Equal("\"POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal("ENOTCONN", peer.Errno);
        Assert.StartsWith("{\"state\":\"CLOSED\"", info.Value);
        Assert.Equal((-1L, "ECONNRESET"), R(recv));
        Assert.Equal((0L, (string?)null), R(eof));
        Assert.Equal((-1L, "EPIPE"), R(send));
    }

    [Fact]
    public void CloseWait_ChildGotDataAndFinInTheAcceptQueue_AcceptThenDataThenZero()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = Connect(h, 0);
        h.At(Ms(50));
        h.Send(c.SocketId, 6);
        h.Call("client", SocketCallKind.Close, c.SocketId);
        h.At(Ms(100));

        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        var child = h.Sim.FindSocket(a.SocketId)!;

        Assert.Equal(TcpState.CloseWait, child.State);
        Assert.Equal((6L, (string?)null), R(Recv(h, child)));
        Assert.Equal((0L, (string?)null), R(Recv(h, child)));
        Assert.Equal((3L, (string?)null), R(h.Send(child.Id, 3)));
    }

    [Fact]
    public void Established_RetransmissionsTimeOut_SoErrorEtimedoutThenSendEpipe()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_USER_TIMEOUT, 1000);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 100);
        h.At(S(5));
        Assert.Equal(TcpState.Close, c.State);

        var poll = Poll(h, c);
        var err = SoError(h, c);
        var send = h.Send(c.Id, 1);
        var recv = Recv(h, c);

        // tcp_write_err(): sk_err = sk_err_soft ?: ETIMEDOUT, tcp_done() — silent, SHUTDOWN_MASK.
        Assert.Equal("\"POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((110L, "\"ETIMEDOUT\""), (err.Result, err.Value));
        Assert.Equal((-1L, "EPIPE"), R(send));
        Assert.Equal((0L, (string?)null), R(recv));
    }

    [Fact]
    public void LastAck_AfterShutWrInCloseWait_PollHupThenCloseOnTheAck()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        Shutdown(h, c, ShutdownHow.SHUT_WR);
        Assert.Equal(TcpState.LastAck, c.State);

        var poll = Poll(h, c);
        h.At(Ms(300));
        var pollClosed = Poll(h, c);

        Assert.Equal("\"POLLIN|POLLOUT|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal("\"POLLIN|POLLOUT|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", pollClosed.Value);
        Assert.Equal((0L, (string?)null), R(Recv(h, c)));
        Assert.Equal((-1L, "EPIPE"), R(h.Send(c.Id, 1)));
        Assert.Equal((0L, "0"), (SoError(h, c).Result, SoError(h, c).Value));
    }

    [Fact]
    public void Established_ShutRdThenData_RecvReturnsTheDataPollReadable()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Shutdown(h, c, ShutdownHow.SHUT_RD);
        var poll = Poll(h, c);
        h.Send(s.Id, 8);
        h.At(Ms(200));

        // tcp_rcv_state_process(): ESTABLISHED queues data whatever RCV_SHUTDOWN (only FIN_WAIT1/2, CLOSING,
        // LAST_ACK reset on it); tcp_recvmsg_locked() copies what is queued before it looks at RCV_SHUTDOWN.
        Assert.Equal("\"POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((8L, (string?)null), R(Recv(h, c)));
        Assert.Equal((0L, (string?)null), R(Recv(h, c)));
        Assert.Equal((5L, (string?)null), R(h.Send(c.Id, 5)));
    }

    [Fact]
    public void Established_RstWhileSendSleepsForSpace_ReturnsWhatItCopiedThenTheErrorOnTheNextSend()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        var send = h.Send(c.Id, 1_000_000);
        Assert.True(send.Blocked);
        long copied = c.Ledger.Sent;
        PeerAborts(h, s);
        h.At(Ms(200));

        // sk_stream_wait_memory() → -EPIPE on sk_err; tcp_sendmsg_locked() do_error: copied → return it, sk_err kept.
        var returned = h.Returned(send.CallId)!;
        var next = h.Send(c.Id, 1);
        var after = h.Send(c.Id, 1);

        Assert.Equal((Ms(110), (string?)null), (returned.At, returned.Errno));
        Assert.InRange(returned.Result, 1, 999_999);
        Assert.Equal((-1L, "ECONNRESET"), R(next));
        Assert.Equal((-1L, "EPIPE"), R(after));
    }

    [Fact]
    public void SynSent_NonBlockingConnectTimesOut_PollErrHupOutAndSoErrorEtimedout()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var sock = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
        h.SetOption(sock.SocketId, SocketOption.TCP_SYNCNT, 1);
        Connect(h, sock.SocketId);
        h.At(S(10));
        var c = h.Sim.FindSocket(sock.SocketId)!;

        var poll = Poll(h, c);
        var err = SoError(h, c);
        var again = Connect(h, sock.SocketId);

        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal("\"POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDNORM|POLLWRNORM|POLLRDHUP\"", poll.Value);
        Assert.Equal((110L, "\"ETIMEDOUT\""), (err.Result, err.Value));
        // SS_CONNECTING, TCP_CLOSE, no sk_err left: -ECONNABORTED (and tcp_disconnect()).
        Assert.Equal("ECONNABORTED", again.Errno);
    }

    [Fact]
    public void Listen_Connect_Eisconn()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        var connect = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Connect) { SocketId = l.SocketId, ToHost = "client", ToPort = 80 });

        // __inet_stream_connect(): SS_UNCONNECTED with sk_state LISTEN, not CLOSE → -EISCONN.
        Assert.Equal("EISCONN", connect.Errno);
    }

    [Fact]
    public void Close_ListenOnAResetSocket_Einval()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        PeerAborts(h, s);
        h.At(Ms(200));

        var listen = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { SocketId = c.Id });

        // inet_listen(): sock->state is still SS_CONNECTED → -EINVAL, though sk_state is CLOSE.
        Assert.Equal("EINVAL", listen.Errno);
        Assert.Equal(TcpState.Close, c.State);
    }

    [Fact]
    public void FinWait1_ShutdownAfterAnUncollectedNonBlockingConnect_ConnectEisconn()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var sock = NonBlockingConnect(h);
        h.At(Ms(30));

        // inet_shutdown(): SS_CONNECTING and ESTABLISHED → SS_CONNECTED; connect() then finds SS_CONNECTED.
        var shut = Shutdown(h, h.Sim.FindSocket(sock.SocketId)!, ShutdownHow.SHUT_WR);
        var connect = Connect(h, sock.SocketId);

        Assert.Equal((0L, (string?)null), R(shut));
        Assert.Equal("EISCONN", connect.Errno);
    }

    [Fact]
    public void Close_ShutdownAfterAnUncollectedRefusedConnect_EnotconnThenConnectEinval()
    {
        var h = new TwoHostHarness();
        var sock = NonBlockingConnect(h);
        h.At(Ms(30));

        // inet_shutdown(): SS_CONNECTING and CLOSE → SS_DISCONNECTING, -ENOTCONN; __inet_stream_connect()'s default: -EINVAL.
        var shut = Shutdown(h, h.Sim.FindSocket(sock.SocketId)!, ShutdownHow.SHUT_RDWR);
        var connect = Connect(h, sock.SocketId);

        Assert.Equal("ENOTCONN", shut.Errno);
        Assert.Equal("EINVAL", connect.Errno);
        Assert.Single(h.Sent("client"), x => x.Flags == Network.TcpFlags.Syn);
    }

    [Fact]
    public void Close_AfterABlockingConnectWasRefused_RecvEnotconnSendEpipePollOutHup()
    {
        var h = new TwoHostHarness();
        var sock = h.Call("client", SocketCallKind.Socket);
        Connect(h, sock.SocketId);
        h.At(Ms(30));
        var c = h.Sim.FindSocket(sock.SocketId)!;

        // connect() took sk_err and tcp_disconnect() cleared sk_shutdown: a fresh CLOSE socket again.
        var poll = Poll(h, c);
        var err = SoError(h, c);
        var recv = Recv(h, c);
        var send = h.Send(c.Id, 1);
        var peer = h.Call("client", SocketCallKind.Getpeername, c.Id);

        Assert.Equal("\"POLLOUT|POLLHUP|POLLWRNORM\"", poll.Value);
        Assert.Equal((0L, "0"), (err.Result, err.Value));
        Assert.Equal((-1L, "ENOTCONN"), R(recv));
        Assert.Equal((-1L, "EPIPE"), R(send));
        Assert.Equal("ENOTCONN", peer.Errno);
    }

    [Fact]
    public void FinWait2_ShutRdwrThenPeerData_RecvEconnresetOnce()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Shutdown(h, c, ShutdownHow.SHUT_RDWR);
        h.At(Ms(200));
        h.Send(s.Id, 10);
        h.At(Ms(300));

        // tcp_rcv_state_process() FIN_WAIT2 with RCV_SHUTDOWN and new data: tcp_reset() (sk_err ECONNRESET), the
        // segment is not queued.
        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal((-1L, "ECONNRESET"), R(Recv(h, c)));
        Assert.Equal((0L, (string?)null), R(Recv(h, c)));
    }

    static CallHandle PeekNow(TwoHostHarness h, TcpSocket sk) =>
        h.Call(new SocketCallRequest(sk.Host.Name, "app", SocketCallKind.Recv) { SocketId = sk.Id, Bytes = 1, Flags = MsgFlags.MSG_PEEK | MsgFlags.MSG_DONTWAIT });

    [Fact]
    public void CloseWait_PoolLivenessPeek_EagainWhileIdleThenZeroEachTime()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();

        var idle = PeekNow(h, c);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        var afterFin = PeekNow(h, c);
        var afterFinAgain = PeekNow(h, c);

        Assert.Equal((-1L, "EAGAIN"), R(idle));
        // SOCK_DONE: found_fin_ok with MSG_PEEK, nothing eaten — 0 each time.
        Assert.Equal((0L, (string?)null), R(afterFin));
        Assert.Equal((0L, (string?)null), R(afterFinAgain));
    }

    [Fact]
    public void Established_PoolLivenessPeekAfterRst_ErrorOnceThenZero()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        PeerAborts(h, s);
        h.At(Ms(200));

        // sock_error() takes sk_err even for MSG_PEEK; then RCV_SHUTDOWN → 0.
        Assert.Equal((-1L, "ECONNRESET"), R(PeekNow(h, c)));
        Assert.Equal((0L, (string?)null), R(PeekNow(h, c)));
    }

    static CallHandle Unspec(TwoHostHarness h, TcpSocket s) =>
        h.Call(new SocketCallRequest(s.Host.Name, "app", SocketCallKind.Connect) { SocketId = s.Id, Unspec = true });

    [Fact]
    public void Established_ConnectUnspecWhileRecvSleeps_RecvEpipeAndSoErrorKeepsEconnreset()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        var recv = Recv(h, c);
        Assert.True(recv.Blocked);

        // connect(AF_UNSPEC): sk_disconnects++, tcp_disconnect() (RST, sk_err ECONNRESET) wakes the reader, whose
        // sk_wait_event() returns -EPIPE; sk_err stays for SO_ERROR.
        Unspec(h, c);
        var returned = h.Returned(recv.CallId)!;
        var err = SoError(h, c);

        Assert.Equal((Ms(100), -1L, "EPIPE"), (returned.At, returned.Result, returned.Errno));
        Assert.Equal((104L, "\"ECONNRESET\""), (err.Result, err.Value));
    }

    [Fact]
    public void SynSent_ConnectUnspecWhileConnectSleeps_ConnectEpipeAndSoErrorKeepsEconnreset()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var first = Connect(h, 0);
        Assert.True(first.Blocked);
        var c = h.Sim.FindSocket(first.SocketId)!;
        h.At(Ms(5));

        // __inet_stream_connect(): "if (dis != sk->sk_disconnects) { err = -EPIPE; goto out; }" — no sock_error().
        Unspec(h, c);
        var returned = h.Returned(first.CallId)!;
        var err = SoError(h, c);

        Assert.Equal((Ms(5), -1L, "EPIPE"), (returned.At, returned.Result, returned.Errno));
        Assert.Equal((104L, "\"ECONNRESET\""), (err.Result, err.Value));
    }

    [Fact]
    public void Established_ConnectUnspecWhileRecvSleepsOnLinux44_RecvTakesEconnreset()
    {
        var h = new TwoHostHarness(profile: Engine.KernelProfile.Linux44);
        var (c, _, _) = h.Establish();
        var recv = Recv(h, c);

        // No sk_disconnects before 6.6: the woken reader finds TCP_CLOSE and sk_err, and sock_error() takes it.
        Unspec(h, c);

        Assert.Equal((-1L, "ECONNRESET"), (h.Returned(recv.CallId)!.Result, h.Returned(recv.CallId)!.Errno));
        Assert.Equal((0L, "0"), (SoError(h, c).Result, SoError(h, c).Value));
    }
}
