using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.CommandLog;

/// <summary>
/// A killed process's descriptors are closed one ____fput() at a time by exit_task_work() (highest descriptor first), and
/// each tcp_close() runs the NET_RX softirq its lo segments raised (loopback_xmit() → __netif_rx(), run at the
/// local_bh_enable() of __dev_queue_xmit()) before the next file is closed. Observed on Linux 6.18.44
/// (scenarios/observed-loopback-kill-process-holding-both-ends-and-listener.json, simservice kernel --diff, and a real
/// SIGKILL of a python process in a netns: OutRsts 3, EstabResets 5, TCPAbortOnClose 1).
/// </summary>
public class KillOnLoopbackTests
{
    /// <summary>
    /// One process holds a 127.0.0.1 listener (fd 3), a client c1 (fd 4) that sent 10 bytes, the accepted s1 (fd 5) that
    /// did not read them, and a client c2 (fd 6) whose child waits in the accept queue; another process's c3 waits there
    /// too. The kill closes c2 (its FIN reaches the child, which takes it: CLOSE-WAIT), then s1 (R. with its unread data,
    /// which resets c1 at once), then c1 (already CLOSE: nothing), then the listener, whose queued children are reset —
    /// the first at rcv_nxt 2, past c2's FIN. Closing every descriptor first and running lo after (the engine before
    /// this fix, and still a workload's kill and engine rules 0) sent c1's FIN, answered by a bare R from a port
    /// without a socket, and the child's R. at ack 1.
    /// </summary>
    [Theory]
    [InlineData(EngineRules.WokenAfterSoftirq)]
    [InlineData(EngineRules.SameInstant)]
    public void Kill_ProcessWithBothEndsOnLo_EachCloseHandlesItsSegmentsBeforeTheNext(int rules)
    {
        var (sim, h, names) = ProcessWithBothEnds(rules);

        var outcome = CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL"));

        Assert.True(outcome.IsOk);
        Assert.Equal(["c2>q2 F. 1 1", "s1>c1 R. 1 11", "q2>c2 R. 1 2", "q3>c3 R. 1 1"], SentAt(sim, Ms(100), names));
        Assert.Equal((3L, 5L, 1L, 0L), (h.Mib[MibCounter.TcpOutRsts], h.Mib[MibCounter.TcpEstabResets],
            h.Mib[MibCounter.TcpExtTCPAbortOnClose], h.Mib[MibCounter.TcpExtTCPAbortOnData]));
        sim.RunUntil(Ms(150));
        Assert.DoesNotContain(sim.Journal.OfType<SegmentSent>(), s => s.At > Ms(100));
        Assert.Empty(h.TimeWaitSockets);
    }

    /// <summary>
    /// Each close's instant runs within the request's budget, as a close() call's does: the story's four events are one
    /// at c2's close (its FIN taken by the child), one at s1's (its R. resets c1), none at c1's and two at the listener's
    /// (its children reset), so a budget of 2 runs them all — it was one budget across the closes, cut at 2, and a process
    /// holding thousands of lo sockets could not be killed within a request's (tester session 32, MEDIUM-3). A budget
    /// below one close's events says <see cref="CommandOutcome.InstantCut"/> (the command is not logged and the engine
    /// rebuilt, as for a call) — never more events than the budget per close.
    /// </summary>
    [Theory]
    [InlineData(1, 3, true)]
    [InlineData(2, 4, false)]
    [InlineData(3, 4, false)]
    [InlineData(4, 4, false)]
    [InlineData(5, 4, false)]
    public void Kill_WithASmallInstantBudget_RunsAtMostTheBudgetAndSaysItWasCut(long budget, long ran, bool cut)
    {
        var (sim, _, _) = ProcessWithBothEnds(EngineRules.WokenAfterSoftirq);
        long before = sim.EventsProcessed;

        var outcome = CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL"), budget);

        Assert.True(outcome.IsOk);
        Assert.Equal((ran, cut), (sim.EventsProcessed - before, outcome.InstantCut));
    }

    /// <summary>Under engine rules 0 a kill leaves its instant to the next advance, as before: every descriptor closes first.</summary>
    [Fact]
    public void Kill_UnderOriginalRules_ClosesEveryDescriptorBeforeLoRuns()
    {
        var (sim, h, names) = ProcessWithBothEnds(EngineRules.Original);

        CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL"));
        sim.RunUntil(Ms(100));

        Assert.Equal(["c2>q2 F. 1 1", "s1>c1 R. 1 11", "c1>s1 F. 11 1", "q2>c2 R. 1 1", "q3>c3 R. 1 1", "q2>c2 R 1 0", "s1>c1 R 1 0"],
            SentAt(sim, Ms(100), names));
        Assert.Equal((5L, 4L), (h.Mib[MibCounter.TcpOutRsts], h.Mib[MibCounter.TcpEstabResets]));
    }

