using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// SO_SNDTIMEO / SO_RCVTIMEO (sock_set_timeout() — net/core/sock.c): a blocked call sleeps in
/// schedule_timeout(timeo), a timer on the timer wheel, so it returns when the wheel runs that timer:
/// expire = jiffies + timeo, then the bucket of calc_wheel_index() — one jiffy after expire below 63 jiffies,
/// the next multiple of 8 jiffies (32 ms) strictly after it below 504. HZ = 250; INITIAL_JIFFIES is a
/// multiple of 8, so level-1 buckets fall on multiples of 32 ms of virtual time. Client 10.0.0.1 and
/// server 10.0.0.2, 10 ms apart.
/// </summary>
public class SocketTimeoutTests
{
    static CallHandle SetTimeo(TwoHostHarness h, string host, int socket, SocketOption option, long sec, long usec) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Setsockopt) { SocketId = socket, Option = option, TvSec = sec, TvUsec = usec });

    static CallHandle Get(TwoHostHarness h, string host, int socket, SocketOption option) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Getsockopt) { SocketId = socket, Option = option });

    static CallHandle Recv(TwoHostHarness h, string host, int socket) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Recv) { SocketId = socket });

    static CallHandle Connect(TwoHostHarness h, int socket) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, ToHost = "server", ToPort = 80 });

    static (SimTime At, long Result, string? Errno, SimDuration Blocked) Outcome(TwoHostHarness h, long callId)
    {
        var r = h.Returned(callId);
        Assert.NotNull(r);
        return (r!.At, r.Result, r.Errno, r.Blocked);
    }

    [Theory]
    [InlineData(1, 0, 1, 0)]              // 250 jiffies
    [InlineData(0, 1, 0, 4000)]           // DIV_ROUND_UP(1, 4000) = 1 jiffy, read back as 4 ms
    [InlineData(1, 500_000, 1, 500_000)]  // 250 + 125 jiffies
    [InlineData(0, 4001, 0, 8000)]        // 2 jiffies
    [InlineData(0, 0, 0, 0)]              // MAX_SCHEDULE_TIMEOUT reads back as {0, 0}
    [InlineData(-1, 0, 0, 0)]             // tv_sec < 0 stores 0: also read back as {0, 0}
    [InlineData(36_893_488_147_419_102, 0, 0, 0)] // tv_sec ≥ MAX_SCHEDULE_TIMEOUT/HZ − 1: no limit
    public void Close_SetsockoptTimeval_GetsockoptReadsTheJiffiesBack(long sec, long usec, long readSec, long readUsec)
    {
        // sock_set_timeout() stores jiffies; sock_get_timeout() converts them back: {timeo / HZ, (timeo % HZ) · 1e6 / HZ}.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        var set = SetTimeo(h, "client", s.SocketId, SocketOption.SO_RCVTIMEO, sec, usec);
        var get = Get(h, "client", s.SocketId, SocketOption.SO_RCVTIMEO);

        Assert.Equal((0L, (string?)null), (set.Result, set.Errno));
        Assert.Equal((0L, $"{{\"sec\":{readSec},\"usec\":{readUsec}}}"), (get.Result, get.Value));
    }

    [Fact]
    public void Close_SetsockoptNegativeTvSec_LogsTheKernelsLineAtMostTenTimesPerBoot()
    {
        // sock_set_timeout(): tv_sec < 0 → timeo 0 and, if (warned < 10 && net_ratelimit()), warned++ and
        // pr_info("%s: `%s' (pid %d) tries to set negative timeout\n", __func__, current->comm, task_pid_nr(current))
        // under sock.c's pr_fmt "sock: ". 4 calls at 0 ms, then 8 more 10 s later (a new net_ratelimit window of 10
        // lines): 4 + 6 lines, the last 2 refused by the per-boot cap alone (net_ratelimit() is not asked, so no
        // "callbacks suppressed"); the server, another boot, has its own count.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        var other = h.Call("server", SocketCallKind.Socket);
        for (int i = 0; i < 4; i++) SetTimeo(h, "client", s.SocketId, i % 2 == 0 ? SocketOption.SO_RCVTIMEO : SocketOption.SO_SNDTIMEO, -1, 0);
        h.At(Ms(10_000));
        for (int i = 0; i < 8; i++) SetTimeo(h, "client", s.SocketId, SocketOption.SO_RCVTIMEO, -5, 999_999);
        var last = SetTimeo(h, "server", other.SocketId, SocketOption.SO_SNDTIMEO, -1, 0);

        const string Line = "sock: sock_set_timeout: `app' (pid 1) tries to set negative timeout";
        Assert.Equal(Enumerable.Repeat(Line, 10), h.Client.KernelLog);
        Assert.Equal([Line], h.Server.KernelLog);
        Assert.Equal((0L, 0L), (last.Result, h.Sim.FindSocket(s.SocketId)!.RcvTimeoJiffies));
    }

    [Fact]
    public void SimProcess_LongName_CommIsItsFirst15Bytes()
    {
        // TASK_COMM_LEN 16: comm holds 15 bytes and the NUL; a character is not split here.
        var h = new TwoHostHarness();
        var shortName = h.Client.Process("scenario call");
        var longName = h.Client.Process("a-very-long-process-name");
        var wide = h.Client.Process("ééééééééé"); // 18 bytes of UTF-8

        Assert.Equal(("scenario call", "a-very-long-pro", "ééééééé"), (shortName.Comm, longName.Comm, wide.Comm));
        Assert.Equal((1, 2, 3), (shortName.Pid, longName.Pid, wide.Pid));
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(-1)]
    public void Close_SetsockoptUsecOutOfRange_Edom(long usec)
    {
        // sock_set_timeout(): tv_usec < 0 || tv_usec >= USEC_PER_SEC → -EDOM; the old value stays.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        SetTimeo(h, "client", s.SocketId, SocketOption.SO_SNDTIMEO, 2, 0);

        var set = SetTimeo(h, "client", s.SocketId, SocketOption.SO_SNDTIMEO, 1, usec);

        Assert.Equal((-1L, Errno.EDOM), (set.Result, set.Errno));
        Assert.Equal(500, h.Sim.FindSocket(s.SocketId)!.SndTimeoJiffies);
        Assert.Equal("{\"sec\":2,\"usec\":0}", Get(h, "client", s.SocketId, SocketOption.SO_SNDTIMEO).Value);
    }

    [Fact]
    public void Established_RecvWithRcvTimeoOneSecond_EagainWhenTheWheelRunsTheTimer()
    {
        // tcp_recvmsg_locked() → sk_wait_data() → schedule_timeout(250): at 100 ms (jiffy 25) expire = 275, a
        // level-1 timer (63 ≤ 250 < 504): bucket ((275 >> 3) + 1) << 3 = 280 → 1.120 s. Then timeo == 0 → -EAGAIN.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 1, 0);

        var recv = Recv(h, "server", s.Id);
        h.At(Ms(1119.999));
        bool pendingJustBefore = h.Sim.IsPending(recv.CallId);
        h.At(Ms(2000));

        Assert.True(recv.Blocked);
        Assert.True(pendingJustBefore);
        Assert.Equal((Ms(1120), -1L, Errno.EAGAIN, SimDuration.FromMilliseconds(1020)), Outcome(h, recv.CallId));
        var armed = Assert.Single(h.Sim.Journal.OfType<TimerArmed>(), t => t.Timer == TcpTimerKind.ReceiveTimeout);
        Assert.Equal((Ms(100), Ms(1120), s.Id), (armed.At, armed.Expires, armed.SocketId));
        Assert.Single(h.Sim.Journal.OfType<TimerFired>(), t => t.Timer == TcpTimerKind.ReceiveTimeout && t.At == Ms(1120));
        Assert.Equal(TcpState.Established, s.State);
    }

    [Fact]
    public void Established_RecvWithRcvTimeo100Ms_EagainOneJiffyAfterExpiry()
    {
        // {0, 100000}: DIV_ROUND_UP(100000, 4000) = 25 jiffies; at jiffy 25 expire = 50, level 0: bucket 51 → 204 ms.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 0, 100_000);

        var recv = Recv(h, "server", s.Id);
        h.At(Ms(1000));

        Assert.Equal((Ms(204), -1L, Errno.EAGAIN, SimDuration.FromMilliseconds(104)), Outcome(h, recv.CallId));
    }

    [Fact]
    public void Established_RecvWithRcvTimeoAndThePeerSends_ReturnsTheDataAndCancelsTheTimer()
    {
        // sk_wait_data() is woken by sk_data_ready(): the data arrives at 160 ms, the sleep's timer is deleted.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 1, 0);
        var recv = Recv(h, "server", s.Id);
        h.At(Ms(150));
        h.Send(c.Id, 100);
        h.At(Ms(3000));

        Assert.Equal((Ms(160), 100L, (string?)null, SimDuration.FromMilliseconds(60)), Outcome(h, recv.CallId));
        Assert.Single(h.Sim.Journal.OfType<TimerCancelled>(), t => t.Timer == TcpTimerKind.ReceiveTimeout && t.At == Ms(160));
        Assert.DoesNotContain(h.Sim.Journal.OfType<TimerFired>(), t => t.Timer == TcpTimerKind.ReceiveTimeout);
        Assert.Single(h.Sim.Journal.OfType<CallReturned>(), r => r.CallId == recv.CallId);
    }

    [Fact]
    public void Established_RecvWithNegativeRcvTimeo_EagainAtOnceLikeNonBlocking()
    {
        // tv_sec < 0: sk_rcvtimeo = 0, so sock_rcvtimeo() is 0 and tcp_recvmsg_locked() does not sleep.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, -5, 0);

        var recv = Recv(h, "server", s.Id);

        Assert.Equal((false, -1L, Errno.EAGAIN), (recv.Blocked, recv.Result, recv.Errno));
    }

    [Fact]
    public void Listen_AcceptWithRcvTimeoHalfASecond_EagainAt512Ms()
    {
        // inet_csk_accept(): timeo = sock_rcvtimeo() = 125 jiffies; inet_csk_wait_for_connect() sleeps from jiffy 0:
        // expire 125, level 1, bucket ((125 >> 3) + 1) << 3 = 128 → 512 ms, then "err = -EAGAIN; if (!timeo) break".
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        SetTimeo(h, "server", l.SocketId, SocketOption.SO_RCVTIMEO, 0, 500_000);

        var accept = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(1000));
        var late = Connect(h, h.Call("client", SocketCallKind.Socket).SocketId);
        h.At(Ms(1100));

        Assert.Equal((Ms(512), -1L, Errno.EAGAIN, SimDuration.FromMilliseconds(512)), Outcome(h, accept.CallId));
        // The connection that came later waits in the accept queue: the timed-out accept() is no longer a taker.
        Assert.Equal((Ms(1020), 0L), (Outcome(h, late.CallId).At, Outcome(h, late.CallId).Result));
        Assert.Single(h.Sim.FindSocket(l.SocketId)!.AcceptQueue);
    }

    [Fact]
    public void Listen_AcceptedChild_InheritsTheListenersTimeouts()
    {
        // sk_clone_lock() copies struct sock: sk_rcvtimeo and sk_sndtimeo come with the child.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        SetTimeo(h, "server", l.SocketId, SocketOption.SO_RCVTIMEO, 0, 200_000);
        SetTimeo(h, "server", l.SocketId, SocketOption.SO_SNDTIMEO, 3, 0);
        h.At(Ms(1));
        Connect(h, h.Call("client", SocketCallKind.Socket).SocketId);
        var accept = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        var child = h.Sim.FindSocket(h.Returned(accept.CallId)!.SocketId)!;

        Assert.Equal((50L, 750L), (child.RcvTimeoJiffies, child.SndTimeoJiffies));
    }

    /// <summary>A listener on server:80, the client→server path cut, and at 1 ms a client socket with SO_SNDTIMEO {0, 200000} (50 jiffies).</summary>
    static (TwoHostHarness H, CallHandle Socket) SocketWithSndTimeoBehindACutPath()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("client", "server", true, null, null, true);
        h.At(Ms(1));
        var c = h.Call("client", SocketCallKind.Socket);
        SetTimeo(h, "client", c.SocketId, SocketOption.SO_SNDTIMEO, 0, 200_000);
        return (h, c);
    }

    [Fact]
    public void SynSent_ConnectWithSndTimeo_EinprogressAtTheTimeoutAndTheHandshakeGoesOn()
    {
        // __inet_stream_connect(): timeo = sock_sndtimeo() = 50 jiffies; inet_wait_for_connect() returns 0 when it
        // runs out, so connect() returns the -EINPROGRESS set before the wait (sock->state stays SS_CONNECTING).
        // From jiffy 0: expire 50, level 0, bucket 51 → 204 ms. The SYN's RTO timer (1 s from 1 ms: expire 250,
        // bucket 256 → 1.024 s) resends it once the path is back; the SYN-ACK comes at 1.044 s.
        var (h, c) = SocketWithSndTimeoBehindACutPath();

        var connect = Connect(h, c.SocketId);
        h.At(Ms(300));
        var stateAfterTimeout = h.Sim.FindSocket(c.SocketId)!.State;
        h.Sim.ChangeLink("client", "server", true, null, null, false);
        h.At(Ms(1100));
        var collected = Connect(h, c.SocketId);
        var again = Connect(h, c.SocketId);

        Assert.True(connect.Blocked);
        Assert.Equal((Ms(204), -1L, Errno.EINPROGRESS, SimDuration.FromMilliseconds(203)), Outcome(h, connect.CallId));
        Assert.Equal(TcpState.SynSent, stateAfterTimeout);
        Assert.Equal([Ms(1), Ms(1024)], h.Sent("client").Where(s => s.Flags == Network.TcpFlags.Syn).Select(s => s.At));
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(c.SocketId)!.State);
        Assert.Equal((0L, (string?)null), (collected.Result, collected.Errno));
        Assert.Equal(Errno.EISCONN, again.Errno);
    }

    [Fact]
    public void SynSent_ConnectAgainWhileConnectingWithSndTimeo_SleepsAndReturnsEalreadyThenZero()
    {
        // A connect() while SS_CONNECTING sets -EALREADY and then waits like the first (timeo = sock_sndtimeo()):
        // at 300 ms (jiffy 75) expire 125, bucket 126 → 504 ms: -EALREADY. At 900 ms (jiffy 225) expire 275,
        // bucket 276 → 1.104 s, but the SYN-ACK at 1.044 s ends the wait first: SS_CONNECTED, 0.
        var (h, c) = SocketWithSndTimeoBehindACutPath();
        Connect(h, c.SocketId);
        h.At(Ms(300));

        var second = Connect(h, c.SocketId);
        h.At(Ms(900));
        h.Sim.ChangeLink("client", "server", true, null, null, false);
        var third = Connect(h, c.SocketId);
        h.At(Ms(1200));
        var fourth = Connect(h, c.SocketId);

        Assert.Equal((Ms(504), -1L, Errno.EALREADY, SimDuration.FromMilliseconds(204)), Outcome(h, second.CallId));
        Assert.Equal((Ms(1044), 0L, (string?)null, SimDuration.FromMilliseconds(144)), Outcome(h, third.CallId));
        Assert.Equal(Errno.EISCONN, fourth.Errno);
    }

    [Fact]
    public void Established_SendFillingTheBufferWithSndTimeo_ReturnsTheBytesQueuedAtTheTimeout()
    {
        // SO_SNDBUF 3000 → sk_sndbuf 6000. tcp_sendmsg_locked() takes a first skb on the empty queue and tops up its
        // unsent rest as chunks go out, then finds sk_wmem_queued 51712 ≥ 6000 for a second: 46336 bytes copied
        // (SendBufferTests' arithmetic). Nothing is acknowledged (the path to the server is cut), so
        // sk_stream_wait_memory() sleeps 250 jiffies from jiffy 25: bucket 280 → 1.120 s; then -EAGAIN, and
        // tcp_sendmsg_locked() returns the 46336 bytes it copied. Meanwhile the loss probe (cwnd full, the send head
        // inside the peer's window) sent the tail skb's first segment as new data (tcp_write_xmit(push_one = 2)), so
        // that skb holds 21 segments, one below size_goal (22 · 1448 = 31856). A second send() at 1.2 s (jiffy 300)
        // tops it up with 1448 bytes, then finds no room for another skb and sleeps to expire 550: bucket
        // ((550 >> 3) + 1) << 3 = 552 → 2.208 s, and returns the 1448 bytes it copied.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 3000);
        SetTimeo(h, "client", c.Id, SocketOption.SO_SNDTIMEO, 1, 0);
        h.Sim.ChangeLink("client", "server", true, null, null, true);

        var send = h.Send(c.Id, 100_000);
        h.At(Ms(1200));
        var second = h.Send(c.Id, 10_000);
        h.At(Ms(2500));

        Assert.True(send.Blocked);
        Assert.Equal((Ms(1120), 46336L, (string?)null, SimDuration.FromMilliseconds(1020)), Outcome(h, send.CallId));
        Assert.Equal((Ms(2208), 1448L, (string?)null, SimDuration.FromMilliseconds(1008)), Outcome(h, second.CallId));
        Assert.Equal(46336 + 1448, c.Ledger.Sent);
    }

    /// <summary>
    /// A recv() asleep in sk_wait_data() with SO_RCVTIMEO {5, 0} from jiffy 50: expire 1300, a level-2 timer in the
    /// bucket of jiffy 1336 (5.344 s). The socket had shut down its sending side; the peer's ACK of that FIN, injected
    /// at 5.010 s (jiffy 1252), moves FIN_WAIT1 to FIN_WAIT2 and sk_state_change() wakes the reader. No data: the
    /// tcp_recvmsg_locked() loop calls sk_wait_data() again with the timeo schedule_timeout() returned, 48 jiffies —
    /// a level-0 timer, one jiffy after expiry: EAGAIN at jiffy 1301 = 5.204 s.
    /// </summary>
    [Fact]
    public void FinWait1_RecvWokenByTheAckOfOurFin_SleepsAgainWithTheRemainingJiffies()
    {
        var p = InjectedPeer.Connected();
        var (h, c) = (p.H, p.C);
        SetTimeo(h, "client", c.Id, SocketOption.SO_RCVTIMEO, 5, 0);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        var recv = Recv(h, "client", c.Id);
        Assert.True(recv.Blocked);
        h.At(S(5.010));
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, c.Iss + 2));
        Assert.Equal(TcpState.FinWait2, c.State);

        h.At(S(6));

        Assert.Equal((S(5.204), -1L, "EAGAIN", SimDuration.FromMilliseconds(5004)), Outcome(h, recv.CallId));
    }

    /// <summary>
    /// A recv() asleep with SO_RCVTIMEO {5, 0} from jiffy 50 (expire 1300, run at 5.344 s) after a MSG_DONTWAIT send
    /// that ran out of buffer (SOCK_NOSPACE). The peer's ACKs of everything sent, injected at 5.010 s (jiffy 1252) until
    /// each ACK's push has sent the rest, free the buffer: tcp_check_space() → sk_stream_write_space() wakes the wait queue, the reader among its sleepers;
    /// nothing to read, so it sleeps again for the 48 jiffies left — EAGAIN at 5.204 s.
    /// </summary>
    [Fact]
    public void Established_RecvWokenByWriteSpace_SleepsAgainWithTheRemainingJiffies()
    {
        var p = InjectedPeer.Connected();
        var (h, c) = (p.H, p.C);
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 3000);
        SetTimeo(h, "client", c.Id, SocketOption.SO_RCVTIMEO, 5, 0);
        var send = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = 100_000, Flags = MsgFlags.MSG_DONTWAIT });
        Assert.InRange(send.Result, 1, 99_999);
        var recv = Recv(h, "client", c.Id);
        Assert.True(recv.Blocked);
        h.At(S(5.010));
        for (int i = 0; i < 20 && c.SendQueue > 0; i++)
            h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, c.SndNxt));
        Assert.Equal(0L, (long)c.SendQueue);

        h.At(S(6));

        Assert.Equal((S(5.204), -1L, "EAGAIN"), (Outcome(h, recv.CallId).At, Outcome(h, recv.CallId).Result, Outcome(h, recv.CallId).Errno));
    }

    /// <summary>
    /// A send() asleep in sk_stream_wait_memory() with SO_SNDTIMEO {5, 0} from jiffy 50 (expire 1300, bucket 1336:
    /// 5.344 s); nothing is acknowledged (the path to the server is cut). The server's 100 bytes arrive at 5.010 s
    /// (jiffy 1252): tcp_data_ready() wakes every sleeper (woken_wake_function() takes any wakeup), the writer finds no
    /// room and sleeps again for the 48 jiffies left — level 0, so it returns what it copied at 5.204 s.
    /// </summary>
    [Fact]
    public void Established_SendWokenByIncomingData_SleepsAgainWithTheRemainingJiffies()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 3000);
        SetTimeo(h, "client", c.Id, SocketOption.SO_SNDTIMEO, 5, 0);
        h.At(Ms(200));
        h.Sim.ChangeLink("client", "server", true, null, null, true);
        var send = h.Send(c.Id, 100_000);
        Assert.True(send.Blocked);
        h.At(S(5));
        h.Send(s.Id, 100);

        h.At(S(6));

        var (at, result, errno, _) = Outcome(h, send.CallId);
        Assert.Equal((S(5.204), (string?)null), (at, errno));
        Assert.True(result > 0);
    }

    [Fact]
    public void Established_RecvWithRcvTimeoAndTheProcessIsKilled_EintrAndTheTimerIsDeleted()
    {
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 1, 0);
        var recv = Recv(h, "server", s.Id);
        h.At(Ms(500));

        h.Sim.Kill("server", "app", "SIGKILL");
        h.At(Ms(3000));

        Assert.Equal((Ms(500), -1L, Errno.EINTR), (Outcome(h, recv.CallId).At, Outcome(h, recv.CallId).Result, Outcome(h, recv.CallId).Errno));
        Assert.Single(h.Sim.Journal.OfType<TimerCancelled>(), t => t.Timer == TcpTimerKind.ReceiveTimeout && t.At == Ms(500));
        Assert.DoesNotContain(h.Sim.Journal.OfType<TimerFired>(), t => t.Timer == TcpTimerKind.ReceiveTimeout);
    }

    [Fact]
    public void Established_RecvWithRcvTimeoTwoSecondsOnLinux44_ExpiresOnItsJiffyWithoutSlack()
    {
        // linux-4.4: schedule_timeout() queues with __mod_timer(), not mod_timer(): no apply_slack(). The
        // cascading wheel runs the timer on its expiry tick: jiffy 25 + 500 = 525 → 2.100 s.
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 2, 0);

        var recv = Recv(h, "server", s.Id);
        h.At(Ms(3000));

        Assert.Equal((Ms(2100), -1L, Errno.EAGAIN), (Outcome(h, recv.CallId).At, Outcome(h, recv.CallId).Result, Outcome(h, recv.CallId).Errno));
    }

    [Fact]
    public void Established_RecvWithRcvTimeoFiveSeconds_Level2BucketOf256Ms()
    {
        // 1250 jiffies from jiffy 25: expire = Initial + 1275, a level-2 timer (504 ≤ 1250 < 4032), granularity 64
        // jiffies on the absolute clock. INITIAL_JIFFIES ≡ 8 (mod 64), so Initial + 1275 ≡ 3 and the bucket is 61
        // jiffies later: Initial + 1336 → 5.344 s, 84 ms after the 5.1 s the timeout asked for.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 5, 0);

        var recv = Recv(h, "server", s.Id);
        h.At(Ms(7000));

        Assert.Equal(Ms(5.344 * 1000), Outcome(h, recv.CallId).At);
    }

    [Fact]
    public void SynSent_SendWaitsForTheHandshakeThenForSpace_SleepsAgainOnANewTimerForTheSameJiffy()
    {
        // 400 ms links. A non-blocking connect at 1 ms, then O_NONBLOCK off and SO_SNDTIMEO {1, 0}: send(10000)
        // sleeps in sk_stream_wait_connect() from jiffy 0, expire 250, a level-1 timer: bucket 256 (1.024 s). The
        // SYN-ACK at 801 ms (jiffy 200) wakes it; it queues 46336 bytes (SO_SNDBUF 3000: one skb, topped up as chunks
        // go out, as in Established_SendFillingTheBufferWithSndTimeo…) and sleeps again in sk_stream_wait_memory()
        // with what is left, 50 jiffies: a new timer for jiffy 250, now level 0, bucket 251 → it returns the 46336
        // bytes at 1.004 s, 20 ms before the first timer would have run.
        var h = new TwoHostHarness(delayMs: 400);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.At(Ms(1));
        var c = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = c.SocketId, NonBlock = true });
        var connect = Connect(h, c.SocketId);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = c.SocketId, NonBlock = false });
        h.SetOption(c.SocketId, SocketOption.SO_SNDBUF, 3000);
        SetTimeo(h, "client", c.SocketId, SocketOption.SO_SNDTIMEO, 1, 0);

        var send = h.Send(c.SocketId, 100_000);
        h.At(Ms(1500));

        Assert.Equal(Errno.EINPROGRESS, connect.Errno);
        Assert.Equal((Ms(1004), 46336L, (string?)null, SimDuration.FromMilliseconds(1003)), Outcome(h, send.CallId));
        Assert.Equal([Ms(1024), Ms(1004)],
            h.Sim.Journal.OfType<TimerArmed>().Where(t => t.Timer == TcpTimerKind.SendTimeout).Select(t => t.Expires));
        Assert.Single(h.Sim.Journal.OfType<TimerCancelled>(), t => t.Timer == TcpTimerKind.SendTimeout && t.At == Ms(801));
    }

    [Fact]
    public void Established_RecvWithATimeoutBeyondTheWheel_WakesAtTheCapAndSleepsAgainForTheRest()
    {
        // SO_RCVTIMEO {5000000, 0}: 1.25e9 jiffies, beyond WHEEL_TIMEOUT_CUTOFF (LVL_START(9) = 63 << 24 jiffies):
        // calc_wheel_index() queues it at clk + WHEEL_TIMEOUT_MAX on the last level; process_timeout() wakes the task
        // early, schedule_timeout() returns the time left and it sleeps again. It returns EAGAIN only after expiry.
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        SetTimeo(h, "server", s.Id, SocketOption.SO_RCVTIMEO, 5_000_000, 0);

        var recv = Recv(h, "server", s.Id);
        h.At(S(6_000_000));

        // First sleep from clk = Initial + 25: expires = clk + WHEEL_TIMEOUT_MAX (1040187392), level 8 (granule 2^24):
        // ((Initial + 25 + 1040187392) >> 24) + 1 = 318 → 318 << 24 − Initial = jiffy 1040262392 → 4161049.568 s.
        // Second sleep for jiffy 25 + 1.25e9 (delta 209737633, level 8): ((Initial + 1250000025) >> 24) + 1 = 331 →
        // jiffy 1258366200 → 5033464.8 s, after the 5000000.1 s asked for.
        var fired = h.Sim.Journal.OfType<TimerFired>().Where(t => t.Timer == TcpTimerKind.ReceiveTimeout).Select(t => t.At);
        Assert.Equal([Ms(4_161_049_568), Ms(5_033_464_800)], fired);
        Assert.Equal((Ms(5_033_464_800), Errno.EAGAIN), (Outcome(h, recv.CallId).At, Outcome(h, recv.CallId).Errno));
    }
}
