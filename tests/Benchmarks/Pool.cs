using System.Globalization;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Benchmarks;

/// <summary>
/// W6, a connection pool: N connections opened and held at once, accepted by one server process
/// on one port (it holds all N descriptors), then closed by the clients. One client address has
/// 64,511 ports (ip_local_port_range 1025–65535) and __inet_hash_connect() scans the whole
/// even half (32,255 ports) on every connect() once that half is taken — the kernel's own cost
/// near exhaustion — so the clients are ⌈N / 25,000⌉ hosts of one process each.
/// </summary>
static class Pool
{
    public sealed record Result(int N, double OpenPerSec, double ClosePerSec, double OpenPerCpuSec, double ClosePerCpuSec, int Established, int ServerFds,
        double? HeldBytesPerConnection, RuntimePhase OpenPhase,
        double OpenPerThreadCpuSec, RuntimePhase ClosePhase, double OpenGen0BudgetMb, double OpenFirstGcAfterMb,
        double OpenSinceGcMs, double OpenFirstGcAtMs);

    /// <summary>
    /// The untimed warm-up before the measured pools, as any benchmark harness runs one: pools of <paramref name="n"/>
    /// opened and closed until the JIT has settled (<see cref="Measure.WarmUp"/>). Returns the methods compiled by each round.
    /// </summary>
    public static string WarmUp(int n) => Measure.WarmUp(() => Run(n));

    /// <summary>One untimed pool of <paramref name="n"/>, so that the collector has seen a pool of that size before the measured
    /// ones; says what its open phase collected and the gen0 budget it left.</summary>
    public static string WarmUpHeap(int n)
    {
        var r = Run(n);
        return Inv($"one untimed pool of {n}, its open phase's collections {Gcs(r.OpenPhase)}, gen0 budget left {Gen0BudgetMb():F1} MB");
    }

    /// <summary>
    /// How many pools of <paramref name="n"/> are measured, each in a fresh world: a pool of up to 30,000 opens in 30–100 ms of
    /// CPU and one run of it swings up to 2× (session 28: the 10k phase within a pair), so five; the 100k pool three, so that its
    /// own spread shows. <c>SIMBENCH_REPS=k</c> measures every N k times (1: one pool each, as before session 29).
    /// </summary>
    static int Repetitions(int n) => RepsSetting() ?? (n <= 30_000 ? 5 : 3);

