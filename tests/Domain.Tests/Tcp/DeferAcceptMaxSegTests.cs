using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// TCP_DEFER_ACCEPT (tcp_check_req()'s bare-ACK drop, syn_ack_recalc()), TCP_MAXSEG (tcp_sock_set_maxseg(),
/// tcp_mss_clamp()) and the SYN-SENT "save one ACK" of tcp_rcv_synsent_state_process().
/// </summary>
public class DeferAcceptMaxSegTests
{
    static (CallHandle Listener, CallHandle Accept) ListenWith(TwoHostHarness h, SocketOption option, int value)
    {
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Assert.Null(h.SetOption(l.SocketId, option, value).Errno);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        return (l, a);
    }

    static CallHandle Connect(TwoHostHarness h, int socketId = 0) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socketId, ToHost = "server", ToPort = 80 });

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(5, 7)]
    [InlineData(200, 247)] // 1 + 2 + … + 64 = 127 after 7 retransmits, then 120 s: 8 reach 247 ≥ 200
    public void Listen_DeferAcceptSeconds_ReadBackAsWholeRetransmitPeriods(int seconds, int readBack)
    {
        // secs_to_retrans(val, 1, 120) then retrans_to_secs(): 5 s is 3 retransmits (1 + 2 + 4 = 7 s ≥ 5).
        var h = new TwoHostHarness();
        var (l, _) = ListenWith(h, SocketOption.TCP_DEFER_ACCEPT, seconds);

        Assert.Equal(readBack, h.GetOption(l.SocketId, SocketOption.TCP_DEFER_ACCEPT).Result);
    }

    [Fact]
    public void Listen_DeferAcceptBareAck_DroppedUntilTheLastPeriodsSynAckThenAccepted()
    {
        // TCP_DEFER_ACCEPT 5 → rskq_defer_accept 3. The handshake's bare ACK (30 ms) is dropped: acked, TCPDeferAcceptDrop.
        // reqsk_timer_handler(): expiries at 1.024 s (10 ms + 250 jiffies, level-1 bucket), 3.040 s (+500 jiffies:
        // bucket 760) and 7.136 s (+1000 jiffies = 1760, level 2: the next multiple of 64 of the absolute count,
        // INITIAL_JIFFIES being 8 mod 64, is 1784). syn_ack_recalc(): resend only once num_timeout ≥ 3 − 1, so the
        // first two send nothing and the third resends the SYN-ACK. The client's ACK of it (7.146 s) reaches the
        // request at 7.156 s with num_timeout 3, no longer < 3: the child is created.
        var h = new TwoHostHarness();
        var (_, a) = ListenWith(h, SocketOption.TCP_DEFER_ACCEPT, 5);
        Connect(h);
        h.At(S(5));
        Assert.Null(h.Returned(a.CallId));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPDeferAcceptDrop]);
        Assert.Single(h.Server.RequestSockets);
        h.At(S(10));

        var synAcks = h.Sent("server").Where(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Select(x => x.At).ToList();
        Assert.Equal([Ms(10), Ms(7136)], synAcks);
        Assert.Equal(Ms(7156), h.Returned(a.CallId)!.At);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPDeferAcceptDrop]);
        Assert.Equal(3, h.Server.Mib[MibCounter.TcpExtTCPTimeouts]);
    }

    [Fact]
    public void Listen_DeferAcceptThenData_ChildCreatedByTheDataSegment()
    {
        // A segment with data (end_seq ≠ rcv_isn + 1) is not dropped: tcp_check_req() creates the child with it.
        var h = new TwoHostHarness();
        var (_, a) = ListenWith(h, SocketOption.TCP_DEFER_ACCEPT, 5);
        var c = Connect(h);
        h.At(Ms(500));
        h.Send(c.SocketId, 100);
        h.At(Ms(600));

        var accepted = h.Returned(a.CallId)!;
        Assert.Equal(Ms(510), accepted.At);
        var read = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = accepted.SocketId });
        Assert.Equal(100, read.Result);
    }

    [Theory]
    [InlineData(87, "EINVAL")]
    [InlineData(32768, "EINVAL")]
    [InlineData(-1, "EINVAL")]
    [InlineData(0, null)]
    [InlineData(88, null)]
    [InlineData(32767, null)]
    public void Close_MaxSeg_RangeIsTcpMinMssToMaxTcpWindow(int value, string? errno)
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        Assert.Equal(errno, h.SetOption(s.SocketId, SocketOption.TCP_MAXSEG, value).Errno);
    }

    [Fact]
    public void Close_MaxSegReadBack_UserMssElseTcpMssDefault()
    {
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        Assert.Equal(536, h.GetOption(s.SocketId, SocketOption.TCP_MAXSEG).Result);
        h.SetOption(s.SocketId, SocketOption.TCP_MAXSEG, 1000);
        Assert.Equal(1000, h.GetOption(s.SocketId, SocketOption.TCP_MAXSEG).Result);
    }

    [Fact]
    public void Close_FreshSocketTcpInfo_SndMssIsTcpMssDefault()
    {
        // tcp_init_sock(): tp->mss_cache = TCP_MSS_DEFAULT (536); tcp_get_info(): tcpi_snd_mss = mss_cache.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);

        Assert.Equal(536, h.Client.AllSockets.Single(x => x.Id == s.SocketId).Info.SndMss);
    }

    [Theory]
    [InlineData(0, true, 524)]
    [InlineData(1000, true, 988)]
    [InlineData(0, false, 536)]
    [InlineData(1000, false, 1000)]
    public void SynSent_MaxSegAndTcpInfo_ClampFirstThenOptionsSubtracted(int userMss, bool timestamps, int mssCache)
    {
        // tcp_v4_connect(): mss_clamp = TCP_MSS_DEFAULT (536); tcp_connect_init(): mss_clamp = user_mss when set,
        // tcp_header_len += TCPOLEN_TSTAMP_ALIGNED (12) with net.ipv4.tcp_timestamps, then tcp_sync_mss(1500):
        // __tcp_mtu_to_mss() = min(1500 − 20 − 20, mss_clamp), tcp_mtu_to_mss() subtracts the 12 option bytes:
        // min(1460, 536) − 12 = 524; min(1460, 1000) − 12 = 988; without timestamps 536 and 1000.
        // TCP_MAXSEG, tcpi_snd_mss and ss `mss:` all read that mss_cache while the SYN is out.
        var h = new TwoHostHarness();
        Assert.True(h.Client.Sysctls.TrySet("net.ipv4.tcp_timestamps", timestamps ? "1" : "0", out _));
        var s = h.Call("client", SocketCallKind.Socket);
        if (userMss != 0) h.SetOption(s.SocketId, SocketOption.TCP_MAXSEG, userMss);
        Connect(h, s.SocketId); // no listener: the server answers with a RST at 10 ms
        var sk = h.Client.AllSockets.Single(x => x.Id == s.SocketId);

        Assert.Equal(TcpState.SynSent, sk.State);
        Assert.Equal(mssCache, h.GetOption(s.SocketId, SocketOption.TCP_MAXSEG).Result);
        Assert.Equal(mssCache, sk.Info.SndMss);
        Assert.Contains($" mss:{mssCache} ", SsFormatter.Format(h.Client, true));
    }

    [Fact]
    public void SynSent_MaxSeg1000_SynAdvertisesItAndBothEndsSend988BytePayloads()
    {
        // tcp_connect_init(): advmss = tcp_mss_clamp() = 1000 (the SYN's MSS option); the server's mss_clamp is the
        // option, so both sides send 1000 − 12 (timestamps) = 988 bytes a segment; getsockopt reads mss_cache, 988.
        var h = new TwoHostHarness();
        var (_, a) = ListenWith(h, SocketOption.SO_REUSEADDR, 1);
        var s = h.Call("client", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.TCP_MAXSEG, 1000);
        Connect(h, s.SocketId);
        h.At(Ms(100));
        var server = h.Returned(a.CallId)!.SocketId;
        h.Send(server, 3000);
        h.At(Ms(200));

        Assert.Equal(1000, h.Sent("client").First(x => x.Flags == TcpFlags.Syn).Options.Mss);
        Assert.Equal([988, 988, 988, 36], h.Sent("server").Where(x => x.Len > 0).Select(x => x.Len));
        Assert.Equal(988, h.GetOption(s.SocketId, SocketOption.TCP_MAXSEG).Result);
    }

    [Fact]
    public void Listen_MaxSeg536_SynAckAdvertisesItAndTheChildInheritsIt()
    {
        // tcp_make_synack(): mss = tcp_mss_clamp(listener, 1460) = 536; the child (user_mss copied by sk_clone_lock())
        // clamps the client's 1460 to 536: mss_cache 524 with timestamps.
        var h = new TwoHostHarness();
        var (_, a) = ListenWith(h, SocketOption.TCP_MAXSEG, 536);
        Connect(h);
        h.At(Ms(100));

        Assert.Equal(536, h.Sent("server").First(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Options.Mss);
        Assert.Equal(524, h.GetOption(h.Returned(a.CallId)!.SocketId, SocketOption.TCP_MAXSEG).Result);
    }

    [Fact]
    public void SynSent_QuickAckZeroBeforeConnect_ThirdAckWaitsForTheDelayedAckTimer()
    {
        // tcp_rcv_synsent_state_process(): in ping-pong mode "Save one ACK": the delayed-ACK timer at TCP_DELACK_MAX
        // (50 jiffies) from 20 ms (jiffy 5): expires jiffy 55, level-0 bucket 56 = 224 ms; connect() returns at 20 ms.
        var h = new TwoHostHarness();
        ListenWith(h, SocketOption.SO_REUSEADDR, 1);
        var s = h.Call("client", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.TCP_QUICKACK, 0);
        var c = Connect(h, s.SocketId);
        h.At(Ms(500));

        Assert.Equal(Ms(20), h.Returned(c.CallId)!.At);
        Assert.Equal([Ms(224)], h.Sent("client").Where(x => x.Flags == TcpFlags.Ack && x.Len == 0).Select(x => x.At).Take(1));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtDelayedACKs]);
    }

    [Fact]
    public void SynSent_QuickAckZeroThenWriteAtConnect_DataCarriesTheThirdAck()
    {
        // The write right after connect() returns sends data with ACK: tcp_event_ack_sent() clears the delayed ACK.
        var h = new TwoHostHarness();
        ListenWith(h, SocketOption.SO_REUSEADDR, 1);
        var s = h.Call("client", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.TCP_QUICKACK, 0);
        Connect(h, s.SocketId);
        h.At(Ms(20));
        h.Send(s.SocketId, 100);
        h.At(Ms(500));

        var first = h.Sent("client").Where(x => x.Flags != TcpFlags.Syn).Select(x => (x.At, x.Len, x.Flags.ToLetters())).First();
        Assert.Equal((Ms(20), 100, "P."), first);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtDelayedACKs]);
    }
}
