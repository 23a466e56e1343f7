using SimService.Domain.Observability;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Packetdrill;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §6.4 and §14 scenarios 16, 17: segments reaching a TIME-WAIT socket.</summary>
public class TimeWaitTests
{
    static (TwoHostHarness H, TcpSocket C, TcpSocket S, TimeWaitSocket Tw) InTimeWait(bool rfc1337 = false)
    {
        var h = new TwoHostHarness();
        if (rfc1337) h.Sim.SetSysctl("client", "net.ipv4.tcp_rfc1337", "1");
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal(TcpState.TimeWait, tw.Substate);
        return (h, c, s, tw);
    }

    [Fact]
    public void TimeWait_RetransmittedFin_AckedAndTimerBackTo60s()
    {
        var (h, c, s, tw) = InTimeWait();
        h.At(S(20));
        h.Deliver(h.Client, From(s, TcpFlags.Fin | TcpFlags.Ack, tw.RcvNxt - 1, tw.SndNxt));
        var ack = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(tw.RcvNxt, ack.AckNo);
        Assert.Equal(tw.SndNxt, ack.SeqNo);
        Assert.True(ack.Options.HasTimestamp);
        Assert.Equal(S(20) + TcpConstants.TimeWaitLen, tw.Expires);
    }

    [Fact]
    public void TimeWait_RetransmittedFinTwiceInOneJiffy_SecondRearmKeepsTheTimersQueueItem()
    {
        // Both FINs re-arm tw_timer for S(20) + 60 s: the second mod_timer() finds that expiry already set and returns
        // (__mod_timer()), so the timer keeps its place in its bucket — no new queue item, only the second ACK's.
        var (h, c, s, tw) = InTimeWait();
        h.At(S(20));
        int before = h.Sim.PendingEvents;
        h.Deliver(h.Client, From(s, TcpFlags.Fin | TcpFlags.Ack, tw.RcvNxt - 1, tw.SndNxt));
        int afterFirst = h.Sim.PendingEvents;
        h.Deliver(h.Client, From(s, TcpFlags.Fin | TcpFlags.Ack, tw.RcvNxt - 1, tw.SndNxt));
        int afterSecond = h.Sim.PendingEvents;
        Assert.Equal(S(20) + TcpConstants.TimeWaitLen, tw.Expires);
        Assert.Equal((2, 1), (afterFirst - before, afterSecond - afterFirst));
    }

