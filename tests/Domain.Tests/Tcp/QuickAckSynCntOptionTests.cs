using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>TCP_QUICKACK (__tcp_sock_set_quickack()) and TCP_SYNCNT (tcp_sock_set_syncnt(), tcp_write_timeout(), reqsk_timer_handler()).</summary>
public class QuickAckSynCntOptionTests
{
    static List<SimTime> PureAcks(TwoHostHarness h, string host, SimTime after) =>
        h.Sent(host).Where(x => x.Len == 0 && x.Flags == TcpFlags.Ack && x.At > after).Select(x => x.At).ToList();

    [Fact]
    public void Established_QuickAckZeroThenData_AckDelayedToTheTimer()
    {
        // inet_csk_enter_pingpong_mode(): tcp_in_quickack_mode() is false, so __tcp_ack_snd_check() delays the ACK of
        // 100 bytes at 110 ms (jiffy 27): ato = TCP_ATO_MIN, 10 jiffies → expires jiffy 37, run by the wheel's level-0
        // bucket one jiffy later (calc_index()): jiffy 38 = 152 ms.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 0);
        Assert.Equal(0, h.GetOption(s.Id, SocketOption.TCP_QUICKACK).Result);
        h.Send(c.Id, 100);
        h.At(Ms(300));

        Assert.Equal([Ms(152)], PureAcks(h, "server", Ms(100)));
    }

    [Fact]
    public void Established_QuickAckOneAfterRead_AckGoesAtTheCall()
    {
        // The read at 120 ms empties the queue; ICSK_ACK_PUSHED is set (a sub-MSS segment) but ping-pong keeps
        // tcp_cleanup_rbuf() from ACKing. TCP_QUICKACK 1 at 130 ms: exit ping-pong, ICSK_ACK_PUSHED,
        // tcp_cleanup_rbuf(sk, 1): copied > 0, pushed, not ping-pong, sk_rmem_alloc 0 → the ACK now, not at 152 ms.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 0);
        h.Send(c.Id, 100);
        h.At(Ms(120));
        var read = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 1000 });
        Assert.Equal(100, read.Result);
        h.At(Ms(130));
        h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 1);
        h.At(Ms(300));

        Assert.Equal([Ms(130)], PureAcks(h, "server", Ms(100)));
        Assert.Equal(1, h.GetOption(s.Id, SocketOption.TCP_QUICKACK).Result);
    }

    [Fact]
    public void Established_QuickAckTwoWithAckDue_AcksAndReentersPingPong()
    {
        // An even value: after tcp_cleanup_rbuf(), "if (!(val & 1)) inet_csk_enter_pingpong_mode(sk)".
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 0);
        h.Send(c.Id, 100);
        h.At(Ms(120));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id, Bytes = 1000 });
        h.At(Ms(130));
        h.SetOption(s.Id, SocketOption.TCP_QUICKACK, 2);

        Assert.Equal([Ms(130)], PureAcks(h, "server", Ms(100)));
        Assert.Equal(0, h.GetOption(s.Id, SocketOption.TCP_QUICKACK).Result);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(128)]
    public void Close_SynCntOutOfRange_Einval(int value)
    {
        // tcp_sock_set_syncnt(): "if (val < 1 || val > MAX_TCP_SYNCNT) return -EINVAL".
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        var set = h.SetOption(s.SocketId, SocketOption.TCP_SYNCNT, value);

        Assert.Equal(Errno.EINVAL, set.Errno);
        Assert.Equal(6, h.GetOption(s.SocketId, SocketOption.TCP_SYNCNT).Result); // tcp_syn_retries
    }

    [Fact]
    public void SynSent_SynCntOneDeadServer_ThreeSynsThenEtimedoutAt3072ms()
    {
        // tcp_write_timeout(): retry_until = icsk_syn_retries = 1; the count bound is 1 + tcp_syn_linear_timeouts (4) = 5
        // retransmissions, but retransmits_timed_out(boundary 1) allows tcp_model_timeout() = (2 << 1) − 1 = 3 × 1 s
        // from the first SYN. The linear 1 s timer (250 jiffies, wheel level 1: rounded up to 8 jiffies) fires at
        // 1.024, 2.048 and 3.072 s; at 3.072 s, 3072 − 0 ≥ 3000 ms: ETIMEDOUT.
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var s = h.Call("client", SocketCallKind.Socket);
        Assert.Null(h.SetOption(s.SocketId, SocketOption.TCP_SYNCNT, 1).Errno);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "server", ToPort = 80 });
        h.At(S(20));

        Assert.Equal([0, 1.024, 2.048], h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9));
        var returned = h.Returned(c.CallId)!;
        Assert.Equal(Errno.ETIMEDOUT, returned.Errno);
        Assert.Equal(S(3.072), returned.At);
    }

    [Fact]
    public void Listen_SynCntOneClientSilent_OneSynAckRetransmissionThenDropped()
    {
        // reqsk_timer_handler(): max_syn_ack_retries = the listener's icsk_syn_retries (1) instead of tcp_synack_retries
        // (5): the SYN-ACK at 10 ms, once more at the first expiry (num_timeout 0 < 1), and the second expiry
        // (num_timeout 1 ≥ 1) drops the request. Both directions are lost after the SYN left.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.SetOption(l.SocketId, SocketOption.TCP_SYNCNT, 1);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(5));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.At(S(10));

        Assert.Equal(2, h.Sent("server").Count(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)));
        Assert.Empty(h.Server.RequestSockets);
    }
}
