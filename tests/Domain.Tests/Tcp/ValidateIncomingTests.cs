using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Time;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// tcp_validate_incoming() — net/ipv4/tcp_input.c — on an established connection with timestamps: PAWS
/// (tcp_paws_check(), tcp_disordered_ack_check(), TCP_PAWS_WRAP), tcp_sequence()'s end-of-window rule (6.17+) and
/// tcp_may_update_window()'s zero window. Client 10.0.0.1, server 10.0.0.2, 10 ms apart; the client sends 10 bytes
/// at 100 ms and the server ACKs them at 110 ms (a quick ACK), so the client's snd_wl1 is the server's snd_nxt and its ts_recent
/// the TSval of that ACK. The crafted segments come from the server's side at 200 ms.
/// </summary>
public class ValidateIncomingTests
{
    static readonly SimTime At200 = Ms(200);

    static (TwoHostHarness H, TcpSocket C, TcpSocket S, uint TsRecent) Connected(KernelProfile profile = KernelProfile.Linux6)
    {
        var h = new TwoHostHarness(profile: profile);
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 10);
        h.At(At200);
        var serverAck = h.Sent("server").Last();
        Assert.Equal((Ms(110), c.SndNxt), (serverAck.At, serverAck.AckNo));
        return (h, c, s, serverAck.Options.TsVal);
    }

    static Segment FromServer(TcpSocket s, TcpSocket c, uint seq, uint tsVal, int len = 0, ushort window = 10, TcpFlags flags = TcpFlags.Ack) =>
        new(s.Tuple, flags, seq, c.SndNxt, window, len, new TcpOptions(HasTimestamp: true, TsVal: tsVal));

    static List<SegmentSent> ClientSentAt(TwoHostHarness h, SimTime t) => h.Sent("client").Where(e => e.At == t).ToList();

    [Fact]
    public void Established_DataWithAnOldTsval_PawsRejectedWithADupAck()
    {
        var (h, c, s, tsRecent) = Connected();
        uint rcvNxt = c.RcvNxt;

        h.Deliver(h.Client, FromServer(s, c, s.SndNxt, tsRecent - 1000, len: 10, flags: TcpFlags.Ack | TcpFlags.Psh));

        var sent = Assert.Single(ClientSentAt(h, At200));
        Assert.Equal(("tcp_validate_incoming (PAWS)", rcvNxt, rcvNxt), (sent.Reason, sent.AckNo, c.RcvNxt));
        Assert.Equal((1L, 0L), (h.Client.Mib[MibCounter.TcpExtPAWSEstab], h.Client.Mib[MibCounter.TcpExtPAWSOldAck]));
    }

    [Theory]
    [InlineData(100u, 0L, 0)]  // within the replay window: icsk_rto (≥ 200 ms = 50 jiffies) · 1200 / HZ ≥ 240
    [InlineData(1000u, 1L, 1)] // beyond it: PAWSEstab and a dup-ACK
    public void Established_PureDupAckWithAnOldTsval_DisorderedAckAcceptedWithinTheReplayWindow(uint behind, long pawsEstab, int dupAcks)
    {
        // tcp_disordered_ack_check(): a pure ACK at rcv_nxt, of snd_una, that does not update the window (same
        // snd_wl1, a smaller window: 10 << the server's wscale of 10 is 10,240 bytes against 65,536) is a disordered ACK, not a PAWS failure — unless its TSval is further behind
        // ts_recent than the replay window.
        var (h, c, s, tsRecent) = Connected();

        h.Deliver(h.Client, FromServer(s, c, s.SndNxt, tsRecent - behind));

        Assert.Equal((pawsEstab, dupAcks), (h.Client.Mib[MibCounter.TcpExtPAWSEstab], ClientSentAt(h, At200).Count));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 1L, 0L, 0)]
    [InlineData(KernelProfile.Linux44, 0L, 1L, 1)]
    public void Established_OldPureAckFailingPaws_DroppedSilentlyAsPawsOldAckOn618(KernelProfile profile, long oldAck, long pawsEstab, int dupAcks)
    {
        // 6.14+: a pure ACK below rcv_nxt that fails PAWS is SKB_DROP_REASON_TCP_RFC7323_PAWS_ACK: PAWSOldAck, no
        // dup-ACK ("Old ACK are common"). linux-4.4 counts PAWSEstab and answers it.
        var (h, c, s, tsRecent) = Connected(profile);

        h.Deliver(h.Client, FromServer(s, c, s.SndNxt - 1, tsRecent - 1000));

        Assert.Equal((oldAck, pawsEstab, dupAcks),
            (h.Client.Mib[MibCounter.TcpExtPAWSOldAck], h.Client.Mib[MibCounter.TcpExtPAWSEstab], ClientSentAt(h, At200).Count));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 10u, 0L)]   // TCP_PAWS_WRAP: ts_recent is 2,200 s old (> 2,147 s): accepted
    [InlineData(KernelProfile.Linux44, 0u, 1L)]   // TCP_PAWS_24DAYS: still rejected
    public void Established_OldTsvalAfter2200sIdle_AcceptedOnceTsRecentIsOlderThanPawsWrap(KernelProfile profile, uint accepted, long pawsEstab)
    {
        var (h, c, s, tsRecent) = Connected(profile);
        uint rcvNxt = c.RcvNxt;
        var at = TwoHostHarness.S(2200);
        h.At(at);

        h.Deliver(h.Client, FromServer(s, c, s.SndNxt, tsRecent - 1000, len: 10, flags: TcpFlags.Ack | TcpFlags.Psh));

        Assert.Equal((rcvNxt + accepted, pawsEstab), (c.RcvNxt, h.Client.Mib[MibCounter.TcpExtPAWSEstab]));
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 1000u, 0L)]  // TCP_PAWS_WRAP passed: accepted, and its TSval is ts_recent
    [InlineData(KernelProfile.Linux44, 0u, 1L)]    // TCP_PAWS_24DAYS not: PAWS-rejected, the dup-ACK echoes ts_recent
    public void Established_OldTsvalAfter2200sIdle_BecomesTsRecentThroughTheSamePawsCheck(KernelProfile profile, uint echoedBehind, long pawsEstab)
    {
        // tcp_ack() → tcp_replace_ts_recent() → tcp_paws_check(&tp->rx_opt, 0): the TSval of a segment at rcv_wup is
        // taken when it is not older than ts_recent — or when ts_recent is older than TCP_PAWS_WRAP (or 0), the
        // clauses that let tcp_validate_incoming() accept it. The ACK of the 10 bytes echoes the older TSval.
        var (h, c, s, tsRecent) = Connected(profile);
        var at = TwoHostHarness.S(2200);
        h.At(at);

        h.Deliver(h.Client, FromServer(s, c, s.SndNxt, tsRecent - 1000, len: 10, flags: TcpFlags.Ack | TcpFlags.Psh));

        var ack = h.Sent("client").First(e => e.At >= at); // the ACK of the 10 bytes (linux-4.4: the PAWS dup-ACK), at once
        Assert.Equal(c.RcvNxt, ack.AckNo);
        Assert.Equal((at, tsRecent - echoedBehind, pawsEstab), (ack.At, ack.Options.TsEcr, h.Client.Mib[MibCounter.TcpExtPAWSEstab]));
    }

    [Theory]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh, 1, 1L)]               // one byte past the window: dropped, BeyondWindow
    [InlineData(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, 0, 0L)] // the window's bytes plus a FIN: the FIN is excused
    public void Established_SegmentEndingBeyondTheWindowWithUnreadData_DroppedAsBeyondWindow(TcpFlags flags, int extra, long beyond)
    {
        // tcp_sequence() (6.17+, "tcp: do not accept packets beyond window"): the segment starts at rcv_nxt but ends
        // past rcv_nxt + tcp_receive_window() while the receive queue holds unread data: TCP_INVALID_END_SEQUENCE,
        // BeyondWindow and a dup-ACK. A FIN's own sequence number does not count (end_seq − th->fin).
        var (h, c, s, tsRecent) = Connected();
        h.Send(s.Id, 1000);
        h.At(Ms(300));
        var ack = h.Sent("client").Last();
        int wscale = h.Sent("client").First().Options.WindowScale!.Value;
        Assert.Equal((Ms(210), c.RcvNxt), (ack.At, ack.AckNo));
        int window = ack.Win << wscale;
        uint rcvNxt = c.RcvNxt;

        h.Deliver(h.Client, FromServer(s, c, rcvNxt, tsRecent + 200, len: window + extra, flags: flags));

        Assert.Equal(beyond, h.Client.Mib[MibCounter.TcpExtBeyondWindow]);
        Assert.Equal(beyond, h.Sent("client").Count(e => e.Reason == "tcp_validate_incoming (out of window)"));
        Assert.Equal(beyond == 1 ? rcvNxt : rcvNxt + (uint)window + 1, c.RcvNxt);
    }

    [Theory]
    [InlineData(KernelProfile.Linux6, 0)]
    [InlineData(KernelProfile.Linux44, 100)]
    public void Established_ZeroWindowFromTheSameSegmentSequence_WindowClosesOn618(KernelProfile profile, int sent)
    {
        // tcp_may_update_window(): "ack_seq == tp->snd_wl1 && (nwin > tp->snd_wnd || !nwin)" — a zero window from
        // the last window update's sequence, acking nothing new, still closes the window (6.4+); linux-4.4 keeps the
        // old window, so the next send() goes out.
        var (h, c, s, tsRecent) = Connected(profile);

        h.Deliver(h.Client, FromServer(s, c, s.SndNxt, tsRecent + 10, window: 0));
        h.Send(c.Id, 100);

        Assert.Equal(sent, ClientSentAt(h, At200).Sum(e => e.Len));
    }

    /// <summary>
    /// tcp_send_challenge_ack() after the per-socket limit checks the host-wide budget unless tcp_challenge_ack_limit is
    /// INT_MAX: with limit 1 each second's budget is get_random_u32_inclusive(1, 1) = 1. Two connections each get an
    /// in-window, inexact RST at 200 ms: the first is challenged (TCPChallengeACK 1), the second not (nothing counted —
    /// the per-socket limit did not refuse it); at 1.2 s a new second's budget lets the second connection's next one
    /// through. With the default INT_MAX both are challenged at once.
    /// </summary>
    [Theory]
    [InlineData("1", 1, 2)]
    [InlineData("2147483647", 2, 3)]
    // Limit 0: get_random_u32_inclusive(0, U32_MAX) — a span of 0 draws any u32, so both are challenged (6.x).
    [InlineData("0", 2, 3)]
    public void Established_InexactRstsOnTwoConnections_HostWideChallengeAckBudget(string limit, long at200ms, long at1200ms)
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_challenge_ack_limit", limit);
        var (c1, s1, l) = h.Establish();
        var c2Call = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a2 = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.Id });
        h.At(At200);
        var c2 = h.Sim.FindSocket(c2Call.SocketId)!;
        var s2 = h.Sim.FindSocket(h.Returned(a2.CallId)!.SocketId)!;
        Assert.Equal(TcpState.Established, c2.State);

        void InexactRst(TcpSocket s, TcpSocket c) => h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Rst, c.RcvNxt + 1, 0, 0, 0, TcpOptions.None));
        InexactRst(s1, c1);
        InexactRst(s2, c2);
        Assert.Equal(at200ms, h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(at200ms, ClientSentAt(h, At200).Count(e => e.Reason == "tcp_send_challenge_ack"));
        h.At(Ms(1200));
        InexactRst(s2, c2);
        Assert.Equal(at1200ms, h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal((TcpState.Established, TcpState.Established), (c1.State, c2.State));
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPACKSkippedChallenge]);
    }

    /// <summary>
    /// v4.4's tcp_send_challenge_ack() counts each second from 0 and sends while "++challenge_count &lt;=
    /// sysctl_tcp_challenge_ack_limit", default 100 (the random budget and the default 1000 are 4.7's). With
    /// tcp_invalid_ratelimit 0 (so the per-socket limit never refuses), 101 inexact RSTs at 200 ms: linux-4.4 challenges
    /// the first 100; at 1.2 s a new second's count lets the next one through. linux-6 (INT_MAX) challenges every one.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux44, 100L, 100L, 101L)]
    [InlineData(KernelProfile.Linux6, 2147483647L, 101L, 102L)]
    public void Established_101InexactRstsInOneSecond_Linux44ChallengesTheFirst100(KernelProfile profile, long limit, long at200ms,
        long at1200ms)
    {
        var h = new TwoHostHarness(profile: profile);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_invalid_ratelimit", "0");
        var (c, s, _) = h.Establish();
        h.At(At200);
        void InexactRst() => h.Deliver(h.Client, new Segment(s.Tuple, TcpFlags.Rst, c.RcvNxt + 1, 0, 0, 0, TcpOptions.None));

        for (int i = 0; i < 101; i++) InexactRst();
        Assert.Equal(at200ms, h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(at200ms, ClientSentAt(h, At200).Count(e => e.Reason == "tcp_send_challenge_ack"));
        h.At(Ms(1200));
        InexactRst();
        Assert.Equal(at1200ms, h.Client.Mib[MibCounter.TcpExtTCPChallengeACK]);
        Assert.Equal(limit, h.Client.Sysctls.Get("net.ipv4.tcp_challenge_ack_limit"));
        Assert.Equal(TcpState.Established, c.State);
    }

    /// <summary>
    /// A SYN failing PAWS on an established socket: 6.x's tcp_validate_incoming() sends it to syn_challenge
    /// (TCPSYNChallenge, InErrs from tcp_rcv_established(), a challenge ACK); linux-4.4's PAWS block has no SYN case —
    /// PAWSEstab and a dupack (tcp_oow_rate_limited(): a SYN may be limited), nothing else.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, 0, 1, 1, "tcp_send_challenge_ack")]
    [InlineData(KernelProfile.Linux44, 1, 0, 0, "tcp_validate_incoming (PAWS)")]
    public void Established_SynWithAnOldTsval_ChallengedOn6PawsRejectedOn44(KernelProfile profile, long pawsEstab, long synChallenge,
        long inErrs, string reason)
    {
        var (h, c, s, tsRecent) = Connected(profile);
        h.Deliver(h.Client, FromServer(s, c, c.RcvNxt, tsRecent - 10, flags: TcpFlags.Syn));
        var reply = Assert.Single(ClientSentAt(h, At200));
        Assert.Equal((reason, c.RcvNxt), (reply.Reason, reply.AckNo));
        var mib = h.Client.Mib;
        Assert.Equal((pawsEstab, synChallenge, inErrs, synChallenge),
            (mib[MibCounter.TcpExtPAWSEstab], mib[MibCounter.TcpExtTCPSYNChallenge], mib[MibCounter.TcpInErrs], mib[MibCounter.TcpExtTCPChallengeACK]));
        Assert.Equal(TcpState.Established, c.State);
    }
}
