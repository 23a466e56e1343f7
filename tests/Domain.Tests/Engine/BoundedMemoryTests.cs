using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>Measures the whole process's heap: runs alone, after the parallel tests.</summary>
[CollectionDefinition("heap", DisableParallelization = true)]
public sealed class HeapCollection;

/// <summary>
/// Memory is bounded by what is alive: a destroyed socket leaves at most a <see cref="SocketRecord"/>
/// (states/full) or nothing (counters).
/// </summary>
[Collection("heap")]
public class BoundedMemoryTests
{
    sealed class Churn
    {
        public readonly Simulation Sim;
        readonly int _listener;
        /// <summary>The connections completed (kept only when asked, so the list does not count as engine memory).</summary>
        public readonly List<(int Client, int Server)> Done = [];
        readonly bool _keep;

        public Churn(IJournalSink sink, bool keep = true)
        {
            _keep = keep;
            Sim = new Simulation(KernelProfile.Linux6, seed: 3) { Sink = sink };
            Apply(new AddHostCommand("client", "10.0.0.1", HostKind.Linux, [new("net.ipv4.tcp_tw_reuse", "1")]));
            Apply(new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []));
            Apply(new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0));
            _listener = Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 1024 }).SocketId;
        }

        /// <summary>n lifecycles of 10 ms each (request and response of 1 KB, client closes first), then idle until every TIME-WAIT expired.</summary>
        public void Run(int n)
        {
            for (int i = 0; i < n; i++)
            {
                var c = Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
                Sim.RunUntil(Sim.Now + SimDuration.FromMilliseconds(3));
                var a = Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = _listener });
                Call(new SocketCallRequest("client", "app", SocketCallKind.Send) { SocketId = c.SocketId, Bytes = 1024 });
                Sim.RunUntil(Sim.Now + SimDuration.FromMilliseconds(2));
                Call(new SocketCallRequest("server", "app", SocketCallKind.Recv) { SocketId = a.SocketId, Bytes = -1 });
                Call(new SocketCallRequest("server", "app", SocketCallKind.Send) { SocketId = a.SocketId, Bytes = 1024 });
                Sim.RunUntil(Sim.Now + SimDuration.FromMilliseconds(2));
                Call(new SocketCallRequest("client", "app", SocketCallKind.Recv) { SocketId = c.SocketId, Bytes = -1 });
                Call(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = c.SocketId });
                Sim.RunUntil(Sim.Now + SimDuration.FromMilliseconds(2));
                Call(new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = a.SocketId });
                Sim.RunUntil(Sim.Now + SimDuration.FromMilliseconds(1));
                if (_keep) Done.Add((c.SocketId, a.SocketId));
            }
            Sim.RunUntilIdle(Sim.Now + SimDuration.FromSeconds(300));
        }

        void Apply(SimCommand c) => Assert.True(CommandApplier.Apply(Sim, c).IsOk);

        CallHandle Call(SocketCallRequest r)
        {
            var o = CommandApplier.Apply(Sim, new SocketCallCommand(r));
            Assert.True(o.IsOk, o.Error?.Message);
            Assert.Null(o.Call!.Value.Errno);
            return o.Call!.Value;
        }
    }

    static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public void TimeWaitEntry_IsEightyBytes()
    {
        // What one TIME-WAIT costs in its table's pages (W2 adds the 4-tuple hash, the bind bucket's set and the
        // timer's queue item): 112 B before the 4-tuple, stamps, timer and flags were packed.
        Assert.Equal(80, System.Runtime.CompilerServices.Unsafe.SizeOf<TimeWaitEntry>());
    }

    [Fact]
    public void CountersWorkload_FourThousandMoreCompletedConnections_KeepAtMost32BytesEach()
    {
        // Connections made by a workload at level counters: no journal, no call table, no dead-socket record.
        var churn = new Churn(new CountersJournal(), keep: false);
        WorkloadSpec Spec(long n) => new()
        {
            Clients = ["client"], Server = "server", Port = 81, Rate = 100, Count = n, RequestBytes = 1024, ResponseBytes = 1024,
            Level = JournalLevel.Counters,
        };
        void Run(long n)
        {
            Assert.True(CommandApplier.Apply(churn.Sim, new WorkloadCommand(Spec(n))).Workload!.Completed);
            churn.Sim.RunUntilIdle(churn.Sim.Now + SimDuration.FromSeconds(300));
        }
        // 7,000 connections at 100/s: 70 s, over TCP_TIMEWAIT_LEN, so the TIME-WAIT table and the other
        // tables reach their working size first — what is alive is not what is measured.
        Run(7000);
        long before = Heap();
        Run(4000);
        long after = Heap();
        GC.KeepAlive(churn);
        Assert.Equal(11_000, churn.Sim.FindHost("server")!.Mib[MibCounter.TcpPassiveOpens]);
        Assert.Equal(1, churn.Sim.LiveSocketCount); // the listener of the Churn harness
        Assert.Equal(0, churn.Sim.DeadSocketCount);
        Assert.Equal(0, churn.Sim.FindHost("client")!.TimeWaitCount);
        long perConnection = (after - before) / 4000;
        Assert.True(perConnection <= 32, $"{perConnection} B kept per completed connection");
    }

    [Fact]
    public void States_CompletedConnections_EachSocketShrinksToItsFinalRecord()
    {
        var churn = new Churn(new StatesJournal());
        churn.Run(50);
        Assert.Equal(1, churn.Sim.LiveSocketCount);
        Assert.Equal(100, churn.Sim.DeadSocketCount);
        var (client, server) = churn.Done[^1];
        Assert.Null(churn.Sim.FindSocket(client));
        var c = churn.Sim.FindDeadSocket(client)!;
        var s = churn.Sim.FindDeadSocket(server)!;
        // The client went FIN-WAIT-2 → timewait socket; the server's last state was LAST-ACK.
        Assert.Equal((TcpState.FinWait2, TcpState.LastAck), (c.LastState, s.LastState));
        Assert.Equal((1024L, 1024L, 1024L, 1024L), (c.Ledger.Sent, c.Ledger.Delivered, s.Ledger.Sent, s.Ledger.Delivered));
        Assert.Equal(c.Local, s.Remote);
        Assert.True(c.DiedAt < s.DiedAt);
    }

    [Fact]
    public void Destroyed_SocketCall_ReturnsEbadfWithItsId()
    {
        var churn = new Churn(new StatesJournal());
        churn.Run(1);
        var (client, _) = churn.Done[0];
        var r = churn.Sim.Call(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = client });
        Assert.True(r.IsOk);
        Assert.Equal((client, Errno.EBADF), (r.Value.SocketId, r.Value.Errno));
        Assert.False(churn.Sim.Call(new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = client }).IsOk);
        // poll() through it reports POLLNVAL (do_pollfd()), counted: 1.
        var poll = churn.Sim.Call(new SocketCallRequest("client", "app", SocketCallKind.Poll) { SocketId = client, Events = PollEvents.POLLIN });
        Assert.Equal((client, 1L, (string?)null, "\"POLLNVAL\""), (poll.Value.SocketId, poll.Value.Result, poll.Value.Errno, poll.Value.Value));
    }
}
