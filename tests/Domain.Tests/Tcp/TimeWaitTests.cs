using SimService.Domain.Network;
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
        var (h, c, s, tw) = InTimeWait();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt, 0));
        Assert.False(tw.Alive);
        Assert.Equal(0, h.Client.TimeWaitCount);
    }

    [Fact]
    public void TimeWait_ExactRstWithRfc1337_Ignored()
    {
        var (h, c, s, tw) = InTimeWait(rfc1337: true);
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt, 0));
        Assert.True(tw.Alive);
    }

    [Fact]
    public void TimeWait_RstWithWrongSeq_Ignored()
    {
        var (h, c, s, tw) = InTimeWait();
        h.Deliver(h.Client, From(s, TcpFlags.Rst, tw.RcvNxt + 5, 0));
        Assert.True(tw.Alive);
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
}
