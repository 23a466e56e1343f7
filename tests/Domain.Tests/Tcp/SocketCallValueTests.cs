using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>What getsockopt writes to optval and what getpeername reports (client 10.0.0.1, server 10.0.0.2, 10 ms apart).</summary>
public class SocketCallValueTests
{
    static CallHandle GetOption(TwoHostHarness h, TcpSocket sk, SocketOption option) =>
        h.Call(new SocketCallRequest(sk.Host.Name, "app", SocketCallKind.Getsockopt) { SocketId = sk.Id, Option = option });

    [Fact]
    public void Established_GetsockoptSoLinger_WritesStructLinger()
    {
        // sock_getsockopt(SO_LINGER): struct linger { l_onoff, l_linger } as set.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 5, lingerOnOff: 1);

        var got = GetOption(h, c, SocketOption.SO_LINGER);

        Assert.Equal((5L, "{\"onoff\":1,\"linger\":5}"), (got.Result, got.Value));
        Assert.Equal(got.Value, h.Returned(got.CallId)!.Value);
    }

    [Fact]
    public void Established_GetsockoptTcpInfo_ReportsTcpGetInfoFields()
    {
        // tcp_get_info() at 100 ms: ESTABLISHED, no retransmissions or probes, rto = 220 ms in µs
        // (RTT 20 ms: srtt + 4·rttvar, rttvar floored at tcp_rto_min 200 ms / 4), mss_cache 1448; no rate sample yet
        // (delivery_rate 0) and app-limited since tcp_init_sock() (app_limited = ~0U), no data queued (the chronographs 0).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.At(Ms(100));

        var got = GetOption(h, c, SocketOption.TCP_INFO);

        Assert.Equal(0, got.Result);
        Assert.Equal("{\"state\":\"ESTABLISHED\",\"ca_state\":0,\"retransmits\":0,\"probes\":0,\"backoff\":0,\"rto\":220000,\"snd_mss\":1448,\"unacked\":0," +
            "\"sacked\":0,\"lost\":0,\"retrans\":0,\"snd_ssthresh\":2147483647,\"snd_cwnd\":10," +
            // The fields ss -i prints (Established_Client_TcpInfoCountsTheSynInBytesAcked), in struct tcp_info's units: µs for
            // rtt/rttvar/min_rtt/ato, ms for the last_* ages, bytes/s for pacing_rate.
            "\"ato\":0,\"rcv_mss\":536,\"last_data_sent\":80,\"last_ack_sent\":0,\"last_data_recv\":80,\"last_ack_recv\":80,\"pmtu\":1500," +
            "\"rcv_ssthresh\":64088,\"rtt\":20000,\"rttvar\":10000,\"advmss\":1448,\"reordering\":3,\"rcv_rtt\":0,\"rcv_space\":14480," +
            "\"total_retrans\":0,\"pacing_rate\":1448000,\"bytes_acked\":1,\"bytes_received\":0,\"segs_out\":2,\"segs_in\":1," +
            "\"notsent_bytes\":0,\"min_rtt\":20000,\"data_segs_in\":0,\"data_segs_out\":0,\"delivered\":1,\"bytes_sent\":0," +
            "\"bytes_retrans\":0,\"dsack_dups\":0,\"reord_seen\":0,\"rcv_ooopack\":0,\"snd_wnd\":65160,\"rcv_wnd\":64512,\"rehash\":0," +
            "\"delivery_rate\":0,\"delivery_rate_app_limited\":1,\"busy_time\":0,\"rwnd_limited\":0,\"sndbuf_limited\":0,\"delivered_ce\":0," +
            "\"total_rto\":0,\"total_rto_recoveries\":0,\"total_rto_time\":0}", got.Value);
    }

