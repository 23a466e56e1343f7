using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §4.2 and §14 scenario 26.</summary>
public class KeepaliveTests
{
    [Fact]
    public void Established_KeepaliveDeadPeer_ThreeProbesThenRstAndEtimedout()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        void Opt(SocketOption o, int v) => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = o, Value = v });
        Opt(SocketOption.SO_KEEPALIVE, 1);
        Opt(SocketOption.TCP_KEEPIDLE, 2);
        Opt(SocketOption.TCP_KEEPINTVL, 1);
        Opt(SocketOption.TCP_KEEPCNT, 3);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var recv = h.Call("client", SocketCallKind.Recv, c.Id);
        h.At(S(10));
        var probes = h.Sent("client").Where(x => x.Flags == TcpFlags.Ack && x.SeqNo == c.Iss).Select(x => x.At).ToList();
        // Idle is measured from the last segment received (the SYN-ACK at 21 ms, jiffy 5). TCP_KEEPIDLE at
        // 100 ms (jiffy 25) re-arms for 500 − 20 = 480 jiffies: expires 505, level 1 (63 ≤ 480 < 504), so the
        // wheel runs it at the next multiple of 8 after 505 (INITIAL_JIFFIES ≡ 0 mod 8): jiffy 512 = 2.048 s.
        // Each probe re-arms 250 jiffies (level 1): 512+250 = 762 → 768, 1018 → 1024, 1274 → 1280 —
        // probes 1.024 s apart, as measured on 6.18.
        Assert.Equal([Ms(2048), Ms(3072), Ms(4096)], probes);
        var rst = h.Sent("client").Last();
        Assert.Equal("R.", rst.Flags.ToLetters());
        Assert.Equal(Ms(5120), rst.At);
        Assert.Equal("ETIMEDOUT", h.Returned(recv.CallId)!.Errno);
        Assert.Equal(3, h.Client.Mib[MibCounter.TcpExtTCPKeepAlive]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
    }

    [Fact]
    public void CloseWait_KeepaliveProbesRunThere()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.Call("client", SocketCallKind.Close, c.Id);
        h.At(Ms(200));
        h.SetOption(s.Id, SocketOption.SO_KEEPALIVE, 1);
        h.SetOption(s.Id, SocketOption.TCP_KEEPIDLE, 5);
        h.At(S(7));
        Assert.Equal(1, h.Server.Mib[MibCounter.TcpExtTCPKeepAlive]);
    }
}
