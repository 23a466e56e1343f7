using System.Diagnostics;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Benchmarks;

/// <summary>
/// Connection churn on the engine: N orderly connections, the client closes first and the server 2 ms
/// later (client TIME-WAIT, reused by tcp_tw_reuse=1 once older than 1 s), 1 ms links, 10 ms each.
/// Usage: dotnet run -c Release --project tests/Benchmarks -- [connections] [full|states|counters]
/// </summary>
static class Churn
{
    public static int Run(string[] args)
    {
        int n = args.Length > 0 ? int.Parse(args[0]) : 200_000;
        var level = args.Length > 1 ? Enum.Parse<JournalLevel>(args[1], ignoreCase: true) : JournalLevel.Counters;

        var sim = new Simulation(KernelProfile.Linux6, seed: 1) { JournalLevel = level };
        Must(CommandApplier.Apply(sim, new AddHostCommand("client", "10.0.0.1", HostKind.Linux, [new("net.ipv4.tcp_tw_reuse", "1")])));
        Must(CommandApplier.Apply(sim, new AddHostCommand("server", "10.0.0.2", HostKind.Linux, [])));
        Must(CommandApplier.Apply(sim, new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0)));
        var listener = Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, Backlog = 4096 });

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            var c = Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(5));
            // Accept after the handshake: it returns the established child at once.
            var a = Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = listener.SocketId });
            if (a.Blocked || a.SocketId == listener.SocketId) throw new InvalidOperationException("accept did not return a child");
            Call(new SocketCallRequest("client", "app", SocketCallKind.Close) { SocketId = c.SocketId });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(2));
            Call(new SocketCallRequest("server", "app", SocketCallKind.Close) { SocketId = a.SocketId });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(3));
        }
        clock.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var client = sim.FindHost("client")!;
        Console.WriteLine($"connections={n} journal={level} wall={clock.ElapsedMilliseconds} ms rate={n / clock.Elapsed.TotalSeconds:F0}/s " +
            $"allocated/connection={allocated / n} B virtual={sim.Now} journalEvents={sim.Journal.Count} " +
            $"clientTimeWait={client.TimeWaitCount} TWRecycled={client.Mib[MibCounter.TcpExtTWRecycled]}");
        return 0;

        CallHandle Call(SocketCallRequest r)
        {
            var outcome = CommandApplier.Apply(sim, new SocketCallCommand(r));
            Must(outcome);
            return outcome.Call!.Value;
        }

        static void Must(CommandOutcome o)
        {
            if (!o.IsOk) throw new InvalidOperationException(o.Error!.Message);
        }
    }
}