    /// <summary>
    /// Observed on Linux 6.18.44: a listener with two connections waiting in its accept queue reads tcpi_unacked 2 and
    /// tcpi_sacked the backlog ("listeners aliased fields"), pacing_rate ~0, reordering 3, snd_cwnd 10, and 0 in every
    /// other field (tcp_get_info() returns early) — min_rtt too, not ~0.
    /// </summary>
    [Fact]
    public void Listen_TwoQueued_GetsockoptTcpInfoAliasesTheQueueAndReturnsEarly()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 7 });
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        var info = GetOption(h, h.Sim.FindSocket(l.SocketId)!, SocketOption.TCP_INFO).Value!;

        Assert.Contains("\"state\":\"LISTEN\",\"ca_state\":0,\"retransmits\":0,\"probes\":0,\"backoff\":0,\"rto\":0,\"snd_mss\":0,\"unacked\":2,\"sacked\":7,", info, StringComparison.Ordinal);
        Assert.Contains("\"snd_cwnd\":10,\"ato\":0,\"rcv_mss\":0,", info, StringComparison.Ordinal);
        Assert.Contains("\"reordering\":3,\"rcv_rtt\":0,\"rcv_space\":0,\"total_retrans\":0,\"pacing_rate\":18446744073709551615,", info, StringComparison.Ordinal);
        Assert.Contains("\"min_rtt\":0,", info, StringComparison.Ordinal);
    }

    /// <summary>
    /// __sys_listen_socket() — net/socket.c: <c>if ((unsigned int)backlog > somaxconn) backlog = somaxconn;</c>. A negative
    /// backlog (compared unsigned) and one above somaxconn (4096) both become 4096 (the listener's tcpi_sacked), and the
    /// connections are queued; the engine kept -1, so its accept queue was always full and every SYN was dropped.
    /// </summary>
    [Theory]
    [InlineData(-1, 4096)]
    [InlineData(int.MinValue, 4096)]
    [InlineData(5000, 4096)]
    [InlineData(0, 0)]
    public void Listen_NegativeOrAboveSomaxconn_BacklogIsSomaxconnAndConnectionsQueue(int backlog, int expected)
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = backlog });
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        var info = GetOption(h, h.Sim.FindSocket(l.SocketId)!, SocketOption.TCP_INFO).Value!;

        Assert.Contains($"\"unacked\":1,\"sacked\":{expected},", info, StringComparison.Ordinal);
    }

    /// <summary>linux-4.4's struct tcp_info ends at tcpi_segs_in: no notsent_bytes, min_rtt, data_segs_*, delivered, snd_wnd.</summary>
    [Fact]
    public void Established_Linux44_GetsockoptTcpInfoHasOnly44sFields()
    {
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var (c, _, _) = h.Establish();
        h.At(Ms(100));

        var info = GetOption(h, c, SocketOption.TCP_INFO).Value!;

        // The JSON ends with segs_in (until session 33 the 4.9–6.7 members delivery_rate … total_rto followed it).
        Assert.EndsWith("\"bytes_acked\":1,\"bytes_received\":0,\"segs_out\":2,\"segs_in\":1}", info, StringComparison.Ordinal);
        Assert.DoesNotContain("delivery_rate", info, StringComparison.Ordinal);
        Assert.DoesNotContain("min_rtt", info, StringComparison.Ordinal);
        Assert.DoesNotContain("snd_wnd", info, StringComparison.Ordinal);
    }

    /// <summary>
    /// tcp_update_rto_stats() (6.7+): each RTO bumps total_rto; the first of an episode (icsk_retransmits 0) starts an RTO
    /// recovery (total_rto_recoveries, rto_stamp = tcp_clock_ms()). tcp_get_info() adds an unfinished recovery's time up to
    /// now; the ACK that ends CA_Loss (tcp_fastretrans_alert() → tcp_update_rto_time()) freezes it in total_rto_time.
    /// 1000 bytes at 200 ms into a cut link: loss probe, then RTOs at RtoAt[0] and RtoAt[1]; the ACK of all of it at 2 s.
    /// </summary>
    [Fact]
    public void Established_TwoRtosThenRecovery_GetsockoptTcpInfoReportsRtoStats()
    {
        var f = new AckedSender();
        f.H.Send(f.C.Id, 1000);
        f.H.At(Ms(1999));
        var data = f.H.Sent("client").Where(x => x.Len > 0).Select(x => x.At.Ns / 1_000_000).ToArray();
        Assert.Equal(FirstRtoMs, data[2]); // data[0] the send, data[1] the loss probe, data[2..] the RTOs
        Assert.Equal(3 + 1, data.Length);
        Assert.Equal(2, f.H.Client.Mib[MibCounter.TcpExtTCPTimeouts]);
        // tcp_get_info()'s loss-recovery fields in CA_Loss after the second RTO: icsk_retransmits and icsk_backoff 2, the
        // one segment lost and retransmitted (lost_out, retrans_out), cwnd 1 (tcp_enter_loss(): in flight + 1), ssthresh
        // cubic's 10 · 717 / 1024 = 7 from the first RTO (the second, in CA_Loss with icsk_retransmits 1, keeps it).
        var loss = GetOption(f.H, f.C, SocketOption.TCP_INFO).Value!;
        Assert.Contains("\"ca_state\":4,\"retransmits\":2,\"probes\":0,\"backoff\":2,", loss, StringComparison.Ordinal);
        Assert.Contains("\"unacked\":1,\"sacked\":0,\"lost\":1,\"retrans\":1,\"snd_ssthresh\":7,\"snd_cwnd\":1,", loss, StringComparison.Ordinal);
        Assert.Equal("\"total_rto\":2,\"total_rto_recoveries\":1,\"total_rto_time\":" + (1999 - FirstRtoMs) + "}",
            RtoStats(GetOption(f.H, f.C, SocketOption.TCP_INFO).Value!));

        f.Ack(Ms(2000), 1000);
        f.H.At(Ms(2500));

        Assert.Equal(0, f.C.Info.CaState);
        Assert.Equal("\"total_rto\":2,\"total_rto_recoveries\":1,\"total_rto_time\":" + (2000 - FirstRtoMs) + "}",
            RtoStats(GetOption(f.H, f.C, SocketOption.TCP_INFO).Value!));
    }

    /// <summary>
    /// tcp_create_openreq_child() (6.7+): a request whose SYN-ACK timer fired hands its child total_rto = num_timeout,
    /// one finished recovery and total_rto_time = tcp_clock_ms() − the first SYN-ACK's time. The first SYN-ACK (11 ms)
    /// is lost; the client's SYN retransmission and the SYN-ACK timer resend it; the child is created by the ACK.
    /// </summary>
    [Fact]
    public void SynAckTimedOut_AcceptedChild_StartsWithOneRtoRecovery()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Null(h.Sim.ChangeLink("server", "client", true, null, null, true));
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(500));
        Assert.Null(h.Sim.ChangeLink("server", "client", true, null, null, false));
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(3000));
        var child = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;
        var synAcks = h.Sent("server").Where(x => x.Flags.HasFlag(TcpFlags.Syn)).Select(x => x.At.Ns / 1_000_000).ToArray();
        long createdMs = h.States(child.Id).First().At.Ns / 1_000_000;
        Assert.Equal((11L, 1044L), (synAcks[0], createdMs));
        Assert.Equal("\"total_rto\":1,\"total_rto_recoveries\":1,\"total_rto_time\":" + (1044 - 11) + "}",
            RtoStats(GetOption(h, child, SocketOption.TCP_INFO).Value!));
    }

    const long FirstRtoMs = 648;

    static string RtoStats(string json) => json[json.IndexOf("\"total_rto\"", StringComparison.Ordinal)..];

    [Fact]
    public void Listen_GetsockoptTcpInfo_SackedIsTheMaxBacklog()
    {
        // tcp_get_info() for TCP_LISTEN ("listeners aliased fields"): tcpi_unacked = sk_ack_backlog (0 queued),
        // tcpi_sacked = sk_max_ack_backlog (listen(5)), snd_cwnd filled before the early return, snd_ssthresh left 0.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 5 });
        var info = GetOption(h, h.Sim.FindSocket(l.SocketId)!, SocketOption.TCP_INFO).Value!;
        Assert.Contains("\"unacked\":0,\"sacked\":5,\"lost\":0,\"retrans\":0,\"snd_ssthresh\":0,\"snd_cwnd\":10,", info, StringComparison.Ordinal);
    }

    [Fact]
    public void Linux44_GetsockoptTcpInfo_HasNoRtoStats()
    {
        // linux-4.4's struct tcp_info ends long before 6.7's tcpi_total_rto* fields.
        var h = new TwoHostHarness(profile: KernelProfile.Linux44);
        var (c, _, _) = h.Establish();
        Assert.DoesNotContain("total_rto", GetOption(h, c, SocketOption.TCP_INFO).Value!, StringComparison.Ordinal);
    }

    [Fact]
    public void Close_AfterPeerRst_GetsockoptSoErrorReadsAndClearsSkErr()
    {
        // tcp_reset() sets sk_err = ECONNRESET; sock_error() returns it and leaves 0 (xchg).
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.CloseWithRst(c.Id);
        h.At(Ms(200));
        Assert.Equal(TcpState.Close, s.State);

        var first = GetOption(h, s, SocketOption.SO_ERROR);
        var second = GetOption(h, s, SocketOption.SO_ERROR);

        Assert.Equal((104L, "\"ECONNRESET\""), (first.Result, first.Value));
        Assert.Equal((0L, "0"), (second.Result, second.Value));
    }

    [Fact]
    public void Close_SetsockoptSoError_FailsWithEnoprotoopt()
    {
        var h = new TwoHostHarness();
        var sk = h.Call("client", SocketCallKind.Socket);

        var set = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = sk.SocketId, Option = SocketOption.SO_ERROR, Value = 1 });

        Assert.Equal(Errno.ENOPROTOOPT, set.Errno);
    }

    [Fact]
    public void Established_Getpeername_ReportsThePeerAddress()
    {
        // inet_getname(peer = 1): daddr and dport.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();

        var client = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getpeername) { SocketId = c.Id });
        var server = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Getpeername) { SocketId = s.Id });

        Assert.Equal((0L, "\"10.0.0.2:80\""), (client.Result, client.Value));
        Assert.Equal($"\"10.0.0.1:{c.Local.Port}\"", server.Value);
    }

    [Fact]
    public void Close_GetpeernameOnAFreshSocket_FailsWithEnotconn()
    {
        // inet_getname(): no peer port (and CLOSE) → ENOTCONN.
        var h = new TwoHostHarness();
        var sk = h.Call("client", SocketCallKind.Socket);

        var got = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getpeername) { SocketId = sk.SocketId });

        Assert.Equal((Errno.ENOTCONN, null), (got.Errno, got.Value));
    }

    [Fact]
    public void SynSent_Getpeername_FailsWithEnotconn()
    {
        // inet_getname(): SYN-SENT with peer = 1 is "not connected" although the peer is known.
        var h = new TwoHostHarness();
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });

        var got = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getpeername) { SocketId = connect.SocketId });

        Assert.Equal(Errno.ENOTCONN, got.Errno);
    }
}
