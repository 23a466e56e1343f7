using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// poll() with a timeout (do_poll() — fs/select.c): the process sleeps until the socket's wakeup makes
/// tcp_poll() report a requested event, or until the hrtimer at end_time + slack. Client 10.0.0.1 and
/// server 10.0.0.2, 10 ms apart.
/// </summary>
public class PollTimeoutTests
{
    static CallHandle Poll(TwoHostHarness h, string host, int socket, int events, int timeoutMs) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Poll) { SocketId = socket, Events = events, TimeoutMs = timeoutMs });

    static CallHandle NonBlock(TwoHostHarness h, string host, int socket) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Fcntl) { SocketId = socket, NonBlock = true });

    [Theory]
    [InlineData(1, 1_050_000L)]             // 0.1 % is 1 µs: timer_slack_ns (50 µs) is the floor
    [InlineData(10, 10_050_000L)]
    [InlineData(100, 100_100_000L)]         // 0.1 % of 100 ms = 100 µs
    [InlineData(1000, 1_001_000_000L)]
    [InlineData(200_000, 200_100_000_000L)] // 0.1 % would be 200 ms: MAX_SLACK caps it at 100 ms
    public void Any_PollTimeout_EndTimePlusSelectEstimateAccuracy(int timeoutMs, long expectedNs)
    {
        // poll_select_set_timeout(): end_time = now + timeout, ns exact (no jiffies); schedule_hrtimeout_range()
        // with select_estimate_accuracy()'s slack fires at the hard expiry end_time + slack on an idle CPU.
        Assert.Equal(new SimDuration(expectedNs), Simulation.PollTimeout(timeoutMs));
    }

    [Fact]
    public void Established_PollInWithNothingToRead_ReturnsZeroAtTheTimeout()
    {
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();

        var poll = Poll(h, "server", s.Id, PollEvents.POLLIN, 100);
        h.At(Ms(200.099));
        bool blockedJustBefore = h.Sim.IsPending(poll.CallId);
        h.At(Ms(300));

        var returned = h.Returned(poll.CallId)!;
        Assert.True(poll.Blocked);
        Assert.True(blockedJustBefore);
        Assert.Equal((Ms(200.1), 0L, (string?)null, "\"0\""), (returned.At, returned.Result, returned.Errno, returned.Value));
    }

    [Fact]
    public void Established_PollInAndThePeerSends_WakesWhenTheSegmentArrives()
    {
        // tcp_data_queue() → sk_data_ready(): the poller is woken when the data is queued.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var poll = Poll(h, "server", s.Id, PollEvents.POLLIN, 1000);
        h.At(Ms(150));
        h.Send(c.Id, 100);
        h.At(Ms(2000));

        var returned = h.Returned(poll.CallId)!;
        Assert.Equal((Ms(160), 1L, "\"POLLIN\"", new SimDuration(60_000_000)), (returned.At, returned.Result, returned.Value, returned.Blocked));
        Assert.Single(h.Sim.Journal.OfType<CallReturned>(), r => r.CallId == poll.CallId);
    }

    [Fact]
    public void SynSent_PollOutWithoutLimit_WakesOnTheSynAck()
    {
        // tcp_finish_connect() → sk_state_change(): ESTABLISHED with room in the send buffer is POLLOUT.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);
        NonBlock(h, "client", c.SocketId);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c.SocketId, ToHost = "server", ToPort = 80 });

        var poll = Poll(h, "client", c.SocketId, PollEvents.POLLOUT, -1);
        h.At(Ms(100));

        var returned = h.Returned(poll.CallId)!;
        Assert.True(poll.Blocked);
        Assert.Equal((Ms(20), 1L, "\"POLLOUT\""), (returned.At, returned.Result, returned.Value));
    }

    [Fact]
    public void Listen_PollInWithTimeout_WakesWhenTheHandshakeCompletes()
    {
        // tcp_child_process() → the listener's sk_data_ready(): readable once the child is in the accept queue.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var poll = Poll(h, "server", l.SocketId, PollEvents.POLLIN, 5000);
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        var returned = h.Returned(poll.CallId)!;
        // connect at 1 ms: SYN at the server 11 ms, SYN-ACK at the client 21 ms, its ACK at the server 31 ms.
        Assert.Equal((Ms(31), 1L, "\"POLLIN\""), (returned.At, returned.Result, returned.Value));
    }

    [Fact]
    public void Established_PollRdhup_WakesOnThePeersFin()
    {
        // tcp_fin() → sk_state_change(): RCV_SHUTDOWN gives POLLIN|POLLRDNORM|POLLRDHUP; only RDHUP was asked.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var poll = Poll(h, "server", s.Id, PollEvents.POLLRDHUP, -1);
        h.At(Ms(150));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(300));

        var returned = h.Returned(poll.CallId)!;
        Assert.Equal((Ms(160), 1L, "\"POLLRDHUP\""), (returned.At, returned.Result, returned.Value));
        Assert.Equal(TcpState.CloseWait, s.State);
    }

    [Fact]
    public void SynSent_PollInAndTheConnectionIsRefused_WakesWithErrAndHup()
    {
        // tcp_reset() → sk_error_report(): POLLERR and POLLHUP are always reported, whatever was requested;
        // tcp_done() set sk_shutdown = SHUTDOWN_MASK, so RCV_SHUTDOWN makes it readable (POLLIN) too.
        var h = new TwoHostHarness();
        var c = h.Call("client", SocketCallKind.Socket);
        NonBlock(h, "client", c.SocketId);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c.SocketId, ToHost = "server", ToPort = 81 });

        var poll = Poll(h, "client", c.SocketId, PollEvents.POLLIN, 1000);
        h.At(Ms(2000));

        var returned = h.Returned(poll.CallId)!;
        Assert.Equal((Ms(20), 1L, "\"POLLIN|POLLERR|POLLHUP\""), (returned.At, returned.Result, returned.Value));
    }

    [Fact]
    public void Established_PollAndTheCallersOwnShutdown_WakesAtTheCall()
    {
        // shutdown(SHUT_RDWR) by another thread: both directions shut → POLLHUP at once (inet_shutdown → sk_state_change).
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        var poll = Poll(h, "server", s.Id, PollEvents.POLLPRI, -1);
        h.At(Ms(150));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = s.Id, How = ShutdownHow.SHUT_RDWR });

        var returned = h.Returned(poll.CallId)!;
        Assert.Equal((Ms(150), 1L, "\"POLLHUP\""), (returned.At, returned.Result, returned.Value));
    }

    [Fact]
    public void Established_KilledWhilePolling_EintrAndTheTimerNeverReturnsItAgain()
    {
        var h = new TwoHostHarness();
        var (_, s, _) = h.Establish();
        var poll = Poll(h, "server", s.Id, PollEvents.POLLIN, 100);
        h.At(Ms(150));

        Assert.Null(h.Sim.Kill("server", "app", "SIGKILL"));
        h.At(Ms(500));

        var returns = h.Sim.Journal.OfType<CallReturned>().Where(r => r.CallId == poll.CallId).ToList();
        Assert.Equal((Ms(150), Errno.EINTR), (returns.Single().At, returns.Single().Errno));
    }
}
