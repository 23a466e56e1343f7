using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

public class ActiveCloseTests
{
    /// <summary>
    /// tcp_send_fin() under tcp_memory_pressure with nothing unsent puts the FIN on the last skb already sent and sends
    /// nothing ("FIN packet will be sent after a timeout"). Connection b fills the host's TCP memory (tcp_mem 10 20 100000
    /// pages, a 3 MB non-blocking send to a server that does not read: TCPMemoryPressures by 900 ms). Connection a sends
    /// 100 bytes at 1 s (srtt 20 ms, RTO 55 jiffies; the probe timer: 2 · 20 + 200 ms capped by the RTO, 55 jiffies from
    /// jiffy 250, run at jiffy 306 = 1.224 s) and closes at 1.001 s: FIN-WAIT-1, no FIN. The ACK of the 100 bytes at
    /// 1.02 s acknowledges the one-segment skb only in part (tcp_clean_rtx_queue(): "tcp_skb_pcount(skb) == 1" → break),
    /// so nothing re-arms the timer; at 1.224 s tcp_send_loss_probe() retransmits the tail, trimmed to the FIN.
    /// </summary>
    [Fact]
    public void Established_CloseUnderMemoryPressureWithNothingUnsent_FinLeavesWithTheLossProbe()
    {
        var h = new TwoHostHarness();
        h.Sim.SetSysctl("client", "net.ipv4.tcp_mem", "10 20 100000");
        h.Sim.SetSysctl("client", "net.core.wmem_max", "8000000");
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        h.At(Ms(1));
        var a = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(2));
        var b = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        h.At(Ms(50));
        h.SetOption(b.SocketId, SocketOption.SO_SNDBUF, 4_000_000);
        h.At(Ms(60));
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = b.SocketId, Bytes = 3_000_000, Flags = MsgFlags.MSG_DONTWAIT });
        h.At(Ms(1000));
        Assert.True(h.Client.TcpMemoryPressure);
        var c = h.Sim.FindSocket(a.SocketId)!;
        h.Send(c.Id, 100);
        h.At(Ms(1001));
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(2000));

        var fins = h.Sent("client").Where(x => x.Tuple == c.Tuple && x.Flags.HasFlag(TcpFlags.Fin)).ToArray();
        var fin = Assert.Single(fins);
        Assert.Equal((Ms(1224), c.Iss + 101, 0, "tcp_send_loss_probe"), (fin.At, fin.SeqNo, fin.Len, fin.Reason));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
    }

    [Fact]
    public void Established_CloseThenPeerCloses_GoesThroughFinWait2ToTimeWaitFor60sAndTheWheelsLateness()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.At(Ms(100));
        h.Call("client", SocketCallKind.Close, c.Id);
        var recv = h.Call("server", SocketCallKind.Recv, s.Id);
        h.At(Ms(300));
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
        Assert.Equal(TcpState.CloseWait, s.State);
        h.At(Ms(400));
        h.Call("server", SocketCallKind.Close, s.Id);
        h.At(Ms(1000));
        var trace = h.Trace();
        Assert.True(TcpState.TimeWait == h.StateOf(c), trace);
        Assert.Equal(TcpState.Close, h.StateOf(s));
        Assert.Equal(0, h.Returned(recv.CallId)!.Result);
        // The server's FIN arrives at 410 ms (jiffy 102): expires 15102; 15000 jiffies is level 3 of the
        // timer wheel, 512-jiffy buckets ending on jiffies ≡ 248 (mod 512): 15608 = 62.432 s, 62.022 s later.
        h.At(Ms(62_431));
        Assert.Equal(TcpState.TimeWait, h.StateOf(c));
        h.At(Ms(62_432));
        Assert.Equal(TcpState.Close, h.StateOf(c));
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTW]);
    }
}
