using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>O_NONBLOCK (fcntl F_SETFL) and poll() at once, client 10.0.0.1 and server 10.0.0.2 10 ms apart.</summary>
public class NonBlockingTests
{
    static CallHandle NonBlock(TwoHostHarness h, string host, int socket) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Fcntl) { SocketId = socket, NonBlock = true });

    static CallHandle Connect(TwoHostHarness h, int socket, ushort port = 80) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, ToHost = "server", ToPort = port });

    static CallHandle Poll(TwoHostHarness h, string host, int socket, int events) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Poll) { SocketId = socket, Events = events });

    [Fact]
    public void Close_NonBlockingConnect_EinprogressWithTheSynSentThenEalready()
    {
        // __inet_stream_connect(): timeo 0 → -EINPROGRESS with the SYN out; SS_CONNECTING → -EALREADY.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);
        NonBlock(h, "client", c.SocketId);

        var first = Connect(h, c.SocketId);
        var second = Connect(h, c.SocketId);

        Assert.Equal((false, Errno.EINPROGRESS), (first.Blocked, first.Errno));
        Assert.Equal(Errno.EALREADY, second.Errno);
        Assert.Single(h.Sent("client"), s => s.Flags == Network.TcpFlags.Syn);
        Assert.Equal(TcpState.SynSent, h.Sim.FindSocket(c.SocketId)!.State);
    }

    [Fact]
    public void Established_ConnectAfterEinprogress_CollectsZeroThenEisconn()
    {
        // SS_CONNECTING and sk_state ESTABLISHED: the call returns 0 and the socket becomes SS_CONNECTED.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);
        NonBlock(h, "client", c.SocketId);
        Connect(h, c.SocketId);
        h.At(Ms(25));

        var collected = Connect(h, c.SocketId);
        var again = Connect(h, c.SocketId);

        Assert.Equal((0L, (string?)null), (collected.Result, collected.Errno));
        Assert.Equal(Errno.EISCONN, again.Errno);
    }

    [Fact]
    public void SynSent_PollOut_NothingUntilTheSynAckThenPollout()
    {
        // tcp_poll(): SYN-SENT reports no events; ESTABLISHED with an empty send buffer is writable.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);
        NonBlock(h, "client", c.SocketId);
        Connect(h, c.SocketId);

        var early = Poll(h, "client", c.SocketId, PollEvents.POLLOUT);
        h.At(Ms(21));
        var late = Poll(h, "client", c.SocketId, PollEvents.POLLOUT | PollEvents.POLLWRNORM);

        Assert.Equal((0L, "\"0\""), (early.Result, early.Value));
        Assert.Equal((1L, "\"POLLOUT|POLLWRNORM\""), (late.Result, late.Value));
    }

    [Fact]
    public void Close_PollOnAFreshSocket_WritableAndHangup()
    {
        // tcp_poll() on a never-connected socket: TCP_CLOSE → POLLHUP, and it is not SYN-SENT → POLLOUT.
        var h = new TwoHostHarness();
        var c = h.Call("client", SocketCallKind.Socket);

        var got = Poll(h, "client", c.SocketId, PollEvents.POLLIN | PollEvents.POLLOUT);

        Assert.Equal((1L, "\"POLLOUT|POLLHUP\""), (got.Result, got.Value));
    }

    [Fact]
    public void Listen_NonBlockingAccept_EagainThenPollinOnceAChildIsQueued()
    {
        // inet_csk_accept(): O_NONBLOCK with an empty queue → -EAGAIN; inet_csk_listen_poll(): POLLIN once queued.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        NonBlock(h, "server", l.SocketId);

        var empty = h.Call("server", SocketCallKind.Accept, l.SocketId);
        var before = Poll(h, "server", l.SocketId, PollEvents.POLLIN);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(21));
        var stillEmpty = Poll(h, "server", l.SocketId, PollEvents.POLLIN);
        h.At(Ms(31));
        var ready = Poll(h, "server", l.SocketId, PollEvents.POLLIN);
        var accepted = h.Call("server", SocketCallKind.Accept, l.SocketId);

        Assert.Equal(Errno.EAGAIN, empty.Errno);
        Assert.Equal((0L, 0L, 1L), (before.Result, stillEmpty.Result, ready.Result));
        Assert.Equal("\"POLLIN\"", ready.Value);
        Assert.Equal((false, (string?)null), (accepted.Blocked, accepted.Errno));
    }

    [Fact]
    public void Established_NonBlockingRecvWithNothingQueued_Eagain()
    {
        // tcp_recvmsg_locked(): nothing copied and timeo 0 → -EAGAIN.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        NonBlock(h, "server", s.Id);

        Assert.Equal(Errno.EAGAIN, h.Call("server", SocketCallKind.Recv, s.Id).Errno);
    }

    [Fact]
    public void Established_NonBlockingSendBeyondTheBuffer_ReturnsWhatWasCopiedThenEagain()
    {
        // tcp_sendmsg_locked(): sk_stream_wait_memory() with timeo 0 returns the partial count, then -EAGAIN.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        NonBlock(h, "client", c.Id);

        var first = h.Send(c.Id, 10_000_000);
        var second = h.Send(c.Id, 1000);

        Assert.InRange(first.Result, 1, 9_999_999);
        Assert.Equal(first.Result, c.SendQueue);
        Assert.Equal(Errno.EAGAIN, second.Errno);
        Assert.Equal(first.Result, c.Ledger.Sent);
    }

    [Fact]
    public void Close_NonBlockingConnectRefused_PollErrThenSoErrorThenEconnaborted()
    {
        // tcp_reset() in SYN-SENT: sk_err = ECONNREFUSED, CLOSE → POLLOUT|POLLERR|POLLHUP; SO_ERROR reads
        // and clears it; the next connect() in SS_CONNECTING finds CLOSE and no error: -ECONNABORTED.
        var h = new TwoHostHarness();
        var c = h.Call("client", SocketCallKind.Socket);
        NonBlock(h, "client", c.SocketId);
        Connect(h, c.SocketId, port: 81);
        h.At(Ms(30));

        var poll = Poll(h, "client", c.SocketId, PollEvents.POLLOUT);
        var error = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = c.SocketId, Option = SocketOption.SO_ERROR });
        var again = Connect(h, c.SocketId, port: 81);

        Assert.Equal("\"POLLOUT|POLLERR|POLLHUP\"", poll.Value);
        Assert.Equal((111L, "\"ECONNREFUSED\""), (error.Result, error.Value));
        Assert.Equal(Errno.ECONNABORTED, again.Errno);
    }
}