    [Fact]
    public void TimeWait_BareInWindowAck_RestartsTimerWithoutReply()
    {
        var (h, c, s, tw) = InTimeWait();
        h.At(S(20));
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Ack, tw.RcvNxt, tw.SndNxt));
        Assert.Equal(sent, h.Sent("client").Count());
        Assert.Equal(S(20) + TcpConstants.TimeWaitLen, tw.Expires);
    }

    [Fact]
    public void TimeWait_ExactRst_KillsIt()
    {
        // Observed on Linux 6.18.44 (a raw RST at rcv_nxt into a loopback TIME-WAIT): the entry is gone, nothing is sent.
        var (h, c, s, tw) = InTimeWait();
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt, 0));
        Assert.False(tw.Alive);
        Assert.Equal(0, h.Client.TimeWaitCount);
        Assert.Equal(sent, h.Sent("client").Count());
    }

    [Fact]
    public void TimeWait_ExactRstWithRfc1337_Ignored()
    {
        var (h, c, s, tw) = InTimeWait(rfc1337: true);
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt, 0));
        Assert.True(tw.Alive);
        Assert.Equal(sent, h.Sent("client").Count());
    }

    [Fact]
    public void TimeWait_RstWithWrongSeq_Ignored()
    {
        // Observed on Linux 6.18.44 (rcv_nxt + 5): the TIME-WAIT stays and sends nothing, no challenge ACK.
        var (h, c, s, tw) = InTimeWait();
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt + 5, 0));
        Assert.True(tw.Alive);
        Assert.Equal(sent, h.Sent("client").Count());
    }

    [Fact]
    public void TimeWait_OutOfWindowPureAcks_RateLimitedToOnePer500ms()
    {
        var (h, c, s, tw) = InTimeWait();
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Ack, tw.RcvNxt + 100000, tw.SndNxt));
        h.Deliver(h.Client, From(s, TcpFlags.Ack, tw.RcvNxt + 100000, tw.SndNxt));
        Assert.Equal(sent + 1, h.Sent("client").Count());
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPACKSkippedTimeWait]);
    }

    [Fact]
    public void TimeWait_TimestampsSysctlOff_OldTsValAtRcvNxtIsABareAckTakenInSilence()
    {
        // tcp_timewait_state_process() parses with estab = 0: tcp_parse_options() sees the timestamp only while
        // net.ipv4.tcp_timestamps is on, so no PAWS check — the in-window bare ACK branch: the timer restarts, no reply,
        // tw_ts_recent untouched. Observed on Linux 6.18.44 (packetdrill/time-wait-timestamps-sysctl-off-no-paws.pkt).
        var (h, c, s, tw) = InTimeWait();
        uint tsRecent = tw.TsRecent;
        var old = new TcpOptions(HasTimestamp: true, TsVal: tsRecent - 5, TsEcr: 0);
        h.At(S(20));
        h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0");
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Ack, tw.RcvNxt, tw.SndNxt, options: old));
        Assert.Equal(sent, h.Sent("client").Count());
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtPAWSTimewait]);
        Assert.Equal((S(20) + TcpConstants.TimeWaitLen, tsRecent), (tw.Expires, tw.TsRecent));
        // With the sysctl on again the same segment fails PAWS: counted, answered with an ACK echoing tw_ts_recent.
        h.At(S(21));
        h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "1");
        h.Deliver(h.Client, From(s, TcpFlags.Ack, tw.RcvNxt, tw.SndNxt, options: old));
        var ack = Assert.Single(h.Sent("client").Skip(sent));
        Assert.Equal((TcpFlags.Ack, tw.SndNxt, tw.RcvNxt, tsRecent), (ack.Flags, ack.SeqNo, ack.AckNo, ack.Options.TsEcr));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtPAWSTimewait]);
    }

    [Fact]
    public void TimeWait_TimestampsSysctlOff_SynBelowRcvNxtWithNewerTsValIsAcked()
    {
        // The server closed first and holds the TIME-WAIT; its listener is still there. A SYN below tw_rcv_nxt whose TS
        // val is newer than tw_ts_recent would open a new connection (TCP_TW_SYN), but with net.ipv4.tcp_timestamps
        // off the timestamp is not parsed: an out-of-window SYN without ACK, answered with the old connection's ACK
        // and the timer left alone. Observed on Linux 6.18.44.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(300));
        var tw = h.TimeWaitOf(s)!;
        Assert.Equal(TcpState.TimeWait, tw.Substate);
        var expires = tw.Expires;
        h.At(S(1));
        h.Sim.SetSysctl("server", "net.ipv4.tcp_timestamps", "0");
        int sent = h.Sent("server").Count();
        h.Deliver(h.Server, From(c, TcpFlags.Syn, tw.RcvNxt - 1000, 0, options: new TcpOptions(HasTimestamp: true, TsVal: tw.TsRecent + 1000, TsEcr: 0)));
        var ack = Assert.Single(h.Sent("server").Skip(sent));
        Assert.Equal((TcpFlags.Ack, tw.SndNxt, tw.RcvNxt), (ack.Flags, ack.SeqNo, ack.AckNo));
        Assert.True(tw.Alive);
        Assert.Equal(expires, tw.Expires);
    }

    /// <summary>
    /// The client shuts down its write side at 100 ms and keeps the descriptor; the server closes at
    /// 200 ms, its FIN reaches the client's FIN-WAIT-2 at 210 ms.
    /// </summary>
    static (TwoHostHarness H, TcpSocket C) TimeWaitWithDescriptorOpen()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(200));
        Assert.Equal(TcpState.FinWait2, c.State);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        return (h, c);
    }

    [Fact]
    public void FinWait2WithDescriptorOpen_ReceivesFin_DescriptorKeepsCloseSocketAndTimeWaitIsSeparate()
    {
        // tcp_time_wait(): a new inet_timewait_sock takes the connection; tcp_done() leaves the fd's socket TCP_CLOSE.
        var (h, c) = TimeWaitWithDescriptorOpen();
        Assert.Equal(TcpState.Close, c.State);
        Assert.False(c.IsHashed);
        Assert.False(c.Destroyed);
        Assert.NotNull(c.Owner);
        Assert.Equal(TcpState.Close, c.Info.State);
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal(TcpState.TimeWait, tw.Substate);
        Assert.Equal(1, h.Client.TimeWaitCount);
        Assert.Equal(Ms(210), h.States(c.Id).Single(e => e.To == TcpState.TimeWait).At);
        // ss lists the TIME-WAIT entry, never the CLOSE socket; the descriptor's own view has no row.
        Assert.Equal([TcpState.TimeWait], SocketListing.Rows(h.Client).Select(r => r.State));
        Assert.Equal(SocketRowKind.TimeWait, SocketListing.Rows(h.Client).Single().Kind);
        Assert.Empty(SocketListing.RowsOf(h.Client, c.Id));
    }

    [Fact]
    public void CloseSocketAfterTimeWait_Calls_EnotconnZeroEpipeAndCloseSendsNothing()
    {
        var (h, c) = TimeWaitWithDescriptorOpen();
        int sent = h.Sent("client").Count();
        // inet_shutdown(): TCP_CLOSE → ENOTCONN; tcp_recvmsg(): SOCK_DONE → 0; tcp_sendmsg(): SEND_SHUTDOWN → EPIPE.
        Assert.Equal("ENOTCONN", h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_RDWR }).Errno);
        Assert.Equal(0, h.Call("client", SocketCallKind.Recv, c.Id).Result);
        Assert.Equal("EPIPE", h.Send(c.Id, 10).Errno);
        // __tcp_close() on a TCP_CLOSE socket: no FIN, and no RST even with SO_LINGER {1,0}.
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        Assert.Equal(0, h.Call("client", SocketCallKind.Close, c.Id).Result);
        h.At(Ms(400));
        Assert.Equal(sent, h.Sent("client").Count());
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpOutRsts]);
        Assert.True(c.Destroyed);
        // Now that no descriptor holds it, the socket id names what the kernel still keeps: the TIME-WAIT entry.
        var row = Assert.Single(SocketListing.RowsOf(h.Client, c.Id));
        Assert.Equal((SocketRowKind.TimeWait, TcpState.TimeWait), (row.Kind, row.State));
        Assert.True(h.TimeWaitOf(c)!.Alive);
    }

    [Fact]
    public void ClosingWithDescriptorOpen_AckOfFin_DescriptorKeepsCloseSocket()
    {
        // Simultaneous shutdown(SHUT_WR): both FIN-WAIT-1 → CLOSING; the ACK of our FIN → TIME-WAIT entry, fd on CLOSE.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(200));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = s.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(300));
        foreach (var sk in new[] { c, s })
        {
            Assert.Equal([TcpState.FinWait1, TcpState.Closing, TcpState.TimeWait, TcpState.Close],
                h.States(sk.Id).Where(e => e.At >= Ms(200)).Select(e => e.To));
            Assert.Equal(TcpState.Close, sk.State);
            Assert.Empty(SocketListing.RowsOf(sk.Host, sk.Id));
            Assert.Equal(TcpState.TimeWait, h.TimeWaitOf(sk)!.Substate);
        }
    }

    /// <summary>
    /// Without window scaling a TIME-WAIT's ACK carries tw_rcv_wnd's low 16 bits: tcp_v4_timewait_ack() passes
    /// tw_rcv_wnd &gt;&gt; tw_rcv_wscale as tcp_v4_send_ack()'s u32 win, and htons() keeps 16 bits. tp->rcv_wnd grows past
    /// 65535 (tcp_select_window() clamps only the field), so the orphan's timewait socket holds 74168 and says 8632 — as
    /// 6.18.44 does (packetdrill/time-wait-ack-window-without-wscale-wraps-at-16-bits.pkt; fuzz-workload-39005-3); the
    /// engine clamped it to 65535.
    /// </summary>
    [Fact]
    public void FinWait2Orphan_NoWindowScaling_TimeWaitAckWindowIsTheLow16Bits()
    {
        const string script = """
            `./defaults.sh`
            `sysctl -q net.ipv4.tcp_window_scaling=0 net.ipv4.tcp_fin_timeout=5`

                0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
               +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
               +0 bind(3, ..., ...) = 0
               +0 listen(3, 1) = 0
               +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>
               +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
             +.01 < . 1:1(0) ack 1 win 65535
               +0 accept(3, ..., ...) = 4
             +.01 < P. 1:1449(1448) ack 1 win 65535
               +0 > . 1:1(0) ack 1449 win 65535
               +0 read(4, ..., 1448) = 1448
               +0 close(4) = 0
               +0 > F. 1:1(0) ack 1449 win 65535
             +.01 < . 1449:1449(0) ack 2 win 65535
             +.01 < F. 1449:1449(0) ack 2 win 65535
               +0 > . 2:2(0) ack 1450 win 8632
            """;
        var result = PacketdrillRunner.Run(script, new PacketdrillOptions { ScriptName = "tw-ack-window-wraps.pkt" });
        Assert.True(result.Passed, result.Output);
    }
}
