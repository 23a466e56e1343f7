using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// TCP_NODELAY, TCP_CORK and MSG_MORE (tp->nonagle and tcp_push()) — net/ipv4/tcp.c, tcp_output.c. The harness
/// establishes at 21 ms (10 ms each way) and stands at 100 ms; the server ACKs the first data at once (quick-ACK
/// mode), so a small segment sent at 100 ms is acknowledged at 120 ms.
/// </summary>
public class NagleCorkOptionTests
{
    static CallHandle Send(TwoHostHarness h, TcpSocket sk, long bytes, MsgFlags flags = MsgFlags.None) =>
        h.Call(new SocketCallRequest(sk.Host.Name, "app", SocketCallKind.Send) { SocketId = sk.Id, Bytes = bytes, Flags = flags });

    static List<(SimTime At, int Len, string Flags)> Data(TwoHostHarness h, string host) =>
        h.Sent(host).Where(x => x.Len > 0).Select(x => (x.At, x.Len, x.Flags.ToLetters())).ToList();

    [Fact]
    public void Established_NoDelayTwoSmallWritesOneMsApart_SecondGoesAtOnce()
    {
        // tcp_nagle_check(): with TCP_NAGLE_OFF in nonagle the Minshall hold ("!nonagle && packets_out && ...") never applies.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_NODELAY, 1);
        Send(h, c, 100);
        h.At(Ms(101));
        Send(h, c, 100);
        h.At(Ms(200));

        Assert.Equal([(Ms(100), 100, "P."), (Ms(101), 100, "P.")], Data(h, "client"));
    }

    [Fact]
    public void Established_NoDelaySetWhileSmallSegmentWaits_PushesItAtTheCall()
    {
        // __tcp_sock_set_nodelay(on): nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH, then tcp_push_pending_frames().
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Send(h, c, 100);
        h.At(Ms(101));
        Send(h, c, 100); // held by Minshall's check until the ACK at 120 ms
        h.At(Ms(105));
        h.SetOption(c.Id, SocketOption.TCP_NODELAY, 1);
        h.At(Ms(200));

        Assert.Equal([(Ms(100), 100, "P."), (Ms(105), 100, "P.")], Data(h, "client"));
        Assert.Equal(1, h.GetOption(c.Id, SocketOption.TCP_NODELAY).Result);
    }

    [Fact]
    public void Established_CorkedWriteThenUncork_SegmentLeavesAtUncork()
    {
        // __tcp_sock_set_cork(off): nonagle &= ~TCP_NAGLE_CORK, then tcp_push_pending_frames() with nonagle 0 and
        // nothing in flight: tcp_nagle_check() is false, the 100 bytes go (PSH: tcp_push() marked the tail).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_CORK, 1);
        Send(h, c, 100);
        h.At(Ms(150));
        Assert.Empty(Data(h, "client"));
        Assert.Equal(1, h.GetOption(c.Id, SocketOption.TCP_CORK).Result);
        h.SetOption(c.Id, SocketOption.TCP_CORK, 0);
        h.At(Ms(200));

        Assert.Equal([(Ms(150), 100, "P.")], Data(h, "client"));
        Assert.Equal(0, h.GetOption(c.Id, SocketOption.TCP_CORK).Result);
    }

    [Fact]
    public void Established_CorkedWriteNeverUncorked_GoesWithTheProbeTimer()
    {
        // tcp_write_xmit() holds the partial skb and returns true (nothing in flight, a send head):
        // tcp_check_probe_timer() arms ICSK_TIME_PROBE0 at tcp_probe0_base() = max(icsk_rto, TCP_RTO_MIN). The SYN-ACK's
        // 20 ms sample gives icsk_rto = srtt + max(mdev, rto_min) = 20 + 200 = 220 ms (55 jiffies): at 100 ms (jiffy 25)
        // expires = jiffy 80, and the wheel's level-0 bucket (calc_index(): (expires >> 0) + 1) runs it at jiffy 81 =
        // 324 ms; tcp_probe_timer() → tcp_send_probe0() → tcp_write_wakeup() sends the
        // send head (it fits the window) with PSH, and counts no TCPWinProbe (only a probe skb does).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_CORK, 1);
        long probes = h.Client.Mib[MibCounter.TcpExtTCPWinProbe];
        Send(h, c, 100);
        h.At(Ms(1000));

        Assert.Equal([(Ms(324), 100, "P.")], Data(h, "client"));
        Assert.Equal(probes, h.Client.Mib[MibCounter.TcpExtTCPWinProbe]);
    }

    [Fact]
    public void Established_MsgMoreThenPlainWrite_OneSegmentWithBoth()
    {
        // tcp_push() with MSG_MORE: no tcp_mark_push(), __tcp_push_pending_frames(TCP_NAGLE_CORK) holds the 100 bytes;
        // the next send() appends to the same skb and pushes with nonagle 0: 200 bytes, PSH.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Send(h, c, 100, MsgFlags.MSG_MORE);
        h.At(Ms(110));
        Assert.Empty(Data(h, "client"));
        Send(h, c, 100);
        h.At(Ms(200));

        Assert.Equal([(Ms(110), 200, "P.")], Data(h, "client"));
    }

    [Fact]
    public void Established_MsgMoreAlone_ProbeTimerSendsItWithPsh()
    {
        // MSG_MORE left the skb without TCPHDR_PSH; tcp_write_wakeup() sets it on what it sends (at 324 ms, as with TCP_CORK).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Send(h, c, 100, MsgFlags.MSG_MORE);
        h.At(Ms(1000));

        Assert.Equal([(Ms(324), 100, "P.")], Data(h, "client"));
    }

    [Fact]
    public void Established_CorkedFullSegments_GoAndOnlyThePartialTailWaits()
    {
        // tcp_mss_split_point(): under TCP_NAGLE_CORK the skb is cut at the last whole MSS; the 100-byte rest waits.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.TCP_CORK, 1);
        int mss = c.Info.SndMss;
        Send(h, c, 2 * mss + 100);
        h.At(Ms(110));

        Assert.Equal([mss, mss], Data(h, "client").Select(d => d.Len));
    }

    [Fact]
    public void Listener_NoDelayAndCork_AcceptedChildInheritsThem()
    {
        // sk_clone_lock() copies tp->nonagle into the child.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.SetOption(l.SocketId, SocketOption.TCP_NODELAY, 1);
        h.SetOption(l.SocketId, SocketOption.TCP_CORK, 1);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        var child = h.Sim.FindSocket(h.Returned(a.CallId)!.SocketId)!;

        Assert.Equal(1, h.GetOption(child.Id, SocketOption.TCP_NODELAY).Result);
        Assert.Equal(1, h.GetOption(child.Id, SocketOption.TCP_CORK).Result);
    }
}
