using System.Globalization;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Benchmarks;

/// <summary>W1 (churn through the workload command, with the kernel side by side) and W2 (bytes per TIME-WAIT).</summary>
static class Workloads
{
    static string F(double v) => v.ToString("F0", CultureInfo.InvariantCulture);
    static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>
    /// W1: 32 client hosts (tcp_tw_reuse=1) → 1 server, 5,000 new connections per virtual second, 1 KB
    /// request and response, the client closes first, level counters: <paramref name="connections"/> lifecycles.
    /// </summary>
    public static string W1(long connections, bool kernel)
    {
        // SIMBENCH_WARMUP=0: the timed run starts cold (as before session 17). Otherwise untimed churns of 70,000
        // lifecycles at 1,000/s first — 70 virtual seconds, so that TIME-WAIT expiry and reuse run too — until the JIT
        // has settled (Measure.WarmUp), and the heap is collected: the timed run measures the engine's steady state, not the
        // tiering of its first seconds (tier-0 and PGO-instrumented code and the JIT were ≈ 20 % of a cold
        // 400,000-lifecycle run's CPU samples, scale session 17).
        string warm = "warmup=none";
        if (Environment.GetEnvironmentVariable("SIMBENCH_WARMUP") != "0")
        {
            var w = new Measure();
            string rounds = Measure.WarmUp(() =>
            {
                var (warmSim, warmClients) = W1World();
                W1Workload(warmSim, warmClients, 70_000, rate: 1000);
            });
            warm = $"warmup=70000 warmup_cpu_s={F2(w.CpuSeconds)} warmup_methods_by_round={rounds}";
            Measure.CollectAll();
        }
        var (sim, clients) = W1World();
        var m = new Measure();
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        AllocationSampler.Current?.Reset(); // SIMBENCH_ALLOC=1: the timed run's allocations alone, per lifecycle below
        var runtime = new RuntimeMeter();
        var outcome = W1Workload(sim, clients, connections, rate: 5000);
        double wall = m.WallSeconds, cpu = m.CpuSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        var rt = runtime.Stop();
        string gcs = $"gc0={rt.Gc0} gc1={rt.Gc1} gc2={rt.Gc2} gc_pause_s={F2(rt.GcPauseMs / 1000)} jit_ms={F(rt.JitMs)} jit_methods={rt.JitMethods} {warm}";
        var r = outcome.Workload ?? throw new InvalidOperationException(outcome.Error!.Message);
        AllocationSampler.Current?.PrintPer(allocated, r.Finished, "lifecycle");
        double rate = r.Finished / wall;
        string kernelPart = "kernel_lifecycles_per_s=na ratio=na kernel_lifecycles_per_cpu_s=na cpu_ratio=na";
        string note = "";
        if (kernel && Kernel.Rates(Math.Min(connections, 200_000), out note) is { } k)
            kernelPart = $"kernel_lifecycles_per_s={F(k.Wall)} ratio={F2(rate / k.Wall)} " +
                $"kernel_lifecycles_per_cpu_s={F(k.Cpu)} cpu_ratio={F2(r.Finished / cpu / k.Cpu)}";
        if (note != "") Console.WriteLine($"# {note}");
        return $"W1 connections={r.Finished} completed={r.Completed.ToString().ToLowerInvariant()} wall_s={F2(wall)} cpu_s={F2(cpu)} " +
            $"lifecycles_per_s={F(rate)} lifecycles_per_cpu_s={F(r.Finished / cpu)} peak_rss_mb={Measure.PeakRssMb()} " +
            $"events_per_s={F(r.Events / wall)} virtual_s={F2((r.EndedAtNs - r.StartedAtNs) / 1e9)} " +
            $"allocated_per_lifecycle={F(allocated / (double)Math.Max(1, r.Finished))} {gcs} {kernelPart} " +
            $"events={r.Events} outcome_digest={Digest(r):x16}";
    }

