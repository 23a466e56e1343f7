using System.Diagnostics.Tracing;

namespace SimService.Benchmarks;

/// <summary>
/// Samples allocations by type in-process (the runtime's GC AllocationTick event, one per ~100 KB allocated):
/// `SIMBENCH_ALLOC=1` prints the types that take the most bytes when the run ends. For profiling only.
/// </summary>
sealed class AllocationSampler : EventListener
{
    readonly Dictionary<string, long> _bytes = [];
    long _total;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null) return;
        int i = e.PayloadNames!.IndexOf("TypeName"), a = e.PayloadNames.IndexOf("AllocationAmount64");
        if (i < 0) return;
        long amount = a >= 0 ? Convert.ToInt64(e.Payload[a]) : 100_000;
        lock (_bytes)
        {
            var type = (string)e.Payload[i]!;
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
            _total += amount;
        }
    }

    public void Print()
    {
        lock (_bytes)
            foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(40))
                Console.WriteLine($"# alloc {100.0 * bytes / Math.Max(1, _total),5:F1}% {bytes / 1_048_576,7} MB {type}");
    }
}