    /// <summary>
    /// A thread asleep in recv() on c1 holds its file after another thread closed the descriptor (the close sent nothing).
    /// The kill wakes it: its fdput() drops the last reference and get_signal() → task_work_run() runs c1's tcp_close(),
    /// whose FIN reaches s1 inside it, before do_exit() closes s1 (then the listener): s1 closes from CLOSE-WAIT, its F.
    /// carries the ACK of c1's FIN, and c1 is left in TIME-WAIT — one TIME-WAIT, no RST. Observed on Linux 6.18.44
    /// (scenarios/observed-loopback-kill-interrupts-recv-on-closed-descriptor.json, python threads with poll() too).
    /// Closing c1 at the interruption without running its instant (the engine before this fix) made it a simultaneous
    /// close: both FINs crossing, two TIME-WAITs.
    /// </summary>
    [Fact]
    public void Kill_RecvAsleepOnADescriptorAnotherThreadClosed_ItsCloseRunsItsSoftirqBeforeTheDescriptors()
    {
        var (sim, h, recv, names) = AsleepOnClient(EngineRules.AcceptHoldsItsFd, SocketCallKind.Recv);

        var outcome = CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL"));

        Assert.True(outcome.IsOk);
        Assert.Equal(["c1>s1 F. 1 1", "s1>c1 F. 1 2", "c1>s1 . 2 2"], SentAt(sim, Ms(100), names));
        var returned = sim.Journal.OfType<CallReturned>().Single(e => e.CallId == recv.CallId);
        Assert.Equal((Ms(100), "EINTR"), (returned.At, returned.Errno));
        sim.RunUntil(Ms(150));
        Assert.Equal([(ushort)names.First(n => n.Value.Name == "c1").Key.Item1], h.TimeWaitSockets.Select(tw => tw.Local.Port));
        Assert.Equal((0L, 0L, 6L), (h.Mib[MibCounter.TcpOutRsts], h.Mib[MibCounter.TcpEstabResets], h.Mib[MibCounter.TcpOutSegs]));
    }

    /// <summary>Under engine rules 0 the interrupted call's close and the descriptors' all run before lo: a simultaneous close.</summary>
    [Fact]
    public void Kill_RecvAsleepOnAClosedDescriptorUnderOriginalRules_BothFinsCross()
    {
        var (sim, h, _, names) = AsleepOnClient(EngineRules.Original, SocketCallKind.Recv);

        CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL"));
        sim.RunUntil(Ms(150));

        Assert.Equal(["c1>s1 F. 1 1", "s1>c1 F. 1 1", "s1>c1 . 2 2", "c1>s1 . 2 2"], SentAt(sim, Ms(100), names));
        Assert.Equal(2, h.TimeWaitSockets.Count());
    }

    /// <summary>
    /// Simulations stored under rules 1 and 2 rebuild as they ran: the interrupted call's close at the interruption, before
    /// the descriptors' and without its instant — the FINs cross (the order rules 3 corrected).
    /// </summary>
    [Theory]
    [InlineData(EngineRules.WokenAfterSoftirq)]
    [InlineData(EngineRules.SameInstant)]
    public void Kill_RecvAsleepOnAClosedDescriptorUnderStoredRules_KeepsTheirCrossingFins(int rules)
    {
        var (sim, h, _, names) = AsleepOnClient(rules, SocketCallKind.Recv);

        CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL"));
        sim.RunUntil(Ms(150));

        Assert.Equal(["c1>s1 F. 1 1", "s1>c1 F. 1 1", "c1>s1 . 2 2", "s1>c1 . 2 2"], SentAt(sim, Ms(100), names));
        Assert.Equal(2, h.TimeWaitSockets.Count());
    }