    /// <summary>
    /// FNV-1a over what the workload did — its clock, connect() results, every host's MIB counter changes, kernel log
    /// lines and time series — so that two builds' runs can be checked for identical behaviour from their lines.
    /// </summary>
    static ulong Digest(WorkloadResult r)
    {
        ulong h = 14695981039346656037;
        void Add(string s)
        {
            foreach (char c in s) h = (h ^ c) * 1099511628211;
            h = (h ^ '|') * 1099511628211;
        }
        Add($"{r.Finished} {r.Unfinished} {r.StartedAtNs} {r.EndedAtNs} {r.Events}");
        foreach (var kv in r.ConnectResults.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Add($"{kv.Key}={kv.Value}");
        foreach (var host in r.Hosts)
        {
            Add(host.Host);
            foreach (var kv in host.Counters.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Add($"{kv.Key}={kv.Value}");
            foreach (var line in host.KernelLog) Add(line);
        }
        foreach (var series in r.Series)
        {
            Add(series.Host);
            foreach (var sample in series.Samples) Add(sample.ToString());
        }
        return h;
    }

    /// <summary>W1's world: 32 clients with tcp_tw_reuse=1, one server, 1 ms links.</summary>
    static (Simulation, List<string>) W1World()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1) { Sink = new CountersJournal() };
        Must(sim, new AddHostCommand("server", "10.0.0.1", HostKind.Linux, []));
        var clients = new List<string>();
        for (int i = 0; i < 32; i++)
        {
            clients.Add($"c{i}");
            Must(sim, new AddHostCommand($"c{i}", $"10.1.0.{i + 1}", HostKind.Linux, [new("net.ipv4.tcp_tw_reuse", "1")]));
            Must(sim, new AddLinkCommand($"c{i}", "server", SimDuration.FromMilliseconds(1), 0));
        }
        return (sim, clients);
    }

    /// <summary>W1's workload: <paramref name="connections"/> lifecycles at <paramref name="rate"/> per virtual second.</summary>
    static CommandOutcome W1Workload(Simulation sim, List<string> clients, long connections, int rate) =>
        CommandApplier.Apply(sim, new WorkloadCommand(new WorkloadSpec
        {
            Clients = clients, Server = "server", Port = 80, Rate = rate, Count = connections,
            RequestBytes = 1024, ResponseBytes = 1024, CloseFirst = CloseFirst.Client, Level = JournalLevel.Counters,
        }));

    /// <summary>
    /// W2: <paramref name="sockets"/> TIME-WAIT sockets at once on one host: the server closes first
    /// (so it holds the TIME-WAITs) for 40 generated clients at 20,000 connections per virtual second,
    /// tcp_max_tw_buckets raised above the count; heap with them all, minus heap once they expired.
    /// </summary>
    public static string W2(long sockets)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1) { Sink = new CountersJournal() };
        Must(sim, new AddHostCommand("server", "10.0.0.1", HostKind.Linux, [new("net.ipv4.tcp_max_tw_buckets", "4000000")]));
        int clients = (int)Math.Max(1, (sockets + 19_999) / 20_000);
        var m = new Measure();
        var outcome = CommandApplier.Apply(sim, new WorkloadCommand(new WorkloadSpec
        {
            GeneratedClients = clients, Server = "server", Port = 80, Rate = 20_000, Count = sockets,
            RequestBytes = 100, ResponseBytes = 100, CloseFirst = CloseFirst.Server, Level = JournalLevel.Counters,
        }));
        var r = outcome.Workload ?? throw new InvalidOperationException(outcome.Error!.Message);
        sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(50)); // the last FIN exchanges
        var server = sim.FindHost("server")!;
        int tw = server.TimeWaitCount;
        long withTw = Measure.Heap();
        if (Environment.GetEnvironmentVariable("SIMBENCH_PAUSE") == "1")
        {
            // For a heap dump of the TIME-WAIT population: dotnet-gcdump collect -p <pid>, then a line on stdin.
            Console.WriteLine($"# pid {Environment.ProcessId}: {tw} TIME-WAITs held; press enter");
            Console.ReadLine();
        }
        // Every TIME-WAIT expires: TCP_TIMEWAIT_LEN, plus up to one granule of the timer wheel's level for 60 s
        // (512 jiffies, 2.048 s at HZ=250). With any left the table keeps its pages and hash, and the difference
        // of the two heaps would leave them out.
        sim.RunUntil(sim.Now + SimDuration.FromSeconds(65));
        int left = server.TimeWaitCount;
        long without = Measure.Heap();
        GC.KeepAlive(sim);
        return $"W2 time_wait={tw} left={left} bytes_per_time_wait={F((withTw - without) / (double)Math.Max(1, tw - left))} " +
            $"heap_mb={withTw / 1_048_576} wall_s={F2(m.WallSeconds)} peak_rss_mb={Measure.PeakRssMb()} completed={r.Completed.ToString().ToLowerInvariant()}";
    }

    internal static void Must(Simulation sim, SimCommand c)
    {
        var o = CommandApplier.Apply(sim, c);
        if (!o.IsOk) throw new InvalidOperationException(o.Error!.Message);
    }
}
