using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SimService.Benchmarks;

/// <summary>Wall and CPU time of a section, and the process's peak resident set (VmHWM).</summary>
sealed class Measure
{
    readonly Stopwatch _wall = Stopwatch.StartNew();
    readonly double _cpu0 = ProcessCpuSeconds();
    readonly double _threadCpu0 = ThreadCpuSecondsNow();

    public double WallSeconds => _wall.Elapsed.TotalSeconds;
    public double CpuSeconds => ProcessCpuSeconds() - _cpu0;

    /// <summary>
    /// The calling thread's CPU time since the start (clock_gettime(CLOCK_THREAD_CPUTIME_ID)): the engine and, with
    /// workstation GC without background collections, the collector — but not the JIT's background tier-up thread.
    /// </summary>
    public double ThreadCpuSeconds() => ThreadCpuSecondsNow() - _threadCpu0;

    /// <summary>
    /// The process's CPU time, all threads, in nanoseconds (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)): the
    /// 10-ms clock ticks of /proc/self/stat, which Process.TotalProcessorTime reads, were a fifth of W6's
    /// 10,000-connection open phase (≈ 50 ms).
    /// </summary>
    static double ProcessCpuSeconds()
    {
        if (OperatingSystem.IsLinux() && clock_gettime(2 /* CLOCK_PROCESS_CPUTIME_ID */, out var ts) == 0)
            return ts.Sec + ts.Nsec / 1e9;
        return Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    }

    static double ThreadCpuSecondsNow() =>
        OperatingSystem.IsLinux() && clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) == 0 ? ts.Sec + ts.Nsec / 1e9 : double.NaN;

    [StructLayout(LayoutKind.Sequential)]
    struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [DllImport("libc", SetLastError = false)]
    static extern int clock_gettime(int clockId, out Timespec ts);

    public static long PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return -1;
    }

    /// <summary>A blocking, compacting collection of every generation: what the section before left is not charged to the next.</summary>
    public static void CollectAll() => GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

    /// <summary>
    /// Waits until the JIT has compiled nothing for 500 ms (at most 10 s): tiered compilation promotes a method in a
    /// background thread once 100 ms pass without new tier-0 compilations, and dynamic PGO compiles a hot method twice
    /// (instrumented, then optimized), so a timed section right after a warm-up would still pay for them. Returns the
    /// methods compiled during the wait.
    /// </summary>
    public static long WaitForJit()
    {
        long before = System.Runtime.JitInfo.GetCompiledMethodCount(), last = before;
        var quiet = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (quiet.ElapsedMilliseconds < 500 && total.ElapsedMilliseconds < 10_000)
        {
            Thread.Sleep(50);
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != last) { last = now; quiet.Restart(); }
        }
        return last - before;
    }

    /// <summary>
    /// Runs <paramref name="round"/> until a round (and the wait for the JIT after it) compiles at most 10 methods,
    /// at most 5 rounds. One round is not enough: a method called during the 100-ms call-counting delay that follows
    /// new tier-0 compilations is not counted, so what the end of a round reached first is promoted only when it is
    /// called again — and with dynamic PGO a hot method goes tier 0 → instrumented → optimized, two promotions.
    /// Returns the methods compiled by each round ("812/96/4").
    /// </summary>
    public static string WarmUp(Action round)
    {
        var compiled = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            long before = System.Runtime.JitInfo.GetCompiledMethodCount();
            round();
            WaitForJit();
            compiled.Add(System.Runtime.JitInfo.GetCompiledMethodCount() - before);
            if (compiled[^1] <= 10) break;
        }
        return string.Join('/', compiled);
    }

    public static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>What a timed phase spent outside the engine's own code: the JIT's compilation time (all threads,
/// tier-0 and the background tier-1/PGO recompilations, which the process's CPU time counts), the methods it
/// compiled, the collector's collections and pauses, and the process's minor page faults (first touches of pages:
/// what a phase that grows the heap onto fresh memory pays and one that reuses warm pages does not), and the bytes the
/// process allocated (GC.GetTotalAllocatedBytes(precise: true): what survives and what is garbage alike).</summary>
public readonly record struct RuntimePhase(double JitMs, long JitMethods, int Gc0, int Gc1, int Gc2, double GcPauseMs, long MinorFaults,
    long AllocatedBytes)
{
    public string Format(string p) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{p}jit_ms={JitMs:F0} {p}jit_methods={JitMethods} {p}gc0={Gc0} {p}gc1={Gc1} {p}gc2={Gc2} {p}gc_pause_ms={GcPauseMs:F0} {p}minflt={MinorFaults} {p}alloc_mb={AllocatedBytes / 1e6:F1}");
}

/// <summary>Starts counting the JIT's and the collector's work; <see cref="Stop"/> gives what a section spent.</summary>
sealed class RuntimeMeter
{
    readonly TimeSpan _jit = System.Runtime.JitInfo.GetCompilationTime(), _pause = GC.GetTotalPauseDuration();
    readonly long _methods = System.Runtime.JitInfo.GetCompiledMethodCount();
    readonly int _g0 = GC.CollectionCount(0), _g1 = GC.CollectionCount(1), _g2 = GC.CollectionCount(2);
    readonly long _minflt = MinorFaults();
    readonly long _allocated = GC.GetTotalAllocatedBytes(precise: true);

    public RuntimePhase Stop() => new((System.Runtime.JitInfo.GetCompilationTime() - _jit).TotalMilliseconds,
        System.Runtime.JitInfo.GetCompiledMethodCount() - _methods, GC.CollectionCount(0) - _g0, GC.CollectionCount(1) - _g1,
        GC.CollectionCount(2) - _g2, (GC.GetTotalPauseDuration() - _pause).TotalMilliseconds, MinorFaults() - _minflt,
        GC.GetTotalAllocatedBytes(precise: true) - _allocated);

    /// <summary>The process's minor faults so far: /proc/self/stat's tenth field (minflt), counted after the command's name.</summary>
    static long MinorFaults()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture); // fields from the state (3rd) on: minflt is the 10th
    }
}
