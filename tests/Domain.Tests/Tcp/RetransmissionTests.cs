using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// Reference §3.2, §9 and §14 scenarios 9, 10, 30. With a 10 ms link the first RTT sample is
/// 20 ms, so RTO = srtt + max(2·srtt, 200 ms) = 220 ms (55 jiffies): the loss probe fires one RTO
/// after the FIN, the first RTO retransmission one RTO later, then the RTO doubles.
/// </summary>
public class RetransmissionTests
{
    static TwoHostHarness DeadPeerAfterHandshake(out TcpSocket c, out TcpSocket s)
    {
        var h = new TwoHostHarness();
        (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        return h;
    }

    static double[] FinTimesMs(TwoHostHarness h) =>
        h.Sent("client").Where(x => x.Flags.HasFlag(TcpFlags.Fin)).Select(x => x.At.Ns / 1e6).ToArray();

    [Fact]
    public void FinWait1Orphan_DeadPeer_LossProbeThenEightRtosThenSilentDeath()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        Assert.Equal(220, c.Rto.TotalMilliseconds);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(200));
        Assert.Equal([100, 320, 540, 980, 1860, 3620, 7140, 14180, 28260, 56420], FinTimesMs(h));
        var death = h.States(c.Id).Last();
        Assert.Equal(TcpState.Close, death.To);
        Assert.Equal(Ms(112740), death.At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPLossProbes]);
        Assert.Equal(9, h.Client.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.Equal(0, h.Client.OrphanCount);
    }

    [Fact]
    public void FinWait1Orphan_OrphanRetries3_DiesAfterFourRtoRetransmissions()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        h.Sim.SetSysctl("client", "net.ipv4.tcp_orphan_retries", "3");
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(60));
        // model(3) = 3.0 s from the first RTO retransmission at 540 ms. At 3620 ms 3.08 s have passed
        // (r·(2^4 − 2) ≥ T, §3.2's exact boundary), so that firing kills instead of retransmitting.
        Assert.Equal([100, 320, 540, 980, 1860], FinTimesMs(h));
        Assert.Equal(Ms(3620), h.States(c.Id).Last().At);
    }

    [Fact]
    public void FinWait1_ShutdownWrDeadPeer_FifteenRtosCappedAt120sThenEtimedout()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(1200));
        var fins = FinTimesMs(h);
        Assert.Equal(1 + 1 + 15, fins.Length);
        // Nine doublings (RTO 0.44 … 112.64 s), then capped at 120 s.
        Assert.Equal(112740, fins[10]);
        Assert.Equal(225380, fins[11]);
        Assert.Equal(345380, fins[12]);
        Assert.Equal(825380, fins[^1]);
        // model(15) = 924.6 s after the first RTO retransmission (540 ms): the firing at 945.38 s expires.
        var returned = h.Returned(recv.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(Ms(945380), returned.At);
        Assert.Equal(16, h.Client.Mib[MibCounter.TcpExtTCPTimeouts]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    [Fact]
    public void Established_UserTimeout3000DeadPeer_RtoClampedToDeadline()
    {
        var h = DeadPeerAfterHandshake(out var c, out _);
        h.SetOption(c.Id, SocketOption.TCP_USER_TIMEOUT, 3000);
        var send = h.Send(c.Id, 4);
        Assert.Equal(4, send.Result);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(10));
        var data = h.Sent("client").Where(x => x.Len == 4).Select(x => x.At.Ns / 1e6).ToArray();
        Assert.Equal([100, 320, 540, 980, 1860], data);
        var returned = h.Returned(recv.CallId)!;
        Assert.Equal("ETIMEDOUT", returned.Errno);
        Assert.Equal(Ms(3540), returned.At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }
}

/// <summary>tcp_rack_detect_loss(): a lost data segment is resent once a later one is delivered and it is older than RTT + min_rtt/4.</summary>
public class RackTests
{
    /// <summary>The first segment is dropped at 100 ms; at 101 ms <paramref name="later"/> more are sent and delivered.</summary>
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) FirstLostThen(int later)
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 1.0, null);
        h.Send(c.Id, 1448);
        h.Sim.ChangeLink("client", "server", oneDirection: true, null, 0.0, null);
        h.At(Ms(101));
        h.Send(c.Id, later * 1448);
        h.At(Ms(400));
        return (h, c, s);
    }

    [Fact]
    public void Established_FirstLostOneLaterDelivered_HeadResentOnceOlderThanRttPlusQuarterRtt()
    {
        var (h, c, s) = FirstLostThen(1);
        var resent = h.Sent("client").Single(x => x.Reason == "tcp_fastretrans_alert");
        // One duplicate ACK at 121 ms; the head (sent at 100 ms) is lost once older than RTT 20 ms + reo_wnd 5 ms:
        // the reordering timer fires at 124 ms (jiffy), finds it not old enough, and again at 128 ms.
        Assert.Equal(Ms(128), resent.At);
        Assert.Equal(c.Iss + 1, resent.SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPFastRetrans]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPLossProbes]);
        Assert.Equal(2 * 1448, h.Call("server", SocketCallKind.Recv, s.Id).Result);
    }

    [Fact]
    public void Established_FirstLostFiveLaterDelivered_HeadResentOnTheThirdDuplicate()
    {
        // Once tcp_reordering (3) later segments are delivered, reo_wnd is 0: lost when older than the RTT.
        var (h, c, s) = FirstLostThen(5);
        var resent = h.Sent("client").Single(x => x.Reason == "tcp_fastretrans_alert");
        Assert.Equal(Ms(121), resent.At);
        Assert.Equal(6 * 1448, h.Call("server", SocketCallKind.Recv, s.Id).Result);
    }

    [Fact]
    public void Established_LossyLinkBulkTransfer_EverythingDeliveredAndReplayable()
    {
        for (long seed = 1; seed <= 5; seed++)
        {
            var h = new TwoHostHarness(seed);
            var (c, s, _) = h.Establish();
            h.Sim.ChangeLink("client", "server", oneDirection: false, null, 0.1, null);
            h.Send(c.Id, 60_000);
            h.At(S(30));
            Assert.Equal(60_000, h.Call("server", SocketCallKind.Recv, s.Id).Result);
            Assert.Equal(0, c.SendQueue);
        }
    }
}
