using SimService.Domain.Engine;
using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §6.5–§6.9 and §14 scenarios 18–23.</summary>
public class PortReuseTests
{
    static CallHandle Connect(TwoHostHarness h, ushort port = 80, ushort? bind = null, bool reuse = false) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = port, BindPort = bind, BindReuseAddr = reuse });

    /// <summary>A client-closed connection from the one-port range 40000: the client holds TIME-WAIT on 40000.</summary>
    static TwoHostHarness ClientTimeWaitOnOnePort(int twReuse, KernelProfile profile = KernelProfile.Linux6) =>
        ClientTimeWaitOnOnePort(twReuse.ToString(), profile);

    /// <summary>The same with <c>tcp_tw_reuse</c> written as text (linux-4.4 takes any int: Linux44OptionTests).</summary>
    internal static TwoHostHarness ClientTimeWaitOnOnePort(string twReuse, KernelProfile profile)
    {
        var h = new TwoHostHarness(profile: profile);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40000"));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", twReuse));
        var (c, s, _) = h.Establish();
        Assert.Equal(40000, c.Local.Port);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(150));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(200));
        Assert.Equal(1, h.Client.TimeWaitCount);
        return h;
    }

    [Fact]
    public void TimeWait_ConnectSameDestinationOnePortRange_EaddrnotavailUntilReuseDelay()
    {
        var h = ClientTimeWaitOnOnePort(twReuse: 1);
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(Ms(1100));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(Ms(1200));
        var tw = h.Client.TimeWaitSockets.Single();
        var ok = Connect(h);
        Assert.True(ok.Blocked);
        var sk = h.Sim.FindSocket(ok.SocketId)!;
        Assert.Equal(tw.SndNxt + 65537, sk.Iss);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
        Assert.Equal(0, h.Client.TimeWaitCount);
        h.At(Ms(1300));
        Assert.Equal(TcpState.Established, sk.State);
    }

    /// <summary>
    /// tcp_time_wait() stamps tw_entry_stamp with tcp_time_stamp_ms(tp), tp->tcp_mstamp. After shutdown(SHUT_WR) the ACK
    /// of our FIN was the socket's last clock read (tcp_rcv_state_process()'s tcp_mstamp_refresh()), so the FIN-WAIT-2
    /// timewait socket close() makes at 300 ms carries the ACK's time, and the peer's FIN at 400 ms, without a timestamp,
    /// does not stamp it again (tcp_timewait_state_process(): only "if (tmp_opt.saw_tstamp)"). The reuse delay runs from
    /// the ACK (in at 122 ms): taken over 1048 ms after it, though close() was 870 ms before. Observed on 6.18.44 (2 of 2 runs):
    /// packetdrill/time-wait-tw-reuse-fin-wait-2-close-stamp-is-the-last-ack.pkt.
    /// </summary>
    [Fact]
    public void TimeWait_FinWait2ClosedThenFinWithoutTimestamp_ReuseDelayCountsFromTheLastAck()
    {
        var h = new TwoHostHarness();
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.ip_local_port_range", "40000 40000"));
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "1"));
        var (c, s, _) = h.Establish();
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, How = ShutdownHow.SHUT_WR });
        h.At(Ms(300));
        var ackIn = h.States(c.Id).Single(x => x.To == TcpState.FinWait2).At;
        Assert.Equal(Ms(122), ackIn);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(400));
        h.Deliver(h.Client, From(s, TcpFlags.Fin | TcpFlags.Ack, s.SndNxt, s.RcvNxt));
        var tw = h.Client.TimeWaitSockets.Single();
        Assert.Equal(TcpState.TimeWait, tw.Substate);
        Assert.Equal(122, tw.EntryStampMs);

        h.At(Ms(1100));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(Ms(1170));
        var ok = Connect(h);
        Assert.True(ok.Blocked);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
        Assert.Equal(0, h.Client.TimeWaitCount);
    }

    [Fact]
    public void TimeWaitLegacy44_ConnectWithTwReuse_ReusedOnlyMoreThanOneWholeSecondAfterTheTimestampSecond()
    {
        // linux-4.4 tcp_twsk_unique(): "get_seconds() - tcptw->tw_ts_recent_stamp > 1". The last
        // timestamp (the server's FIN) arrived at 160 ms, in kernel second 1; reuse needs second 3.
        var h = ClientTimeWaitOnOnePort(twReuse: 1, KernelProfile.Linux44);
        var tw = h.Client.TimeWaitSockets.Single();
        Assert.Equal(1, tw.TsRecentStampSec);
        h.At(Ms(1500));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(Ms(1999));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(Ms(2000));
        var ok = Connect(h);
        Assert.True(ok.Blocked);
        Assert.Equal(tw.SndNxt + 65537, h.Sim.FindSocket(ok.SocketId)!.Iss);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
    }

    [Fact]
    public void TimeWait_ConnectOtherDestinationPort_SameLocalPortIsFine()
    {
        var h = ClientTimeWaitOnOnePort(twReuse: 0);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 81 });
        var ok = Connect(h, port: 81);
        Assert.Equal(40000, h.Sim.FindSocket(ok.SocketId)!.Local.Port);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void TimeWait_TwReuseOffOrLoopbackOnly_EaddrnotavailEvenAfterTheDelay(int twReuse)
    {
        var h = ClientTimeWaitOnOnePort(twReuse);
        h.At(S(30));
        Assert.Equal("EADDRNOTAVAIL", Connect(h).Errno);
        h.At(S(61));
        Assert.Null(Connect(h).Errno);
    }

    /// <summary>tcp_tw_reuse 0; the client, bound to <paramref name="port"/> with SO_REUSEADDR, closes at 100 ms and the server at 150 ms: the client holds TIME-WAIT at 200 ms.</summary>
    static TwoHostHarness ClientTimeWaitOnBoundPort(ushort port, bool timestamps)
    {
        var h = new TwoHostHarness();
        if (!timestamps) h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0");
        h.Sim.SetSysctl("client", "net.ipv4.tcp_tw_reuse", "0");
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var first = Connect(h, bind: port, reuse: true);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = 1 });
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, first.SocketId);
        h.At(Ms(150));
        h.Call("server", SocketCallKind.Close, h.Returned(a.CallId)!.SocketId);
        h.At(Ms(200));
        return h;
    }

    [Theory]
    [InlineData(true, true, null)]
    [InlineData(false, true, "EADDRNOTAVAIL")]
    public void TimeWait_BindConnectWithReuseAddrOnBoth_ReusesWhenTimestampsWereUsed(bool timestamps, bool reuseNew, string? errno)
    {
        var h = ClientTimeWaitOnBoundPort(45000, timestamps);
        Assert.Equal(1, h.Client.TimeWaitCount);
        var again = Connect(h, bind: 45000, reuse: reuseNew);
        Assert.Equal(errno, again.Errno);
    }

    [Fact]
    public void TimeWait_BindConnectTakesOverTheTimeWait_SynWindowLosesTheTimestampBytes()
    {
        // Observed on Linux 6.18.44 (lo at MTU 1500, tcp_tw_reuse 0): bind(40000) + SO_REUSEADDR + connect() onto
        // the client's own TIME-WAIT is taken over (tcp_twsk_unique() with twp NULL), ISN tw_snd_nxt + 65537, and
        // the new SYN offers 65160, not 64240: tcp_connect_init() subtracts the timestamp option from advmss when
        // ts_recent_stamp is already set (copied from the TIME-WAIT), so 45 × 1448. The third ACK's window is
        // then 64 (65160 aligned up to 1024) where the first connection's was 63.
        var h = ClientTimeWaitOnBoundPort(40000, timestamps: true);
        var tw = h.Client.TimeWaitSockets.Single();

        var again = Connect(h, bind: 40000, reuse: true);
        h.At(Ms(300));

        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).ToList();
        Assert.Equal((64240, 65160), ((int)syns[0].Win, (int)syns[1].Win));
        Assert.Equal(tw.SndNxt + 65537, syns[1].SeqNo);
        Assert.Equal(64, h.Sent("client").First(x => x.Flags == TcpFlags.Ack && x.SeqNo == syns[1].SeqNo + 1).Win);
        Assert.Equal(63, h.Sent("client").First(x => x.Flags == TcpFlags.Ack && x.SeqNo == syns[0].SeqNo + 1).Win);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(again.SocketId)!.State);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTWRecycled]);
    }

    [Fact]
    public void TimeWait_TakenOver_SynEchoesTheTimeWaitsTsRecent()
    {
        // Observed on Linux 6.18.44 (scenarios/observed-2host-reconnect-same-4-tuple-time-wait.json, simservice
        // kernel, a 20 ms link): the SYN that takes a TIME-WAIT over carries TSecr = the TIME-WAIT's ts_recent (the
        // server's FIN's TSval), not 0: tcp_twsk_unique() copies tw_ts_recent into rx_opt.ts_recent and
        // tcp_syn_options() writes opts->tsecr = rx_opt.ts_recent whatever the SYN's flags.
        var h = ClientTimeWaitOnBoundPort(40000, timestamps: true);
        var tw = h.Client.TimeWaitSockets.Single();
        uint serverFinTsVal = h.Sent("server").Last(x => x.Flags.Has(TcpFlags.Fin)).Options.TsVal;
        Assert.Equal(serverFinTsVal, tw.TsRecent);

        Connect(h, bind: 40000, reuse: true);
        h.At(Ms(300));

        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).ToList();
        Assert.Equal(0u, syns[0].Options.TsEcr);
        Assert.Equal(serverFinTsVal, syns[1].Options.TsEcr);
    }

    [Fact]
    public void TimeWait_BindWithoutReuseAddrOnNewSocket_Eaddrinuse()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var first = Connect(h, bind: 45000, reuse: true);
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, first.SocketId);
        h.At(Ms(150));
        h.Call("server", SocketCallKind.Close, h.Server.AllSockets.Last().Id);
        h.At(Ms(200));
        Assert.Equal("EADDRINUSE", Connect(h, bind: 45000, reuse: false).Errno);
    }

    [Theory]
    [InlineData(true, false, "EADDRINUSE")]
    [InlineData(true, true, null)]
    [InlineData(false, false, "EADDRINUSE")]
    [InlineData(false, true, "EADDRINUSE")]
    public void TimeWait_ServerRestartMatrix_MatchesTheKernel(bool oldReuse, bool newReuse, string? errno)
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, ReuseAddr = oldReuse });
        var c = Connect(h);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Close, h.Returned(a.CallId)!.SocketId);
        h.At(Ms(150));
        h.Call("client", SocketCallKind.Close, c.SocketId);
        h.Call("server", SocketCallKind.Close, l.SocketId);
        h.At(Ms(300));
        Assert.Equal(1, h.Server.TimeWaitCount);
        var relisten = h.Call(new SocketCallRequest("server", "app2", SocketCallKind.Listen) { Port = 80, ReuseAddr = newReuse });
        Assert.Equal(errno, relisten.Errno);
    }

    [Fact]
    public void ServerTimeWait_NewSynFromSamePortWithNewerTimestamp_AcceptedWithIsnFromTimeWait()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = Connect(h, bind: 46000);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Close, h.Returned(a.CallId)!.SocketId);
        h.At(Ms(150));
        h.Call("client", SocketCallKind.Close, c.SocketId);
        h.At(Ms(300));
        var tw = h.Server.TimeWaitSockets.Single();
        h.At(S(2));
        var again = Connect(h, bind: 46000);
        h.At(S(2.1));
        var synAck = h.Sent("server").Last(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack));
        Assert.Equal(tw.SndNxt + 65537, synAck.SeqNo);
        Assert.Equal(S(2) + new SimService.Domain.Time.SimDuration(10_000_000), synAck.At);
        Assert.False(tw.Alive);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(again.SocketId)!.State);
    }

    [Fact]
    public void ServerTimeWait_OldSynWithoutTimestamps_AnsweredWithTimeWaitAck()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_timestamps", "0");
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = Connect(h, bind: 46000);
        var a = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        h.Call("server", SocketCallKind.Close, h.Returned(a.CallId)!.SocketId);
        h.At(Ms(150));
        var client = h.Sim.FindSocket(c.SocketId)!;
        h.Call("client", SocketCallKind.Close, c.SocketId);
        h.At(Ms(300));
        var tw = h.Server.TimeWaitSockets.Single();
        var oldSyn = new Segment(client.Tuple, TcpFlags.Syn, tw.RcvNxt - 1000, 0, 64240, 0, TcpOptions.None);
        h.Deliver(h.Server, oldSyn);
        var ack = h.Sent("server").Last();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(tw.RcvNxt, ack.AckNo);
        Assert.True(tw.Alive);
    }

    [Fact]
    public void FinWait2Orphan_MaxTwBucketsZero_VanishesAndPeerFinGetsHostRst()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_max_tw_buckets", "0");
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPTimeWaitOverflow]);
        Assert.Empty(h.Client.KernelLog);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));
        Assert.Equal(TcpFlags.Rst, h.Sent("client").Last().Flags);
        Assert.Equal(TcpState.Close, h.StateOf(s));
    }

    /// <summary>
    /// inet_twsk_alloc() (6.x) compares the unsigned <c>refcount_read(&amp;dr->tw_refcount) - 1</c> with the int
    /// tcp_max_tw_buckets: a negative sysctl is ~UINT_MAX, no limit — the orphan FIN-WAIT-2 becomes a timewait socket
    /// and the peer's FIN (sent at 200 ms, in at 210 ms) gets its ACK and a TIME-WAIT. linux-4.4 compares int with
    /// int: a negative one keeps none, and the FIN gets tcp_v4_send_reset()'s RST.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux6, "-1", true)]
    [InlineData(KernelProfile.Linux6, "-2147483648", true)]
    [InlineData(KernelProfile.Linux44, "-1", false)]
    public void FinWait2Orphan_MaxTwBucketsNegative_NoLimitOnLinux6(KernelProfile profile, string buckets, bool kept)
    {
        var h = new TwoHostHarness(profile: profile);
        Assert.Null(h.Sim.SetSysctl("client", "net.ipv4.tcp_max_tw_buckets", buckets));
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        Assert.Equal(kept ? 0 : 1, h.Client.Mib[MibCounter.TcpExtTCPTimeWaitOverflow]);
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(300));

        var answer = h.Sent("client").Last();
        Assert.Equal(Ms(210), answer.At);
        Assert.Equal(kept ? TcpFlags.Ack : TcpFlags.Rst, answer.Flags);
        Assert.Equal(kept ? [TcpState.TimeWait] : Array.Empty<TcpState>(), h.Client.TimeWaitSockets.Select(t => t.Substate).ToArray());
    }
}
