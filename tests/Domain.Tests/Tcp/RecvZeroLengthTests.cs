using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// recv(fd, buf, 0, flags) on a TCP socket — tcp_recvmsg_locked() (net/ipv4/tcp.c) has no shortcut for len 0:
/// target = sock_rcvlowat(sk, MSG_WAITALL, 0) = min(sk_rcvlowat, 0) ?: 1 = 1, and its do { } while (len &gt; 0) loop
/// runs exactly one pass. Data at copied_seq: found_ok_skb copies 0 bytes, returns 0 at once. A FIN skb at copied_seq:
/// found_fin_ok eats it, 0. Nothing queued: SOCK_DONE → 0, sk_err → the error (taken: sock_error()), RCV_SHUTDOWN → 0,
/// CLOSE → ENOTCONN, timeo 0 → EAGAIN; else tcp_cleanup_rbuf() and sk_wait_data(), and whatever ends the sleep —
/// data, a FIN, a RST, SO_RCVTIMEO running out — the "continue" meets len == 0 and the call returns 0 (the FIN is
/// not eaten, the error not taken). Client 10.0.0.1 and server 10.0.0.2, 10 ms apart, ESTABLISHED at 100 ms.
/// </summary>
public class RecvZeroLengthTests
{
    static CallHandle Recv(TwoHostHarness h, int socket, long bytes, MsgFlags flags = MsgFlags.None) =>
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = socket, Bytes = bytes, Flags = flags });

    [Fact]
    public void Established_RecvZeroNothingQueued_BlocksUntilDataThenReturnsZeroAndLeavesTheData()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var read = Recv(h, s.Id, 0);
        h.Send(c.Id, 1000);
        h.At(Ms(109.999));
        bool pendingJustBefore = h.Sim.IsPending(read.CallId);
        h.At(Ms(200));

        Assert.True(read.Blocked);
        Assert.True(pendingJustBefore);
        var returned = h.Returned(read.CallId)!;
        Assert.Equal((Ms(110), 0L, (string?)null), (returned.At, returned.Result, returned.Errno));
        Assert.Equal(1000, s.RecvQueue);
        Assert.Equal(1000, Recv(h, s.Id, 10_000).Result);
    }

    [Fact]
    public void Established_RecvZeroDataQueued_ReturnsZeroAtOnce()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 1000);
        h.At(Ms(200));

        var read = Recv(h, s.Id, 0);

        Assert.Equal((false, 0L, (string?)null), (read.Blocked, read.Result, read.Errno));
        Assert.Equal(1000, s.RecvQueue);
    }

    [Fact]
    public void Established_RecvZeroDontWaitNothingQueued_Eagain()
    {
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();

        var read = Recv(h, s.Id, 0, MsgFlags.MSG_DONTWAIT);

        Assert.Equal((false, -1L, Errno.EAGAIN), (read.Blocked, read.Result, read.Errno));
    }

    [Fact]
    public void Established_RecvZeroWithRcvTimeo100Ms_ReturnsZeroNotEagainWhenTheTimerRuns()
    {
        // SO_RCVTIMEO {0, 100000}: 25 jiffies from jiffy 25, bucket 51 → 204 ms (as for any recv); sk_wait_data()
        // returns with timeo 0, "continue" ends the loop (len 0): 0, where a recv of 1 byte gets -EAGAIN.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Setsockopt) { SocketId = s.Id, Option = SocketOption.SO_RCVTIMEO, TvSec = 0, TvUsec = 100_000 });

        var read = Recv(h, s.Id, 0);
        h.At(Ms(300));

        Assert.True(read.Blocked);
        var returned = h.Returned(read.CallId)!;
        Assert.Equal((Ms(204), 0L, (string?)null), (returned.At, returned.Result, returned.Errno));
    }

    [Fact]
    public void CloseWait_BlockedRecvZeroWokenByFin_ReturnsZeroAndLeavesTheFinUnread()
    {
        // The FIN's sk_state_change() ends the sleep; the loop ends without another pass, so copied_seq stays short
        // of the FIN (Recv-Q 1) until a read reaches found_fin_ok — the next recv(0) eats it.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var read = Recv(h, s.Id, 0);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(200));

        Assert.True(read.Blocked);
        Assert.Equal((Ms(110), 0L), (h.Returned(read.CallId)!.At, h.Returned(read.CallId)!.Result));
        Assert.Equal(TcpState.CloseWait, s.State);
        Assert.Equal(1, s.RecvQueue);
        Assert.Equal(0, Recv(h, s.Id, 0).Result);
        Assert.Equal(0, s.RecvQueue);
    }

    [Fact]
    public void Close_RecvZeroAfterRst_EconnresetOnceThenZero()
    {
        // tcp_reset(): sk_err = ECONNRESET, tcp_done() (CLOSE, SHUTDOWN_MASK, no SOCK_DONE). recv(0): nothing queued,
        // sk_err → sock_error() takes it; the next recv(0) finds RCV_SHUTDOWN: 0.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.CloseWithRst(c.Id);
        h.At(Ms(200));
        Assert.Equal(TcpState.Close, s.State);

        var first = Recv(h, s.Id, 0);
        var second = Recv(h, s.Id, 0);

        Assert.Equal((-1L, Errno.ECONNRESET), (first.Result, first.Errno));
        Assert.Equal((0L, (string?)null), (second.Result, second.Errno));
    }

    [Fact]
    public void Established_BlockedRecvZeroWokenByRst_ReturnsZeroAndTheNextCallGetsEconnreset()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var read = Recv(h, s.Id, 0);
        h.CloseWithRst(c.Id);
        h.At(Ms(200));

        Assert.Equal((Ms(110), 0L, (string?)null), (h.Returned(read.CallId)!.At, h.Returned(read.CallId)!.Result, h.Returned(read.CallId)!.Errno));
        var next = Recv(h, s.Id, 0);
        Assert.Equal((-1L, Errno.ECONNRESET), (next.Result, next.Errno));
    }

    [Fact]
    public void Close_RecvZeroOnANeverConnectedSocket_Enotconn()
    {
        // "This occurs when user tries to read from never connected socket.": CLOSE, no SOCK_DONE, no RCV_SHUTDOWN.
        var h = new TwoHostHarness();
        var sock = h.Call("server", SocketCallKind.Socket);

        var read = Recv(h, sock.SocketId, 0);

        Assert.Equal((-1L, Errno.ENOTCONN), (read.Result, read.Errno));
    }
}
