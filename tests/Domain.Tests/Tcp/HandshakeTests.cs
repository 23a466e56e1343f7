using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §9.1 and §9.5: connection establishment timers that bound teardown scenarios.</summary>
public class HandshakeTests
{
    [Fact]
    public void SynSent_DeadServer_SynsAt0To68sWithLinearTimeoutsThenEtimedoutAt134s()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(S(200));
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9).ToArray();
        // Five 1 s timeouts (the initial RTO and tcp_syn_linear_timeouts = 4), then 2, 4 … 64 s, each run by
        // the timer wheel (calc_wheel_index()): 250 jiffies is level 1 (buckets every 8 jiffies, and
        // INITIAL_JIFFIES ≡ 0 mod 8): 250 → 256, 506 → 512 … 1280 (5.12 s); 1280 + 500 = 1780 → 1784 (7.136 s);
        // 1 000 – 4 000 jiffies are level 2 (buckets at jiffies ≡ 56 mod 64): 2784 → 2808, 4808 → 4856,
        // 8856 → 8888 (35.552 s); 8 000 and 16 000 jiffies level 3 (≡ 248 mod 512): 16888 → 17144 (68.576 s),
        // and the eleventh firing, 33144 → 33528 (134.112 s), finds tcp_syn_retries + 4 retransmissions done.
        Assert.Equal([0, 1.024, 2.048, 3.072, 4.096, 5.12, 7.136, 11.232, 19.424, 35.552, 68.576], syns);
        var returned = h.Returned(c.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(Ms(134_112), returned.At);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void SynSent_LinearTimeouts_BackoffStaysZeroUntilTheRtoDoubles()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(2500));
        // tcp_retransmit_timer() since 6.8 ("tcp: use tp->total_rto to track number of linear timeouts in SYN_SENT
        // state"): icsk_backoff++ only beside the doubling at out_reset_timer:, which the tcp_syn_linear_timeouts (4)
        // first RTOs skip (SYNs at 1.024 and 2.048 s).
        var sk = h.Sim.FindSocket(c.SocketId)!;
        Assert.Equal((0, 2, 1_000_000L), (sk.Info.Backoff, sk.Info.Retransmits, sk.Info.RtoUs));
        // The fifth RTO (total_rto 5 > 4) doubles icsk_rto and counts the first backoff.
        h.At(Ms(5500));
        Assert.Equal((1, 5, 2_000_000L), (sk.Info.Backoff, sk.Info.Retransmits, sk.Info.RtoUs));
    }

    [Fact]
    public void SynSent_Linux44_SynsDoubleFrom1sAndFailAt127s()
    {
        var h = new TwoHostHarness(profile: SimService.Domain.Engine.KernelProfile.Linux44);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(S(200));
        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9).ToArray();
        // 4.4's cascading wheel runs a timer on its expiry tick, but mod_timer() first applies apply_slack():
        // from 2 s on (≥ 256 jiffies) the expiry may move up to delta/256 later, onto a power-of-two mask.
        // At jiffy 250 + 500 = 750 (absolute INITIAL_JIFFIES + 750 ≡ 6 mod 16), the limit is 751: the two
        // differ in bit 0 only, so 751 (3.004 s); 751 + 1000 → limit 1754, highest differing bit 1 → 1752
        // (7.008 s); then 3756 (15.024 s), 7768 (31.072 s), 15784 (63.136 s) and the firing at 31800
        // (127.2 s) is past model(6) = 127 · 250 = 31750 jiffies since the SYN.
        Assert.Equal([0, 1, 3.004, 7.008, 15.024, 31.072, 63.136], syns);
        Assert.Equal(Ms(127_200), h.Returned(c.CallId)!.At);
    }

    [Fact]
    public void SynSent_NoListener_RstRefusesWithEconnrefused()
    {
        var h = new TwoHostHarness();
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));
        var rst = h.Sent("server").Single();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(0u, rst.SeqNo);
        Assert.Equal("ECONNREFUSED", h.Returned(c.CallId)!.Errno);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
    }

    [Fact]
    public void SynSent_ConnectToPortZero_SynToPortZeroRefusedByRstFromPortZero()
    {
        // __inet_stream_connect() and tcp_v4_connect() check no destination port: the SYN goes to port 0, where
        // nothing can listen (inet_csk_listen_start() gives a listener a port), so the peer's tcp_v4_rcv() finds no
        // socket and tcp_v4_send_reset() answers R. from port 0. Observed on 6.18.44: connect() to 127.0.0.1:0 and
        // to another local address's port 0 fail with ECONNREFUSED after S then R. (ack = ISS + 1, win 0).
        var h = new TwoHostHarness();
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 0 });
        h.At(Ms(100));
        var syn = h.Sent("client").Single();
        var rst = h.Sent("server").Single();
        Assert.Equal(("S", (ushort)0, Ms(0)), (syn.Flags.ToLetters(), syn.Tuple.Remote.Port, syn.At));
        Assert.Equal(("R.", (ushort)0, syn.Tuple.Local.Port, 0u, syn.SeqNo + 1, (ushort)0, Ms(10)),
            (rst.Flags.ToLetters(), rst.Tuple.Local.Port, rst.Tuple.Remote.Port, rst.SeqNo, rst.AckNo, rst.Win, rst.At));
        Assert.Equal((Ms(20), "ECONNREFUSED"), (h.Returned(c.CallId)!.At, h.Returned(c.CallId)!.Errno));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpOutRsts]);
    }

    [Theory]
    [InlineData(false, 3000)]
    [InlineData(true, 220)]
    public void SynSent_SynLostOnce_RtoFallsBackTo3sUnlessTimestampsGiveASample(bool timestamps, long rtoMs)
    {
        var h = new TwoHostHarness();
        if (!timestamps) h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0");
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(500));
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(S(2));
        var sk = h.Sim.FindSocket(c.SocketId)!;
        Assert.Equal(TcpState.Established, sk.State);
        Assert.Equal(rtoMs, sk.Rto.TotalMilliseconds);
    }

    [Fact]
    public void Established_After20msRtt_RtoIs220msAndWindowsAreLinuxs()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Equal(220, c.Rto.TotalMilliseconds);
        var syn = h.Sent("client").First();
        Assert.Equal(64240, syn.Win);
        // tcp_select_initial_window(): ilog2(max(space, tcp_rmem[2] = 32 MB, rmem_max)) − 15 = 25 − 15 = 10.
        Assert.Equal((byte)10, syn.Options.WindowScale);
        Assert.Equal(1460, syn.Options.Mss);
        Assert.True(syn.Options.SackPermitted && syn.Options.HasTimestamp);
        // The handshake ACK: ALIGN(rcv_ssthresh 64088, 1 << 10) = 64512, above what is left of 64240 → 64512 >> 10 = 63.
        Assert.Equal(63, h.Sent("client").ElementAt(1).Win);
    }
}

