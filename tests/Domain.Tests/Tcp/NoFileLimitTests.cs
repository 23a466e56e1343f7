using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// RLIMIT_NOFILE: alloc_fd() (fs/file.c) refuses the lowest free descriptor at or above the soft limit with EMFILE;
/// __sys_accept4_file() (net/socket.c) takes its descriptor before do_accept(); ksys_dup3() refuses a newfd at or above
/// it with EBADF; do_prlimit() (kernel/sys.c) checks cur ≤ max ≤ fs.nr_open. Client 10.0.0.1, server 10.0.0.2, 10 ms
/// apart; 0–2 are the standard streams, so a process's first socket is fd 3 and a limit of N leaves N − 3 sockets.
/// </summary>
public class NoFileLimitTests
{
    static CallHandle SetNoFile(TwoHostHarness h, string host, long cur, long max) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Setrlimit) { RlimCur = cur, RlimMax = max });

    static CallHandle Close(TwoHostHarness h, string host, int socket, int? fd = null) =>
        h.Call(new SocketCallRequest(host, "app", SocketCallKind.Close) { SocketId = socket, Fd = fd });

    static CallHandle Accept(TwoHostHarness h, int listener) => h.Call("server", SocketCallKind.Accept, listener);

    static CallHandle Connect(TwoHostHarness h) =>
        h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });

    static CallHandle Listen(TwoHostHarness h) => h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80 });

    [Fact]
    public void Socket_TheLimitThDescriptor_EmfileAndNoSocketMade()
    {
        // alloc_fd(): fds 3–7 fit under a limit of 8; the sixth socket() would be fd 8 ≥ 8 → EMFILE, and
        // __sys_socket() releases the socket it made, so no socket id is used. A close() frees fd 5 for the next one.
        var h = new TwoHostHarness();
        var set = SetNoFile(h, "client", 8, 8);
        var fds = Enumerable.Range(0, 5).Select(_ => h.Call("client", SocketCallKind.Socket)).ToList();
        int live = h.Sim.LiveSocketCount;

        var refused = h.Call("client", SocketCallKind.Socket);
        Close(h, "client", fds[2].SocketId);
        var reopened = h.Call("client", SocketCallKind.Socket);

        Assert.Equal((0L, null), (set.Result, set.Errno));
        Assert.Equal([3L, 4, 5, 6, 7], fds.Select(f => f.Result));
        Assert.Equal((-1L, Errno.EMFILE, 0, false), (refused.Result, refused.Errno, refused.SocketId, refused.Blocked));
        Assert.Equal(5, live);
        Assert.Equal(5L, reopened.Result);
        var journal = h.Returned(refused.CallId)!;
        Assert.Equal((SocketCallKind.Socket, Errno.EMFILE), (journal.Call, journal.Errno));
    }

    [Fact]
    public void Accept_TableFull_EmfileAtOnceAndTheConnectionStaysQueuedUntilAClose()
    {
        // __sys_accept4_file(): get_unused_fd_flags() fails before do_accept(), so the child stays in the accept queue
        // (the client is ESTABLISHED all along); after close(4) the next accept() returns it at fd 4.
        var h = new TwoHostHarness();
        SetNoFile(h, "server", 5, 5);
        var l = Listen(h);
        var spare = h.Call("server", SocketCallKind.Socket);
        var c = Connect(h);
        h.At(Ms(100));
        var listener = h.Sim.FindSocket(l.SocketId)!;

        var refused = Accept(h, l.SocketId);
        var queued = listener.AcceptQueueCount;
        h.At(Ms(200));
        Close(h, "server", spare.SocketId);
        var accepted = Accept(h, l.SocketId);

        Assert.Equal((3, 4L), (listener.Fd, spare.Result));
        Assert.Equal((-1L, Errno.EMFILE, false), (refused.Result, refused.Errno, refused.Blocked));
        Assert.Equal(1, queued);
        Assert.Equal(TcpState.Established, h.Sim.FindSocket(c.SocketId)!.State);
        Assert.Equal((4L, null, false), (accepted.Result, accepted.Errno, accepted.Blocked));
        var child = h.Sim.FindSocket(accepted.SocketId)!;
        Assert.Equal((TcpState.Established, 4), (child.State, child.Fd));
        Assert.Equal(0, listener.AcceptQueueCount);
    }

    [Fact]
    public void Accept_EmptyQueueTableFull_EmfileWithoutSleeping()
    {
        // get_unused_fd_flags() comes before inet_csk_wait_for_connect(): a blocking accept() on an empty queue returns
        // EMFILE at once rather than sleeping (checked on 6.18: 0.0 s).
        var h = new TwoHostHarness();
        SetNoFile(h, "server", 4, 4);
        var l = Listen(h);

        var refused = Accept(h, l.SocketId);

        Assert.Equal((false, Errno.EMFILE), (refused.Blocked, refused.Errno));
        Assert.Empty(h.Sim.PendingCalls);
    }

    [Fact]
    public void Accept_Sleeping_HoldsItsDescriptor()
    {
        // A sleeping accept() already owns fd 4 (open, no file): socket() takes 5, dup2() onto 4 is EBUSY (do_dup2()),
        // the limit of 6 is reached, and the connection arriving later is installed at fd 4.
        var h = new TwoHostHarness();
        SetNoFile(h, "server", 6, 6);
        var l = Listen(h);
        var sleeping = Accept(h, l.SocketId);

        var other = h.Call("server", SocketCallKind.Socket);
        var busy = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Dup2) { SocketId = other.SocketId, NewFd = 4 });
        var full = h.Call("server", SocketCallKind.Socket);
        Connect(h);
        h.At(Ms(100));

        Assert.True(sleeping.Blocked);
        Assert.Equal(5L, other.Result);
        Assert.Equal(Errno.EBUSY, busy.Errno);
        Assert.Equal(Errno.EMFILE, full.Errno);
        var returned = h.Returned(sleeping.CallId)!;
        Assert.Equal((4L, null, Ms(30)), (returned.Result, returned.Errno, returned.At));
        Assert.Equal(4, h.Sim.FindSocket(returned.SocketId)!.Fd);
    }

    /// <summary>
    /// Without a limit of its own: under engine rules 3 the sleeping accept() holds fd 4 as in every kernel process
    /// (get_unused_fd_flags() before do_accept(); observed on 6.18.44: the other thread's socket() got 5, dup2() onto 4
    /// EBUSY), so the connection is installed at 4; a simulation made under rules 2 or older replays as recorded — the
    /// number free again while it sleeps, socket() takes 4, dup2() onto 4 replaces it, the connection comes at 5.
    /// </summary>
    [Theory]
    [InlineData(EngineRules.AcceptHoldsItsFd, 5L, null, 4L)]
    [InlineData(EngineRules.WokenAfterSoftirq, 4L, 4L, 5L)]
    [InlineData(EngineRules.Original, 4L, 4L, 5L)]
    public void Accept_SleepingWithoutALimit_HoldsItsDescriptorUnderRules3Only(int rules, long socketFd, long? dup2Result, long acceptedFd)
    {
        var h = new TwoHostHarness();
        h.Sim.EngineRules = rules;
        var l = Listen(h);
        var sleeping = Accept(h, l.SocketId);

        var other = h.Call("server", SocketCallKind.Socket);
        var dup = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Dup2) { SocketId = other.SocketId, NewFd = 4 });
        Connect(h);
        h.At(Ms(100));

        Assert.True(sleeping.Blocked);
        Assert.Equal(socketFd, other.Result);
        Assert.Equal(dup2Result, dup.Errno is null ? dup.Result : null);
        Assert.Equal(dup2Result is null ? Errno.EBUSY : null, dup.Errno);
        var returned = h.Returned(sleeping.CallId)!;
        Assert.Equal((acceptedFd, null, Ms(30)), (returned.Result, returned.Errno, returned.At));
    }

    [Fact]
    public void Dup2_OntoAStandardStream_ReplacesItAndItsCloseFreesTheNumber()
    {
        // do_dup2(): 0–2 hold the standard streams' files, so dup2() closes and replaces them (the inetd/CGI pattern),
        // never EBUSY. Once close(1) frees fd 1, socket() takes it, and an accept() asleep (it holds its descriptor under a limit)
        // after a second close(1) holds it: dup2() onto 1 is EBUSY then, onto 2 and 0 not, and the connection arrives at
        // fd 1. Checked on 6.18.44 (python in a netns: dup2(s, 1) = 1, socket() = 1 after close(1), EBUSY while accept()
        // sleeps, dup2(s, 2) = 2, dup2(s, 0) = 0, accept() returned fd 1).
        var h = new TwoHostHarness();
        SetNoFile(h, "server", 16, 16);
        var l = Listen(h);
        var s = h.Call("server", SocketCallKind.Socket);
        CallHandle Dup2(int newFd) => h.Call(new SocketCallRequest("server", "app", SocketCallKind.Dup2) { SocketId = s.SocketId, NewFd = newFd });

        var stdout = Dup2(1);
        Close(h, "server", s.SocketId, fd: 1);
        var reused = h.Call("server", SocketCallKind.Socket);
        Close(h, "server", reused.SocketId);
        var sleeping = Accept(h, l.SocketId);
        var busy = Dup2(1);
        var stderr = Dup2(2);
        var stdin = Dup2(0);
        Connect(h);
        h.At(Ms(100));

        Assert.Equal((3, 4L), (h.Sim.FindSocket(l.SocketId)!.Fd, s.Result));
        Assert.Equal((1L, null), (stdout.Result, stdout.Errno));
        Assert.Equal(1L, reused.Result);
        Assert.True(sleeping.Blocked);
        Assert.Equal(Errno.EBUSY, busy.Errno);
        Assert.Equal((2L, 0L), (stderr.Result, stdin.Result));
        Assert.Equal(3, h.Sim.FindSocket(s.SocketId)!.FileRefs);
        Assert.Equal(1L, h.Returned(sleeping.CallId)!.Result);
    }

    [Fact]
    public void Close_ThroughDescriptor0WhileTheOwnIsOpen_FreesOnly0AndSocketTakesIt()
    {
        // close_fd() (fs/file.c) frees the descriptor it is given: after dup2(4, 0), close(0) drops one of the file's two
        // references (no FIN), fd 4 stays, socket() takes 0 (alloc_fd(): the lowest free) and send() through fd 4 returns 10.
        // Checked on 6.18.44 (scenarios/close-socket-at-fd0-while-own-fd-open.json on simservice kernel). The engine read a
        // descriptor of 0 as "the socket's own" until session 32: it closed fd 4, socket() got 4 and the send was EBADF.
        var (h, accepted, stdin, closed, opened, sent) = CloseFd0Run(EngineRules.Current);

        Assert.Equal((0L, 0L, 0L), (stdin.Result, closed.Result, opened.Result));
        Assert.Equal((10L, null), (sent.Result, sent.Errno));
        Assert.Equal((4, 1, TcpState.Established), (accepted.Fd, accepted.FileRefs, accepted.State));
        Assert.DoesNotContain(h.Sent("server"), s => s.Flags.HasFlag(TcpFlags.Fin));
    }

    [Fact]
    public void Close_StoredFd0UnderRules2_StillTheSocketsOwn()
    {
        // A log stored before rules 3 wrote "fd": 0 for "no descriptor given" (no socket could sit at 0 then): rebuilt
        // under its rules, 0 keeps that meaning — the close takes fd 4, socket() gets 4 and the send is EBADF, as recorded.
        var (_, accepted, stdin, closed, opened, sent) = CloseFd0Run(EngineRules.WokenAfterSoftirq);

        Assert.Equal((0L, 0L, 4L), (stdin.Result, closed.Result, opened.Result));
        Assert.Equal(Errno.EBADF, sent.Errno);
        Assert.Equal((0, 1), (accepted.Fd, accepted.FileRefs));
    }

    static (TwoHostHarness H, TcpSocket Accepted, CallHandle Stdin, CallHandle Closed, CallHandle Opened, CallHandle Sent) CloseFd0Run(int rules)
    {
        var h = new TwoHostHarness();
        h.Sim.EngineRules = rules;
        var (_, accepted, _) = h.Establish();
        var stdin = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Dup2) { SocketId = accepted.Id, NewFd = 0 });
        var closed = Close(h, "server", accepted.Id, fd: 0);
        var opened = h.Call("server", SocketCallKind.Socket);
        var sent = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Send) { SocketId = accepted.Id, Bytes = 10, Fd = 4 });
        h.At(Ms(200));
        return (h, accepted, stdin, closed, opened, sent);
    }

    [Fact]
    public void Accept_NonBlockingEagain_FreesTheDescriptorItTook()
    {
        // put_unused_fd(): the EAGAIN of an O_NONBLOCK accept() gives fd 4 back, so socket() gets it.
        var h = new TwoHostHarness();
        var l = Listen(h);
        h.Call(new SocketCallRequest("server", "app", SocketCallKind.Fcntl) { SocketId = l.SocketId, NonBlock = true });

        var again = Accept(h, l.SocketId);
        var next = h.Call("server", SocketCallKind.Socket);

        Assert.Equal(Errno.EAGAIN, again.Errno);
        Assert.Equal(4L, next.Result);
    }

    [Fact]
    public void Dup_AtTheLimit_DupEmfileDup2Ebadf()
    {
        // dup(): alloc_fd() → EMFILE at the limit. ksys_dup3(): newfd ≥ rlimit(RLIMIT_NOFILE) → EBADF (even on a free
        // descriptor), one below it is fine; sys_dup2() with oldfd == newfd returns before the limit test.
        var h = new TwoHostHarness();
        var s = h.Call("client", SocketCallKind.Socket);
        var high = h.Call(new SocketCallRequest("client", "app", SocketCallKind.Dup2) { SocketId = s.SocketId, NewFd = 40 });
        SetNoFile(h, "client", 5, 5);
        CallHandle Dup2(int newFd, int? fd = null) =>
            h.Call(new SocketCallRequest("client", "app", SocketCallKind.Dup2) { SocketId = s.SocketId, Fd = fd, NewFd = newFd });

        var below = Dup2(4);
        var dup = h.Call("client", SocketCallKind.Dup, s.SocketId);
        var atLimit = Dup2(5);
        var onItself = Dup2(40, fd: 40);

        Assert.Equal(40L, high.Result);
        Assert.Equal(4L, below.Result);
        Assert.Equal(Errno.EMFILE, dup.Errno);
        Assert.Equal(Errno.EBADF, atLimit.Errno);
        Assert.Equal(40L, onItself.Result);
        Assert.Equal(3, h.Sim.FindSocket(s.SocketId)!.FileRefs);
    }

    [Fact]
    public void Setrlimit_BelowOpenDescriptors_ClosesNothingAndRefusesNewOnes()
    {
        // do_prlimit() only stores the limit: fds 3–6 stay open and usable, a new socket() is EMFILE, and closing fd 3
        // lets the next one in at 3 (the lowest free, below the limit of 4).
        var h = new TwoHostHarness();
        var open = Enumerable.Range(0, 4).Select(_ => h.Call("client", SocketCallKind.Socket)).ToList();

        var lowered = SetNoFile(h, "client", 4, 4);
        var option = h.GetOption(open[3].SocketId, SocketOption.SO_REUSEADDR);
        var refused = h.Call("client", SocketCallKind.Socket);
        Close(h, "client", open[0].SocketId);
        var reopened = h.Call("client", SocketCallKind.Socket);

        Assert.Equal(0L, lowered.Result);
        Assert.Equal((0L, null), (option.Result, option.Errno));
        Assert.Equal(Errno.EMFILE, refused.Errno);
        Assert.Equal(3L, reopened.Result);
        Assert.Equal(4, h.Client.FindProcess("app")!.OpenCount);
    }

    [Fact]
    public void Setrlimit_BadLimits_EinvalOrEpermAndTheLimitStays()
    {
        // do_prlimit(): rlim_cur > rlim_max → EINVAL; RLIMIT_NOFILE's rlim_max > fs.nr_open → EPERM; raising rlim_max
        // (CAP_SYS_RESOURCE: a simulated process runs as root) up to fs.nr_open is allowed.
        var h = new TwoHostHarness();
        SetNoFile(h, "client", 16, 16);

        var softAboveHard = SetNoFile(h, "client", 17, 16);
        var pastNrOpen = SetNoFile(h, "client", 16, Simulation.NrOpen + 1L);
        var process = h.Client.FindProcess("app")!;
        var kept = (process.NoFileCur, process.NoFileMax);
        var raised = SetNoFile(h, "client", 1024, Simulation.NrOpen);

        Assert.Equal(Errno.EINVAL, softAboveHard.Errno);
        Assert.Equal(Errno.EPERM, pastNrOpen.Errno);
        Assert.Equal((16, 16), kept);
        Assert.Equal(0L, raised.Result);
        Assert.Equal((1024, Simulation.NrOpen), (process.NoFileCur, process.NoFileMax));
    }

    [Fact]
    public void Kill_RestartedProcess_StartsWithTheDefaultLimit()
    {
        // The limit lives in the process (signal->rlim); the process a later call starts after a kill is a new one, with
        // fs.nr_open as every process that never called setrlimit().
        var h = new TwoHostHarness();
        SetNoFile(h, "client", 4, 4);
        h.Call("client", SocketCallKind.Socket);
        Assert.Null(h.Sim.Kill("client", "app", "SIGKILL"));

        var first = h.Call("client", SocketCallKind.Socket);
        var second = h.Call("client", SocketCallKind.Socket);

        Assert.Equal((3L, 4L), (first.Result, second.Result));
        Assert.Equal(Simulation.NrOpen, h.Client.FindProcess("app")!.NoFileCur);
    }
}
