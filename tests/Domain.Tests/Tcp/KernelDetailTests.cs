using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Details found by reading the kernel against the engine (each cites the function involved).</summary>
public class KernelDetailTests
{
    static CallHandle Connect(TwoHostHarness h) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });

    static double[] SynTimes(TwoHostHarness h) =>
        h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).Select(x => x.At.Ns / 1e9).ToArray();

    [Fact]
    public void SynSent_UserTimeout3000DeadServer_SynsAt0And1And2ThenEtimedoutAt3008ms()
    {
        // tcp_write_timeout(): in SYN states the time budget (here TCP_USER_TIMEOUT) applies too, from tcp_connect's retrans_stamp.
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var s = h.Call("client", SocketCallKind.Socket);
        h.SetOption(s.SocketId, SocketOption.TCP_USER_TIMEOUT, 3000);
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = s.SocketId, ToHost = "server", ToPort = 80 });
        h.At(S(20));
        // 1 s (250 jiffies, level 1 of the timer wheel): 250 → 256 (1.024 s), 506 → 512 (2.048 s); then
        // tcp_clamp_rto_to_user_timeout(): 3000 − 2048 = 952 ms = 238 jiffies: 750 → 752 (3.008 s), past 3 s.
        Assert.Equal([0, 1.024, 2.048], SynTimes(h));
        Assert.Equal(Ms(3008), h.Returned(c.CallId)!.At);
        Assert.Equal("ETIMEDOUT", h.Returned(c.CallId)!.Errno);
    }

    [Fact]
    public void SynSent_SynRetries1_ModelTimeoutWithOneSecondBaseEndsAtTheFiringAfter3s()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_syn_retries", "1");
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = Connect(h);
        h.At(S(20));
        // model(1) with a 1 s base = 3 s: the firing at 2.048 s (512 jiffies) retransmits, the next one,
        // 512 + 250 = 762 → 768 on the level-1 wheel (3.072 s), is past it.
        Assert.Equal([0, 1.024, 2.048], SynTimes(h));
        Assert.Equal(Ms(3072), h.Returned(c.CallId)!.At);
    }

    [Fact]
    public void SynSent_UnacceptableAck_ReplyRstAndSynResentAfterTwoJiffies()
    {
        var h = new TwoHostHarness();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var c = Connect(h);
        var sk = h.Sim.FindSocket(c.SocketId)!;
        h.At(Ms(100));
        h.Deliver(h.Client, new Segment(sk.Tuple.Reversed, TcpFlags.Ack, 5000, sk.Iss + 77, 502, 0, TcpOptions.None));
        Assert.Equal(TcpFlags.Rst, h.Sent("client").Last().Flags);
        h.At(Ms(200));
        // TCP_TIMEOUT_MIN (2 jiffies) from jiffy 25: expires 27, and level 0 runs it one jiffy later, 28 (112 ms).
        Assert.Equal([0, 0.112], SynTimes(h));
    }

    [Fact]
    public void FinWait1_LossProbeWithSeveralSegmentsInFlight_RtoRestartsFromTheProbe()
    {
        // tcp_send_loss_probe(): "Reset s.t. tcp_rearm_rto will restart timer from now".
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Send(c.Id, 4000);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(2));
        var probe = h.Sent("client").Single(x => x.Reason == "tcp_send_loss_probe");
        // PTO = 2·srtt + TCP_TIMEOUT_MIN_US = 42 ms → 11 jiffies: expires 25 + 11 = 36, run at 37 (148 ms).
        Assert.Equal(Ms(148), probe.At);
        var firstRto = h.Sent("client").First(x => x.Reason == "tcp_retransmit_timer");
        // RTO 220 ms = 55 jiffies from the probe's jiffy 37: expires 92, run at 93 (372 ms).
        Assert.Equal(probe.At + SimService.Domain.Time.SimDuration.FromMilliseconds(224), firstRto.At);
    }

    [Fact]
    public void TimewaitFinWait2_OldDataEndingAtRcvNxt_AckedAsOutOfWindow()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        var tw = h.TimeWaitOf(c)!;
        int sent = h.Sent("client").Count();
        h.Deliver(h.Client, From(s, TcpFlags.Ack | TcpFlags.Psh, tw.RcvNxt - 100, tw.SndNxt, len: 100));
        Assert.Equal(sent + 1, h.Sent("client").Count());
        Assert.Equal(tw.RcvNxt, h.Sent("client").Last().AckNo);
        Assert.True(tw.Alive);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CloseWait_RstAtRcvNxtMinusOne_ResetsTheSocket(bool lastAck)
    {
        // tcp_reset_check(): accepted in CLOSE_WAIT/LAST_ACK/CLOSING even though it is left of the window.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        if (lastAck)
        {
            h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
            h.Call(new SocketCallRequest("server", "app", SocketCallKind.Shutdown) { SocketId = s.Id, How = ShutdownHow.SHUT_WR });
        }
        h.Deliver(h.Server, From(c, TcpFlags.Rst, s.RcvNxt - 1, 0));
        Assert.Equal(TcpState.Close, s.State);
        Assert.Equal(lastAck ? 0 : 1, h.Server.Mib[MibCounter.TcpEstabResets]);
    }

    [Fact]
    public void TimewaitFinWait2_FinMovesToTimeWait_TwReuseDelayCountsFromThen()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40000");
        h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "1");
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(30));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(S(30.05));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(S(31.2));
        Assert.Null(Connect(h).Errno);
    }

    [Fact]
    public void ServerTimeWaitWithoutTimestamps_SynCarryingATimestamp_OnlySequenceDecides()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("server", "net.ipv4.tcp_timestamps", "0");
        var (c, s, _) = h.Establish();
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(150));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(300));
        var tw = h.TimeWaitOf(s)!;
        h.Deliver(h.Server, new Segment(c.Tuple, TcpFlags.Syn, tw.RcvNxt - 1000, 0, 64240, 0, new TcpOptions(HasTimestamp: true, TsVal: 12345)));
        Assert.Equal(TcpFlags.Ack, h.Sent("server").Last().Flags);
        Assert.True(tw.Alive);
    }

    [Fact]
    public void SynRecv_SynAckRetransmitted_ChildRttComesFromTheTimestampEcho()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 1.0, null);
        Connect(h);
        h.At(Ms(500));
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 0.0, null);
        h.At(S(3));
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        Assert.Equal(220, h.Sim.FindSocket(a.SocketId)!.Rto.TotalMilliseconds);
    }

    [Fact]
    public void Established_ReplySentWithinAto_PingPongDelaysTheNextAck()
    {
        // tcp_event_data_sent(): data sent within ATO of the last data received → interactive mode.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 100);
        h.At(Ms(115));
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id });
        h.Send(s.Id, 100);
        h.At(Ms(300));
        h.Send(c.Id, 100);
        h.At(Ms(400));
        var ack = h.Sent("server").Last(x => x.Flags == TcpFlags.Ack);
        Assert.True(ack.At > Ms(340), ack.At.ToString());
    }

    [Fact]
    public void FinWait1Orphan_Retransmissions_NotCountedInOutSegs()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        long before = h.Client.Mib[MibCounter.TcpOutSegs];
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(S(200));
        Assert.Equal(before + 1, h.Client.Mib[MibCounter.TcpOutSegs]);
        Assert.Equal(9, h.Client.Mib[MibCounter.TcpRetransSegs]);
    }
}

/// <summary>tcp_nagle_test() with tcp_minshall_check(): small writes while a small segment is unacknowledged.</summary>
public class NagleTests
{
    [Fact]
    public void Established_TwoSmallWritesOneMsApart_SecondWaitsForTheFirstAck()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 100);
        h.At(Ms(101));
        h.Send(c.Id, 100);
        h.At(Ms(200));
        var data = h.Sent("client").Where(x => x.Len > 0).Select(x => x.At).ToList();
        Assert.Equal(Ms(100), data[0]);
        Assert.Equal(Ms(120), data[1]);
    }

    [Fact]
    public void Established_SmallWriteThenClose_FinGoesWithoutWaiting()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.Send(c.Id, 100);
        h.Send(c.Id, 100);
        h.Call("client", SocketCallKind.Close, c.Id);
        var sent = h.Sent("client").Where(x => x.At == Ms(100)).Select(x => x.Flags.ToLetters()).ToList();
        Assert.Equal(["P.", "FP."], sent);
    }
}
