using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Loopback and several addresses per host: 127.0.0.0/8 and the host's own addresses are RTN_LOCAL (a segment
/// to them goes out through lo and comes back in the same host, with no link), bind() takes a local address,
/// and the bind hash compares addresses as inet_rcv_saddr_equal() does. Client 10.0.0.1, server 10.0.0.2.
/// </summary>
public class LoopbackTests
{
    static CallHandle ListenOn(TwoHostHarness h, string host, string? address, ushort port = 80) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Listen) { Port = port, Address = address });

    static CallHandle ConnectTo(TwoHostHarness h, string host, string to, ushort port = 80) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Connect) { ToHost = to, ToPort = port });

    static CallHandle Bind(TwoHostHarness h, string host, int socket, string? address, ushort port) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Bind) { SocketId = socket, Address = address, Port = port });

    /// <summary>
    /// A listener of "client" on <paramref name="listenAddress"/>:80 at 0 ms, a connect to <paramref name="to"/>:80 at
    /// 1 ms and its accept; the clock at <paramref name="atMs"/>. The connect's handle, its socket and the accepted one.
    /// </summary>
    static (TwoHostHarness H, CallHandle Connect, TcpSocket Client, TcpSocket Server) LocalHandshake(
        double atMs, string? listenAddress = "127.0.0.1", string to = "127.0.0.1")
    {
        var h = new TwoHostHarness();
        var l = ListenOn(h, "client", listenAddress);
        h.At(Ms(1));
        var c = ConnectTo(h, "client", to);
        var accept = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(atMs));
        return (h, c, h.Sim.FindSocket(c.SocketId)!, h.Sim.FindSocket(h.Returned(accept.CallId)!.SocketId)!);
    }

    [Fact]
    public void Close_ConnectTo127001_TheHandshakeStaysInsideTheHostAtOneInstant()
    {
        // ip_route_connect(): 127.0.0.1 is a local route with src 127.0.0.1; the segments go out through lo and
        // come back to the same host (no link, no delay): SYN, SYN-ACK and ACK all at 1 ms, connect() returns then.
        var (h, c, sk, child) = LocalHandshake(atMs: 50, listenAddress: null);

        Assert.Equal((Ms(1), 0L), (h.Returned(c.CallId)!.At, h.Returned(c.CallId)!.Result));
        Assert.Equal(("127.0.0.1", "127.0.0.1:80", TcpState.Established), (sk.Local.Address.ToString(), sk.Remote.ToString(), sk.State));
        Assert.Equal(["S:client", "S.:client", ".:client"], h.Segments().Take(3).Select(s => $"{s.Flags.ToLetters()}:{s.To}"));
        Assert.All(h.Segments(), s => Assert.Equal(Ms(1), s.At));
        Assert.Equal(("127.0.0.1:80", sk.Local.ToString()), (child.Local.ToString(), child.Remote.ToString()));
        Assert.DoesNotContain(h.Sim.Journal.OfType<SegmentDelivered>(), d => d.Host == "server");
    }

    /// <summary>
    /// connect() to 0.0.0.0: ip_route_output_key_hash_rcu() makes a flow with no destination a local route through lo
    /// with daddr = saddr = 127.0.0.1 for an unbound socket, and tcp_v4_connect() keeps fl4->daddr as the peer. The
    /// handshake is the one to 127.0.0.1 (all at 1 ms, no link); the socket's peer is 127.0.0.1:80, never 0.0.0.0 (it
    /// was ENETUNREACH: no route to 0.0.0.0). Observed on Linux 6.18.44: peer ('127.0.0.1', 80).
    /// </summary>
    [Fact]
    public void Close_ConnectTo0000_ConnectsOverLoFrom127001To127001()
    {
        var (h, c, sk, child) = LocalHandshake(atMs: 50, listenAddress: null, to: "0.0.0.0");

        Assert.Equal((Ms(1), 0L), (h.Returned(c.CallId)!.At, h.Returned(c.CallId)!.Result));
        Assert.Equal(("127.0.0.1", "127.0.0.1:80", TcpState.Established), (sk.Local.Address.ToString(), sk.Remote.ToString(), sk.State));
        Assert.Equal(["S:client 127.0.0.1:80", "S.:client 127.0.0.1:" + sk.Local.Port, ".:client 127.0.0.1:80"],
            h.Segments().Take(3).Select(s => $"{s.Flags.ToLetters()}:{s.To} {s.Tuple.Remote}"));
        Assert.All(h.Segments(), s => Assert.Equal(Ms(1), s.At));
        Assert.Equal(("127.0.0.1:80", sk.Local.ToString()), (child.Local.ToString(), child.Remote.ToString()));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpActiveOpens]);
    }

    /// <summary>
    /// A socket bound to the host's own 10.0.0.1 has inet_saddr 10.0.0.1: "fl4->daddr = fl4->saddr" makes that the
    /// destination (through lo), so it connects to 10.0.0.1:80 from 10.0.0.1; with nothing listening on port 81 lo's
    /// RST refuses it at once (ECONNREFUSED at 1 ms, not ENETUNREACH).
    /// </summary>
    [Fact]
    public void BoundSocket_ConnectTo0000_GoesToItsOwnAddress_NoListenerIsRefusedAtOnce()
    {
        var h = new TwoHostHarness();
        ListenOn(h, "client", null);
        h.At(Ms(1));
        var s = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Socket));
        Bind(h, "client", s.SocketId, "10.0.0.1", 0);
        var bound = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "0.0.0.0", ToPort = 80 });
        var refused = ConnectTo(h, "client", "0.0.0.0", 81);
        h.At(Ms(50));

        var sk = h.Sim.FindSocket(bound.SocketId)!;
        Assert.Equal((Ms(1), 0L), (h.Returned(bound.CallId)!.At, h.Returned(bound.CallId)!.Result));
        Assert.Equal(("10.0.0.1", "10.0.0.1:80", TcpState.Established), (sk.Local.Address.ToString(), sk.Remote.ToString(), sk.State));
        Assert.Equal((Ms(1), Errno.ECONNREFUSED), (h.Returned(refused.CallId)!.At, h.Returned(refused.CallId)!.Errno));
        Assert.Contains(h.Segments(), seg => seg.Flags == (TcpFlags.Rst | TcpFlags.Ack) && seg.Tuple.Local.ToString() == "127.0.0.1:81" && seg.At == Ms(1));
        Assert.DoesNotContain(h.Segments(), seg => seg.To == "server");
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (ss -tanoie, TCP_INFO) for a handshake on 127.0.0.1: lo's MTU 65536, capped at
    /// IP_MAX_MTU by ipv4_mtu(), gives pmtu 65535 and advmss 65535 − 40 = 65495 (ipv4_default_advmss()), the MSS both
    /// SYNs carry; the SYN offers rcv_wnd = tcp_full_space 65536 rounded down to that MSS (65495), the SYN-ACK 65536
    /// rounded down to the MSS less the timestamp option (65483). Both ends' advmss lose the 12 timestamp bytes
    /// (65483). mss_cache is bounded by tcp_bound_to_half_wnd(): the client's half of the SYN-ACK's 65483 (32741),
    /// the server's half of the ACK's 64 &lt;&lt; 10 = 65536 (32768). rcv_space 65495 / 65483, rcv_ssthresh the same.
    /// </summary>
    [Fact]
    public void Handshake_OnLoopback_UsesLosMtuForMssWindowsAndTcpInfo()
    {
        var (h, _, client, server) = LocalHandshake(atMs: 50);

        var segs = h.Sim.Journal.OfType<SegmentSent>().Take(3).ToList();
        Assert.Equal((TcpFlags.Syn, (ushort)65495, (ushort)65495), (segs[0].Flags, segs[0].Options.Mss, segs[0].Win));
        Assert.Equal((TcpFlags.Syn | TcpFlags.Ack, (ushort)65495, (ushort)65483), (segs[1].Flags, segs[1].Options.Mss, segs[1].Win));
        Assert.Equal((ushort)64, segs[2].Win); // 65495 >> wscale 10, rounded up to the scale
        var (ci, si) = (client.Info, server.Info);
        Assert.Equal((65535, 65483, 32741, 65495L, 65495L, 65483L), (ci.Pmtu, ci.AdvMss, ci.SndMss, ci.RcvSpace, ci.RcvSsthresh, ci.SndWnd));
        Assert.Equal((65535, 65483, 32768, 65483L, 65483L, 65536L), (si.Pmtu, si.AdvMss, si.SndMss, si.RcvSpace, si.RcvSsthresh, si.SndWnd));
    }

    /// <summary>
    /// tcp_sndbuf_expand() over lo (MTU 65536): mss_clamp 65495 + MAX_TCP_HEADER 192 + 320 = 66007 → 131072, + 256 =
    /// 131328; 2 · 10 · 131328 = 2626560 on both sides, under tcp_wmem[2]. Observed on Linux 6.18.44 (cubic, lo at its
    /// own MTU): SO_SNDBUF 2626560 after connect() and accept(), `ss -tm` tb2626560.
    /// </summary>
    [Fact]
    public void Handshake_OnLoopback_SndbufIs2626560OnBothSides()
    {
        var (h, _, client, server) = LocalHandshake(atMs: 50);

        long SndBuf(TcpSocket sk) => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = sk.Id, Option = SocketOption.SO_SNDBUF }).Result;
        Assert.Equal((2626560L, 2626560L), (SndBuf(client), SndBuf(server)));
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (`ss -tmi`, /proc/net/tcp): one write of <paramref name="len"/> bytes right after a
    /// loopback handshake, unread. The receiver is charged the sender's skb — payload + 832 (skmem r) — so
    /// tcp_measure_rcv_mss() sets scaling_ratio = len · 256 / truesize, and tcp_grow_window() (128 bytes or more) lifts
    /// rcv_ssthresh to tcp_space() and sets icsk_ack.quick |= 1 before the ACK spends one: quick 16 → 16 after 1024 bytes,
    /// 15 after 100 (no growth), 10 / 2 / 0 where tcp_incr_quickack() gives rcv_wnd / (2 · rcv_mss) = 10, 3, 1. The
    /// sender's mss follows half the window it was offered (tcp_bound_to_half_wnd()).
    /// </summary>
    [Theory]
    [InlineData(100, 932, 65483, 15, 65536, 32768)]
    [InlineData(1024, 1856, 71169, 16, 71680, 35840)]
    [InlineData(1448, 2280, 81501, 16, 81920, 40960)]
    [InlineData(3000, 3832, 99406, 10, 100352, 50176)]
    [InlineData(10000, 10832, 110846, 2, 111616, 55808)]
    [InlineData(32000, 32832, 95553, 0, 96256, 48128)]
    public void Established_OneUnreadWriteOverLoopback_ChargedTheSendersTruesizeAndTheWindowGrows(
        int len, long rmem, long rcvSsthresh, int quick, long clientSndWnd, int clientMss)
    {
        var (h, _, c, server) = LocalHandshake(atMs: 20);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.Id, Bytes = len });
        h.At(Ms(70));

        Assert.Equal((rmem, rcvSsthresh, quick), (server.RmemAlloc, server.Info.RcvSsthresh, server.AckQuickPingPong >> 1));
        Assert.Equal((clientSndWnd, clientMss), (c.Info.SndWnd, c.Info.SndMss));
        Assert.Equal(65483L, server.Info.RcvSpace);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-read-grows-rcvbuf-and-window.json; fuzz --profile options seed 2,
    /// case 15): 268431 bytes written over 127.0.0.1 at 137 ms, read at 317 ms (127973) and 464 ms (95232). The first
    /// read's window update (93 &lt;&lt; 10) releases a 95232-byte GSO skb (mss 47616), which reaches lo's gso_max_size
    /// and is cut in software into two 47616-byte skbs of their own; both come while the read owns the socket, and
    /// tcp_add_backlog() merges them (TCPBacklogCoalesce 1): one skb, truesize 95232 + 832 (one small head), so the
    /// reader holds 96064 bytes of rmem where two skbs held 2 · (47616 + 832) = 96896. tcp_v4_rcv() counted both
    /// pieces before (segs_in 11, data_segs_in 9 — the kernel's TCP_INFO). The second read copies the one skb: a receiver
    /// RTT with 190464 bytes read beyond rcvq_space.space 65483, tcp_rcvbuf_grow(sk, 190464): rcvwin = 380928 + 2 ·
    /// (380928 · 124981 / 65483 = 727040) = 1835008, sk_rcvbuf = 1835008 · 256 / 252 = 1864135 (the skbs kept apart, as
    /// before session 28, measured after the first: 95232 and 369290). The last 45226 bytes arrive as one skb with no
    /// payload in its head: truesize_adjust() weighs its payload alone, tcp_grow_window() adds 2 · advmss (130966):
    /// rcv_ssthresh 95232 → 226198, and the ACK offers 221.
    /// </summary>
    [Fact]
    public void Established_LoWriteReadInTwoParts_TheCutGsoPiecesMergeInTheReadersBacklogAndRcvbufGrowsFromTheWholeRead()
    {
        var (h, c, _, server) = LocalHandshake(atMs: 137);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 268431 });
        h.At(Ms(317));
        var first = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        h.At(Ms(318));
        Assert.Equal((1L, 96064L), (h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce], server.RmemAlloc));
        h.At(Ms(464));
        var second = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        h.At(Ms(600));

        Assert.Equal((127973L, 95232L), (first.Result, second.Result));
        long rcvbuf = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = server.Id, Option = SocketOption.SO_RCVBUF }).Result;
        Assert.Equal((1864135L, 190464L, 226198L), (rcvbuf, server.Info.RcvSpace, server.Info.RcvSsthresh));
        Assert.Equal((11L, 9L, 47616), (server.Info.SegsIn, server.Info.DataSegsIn, server.Info.RcvMss));
        var finAck = h.Sent("client").Last(x => x.Tuple.Local.Port == 80);
        Assert.Equal((268432u, (ushort)221), (finAck.AckNo - server.Irs, finAck.Win));
    }

    /// <summary>
    /// A listener of "client" on :80 at TCP_MAXSEG 20000 (mss 19988), a connect to 127.0.0.1:80 at 1 ms and its accept,
    /// and 327481 bytes written at 137 ms, net.ipv4.tcp_backlog_ack_defer at <paramref name="defer"/>. The accepted
    /// socket (the reader) and the writer's port.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Reader, ushort Writer) MaxSeg20000Write(string defer)
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_backlog_ack_defer", defer);
        var l = h.Call("client", SocketCallKind.Socket);
        h.SetOption(l.SocketId, SocketOption.TCP_MAXSEG, 20000);
        Bind(h, "client", l.SocketId, null, 80);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { SocketId = l.SocketId, Backlog = 8 });
        h.At(Ms(1));
        var c = ConnectTo(h, "client", "127.0.0.1");
        var accept = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(137));
        var reader = h.Sim.FindSocket(h.Returned(accept.CallId)!.SocketId)!;
        ushort writer = h.Sim.FindSocket(c.SocketId)!.Local.Port;
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 327481 });
        return (h, reader, writer);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-reads-an-rtt-apart-grow-rcvbuf.json; python over lo with the
    /// tcp:tcp_rcvbuf_grow tracepoint): 1000 bytes written over 127.0.0.1 at 30 ms and 99500 at 50 ms; the 35328-byte
    /// segments echo the ACK of 30 ms, so the receiver's RTT is 20 ms (tcp_rcv_rtt_measure_ts()), and nothing arrives
    /// after 50 ms. tcp_rcv_space_adjust() reads the clock itself on 6.18 (tcp_mstamp_refresh(); 6.19 drops it): the
    /// read of 500 at 70 ms starts a new measure at 70 ms (100000 still queued), one of 10000 at 80 ms is under the RTT,
    /// and the rest read at <paramref name="lastReadMs"/> ms grows sk_rcvbuf once an RTT has passed since 70 ms:
    /// tcp_rcvbuf_grow(sk, 100000), SO_RCVBUF 420704 (the tracepoint's time = the gap between the reads). From the
    /// stamp of the last segment (50 ms), as the engine had it, no RTT passes after the first read: 131072.
    /// </summary>
    [Theory]
    [InlineData(100, 420704L, 100000L)]
    [InlineData(85, 131072L, 65483L)]
    public void Established_LoReadsWithNothingArriving_TheReadsClockTimesTheAutotuningMeasure(double lastReadMs, long rcvbuf, long space)
    {
        var (h, c, _, server) = LocalHandshake(atMs: 30);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 1000 });
        h.At(Ms(50));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 99500 });
        h.At(Ms(70));
        var reads = new List<long> { h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 500 }).Result };
        h.At(Ms(80));
        reads.Add(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 10000 }).Result);
        Assert.Equal((20000L, 131072L), (server.Info.RcvRttUs, h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = server.Id, Option = SocketOption.SO_RCVBUF }).Result));
        h.At(Ms(lastReadMs));
        reads.Add(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 }).Result);

        Assert.Equal([500L, 10000L, 90000L], reads);
        long after = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = server.Id, Option = SocketOption.SO_RCVBUF }).Result;
        Assert.Equal((rcvbuf, space, 91710L), (after, server.Info.RcvSpace, server.Info.RcvSsthresh));
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-backlog-acks-deferred-to-the-release.json and
    /// loopback-backlog-ack-defer-off-acks-each-skb.json): a listener at TCP_MAXSEG 20000, 327481 bytes written over
    /// 127.0.0.1 at 137 ms, read at 317 and 464 ms. The read at 464 ms offers 98 &lt;&lt; 10 and the last 59964 and 20001
    /// bytes come as two whole (cloned) skbs while it owns the socket. Each makes an ACK due now in __tcp_ack_snd_check()
    /// (more than one full frame, the window at rcv_wnd); with tcp_backlog_ack_defer 1 it only sets TCP_ACK_DEFERRED and
    /// tcp_release_cb() sends one ACK, with 0 each skb gets its own.
    /// </summary>
    [Theory]
    [InlineData("1", new[] { "327482 win 254" })]
    [InlineData("0", new[] { "307481 win 215", "327482 win 254" })]
    public void Established_LoReadReleasesTwoSkbsIntoItsBacklog_TheirAcksDueNowAreOneAckFromTcpReleaseCbUnlessTheSysctlIsOff(
        string defer, string[] acks)
    {
        var (h, server, writer) = MaxSeg20000Write(defer);
        h.At(Ms(317));
        var first = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        h.At(Ms(464));
        var second = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        h.At(Ms(465));

        Assert.Equal((119928L, 127588L), (first.Result, second.Result));
        var released = h.Sent("client").Where(s => s.At == Ms(464) && s.Tuple.Local.Port == writer).Select(s => $"{s.Len}{s.Flags.ToLetters()}");
        Assert.Equal(["59964P.", "20001P."], released);
        var replies = h.Sent("client").Where(s => s.At == Ms(464) && s.Tuple.Local.Port == 80).Skip(1).Select(s => $"{s.AckNo - server.Irs} win {s.Win}");
        Assert.Equal(acks, replies);
        Assert.Equal(0L, h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce]);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-late-read-backlog-space-clears-the-quick-acks.json and its
    /// -defer-off twin): the same write read first at 800 ms. The window closed at 392 ms (the last data); the read
    /// offers 98 &lt;&lt; 10 and the writer's 59964 and 38952 bytes land in the reader's backlog, 404 ms after the last
    /// data, more than the reader's RTO: tcp_event_data_recv() grants quick ACKs ("Too long gap"). __tcp_ack_snd_check()
    /// runs __tcp_select_window() first (more than one full frame unacknowledged), and its tcp_space() takes
    /// sk_backlog.len — both skbs, until __release_sock() ends — off the free space: under half the full space, so
    /// icsk_ack.quick is cleared and no ACK is due now, with the sysctl at 1 or 0. The delayed ACK goes at 844 ms, after
    /// the writer's loss probe; /proc/net/tcp's quick column reads 0 right after the read, as on the kernel. The engine
    /// without the backlog term ACKed at 800 ms: 219869 win 28 from tcp_release_cb() with the sysctl at 1, 180917 win 66
    /// after the first skb with it at 0.
    /// </summary>
    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    public void Established_LoReadAfterTheRtoReleasesTwoSkbs_TheBacklogInTcpSpaceClearsTheQuickAcksAndTheDelayedAckGoes(string defer)
    {
        var (h, reader, writer) = MaxSeg20000Write(defer);
        h.At(Ms(800));
        var read = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = reader.Id, Bytes = 1 << 20 });
        h.At(Ms(801));
        int quickPingPong = reader.AckQuickPingPong;
        h.At(Ms(900));

        Assert.Equal((120952L, 0), (read.Result, quickPingPong));
        var sent = h.Sent("client").Where(s => s.At >= Ms(800)).Select(s => (s.At, s.Tuple.Local.Port == writer ? $"{s.SeqNo - reader.Irs}:{s.Len}" : $"ack {s.AckNo - reader.Irs} win {s.Win}"));
        Assert.Equal([(Ms(800), "ack 120953 win 98"), (Ms(800), "120953:59964"), (Ms(800), "180917:38952"), (Ms(816), "200905:18964"),
            (Ms(844), "ack 219869 win 28"), (Ms(844), "219869:28672"), (Ms(872), "239857:8684"), (Ms(888), "ack 248541 win 0")], sent);
        Assert.Equal((3L, 3L), (h.Client.Mib[MibCounter.TcpExtDelayedACKs], h.Client.Mib[MibCounter.TcpExtTCPLossProbes]));
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-read-merges-the-cut-pieces-with-the-fin.json): 223205 bytes written
    /// over 127.0.0.1 at 137 ms and the writer closed at 200 ms. The read at 317 ms releases the last 95232 bytes with the
    /// FIN, cut in software into 47616 and 47616 FP, merged in the reader's backlog FIN and all: the read returns with
    /// the socket in CLOSE-WAIT. The read at 464 ms copies the one skb; rcv_nxt − copied_seq still counts the FIN, so
    /// tcp_rcvbuf_grow(sk, 190463): SO_RCVBUF 1864112 (1864135 without the FIN); the next read returns 0.
    /// </summary>
    [Fact]
    public void CloseWait_LoWriteAndCloseReadInTwoParts_TheFinPieceMergesAndTheUnpassedFinCountsAsQueued()
    {
        var (h, c, _, server) = LocalHandshake(atMs: 137);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 223205 });
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Close, c.SocketId);
        h.At(Ms(317));
        var first = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        h.At(Ms(318));
        Assert.Equal((127973L, TcpState.CloseWait, 1L), (first.Result, server.State, h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce]));
        h.At(Ms(464));
        var second = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        var eof = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });

        long rcvbuf = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = server.Id, Option = SocketOption.SO_RCVBUF }).Result;
        Assert.Equal((95232L, 0L, 1864112L, 190463L), (second.Result, eof.Result, rcvbuf, server.Info.RcvSpace));
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-gso-cut-counts-the-ethernet-header.json): a writer over 127.0.0.1 at
    /// TCP_MAXSEG <paramref name="maxseg"/> fills a sleeping reader's window with 127967 bytes (one more with mss
    /// 32735); the read at 100 ms opens it and tcp_write_xmit() sends the rest as one GSO skb of two segments. lo's
    /// validate_xmit_skb() sees skb->len with the 14-byte Ethernet header: at mss 32735 the 65470-byte skb is a datagram
    /// of 65522, skb->len 65536 reaches gso_max_size and skb_segment() cuts it (32735 and 32735 P, merged again in the
    /// reader's backlog: TCPBacklogCoalesce 1); at mss 32734 the 65468-byte skb (skb->len 65534) goes whole. The engine
    /// compared the datagram alone and sent both whole.
    /// </summary>
    [Theory]
    [InlineData(32747, 127967, 65470, new[] { ".:32735", "P.:32735" }, 1L)]
    [InlineData(32746, 127966, 65468, new[] { "P.:65468" }, 0L)]
    public void Established_LoWindowUpdateSendsTwoSegmentSkb_CutInSoftwareWhenItsLengthWithTheEthernetHeaderReachesGsoMaxSize(
        int maxseg, long first, long second, string[] packets, long backlogCoalesce)
    {
        var h = new TwoHostHarness();
        var l = ListenOn(h, "client", "127.0.0.1");
        h.At(Ms(1));
        var c = h.Call("client", SocketCallKind.Socket);
        h.SetOption(c.SocketId, SocketOption.TCP_MAXSEG, maxseg);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c.SocketId, ToHost = "127.0.0.1", ToPort = 80 });
        var accept = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(50));
        var server = h.Sim.FindSocket(h.Returned(accept.CallId)!.SocketId)!;
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = first + second });
        h.At(Ms(100));
        var read = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
        h.At(Ms(101));
        var rest = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });

        Assert.Equal((first, second), (read.Result, rest.Result));
        Assert.Equal(packets, h.Segments().Where(s => s.At == Ms(100) && s.Tuple.Remote.Port == 80 && s.Len > 0)
            .Select(s => $"{s.Flags.ToLetters()}:{s.Len}"));
        Assert.Equal(backlogCoalesce, h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce]);
    }

    /// <summary>
    /// The RTT over lo. The engine's lo hands a segment over in the instant it is sent, so every sample is taken as the
    /// shortest transit 6.18.44 gave over lo, 7 µs (it measured 7–230 µs of CPU): srtt_us 56 (tcpi_rtt 7), mdev_us 14
    /// (tcpi_rttvar 3), min_rtt 7 — not tcp_update_rtt_min()'s one jiffy (4000) for a 0 µs sample — and icsk_rto =
    /// usecs_to_jiffies(7 + 200000) = 51 jiffies (204 ms), as the kernel's. On the client after the handshake (the
    /// SYN-ACK's sample), on the server after it (tcp_synack_rtt_meas()) and on both after data and its ACK.
    /// </summary>
    [Fact]
    public void Established_OverLoopback_RttSamplesAreTheShortestLoTransitForSrttAndMinRttAlike()
    {
        var (h, c, client, server) = LocalHandshake(atMs: 10);
        static (long, long, long, long) Rtt(TcpSocket sk) => (sk.Info.RttUs, sk.Info.RttVarUs, sk.Info.MinRttUs, sk.Info.RtoUs);
        Assert.Equal((7L, 3L, 7L, 204000L), Rtt(client));
        Assert.Equal((7L, 3L, 7L, 204000L), Rtt(server));

        // 100 bytes each way, each ACKed at once (the quick-ACK credit): samples of 7 µs again.
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 100 });
        h.At(Ms(20));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = server.Id, Bytes = 100 });
        h.At(Ms(30));
        Assert.Equal((101L, 100L), (client.Info.BytesAcked, server.Info.BytesAcked)); // the client's bytes_acked counts its SYN
        // tcp_rtt_estimator(): an error of 0 takes a quarter off mdev_us (14 → 11, tcpi_rttvar 2).
        Assert.Equal((7L, 2L, 7L, 204000L), Rtt(client));
        Assert.Equal((7L, 2L, 7L, 204000L), Rtt(server));
    }

    /// <summary>
    /// A burst over lo to a receiver that does not read, as 6.18.44 sends it (scenarios/loopback-burst-acks-wait-in-the-
    /// senders-backlog.json, the kernel's packets the engine's): send() of 8908 bytes at MSS 524 (TCP_MAXSEG 536 on the
    /// listener) puts 5 + 5 segments on lo, each handled by the receiver before the next leaves, its ACKs waiting in the
    /// sender's backlog. The second ACK comes right behind the first, contiguous, with the same flags and options: 
    /// tcp_add_backlog() merges them (TCPBacklogCoalesce 1), and release_sock() handles one ACK 5241 (cwnd 20: the last 7
    /// segments go). The sender has freed both packets' clones by then, so the receiver coalesces the 7-segment packet
    /// into the one before (TCPRcvCoalesce 1: two skbs, payload + 2 · 832). Without the merge (D58's engine, the kernel as
    /// a packet socket on lo saw it) ACK 2621 was handled alone, the 7 segments reached the receiver while the sender still
    /// held the clone of the packet before, and nothing coalesced (0, 0 and payload + 3 · 832).
    /// </summary>
    [Fact]
    public void Established_LoBurstToAnIdleReader_AcksWaitingInTheSendersBacklogAreMergedSoTheLastPacketCoalesces()
    {
        var (h, client, server, burst) = LoBurstToAnIdleReader(8908);

        Assert.Equal(["80:2620", "80:2620", "~:0/63", "~:0/61", "80:3668", "~:0/59"],
            burst.Select(s => s.Tuple.Local.Port == 80 ? $"80:{s.Len}" : $"~:{s.Len}/{s.Win}"));
        Assert.Equal((1L, 1L, 8908L + 2 * 832), (h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce],
            h.Client.Mib[MibCounter.TcpExtTCPRcvCoalesce], client.RmemAlloc));
        // tcp_v4_rcv() counted both ACKs before the backlog: segs_in and InSegs as without the merge.
        Assert.Equal((5L, 9L), (server.Info.SegsIn, h.Client.Mib[MibCounter.TcpInSegs]));
    }

    /// <summary>
    /// A listener with TCP_MAXSEG 536 (MSS 524) on port 80 and a connection to it over 127.0.0.1 at 1 ms; at 50 ms the
    /// accepted socket sends <paramref name="bytes"/> to the reader, which does not read. Returns the sockets and what
    /// went on lo at 50 ms, in the order the engine sent it.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Client, TcpSocket Server, List<SegmentSent> Burst) LoBurstToAnIdleReader(int bytes)
    {
        var (h, client, server) = LoWriteAt50Ms(bytes);
        h.At(Ms(60));
        return (h, client, server, h.Segments().Where(s => s.At == Ms(50)).ToList());
    }

    /// <summary>
    /// A listener with TCP_MAXSEG 536 (MSS 524) on port 80 and a connection to it over 127.0.0.1 at 1 ms (the reader's
    /// SO_RCVBUF set first when <paramref name="readerRcvbuf"/> is given); at 50 ms the accepted socket sends
    /// <paramref name="bytes"/> to the reader. The clock stays at 50 ms.
    /// </summary>
    static (TwoHostHarness H, TcpSocket Client, TcpSocket Server) LoWriteAt50Ms(int bytes, int? readerRcvbuf = null)
    {
        var h = new TwoHostHarness();
        var l = h.Call("client", SocketCallKind.Socket);
        h.SetOption(l.SocketId, SocketOption.TCP_MAXSEG, 536);
        Bind(h, "client", l.SocketId, null, 80);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { SocketId = l.SocketId, Backlog = 8 });
        h.At(Ms(1));
        int c;
        if (readerRcvbuf is { } rcvbuf)
        {
            c = h.Call("client", SocketCallKind.Socket).SocketId;
            h.SetOption(c, SocketOption.SO_RCVBUF, rcvbuf);
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = c, ToHost = "127.0.0.1", ToPort = 80 });
        }
        else
            c = ConnectTo(h, "client", "127.0.0.1").SocketId;
        var accept = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(50));
        var server = h.Sim.FindSocket(h.Returned(accept.CallId)!.SocketId)!;
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = server.Id, Bytes = bytes });
        return (h, h.Sim.FindSocket(c)!, server);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (scenarios/loopback-window-update-sends-the-head-grown-at-the-window-edge.json): 30000
    /// bytes at MSS 524 over 127.0.0.1 to a reader with SO_RCVBUF 8192, queued as 3668-byte skbs (half the peer's
    /// 8192-byte window). Each time tcp_write_xmit() sends a chunk cut at the window's edge, its next turn grows the
    /// rest of the cut skb (tcp_grow_skb(), up to cwnd quota 10 · 524) before tcp_snd_wnd_test() stops it: after the
    /// 4716 at 50 ms the rest is 524 + 2096, after the 2096 at 92 ms 3144 + 1048. So the read's window update at 100 ms
    /// (7860) sends a 5240-byte head and 2620; without the next turn's grow the head was 524 + 3668 and left as 4192 + 3668.
    /// </summary>
    [Fact]
    public void Established_LoWindowUpdateAfterAChunkCutAtTheWindowsEdge_SendsTheHeadGrownByTheTurnAfterIt()
    {
        var (h, client, _) = LoWriteAt50Ms(30000, readerRcvbuf: 8192);
        h.At(Ms(100));
        var read = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = client.Id, Bytes = 1 << 20 });
        h.At(Ms(101));

        uint iss = h.Segments().First(s => s.Tuple.Local.Port == 80 && s.Len > 0).SeqNo - 1;
        Assert.Equal(["50:1:2620", "50:2621:2620", "50:5241:4716", "56:9433:524", "92:9957:2096", "100:12053:5240", "100:17293:2620"],
            h.Segments().Where(s => s.Tuple.Local.Port == 80 && s.Len > 0).Select(s => $"{s.At.Ns / 1_000_000}:{s.SeqNo - iss}:{s.Len}"));
        Assert.Equal(12052L, read.Result);
    }

    /// <summary>
    /// tcp_add_backlog() on lo (fuzz options-25002-11): send() of 23721 bytes at MSS 524 to a reader that sleeps, as
    /// 6.18.44 sends it unobserved or under a ring capture (scenarios/loopback-burst-backlog-acks-merged-in-each-release.json).
    /// tcp_push() sends 5 + 5 segments; their two ACKs wait in the sender's backlog, the second merged into the first, so
    /// release_sock() handles one ACK 5241: cwnd 20, 10 + 10 segments go. Their two ACKs come while release_sock() still
    /// owns the socket, to a new backlog, and are merged again: one ACK 15721, cwnd 40, the last 8001 bytes in one packet.
    /// TCPBacklogCoalesce 2. Each ACK handled acks everything in flight, so tcp_tso_should_defer() never finds a
    /// cwnd-limited tail here. Without the merge (the kernel under a packet socket's queue, D58's engine) ACK 2621 was
    /// handled alone: 7 segments, then 3 deferred, 10, …, ACK 8909 and 14149 (packets 3668, 5240, 1572, 6812, …).
    /// </summary>
    [Fact]
    public void Established_LoBurstToAnIdleReader_EachReleaseHandlesTheBacklogsAcksMergedIntoOne()
    {
        var (h, _, server, burst) = LoBurstToAnIdleReader(23721);

        uint iss = burst[0].SeqNo - 1;
        Assert.Equal(["80:2620", "80:2620", "~2621", "~5241", "80:5240", "80:5240", "~10481", "~15721", "80:8001", "~23722"],
            burst.Select(s => s.Tuple.Local.Port == 80 ? $"80:{s.Len}" : $"~{s.AckNo - iss}"));
        Assert.Equal(2L, h.Client.Mib[MibCounter.TcpExtTCPBacklogCoalesce]);
        Assert.Equal(23721L, server.Info.BytesAcked);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (a veth address of the namespace's own): a connection to the host's own non-loopback
    /// address takes the local route through lo too — pmtu 65535, advmss 65483, mss 32741 / 32768.
    /// </summary>
    [Fact]
    public void Handshake_ToTheHostsOwnAddress_AlsoUsesLosMtu()
    {
        var (_, _, client, server) = LocalHandshake(atMs: 50, listenAddress: null, to: "10.0.0.1");

        Assert.Equal((65535, 65483, 32741), (client.Info.Pmtu, client.Info.AdvMss, client.Info.SndMss));
        Assert.Equal((65535, 65483, 32768), (server.Info.Pmtu, server.Info.AdvMss, server.Info.SndMss));
    }

    [Fact]
    public void Handshake_OverALink_KeepsEthernetsMtu()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        Assert.Equal((1500, 1448, 1448), (c.Info.Pmtu, c.Info.AdvMss, c.Info.SndMss));
        Assert.Equal((1500, 1448, 1448), (s.Info.Pmtu, s.Info.AdvMss, s.Info.SndMss));
        Assert.Equal((ushort)1460, h.Sim.Journal.OfType<SegmentSent>().First().Options.Mss);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (a connection on 127.0.0.1 in a fresh network namespace): lo's MTU 65536 is a route
    /// MTU of 65535 (ipv4_mtu(), IP_MAX_MTU), so both SYNs offer MSS 65495 (ipv4_default_advmss()), the SYN's window is
    /// 65495 and the SYN-ACK's 65483 (tcp_select_initial_window() rounds down to the MSS less the timestamp option),
    /// and tcp_bound_to_half_wnd() holds the segments to half the peer's largest window: the client's mss is
    /// 65483 / 2 = 32741 (TCP_MAXSEG, tcpi_snd_mss), the first two data segments 32741 bytes each, and the accepted
    /// socket's mss 65536 / 2 = 32768 once the final ACK offered 64 &lt;&lt; 10. The engine used Ethernet's 1460 here.
    /// </summary>
    [Fact]
    public void Connect_To127001_MssFromLosMtuAndSegmentsBoundToHalfThePeersWindow()
    {
        var (h, c, client, server) = LocalHandshake(atMs: 50, listenAddress: null);
        var child = server.Id;

        var syn = h.Segments().ToList();
        Assert.Equal((65495, (ushort)65495, (byte?)10), (syn[0].Options.Mss, syn[0].Win, syn[0].Options.WindowScale));
        Assert.Equal((65495, (ushort)65483), (syn[1].Options.Mss, syn[1].Win));
        Assert.Equal((ushort)64, syn[2].Win);
        Assert.Equal(32741, h.GetOption(c.SocketId, SocketOption.TCP_MAXSEG).Result);
        Assert.Equal(32768, h.GetOption(child, SocketOption.TCP_MAXSEG).Result);
        Assert.Equal(65535, client.Info.Pmtu);

        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = child, Bytes = 300_000 });
        h.Send(c.SocketId, 300_000);
        h.At(Ms(100));
        Assert.Equal([32741, 32741], h.Sent("client").Where(x => x.Tuple.Local.Port != 80 && x.Len > 0).Take(2).Select(x => x.Len));
    }

    /// <summary>
    /// Observed on Linux 6.18.44 over lo with a listener's SO_RCVBUF 4096 (sk_rcvbuf 8192): the SYN-ACK offers 4096, the
    /// sender's MSS is half of it, and a write bursts two 2048-byte segments. A loopback skb is the sender's (truesize
    /// len + 832) and the second cannot be coalesced into the first while the sender still holds its clone, so
    /// sk_rmem_alloc is 2 · 2880: the quick ACK of the first offers 2048, the delayed ACK of the second (40 ms, a
    /// 10-jiffy delack timer) offers 0, and the first zero-window probe follows one RTO (52 jiffies after that 42 ms RTT
    /// sample) and a jiffy later, 212 ms, as in the kernel run. With 2304
    /// per segment and coalescing, the engine offered 4096 and then 2048 and sent a third segment and a loss probe.
    /// </summary>
    [Fact]
    public void Send_OverLoIntoSoRcvbuf4096_BurstNotCoalescedSoTheSecondSegmentClosesTheWindow()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Socket));
        h.SetOption(l.SocketId, SocketOption.SO_RCVBUF, 4096);
        Bind(h, "client", l.SocketId, null, 80);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { SocketId = l.SocketId });
        h.At(Ms(1));
        var c = ConnectTo(h, "client", "127.0.0.1");
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(2));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = c.SocketId, NonBlock = true });
        h.Send(c.SocketId, 100_000);
        h.At(Ms(600));

        var toServer = h.Sent("client").Where(x => x.Tuple.Local.Port != 80).ToList();
        var fromServer = h.Sent("client").Where(x => x.Tuple.Local.Port == 80).ToList();
        Assert.Equal((ushort)4096, fromServer[0].Win);
        Assert.Equal([2048, 2048], toServer.Where(x => x.Len > 0).Select(x => x.Len));
        Assert.Equal([(Ms(2), (ushort)2048), (Ms(44), (ushort)0)], fromServer.Skip(1).Take(2).Select(x => (x.At, x.Win)));
        var probe = toServer.First(x => x.Reason == "tcp_send_probe0");
        Assert.Equal(Ms(256), probe.At);
        Assert.DoesNotContain(toServer, x => x.Reason.Contains("loss_probe", StringComparison.Ordinal));
    }

    /// <summary>
    /// A 200 000-byte write() and close() 50 ms after a handshake on 127.0.0.1; the client's and the server's counters
    /// (one host, one namespace) once both are closed.
    /// </summary>
    static (TwoHostHarness H, List<SegmentSent> Data, TcpSocket Server) BulkWriteOverLo(bool read)
    {
        var (h, c, _, server) = LocalHandshake(atMs: 50);
        h.Send(c.SocketId, 200_000);
        h.Call("client", SocketCallKind.Close, c.SocketId);
        if (read)
        {
            // A reader that drains the socket at once, then again 1 ms later, and closes at its EOF 1 ms after that.
            foreach (var at in new[] { 50.0, 51.0, 52.0 })
            {
                h.At(Ms(at));
                h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = server.Id, Bytes = 1 << 20 });
            }
            h.Call("client", SocketCallKind.Close, server.Id);
        }
        else
        {
            h.At(Ms(550));
            h.Call("client", SocketCallKind.Close, server.Id); // unread data: a RST (tcp_close())
        }
        h.At(Ms(700));
        return (h, h.Sent("client").Where(x => x.Len > 0).ToList(), server);
    }

    /// <summary>
    /// Observed on Linux 6.18.44 (a namespace, tshark on lo, a reader thread; /proc/net/snmp): lo takes each GSO skb
    /// whole — 32741, 32741 P, 62491 P (one packet of two segments, PSH forced by __tcp_transmit_skb()) — and the last
    /// skb, 72027 bytes with the FIN, reaches gso_max_size 65536 with its headers, so gso_features_check() has it cut in
    /// software into gso_size pieces: 47616 and 24411 FP. Counters of the whole exchange (both ends, one host):
    /// TcpOutSegs 14 and IpExtInNoECTPkts 14 count segments, IpOutRequests 12 skbs, TcpInSegs 13 packets. On the
    /// kernel all of it took 0.4 ms (the reader's wake-ups are wall clock; here 50, 51 and 52 ms).
    /// With tcp_grow_skb() pulling from one next skb per tcp_write_xmit() pass (TinyWindowSkbTests, observed on the
    /// same kernel), how large that last skb gets depends on how many passes hold it before there is room — one per
    /// ACK the reader's wall-clock wake-ups produce. The kernel's run had three (2991, 32741, then the 3554-byte FIN
    /// skb eaten: 72027); this reader's 50/51/52 ms drains give two, so the engine's last skb is 68473 (cut in software
    /// into 47616 and 20857 P) and the FIN skb leaves on its own (3554 FP): one packet more on every counter.
    /// </summary>
    [Fact]
    public void Close_BulkWriteOverLoWithAReader_GsoSkbsLeaveWholeAndOneOverGsoMaxSizeIsCutInSoftware()
    {
        var (h, data, _) = BulkWriteOverLo(read: true);

        Assert.Equal(["32741 .", "32741 P.", "62491 P.", "47616 .", "20857 P.", "3554 FP."], data.Select(x => $"{x.Len} {x.Flags.ToLetters()}"));
        Assert.Equal(Ms(50), data[^1].At);
        var mib = h.Client.Mib;
        Assert.Equal((15L, 14L, 13L, 15L, 0L), (mib[MibCounter.TcpOutSegs], mib[MibCounter.TcpInSegs], mib[MibCounter.IpOutRequests],
            mib[MibCounter.IpExtInNoECTPkts], mib[MibCounter.TcpRetransSegs]));
    }

    /// <summary>
    /// Observed on Linux 6.18.44, the same write with no reader: 32741, 32741 P, 62491 P, then the loss probe resends
    /// the last 14875 (6 ms later here, 12 ms on the kernel: its srtt is µs, not 0), the delayed ACK closes the window,
    /// and close() with unread data resets at 550 ms. The receiver measured rcv_mss from gso_size (47616:
    /// tcp_measure_rcv_mss()) and counts the 2-segment packet twice in data_segs_in (tcp_segs_in()). Counters:
    /// TcpOutSegs 12, TcpInSegs 12, IpOutRequests 12, IpExtInNoECTPkts 13, TcpRetransSegs 1.
    /// </summary>
    [Fact]
    public void Close_BulkWriteOverLoWithoutAReader_TheTwoSegmentSkbIsOnePacketCountedTwice()
    {
        var (h, data, server) = BulkWriteOverLo(read: false);

        Assert.Equal(["32741 .", "32741 P.", "62491 P.", "14875 ."], data.Select(x => $"{x.Len} {x.Flags.ToLetters()}"));
        Assert.Equal((Ms(56), "tcp_send_loss_probe"), (data[3].At, data[3].Reason));
        Assert.Equal((47616, 5L), (server.Info.RcvMss, server.Info.DataSegsIn));
        var mib = h.Client.Mib;
        Assert.Equal((12L, 12L, 12L, 13L, 1L), (mib[MibCounter.TcpOutSegs], mib[MibCounter.TcpInSegs], mib[MibCounter.IpOutRequests],
            mib[MibCounter.IpExtInNoECTPkts], mib[MibCounter.TcpRetransSegs]));
    }

    [Fact]
    public void Close_ConnectToTheHostsOwnAddress_SourceIsThatAddressAndNoLinkIsUsed()
    {
        var h = new TwoHostHarness();
        ListenOn(h, "client", null);
        h.At(Ms(1));

        var c = ConnectTo(h, "client", "10.0.0.1");
        h.At(Ms(50));

        var sk = h.Sim.FindSocket(c.SocketId)!;
        Assert.Equal((Ms(1), "10.0.0.1", TcpState.Established), (h.Returned(c.CallId)!.At, sk.Local.Address.ToString(), sk.State));
        Assert.All(h.Segments(), s => Assert.Equal("client", s.To));
    }

    [Theory]
    [InlineData("127.0.0.1", "10.0.0.1", null)]                 // two specific addresses: no conflict
    [InlineData("127.0.0.1", "0.0.0.0", Errno.EADDRINUSE)]       // INADDR_ANY conflicts with every address
    [InlineData("0.0.0.0", "127.0.0.1", Errno.EADDRINUSE)]
    [InlineData("10.0.0.1", "10.0.0.1", Errno.EADDRINUSE)]
    [InlineData("127.0.0.1", "127.0.0.2", null)]                 // all of 127.0.0.0/8 is local
    public void Listen_SecondBindOfThePortWithAnotherAddress_ConflictsAsInetRcvSaddrEqual(string first, string second, string? errno)
    {
        // inet_csk_bind_conflict() → inet_rcv_saddr_equal(sk, sk2, true): equal addresses, or either is 0.0.0.0.
        var h = new TwoHostHarness();
        ListenOn(h, "client", first);
        var s = h.Call("client", SocketCallKind.Socket);

        var bind = Bind(h, "client", s.SocketId, second, 80);

        Assert.Equal(errno, bind.Errno);
    }

    [Fact]
    public void Close_BindToAnAddressOfAnotherHost_Eaddrnotavail()
    {
        // inet_bind(): inet_addr_valid_or_nonlocal() — not a local address and no IP_FREEBIND: -EADDRNOTAVAIL.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        var bind = Bind(h, "client", s.SocketId, "10.0.0.2", 80);

        Assert.Equal(Errno.EADDRNOTAVAIL, bind.Errno);
        Assert.False(h.Sim.FindSocket(s.SocketId)!.BoundPort);
    }

    /// <summary>
    /// __inet_bind(): inet_addr_type_table() is RTN_MULTICAST for 224.0.0.0/4 and RTN_BROADCAST for 255.255.255.255 and
    /// lo's 127.255.255.255; inet_addr_valid_or_nonlocal() accepts both, and inet_saddr stays 0, so connect() leaves
    /// from the route's source. Observed on Linux 6.18.44: bind((a, 0)) succeeds for each, connect() to 127.0.0.1:80
    /// returns 0 and getsockname() is 127.0.0.1 with the bound port; 240.0.0.1 (class E, unicast) is EADDRNOTAVAIL.
    /// </summary>
    [Theory]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("127.255.255.255")]
    public void Close_BindToMulticastOrBroadcast_AcceptedAndConnectLeavesFromTheRouteSource(string address)
    {
        var h = new TwoHostHarness();
        ListenOn(h, "client", "127.0.0.1");
        var s = h.Call("client", SocketCallKind.Socket);

        var bind = Bind(h, "client", s.SocketId, address, 5000);
        var connect = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "127.0.0.1", ToPort = 80 });
        h.At(Ms(1));

        var sk = h.Sim.FindSocket(s.SocketId)!;
        Assert.Equal((0L, (string?)null), (bind.Result, bind.Errno));
        Assert.Equal((0L, "127.0.0.1:5000", TcpState.Established), (h.Returned(connect.CallId)!.Result, sk.Local.ToString(), sk.State));
    }

    [Fact]
    public void Close_BindToClassE_Eaddrnotavail()
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        Assert.Equal(Errno.EADDRNOTAVAIL, Bind(h, "client", s.SocketId, "240.0.0.1", 80).Errno);
    }

    [Fact]
    public void Listen_On127001Only_ASynFromTheServerGetsARstAndLoopbackConnects()
    {
        // __inet_lookup_listener(): no listener on 10.0.0.1:80 or 0.0.0.0:80 for the server's SYN → tcp_v4_send_reset().
        var h = new TwoHostHarness();
        var l = ListenOn(h, "client", "127.0.0.1");
        h.At(Ms(1));

        var remote = ConnectTo(h, "server", "client");
        var local = ConnectTo(h, "client", "127.0.0.1");
        h.At(Ms(100));

        Assert.Equal("127.0.0.1:80", h.Sim.FindSocket(l.SocketId)!.Local.ToString());
        Assert.Equal((Ms(21), Errno.ECONNREFUSED), (h.Returned(remote.CallId)!.At, h.Returned(remote.CallId)!.Errno));
        Assert.Equal((Ms(1), 0L), (h.Returned(local.CallId)!.At, h.Returned(local.CallId)!.Result));
    }

    [Fact]
    public void Listen_TwoListenersOnOnePortByAddress_EachConnectionReachesItsOwn()
    {
        // inet_lhash2_lookup() on (daddr, port) first: the listener bound to the SYN's destination address.
        var h = new TwoHostHarness();
        var lo = ListenOn(h, "client", "127.0.0.1");
        var eth = ListenOn(h, "client", "10.0.0.1");
        h.At(Ms(1));

        ConnectTo(h, "client", "127.0.0.1");
        ConnectTo(h, "server", "client");
        h.At(Ms(100));

        Assert.Single(h.Sim.FindSocket(lo.SocketId)!.AcceptQueue);
        Assert.Equal("10.0.0.2", Assert.Single(h.Sim.FindSocket(eth.SocketId)!.AcceptQueue).Remote.Address.ToString());
    }

    [Fact]
    public void AddHost_TheSameAddressTwiceInOneRequest_InvalidAtTheSecond_AnotherHostsAddressAConflict()
    {
        // The request's own repetition is its input error (400 at the repeat); an address another host holds is a clash (409).
        var sim = new Engine.Simulation(Engine.KernelProfile.Linux6, 1);
        sim.AddHost("a", IPv4.Parse("10.0.0.1"));

        var twice = sim.AddHost("multi", IPv4.Parse("10.0.0.78"), HostKind.Linux, [IPv4.Parse("10.0.0.79"), IPv4.Parse("10.0.0.79")]);
        var again = sim.AddHost("multi", IPv4.Parse("10.0.0.78"), HostKind.Linux, [IPv4.Parse("10.0.0.78")]);
        var taken = sim.AddHost("multi", IPv4.Parse("10.0.0.78"), HostKind.Linux, [IPv4.Parse("10.0.0.1")]);

        Assert.Equal(new Engine.DomainError("invalid", "address 10.0.0.79 appears twice in this host's addresses (also as addresses[0])", "addresses[1]"), twice.Error);
        Assert.Equal(new Engine.DomainError("invalid", "address 10.0.0.78 appears twice in this host's addresses (also as address)", "addresses[0]"), again.Error);
        Assert.Equal(new Engine.DomainError("conflict", "address 10.0.0.1 is already used", "addresses[0]"), taken.Error);
        Assert.Null(sim.FindHost("multi"));
    }

    [Fact]
    public void Close_HostWithASecondAddress_ReachableThereAndABoundSocketConnectsFromIt()
    {
        // A host may have several addresses (ip addr add): each maps to it, the link is the host's; a socket bound
        // to the second address connects from it (tcp_v4_connect() keeps inet_saddr).
        var sim = new Engine.Simulation(Engine.KernelProfile.Linux6, 1);
        sim.AddHost("client", IPv4.Parse("10.0.0.1"), HostKind.Linux, [IPv4.Parse("10.0.0.11")]);
        sim.AddHost("server", IPv4.Parse("10.0.0.2"));
        sim.AddLink("client", "server", SimDuration.FromMilliseconds(10), 0);
        sim.Call(new SocketCallRequest("client", "app", SocketCallKind.Listen) { Port = 80, Address = "10.0.0.11" });
        sim.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

        var inbound = sim.Call(new SocketCallRequest("server", "app", SocketCallKind.Connect) { ToHost = "10.0.0.11", ToPort = 80 }).Value;
        var s = sim.Call(new SocketCallRequest("client", "app", SocketCallKind.Socket)).Value;
        sim.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = s.SocketId, Address = "10.0.0.11" });
        sim.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "server", ToPort = 80 });
        sim.RunUntil(new SimTime(100_000_000));

        Assert.Equal((TcpState.Established, "10.0.0.11:80"), (sim.FindSocket(inbound.SocketId)!.State, sim.FindSocket(inbound.SocketId)!.Remote.ToString()));
        var outbound = sim.FindSocket(s.SocketId)!;
        Assert.Equal(("10.0.0.11", TcpState.Established), (outbound.Local.Address.ToString(), outbound.State));
        Assert.Equal([IPv4.Parse("10.0.0.1"), IPv4.Parse("10.0.0.11")], sim.FindHost("client")!.Addresses);
    }

    [Fact]
    public void AddHost_LoopbackOrTakenSecondAddress_Refused()
    {
        var sim = new Engine.Simulation(Engine.KernelProfile.Linux6, 1);
        sim.AddHost("a", IPv4.Parse("10.0.0.1"));

        var loopback = sim.AddHost("b", IPv4.Parse("10.0.0.2"), HostKind.Linux, [IPv4.Parse("127.0.0.5")]);
        var taken = sim.AddHost("c", IPv4.Parse("10.0.0.3"), HostKind.Linux, [IPv4.Parse("10.0.0.1")]);

        Assert.Equal(("addresses[0]", "addresses[0]"), (loopback.Error!.Field, taken.Error!.Field));
        Assert.Null(sim.FindHost("b"));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("server", false)]
    public void TimeWait_ConnectAgainWithTwReuse2_ReusedOnlyOverLoopback(string to, bool reused)
    {
        // tcp_twsk_unique() with tcp_tw_reuse = 2: reuse only when the TIME-WAIT's daddr or rcv_saddr is loopback.
        // One ephemeral port (40000): the second connect needs the first connection's TIME-WAIT, 2 s later
        // (past tcp_tw_reuse_delay, 1 s). Over loopback it is taken over (TWRecycled); to the server it is not,
        // and connect() fails with EADDRNOTAVAIL.
        var h = new TwoHostHarness();
        string serverHost = to == "server" ? "server" : "client";
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40000"));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "2"));
        var l = ListenOn(h, serverHost, null);
        h.At(Ms(1));
        var first = ConnectTo(h, "client", to);
        var accept = h.Call(new SocketCallRequest(serverHost, "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, first.SocketId);
        h.At(Ms(200));
        h.Call(serverHost, SocketCallKind.Close, h.Returned(accept.CallId)!.SocketId);
        h.At(Ms(300));
        var tw = Assert.Single(h.Client.TimeWaitSockets);

        h.At(S(2.3));
        var second = ConnectTo(h, "client", to);
        h.At(S(2.5));

        Assert.Equal(40000, tw.Local.Port);
        if (reused)
        {
            Assert.Equal(0L, h.Returned(second.CallId)!.Result);
            Assert.Equal(40000, h.Sim.FindSocket(second.SocketId)!.Local.Port);
            Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
        }
        else
        {
            Assert.Equal(Errno.EADDRNOTAVAIL, second.Errno);
            Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
        }
    }

    [Fact]
    public void Close_ConnectTo127001WithNothingListening_EconnrefusedAtTheSameInstant()
    {
        // The SYN comes back through lo to a port with no listener: tcp_v4_send_reset() answers R. at once, and
        // tcp_reset() in SYN-SENT makes connect() fail with ECONNREFUSED, all at 5 ms.
        var h = new TwoHostHarness();
        h.At(Ms(5));

        var c = ConnectTo(h, "client", "127.0.0.1", 8080);
        h.At(Ms(50));

        Assert.Equal((Ms(5), Errno.ECONNREFUSED), (h.Returned(c.CallId)!.At, h.Returned(c.CallId)!.Errno));
        Assert.Equal(["S", "R."], h.Segments().Select(s => s.Flags.ToLetters()));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
    }
}
