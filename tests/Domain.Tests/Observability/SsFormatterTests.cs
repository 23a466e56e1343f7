using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Observability;

public class SsFormatterTests
{
    [Theory]
    [InlineData(7_199_000, "119min")]   // ≥ 10 min: minutes only
    [InlineData(330_000, "5min30sec")]  // 1–10 min: minutes and seconds
    [InlineData(59_000, "59sec")]       // 10 s – 1 min: seconds only
    [InlineData(10_000, "10sec")]
    [InlineData(4_976, "4.976ms")]      // 1–10 s: seconds "." milliseconds, suffixed ms (iproute2 6.1)
    [InlineData(1_356, "1.356ms")]      // as captured on the reference machine
    [InlineData(1_000, "1sec")]
    [InlineData(172, "172ms")]
    [InlineData(60, "060ms")]
    [InlineData(0, "")]
    public void MsTimer_Milliseconds_PrintsAsPrintMsTimer(long ms, string text) =>
        Assert.Equal(text, SsFormatter.MsTimer(ms));

    /// <summary>`ss -tano` of iproute2 6.1 on the 6.18.44 reference machine, piped (no terminal).</summary>
    [Fact]
    public void Extended_TeardownStates_PrintInodeCookieAndShutdownMask()
    {
        var h = new TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        // inet_sk_diag_fill() sends sk_shutdown: the listener "<->", CLOSE-WAIT (tcp_fin(): RCV_SHUTDOWN) "-->",
        // FIN-WAIT-2 after shutdown(SHUT_WR) "<--"; idiag_inode is the descriptor's inode.
        Assert.Matches($@"0\.0\.0\.0:\* +ino:{l.Id} sk:{l.Id:x} cgroup:/ <->\n", SsFormatter.Format(h.Server, info: false, extended: true));
        Assert.Matches($@":{c.Local.Port} +ino:{s.Id} sk:{s.Id:x} cgroup:/ -->\n$", SsFormatter.Format(h.Server, info: false, extended: true));
        Assert.Matches($@":80 +ino:{c.Id} sk:{c.Id:x} cgroup:/ <--\n$", SsFormatter.Format(h.Client, info: false, extended: true));

        Assert.Null(h.Sim.ChangeLink("server", "client", true, null, null, true));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1100));
        // close(): tcp_close() sets SHUTDOWN_MASK and orphans the socket (sock_i_ino() 0): LAST-ACK "---".
        Assert.EndsWith($":{c.Local.Port} timer:(on,120ms,0) ino:0 sk:{s.Id:x} cgroup:/ ---\n", SsFormatter.Format(h.Server, info: false, extended: true));

        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(2000));
        // close() in FIN-WAIT-2 parks the connection in a timewait socket (tcp_time_wait(TCP_FIN_WAIT2)): it keeps the
        // cookie (inet_twsk_alloc()) but inet_twsk_diag_fill() sends no shutdown mask.
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        Assert.NotNull(h.TimeWaitOf(c));
        Assert.EndsWith($"timer:(timewait,59sec,0) ino:0 sk:{c.Id:x}\n", SsFormatter.Format(h.Client, info: false, extended: true));
        // Without -e nothing changes.
        Assert.DoesNotContain("ino:", SsFormatter.Format(h.Client, info: true));
    }

    [Fact]
    public void Extended_RequestSocket_PrintsInodeZeroAndNoShutdownMask()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Null(h.Sim.ChangeLink("server", "client", true, null, null, true));
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(500));
        // inet_req_diag_fill(): idiag_inode 0, no INET_DIAG_CGROUP_ID and no INET_DIAG_SHUTDOWN.
        Assert.Matches(@"SYN-RECV .* timer:\(on,[^)]*\) ino:0 sk:0\n$", SsFormatter.Format(h.Server, info: false, extended: true));
    }

    [Fact]
    public void CapturedTano_SameRows_RendersByteForByte()
    {
        const string captured =
            "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process                  \n" +
            "LISTEN     0      128          0.0.0.0:47001      0.0.0.0:*                             \n" +
            "CLOSE-WAIT 1      0          127.0.0.1:47001    127.0.0.1:39738                         \n" +
            "ESTAB      0      0          127.0.0.1:39734    127.0.0.1:47001                         \n" +
            "FIN-WAIT-2 0      0          127.0.0.1:39738    127.0.0.1:47001                         \n" +
            "TIME-WAIT  0      0          127.0.0.1:39746    127.0.0.1:47001 timer:(timewait,59sec,0)\n" +
            "ESTAB      4900   0          127.0.0.1:47001    127.0.0.1:39734                         \n";
        SocketRow[] rows =
        [
            Row(TcpState.Listen, 0, 128, "0.0.0.0", 47001, "0.0.0.0", 0),
            Row(TcpState.CloseWait, 1, 0, "127.0.0.1", 47001, "127.0.0.1", 39738),
            Row(TcpState.Established, 0, 0, "127.0.0.1", 39734, "127.0.0.1", 47001),
            Row(TcpState.FinWait2, 0, 0, "127.0.0.1", 39738, "127.0.0.1", 47001),
            TimeWait59s(Row(TcpState.TimeWait, 0, 0, "127.0.0.1", 39746, "127.0.0.1", 47001)),
            Row(TcpState.Established, 4900, 0, "127.0.0.1", 47001, "127.0.0.1", 39734),
        ];
        Assert.Equal(captured, SsFormatter.Format(rows, SimTime.Zero, info: false));
    }

    /// <summary>
    /// `ss -tanoi` captured there with a listener and one TIME-WAIT socket: the last row's Process
    /// field is never measured, so the header pads only to the listener's "\n\t bbr cwnd:10".
    /// </summary>
    [Fact]
    public void CapturedTanoi_LastFieldUnmeasured_RendersByteForByte()
    {
        const string captured =
            "State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process       \n" +
            "LISTEN    0      8          127.0.0.1:47011      0.0.0.0:*    \n" +
            "\t bbr cwnd:10\n" +
            "TIME-WAIT 0      0          127.0.0.1:52012    127.0.0.1:47011 timer:(timewait,59sec,0)\n" +
            "\t\n";
        var h = new TwoHostHarness();
        var (_, _, listener) = h.Establish();
        SocketRow[] rows =
        [
            Row(TcpState.Listen, 0, 8, "127.0.0.1", 47011, "0.0.0.0", 0) with { Info = listener.Info with { CongestionControl = "bbr", Unacked = 0 } },
            TimeWait59s(Row(TcpState.TimeWait, 0, 0, "127.0.0.1", 52012, "127.0.0.1", 47011)),
        ];
        Assert.Equal(captured, SsFormatter.Format(rows, SimTime.Zero, info: true));
    }

    [Fact]
    public void TimeWait_OneSecondIn_ShowsTimewaitTimer59sec()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1210)); // the server's FIN reached the client at 210 ms
        Assert.Equal(
            "State     Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n" +
            $"TIME-WAIT 0      0           10.0.0.1:{c.Local.Port}     10.0.0.2:80   timer:(timewait,59sec,0)\n",
            SsFormatter.Format(h.Client, info: false));
    }

    [Fact]
    public void OrphanFinWait2_Parked_ShowsFinWait2WithTimewaitTimer()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(1120)); // FIN acknowledged at 120 ms: parked as a timewait socket, substate FIN_WAIT2, 60 s
        var row = Assert.Single(SocketListing.Rows(h.Client));
        Assert.Equal((SocketRowKind.TimeWait, TcpState.FinWait2, c.Id), (row.Kind, row.State, row.SocketId));
        Assert.Equal(
            "State      Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n" +
            $"FIN-WAIT-2 0      0           10.0.0.1:{c.Local.Port}     10.0.0.2:80   timer:(timewait,59sec,0)\n" +
            "\t\n",
            SsFormatter.Format(h.Client));
    }

    [Fact]
    public void Server_ListenEstablishedCloseWait_ShowsQueuesAddressesAndTcpInfo()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(1000));
        Assert.Equal(TcpState.CloseWait, s.State);
        string port = c.Local.Port.ToString();
        Assert.Equal(
            "State      Recv-Q Send-Q Local Address:Port Peer Address:Port Process         \n" +
            "LISTEN     0      128          0.0.0.0:80        0.0.0.0:*    \n" +
            "\t cubic cwnd:10\n" +
            $"CLOSE-WAIT 1      0           10.0.0.2:80       10.0.0.1:{port}\n" +
            // ato:40 — the FIN's delayed ACK fired in ping-pong mode, which resets ATO to TCP_ATO_MIN (as real ss shows).
            // rcvmss:536 — tcp_initialize_rcv_mss(): min(advmss, mss_cache, rcv_wnd / 2, TCP_MSS_DEFAULT).
            "\t ts sack cubic wscale:10,10 rto:220 rtt:20/10 ato:40 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:10 bytes_received:1 " +
            // segs_in:3 — tcp_create_openreq_child()'s 1 for the SYN, tcp_child_process()'s tcp_segs_in() for the ACK, the FIN;
            // segs_out:1 — the FIN's ACK (the SYN-ACK was the request's). lastsnd/lastrcv:972 — lsndtime and lrcvtime were
            // stamped at the child's creation (31 ms, jiffy 7; a FIN is no tcp_event_data_recv()): 250 − 7 = 243 jiffies.
            "segs_out:1 segs_in:3 send 5792000bps lastsnd:972 lastrcv:972 lastack:892 " +
            // pacing_rate: tcp_update_pacing_rate() after tcp_init_transfer(): 1448 · 80000 · 200 % · cwnd 10 / srtt_us 160000
            // = 1448000 B/s · 8. delivered:1 — tcp_rcv_state_process() SYN_RECV: "SYN-ACK delivery isn't tracked in tcp_ack".
            // app_limited — the child keeps the listener's tcp_init_sock() rate_app_limited = 1: no sample was taken yet.
            // advmss:1448 — tcp_rcv_state_process() SYN_RECV takes the timestamp option off tp->advmss, since 6.16 before
            // tcp_init_transfer() (observed on Linux 6.18.44: the passive side shows the active side's advmss).
            // rcv_space:14480 — tcp_init_buffer_space(): min(rcv_ssthresh, rcv_wnd, TCP_INIT_CWND · advmss 1448).
            // rcv_ssthresh:64088 — the SYN-ACK's window 65160 (tcp_openreq_init_rwin(): 45 × 1448), capped by
            // tcp_init_buffer_space() at window_clamp = tcp_full_space() 65536 − advmss 1448 (the segment tcp_app_win reserves).
            "pacing_rate 11584000bps delivered:1 app_limited rcv_space:14480 rcv_ssthresh:64088 minrtt:20 snd_wnd:64512\n",
            SsFormatter.Format(h.Server));
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (loopback, timestamps on): the accepted socket's tcpi_advmss is the client's, the
    /// route's advmss less the 12 timestamp bytes, and rcv_space is 10 · that — tcp_rcv_state_process() SYN_RECV takes the
    /// bytes off before tcp_init_transfer() since 6.16. linux-4.4 took them off after tcp_init_buffer_space().
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 14480, 64088)]
    // linux-4.4: the request's rcv_wnd, tcp_select_initial_window()'s 20 × 1448 (the engine had the whole space, 29 × 1460
    // capped by window_clamp = tcp_full_space(87380) 43690 − advmss 1460 = 42230, until session 34). rcv_space is 4.4's
    // "tp->rcvq_space.space = tp->rcv_wnd;", 28960 (the engine had 6.x's 10 · advmss, 14600, until session 34's fix34e).
    [InlineData(KernelProfile.Linux44, 28960, 28960)]
    public void EstablishedChild_AdvmssLosesTheTimestampBytesBeforeBufferSpace(KernelProfile profile, long rcvSpace, long rcvSsthresh)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        Assert.Equal(1448, c.Info.AdvMss);
        Assert.Equal(1448, s.Info.AdvMss);
        Assert.Equal(rcvSpace, s.Info.RcvSpace);
        Assert.Equal(rcvSsthresh, s.Info.RcvSsthresh);
    }

    [Fact]
    public void Established_Client_TcpInfoCountsTheSynInBytesAcked()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        var row = Assert.Single(SocketListing.Rows(h.Client));
        // advmss:1448 — tcp_rcv_synsent_state_process() takes the timestamp option off tp->advmss on an active open.
        Assert.Equal(" ts sack cubic wscale:10,10 rto:220 rtt:20/10 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:10 bytes_acked:1 " +
                     // segs_out:2 — SYN and ACK; segs_in:1 — the SYN-ACK. tcp_finish_connect() stamped lsndtime, lrcvtime
                     // and (tcp_ack()) rcv_tstamp at 21 ms, jiffy 5: 25 − 5 = 20 jiffies = 80 ms.
                     "segs_out:2 segs_in:1 send 5792000bps lastsnd:80 lastrcv:80 lastack:80 " +
                     // pacing_rate: the SYN-ACK's tcp_ack() → tcp_update_pacing_rate() with the mss_cache its
                     // tcp_ack_update_window() → tcp_sync_mss() gave (1460 − 12, observed on Linux 6.18.44):
                     // 1448 · 80000 · 200 % · 10 / srtt_us 160000 = 1448000 B/s · 8. delivered:1 — the SYN (tcp_clean_rtx_queue()).
                     // app_limited — tcp_init_sock()'s rate_app_limited = 1: the SYN gives no rate sample (delivered_mstamp 0).
                     // rcv_space:14480 — min(rcv_wnd, 10 · advmss 1448).
                     "pacing_rate 11584000bps delivered:1 app_limited rcv_space:14480 " +
                     // snd_wnd:65160 — the server's SYN-ACK window (45 × 1448); rcv_ssthresh:64088 — the client's own SYN window
                     // (44 × 1460 = 64240) capped by tcp_init_buffer_space() at window_clamp = 65536 − advmss 1448.
                     "rcv_ssthresh:64088 minrtt:20 snd_wnd:65160", SsFormatter.InfoText(row.Info!));
        Assert.Equal(c.Info, row.Info);
    }

    [Fact]
    public void Listing_ListenersFirst_TimewaitAndRequestRowsHaveNoTcpInfo()
    {
        var h = new TwoHostHarness();
        var (c, s, l) = h.Establish();
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400)); // the server closed first: it holds the TIME-WAIT
        var rows = SocketListing.Rows(h.Server);
        Assert.Equal([(SocketRowKind.Full, TcpState.Listen), (SocketRowKind.TimeWait, TcpState.TimeWait)],
            rows.Select(r => (r.Kind, r.State)));
        Assert.Equal(l.Id, rows[0].SocketId);
        Assert.NotNull(rows[0].Info);
        Assert.Null(rows[1].Info);
    }

    [Fact]
    public void SynSent_SsInfo_AgesCountFromRawJiffiesZero()
    {
        // tp->lsndtime, icsk_ack.lrcvtime and tp->rcv_tstamp stay 0 until the handshake (tcp_connect_init() sets none),
        // so tcp_get_info()'s jiffies_to_msecs(tcp_jiffies32 − 0) counts from raw jiffies 0: at 1.6 s jiffies32 is
        // INITIAL_JIFFIES (2^32 − 75000) + 400 = 4294892696, × 4 ms in u32 = 4294668896. segs_out:2 — the SYN and its
        // retransmission at 1.024 s; mss:524 — the connect-time mss_cache.
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(1600));

        var info = h.Sim.FindSocket(c.SocketId)!.Info;
        Assert.Equal((4294668896L, 4294668896L, 4294668896L), (info.LastDataSentMs, info.LastDataRecvMs, info.LastAckRecvMs));
        string text = SsFormatter.InfoText(info);
        Assert.Contains(" mss:524 ", text);
        Assert.Contains(" segs_out:2 lastsnd:4294668896 lastrcv:4294668896 lastack:4294668896 ", text);
    }

    /// <summary>
    /// Observed on Linux 6.18.44: a SYN-SENT socket shows `rcvmss:88` — tcp_connect_init() runs tcp_initialize_rcv_mss()
    /// before tcp_select_initial_window() sets rcv_wnd, so min(…, rcv_wnd / 2 = 0, …) leaves TCP_MIN_MSS. The
    /// handshake's end sets 536 again. (The real line on loopback: `cubic rto:1000 mss:524 pmtu:65535 rcvmss:88
    /// advmss:65495 cwnd:10 segs_out:1 lastsnd:… app_limited unacked:1 rcv_ssthresh:65495`.)
    /// </summary>
    [Fact]
    public void SynSent_SsInfo_RcvMssIsTcpMinMss()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(500));

        string text = SsFormatter.InfoText(h.Sim.FindSocket(c.SocketId)!.Info);
        Assert.StartsWith(" cubic rto:1000 mss:524 pmtu:1500 rcvmss:88 advmss:1460 cwnd:10 segs_out:1 lastsnd:", text);
        Assert.EndsWith(" app_limited unacked:1 rcv_ssthresh:64240", text);
        var (_, s, _) = new TwoHostHarness().Establish();
        Assert.Equal(536, s.Info.RcvMss);
    }

    [Fact]
    public void Established_Send3000_SegmentAndByteCountsAsTcpGetInfo()
    {
        // __tcp_transmit_skb(): the client's segs_out counts SYN, ACK and the 3 data segments (1448 + 1448 + 104 at
        // 100 ms), data_segs_out and bytes_sent only the data; tcp_segs_in() on the server: SYN (1 from
        // tcp_create_openreq_child()), the handshake ACK, 3 data segments. lastsnd: lsndtime 100 ms (jiffy 25) → at
        // 200 ms (jiffy 50) 100 ms; the server's lastrcv: tcp_event_data_recv() at 110 ms (jiffy 27) → 92 ms.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 3000);
        h.At(Ms(200));

        var ci = c.Info;
        Assert.Equal((5L, 3L, 3000L, 0L), (ci.SegsOut, ci.DataSegsOut, ci.BytesSent, ci.BytesRetrans));
        Assert.Equal(100, ci.LastDataSentMs);
        var si = s.Info;
        Assert.Equal((5L, 3L, 3000L), (si.SegsIn, si.DataSegsIn, si.BytesReceived));
        Assert.Equal(92, si.LastDataRecvMs);
    }

    static SocketRow Row(TcpState state, long rq, long sq, string local, ushort lport, string remote, ushort rport) =>
        new("host", SocketRowKind.Full, 1, state, new Endpoint(IPv4.Parse(local), lport), new Endpoint(IPv4.Parse(remote), rport),
            rq, sq, null, default, 0, false);

    /// <summary>A timewait row whose timer has 59.5 s left at time zero ("59sec").</summary>
    static SocketRow TimeWait59s(SocketRow row) =>
        row with { Kind = SocketRowKind.TimeWait, TimerName = "timewait", TimerExpires = new SimTime(59_500_000_000) };
}