public class CallCompletionTests
{
    [Fact]
    public void SynSent_ConvenienceConnectReturns_CarriesTheSocketItCreated()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        Assert.NotNull(h.Sim.NextEventTime);
        h.At(TwoHostHarness.Ms(100));
        Assert.Equal(c.SocketId, h.Returned(c.CallId)!.SocketId);
    }

}

/// <summary>Simultaneous open and connect to self: tcp_rcv_synsent_state_process(), SYN without ACK, then SYN_RECV as a full socket.</summary>
public class SimultaneousOpenTests
{

    static CallHandle ConnectBound(TwoHostHarness h, string from, string to, ushort bind, ushort port) =>
        h.Call(new SocketCallRequest(from, "app", SocketCallKind.Connect) { ToHost = to, ToPort = port, BindPort = bind });

    [Fact]
    public void SynSent_CrossedSynsOnFixedPorts_BothSynRecvThenEstablishedAndConnectReturnsZero()
    {
        var h = new TwoHostHarness();
        h.At(Ms(1));
        var cc = ConnectBound(h, "client", "server", 5000, 6000);
        var sc = ConnectBound(h, "server", "client", 6000, 5000);
        h.At(S(5));
        var c = h.Sim.FindSocket(cc.SocketId)!;
        var s = h.Sim.FindSocket(sc.SocketId)!;
        foreach (var (me, peer, name) in new[] { (c, s, "client"), (s, c, "server") })
        {
            // The SYN at 1 ms; the peer's SYN at 11 ms → SYN_RECV and a SYN-ACK with our ISN; its SYN-ACK at 21 ms → ESTABLISHED and an ACK.
            var sent = h.Sent(name).ToList();
            Assert.Equal([(Ms(1), "S", me.Iss, 0u), (Ms(11), "S.", me.Iss, peer.Iss + 1), (Ms(21), ".", me.Iss + 1, peer.Iss + 1)],
                sent.Select(x => (x.At, x.Flags.ToLetters(), x.SeqNo, x.AckNo)));
            Assert.Equal(sent[0].Options with { TsVal = 0 }, sent[1].Options with { TsVal = 0, TsEcr = 0 });
            Assert.Equal(peer.Iss == 0 ? 0u : h.Sent(peer.Host.Name).First().Options.TsVal, sent[1].Options.TsEcr);
            Assert.Equal([TcpState.SynSent, TcpState.SynRecv, TcpState.Established], h.States(me.Id).Select(e => e.To));
            Assert.Equal([Ms(1), Ms(11), Ms(21)], h.States(me.Id).Select(e => e.At));
            Assert.Equal(1, me.Host.Mib[MibCounter.TcpActiveOpens]);
            Assert.Equal(0, me.Host.Mib[MibCounter.TcpPassiveOpens]);
            Assert.Equal(1, me.Host.Mib[MibCounter.TcpExtDelayedACKLost]);
            Assert.Equal(0, me.Host.Mib[MibCounter.TcpRetransSegs]);
        }
        Assert.Equal((0L, Ms(21)), (h.Returned(cc.CallId)!.Result, h.Returned(cc.CallId)!.At));
        Assert.Equal((0L, Ms(21)), (h.Returned(sc.CallId)!.Result, h.Returned(sc.CallId)!.At));
        Assert.Equal(c.Id, s.PeerSocketId);
    }

