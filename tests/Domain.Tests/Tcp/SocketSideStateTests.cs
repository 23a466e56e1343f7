using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// The rarely set options live in side objects made on first use (linger, keepalive/user timeout): a
/// socket that never set one reads the kernel's defaults, and an accepted child gets its own copy of the
/// listener's (sk_clone_lock() copies struct sock and tcp_sock), so a later setsockopt() on one of them
/// never shows on the other.
/// </summary>
public class SocketSideStateTests
{
    static void Set(TwoHostHarness h, string host, int socket, SocketOption option, int value, int lingerOnOff = 0) =>
        Assert.Null(h.Call(new SocketCallRequest(host, "app", SocketCallKind.Setsockopt)
            { SocketId = socket, Option = option, Value = value, LingerOnOff = lingerOnOff }).Errno);

    static long Get(TwoHostHarness h, string host, int socket, SocketOption option) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Getsockopt) { SocketId = socket, Option = option }).Result;

    static readonly SocketOption[] Options =
    [
        SocketOption.SO_LINGER, SocketOption.TCP_LINGER2, SocketOption.SO_KEEPALIVE, SocketOption.TCP_KEEPIDLE,
        SocketOption.TCP_KEEPINTVL, SocketOption.TCP_KEEPCNT, SocketOption.TCP_USER_TIMEOUT,
    ];

    [Fact]
    public void Close_NoOptionEverSet_ReadsTheKernelDefaults()
    {
        // sock_init_data() / tcp_init_sock(): no linger, linger2 0 → tcp_fin_timeout (60), no keepalive,
        // keepalive_time_when() 7200 s, intvl 75 s, probes 9, no user timeout.
        var h = new TwoHostHarness();
        int s = h.Call("client", SocketCallKind.Socket).SocketId;

        Assert.Equal([0L, 60, 0, 7200, 75, 9, 0], Options.Select(o => Get(h, "client", s, o)));
    }

    [Fact]
    public void Listen_AcceptedChild_GetsItsOwnCopyOfTheListenersLingerAndKeepalive()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        Set(h, "server", l.SocketId, SocketOption.SO_LINGER, 5, lingerOnOff: 1);
        Set(h, "server", l.SocketId, SocketOption.TCP_LINGER2, 10);
        Set(h, "server", l.SocketId, SocketOption.SO_KEEPALIVE, 1);
        Set(h, "server", l.SocketId, SocketOption.TCP_KEEPIDLE, 100);
        Set(h, "server", l.SocketId, SocketOption.TCP_KEEPINTVL, 7);
        Set(h, "server", l.SocketId, SocketOption.TCP_KEEPCNT, 3);
        Set(h, "server", l.SocketId, SocketOption.TCP_USER_TIMEOUT, 1234);
        h.At(Ms(1));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        var accept = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(100));
        int child = h.Returned(accept.CallId)!.SocketId;
        long[] inherited = [5, 10, 1, 100, 7, 3, 1234];

        Assert.Equal(inherited, Options.Select(o => Get(h, "server", child, o)));

        // The child's own setsockopt() changes its copy only.
        Set(h, "server", child, SocketOption.SO_LINGER, 0, lingerOnOff: 0);
        Set(h, "server", child, SocketOption.TCP_USER_TIMEOUT, 0);
        Assert.Equal(inherited, Options.Select(o => Get(h, "server", l.SocketId, o)));
        Assert.Equal([0L, 10, 1, 100, 7, 3, 0], Options.Select(o => Get(h, "server", child, o)));
    }

    [Fact]
    public void Close_CleanRequestResponse_NeitherSocketMakesTheLossScoreboard()
    {
        // 1 KB each way and an orderly close, nothing lost: sacked_out, lost_out, retrans_out, PRR, undo, the TLP
        // and the D-SACK counts are never anything but 0, so the scoreboard stays unmade and reads 0.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 1000);
        h.At(Ms(150));
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.Send(s.Id, 1000);
        h.At(Ms(200));
        h.Call("client", SocketCallKind.Recv, c.Id);
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(250));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(400));

        Assert.Equal(TcpState.Close, s.State);
        Assert.False(c.HasLossScoreboard);
        Assert.False(s.HasLossScoreboard);
        Assert.Equal(0, c.Info.Lost);
        // Never cwnd-limited past slow start and no loss: bictcp_update() and cubictcp_recalc_ssthresh() never ran.
        Assert.False(c.CubicState.HasCurve);
        Assert.False(s.CubicState.HasCurve);
        // No RTO and no probe: icsk_backoff, icsk_retransmits and icsk_probes_out stay 0; no D-SACK: RACK's window is as made.
        Assert.Equal((false, false), (c.HasRetransmitCounts, s.HasRetransmitCounts));
        Assert.Equal((false, false), (c.HasRackReoWnd, s.HasRackReoWnd));
    }

    [Fact]
    public void Established_RetransmissionTimeout_MakesTheLossScoreboardCubicsCurveAndTheBackoffCounts()
    {
        // The data is black-holed: nothing is written to the scoreboard until the data is overdue.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Assert.Null(h.Sim.ChangeLink("client", "server", oneDirection: true, delay: null, loss: null, blackhole: true));
        h.Send(c.Id, 1000);
        h.At(Ms(150));
        Assert.False(c.HasLossScoreboard);


        // The tail loss probe (tcp_send_loss_probe(): tlp_high_seq) is the first write to it; the RTO then marks the
        // segment lost in tcp_enter_loss() (lost_out 1, TCP_CA_Loss).
        h.At(Ms(330));
        Assert.True(c.HasLossScoreboard);
        Assert.Equal((0, 0), (c.Info.Lost, c.Info.CaState));
        Assert.False(c.CubicState.HasCurve);
        Assert.False(c.HasRetransmitCounts);
        h.At(Ms(560));
        Assert.Equal((1, 4), (c.Info.Lost, c.Info.CaState));
        // tcp_enter_loss() → cubictcp_recalc_ssthresh() wrote Wmax (10) and made the curve; cubictcp_state(TCP_CA_Loss)'s
        // bictcp_reset() then cleared it to 0 again, in the curve it had made.
        Assert.True(c.CubicState.HasCurve);
        Assert.Equal(0u, c.CubicState.LastMaxCwnd);
        // tcp_retransmit_timer(): icsk_backoff++ and icsk_retransmits++.
        Assert.True(c.HasRetransmitCounts);
        Assert.Equal(1, c.Info.Retransmits);
    }

    [Fact]
    public void Established_OpenedAndHeld_NeitherSocketMakesTheDataPath_TheFirstByteSentMakesBoth()
    {
        // A pool's connections: the handshake queues, sends and receives no payload and arms no delayed ACK, so neither
        // socket makes the data path (the queues' skbs and memory, icsk_delack_timer, rcv_rtt_est, the data counts);
        // each reads 0 through its property.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(1000));

        Assert.Equal((false, false), (c.HasDataPath, s.HasDataPath));
        Assert.Equal((0L, 0L, 0L), (c.WmemQueued, c.Info.BytesSent, s.Info.DataSegsIn));

        // 1,000 bytes: the client queues an skb and counts a data segment, the server receives one (and arms its delayed ACK).
        h.Send(c.Id, 1000);
        h.At(Ms(1100));
        Assert.Equal((true, true), (c.HasDataPath, s.HasDataPath));
        Assert.Equal((1000L, 1L, 1L), (c.Info.BytesSent, c.Info.DataSegsOut, s.Info.DataSegsIn));
    }

    [Fact]
    public void Established_OpenedAndHeld_NeitherSocketMakesTheRareState_ABlockedRecvMakesIt()
    {
        // A pool's connections: nothing listens, blocks in send/recv/close, sets SO_SNDBUF/SO_RCVBUF, binds an address,
        // takes an error, retransmits, answers an out-of-window segment or counts data, so neither socket makes the rare
        // state; each reads the kernel's defaults through its properties.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(1000));

        Assert.Equal((false, false), (c.HasRareState, s.HasRareState));
        Assert.Equal((0, 0, 0L, 0L, 0), (c.Info.Retransmits, c.Info.TotalRetrans, s.Info.BytesRetrans, s.RecvQueue, c.Backlog));

        // A recv() with nothing to read sleeps in sk_wait_data(): the server's rare state holds the blocked call.
        Assert.True(h.Call("server", SocketCallKind.Recv, s.Id).Blocked);
        Assert.Equal((false, true), (c.HasRareState, s.HasRareState));
    }
}
