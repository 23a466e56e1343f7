using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.5, §3.5 and §14 scenarios 7, 28: teardown behind a zero window.</summary>
public class ZeroWindowTests
{
    static (TwoHostHarness H, TcpSocket C, TcpSocket S) FilledWindow(long bytes, int linger = -1)
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        if (linger >= 0)
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Setsockopt) { SocketId = c.Id, Option = SocketOption.SO_LINGER, LingerOnOff = 1, Value = linger });
        var send = h.Send(c.Id, bytes);
        Assert.Equal(bytes, send.Result);
        h.At(S(2));
        // The receiver's window is closed: the sender holds the rest and probes.
        Assert.True(s.Unread >= 65536 - 1448, s.Unread.ToString());
        Assert.True(c.SendQueue > 0);
        return (h, c, s);
    }

    [Fact]
    public void FinWait1Orphan_PeerNeverReads_PersistProbesDoubleThenSilentDeathOnceIntervalReachesRtoMax()
    {
        var (h, c, s) = FilledWindow(500_000);
        h.Call("client", SocketCallKind.Close, c.Id);
        Assert.Equal(TcpState.FinWait1, c.State);
        h.At(S(1000));
        var probes = h.Sent("client").Where(x => x.Reason == "tcp_send_probe0").Select(x => x.At).ToList();
        Assert.True(probes.Count >= 8, h.Trace());
        // Each gap doubles (base·2^backoff, capped at rto_max). tcp_ack_probe() re-arms the timer when the
        // peer's zero-window ACK arrives, one RTT (20 ms) after the probe; an answer suppressed by the
        // peer's out-of-window rate limit (tcp_oow_rate_limited, 500 ms) leaves the timer as it was.
        for (int i = 2; i < probes.Count; i++)
        {
            double gap = (probes[i] - probes[i - 1]).TotalMilliseconds;
            double prev = (probes[i - 1] - probes[i - 2]).TotalMilliseconds;
            double expected = Math.Min(prev * 2, 120_000);
            Assert.True(Math.Abs(gap - expected) <= 48 || Math.Abs(gap - Math.Min((prev - 20) * 2 + 20, 120_020)) <= 8,
                $"probe gaps {prev} then {gap}");
        }
        // The orphan dies at the first firing whose backed-off interval reaches rto_max (not "alive").
        var death = h.States(c.Id).Last();
        Assert.Equal(TcpState.Close, death.To);
        var lastGap = (death.At - probes[^1]).TotalMilliseconds;
        Assert.InRange(lastGap, 120_000, 120_028);
        Assert.Equal(probes.Count, h.Client.Mib[MibCounter.TcpExtTCPWinProbe]);
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnTimeout]);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
        Assert.Equal(TcpState.Established, s.State);
    }

    [Fact]
    public void FinWait1_Linger3PeerNotReading_CloseReturnsZeroAfter3sAndAllDataArrivesLater()
    {
        var (h, c, s) = FilledWindow(300_000, linger: 3);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(6));
        var returned = h.Returned(close.CallId)!;
        Assert.Equal(0, returned.Result);
        Assert.Equal(SimService.Domain.Time.SimDuration.FromSeconds(3), returned.Blocked);
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.True(c.IsOrphan);
        long read = 0;
        for (int i = 0; i < 200 && read < 300_000; i++)
        {
            var r = h.Call("server", SocketCallKind.Recv, s.Id);
            if (!r.Blocked && r.Result > 0) read += r.Result;
            h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromMilliseconds(500));
        }
        Assert.Equal(300_000, read);
        h.At(h.Sim.Now + SimService.Domain.Time.SimDuration.FromSeconds(1));
        Assert.Equal(0, h.Call("server", SocketCallKind.Recv, s.Id).Result);
        Assert.Equal(0, c.Ledger.Lost);
    }

    [Fact]
    public void FinWait1_Linger5PeerDrainsAt1s_CloseReturnsWhenTheFinIsAcked()
    {
        var (h, c, s) = FilledWindow(100_000, linger: 5);
        h.At(S(2));
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(3));
        h.Call("server", SocketCallKind.Recv, s.Id);
        h.At(S(10));
        var returned = h.Returned(close.CallId)!;
        Assert.Equal(0, returned.Result);
        Assert.True(returned.Blocked < SimService.Domain.Time.SimDuration.FromSeconds(2), returned.Blocked.ToString());
        Assert.Equal(TcpState.FinWait2, h.StateOf(c));
    }
}