    /// <summary>
    /// Crossed SYNs whose SYN-ACKs are lost (the link loses everything from 5 ms to 2.5 s): each end, in SYN_RECV, resends
    /// its SYN-ACK on the SYN's RTO at 1024 ms and 3040 ms (Loss, cwnd 1). The peer's SYN-ACK at 3050 ms acks the resent
    /// SYN: tcp_clean_rtx_queue() sets FLAG_SYN_ACKED and clears retrans_stamp, so in tcp_process_loss() 6.18's
    /// tcp_packet_delayed() (no stamp, not SYN_SENT: "nothing was retransmitted") lets tcp_try_undo_loss() undo —
    /// TCPLossUndo, Open — and tcp_init_transfer() finds undo_marker 0 and keeps the initial cwnd of 10. Without SACK the
    /// stamp-less check is false once snd_una reached high_seq: no undo, cwnd 1 (two SYN-ACKs resent) and the state stays
    /// Loss. Observed on Linux 6.18.44 (scenarios/simultaneous-open-synacks-lost-loss-undone-with-sack.json).
    /// </summary>
    [Theory]
    [InlineData(1, 1, 10, 0)]
    [InlineData(0, 0, 1, 4)]
    public void SynRecv_CrossedSynAcksLost_SynAckOfTheResentSynUndoesTheLossWithSack(int sack, long lossUndo, int cwnd, int caState)
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_sack", sack.ToString());
        h.Sim.SetSysctl("server", "net.ipv4.tcp_sack", sack.ToString());
        var cc = ConnectBound(h, "client", "server", 5000, 6000);
        var sc = ConnectBound(h, "server", "client", 6000, 5000);
        h.At(Ms(5));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(Ms(2500));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 0.0, null);
        h.At(S(4));
        foreach (var (call, name) in new[] { (cc, "client"), (sc, "server") })
        {
            var sk = h.Sim.FindSocket(call.SocketId)!;
            Assert.Equal([(Ms(0), "S"), (Ms(10), "S."), (Ms(1024), "S."), (Ms(3040), "S."), (Ms(3050), ".")],
                h.Sent(name).Select(x => (x.At, x.Flags.ToLetters())));
            Assert.Equal((0L, Ms(3050)), (h.Returned(call.CallId)!.Result, h.Returned(call.CallId)!.At));
            Assert.Equal(TcpState.Established, sk.State);
            Assert.Equal(lossUndo, sk.Host.Mib[MibCounter.TcpExtTCPLossUndo]);
            Assert.Equal((cwnd, caState, 2), (sk.Info.SndCwnd, sk.Info.CaState, sk.Info.TotalRetrans));
        }
    }

    [Fact]
    public void SynSent_CrossedSynsWithTimestamps_SynAckKeepsTheWindowOfTheSyn()
    {
        // tcp_send_synack() sends the queued SYN again with rcv_wnd as tcp_connect_init() chose it, although the
        // peer's SYN has set ts_recent_stamp by then: 64240 in the SYN and in the SYN-ACK (observed on Linux 6.18.44
        // with a connect to self on lo at MTU 1500), not the 65160 a TIME-WAIT takeover offers.
        var h = new TwoHostHarness();
        h.At(Ms(1));
        ConnectBound(h, "client", "server", 5000, 6000);
        ConnectBound(h, "server", "client", 6000, 5000);
        h.At(S(5));
        foreach (var name in new[] { "client", "server" })
            Assert.Equal([("S", 64240), ("S.", 64240)], h.Sent(name).Take(2).Select(x => (x.Flags.ToLetters(), (int)x.Win)));
    }

    /// <summary>The client connects from 5000 to server:6000 over a dead link; at 100 ms a SYN (seq 7000, TSval 500) from server:6000 is injected.</summary>
    static (TwoHostHarness H, TcpSocket C, CallHandle Connect) SynRecvAfterInjectedSyn()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var cc = ConnectBound(h, "client", "server", 5000, 6000);
        var c = h.Sim.FindSocket(cc.SocketId)!;
        h.At(Ms(100));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn, 7000, 0, 29200, 0,
            new TcpOptions(Mss: 1460, WindowScale: 7, SackPermitted: true, HasTimestamp: true, TsVal: 500, TsEcr: 0)));
        Assert.Equal(TcpState.SynRecv, c.State);
        return (h, c, cc);
    }

    [Fact]
    public void SynSent_InjectedSyn_SynRecvSynAckWithOriginalIsnAndRetransmittedAsSynAck()
    {
        var (h, c, cc) = SynRecvAfterInjectedSyn();
        Assert.Equal(7001u, c.RcvNxt);
        h.At(S(4));
        var sent = h.Sent("client").ToList();
        Assert.Equal(["S", "S.", "S.", "S."], sent.Select(x => x.Flags.ToLetters()));
        Assert.All(sent, x => Assert.Equal(c.Iss, x.SeqNo));
        Assert.All(sent.Skip(1), x => Assert.Equal(7001u, x.AckNo));
        Assert.All(sent.Skip(1), x => Assert.Equal(500u, x.Options.TsEcr));
        Assert.Equal(1460, sent[1].Options.Mss);
        // The SYN's RTO keeps running: 1 s after the SYN, then 2 s later (SYN_RECV backs off at once); both
        // level 1 of the timer wheel, the next multiple of 8 jiffies after expiry: 250 → 256, 256 + 500 = 756 → 760.
        Assert.Equal([Ms(0), Ms(100), Ms(1024), Ms(3040)], sent.Select(x => x.At));
        Assert.Equal(2, h.Client.Mib[MibCounter.TcpRetransSegs]);
        Assert.Null(h.Returned(cc.CallId));
    }

    /// <summary>
    /// Crossed SYNs with a small window: the peer's SYN offers window 1000 (never scaled) and MSS 536, so max_window is
    /// 1000 and tcp_sync_mss() bounds mss_cache to half of it, 500 (tcp_bound_to_half_wnd(); 536 − 12 would be 524).
    /// The peer's SYN-ACK at 150 ms (window 1000, unscaled in tcp_ack_update_window()) ends SYN_RECV, whose
    /// snd_wnd = 1000 &lt;&lt; 7 leaves max_window alone; a later ACK with that same window (no change: "if (tp->snd_wnd !=
    /// nwin)") leaves it too. So 1000 bytes go as 500 + 500 at 200 ms and tcpi_snd_mss stays 500. Observed on Linux
    /// 6.18.44 (packetdrill/simultaneous-open-synack-window-keeps-half-window-mss.pkt, --fuzz-edges seed 7143).
    /// </summary>
    [Fact]
    public void SynRecv_CrossedSynAckWithSmallWindow_MssKeepsHalfTheSynWindow()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var cc = ConnectBound(h, "client", "server", 5000, 6000);
        var c = h.Sim.FindSocket(cc.SocketId)!;
        h.At(Ms(100));
        var options = new TcpOptions(Mss: 536, WindowScale: 7, SackPermitted: true, HasTimestamp: true, TsVal: 500, TsEcr: 0);
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn, 7000, 0, 1000, 0, options));
        h.At(Ms(150));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn | TcpFlags.Ack, 7000, c.Iss + 1, 1000, 0, options with { TsVal = 550 }));
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal((128000u, 500), (c.Info.SndWnd, c.Info.SndMss));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Ack, 7001, c.Iss + 1, 1000, 0, TcpOptions.None with { HasTimestamp = true, TsVal = 560 }));
        Assert.Equal(500, c.Info.SndMss);
        h.At(Ms(200));
        h.Send(c.Id, 1000);
        h.At(Ms(201));
        Assert.Equal([(Ms(200), ".", c.Iss + 1, 500), (Ms(200), "P.", c.Iss + 501, 500)],
            h.Sent("client").Where(x => x.Len > 0).Select(x => (x.At, x.Flags.ToLetters(), x.SeqNo, x.Len)));
    }

    /// <summary>
    /// close() in SYN_RECV after crossed SYNs (the peer's SYN without SACK, so no loss probe): FIN_WAIT1, the FIN at once
    /// (200 ms) behind the unacknowledged SYN-ACK.
    /// The SYN's RTO still runs and tcp_retransmit_skb() resends the queue's head in any state: the SYN-ACK (ISN, ack
    /// 7001) at 1024 ms and again at 3040 ms, as in SYN_RECV (packetdrill/simultaneous-open-closed-in-syn-recv-resends-synack.pkt,
    /// observed on Linux 6.18.44).
    /// </summary>
    [Fact]
    public void SynRecv_Close_FinThenTheRtoResendsTheSynAck()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var sock = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
        var cc = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock.SocketId, ToHost = "server", ToPort = 6000, BindPort = 5000 });
        var c = h.Sim.FindSocket(cc.SocketId)!;
        h.At(Ms(100));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn, 7000, 0, 29200, 0,
            new TcpOptions(Mss: 1460, WindowScale: 7, HasTimestamp: true, TsVal: 500, TsEcr: 0)));
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(4));
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.Equal([(Ms(0), "S", c.Iss), (Ms(100), "S.", c.Iss), (Ms(200), "F.", c.Iss + 1), (Ms(1024), "S.", c.Iss), (Ms(3040), "S.", c.Iss)],
            h.Sent("client").Select(x => (x.At, x.Flags.ToLetters(), x.SeqNo)));
        Assert.All(h.Sent("client").Skip(1), x => Assert.Equal(7001u, x.AckNo));
    }

    [Fact]
    public void SynRecv_AcceptableAck_EstablishedAndConnectReturnsZero()
    {
        var (h, c, cc) = SynRecvAfterInjectedSyn();
        h.At(Ms(150));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Ack, 7001, c.Iss + 1, 229, 0, TcpOptions.None with { HasTimestamp = true, TsVal = 550, TsEcr = 0 }));
        h.At(Ms(150)); // the woken connect() runs after the softirq, at the same instant
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal((0L, Ms(150)), (h.Returned(cc.CallId)!.Result, h.Returned(cc.CallId)!.At));
        Assert.Equal(229u << 7, c.Info.SndWnd);
        Assert.Equal(c.Iss + 1, c.SndUna);
        h.At(S(10));
        Assert.Equal(2, h.Sent("client").Count());
    }

    /// <summary>
    /// shutdown(SHUT_WR) in SYN_RECV (6.10+, "tcp: defer shutdown(SEND_SHUTDOWN) for TCP_SYN_RECV sockets"):
    /// inet_shutdown() sets SEND_SHUTDOWN but tcp_shutdown() acts only in ESTABLISHED, SYN_SENT or CLOSE_WAIT — no
    /// FIN, the socket stays SYN_RECV. The ACK of our SYN-ACK at 150 ms makes it ESTABLISHED and
    /// tcp_rcv_state_process() then calls tcp_shutdown(sk, SEND_SHUTDOWN) (SEND_SHUTDOWN is set): FIN_WAIT1 and the
    /// FIN (seq ISS + 1, ack 7001) at 150 ms.
    /// </summary>
    [Fact]
    public void SynRecv_ShutdownWr_FinDeferredUntilEstablished()
    {
        var (h, c, cc) = SynRecvAfterInjectedSyn();
        var shut = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        Assert.Equal(0, shut.Result);
        h.At(Ms(149));
        Assert.Equal(TcpState.SynRecv, c.State);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Fin));

        h.At(Ms(150));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Ack, 7001, c.Iss + 1, 229, 0, TcpOptions.None with { HasTimestamp = true, TsVal = 550, TsEcr = 0 }));
        h.At(Ms(150)); // the woken connect() runs after the softirq, at the same instant

        Assert.Equal([TcpState.SynSent, TcpState.SynRecv, TcpState.Established, TcpState.FinWait1], h.States(c.Id).Select(e => e.To));
        var fin = h.Sent("client").Last();
        Assert.Equal((Ms(150), "F.", c.Iss + 1, 7001u), (fin.At, fin.Flags.ToLetters(), fin.SeqNo, fin.AckNo));
        Assert.Equal((0L, Ms(150)), (h.Returned(cc.CallId)!.Result, h.Returned(cc.CallId)!.At));
    }

    [Fact]
    public void SynRecv_AckOfUnsentData_ReplyRstAndStaysSynRecv()
    {
        var (h, c, cc) = SynRecvAfterInjectedSyn();
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Ack, 7001, c.Iss + 77, 229, 0, TcpOptions.None));
        var rst = h.Sent("client").Last();
        Assert.Equal(("R", c.Iss + 77), (rst.Flags.ToLetters(), rst.SeqNo));
        Assert.Equal(TcpState.SynRecv, c.State);
        Assert.Null(h.Returned(cc.CallId));
    }

    [Fact]
    public void SynRecv_RstAtRcvNxt_ConnectFailsWithEconnresetAndAttemptFails()
    {
        var (h, c, cc) = SynRecvAfterInjectedSyn();
        h.At(Ms(120));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Rst, 7001, 0, 0, 0, TcpOptions.None));
        h.At(Ms(120)); // the woken connect() runs after the softirq, at the same instant
        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal(("ECONNRESET", Ms(120)), (h.Returned(cc.CallId)!.Errno, h.Returned(cc.CallId)!.At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpAttemptFails]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpEstabResets]);
    }

    [Fact]
    public void Established_SynAtRcvNxt_ChallengeAckCountedAsInErr()
    {
        // tcp_rcv_established() calls tcp_validate_incoming() with syn_inerr = 1: syn_challenge: counts Tcp.InErrs
        // before TCPSYNChallenge (tcp_rcv_state_process() passes 0: SYN-RECV above counts no InErrs).
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Deliver(h.Client, From(s, TcpFlags.Syn, s.SndNxt, 0));
        Assert.Equal(TcpFlags.Ack, h.Sent("client").Last().Flags);
        Assert.Equal((1, 1, 1), (h.Client.Mib[MibCounter.TcpInErrs], h.Client.Mib[MibCounter.TcpExtTCPSYNChallenge], h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]));
        Assert.Equal(TcpState.Established, c.State);
    }

    [Fact]
    public void SynRecv_AnotherSyn_ChallengeAck()
    {
        var (h, c, _) = SynRecvAfterInjectedSyn();
        h.At(Ms(120));
        h.Deliver(h.Client, new Segment(c.Tuple.Reversed, TcpFlags.Syn, 7000, 0, 29200, 0, TcpOptions.None));
        var ack = h.Sent("client").Last();
        Assert.Equal((".", c.Iss + 1, 7001u, Ms(120)), (ack.Flags.ToLetters(), ack.SeqNo, ack.AckNo, ack.At));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPSYNChallenge]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpInErrs]);
        Assert.Equal(TcpState.SynRecv, c.State);
    }

    [Fact]
    public void SynSent_ConnectToSelf_EstablishedWithItselfAtOnce()
    {
        var h = new TwoHostHarness();
        h.At(Ms(5));
        var cc = ConnectBound(h, "client", "client", 5000, 5000);
        h.At(Ms(10));
        var c = h.Sim.FindSocket(cc.SocketId)!;
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal((0L, Ms(5)), (h.Returned(cc.CallId)!.Result, h.Returned(cc.CallId)!.At));
        Assert.Equal([("S", c.Iss, 0u), ("S.", c.Iss, c.Iss + 1), (".", c.Iss + 1, c.Iss + 1)],
            h.Sent("client").Select(x => (x.Flags.ToLetters(), x.SeqNo, x.AckNo)));
        Assert.Equal([TcpState.SynSent, TcpState.SynRecv, TcpState.Established], h.States(c.Id).Select(e => e.To));
        h.Send(c.Id, 100);
        h.At(Ms(20));
        Assert.Equal(100, h.Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = c.Id, Bytes = 1000 }).Result);
    }
}