    /// <summary>
    /// A thread asleep in poll(c1, POLLIN|POLLRDHUP, 10 s) after another thread closed c1's descriptor: the kill wakes it,
    /// and do_poll() scans the pollfd again before it tests signal_pending() — do_pollfd()'s fdget() of the closed
    /// descriptor finds no file, so revents is POLLNVAL and poll() returns 1, not EINTR (fuzz app 32202-9, docs/kernel-check.md
    /// D95; python threads on Linux 6.18.44: 1 with POLLNVAL at a SIGUSR1 with a handler). The close of c1 and what follows
    /// are the interrupted recv()'s. Not versioned: the return of a call, not how a command meets the engine, so stored
    /// rules-1 and rules-2 simulations rebuild with it too. The engine before this fix returned EINTR.
    /// </summary>
    [Theory]
    [InlineData(EngineRules.AcceptHoldsItsFd)]
    [InlineData(EngineRules.WokenAfterSoftirq)]
    [InlineData(EngineRules.SameInstant)]
    public void Kill_PollAsleepOnADescriptorAnotherThreadClosed_ReturnsOneWithPollnval(int rules)
    {
        var (sim, h, poll, names) = AsleepOnClient(rules, SocketCallKind.Poll);

        Assert.True(CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL")).IsOk);

        var returned = sim.Journal.OfType<CallReturned>().Single(e => e.CallId == poll.CallId);
        Assert.Equal((Ms(100), 1L, (string?)null, "\"POLLNVAL\""), (returned.At, returned.Result, returned.Errno, returned.Value));
        if (rules != EngineRules.AcceptHoldsItsFd) return;
        Assert.Equal(["c1>s1 F. 1 1", "s1>c1 F. 1 2", "c1>s1 . 2 2"], SentAt(sim, Ms(100), names));
        sim.RunUntil(Ms(150));
        Assert.Equal((0L, 0L, 6L, 1), (h.Mib[MibCounter.TcpOutRsts], h.Mib[MibCounter.TcpEstabResets], h.Mib[MibCounter.TcpOutSegs], h.TimeWaitSockets.Count()));
    }

    /// <summary>
    /// The same poll() with c1's descriptor still open: the pass finds nothing (no data, no FIN), so signal_pending()
    /// decides — EINTR (-ERESTARTNOHAND, a handler's signal or a fatal one). Python threads on Linux 6.18.44: -1 EINTR.
    /// </summary>
    [Fact]
    public void Kill_PollAsleepOnAnOpenDescriptor_ReturnsEintr()
    {
        var (sim, _, poll, _) = AsleepOnClient(EngineRules.AcceptHoldsItsFd, SocketCallKind.Poll, close: false);

        Assert.True(CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL")).IsOk);

        var returned = sim.Journal.OfType<CallReturned>().Single(e => e.CallId == poll.CallId);
        Assert.Equal((Ms(100), -1L, "EINTR", (string?)null), (returned.At, returned.Result, returned.Errno, returned.Value));
    }

    /// <summary>
    /// The closed descriptor taken again by a socket() of another thread: do_pollfd() fdget()s the number, not the file the
    /// poll slept on, so the last pass polls the new socket — CLOSE, so POLLHUP (tcp_poll(), always reported) — and
    /// poll() returns 1 with POLLHUP. Python threads on Linux 6.18.44: 1, revents 0x10.
    /// </summary>
    [Fact]
    public void Kill_PollAsleepOnADescriptorClosedAndTakenBySocket_PollsTheNewSocket()
    {
        var (sim, h, poll, _) = AsleepOnClient(EngineRules.AcceptHoldsItsFd, SocketCallKind.Poll, reopen: true);

        Assert.True(CommandApplier.Apply(sim, new KillCommand("h", "app", "SIGKILL")).IsOk);

        var returned = sim.Journal.OfType<CallReturned>().Single(e => e.CallId == poll.CallId);
        Assert.Equal((Ms(100), 1L, (string?)null, "\"POLLHUP\""), (returned.At, returned.Result, returned.Errno, returned.Value));
        sim.RunUntil(Ms(150));
        Assert.Equal((0L, 6L, 1), (h.Mib[MibCounter.TcpOutRsts], h.Mib[MibCounter.TcpOutSegs], h.TimeWaitSockets.Count()));
    }

    /// <summary>
    /// A 127.0.0.1 listener, a client c1 and its accepted end s1 in one process; at 10 ms a recv() (or a poll() for
    /// POLLIN|POLLRDHUP, 10 s) sleeps on c1, at 20 ms c1's descriptor is closed (the sleeper keeps the file) unless
    /// <paramref name="close"/> is false, and with <paramref name="reopen"/> a socket() at 30 ms takes its number again;
    /// the clock at 100 ms. The names as <see cref="ProcessWithBothEnds"/>'s.
    /// </summary>
    static (Simulation Sim, Host H, CallHandle Sleeper, Dictionary<(ushort, ushort), (string Name, uint Iss)> Names) AsleepOnClient(
        int rules, SocketCallKind sleeper, bool close = true, bool reopen = false)
    {
        var sim = new Simulation(KernelProfile.Linux6, 1) { EngineRules = rules };
        var h = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        CallHandle Call(SocketCallRequest r)
        {
            var result = CommandApplier.Apply(sim, new SocketCallCommand(r));
            Assert.True(result.IsOk, result.Error?.Message);
            return result.Call!.Value;
        }

        var l = Call(new SocketCallRequest("h", "app", SocketCallKind.Listen) { Port = 8080, Address = "127.0.0.1" });
        sim.RunUntil(Ms(1));
        var c1 = Call(new SocketCallRequest("h", "app", SocketCallKind.Connect) { ToHost = "127.0.0.1", ToPort = 8080 });
        var a1 = Call(new SocketCallRequest("h", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        sim.RunUntil(Ms(10));
        var asleep = Call(sleeper == SocketCallKind.Poll
            ? new SocketCallRequest("h", "app", sleeper) { SocketId = c1.SocketId, Events = PollEvents.POLLIN | PollEvents.POLLRDHUP, TimeoutMs = 10_000 }
            : new SocketCallRequest("h", "app", sleeper) { SocketId = c1.SocketId, Bytes = 100 });
        Assert.True(asleep.Blocked);
        sim.RunUntil(Ms(20));
        if (close) Assert.Equal(0, Call(new SocketCallRequest("h", "app", SocketCallKind.Close) { SocketId = c1.SocketId }).Result);
        sim.RunUntil(Ms(30));
        if (reopen) Assert.Equal(4, Call(new SocketCallRequest("h", "app", SocketCallKind.Socket)).Result);
        sim.RunUntil(Ms(100));

        var sk = sim.FindSocket(c1.SocketId)!;
        var s1 = sim.FindSocket(sim.Journal.OfType<CallReturned>().Single(e => e.CallId == a1.CallId).SocketId)!;
        var names = new Dictionary<(ushort, ushort), (string, uint)>
        {
            [(sk.Local.Port, 8080)] = ("c1", sk.Iss),
            [(8080, sk.Local.Port)] = ("s1", s1.Iss),
        };
        return (sim, h, asleep, names);
    }

    /// <summary>
    /// The story up to the kill at 100 ms, and each socket's name by its port pair (a child by its client's port), with
    /// its initial sequence number.
    /// </summary>
    static (Simulation Sim, Host H, Dictionary<(ushort, ushort), (string Name, uint Iss)> Names) ProcessWithBothEnds(int rules)
    {
        var sim = new Simulation(KernelProfile.Linux6, 1) { EngineRules = rules };
        var h = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        CallHandle Call(SocketCallRequest r)
        {
            var result = sim.Call(r);
            Assert.True(result.IsOk, result.Error?.Message);
            return result.Value;
        }
        SocketCallRequest Connect(string process) => new("h", process, SocketCallKind.Connect) { ToHost = "127.0.0.1", ToPort = 8080 };

        var l = Call(new SocketCallRequest("h", "app", SocketCallKind.Listen) { Port = 8080, Address = "127.0.0.1" });
        sim.RunUntil(Ms(1));
        var c1 = Call(Connect("app"));
        var a1 = Call(new SocketCallRequest("h", "app", SocketCallKind.Accept) { SocketId = l.SocketId });
        sim.RunUntil(Ms(2));
        var c2 = Call(Connect("app"));
        sim.RunUntil(Ms(3));
        var c3 = Call(Connect("other"));
        sim.RunUntil(Ms(10));
        Call(new SocketCallRequest("h", "app", SocketCallKind.Send) { SocketId = c1.SocketId, Bytes = 10 });
        sim.RunUntil(Ms(100));

        var s1 = sim.FindSocket(sim.Journal.OfType<CallReturned>().Single(e => e.CallId == a1.CallId).SocketId)!;
        var names = new Dictionary<(ushort, ushort), (string, uint)>();
        foreach (var (client, name, child) in new[] { (c1, "c1", "s1"), (c2, "c2", "q2"), (c3, "c3", "q3") })
        {
            var sk = sim.FindSocket(client.SocketId)!;
            var peer = child == "s1" ? s1 : h.AllSockets.Single(x => x.Local.Port == 8080 && x.Remote.Port == sk.Local.Port);
            names[(sk.Local.Port, 8080)] = (name, sk.Iss);
            names[(8080, sk.Local.Port)] = (child, peer.Iss);
        }
        return (sim, h, names);
    }

    /// <summary>The segments sent at <paramref name="at"/> as "from>to flags seq ack", relative to each end's ISN.</summary>
    static string[] SentAt(Simulation sim, SimTime at, Dictionary<(ushort, ushort), (string Name, uint Iss)> names) =>
        [.. sim.Journal.OfType<SegmentSent>().Where(s => s.At == at).Select(s =>
        {
            var (from, iss) = names[(s.Tuple.Local.Port, s.Tuple.Remote.Port)];
            var (to, peerIss) = names[(s.Tuple.Remote.Port, s.Tuple.Local.Port)];
            return $"{from}>{to} {s.Flags.ToLetters()} {s.SeqNo - iss} {(s.AckNo == 0 ? 0 : s.AckNo - peerIss)}";
        })];
}
