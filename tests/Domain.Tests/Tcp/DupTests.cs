using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// dup()/dup2() and the socket file's reference count (fs/file.c, fs/file_table.c): close() of a descriptor
/// reaches sock_close() → tcp_close() only when it drops the file's last reference. Client 10.0.0.1 and
/// server 10.0.0.2, 10 ms apart; the client's first socket is fd 3.
/// </summary>
public class DupTests
{
    static CallHandle Dup(TwoHostHarness h, int socket) => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Dup) { SocketId = socket });

    static CallHandle Dup2(TwoHostHarness h, int socket, int newFd, int? fd = null) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Dup2) { SocketId = socket, Fd = fd, NewFd = newFd });

    static CallHandle Close(TwoHostHarness h, int socket, int? fd = null) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = socket, Fd = fd });

    static List<SegmentSent> Flagged(TwoHostHarness h, TcpFlags flag) => [.. h.Sent("client").Where(s => s.Flags.HasFlag(flag))];

    [Fact]
    public void Established_CloseOneOfTwoDescriptors_NoFinUntilTheLastGoes()
    {
        // file_close_fd() + fput(): the first close drops a reference only; the last runs __fput() → tcp_close().
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        var dup = Dup(h, c.Id);
        h.At(Ms(150));

        var first = Close(h, c.Id, fd: 3);
        h.At(Ms(250));
        var stillOpen = (c.State, c.FileRefs, c.Fd, Flagged(h, TcpFlags.Fin).Count);
        var last = Close(h, c.Id, fd: 4);
        h.At(Ms(251));

        Assert.Equal(4L, dup.Result);
        Assert.Equal((0L, 0L), (first.Result, last.Result));
        Assert.Equal((TcpState.Established, 1, 4, 0), stillOpen);
        var fin = Assert.Single(Flagged(h, TcpFlags.Fin));
        Assert.Equal(Ms(250), fin.At);
        Assert.Equal(TcpState.FinWait1, c.State);
    }

    [Fact]
    public void Established_CloseTheSameDescriptorTwice_EbadfAndTheDupStaysOpen()
    {
        // The second close(3) finds no file at fd 3 (file_close_fd() → NULL): EBADF, the connection untouched.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Dup(h, c.Id);

        Close(h, c.Id, fd: 3);
        var again = Close(h, c.Id, fd: 3);
        h.At(Ms(300));

        Assert.Equal(Errno.EBADF, again.Errno);
        Assert.Equal(TcpState.Established, c.State);
        Assert.Empty(Flagged(h, TcpFlags.Fin));
    }

    [Fact]
    public void Established_PollThroughAClosedDescriptor_OneWithPollnvalNotEbadf()
    {
        // do_pollfd() — fs/select.c: fdget() finds no file at fd 3, so revents = POLLNVAL and it counts: poll() returns 1
        // (at once, a timeout notwithstanding); other calls through fd 3 fail with EBADF; fd 4 polls the live connection.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Dup(h, c.Id);
        Close(h, c.Id, fd: 3);
        CallHandle Poll(int fd, int timeoutMs = 0) => h.Call(new SocketCallRequest("client", "app", SocketCallKind.Poll)
        {
            SocketId = c.Id, Fd = fd, Events = PollEvents.POLLIN | PollEvents.POLLOUT, TimeoutMs = timeoutMs,
        });

        var closed = Poll(3, timeoutMs: 1000);
        var open = Poll(4);
        var getsockopt = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Getsockopt) { SocketId = c.Id, Fd = 3, Option = SocketOption.SO_ERROR });

        Assert.Equal((false, 1L, (string?)null, "\"POLLNVAL\""), (closed.Blocked, closed.Result, closed.Errno, closed.Value));
        Assert.Equal((1L, "\"POLLOUT\""), (open.Result, open.Value));
        Assert.Equal((-1L, Errno.EBADF), (getsockopt.Result, getsockopt.Errno));
    }

    [Fact]
    public void Established_PollAsleepOnADescriptorAnotherThreadCloses_DataWakesItWithPollnval()
    {
        // A poll(POLLIN) sleeps on fd 3 from 100 ms; at 120 ms another thread closes fd 3 — the poll_table_entry's
        // get_file() keeps the socket, so no FIN. The server's 100 bytes reach the old socket at 160 ms: pollwake() wakes
        // the task and do_poll()'s pass runs do_pollfd() on the number: fdget() finds no file, so POLLNVAL and 1, not
        // the old socket's POLLIN. poll_freewait()'s fput() then drops the last reference: tcp_close() with the 100 bytes
        // unread resets the connection (TCPAbortOnClose). Linux 6.18.44: scenarios/
        // poll-asleep-on-closed-descriptor-woken-by-data-returns-pollnval.json. The engine gave POLLIN before.
        var h = new TwoHostHarness();
        var (c, s, _) = h.Establish();
        var poll = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Poll) { SocketId = c.Id, Events = PollEvents.POLLIN, TimeoutMs = 10_000 });
        h.At(Ms(120));
        var close = Close(h, c.Id);
        h.At(Ms(150));
        Assert.Equal((true, 0L, TcpState.Established), (poll.Blocked, close.Result, c.State));
        Assert.Empty(Flagged(h, TcpFlags.Fin));

        h.Send(s.Id, 100);
        h.At(Ms(200));

        var returned = h.Returned(poll.CallId)!;
        Assert.Equal((Ms(160), 1L, (string?)null, "\"POLLNVAL\""), (returned.At, returned.Result, returned.Errno, returned.Value));
        var rst = Assert.Single(Flagged(h, TcpFlags.Rst));
        Assert.Equal(Ms(160), rst.At);
        Assert.Equal((1L, TcpState.Close), (h.Client.Mib[MibCounter.TcpExtTCPAbortOnClose], h.StateOf(c)));
    }

    [Fact]
    public void Established_ShutdownThroughADup_FinAtOnceWhileBothDescriptorsAreOpen()
    {
        // shutdown() acts on the socket (inet_shutdown → tcp_shutdown), whatever the file's reference count.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Dup(h, c.Id);
        h.At(Ms(150));

        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Shutdown) { SocketId = c.Id, Fd = 4, How = ShutdownHow.SHUT_WR });

        Assert.Equal(Ms(150), Assert.Single(Flagged(h, TcpFlags.Fin)).At);
        Assert.Equal((TcpState.FinWait1, 2), (c.State, c.FileRefs));
    }

    [Fact]
    public void Established_LingerZeroAndADup_RstOnlyAtTheLastClose()
    {
        // SO_LINGER {1,0} is applied by tcp_close(), which only the last reference reaches.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        h.SetOption(c.Id, SocketOption.SO_LINGER, 0, lingerOnOff: 1);
        Dup(h, c.Id);
        h.At(Ms(150));

        Close(h, c.Id, fd: 4);
        h.At(Ms(200));
        int rstsAfterFirst = Flagged(h, TcpFlags.Rst).Count;
        Close(h, c.Id, fd: 3);

        Assert.Equal(0, rstsAfterFirst);
        Assert.Equal(Ms(200), Assert.Single(Flagged(h, TcpFlags.Rst)).At);
        Assert.Empty(Flagged(h, TcpFlags.Fin));
    }

    [Fact]
    public void Established_Dup2OntoAnotherConnectionsDescriptor_ClosesThatConnectionAtTheCall()
    {
        // do_dup2(): the file at newfd is replaced, then filp_close()d: its last reference → tcp_close() → FIN.
        var h = new TwoHostHarness();
        var (c1, _, _) = h.Establish();
        var c2Call = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(200));
        var c2 = h.Sim.FindSocket(c2Call.SocketId)!;

        var dup2 = Dup2(h, c1.Id, newFd: 4);
        h.At(Ms(201));

        Assert.Equal((4L, (SimProcess?)null), (dup2.Result, c2.Owner));
        var fin = Assert.Single(Flagged(h, TcpFlags.Fin));
        Assert.Equal((Ms(200), c2.Local.Port), (fin.At, fin.Tuple.Local.Port));
        Assert.Equal((TcpState.Established, 2), (c1.State, c1.FileRefs));
        Assert.Same(c1, h.Client.FindProcess("app")!.At(4));
    }

    /// <summary>
    /// The connection dup2() replaces has SO_LINGER {1,5} and its FIN is never acknowledged (the link is dead):
    /// tcp_close() runs sk_stream_wait_close() for it (expire jiffy 1300 from jiffy 50, run at 5.344 s) — here without
    /// holding up dup2() — and when that wait runs out __tcp_close() orphans the socket: inode gone, an orphan.
    /// </summary>
    [Fact]
    public void FinWait1_Dup2ReplacesALingeringConnection_OrphanedWhenTheWaitRunsOut()
    {
        var h = new TwoHostHarness();
        var (c1, _, _) = h.Establish();
        var c2Call = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
        h.At(Ms(200));
        var c2 = h.Sim.FindSocket(c2Call.SocketId)!;
        h.SetOption(c2.Id, SocketOption.SO_LINGER, 5, lingerOnOff: 1);
        h.Sim.ChangeLink("client", "server", oneDirection: false, null, 1.0, null);

        Dup2(h, c1.Id, newFd: 4);
        h.At(S(5.3));
        Assert.Equal((TcpState.FinWait1, false), (c2.State, c2.IsOrphan));

        h.At(S(5.344));
        Assert.Equal((TcpState.FinWait1, true, (SimProcess?)null), (c2.State, c2.IsOrphan, c2.Owner));
    }

    [Fact]
    public void Established_Dup2ToItsOwnDescriptor_ReturnsItAndChangesNothing()
    {
        // ksys_dup2(): oldfd == newfd returns newfd when oldfd is open; no reference is taken.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();

        var same = Dup2(h, c.Id, newFd: 3);
        var tooHigh = Dup2(h, c.Id, newFd: Simulation.NrOpen);

        Assert.Equal(3L, same.Result);
        Assert.Equal(Errno.EBADF, tooHigh.Errno);
        Assert.Equal(1, c.FileRefs);
    }

    [Fact]
    public void Close_DupAfterAClose_TakesTheLowestFreeDescriptor()
    {
        // alloc_fd(): the lowest free descriptor at or above next_fd, which close moved down.
        var h = new TwoHostHarness();
        var a = h.Call("client", SocketCallKind.Socket);
        var b = h.Call("client", SocketCallKind.Socket);
        Close(h, a.SocketId);

        var dup = Dup(h, b.SocketId);

        Assert.Equal((3L, 4L, 3L), (a.Result, b.Result, dup.Result));
    }

    [Fact]
    public void Established_KilledWithTwoDescriptors_OneFin()
    {
        // exit → close_files(): every descriptor is closed; the socket's last one sends the FIN, once.
        var h = new TwoHostHarness();
        var (c, _, _) = h.Establish();
        Dup(h, c.Id);
        h.At(Ms(150));

        Assert.Null(h.Sim.Kill("client", "app", "SIGKILL"));
        h.At(Ms(151));

        Assert.Equal(Ms(150), Assert.Single(Flagged(h, TcpFlags.Fin)).At);
        Assert.Equal((0, TcpState.FinWait1), (c.FileRefs, c.State));
    }
}
