using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.3, §2.4, §14 scenarios 5, 6: aborts instead of FIN.</summary>
public class AbortTests
{
    [Fact]
    public void Established_CloseWithUnreadData_SendsRstAndPeerGetsEconnreset()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 100);
        h.At(Ms(200));
        uint sndNxt = c.SndNxt, rcvNxt = c.RcvNxt;
        Assert.Equal(100, c.Unread);
        h.Call("client", SocketCallKind.Close, c.Id);
        var rst = h.Sent("client").Last();
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(sndNxt, rst.SeqNo);
        Assert.Equal(rcvNxt, rst.AckNo);
        Assert.Equal(Ms(200), rst.At);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Fin));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnClose]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpEstabResets]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpOutRsts]);
        h.At(Ms(300));
        var recv = h.Call("server", SocketCallKind.Recv, s.Id);
        Assert.Equal("ECONNRESET", recv.Errno);
        var send = h.Send(s.Id, 10);
        Assert.Equal("EPIPE", send.Errno);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpEstabResets]);
        Assert.Equal(0, h.Client.TimeWaitCount);
    }

    [Fact]
    public void Established_LingerZeroClose_SendsRstAtSndNxtAndCountsAbortOnData()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(c.Id, 100);
        h.At(Ms(150));
        var read = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = s.Id });
        Assert.Equal(100, read.Result);
        h.At(Ms(200));
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        uint sndNxt = c.SndNxt;
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(0, close.Result);
        var rst = h.Sent("client").Last();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(sndNxt, rst.SeqNo);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnClose]);
        h.At(Ms(300));
        Assert.Equal("ECONNRESET", h.Call("server", SocketCallKind.Recv, s.Id).Errno);
        Assert.Equal(0, h.Client.TimeWaitCount);
        Assert.Equal(0, h.Client.OrphanCount);
    }

    /// <summary>
    /// tcp_send_active_reset() puts tcp_acceptable_seq() on the RST (net/ipv4/tcp_output.c): snd_nxt unless it lies
    /// beyond tcp_wnd_end() = snd_una + snd_wnd by at least 1 &lt;&lt; rcv_wscale, else tcp_wnd_end(). Here 5,000 bytes
    /// are in flight and the peer ACKs the first 1,000 with a zero window: the window's right edge falls back to
    /// ISS + 1001, 4,000 bytes behind snd_nxt, and the SO_LINGER {1,0} RST (tcp_disconnect()) carries ISS + 1001.
    /// </summary>
    [Fact]
    public void Established_LingerZeroCloseBehindAShrunkWindow_RstAtTheWindowsRightEdge()
    {
        var p = InjectedPeer.Connected();
        var (h, c) = (p.H, p.C);
        h.Send(c.Id, 5000);
        h.At(h.Sim.Now + SimDuration.FromMilliseconds(1));
        Assert.Equal(c.Iss + 5001, c.SndNxt);
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, c.Iss + 1001) with { Window = 0 });
        Assert.Equal(c.Iss + 1001, c.SndUna);
        uint iss = c.Iss; // tcp_disconnect() moves the engine's bytes_acked base

        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call("client", SocketCallKind.Close, c.Id);

        var rst = h.Sent("client").Last();
        Assert.Equal(("R.", iss + 1001), (rst.Flags.ToLetters(), rst.SeqNo));
    }

    /// <summary>
    /// The same with the right edge less than one receive-window-scale unit (1 &lt;&lt; rcv_wscale) behind snd_nxt:
    /// tcp_acceptable_seq() takes that for the precision lost to scaling and keeps snd_nxt.
    /// </summary>
    [Fact]
    public void Established_LingerZeroCloseWithinOneScaleUnitOfTheEdge_RstAtSndNxt()
    {
        var p = InjectedPeer.Connected();
        var (h, c) = (p.H, p.C);
        h.Send(c.Id, 5000);
        h.At(h.Sim.Now + SimDuration.FromMilliseconds(1));
        Assert.True(c.Info.RcvWscale > 0);
        h.Deliver(h.Client, From(p.S, TcpFlags.Ack, p.S.Iss + 1, c.Iss + 5000) with { Window = 0 });
        uint iss = c.Iss; // tcp_disconnect() moves the engine's bytes_acked base

        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call("client", SocketCallKind.Close, c.Id);

        var rst = h.Sent("client").Last();
        Assert.Equal(("R.", iss + 5001), (rst.Flags.ToLetters(), rst.SeqNo));
    }

    [Fact]
    public void Established_UnreadDataAndLingerZero_UnreadDataWins()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Send(s.Id, 5);
        h.At(Ms(200));
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnClose]);
        Assert.Equal(0, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
    }

    [Fact]
    public void CloseWait_LingerZeroClose_SendsRst()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        Assert.Equal(TcpState.CloseWait, s.State);
        h.SetOption(s.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Call("server", SocketCallKind.Close, s.Id);
        Assert.Equal("R.", h.Sent("server").Last().Flags.ToLetters());
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpEstabResets]);
    }

    [Fact]
    public void SynSent_CloseAfterNonBlockingConnect_SendsNothingAndLaterSynAckGetsHostRst()
    {
        var h = new TwoHostHarness();
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 1.0, null);
        var sock = h.Call("client", SocketCallKind.Socket);
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Fcntl) { SocketId = sock.SocketId, NonBlock = true });
        var c = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { SocketId = sock.SocketId, ToHost = "server", ToPort = 80 });
        Assert.Equal(Errno.EINPROGRESS, c.Errno);
        h.At(Ms(500));
        h.Call("client", SocketCallKind.Close, c.SocketId);
        int before = h.Sent("client").Count();
        h.Sim.ChangeLink("server", "client", oneDirection: true, null, 0.0, null);
        h.At(S(3));
        var after = h.Sent("client").Skip(before).ToList();
        // The server's SYN-ACK retransmission (+1 s) hits no socket → R with seq = its ack.
        Assert.Contains(after, x => x.Flags == TcpFlags.Rst && x.SeqNo == h.Sent("server").First().AckNo);
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpAttemptFails]);
    }
}
