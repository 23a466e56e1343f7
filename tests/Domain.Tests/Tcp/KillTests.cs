using SimService.Domain.Commands;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>Reference §2.1, §2.6 and §14 scenario 8: a killed process's sockets close as at exit.</summary>
public class KillTests
{
    [Fact]
    public void Established_KillWithLinger10AndQueuedData_NoLingerAllDataAndFinDelivered()
    {
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 10, lingerOnOff: 1);
        var send = h.Send(c.Id, 50000);
        Assert.Equal(50000, send.Result);
        h.At(Ms(101));
        Assert.Null(h.Sim.Kill("client", "app", "SIGKILL"));
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.True(c.IsOrphan);
        h.At(S(1));
        long read = 0;
        while (true)
        {
            var r = h.Call("server", SocketCallKind.Recv, s.Id);
            if (r.Blocked || r.Result <= 0) break;
            read += r.Result;
        }
        Assert.Equal(50000, read);
        Assert.Equal(50000, c.Ledger.Delivered);
        Assert.Equal(0, c.Ledger.Lost);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    [Fact]
    public void Established_KillWithLingerZero_RstAtOnce()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        h.Sim.Kill("client", "app", "SIGKILL");
        Assert.Equal("R.", h.Sent("client").Last().Flags.ToLetters());
        Assert.Equal(1, h.Client.Mib[MibCounter.TcpExtTCPAbortOnData]);
    }

    [Fact]
    public void Established_KillWhileBlockedInSend_UncopiedBytesAreLost()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_SNDBUF, 30000);
        var send = h.Send(c.Id, 10_000_000);
        Assert.True(send.Blocked);
        h.At(Ms(101));
        h.Sim.Kill("client", "app", "SIGKILL");
        Assert.Equal("EINTR", h.Returned(send.CallId)!.Errno);
        Assert.True(c.Ledger.Lost > 0);
        Assert.Equal(c.Ledger.Sent - c.Ledger.Accepted, c.Ledger.Lost);
    }
}
