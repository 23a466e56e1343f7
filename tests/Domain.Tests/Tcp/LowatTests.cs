using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// SO_RCVLOWAT (sk_setsockopt() → tcp_set_rcvlowat(), tcp_recvmsg_locked()'s target, tcp_poll()'s
/// tcp_epollin_ready(), tcp_data_ready()'s wakeup, __tcp_ack_snd_check()) and TCP_NOTSENT_LOWAT
/// (tcp_stream_memory_free() for poll() and sendmsg()). Client 10.0.0.1 and server 10.0.0.2, 10 ms apart;
/// <see cref="TwoHostHarness.Establish"/> leaves both ESTABLISHED at 100 ms with a 1448-byte MSS.
/// </summary>
public class LowatTests
{
    static CallHandle Poll(TwoHostHarness h, string host, int socket, int events, int timeoutMs) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Poll) { SocketId = socket, Events = events, TimeoutMs = timeoutMs });

    static CallHandle Recv(TwoHostHarness h, int socket, long bytes, MsgFlags flags = MsgFlags.None) =>
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = socket, Bytes = bytes, Flags = flags });

    /// <summary>Both ends ESTABLISHED at 100 ms (<see cref="TwoHostHarness.Establish"/>), the server's SO_RCVLOWAT set.</summary>
    static (TwoHostHarness H, TcpSocket Client, TcpSocket Server) EstablishedWithRcvLowat(int lowat)
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, lowat);
        return (h, c, s);
    }

    [Theory]
    [InlineData(0, 1)]                // "val ? : 1"
    [InlineData(100, 100)]
    [InlineData(-1, 16_777_216)]      // sk_setsockopt(): val < 0 → INT_MAX, then capped at tcp_rmem[2] >> 1
    [InlineData(50_000_000, 16_777_216)]
    public void Close_RcvLowatSet_ReadBackIsCappedAtHalfOfTcpRmemMax(int value, int readBack)
    {
        var h = new TwoHostHarness();
        var s = h.Call("server", SocketCallKind.Socket);

        Assert.Null(h.SetOption(s.SocketId, SocketOption.SO_RCVLOWAT, value).Errno);
        Assert.Equal(readBack, h.GetOption(s.SocketId, SocketOption.SO_RCVLOWAT).Result);
    }

    [Fact]
    public void Close_RcvLowatAboveHalfTheBuffer_GrowsSkRcvbufToSpaceFromWin()
    {
        // tcp_set_rcvlowat(): space = tcp_space_from_win(100000) = 100000 · 256 / 128 (TCP_DEFAULT_SCALING_RATIO)
        // = 200000 > sk_rcvbuf (tcp_rmem[1] = 131072): sk_rcvbuf becomes 200000. 60000 → 120000 leaves it.
        var h = new TwoHostHarness();
        var s = h.Call("server", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.SO_RCVLOWAT, 60_000);
        Assert.Equal(131_072, h.GetOption(s.SocketId, SocketOption.SO_RCVBUF).Result);

        h.SetOption(s.SocketId, SocketOption.SO_RCVLOWAT, 100_000);

        Assert.Equal(200_000, h.GetOption(s.SocketId, SocketOption.SO_RCVBUF).Result);
    }

    [Fact]
    public void Close_RcvLowatWithSoRcvbufLocked_CappedAtHalfTheBufferWhichStays()
    {
        // SO_RCVBUF 10000 → sk_rcvbuf 20000, SOCK_RCVBUF_LOCK: the cap is sk_rcvbuf >> 1 and the buffer is not grown.
        var h = new TwoHostHarness();
        var s = h.Call("server", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.SO_RCVBUF, 10_000);

        h.SetOption(s.SocketId, SocketOption.SO_RCVLOWAT, 50_000);

        Assert.Equal(10_000, h.GetOption(s.SocketId, SocketOption.SO_RCVLOWAT).Result);
        Assert.Equal(20_000, h.GetOption(s.SocketId, SocketOption.SO_RCVBUF).Result);
    }

    [Fact]
    public void Established_BlockedRecvBelowRcvLowat_WokenOnlyWhenLowatBytesAreQueued()
    {
        // 1000 bytes arrive at 110, 310 and 510 ms. tcp_data_ready() wakes the reader only once
        // tcp_epollin_ready(sk, 2500): rcv_nxt − copied_seq = 3000 at 510 ms; the recv then copies all 3000.
        var (h, c, s) = EstablishedWithRcvLowat(2500);
        var read = Recv(h, s.Id, 10_000);
        h.Send(c.Id, 1000);
        h.At(Ms(300));
        h.Send(c.Id, 1000);
        h.At(Ms(500));
        bool blockedAt500 = h.Sim.IsPending(read.CallId);
        h.Send(c.Id, 1000);
        h.At(Ms(600));

        Assert.True(read.Blocked);
        Assert.True(blockedAt500);
        var returned = h.Returned(read.CallId)!;
        Assert.Equal((Ms(510), 3000L), (returned.At, returned.Result));
    }

    [Fact]
    public void Established_RecvDontWaitBelowRcvLowat_ReturnsWhatIsQueued()
    {
        // tcp_recvmsg_locked(): copied (1000) < target (2500), but timeo is 0: "if (copied) { if (!timeo …) break; }".
        var (h, c, s) = EstablishedWithRcvLowat(2500);
        h.Send(c.Id, 1000);
        h.At(Ms(200));

        var read = Recv(h, s.Id, 10_000, MsgFlags.MSG_DONTWAIT);

        Assert.Equal((false, 1000L), (read.Blocked, read.Result));
    }

    [Fact]
    public void Established_RecvShorterThanRcvLowat_TargetIsTheLength()
    {
        // sock_rcvlowat(sk, 0, len) = min(sk_rcvlowat, len): a 500-byte read of 1000 queued bytes returns at once.
        var (h, c, s) = EstablishedWithRcvLowat(2500);
        h.Send(c.Id, 1000);
        h.At(Ms(200));

        var read = Recv(h, s.Id, 500);

        Assert.Equal((false, 500L), (read.Blocked, read.Result));
    }

    [Fact]
    public void Established_PeerFinBelowRcvLowat_BlockedRecvReturnsTheDataAndTheFinIsEaten()
    {
        // 1000 bytes (110 ms) stay below SO_RCVLOWAT 2500; the FIN (310 ms) sets SOCK_DONE: tcp_data_ready() wakes
        // the reader, which copies the 1000 bytes and eats the FIN (found_fin_ok); the next read returns 0.
        var (h, c, s) = EstablishedWithRcvLowat(2500);
        var read = Recv(h, s.Id, 10_000);
        h.Send(c.Id, 1000);
        h.At(Ms(300));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(400));

        var returned = h.Returned(read.CallId)!;
        Assert.Equal((Ms(310), 1000L), (returned.At, returned.Result));
        Assert.Equal(0, Recv(h, s.Id, 10_000).Result);
    }

    [Fact]
    public void Established_PollInBelowRcvLowat_NotReadableUntilLowatBytes()
    {
        // tcp_poll(): tcp_stream_is_readable(sk, sock_rcvlowat(sk, 0, INT_MAX)) — 1000 queued bytes are not enough
        // for SO_RCVLOWAT 2000; the second 1000 (310 ms) are.
        var (h, c, s) = EstablishedWithRcvLowat(2000);
        h.Send(c.Id, 1000);
        h.At(Ms(200));
        var now = Poll(h, "server", s.Id, PollEvents.POLLIN, 0);
        var wait = Poll(h, "server", s.Id, PollEvents.POLLIN, 1000);
        h.At(Ms(300));
        h.Send(c.Id, 1000);
        h.At(Ms(400));

        Assert.Equal((0L, "\"0\""), (now.Result, now.Value));
        var returned = h.Returned(wait.CallId)!;
        Assert.Equal((Ms(310), 1L, "\"POLLIN\""), (returned.At, returned.Result, returned.Value));
    }

    [Fact]
    public void Established_RcvLowatLoweredToWhatIsQueued_WakesTheSleepingPoll()
    {
        // tcp_set_rcvlowat() → tcp_data_ready(): "Check if we need to signal EPOLLIN right now".
        var (h, c, s) = EstablishedWithRcvLowat(2000);
        h.Send(c.Id, 1000);
        h.At(Ms(200));
        var wait = Poll(h, "server", s.Id, PollEvents.POLLIN, 1000);
        h.At(Ms(250));
        h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, 1000);

        var returned = h.Returned(wait.CallId)!;
        Assert.Equal((Ms(250), 1L), (returned.At, returned.Result));
    }

    [Fact]
    public void Listen_RcvLowatAndNotsentLowat_InheritedByTheAcceptedChild()
    {
        // sk_clone_lock() copies the listener's sock: sk_rcvlowat and tp->notsent_lowat come along.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.SetOption(l.SocketId, SocketOption.SO_RCVLOWAT, 700);
        h.SetOption(l.SocketId, SocketOption.TCP_NOTSENT_LOWAT, 9000);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));
        var child = h.Returned(a.CallId)!.SocketId;

        Assert.Equal(700, h.GetOption(child, SocketOption.SO_RCVLOWAT).Result);
        Assert.Equal(9000, h.GetOption(child, SocketOption.TCP_NOTSENT_LOWAT).Result);
    }

    [Fact]
    public void Close_NotsentLowatUnset_ReadsZeroThoughTheSysctlApplies()
    {
        // do_tcp_getsockopt(): READ_ONCE(tp->notsent_lowat) — 0 until set; tcp_notsent_lowat() falls back to the sysctl.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        Assert.Equal(0, h.GetOption(s.SocketId, SocketOption.TCP_NOTSENT_LOWAT).Result);
    }

    [Theory]
    [InlineData(11_040, "0")]                          // (notsent << 1) = 11040 is not below 11040
    [InlineData(11_041, "\"POLLOUT\"")]
    public void Established_NotsentLowat_PollOutOnlyWhileTwiceTheUnsentBytesAreBelowIt(int lowat, string revents)
    {
        // send(20000): cwnd 10 sends 10 · 1448 = 14480 bytes, 5520 stay unsent (write_seq − snd_nxt); sk_sndbuf 46080
        // leaves sk_stream_wspace() above sk_wmem_queued / 2, so only the notsent test decides.
        // tcp_poll() → __sk_stream_is_writeable(sk, 1) → tcp_stream_memory_free(sk, 1): (5520 << 1) < notsent_lowat.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 20_000);
        h.SetOption(c.Id, SocketOption.TCP_NOTSENT_LOWAT, lowat);

        var poll = Poll(h, "client", c.Id, PollEvents.POLLOUT, 0);

        Assert.Equal(5_520, c.Info.NotSentBytes);
        Assert.Equal(revents.Trim('"'), poll.Value!.Trim('"'));
    }

    [Fact]
    public void Established_NotsentLowatSysctl_AppliesToSocketsWithoutTheOption()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_notsent_lowat", "31040");
        h.Send(c.Id, 30_000);

        var poll = Poll(h, "client", c.Id, PollEvents.POLLOUT, 0);

        Assert.Equal("\"0\"", poll.Value);
    }

    [Fact]
    public void Established_NotsentLowatPollOut_WokenWhenTheAckLetsTheRestBeSent()
    {
        // The first flight's ACKs (from 120 ms) grow cwnd; tcp_write_xmit() sends the rest and
        // tcp_event_new_data_sent() → tcp_check_space() → sk_stream_write_space(): POLLOUT once 2 · notsent < 16384.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 30_000);
        h.SetOption(c.Id, SocketOption.TCP_NOTSENT_LOWAT, 16_384);
        var poll = Poll(h, "client", c.Id, PollEvents.POLLOUT, 1000);
        h.At(Ms(300));

        var returned = h.Returned(poll.CallId)!;
        Assert.True(poll.Blocked);
        Assert.Equal((Ms(120), 1L), (returned.At, returned.Result));
    }

    [Fact]
    public void Established_UnreadBelowRcvLowat_AckedEveryTwoSegmentsInsteadOfDelayed()
    {
        // Ping-pong (TCP_QUICKACK 0) and sk_rcvbuf 32768 (SO_RCVBUF 16384): with nothing read, the window
        // __tcp_select_window() offers falls below rcv_wnd, so __tcp_ack_snd_check() sends an ACK for more than
        // rcv_mss unacknowledged only while rcv_nxt − copied_seq < sk_rcvlowat. SO_RCVLOWAT 16000: an ACK every
        // second segment at 110 ms. SO_RCVLOWAT 1: delayed — the delack timer's one ACK at 152 ms.
        static List<(SimService.Domain.Time.SimTime, uint)> Acks(int lowat)
        {
            var h = new TwoHostHarness();
            var (c, s, _) = h.Establish();
            h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 0);
            h.SetOption(s.Id, SocketOption.SO_RCVBUF, 16_384);
            h.SetOption(s.Id, SocketOption.SO_RCVLOWAT, lowat);
            h.Send(c.Id, 8 * 1448);
            h.At(Ms(153));
            uint isn = h.Sent("client").First().SeqNo + 1;
            return h.Sent("server").Where(x => x.At > Ms(100)).Select(x => (x.At, x.AckNo - isn)).ToList();
        }

        Assert.Equal([(Ms(110), 2896u), (Ms(110), 5792u), (Ms(110), 8688u), (Ms(110), 11584u)], Acks(16_000));
        Assert.Equal([(Ms(152), 11584u)], Acks(1));
    }
}