    static int? RepsSetting() =>
        Environment.GetEnvironmentVariable("SIMBENCH_REPS") is { Length: > 0 } reps
        && int.TryParse(reps, NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k >= 1 ? k : null;

    /// <summary>What is wrong with <c>SIMBENCH_REPS</c> (set but not a whole number ≥ 1), or null; checked before any run starts.</summary>
    public static string? SettingsError() =>
        Environment.GetEnvironmentVariable("SIMBENCH_REPS") is { Length: > 0 } reps && RepsSetting() is null
            ? $"SIMBENCH_REPS={reps}: expected a whole number of pools per N, at least 1" : null;

    /// <summary>
    /// Measures each N of <paramref name="ns"/> <see cref="Repetitions"/> times, in rounds (each round opens and closes one pool
    /// of every N still due, smallest first, so that a change of the machine's load falls on all N alike), prints one "# W6 … rep="
    /// line per pool, and returns W6's line per N: the rates are the medians of its pools (the phase counters — JIT, collections,
    /// faults — are those of the pool with the median open rate), followed by every pool's open and close rate and collections
    /// (gen0.gen1.gen2) in the order run and, from the second N on, its median open rate per CPU-second over the first N's.
    /// peak_rss_mb is the process's peak over all the pools (VmHWM, and the rounds interleave the N), on every line alike.
    /// With <paramref name="kernel"/> (and root), each engine pool is followed by the same pool on the real kernel
    /// (<see cref="Kernel.Pool"/>, a "# W6 kernel … rep=" line each), and the line gains the kernel's medians, the engine:kernel
    /// ratios and, from the second N on, the kernel's own open rate per CPU-second over its first N's (<see cref="KernelPart"/>).
    /// </summary>
    public static IEnumerable<string> Series(IReadOnlyList<int> ns, bool kernel)
    {
        Perf ??= PerfControl.FromEnvironment();
        var runs = ns.Select(_ => new List<Result>()).ToArray();
        var kernelRuns = ns.Select(_ => new List<Kernel.PoolRates>()).ToArray();
        int rounds = ns.Max(Repetitions);
        for (int round = 1; round <= rounds; round++)
            for (int k = 0; k < ns.Count; k++)
            {
                if (round > Repetitions(ns[k])) continue;
                var r = Run(ns[k]);
                runs[k].Add(r);
                Console.WriteLine(Inv($"# W6 n={r.N} rep={round} open_per_cpu_s={r.OpenPerCpuSec:F0} close_per_cpu_s={r.ClosePerCpuSec:F0} open_gc={Gcs(r.OpenPhase)} close_gc={Gcs(r.ClosePhase)} open_gen0_budget_mb={r.OpenGen0BudgetMb:F1} open_first_gc_after_mb={r.OpenFirstGcAfterMb:F1} open_since_gc_ms={r.OpenSinceGcMs:F0} open_first_gc_at_ms={r.OpenFirstGcAtMs:F0}"));
                if (!kernel) continue;
                if (Kernel.Pool(ns[k], out string note) is not { } kr)
                {
                    Console.WriteLine($"# {note}");
                    kernel = false;
                    continue;
                }
                kernelRuns[k].Add(kr);
                Console.WriteLine(Inv($"# W6 kernel n={ns[k]} rep={round} open_per_s={kr.OpenPerSec:F0} open_per_cpu_s={kr.OpenPerCpuSec:F0} close_per_s={kr.ClosePerSec:F0} close_per_cpu_s={kr.ClosePerCpuSec:F0} held=\"{kr.Held}\""));
            }
        double first = 0, firstNoGc = 0;
        for (int k = 0; k < ns.Count; k++)
        {
            var all = runs[k];
            var mid = all.OrderBy(r => r.OpenPerCpuSec).ElementAt(all.Count / 2);
            double Median(Func<Result, double> f) => MedianOf(all.Select(f));
            double open = Median(r => r.OpenPerCpuSec);
            var line = Inv($"W6 n={mid.N} open_per_s={Median(r => r.OpenPerSec):F0} close_per_s={Median(r => r.ClosePerSec):F0} open_per_cpu_s={open:F0} ") +
                Inv($"open_per_thread_cpu_s={Median(r => r.OpenPerThreadCpuSec):F0} close_per_cpu_s={Median(r => r.ClosePerCpuSec):F0} established={mid.Established} ") +
                Inv($"server_fds={mid.ServerFds} peak_rss_mb={Measure.PeakRssMb()}") +
                (mid.HeldBytesPerConnection is { } held ? Inv($" held_bytes_per_connection={held:F0}") : "") + " " + mid.OpenPhase.Format("open_") + " " + mid.ClosePhase.Format("close_") +
                Inv($" reps={all.Count} open_per_cpu_s_reps={Join(all, r => Inv($"{r.OpenPerCpuSec:F0}"))} close_per_cpu_s_reps={Join(all, r => Inv($"{r.ClosePerCpuSec:F0}"))}") +
                $" open_gc_reps={Join(all, r => Gcs(r.OpenPhase))} close_gc_reps={Join(all, r => Gcs(r.ClosePhase))}" +
                (k > 0 ? Inv($" open_ratio_to_n{ns[0]}={open / first:F2}") : "") +
                NoGcPart(all, k > 0 ? ns[0] : null, firstNoGc, out double noGc) +
                KernelPart(kernelRuns[k], kernelRuns[0], k > 0 ? ns[0] : null, Median(r => r.OpenPerSec), open, Median(r => r.ClosePerSec), Median(r => r.ClosePerCpuSec));
            if (k == 0) (first, firstNoGc) = (open, noGc);
            yield return line;
        }
    }

    /// <summary>
    /// The kernel's side of W6's line for one N: the medians of its pools (kernel_open_per_s … kernel_close_per_cpu_s), the
    /// engine's median over the kernel's for each (open_ratio, open_cpu_ratio, close_ratio, close_cpu_ratio: above 1 the engine
    /// is faster), every kernel pool's open rate per CPU-second in the order run, and, given the first N
    /// (<paramref name="firstN"/>), the kernel's median open rate per CPU-second over that N's (kernel_open_ratio_to_nN, the
    /// kernel's own counterpart of open_ratio_to_nN). "na" throughout when the kernel side did not run.
    /// </summary>
    static string KernelPart(List<Kernel.PoolRates> kernel, List<Kernel.PoolRates> first, int? firstN,
        double open, double openCpu, double close, double closeCpu)
    {
        if (kernel.Count == 0)
            return " kernel_open_per_s=na kernel_close_per_s=na kernel_open_per_cpu_s=na kernel_close_per_cpu_s=na open_ratio=na open_cpu_ratio=na close_ratio=na close_cpu_ratio=na";
        double kOpen = MedianOf(kernel.Select(r => r.OpenPerSec)), kOpenCpu = MedianOf(kernel.Select(r => r.OpenPerCpuSec));
        double kClose = MedianOf(kernel.Select(r => r.ClosePerSec)), kCloseCpu = MedianOf(kernel.Select(r => r.ClosePerCpuSec));
        return Inv($" kernel_open_per_s={kOpen:F0} kernel_close_per_s={kClose:F0} kernel_open_per_cpu_s={kOpenCpu:F0} kernel_close_per_cpu_s={kCloseCpu:F0}") +
            Inv($" open_ratio={open / kOpen:F2} open_cpu_ratio={openCpu / kOpenCpu:F2} close_ratio={close / kClose:F2} close_cpu_ratio={closeCpu / kCloseCpu:F2}") +
            Inv($" kernel_parked={(kernel[0].Parked ? 1 : 0)} kernel_reps={kernel.Count} kernel_open_per_cpu_s_reps={string.Join('/', kernel.Select(r => Inv($"{r.OpenPerCpuSec:F0}")))}") +
            (firstN is { } f && first.Count > 0 ? Inv($" kernel_open_ratio_to_n{f}={kOpenCpu / MedianOf(first.Select(r => r.OpenPerCpuSec)):F2}") : "");
    }

    /// <summary>
    /// The pools whose open phase made no collection: how many (open_nogc_reps) and their median open rate per CPU-second
    /// (open_per_cpu_s_nogc, "na" when every pool collected), and from the second N on its ratio to the first N's
    /// (open_nogc_ratio_to_nN) — the engine's own cost at each N, apart from the collector's (scale session 39: a 100k pool
    /// that collects nothing opens at ≈ 0.9 of the 10k rate, one that collects once at ≈ 0.78, the first of a process ≈ 0.6).
    /// </summary>
    static string NoGcPart(List<Result> runs, int? firstN, double firstNoGc, out double noGc)
    {
        var clean = runs.Where(r => r.OpenPhase.Gc0 + r.OpenPhase.Gc1 + r.OpenPhase.Gc2 == 0).ToList();
        noGc = clean.Count > 0 ? MedianOf(clean.Select(r => r.OpenPerCpuSec)) : double.NaN;
        string rate = clean.Count > 0 ? Inv($"{noGc:F0}") : "na";
        string ratio = firstN is not { } f ? "" :
            double.IsNaN(noGc) || double.IsNaN(firstNoGc) ? $" open_nogc_ratio_to_n{f}=na" : Inv($" open_nogc_ratio_to_n{f}={noGc / firstNoGc:F2}");
        return $" open_nogc_reps={clean.Count} open_per_cpu_s_nogc={rate}" + ratio;
    }

    /// <summary>The median (the mean of the middle two for an even count).</summary>
    static double MedianOf(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    static string Gcs(RuntimePhase p) => Inv($"{p.Gc0}.{p.Gc1}.{p.Gc2}");

    static string Join(List<Result> runs, Func<Result, string> f) => string.Join('/', runs.Select(f));

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>SIMBENCH_PERFCTL's FIFOs, opened by <see cref="Series"/>: the warm-up's pools are not profiled.</summary>
    static PerfControl? Perf;

    public static Result Run(int n)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1) { Sink = new CountersJournal() };
        int clients = (n + 24_999) / 25_000;
        Must(sim, new AddHostCommand("server", "10.0.0.1", HostKind.Linux, [new("net.core.somaxconn", "1000000")]));
        for (int c = 0; c < clients; c++)
        {
            Must(sim, new AddHostCommand($"c{c}", $"10.1.{c / 250}.{c % 250 + 1}", HostKind.Linux,
                [new("net.ipv4.ip_local_port_range", "1025 65535")]));
            Must(sim, new AddLinkCommand($"c{c}", "server", SimDuration.FromMilliseconds(1), 0));
        }
        var listener = Call(sim, new SocketCallRequest("server", "srv", SocketCallKind.Listen) { Port = 80, Backlog = 1_000_000 });
        var connections = new int[n];
        // The open phase's commands are built once — a connect() for each client process and the accept() — as kernel_pool.c
        // fills its sockaddr once: built per call, the harness's own request, command and host-name objects (≈ 400 B a
        // connection until scale session 34) were garbage among the sockets the pool holds, and the collections and
        // compaction that garbage caused were charged to the engine. A close names its socket, so it is still built per call.
        var connects = Enumerable.Range(0, clients).Select(c => new SocketCallCommand(
            new SocketCallRequest($"c{c}", "pool", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 })).ToArray();
        var accept = new SocketCallCommand(new SocketCallRequest("server", "srv", SocketCallKind.Accept) { SocketId = listener.SocketId });
        // SIMBENCH_HEAP=1: the heap each held connection keeps (two full GCs outside the timed phases; they change
        // the close phase's collections, so its rate is not comparable with a run without it).
        bool heap = Environment.GetEnvironmentVariable("SIMBENCH_HEAP") == "1";
        long heap0 = heap ? GC.GetTotalMemory(forceFullCollection: true) : 0;
        // Each measured pool starts on a collected heap: the pool before it (or the warm-up) is garbage that a
        // collection inside this one's open phase would otherwise charge to it. The JIT's background tier-up of the set-up's
        // methods (and of the pool before's) is then waited out, so that it does not land in the timed phases (scale session 35:
        // 0–49 ms of a ≈ 30-ms 10k phase, 1–147 ms of a ≈ 470-ms 100k one, which flattered 100k/10k by ≈ 0.07 since the short
        // phase pays more of it); SIMBENCH_JITWAIT=0 times the phases without the wait.
        // Workstation GC keeps a clock (scale session 40): once 1 s of wall time has passed since its last collection, it
        // collects gen0 at the next step of gen0's minimum budget allocated (≈ 17 MB here) however much budget is left (gc.cpp,
        // new_allocation_allowed()). The wait (≥ 500 ms of sleep) starts a phase with half that second gone, so a 100k phase
        // (≈ 194 MB, 0.4–1.6 s of wall) nearly always collects at a 17-MB step and a 10k phase (≈ 20 MB, ≈ 40 ms) nearly never.
        // SIMBENCH_GCCLOCK=1 collects after the wait instead, so the second starts with the phase: measured in session 40 and
        // not made the default — on this loaded machine most 100k phases last over a second themselves, and their late
        // collection is then a gen2 (the tables' growth has spent the large-object budget: generation_to_condemn()) where the
        // early one is a gen0 (six pairs: 100k/10k 0.70 against 0.68, the 100k rate 0.90 by pairs).
        // The time since the collection is printed as the phase starts and where its first collection came (open_since_gc_ms,
        // open_first_gc_at_ms): a first collection with budget left comes past 1,000 ms.
        bool collectLast = Environment.GetEnvironmentVariable("SIMBENCH_GCCLOCK") == "1";
        var sinceGc = collectLast ? null : Collect();
        if (Environment.GetEnvironmentVariable("SIMBENCH_JITWAIT") != "0") Measure.WaitForJit();
        sinceGc ??= Collect();
        // SIMBENCH_GCLOG=1: each collection of the timed phases on a "# gc" line (GcLog; the warm-up's pools print theirs too).
        using var gcLog = Environment.GetEnvironmentVariable("SIMBENCH_GCLOG") == "1" ? new GcLog() : null;
        gcLog?.Drain("before");
        // SIMBENCH_NOGC=1 (a diagnostic, not a rate to report): the open phase inside a no-GC region of 1.5 GB, so that it
        // shows the engine's cost per connection at each N without the collector's — but on pages the region committed fresh:
        // a 100k phase then takes 13,854–42,994 faults where a plain one, on pages earlier pools touched, takes ≈ 700, and
        // opens slower (scale session 41: 100k/10k 0.71 against 0.85, six pairs), so it bounds the collector, not the engine.
        bool noGc = Environment.GetEnvironmentVariable("SIMBENCH_NOGC") == "1" && GC.TryStartNoGCRegion(1_500_000_000);
        // What gen0 may still allocate before its budget runs out, as the open phase starts (scale session 39: 250–423 MB before
        // every 100k pool, above the ≈ 194 MB the phase allocates, and each of them still made a gen0 — the budget alone does
        // not decide whether a pool collects).
        double gen0Budget = Gen0BudgetMb();
        double sinceGcMs = sinceGc.Elapsed.TotalMilliseconds;
        Perf?.Enable();
        // SIMBENCH_ALLOC=1: what the open phase allocates, per connection and by type (a "# alloc_per_connection" line each).
        AllocationSampler.Current?.Reset();
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var m = new Measure();
        var phase = new RuntimeMeter();
        const int batch = 1000;
        // Where in the phase the first collection came: the MB allocated since the phase began, to within a batch (≈ 2 MB).
        int gcs0 = GC.CollectionCount(0);
        double firstGcMb = double.NaN, firstGcMs = double.NaN;
        for (int i = 0; i < n; i += batch)
        {
            for (int j = i; j < Math.Min(n, i + batch); j++)
            {
                connections[j] = Call(sim, connects[j % clients]).SocketId;
                Call(sim, accept);
            }
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(5));
            if (double.IsNaN(firstGcMb) && GC.CollectionCount(0) != gcs0)
                (firstGcMb, firstGcMs) = ((GC.GetTotalAllocatedBytes() - alloc0) / 1e6, sinceGc.Elapsed.TotalMilliseconds);
        }
        double open = m.WallSeconds, openCpu = m.CpuSeconds, openThreadCpu = m.ThreadCpuSeconds();
        var openPhase = phase.Stop();
        Perf?.Disable();
        AllocationSampler.Current?.PrintPer(GC.GetTotalAllocatedBytes(precise: true) - alloc0, n, "connection");
        if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        int established = sim.Hosts.Skip(1).Sum(h => h.InUse);
        int serverFds = sim.FindHost("server")!.FindProcess("srv")!.OpenCount;
        Console.Write(gcLog?.Drain($"n={n} open"));
        double? held = heap ? (GC.GetTotalMemory(forceFullCollection: true) - heap0) / (double)n : null;
        if (Environment.GetEnvironmentVariable("SIMBENCH_PAUSE") == "1")
        {
            // For a heap dump of the held pool: dotnet-gcdump collect -p <pid>, then a line on stdin.
            Console.WriteLine($"# pid {Environment.ProcessId}: {n} connections held; press enter");
            Console.ReadLine();
        }
        m = new Measure();
        phase = new RuntimeMeter();
        for (int i = 0; i < n; i += batch)
        {
            for (int j = i; j < Math.Min(n, i + batch); j++)
                Call(sim, new SocketCallRequest($"c{j % clients}", "pool", SocketCallKind.Close) { SocketId = connections[j] });
            sim.RunUntil(sim.Now + SimDuration.FromMilliseconds(5));
        }
        double close = m.WallSeconds, closeCpu = m.CpuSeconds;
        var closePhase = phase.Stop();
        Console.Write(gcLog?.Drain($"n={n} close"));
        return new Result(n, n / open, n / close, n / openCpu, n / closeCpu, established, serverFds, held, openPhase, n / openThreadCpu, closePhase, gen0Budget, firstGcMb,
            sinceGcMs, firstGcMs);
    }

    /// <summary>A full collection (<see cref="Measure.CollectAll"/>), and a stopwatch started as it ends.</summary>
    static System.Diagnostics.Stopwatch Collect()
    {
        Measure.CollectAll();
        return System.Diagnostics.Stopwatch.StartNew();
    }

    /// <summary>
    /// gen0's remaining allocation budget in MB (the runtime's internal GC.GetGenerationBudget(0), read by reflection: it has no
    /// public API), or NaN when this runtime has no such method. A diagnostic of the harness, read outside the timed phases.
    /// </summary>
    static double Gen0BudgetMb() =>
        BudgetMethod?.Invoke(null, [0]) is long bytes ? bytes / 1e6 : double.NaN;

    static readonly System.Reflection.MethodInfo? BudgetMethod = typeof(GC).GetMethod("GetGenerationBudget",
        System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static, [typeof(int)]);

    static void Must(Simulation sim, SimCommand c)
    {
        var o = CommandApplier.Apply(sim, c);
        if (!o.IsOk) throw new InvalidOperationException(o.Error!.Message);
    }

    static CallHandle Call(Simulation sim, SocketCallRequest r) => Call(sim, new SocketCallCommand(r));

    static CallHandle Call(Simulation sim, SocketCallCommand c)
    {
        var o = CommandApplier.Apply(sim, c);
        if (!o.IsOk) throw new InvalidOperationException(o.Error!.Message);
        return o.Call!.Value;
    }
}
