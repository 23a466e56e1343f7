using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §5 and §14 scenarios 11, 12, 13, 15.</summary>
public class FinWait2Tests
{
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) ClosedByClient(Action<TwoHostHarness>? setup = null)
    {
        var h = new TwoHostHarness();
        setup?.Invoke(h);
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        return (h, c, s);
    }

    [Fact]
    public void FinWait2Orphan_PeerNeverCloses_TimewaitSocketFor60sThenGone()
    {
        var (h, c, s) = ClosedByClient();
        var tw = h.TimeWaitOf(c)!;
        Assert.Equal(TcpState.FinWait2, tw.Substate);
        // The ACK arrives at 122 ms, within jiffy 30: expires = jiffies + 60 s → 60.120 s.
        Assert.Equal(Ms(120) + TcpConstants.TimeWaitLen, tw.Expires);
        Assert.Equal(1, h.Client.TimeWaitCount);
        Assert.Equal(0, h.Client.OrphanCount);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
        // The timer wheel runs it later (calc_wheel_index()): 15000 jiffies is level 3, whose 512-jiffy buckets
        // end on jiffies ≡ 248 (mod 512) of the simulation (INITIAL_JIFFIES ≡ 264): 15030 → 15096 = 60.384 s.
        h.At(Ms(60_383));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        h.At(Ms(60_384));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(TcpState.CloseWait, s.State);
        // The peer closes later: its FIN meets no socket → host RST (R, seq = the FIN's ack); the peer is reset.
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(61));
        var rst = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(h.Sent("server").Last(x => x.Flags.HasFlag(TcpFlags.Fin)).AckNo, rst.SeqNo);
        Assert.Equal(TcpState.Close, h.StateOf(s));
    }

    [Fact]
    public void FinWait2Orphan_FinTimeout5_GoneAbout5sAfterTheAck()
    {
        var (h, c, _) = ClosedByClient(h => h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "5"));
        Assert.Equal(Ms(5120), h.TimeWaitOf(c)!.Expires);
        // 1250 jiffies is level 2 of the wheel (64-jiffy buckets ending on jiffies ≡ 56 mod 64): 1280 → 1336.
        h.At(Ms(5343));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        h.At(Ms(5344));
        Assert.Equal(TcpState.Close, h.StateOf(c));
    }

    [Fact]
    public void FinWait2Orphan_FinTimeout70_FullSocketOnKeepaliveTimerThenTimewaitSocket()
    {
        var (h, c, _) = ClosedByClient(h => h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "70"));
        Assert.Equal(TcpState.FinWait2, c.State);
        Assert.True(c.IsHashed);
        Assert.Equal("keepalive", c.SsTimer!.Value.Name);
        Assert.Equal(Ms(10120), c.SsTimer!.Value.Expires);
        Assert.Equal(1, h.Client.OrphanCount);
        // 2500 jiffies is level 2 of the wheel (buckets ending on jiffies ≡ 56 mod 64): 2530 → 2552 (10.208 s).
        h.At(Ms(10204));
        Assert.Null(h.TimeWaitOf(c));
        h.At(Ms(10208));
        Assert.Equal(TcpState.FinWait2, h.TimeWaitOf(c)!.Substate);
        Assert.Equal(0, h.Client.OrphanCount);
        // tcp_keepalive_timer(): tcp_fin_time() − TCP_TIMEWAIT_LEN = 10 s again, from jiffy 2552: 5052 (20.208 s),
        // which the wheel runs at 5112 (20.448 s).
        Assert.Equal(Ms(20208), h.TimeWaitOf(c)!.Expires);
        h.At(Ms(20447));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        h.At(Ms(20448));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
    }

    [Fact]
    public void FinWait2Orphan_FinTimeout62_TwoPlusTwoSecondsCountedAsTwKilled()
    {
        var (h, c, _) = ClosedByClient(h => h.Sim.SetSysctl("client", "net.ipv4.tcp_fin_timeout", "62"));
        h.At(S(2.2));
        Assert.NotNull(h.TimeWaitOf(c));
        h.At(S(4.2));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWKilled]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTW]);
    }

    [Fact]
    public void FinWait2_Linger2NegativeThenClose_RstAtSndNxtAndAbortOnLinger()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(200));
        Assert.Equal(TcpState.FinWait2, c.State);
        Assert.Null(c.SsTimer);
        h.SetOption(c.Id, SocketOption.TCP_LINGER2, -1);
        h.Call("client", SocketCallKind.Close, c.Id);
        var rst = h.Sent("client").Last();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(h.Sent("client").First(x => x.Flags.HasFlag(TcpFlags.Fin)).SeqNo + 1, rst.SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnLinger]);
        Assert.Equal(TcpState.Close, h.StateOf(c));
    }

    [Fact]
    public void FinWait1Orphan_Linger2NegativeFinAcked_DiesAndRepliesRstWithoutAck()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_LINGER2, -1);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        var rst = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(0, rst.Win);
        Assert.Equal(h.Sent("server").Last().AckNo, rst.SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
        Assert.Equal(TcpState.Close, h.StateOf(c));
    }

    [Fact]
    public void FinWait1Orphan_PeerSendsDataAfterOurFin_ReplyRstAndPeerGetsEconnreset()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(111));
        Assert.Equal(TcpState.CloseWait, s.State);
        h.Send(s.Id, 20);
        h.At(Ms(200));
        var rst = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(c.Iss + 2, rst.SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
        Assert.Equal("EPIPE", h.Send(s.Id, 1).Errno);
    }

    [Fact]
    public void TimewaitFinWait2_FinAtRcvNxt_BecomesTimeWaitRestartsTimerAndAcks()
    {
        var (h, c, s) = ClosedByClient();
        h.At(S(30));
        var tw = h.TimeWaitOf(c)!;
        h.Deliver(h.Client, From(s, TcpFlags.Fin | TcpFlags.Ack, tw.RcvNxt, tw.SndNxt));
        Assert.Equal(TcpState.TimeWait, tw.Substate);
        Assert.Equal(S(30) + TcpConstants.TimeWaitLen, tw.Expires);
        var ack = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(tw.RcvNxt, ack.AckNo);
    }

    [Fact]
    public void TimewaitFinWait2_NewData_ReplyRstAndGone()
    {
        var (h, c, s) = ClosedByClient();
        var tw = h.TimeWaitOf(c)!;
        h.Deliver(h.Client, From(s, TcpFlags.Ack | TcpFlags.Psh, tw.RcvNxt, tw.SndNxt, len: 10));
        var rst = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(tw.SndNxt, rst.SeqNo);
        Assert.Null(h.TimeWaitOf(c));
    }

    [Fact]
    public void TimewaitFinWait2_SynAtOrAfterRcvNxt_ReplyRstAckAndGone()
    {
        var (h, c, s) = ClosedByClient();
        var tw = h.TimeWaitOf(c)!;
        h.Deliver(h.Client, From(s, TcpFlags.Syn, tw.RcvNxt + 1000, 0));
        var rst = h.Sent("client").Last();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(0u, rst.SeqNo);
        Assert.Equal(tw.RcvNxt + 1001, rst.AckNo);
        Assert.Null(h.TimeWaitOf(c));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(5u)]
    public void TimewaitFinWait2_RstInWindow_GoneWithoutReply(uint offset)
    {
        // Observed on Linux 6.18.44 (raw RSTs into a loopback FIN-WAIT-2 timewait): at rcv_nxt and at rcv_nxt + 5 the
        // entry is gone and nothing is sent — tcp_timewait_state_process() kills on any in-window RST in the
        // FIN_WAIT2 substate (no exact-sequence test, no tcp_rfc1337, unlike TIME_WAIT).
        var (h, c, s) = ClosedByClient();
        var tw = h.TimeWaitOf(c)!;
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt + offset, 0));
        Assert.Null(h.TimeWaitOf(c));
        Assert.Equal(sent, h.Sent("client").Count());
    }

    [Fact]
    public void TimewaitFinWait2_RstOutOfWindow_AnsweredWithAnAckAndKept()
    {
        // Observed on Linux 6.18.44: a RST 10^7 past rcv_nxt fails tcp_in_window(), so the FIN_WAIT2 timewait answers
        // with an ACK (seq snd_nxt, ack rcv_nxt; TCP_TW_ACK_OOW, rate-limited) and stays.
        var (h, c, s) = ClosedByClient();
        var tw = h.TimeWaitOf(c)!;
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt + 10_000_000, 0));
        Assert.NotNull(h.TimeWaitOf(c));
        var ack = h.Sent("client").Skip(sent).Single();
        Assert.Equal((".", tw.SndNxt, tw.RcvNxt), (ack.Flags.ToLetters(), ack.SeqNo, ack.AckNo));
    }
}
