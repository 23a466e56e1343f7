using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_conn_request() with a full SYN queue — net/ipv4/tcp_input.c — and cookie_v4_check() — net/ipv4/syncookies.c.
/// A listener on server:80 (0.0.0.0) with backlog 1; SYNs from 10.0.0.1 ports 46001, 46002, ... are handed to the
/// server directly (the link is cut, so the client's stack never answers). Every peer's ISN is 1000.
/// </summary>
public class SynCookieTests
{
    const uint PeerIsn = 1000;
    const string CookieReason = "tcp_conn_request (TCP_SYNACK_COOKIE)";
    const string FloodLine = "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Sending cookies.";
    static readonly TcpOptions SynOptions = new(Mss: 1460, WindowScale: 7, SackPermitted: true, HasTimestamp: true, TsVal: 5000);
    static readonly TcpOptions SynOptionsNoTs = new(Mss: 1460, WindowScale: 7, SackPermitted: true);

    static FourTuple Peer(ushort port) => new(new Endpoint(IPv4.Parse("10.0.0.1"), port), new Endpoint(IPv4.Parse("10.0.0.2"), 80));

    static Fixtures.TwoHostHarness Listening(int backlog = 1, KernelProfile profile = KernelProfile.Linux6, Action<Fixtures.TwoHostHarness>? setup = null)
    {
        var h = new Fixtures.TwoHostHarness(profile: profile);
        setup?.Invoke(h);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = backlog });
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return h;
    }

    static TcpSocket ListenerOf(Fixtures.TwoHostHarness h) => h.Server.AllSockets.Single(s => s.State == TcpState.Listen);

    static void DeliverAt(Fixtures.TwoHostHarness h, double ms, FourTuple tuple, TcpFlags flags, uint seq, uint ack, TcpOptions options)
    {
        h.At(Ms(ms));
        h.Deliver(h.Server, new Segment(tuple, flags, seq, ack, 65535, 0, options));
    }

    static List<SegmentSent> ServerSent(Fixtures.TwoHostHarness h) => h.Sent("server").ToList();

    /// <summary>The brief's scenario: SYNs from three peers at 1, 2 and 3 ms; returns the cookie SYN-ACK.</summary>
    static SegmentSent ThreeSyns(Fixtures.TwoHostHarness h, TcpOptions options)
    {
        DeliverAt(h, 1, Peer(46001), TcpFlags.Syn, PeerIsn, 0, options);
        DeliverAt(h, 2, Peer(46002), TcpFlags.Syn, PeerIsn, 0, options);
        DeliverAt(h, 3, Peer(46003), TcpFlags.Syn, PeerIsn, 0, options);
        return ServerSent(h).Last();
    }

    [Fact]
    public void Listen_ThirdSynWithBacklogOne_CookieSynAckWithoutRequestSocket()
    {
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptions);
        var sent = ServerSent(h);
        // inet_csk_reqsk_queue_is_full(): 0 > 1 and 1 > 1 are false, 2 > 1 is true — the third SYN gets a cookie.
        Assert.Equal([(Ms(1), "tcp_conn_request"), (Ms(2), "tcp_conn_request"), (Ms(3), CookieReason)], sent.Select(s => (s.At, s.Reason)));
        Assert.All(sent, s => Assert.Equal("S.", s.Flags.ToLetters()));
        Assert.Equal(Peer(46003).Reversed, cookie.Tuple);
        Assert.Equal(PeerIsn + 1, cookie.AckNo);
        // Two SYN-RECV rows; none for the cookie.
        Assert.Equal([46001, 46002], h.Server.RequestSockets.Select(r => (int)r.Tuple.Remote.Port).Order());
        Assert.Equal(2, ListenerOf(h).ReqskQueueLen);
        Assert.Equal([FloodLine], h.Server.KernelLog);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDoCookies]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesSent]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDrop]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        // Only the two requests' timers resend (jiffy 0 + 250 → wheel bucket 256, 1.024 s).
        h.At(S(2));
        var rtx = ServerSent(h).Skip(3).ToList();
        // One bucket, one CPU: expire_timers() runs the last armed first (enqueue_timer()'s hlist_add_head()).
        Assert.Equal([(Ms(1024), 46002), (Ms(1024), 46001)], rtx.Select(s => (s.At, (int)s.Tuple.Remote.Port)));
        Assert.All(rtx, s => Assert.Equal("inet_rtx_syn_ack", s.Reason));
        Assert.Equal(2, h.Server.Mib[MibCounter.TcpExtTCPSynRetrans]);
    }

    [Fact]
    public void Listen_CookieSynAckWithTimestamps_OptionsEncodedInTsvalLowBits()
    {
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptions);
        var first = ServerSent(h)[0];
        // Same address pair, same ts_off: the first SYN-ACK's TSval is 1 ms + ts_off.
        uint tsOff = first.Options.TsVal - 1;
        // cookie_init_timestamp() at 3 ms: (3 >> 6) << 6 | (wscale 7 | TS_OPT_SACK 16) = 23 > 3, so 23 − 64 = −41.
        Assert.Equal(unchecked(tsOff - 41), cookie.Options.TsVal);
        Assert.Equal(23u, (cookie.Options.TsVal - tsOff) & 63);
        Assert.Equal(5000u, cookie.Options.TsEcr);
        Assert.Equal((1460, first.Options.WindowScale, true, first.Win), (cookie.Options.Mss, cookie.Options.WindowScale, cookie.Options.SackPermitted, cookie.Win));
    }

    [Fact]
    public void Listen_RetransmittedSynInTheSameMinute_SameCookieAgainAndOneLogLine()
    {
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptions);
        DeliverAt(h, 1003, Peer(46003), TcpFlags.Syn, PeerIsn, 0, SynOptions);
        var again = ServerSent(h).Last(s => s.Reason == CookieReason);
        // secure_tcp_syn_cookie() is stateless: the same 4-tuple, peer ISN, MSS and minute give the same ISN.
        Assert.Equal((Ms(1003), cookie.SeqNo), (again.At, again.SeqNo));
        Assert.Equal(2, h.Server.Mib[MibCounter.TcpExtSyncookiesSent]);
        Assert.Equal(2, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDoCookies]);
        Assert.Equal([FloodLine], h.Server.KernelLog); // queue->synflood_warned
    }

    [Fact]
    public void Listen_AckReturnsCookie_ChildEstablishedWithOptionsFromTheTsval()
    {
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptions);
        DeliverAt(h, 13, Peer(46003), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1,
            new TcpOptions(HasTimestamp: true, TsVal: 5010, TsEcr: cookie.Options.TsVal));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesRecv]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpPassiveOpens]);
        var child = Assert.Single(ListenerOf(h).AcceptQueue);
        Assert.Equal(Peer(46003).Reversed, child.Tuple);
        Assert.Equal((cookie.SeqNo + 1, PeerIsn + 1), (child.SndNxt, child.RcvNxt));
        var info = child.Info;
        Assert.Equal((TcpState.Established, true, true, true, 7, (int)cookie.Options.WindowScale!),
            (info.State, info.Timestamps, info.Sack, info.WindowScale, info.SndWscale, info.RcvWscale));
        // No snt_synack: the RTT comes from the TSecr, which cookie_init_timestamp() set 44 ms before the SYN-ACK —
        // 13 − (3 − 44) = 54 ms; RTO = 54 + max(2 · 54, 200) = 254 ms, usecs_to_jiffies() → 64 jiffies = 256 ms.
        Assert.Equal((54_000L, 256_000L), (info.RttUs, info.RtoUs));
        Assert.Equal(2, h.Server.RequestSockets.Count());
        Assert.Single(ServerSent(h), s => s.Tuple == Peer(46003).Reversed); // the ACK is answered by nothing
    }

    [Fact]
    public void Listen_CookieWithoutTimestamps_NoWscaleNoSackAndFallbackRto()
    {
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptionsNoTs);
        // tcp_clear_options() when the SYN has no timestamp: only the MSS option, and an unscaled window.
        Assert.Equal(new TcpOptions(Mss: 1460), cookie.Options);
        Assert.Equal((ushort)64240, cookie.Win);
        Assert.NotNull(ServerSent(h)[0].Options.WindowScale);
        DeliverAt(h, 13, Peer(46003), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1, TcpOptions.None);
        var info = Assert.Single(ListenerOf(h).AcceptQueue).Info;
        Assert.Equal((TcpState.Established, false, false, false, 0, 0), (info.State, info.Timestamps, info.Sack, info.WindowScale, info.SndWscale, info.RcvWscale));
        Assert.Equal(3_000_000L, info.RtoUs); // no RTT sample: TCP_TIMEOUT_FALLBACK
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesRecv]);
    }

    [Fact]
    public void Listen_AckWithWrongCookie_SyncookiesFailedAndRst()
    {
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptionsNoTs);
        DeliverAt(h, 13, Peer(46003), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 2, TcpOptions.None);
        DeliverAt(h, 14, Peer(46009), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1, TcpOptions.None);
        Assert.Equal(2, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtSyncookiesRecv]);
        Assert.Empty(ListenerOf(h).AcceptQueue);
        var rsts = ServerSent(h).Skip(3).ToList();
        Assert.Equal([(Ms(13), "R", cookie.SeqNo + 2), (Ms(14), "R", cookie.SeqNo + 1)], rsts.Select(r => (r.At, r.Flags.ToLetters(), r.SeqNo)));
        Assert.All(rsts, r => Assert.Equal("tcp_rcv_state_process (LISTEN, ACK)", r.Reason));
    }

    [Fact]
    public void Listen_CookieAckInTheNextMinute_AcceptedUntilTheCounterMovesTwice()
    {
        // tcp_cookie_time() = jiffies_64 / 15000; jiffies start at 2^32 − 75000, so the counter steps at jiffy 12704
        // (50.816 s) and 27704 (110.816 s). A cookie issued at 3 ms is good while the difference is below 2.
        var h = Listening();
        var cookie = ThreeSyns(h, SynOptionsNoTs);
        DeliverAt(h, 110_812, Peer(46003), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1, TcpOptions.None);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesRecv]);
        Assert.Single(ListenerOf(h).AcceptQueue);

        var late = Listening();
        var lateCookie = ThreeSyns(late, SynOptionsNoTs);
        Assert.Equal(cookie.SeqNo, lateCookie.SeqNo);
        DeliverAt(late, 110_816, Peer(46003), TcpFlags.Ack, PeerIsn + 1, lateCookie.SeqNo + 1, TcpOptions.None);
        Assert.Equal(1, late.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        Assert.Empty(ListenerOf(late).AcceptQueue);
        Assert.Equal((Ms(110_816), "R"), (ServerSent(late).Last().At, ServerSent(late).Last().Flags.ToLetters()));
    }

    [Fact]
    public void Listen_AckWithoutRecentOverflow_RstWithoutCookieCounters()
    {
        var h = Listening();
        DeliverAt(h, 10, Peer(46001), TcpFlags.Ack, PeerIsn + 1, 12345, TcpOptions.None);
        // tcp_synq_no_recent_overflow(): cookie_v4_check() returns the listener untouched, which resets the ACK.
        Assert.Equal((Ms(10), "R", 12345u), (ServerSent(h).Single().At, ServerSent(h).Single().Flags.ToLetters(), ServerSent(h).Single().SeqNo));
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
    }

    [Fact]
    public void Listen_AckAround32BitJiffiesWrapWithoutOverflow_CountsSyncookiesFailed()
    {
        // A listener's overflow stamp starts at 0: with jiffies at 2^32 − 250 … 30000 (299 s to 420 s of uptime)
        // time_between32() puts "now" inside [0 − HZ, 0 + TCP_SYNCOOKIE_VALID], so every stray ACK is checked as a cookie.
        var h = Listening();
        DeliverAt(h, 298_996, Peer(46001), TcpFlags.Ack, PeerIsn + 1, 12345, TcpOptions.None);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        DeliverAt(h, 299_000, Peer(46001), TcpFlags.Ack, PeerIsn + 1, 12345, TcpOptions.None);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        DeliverAt(h, 420_004, Peer(46001), TcpFlags.Ack, PeerIsn + 1, 12345, TcpOptions.None);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        Assert.Equal(3, ServerSent(h).Count(s => s.Flags.ToLetters() == "R"));
    }

    [Fact]
    public void Listen_SynQueueFullWithSyncookiesZero_DroppedAndLogged()
    {
        var h = Listening(setup: x => x.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "0"));
        ThreeSyns(h, SynOptions);
        Assert.Equal([Ms(1), Ms(2)], ServerSent(h).Select(s => s.At));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDrop]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtSyncookiesSent]);
        Assert.Equal(["TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Dropping request."], h.Server.KernelLog);
        // A returned ACK is not checked as a cookie at all (tcp_syncookies is 0): a plain RST.
        DeliverAt(h, 13, Peer(46003), TcpFlags.Ack, PeerIsn + 1, 777, TcpOptions.None);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtSyncookiesFailed]);
        Assert.Equal("R", ServerSent(h).Last().Flags.ToLetters());
    }

    [Fact]
    public void Listen_SyncookiesTwo_EverySynGetsACookieAndNothingIsLogged()
    {
        var h = Listening(backlog: 128, setup: x => x.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "2"));
        DeliverAt(h, 1, Peer(46001), TcpFlags.Syn, PeerIsn, 0, SynOptions);
        Assert.Equal(CookieReason, ServerSent(h).Single().Reason);
        Assert.Empty(h.Server.RequestSockets);
        Assert.Empty(h.Server.KernelLog);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDoCookies]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesSent]);
    }

    /// <summary>
    /// tcp_syncookies 2 on a SO_REUSEPORT listener l1 (alone, so the SYN at 1 ms is its own): l2 joins its group at 50 ms,
    /// l1 is closed at 100 ms (tcp_migrate_req 0), and the ACK returning l1's cookie comes at 150 ms. Returns the
    /// harness, l2 and the cookie SYN-ACK.
    /// </summary>
    static (Fixtures.TwoHostHarness H, TcpSocket L2, SegmentSent Cookie) CookieAckAfterItsListenerClosed(KernelProfile profile)
    {
        var h = new Fixtures.TwoHostHarness(profile: profile);
        h.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "2");
        var l1 = MigrateReqTests.ReuseportListener(h);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        DeliverAt(h, 1, Peer(46001), TcpFlags.Syn, PeerIsn, 0, SynOptionsNoTs);
        var cookie = ServerSent(h).Single();
        h.At(Ms(50));
        var l2 = MigrateReqTests.ReuseportListener(h);
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Close, l1.Id);
        DeliverAt(h, 150, Peer(46001), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1, TcpOptions.None);
        return (h, l2, cookie);
    }

    [Fact]
    public void Listen_CookieAckAfterItsReuseportListenerClosed_TheGroupsOverflowStampLetsTheOtherListenerTakeIt()
    {
        // tcp_synq_overflow() stamped the group's reuse->synq_overflow_ts (sk_reuseport_cb, Linux 4.19+), which l2 shares:
        // its tcp_synq_no_recent_overflow() is false, cookie_v4_check() validates l1's cookie and the child joins l2.
        var (h, l2, cookie) = CookieAckAfterItsListenerClosed(KernelProfile.Linux6);
        var child = Assert.Single(l2.AcceptQueue);
        Assert.Equal((TcpState.Established, cookie.SeqNo + 1), (child.State, child.SndNxt));
        Assert.Equal((1, 0, 1, 0), (h.Server.Mib[MibCounter.TcpExtSyncookiesRecv], h.Server.Mib[MibCounter.TcpExtSyncookiesFailed],
            h.Server.Mib[MibCounter.TcpPassiveOpens], h.Server.Mib[MibCounter.TcpOutRsts]));
        Assert.Single(ServerSent(h));
    }

    [Fact]
    public void Listen_CookieAckAfterItsReuseportListenerClosedOnLinux44_TheOtherListenersOwnStampResetsIt()
    {
        // 4.4 stamps the listener's own rx_opt.ts_recent_stamp: l2 never overflowed, so the ACK is a stray one (RST).
        var (h, l2, cookie) = CookieAckAfterItsListenerClosed(KernelProfile.Linux44);
        Assert.Empty(l2.AcceptQueue);
        Assert.Equal((0, 0, 1), (h.Server.Mib[MibCounter.TcpExtSyncookiesRecv], h.Server.Mib[MibCounter.TcpExtSyncookiesFailed], h.Server.Mib[MibCounter.TcpOutRsts]));
        Assert.Equal((Ms(150), "R", cookie.SeqNo + 1), (ServerSent(h).Last().At, ServerSent(h).Last().Flags.ToLetters(), ServerSent(h).Last().SeqNo));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6)]
    [InlineData(KernelProfile.Linux44)]
    public void Listen_CookieAckAfterTheListenerWasShutDownAndListensAgain_TheClearedStampResetsIt(KernelProfile profile)
    {
        // shutdown(SHUT_RD) of a listener is tcp_disconnect(), whose memset(&tp->rx_opt, 0, …) clears ts_recent_stamp, the
        // overflow stamp: listening again, the socket has not overflowed recently and resets the ACK of its own cookie.
        var h = Listening(backlog: 128, profile, x => x.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "2"));
        var listener = ListenerOf(h);
        DeliverAt(h, 1, Peer(46001), TcpFlags.Syn, PeerIsn, 0, SynOptionsNoTs);
        var cookie = ServerSent(h).Single();
        h.At(Ms(100));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = listener.Id, How = ShutdownHow.SHUT_RD });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { SocketId = listener.Id });
        DeliverAt(h, 150, Peer(46001), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1, TcpOptions.None);
        Assert.Equal(TcpState.Listen, listener.State);
        Assert.Empty(listener.AcceptQueue);
        Assert.Equal((0, 0, 1), (h.Server.Mib[MibCounter.TcpExtSyncookiesRecv], h.Server.Mib[MibCounter.TcpExtSyncookiesFailed], h.Server.Mib[MibCounter.TcpOutRsts]));
        Assert.Equal((Ms(150), "R", cookie.SeqNo + 1), (ServerSent(h).Last().At, ServerSent(h).Last().Flags.ToLetters(), ServerSent(h).Last().SeqNo));
    }

    [Fact]
    public void Listen_CookieAckWithAcceptQueueFull_ListenOverflowsAndNoRstEvenWithAbortOnOverflow()
    {
        // Backlog 0: the first SYN gets a request (0 > 0 is false), the second a cookie (1 > 0).
        var h = Listening(backlog: 0, setup: x => x.Sim.SetSysctl("server", "net.ipv4.tcp_abort_on_overflow", "1"));
        DeliverAt(h, 1, Peer(46001), TcpFlags.Syn, PeerIsn, 0, SynOptionsNoTs);
        var synAck = ServerSent(h).Last();
        DeliverAt(h, 2, Peer(46002), TcpFlags.Syn, PeerIsn, 0, SynOptionsNoTs);
        var cookie = ServerSent(h).Last();
        Assert.Equal(CookieReason, cookie.Reason);
        DeliverAt(h, 11, Peer(46001), TcpFlags.Ack, PeerIsn + 1, synAck.SeqNo + 1, TcpOptions.None);
        Assert.Single(ListenerOf(h).AcceptQueue);
        DeliverAt(h, 12, Peer(46002), TcpFlags.Ack, PeerIsn + 1, cookie.SeqNo + 1, TcpOptions.None);
        // tcp_get_cookie_sock(): syn_recv_sock fails on sk_acceptq_is_full() (1 > 0); cookie_v4_check() drops the ACK.
        Assert.Single(ListenerOf(h).AcceptQueue);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtSyncookiesRecv]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenOverflows]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpOutRsts]);
        Assert.Equal(2, ServerSent(h).Count);
    }

    [Fact]
    public void Listen_Linux44SecondSynWithBacklogOne_CookieAndOldLogFormat()
    {
        // 4.4's inet_csk_reqsk_queue_is_full() is qlen >= backlog: the second SYN already gets a cookie.
        var h = Listening(profile: KernelProfile.Linux44);
        DeliverAt(h, 1, Peer(46001), TcpFlags.Syn, PeerIsn, 0, SynOptions);
        DeliverAt(h, 2, Peer(46002), TcpFlags.Syn, PeerIsn, 0, SynOptions);
        Assert.Equal(["tcp_conn_request", CookieReason], ServerSent(h).Select(s => s.Reason));
        Assert.Single(h.Server.RequestSockets);
        Assert.Equal(["TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies.  Check SNMP counters."], h.Server.KernelLog);
    }

    /// <summary>
    /// tcp_conn_request()'s tcp_max_syn_backlog clause (tcp_syncookies 0, tcp_max_syn_backlog 8, listen backlog 100, so
    /// the queue itself is never full): a SYN is dropped once max_syn_backlog − qlen &lt; 8 &gt;&gt; 2 = 2, i.e. from a
    /// queue of 7 — SYNs 8, 9 and 10 — unless tcp_peer_is_proven(). Each drop is tcp_listendrop(), silent
    /// (pr_drop_req() is a debug line), and no TCPReqQFullDrop: the queue is not full.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6)]
    [InlineData(KernelProfile.Linux44)]
    public void Listen_SynsPastThreeQuartersOfMaxSynBacklogWithoutCookies_UnprovenPeersDropped(KernelProfile profile)
    {
        var h = Listening(backlog: 100, profile: profile, setup: x =>
        {
            x.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "0");
            x.Sim.SetSysctl("server", "net.ipv4.tcp_max_syn_backlog", "8");
        });
        for (int i = 0; i < 10; i++) DeliverAt(h, 1 + i, Peer((ushort)(46001 + i)), TcpFlags.Syn, PeerIsn, 0, SynOptions);
        Assert.Equal(Enumerable.Range(46001, 7), ServerSent(h).Select(s => (int)s.Tuple.Remote.Port));
        Assert.Equal(7, ListenerOf(h).ReqskQueueLen);
        Assert.Equal(3, h.Server.Mib[MibCounter.TcpExtListenDrops]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDrop]);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtListenOverflows]);
        Assert.Empty(h.Server.KernelLog);
    }

    /// <summary>
    /// The same ten SYNs from a peer the host's tcp_metrics cache knows: a connection from 10.0.0.1 closed by the server
    /// last (LAST-ACK → CLOSE: tcp_update_metrics() caches its srtt for (10.0.0.2, 10.0.0.1)), so tcp_peer_is_proven()
    /// is true and all ten get a SYN-ACK.
    /// </summary>
    [Fact]
    public void Listen_SynsPastThreeQuartersOfMaxSynBacklogFromAProvenPeer_AllAnswered()
    {
        var h = new Fixtures.TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        Assert.Equal(TcpState.Close, s.State);
        h.Sim.SetSysctl("server", "net.ipv4.tcp_syncookies", "0");
        h.Sim.SetSysctl("server", "net.ipv4.tcp_max_syn_backlog", "8");
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        int before = ServerSent(h).Count;
        for (int i = 0; i < 10; i++) DeliverAt(h, 400 + i, Peer((ushort)(46001 + i)), TcpFlags.Syn, PeerIsn, 0, SynOptions);
        Assert.Equal(10, ServerSent(h).Count - before);
        Assert.Equal(10, l.ReqskQueueLen);
        Assert.Equal(0, h.Server.Mib[MibCounter.TcpExtListenDrops]);
    }

    static string FloodLineFor(int port) => $"TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:{port}. Sending cookies.";

    /// <summary>
    /// 22 listeners with backlog 0 (so a second SYN finds the queue full: 1 &gt; 0) each log "Possible SYN flooding" once,
    /// through net_info_ratelimited(): one net_ratelimit_state for the whole kernel, 10 lines (message_burst) per 5 s
    /// (message_cost). Ports 8000–8019 flood at 1–20 ms: the window opens at jiffy 0, the first ten pass, ten are missed.
    /// Port 8020 floods at 5.000 s, jiffy 1250 — not after begin + 1250 — missed too. Port 8021 at 5.004 s (jiffy 1251)
    /// opens a new window, which first prints "net_ratelimit: 11 callbacks suppressed".
    /// </summary>
    [Fact]
    public void Listen_SynFloodsOnTwentyTwoListeners_TenLinesPerFiveSecondsThenTheSuppressedCount()
    {
        var h = FloodedListeners(22, [.. Enumerable.Range(0, 20).Select(i => Ms(1 + i)), S(5), Ms(5004)]);
        Assert.Equal([.. Enumerable.Range(8000, 10).Select(FloodLineFor), "net_ratelimit: 11 callbacks suppressed", FloodLineFor(8021)], h.Server.KernelLog);
        Assert.Equal(22, h.Server.Mib[MibCounter.TcpExtTCPReqQFullDoCookies]);
    }

    /// <summary>net.core.message_cost 0: ___ratelimit() never limits — every listener's line is printed.</summary>
    [Fact]
    public void Listen_SynFloodsWithMessageCostZero_EveryLinePrinted()
    {
        var h = FloodedListeners(20, [.. Enumerable.Range(0, 20).Select(i => Ms(1 + i))], x => x.Sim.SetSysctl("server", "net.core.message_cost", "0"));
        Assert.Equal(Enumerable.Range(8000, 20).Select(FloodLineFor), h.Server.KernelLog);
    }

    /// <summary>
    /// net.core.message_burst 0 refuses every line and counts each as missed (___ratelimit()'s nolock_ret); set back to
    /// 10 at 5 ms, the state re-initializes at the next call (10 ms, jiffy 2: a new window, no report yet), and the
    /// first call past jiffy 2 + 1250 — port 8004 at 5.014 s, jiffy 1253 — reports the three refused lines first.
    /// </summary>
    [Fact]
    public void Listen_SynFloodsWhileMessageBurstZero_CountedAndReportedAfterTheNextWindow()
    {
        var h = FloodedListeners(5, [Ms(1), Ms(2), Ms(3), Ms(10), Ms(5014)], x => x.Sim.SetSysctl("server", "net.core.message_burst", "0"),
            (x, i) => { if (i == 3) x.Sim.SetSysctl("server", "net.core.message_burst", "10"); });
        Assert.Equal([FloodLineFor(8003), "net_ratelimit: 3 callbacks suppressed", FloodLineFor(8004)], h.Server.KernelLog);
    }

    static Fixtures.TwoHostHarness FloodedListeners(int count, SimTime[] at, Action<Fixtures.TwoHostHarness>? setup = null,
        Action<Fixtures.TwoHostHarness, int>? before = null)
    {
        var h = Listening(backlog: 0, setup: setup);
        for (int i = 0; i < count; i++)
        {
            before?.Invoke(h, i);
            h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = (ushort)(8000 + i), Backlog = 0 });
            h.At(at[i]);
            for (ushort p = 0; p < 2; p++)
            {
                var tuple = new FourTuple(new Endpoint(IPv4.Parse("10.0.0.1"), (ushort)(40000 + 2 * i + p)), new Endpoint(IPv4.Parse("10.0.0.2"), (ushort)(8000 + i)));
                h.Deliver(h.Server, new Segment(tuple, TcpFlags.Syn, PeerIsn, 0, 65535, 0, SynOptions));
            }
        }
        return h;
    }
}
