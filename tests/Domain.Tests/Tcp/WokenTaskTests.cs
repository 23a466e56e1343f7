using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// A task asleep in a call (send(), connect(), accept(), poll()) woken from a softirq runs after it — try_to_wake_up()
/// only makes it runnable, and net_rx_action() receives every segment of a burst before any task runs — so it sees what
/// the whole burst did. Segments handed to a host one after the other without running the simulation between them
/// (<see cref="TwoHostHarness.Deliver"/>) are such a burst; running it between them makes them apart. Each case was
/// observed on Linux 6.18.44 with a peer writing the segments on a TUN device back to back from a SCHED_FIFO thread
/// on the woken task's CPU (burst), or 50 ms apart (docs/kernel-check.md, "Woken send(), connect(), accept(), poll()").
/// </summary>
public class WokenTaskTests
{
    /// <summary>Client 10.0.0.1's connect() to a black-holed server, answered by an injected SYN-ACK (ISN 7000, MSS 1000, window 65535) at 0.05 ms.</summary>
    static (TwoHostHarness H, TcpSocket C, CallHandle Connect) ConnectToAScriptedPeer()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var cc = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var c = h.Sim.FindSocket(cc.SocketId)!;
        h.At(Ms(0.05));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn | TcpFlags.Ack, 7000, c.Iss + 1, 65535, 0, TcpOptions.None with { Mss = 1000 }));
        return (h, c, cc);
    }

    internal static Segment FromPeer(TcpSocket c, TcpFlags flags, uint seq, int len = 0) => new(c.Tuple.Reversed, flags, seq, c.Iss + 1, 65535, len, TcpOptions.None);

    [Fact]
    public void SynSent_SynAckAndRstInOneBurst_ConnectReturnsEconnreset()
    {
        // The SYN-ACK's tcp_finish_connect() wakes connect(); the RST behind it (at rcv_nxt) resets the new connection
        // before the task runs: inet_wait_for_connect() returns, __inet_stream_connect() finds TCP_CLOSE → sock_error().
        var (h, c, cc) = ConnectToAScriptedPeer();
        h.Deliver(h.Client, FromPeer(c, TcpFlags.Rst, 7001));
        h.At(Ms(100));

        var r = h.Returned(cc.CallId)!;
        Assert.Equal((Ms(0.05), -1L, "ECONNRESET"), (r.At, r.Result, r.Errno));
        Assert.Equal(["S", "."], h.Sent("client").Select(e => e.Flags.ToLetters()));
        Assert.Equal((1, 0), (h.Client.Mib[MibCounter.TcpEstabResets], h.Client.Mib[MibCounter.TcpAttemptFails]));
    }

    [Fact]
    public void SynSent_RstApartFromTheSynAck_ConnectReturnsZero()
    {
        var (h, c, cc) = ConnectToAScriptedPeer();
        h.At(Ms(50));
        h.Deliver(h.Client, FromPeer(c, TcpFlags.Rst, 7001));

        var r = h.Returned(cc.CallId)!;
        Assert.Equal((Ms(0.05), 0L, (string?)null), (r.At, r.Result, r.Errno));
    }

    static CallHandle PollIn(TwoHostHarness h, TcpSocket c) => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Poll)
        { SocketId = c.Id, Events = PollEvents.POLLIN | PollEvents.POLLRDHUP, TimeoutMs = -1 });

    [Theory]
    [InlineData(true, "POLLIN|POLLRDHUP")]
    [InlineData(false, "POLLIN")]
    public void Established_PollWokenByDataWithTheFinBehind_ReportsWhatTheBurstDid(bool burst, string revents)
    {
        // 100 bytes and the FIN: in one burst do_poll()'s pass after the softirq finds RCV_SHUTDOWN too (tcp_poll():
        // EPOLLIN | EPOLLRDNORM | EPOLLRDHUP); apart, the pass runs before the FIN arrives.
        var (h, c, _) = ConnectToAScriptedPeer();
        h.At(Ms(1));
        var poll = PollIn(h, c);
        h.At(Ms(50));
        h.Deliver(h.Client, FromPeer(c, TcpFlags.Psh | TcpFlags.Ack, 7001, 100));
        if (!burst) h.At(Ms(50));
        h.Deliver(h.Client, FromPeer(c, TcpFlags.Fin | TcpFlags.Ack, 7101));
        h.At(Ms(100));

        var r = h.Returned(poll.CallId)!;
        Assert.Equal((Ms(50), 1L, $"\"{revents}\""), (r.At, r.Result, r.Value));
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public void Listen_AcceptWokenByAChildWithASynBehind_TheSynMeetsTheQueueFull(bool burst, int overflows)
    {
        // listen(backlog 0) and a sleeping accept(). Peer 10.0.0.1:1001's handshake ACK makes a child
        // (inet_csk_reqsk_queue_add(): sk_ack_backlog 1) and wakes accept(); 10.0.0.1:1002's SYN behind it in the same
        // burst meets sk_acceptq_is_full() (1 > 0): dropped, ListenOverflows and ListenDrops. Apart, accept() has taken
        // the child (sk_ack_backlog 0) and the SYN is answered.
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 0 });
        var accept = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        FourTuple From(ushort port) => new(new Endpoint(IPv4.Parse("10.0.0.1"), port), new Endpoint(IPv4.Parse("10.0.0.2"), 80));
        var mss = TcpOptions.None with { Mss = 1000 };
        h.At(Ms(1));
        h.Deliver(h.Server, new Segment(From(1001), TcpFlags.Syn, 100, 0, 65535, 0, mss));
        var synAck = h.Sent("server").Single();
        h.At(Ms(50));
        h.Deliver(h.Server, new Segment(From(1001), TcpFlags.Ack, 101, synAck.SeqNo + 1, 65535, 0, TcpOptions.None));
        if (!burst) h.At(Ms(50));
        h.Deliver(h.Server, new Segment(From(1002), TcpFlags.Syn, 300, 0, 65535, 0, mss));
        h.At(Ms(100));

        var r = h.Returned(accept.CallId)!;
        Assert.Equal((Ms(50), 4L), (r.At, r.Result));
        Assert.Equal((overflows, overflows), (h.Server.Mib[MibCounter.TcpExtListenOverflows], h.Server.Mib[MibCounter.TcpExtListenDrops]));
        Assert.Equal(1 - overflows, h.Sent("server").Count(e => e.Tuple.Remote.Port == 1002 && e.Flags == (TcpFlags.Syn | TcpFlags.Ack)));
    }

    [Fact]
    public void Established_SendWokenByAckBursts_CopiesIntoWhatTheWholeBurstFreed()
    {
        // Client to a server that never reads, 10 ms apart; send(10 MB) under SO_SNDTIMEO 0.5 s. The server's ACKs of
        // each flight leave together and arrive together: the writer woken by the first ACK's sk_stream_write_space()
        // copies once all of them are processed, into the space they all freed (larger skbs, so more bytes per truesize
        // in the same sk_sndbuf). Inside the first ACK's softirq it returned 353312; 373584 observed on Linux 6.18.44
        // (scenarios/observed-blocked-send-woken-by-ack-bursts.json).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = SocketOption.SO_SNDTIMEO, TvUsec = 500_000 });
        var send = h.Send(c.Id, 10_000_000);
        h.At(S(1));

        var r = h.Returned(send.CallId)!;
        Assert.Equal(373584L, r.Result);
    }
    /// <summary>
    /// The TUN peer's send case (docs/experiments/woken-tasks-on-tun.py send, cubic): send(300000) under SO_SNDTIMEO
    /// 0.4 s copies what sk_sndbuf 46080 (2 · 10 · 2304) lets it queue in skbs of size_goal 32000 (half the 65535
    /// window in whole MSS of 1000) and sleeps with cwnd 10 in flight; 100 ms later five ACKs of 2000 bytes each. tcp_sndbuf_expand() runs from
    /// tcp_check_space() while SOCK_NOSPACE is set and tcp_should_expand_sndbuf() finds cwnd room
    /// (tcp_packets_in_flight() &lt; cwnd): apart, each ACK's tcp_data_snd_check() pushes what slow start opened (4
    /// segments, PSH on each push) and fills cwnd, so sk_sndbuf stays 46080; in one burst the second and
    /// fourth ACKs' pushes are deferred (tcp_tso_should_defer(): the last write was within 1 ms, and the 4 segments cwnd
    /// allows are under a third of it), so their tcp_check_space() expands with cwnd 14, then 18: 2 · 18 · 2304 = 82944. The writer is never writeable
    /// (sk_stream_wspace() ≥ sk_wmem_queued / 2) and returns 74000 at the timeout either way. Observed on Linux 6.18.44
    /// with the host's bbr replaced by cubic in the netns: 74000 / 46080, PSH every 4000 (apart); 74000 / 82944, PSH at
    /// 13000, 21000, 29000 (burst). Under bbr (a fresh netns inherits the host's) bbr_sndbuf_expand()'s factor 3 gave 69120 / 124416.
    /// </summary>
    [Theory]
    [InlineData(false, 46080, new[] { 13000, 17000, 21000, 25000, 29000 })]
    [InlineData(true, 82944, new[] { 13000, 21000, 29000 })]
    public void Established_SendAsleepWhileAcksArrive_SndbufExpandsWhereAPushLeavesCwndRoom(bool burst, int sndbuf, int[] pshAfterAcks)
    {
        var (h, c, _) = ConnectToAScriptedPeer();
        h.At(Ms(0.1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = SocketOption.SO_SNDTIMEO, TvUsec = 400_000 });
        var send = h.Send(c.Id, 300_000);
        h.At(Ms(100));
        for (int i = 1; i <= 5; i++)
        {
            if (!burst) h.At(Ms(100 + 50 * (i - 1)));
            h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Ack, 7001, c.Iss + 1 + (uint)(2000 * i), 65535, 0, TcpOptions.None));
        }
        h.At(Ms(500));

        var r = h.Returned(send.CallId)!;
        Assert.Equal((Ms(416), 74000L), (r.At, r.Result));
        Assert.Equal(sndbuf, h.Returned(h.GetOption(c.Id, SocketOption.SO_SNDBUF).CallId)!.Result);
        Assert.Equal(pshAfterAcks, h.Sent("client").Where(s => s.At >= Ms(100) && s.Len > 0 && (s.Flags & TcpFlags.Psh) != 0)
            .Select(s => (int)(s.SeqNo - c.Iss - 1)));
    }

    /// <summary>
    /// A send(100) asleep in sk_stream_wait_connect() — a non-blocking connect() (EINPROGRESS), the socket made blocking
    /// again, then send() at 0.02 ms — woken by the SYN-ACK at 0.05 ms with <paramref name="behind"/> right behind it
    /// (a burst) or 50 ms later (apart), under the engine rules <paramref name="rules"/> (<see cref="EngineRules"/>);
    /// returns the send.
    /// </summary>
    internal static (TwoHostHarness H, TcpSocket C, CallHandle Send) SendAsleepInConnect(Func<TcpSocket, Segment> behind, bool burst,
        int rules = EngineRules.Current)
    {
        var h = new TwoHostHarness();
        h.Sim.EngineRules = rules;
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var sock = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Socket));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
        var cc = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock.SocketId, ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = false });
        var c = h.Sim.FindSocket(cc.SocketId)!;
        Assert.Equal("EINPROGRESS", h.Returned(cc.CallId)!.Errno);
        h.At(Ms(0.02));
        var send = h.Send(c.Id, 100);
        h.At(Ms(0.05));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn | TcpFlags.Ack, 7000, c.Iss + 1, 65535, 0, TcpOptions.None with { Mss = 1000 }));
        if (!burst) h.At(Ms(50));
        h.Deliver(h.Client, behind(c));
        h.At(Ms(100));
        return (h, c, send);
    }

    /// <summary>What the client sent after its SYN: (seq − ISS, ack − 7000, len, flags).</summary>
    internal static IEnumerable<(long, long, int, string)> AfterSyn(TwoHostHarness h, TcpSocket c) => h.Sent("client").Skip(1)
        .Select(s => ((long)(s.SeqNo - c.Iss), s.AckNo == 0 ? 0L : s.AckNo - 7000L, s.Len, s.Flags.ToLetters()));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SynSent_SendAsleepInConnectWokenBySynAckWithRstBehind_FailsWithEconnresetInABurst(bool burst)
    {
        // tcp_finish_connect()'s sk_state_change() wakes the send; the RST behind it in the same burst resets the
        // connection (tcp_reset(): sk_err ECONNRESET, tcp_done()) before it runs: sk_stream_wait_connect() returns
        // sock_error(), nothing is sent — the SYN-ACK's ACK was held for the data (sk_write_pending) and tcp_done()
        // cleared its timer. Apart, the send ran at the SYN-ACK and sent its 100 bytes with the ACK.
        // Observed on Linux 6.18.44: docs/experiments/woken-tasks-on-tun.py sendrst burst|apart.
        var (h, c, send) = SendAsleepInConnect(c => FromPeer(c, TcpFlags.Rst, 7001), burst);

        var r = h.Returned(send.CallId)!;
        if (burst)
        {
            Assert.Equal((Ms(0.05), -1L, "ECONNRESET"), (r.At, r.Result, r.Errno));
            Assert.Empty(AfterSyn(h, c));
        }
        else
        {
            Assert.Equal((Ms(0.05), 100L, (string?)null), (r.At, r.Result, r.Errno));
            Assert.Equal([(1L, 1L, 100, "P.")], AfterSyn(h, c));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SynSent_SendAsleepInConnectWokenBySynAckWithDataBehind_TheDataIsAckedFirstInABurst(bool burst)
    {
        // The SYN-ACK enters quickack mode and holds its ACK for the sleeping writer; 100 bytes behind it in the same
        // burst are received before the writer runs and ACKed at once (quickack), and the writer's segment carries
        // that ACK too. Apart, the writer's segment carries the SYN-ACK's ACK, and the data is ACKed 50 ms later.
        // Observed on Linux 6.18.44 (woken-tasks-on-tun.py senddata burst): ".", ack 101, then "P." 100 bytes, ack 101.
        var (h, c, send) = SendAsleepInConnect(c => FromPeer(c, TcpFlags.Psh | TcpFlags.Ack, 7001, 100), burst);

        Assert.Equal((Ms(0.05), 100L), (h.Returned(send.CallId)!.At, h.Returned(send.CallId)!.Result));
        Assert.Equal(burst ? [(1L, 101L, 0, "."), (1L, 101L, 100, "P.")] : [(1L, 1L, 100, "P."), (101L, 101L, 0, ".")], AfterSyn(h, c));
    }
}
