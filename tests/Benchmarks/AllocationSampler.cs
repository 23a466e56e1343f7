using System.Diagnostics.Tracing;

namespace SimService.Benchmarks;

/// <summary>
/// Samples allocations by type in-process (the runtime's GC AllocationTick event, one per ~100 KB allocated):
/// `SIMBENCH_ALLOC=1` prints the types that take the most bytes when the run ends, and the collections by generation and
/// reason (GCStart); W1 also prints its timed run's bytes per lifecycle by type (<see cref="Reset"/>, <see cref="PrintPer"/>).
/// For profiling only.
/// </summary>
sealed class AllocationSampler : EventListener
{
    /// <summary>The sampler of this process while one runs (`SIMBENCH_ALLOC=1`), so a workload can sample its timed run alone.</summary>
    public static AllocationSampler? Current { get; private set; }

    public AllocationSampler() => Current = this;

    public override void Dispose()
    {
        if (Current == this) Current = null;
        base.Dispose();
    }

    /// <summary>Forgets what was sampled so far (a warm-up's allocations), keeping the collections' counts.</summary>
    public void Reset()
    {
        lock (_bytes)
        {
            _bytes.Clear();
            _large.Clear();
            _total = 0;
        }
    }

    /// <summary>
    /// The types sampled since <see cref="Reset"/>, as bytes per <paramref name="per"/> (a W1 lifecycle): `# alloc_per_{what}`
    /// lines, largest first. Each sample stands for the ≈ 100 KB allocated since the one before (the events come on the
    /// runtime's own thread, a little late), so a type's figure is its share of the samples times <paramref name="allocated"/>,
    /// the bytes GC.GetTotalAllocatedBytes counted over the same span.
    /// </summary>
    public void PrintPer(long allocated, long per, string what)
    {
        lock (_bytes)
        {
            Console.WriteLine($"# alloc_samples {_bytes.Values.Sum() / 1_048_576} MB sampled of {allocated / 1_048_576} MB allocated");
            foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(20))
                Console.WriteLine($"# alloc_per_{what} {allocated * (bytes / (double)Math.Max(1, _total)) / Math.Max(1, per),8:F1} B {type}");
        }
    }
    readonly Dictionary<string, long> _bytes = [];
    /// <summary>Bytes sampled on the large-object heap (AllocationKind 1: objects of 85,000 B or more), by type.</summary>
    readonly Dictionary<string, long> _large = [];
    long _total;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    // GCStart's Reason (gc_reason in the runtime's gc.h).
    static readonly string[] Reasons = ["alloc_soh", "induced", "lowmemory", "empty", "alloc_loh", "oos_soh", "oos_loh", "induced_noforce",
        "gcstress", "induced_lowmem", "induced_compacting", "lowmemory_host", "pm_full_gc", "lowmemory_host_blocking", "bgc_tuning_soh",
        "bgc_tuning_loh", "bgc_stepping", "induced_aggressive"];
    readonly Dictionary<string, int> _collections = [];

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is { } gc && gc.StartsWith("GCStart", StringComparison.Ordinal) && e.Payload is not null)
        {
            int d = e.PayloadNames!.IndexOf("Depth"), r = e.PayloadNames.IndexOf("Reason");
            if (d < 0 || r < 0) return;
            int reason = Convert.ToInt32(e.Payload[r]);
            var key = $"gen{Convert.ToInt32(e.Payload[d])} {(reason < Reasons.Length ? Reasons[reason] : reason.ToString())}";
            lock (_bytes) _collections[key] = _collections.GetValueOrDefault(key) + 1;
            return;
        }
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
        int i = e.PayloadNames!.IndexOf("TypeName"), a = e.PayloadNames.IndexOf("AllocationAmount64"), k = e.PayloadNames.IndexOf("AllocationKind");
        if (i < 0) return;
        long amount = a >= 0 ? Convert.ToInt64(e.Payload[a]) : 100_000;
        bool large = k >= 0 && Convert.ToInt32(e.Payload[k]) == 1;
        lock (_bytes)
        {
            var type = (string)e.Payload[i]!;
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
            if (large) _large[type] = _large.GetValueOrDefault(type) + amount;
            _total += amount;
        }
    }

    public void Print()
    {
        lock (_bytes)
            foreach (var (what, count) in _collections.OrderBy(kv => kv.Key))
                Console.WriteLine($"# gc {what}: {count}");
        lock (_bytes)
            foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(40))
                Console.WriteLine($"# alloc {100.0 * bytes / Math.Max(1, _total),5:F1}% {bytes / 1_048_576,7} MB {type}");
        lock (_bytes)
            foreach (var (type, bytes) in _large.OrderByDescending(kv => kv.Value))
                Console.WriteLine($"# alloc_loh {bytes / 1_048_576,7} MB {type}");
    }
}
