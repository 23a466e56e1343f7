using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// connect() with an AF_UNSPEC address: __inet_stream_connect() → tcp_disconnect() — net/ipv4/af_inet.c,
/// net/ipv4/tcp.c. Client 10.0.0.1 and server 10.0.0.2, 10 ms apart.
/// </summary>
public class ConnectUnspecTests
{
    static CallHandle Unspec(TwoHostHarness h, int socket) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, Unspec = true });

    static CallHandle Connect(TwoHostHarness h, int socket) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = socket, ToHost = "server", ToPort = 80 });

    static CallHandle SoError(TwoHostHarness h, int socket) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = socket, Option = SocketOption.SO_ERROR });

    [Fact]
    public void Established_ConnectUnspec_RstAtSndNxtCloseAndEconnresetPending()
    {
        // tcp_need_reset(ESTABLISHED): tcp_send_active_reset() at snd_nxt, sk_err = ECONNRESET, TCP_CLOSE.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(150));
        uint sndNxt = c.SndNxt;

        var result = Unspec(h, c.Id);
        var rst = Assert.Single(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
        var error = SoError(h, c.Id);
        h.At(Ms(200));

        Assert.Equal(0L, result.Result);
        Assert.Equal((Ms(150), TcpFlags.Rst | TcpFlags.Ack, sndNxt), (rst.At, rst.Flags, rst.SeqNo));
        Assert.Equal(TcpState.Close, c.State);
        Assert.Equal((104L, "\"ECONNRESET\""), (error.Result, error.Value));
        Assert.Equal(TcpState.Close, h.StateOf(s));
    }

    [Fact]
    public void Established_ConnectUnspecAfterData_TcpInfoCountersAndRtoResetButMssKept()
    {
        // tcp_disconnect() resets icsk_rto, srtt/mdev, icsk_ack (inet_csk_delack_init(), rcv_mss TCP_MIN_MSS), cwnd and
        // ssthresh and the segment, byte and delivery counts; mss_cache stays. Observed on Linux 6.18.44
        // (scenarios/disconnect-resets-tcp-info-counters.json).
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 3000);
        h.At(Ms(100));
        h.Send(s.Id, 500);
        h.At(Ms(150));
        Assert.Equal((6L, 3001L, 1448), (c.Info.SegsOut, c.Info.BytesAcked, c.Info.SndMss));

        Unspec(h, c.Id);
        var i = c.Info;
        Assert.Equal((1_000_000L, 0L, 250_000L, 0L, 88), (i.RtoUs, i.RttUs, i.RttVarUs, i.AtoUs, i.RcvMss));
        Assert.Equal((0L, 0L, 0L, 0L, 0L), (i.SegsOut, i.SegsIn, i.BytesAcked, i.BytesSent, i.Delivered));
        Assert.Equal((0L, 0L, 0), (i.DataSegsOut, i.DataSegsIn, i.TotalRetrans));
        Assert.Equal((10, TcpInfo.InfiniteSsthresh, 0, 1448), (i.SndCwnd, i.SndSsthresh, i.CaState, i.SndMss));
    }

    /// <summary>
    /// A loss probe that retransmits the tail (tlp_retrans) is out and unanswered when connect(AF_UNSPEC) runs: the
    /// server's ACKs are black-holed from 100 ms, 3000 bytes go at 100 ms, the probe at 148 ms. tcp_disconnect() sets
    /// tlp_high_seq = 0, so the reconnect's SYN-ACK is no loss-probe ACK: tcp_process_tlp_ack() does not run and
    /// TCPLossProbeRecovery stays 0. Kept, the old tlp_high_seq (below the new ISN) made that ACK "advance past a
    /// retransmitted probe": a CWR episode inside the handshake (its ssthresh then restored by tcp_init_metrics()) and
    /// TCPLossProbeRecovery 1.
    /// </summary>
    [Fact]
    public void Established_ConnectUnspecWithARetransmittedProbeOut_ReconnectEntersNoCwr()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        ProbeTheTail(h, c, atMs: 100);
        Assert.True(c.Ca.TlpOutstanding && c.Ca.TlpRetrans, h.Trace());

        Unspec(h, c.Id);
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, null, blackhole: false);
        var again = Connect(h, c.Id);
        h.At(Ms(500));

        Assert.Equal((0L, TcpState.Established), (h.Returned(again.CallId)!.Result, c.State));
        Assert.Equal((10, TcpInfo.InfiniteSsthresh, 0), (c.Info.SndCwnd, c.Info.SndSsthresh, c.Info.CaState));
        Assert.Equal(0L, h.Client.Mib[MibCounter.TcpExtTCPLossProbeRecovery]);
        Assert.False(c.Ca.TlpOutstanding);
    }

    /// <summary>
    /// tcp_disconnect() sets dsack_dups = 0, as it sets total_retrans = 0: tcp_dsack_seen() skips a D-SACK once the
    /// duplicates reported exceed the retransmissions ("dsack_dups > total_retrans"). The first connection's loss probe is
    /// D-SACKed (the black hole lifted behind it): dsack_dups 1 of total_retrans 1. After a disconnect and a reconnect the
    /// same again is 1 of 1 — accepted, TCPDSACKRecvSegs 2 in all; with dsack_dups kept it was 2 of 1, the second D-SACK
    /// dubious (TCPDSACKIgnoredDubious 1, no TCPDSACKRecvSegs).
    /// </summary>
    [Fact]
    public void Established_ConnectUnspecAfterADsack_ReconnectsDsackIsNotDubious()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        ProbeTheTail(h, c, atMs: 100);
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, null, blackhole: false);
        h.At(Ms(400));
        Assert.Equal((1L, 0L), (h.Client.Mib[MibCounter.TcpExtTCPDSACKRecvSegs], h.Client.Mib[MibCounter.TcpExtTCPDSACKIgnoredDubious]));

        Unspec(h, c.Id);
        Assert.Equal(0, c.Ca.DsackDups);
        SoError(h, c.Id); // the disconnect's ECONNRESET, which the next send() would return
        Connect(h, c.Id);
        h.At(Ms(500));
        ProbeTheTail(h, c, atMs: 500);
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, null, blackhole: false);
        h.At(Ms(800));

        Assert.Equal((2L, 0L), (h.Client.Mib[MibCounter.TcpExtTCPDSACKRecvSegs], h.Client.Mib[MibCounter.TcpExtTCPDSACKIgnoredDubious]));
    }

    /// <summary>
    /// From <paramref name="atMs"/> the server's segments to the client are black-holed and the client sends 3000 bytes
    /// (three segments); the clock runs 50 ms, just past the loss probe (at 48 ms: 2·srtt + 2 jiffies), which retransmits the
    /// last one (nothing new to send); its D-SACK, due back at 68 ms, is lost unless the black hole is lifted now.
    /// </summary>
    static void ProbeTheTail(TwoHostHarness h, TcpSocket c, double atMs)
    {
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, null, blackhole: true);
        h.Send(c.Id, 3000);
        h.At(Ms(atMs + 50));
    }

    [Fact]
    public void Established_ConnectUnspecThenConnect_NewSynWithIsnMovedOnByMaxWindowPlusTwo()
    {
        // tcp_disconnect(): write_seq += max_window + 2 and rx_opt cleared, so tcp_v4_connect() keeps write_seq
        // (no secure_tcp_seq()): the new ISN is the old write_seq + the SYN-ACK's window (the largest seen) + 2.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        uint oldIss = c.Iss;
        ushort synAckWindow = h.Sent("server").Single(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Win;
        h.At(Ms(150));
        Unspec(h, c.Id);
        h.At(Ms(200));

        var again = Connect(h, c.Id);
        h.At(Ms(300));

        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).ToList();
        Assert.Equal(2, syns.Count);
        Assert.Equal(unchecked(oldIss + 1 + synAckWindow + 2), syns[1].SeqNo);
        Assert.Equal(Ms(200), syns[1].At);
        Assert.Equal((0L, TcpState.Established), (h.Returned(again.CallId)!.Result, c.State));
    }

    [Fact]
    public void Established_ConnectUnspecThenConnectWithoutReadingTheError_TcpConnectInitClearsSkErr()
    {
        // tcp_disconnect() leaves sk_err = ECONNRESET; nothing reads it before the next connect(), whose tcp_connect_init()
        // sets sk->sk_err = 0: the reconnected socket polls without POLLERR, SO_ERROR reads 0 and send() copies. Observed
        // on Linux 6.18.44 (scenarios/connect-after-disconnect-clears-so-error.json).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.At(Ms(150));
        Unspec(h, c.Id);
        h.At(Ms(200));

        var again = Connect(h, c.Id);
        h.At(Ms(300));
        var poll = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Poll)
            { SocketId = c.Id, Events = PollEvents.POLLIN | PollEvents.POLLOUT });
        var error = SoError(h, c.Id);
        var send = h.Send(c.Id, 100);

        Assert.Equal((0L, TcpState.Established), (h.Returned(again.CallId)!.Result, c.State));
        Assert.Equal((1L, "\"POLLOUT\""), (poll.Result, poll.Value));
        Assert.Equal((0L, "0"), (error.Result, error.Value));
        Assert.Equal(100L, send.Result);
    }

    [Fact]
    public void Established_ConnectUnspecThenConnect_SynOffersAFreshSocketsWindow()
    {
        // tcp_disconnect() memsets tp->rx_opt: ts_recent_stamp is 0 again, so tcp_connect_init() sizes the SYN's window
        // with the whole advmss, 44 × 1460 = 64240, as for a fresh socket — not 45 × 1448 = 65160 (advmss less the
        // timestamp option, for a socket that already holds a peer's timestamp). Observed on Linux 6.18.44 through
        // simservice kernel (scenarios/connect-unspec-disconnects.json: SYN win=64240, its ACK win=63).
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.At(Ms(150));
        Unspec(h, c.Id);
        h.At(Ms(200));

        Connect(h, c.Id);
        h.At(Ms(300));

        var syns = h.Sent("client").Where(x => x.Flags == TcpFlags.Syn).ToList();
        Assert.Equal(2, syns.Count);
        Assert.Equal((ushort)64240, syns[0].Win);
        Assert.Equal((ushort)64240, syns[1].Win);
    }

    [Fact]
    public void Close_ConnectUnspecOnAFreshSocket_ZeroAndTheNextIsnIsTwo()
    {
        // A fresh socket has write_seq 0 and max_window 0: tcp_disconnect() leaves write_seq = 2, which
        // tcp_v4_connect() then keeps ("if (!tp->write_seq)" is false).
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);

        var result = Unspec(h, c.SocketId);
        Connect(h, c.SocketId);

        Assert.Equal(0L, result.Result);
        Assert.Equal(2u, Assert.Single(h.Sent("client"), x => x.Flags == TcpFlags.Syn).SeqNo);
    }

    [Fact]
    public void SynSent_ConnectUnspec_NoSegmentCloseAndEconnreset()
    {
        // tcp_need_reset() is false in SYN-SENT: nothing is sent, sk_err = ECONNRESET; the SYN-ACK that
        // arrives later finds no socket and is answered by the host with a RST.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = c.SocketId, NonBlock = true });
        Connect(h, c.SocketId);
        h.At(Ms(5));

        Unspec(h, c.SocketId);
        var sentAtCall = h.Sent("client").Count();
        var error = SoError(h, c.SocketId);

        Assert.Equal(1, sentAtCall);
        Assert.Equal(TcpState.Close, h.Sim.FindSocket(c.SocketId)!.State);
        Assert.Equal((104L, "\"ECONNRESET\""), (error.Result, error.Value));
    }

    [Fact]
    public void Established_ConnectUnspecOnAnExplicitlyBoundSocket_KeepsThePort()
    {
        // tcp_set_state(TCP_CLOSE): inet_put_port() only without SOCK_BINDPORT_LOCK, which bind(5000) set.
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var c = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = c.SocketId, Port = 5000 });
        Connect(h, c.SocketId);
        h.At(Ms(100));
        Unspec(h, c.SocketId);

        var other = h.Call("client", SocketCallKind.Socket);
        var bind = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = other.SocketId, Port = 5000 });
        var sk = h.Sim.FindSocket(c.SocketId)!;

        Assert.Equal(Errno.EADDRINUSE, bind.Errno);
        Assert.Equal(((ushort)5000, TcpState.Close), (sk.Local.Port, sk.State));
    }

    [Fact]
    public void Established_ConnectUnspecOnAnAutoboundSocket_ReleasesThePort()
    {
        // connect()'s autobind did not set SOCK_BINDPORT_LOCK: inet_put_port() frees the port, which bind() can take.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        ushort port = c.Local.Port;
        Unspec(h, c.Id);

        var other = h.Call("client", SocketCallKind.Socket);
        var bind = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Bind) { SocketId = other.SocketId, Port = port });

        Assert.Equal((0L, (string?)null), (bind.Result, bind.Errno));
    }

    [Fact]
    public void Listen_ConnectUnspec_ListenerStoppedAndASynGetsRst()
    {
        // tcp_disconnect() from LISTEN: inet_csk_listen_stop(); the port is no longer listening.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Connect) { SocketId = l.SocketId, Unspec = true });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(100));

        Assert.Equal(TcpState.Close, h.Sim.FindSocket(l.SocketId)!.State);
        Assert.Equal(Errno.ECONNREFUSED, h.Returned(c.CallId)!.Errno);
    }
}
