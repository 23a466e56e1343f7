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
        var send = h.Send(c.Id, 40000);
        Assert.Equal(40000, send.Result);
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
        Assert.Equal(40000, read);
        Assert.Equal(40000, c.Ledger.Delivered);
        Assert.Equal(0, c.Ledger.Lost);
        Assert.DoesNotContain(h.Sent("client"), x => x.Flags.HasFlag(TcpFlags.Rst));
    }

    /// <summary>
    /// A close() asleep in sk_stream_wait_close() (SO_LINGER {1,10}, the FIN unacknowledged: the link is dead) when
    /// SIGKILL comes: the loop ends on signal_pending(), __tcp_close() orphans the socket (still FIN_WAIT1, its FIN
    /// retransmitted by the orphan), and close() — since 6.7 __fput_sync() runs tcp_close() inside the call — returns
    /// filp_flush()'s 0 (a socket has no -&gt;flush), never EINTR; the task dies on its way back to user space. The
    /// wait's timer is deleted at the kill.
    /// </summary>
    [Fact]
    public void FinWait1_KillWhileCloseLingers_CloseReturnsZeroAndTheSocketIsOrphaned()
    {
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 10, lingerOnOff: 1);
        h.At(Ms(200));
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);
        var close = h.Call("client", SocketCallKind.Close, c.Id);
        Assert.True(close.Blocked);
        h.At(S(1));

        Assert.Null(h.Sim.Kill("client", "app", "SIGKILL"));

        var ret = h.Returned(close.CallId)!;
        Assert.Equal((S(1), 0L, (string?)null), (ret.At, ret.Result, ret.Errno));
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.True(c.IsOrphan);
        Assert.Contains(h.Sim.Journal.OfType<SimService.Domain.Journal.TimerCancelled>(), e => e.At == S(1) && e.SocketId == c.Id && e.Timer == TcpTimerKind.Linger);
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

    /// <summary>
    /// The send had copied the bytes that fit the buffer when SIGKILL arrived: sk_stream_wait_memory() returns -EINTR,
    /// and tcp_sendmsg_locked()'s do_error returns the count copied (the rest is lost), not the error.
    /// </summary>
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
        var returned = h.Returned(send.CallId)!;
        Assert.Null(returned.Errno);
        Assert.True(c.Ledger.Accepted > 0);
        Assert.Equal(c.Ledger.Accepted, returned.Result);
        Assert.True(c.Ledger.Lost > 0);
        Assert.Equal(c.Ledger.Sent - c.Ledger.Accepted, c.Ledger.Lost);
    }

    [Fact]
    public void ThreeConnections_Kill_TcpCloseRunsForTheHighestDescriptorFirst()
    {
        // close_files() walks fds upward, but each last fput() queues ____fput() at the head of the task_work
        // list, which exit_task_work() runs from its head: the FINs leave in descending descriptor order.
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });
        var fds = new List<TcpSocket>();
        for (int i = 0; i < 3; i++)
            fds.Add(h.Sim.FindSocket(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId)!);
        h.At(Ms(100));
        Assert.All(fds, sk => Assert.Equal(TcpState.Established, sk.State));
        Assert.Equal(new[] { 3, 4, 5 }, fds.Select(sk => sk.Fd));
        h.Sim.Kill("client", "app", "SIGKILL");
        var fins = h.Sent("client").Where(x => x.Flags.HasFlag(TcpFlags.Fin)).ToList();
        Assert.Equal(3, fins.Count);
        Assert.All(fins, f => Assert.Equal(Ms(100), f.At));
        Assert.Equal(fds.Select(sk => sk.Local.Port).Reverse(), fins.Select(f => f.Tuple.Local.Port));
    }
}
