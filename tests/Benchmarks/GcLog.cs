using System.Diagnostics.Tracing;

namespace SimService.Benchmarks;

/// <summary>
/// `SIMBENCH_GCLOG=1`: one line per collection inside W6's timed phases — its generation and reason, the wall time from
/// GCStart to GCEnd, the bytes it promoted out of each condemned generation and the bytes that survived through references
/// from older generations (GCMarkWithType's "older": the card table), the generations' sizes after it, whether it
/// compacted and why (GCGlobalHeapHistory's mechanisms, GCPerHeapHistory's compact reason). The runtime's GC events, read
/// in-process; for profiling only.
/// </summary>
sealed class GcLog : EventListener
{
    readonly List<string> _lines = [];
    string? _gen;
    double _start, _wall;
    long _older, _p0, _p1, _p2, _s0, _s1, _s2, _mechanisms, _compact;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1);
    }

    static long Field(EventWrittenEventArgs e, string name)
    {
        int i = e.PayloadNames!.IndexOf(name);
        return i < 0 ? -1 : Convert.ToInt64(e.Payload![i]);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || e.Payload is null) return;
        lock (_lines)
        {
            if (name.StartsWith("GCStart", StringComparison.Ordinal))
            {
                Flush();
                _gen = $"gen{Field(e, "Depth")} reason={Field(e, "Reason")}";
                _start = e.TimeStamp.Ticks / 1e4;
                _older = _mechanisms = 0;
                _compact = -1;
            }
            else if (name.StartsWith("GCMarkWithType", StringComparison.Ordinal) && Field(e, "Type") == 3)
                _older += Field(e, "Bytes");
            else if (name.StartsWith("GCEnd", StringComparison.Ordinal))
                _wall = e.TimeStamp.Ticks / 1e4 - _start;
            else if (name.StartsWith("GCHeapStats", StringComparison.Ordinal))
                (_p0, _p1, _p2, _s0, _s1, _s2) = (Field(e, "TotalPromotedSize0"), Field(e, "TotalPromotedSize1"), Field(e, "TotalPromotedSize2"),
                    Field(e, "GenerationSize0"), Field(e, "GenerationSize1"), Field(e, "GenerationSize2"));
            else if (name.StartsWith("GCGlobalHeapHistory", StringComparison.Ordinal))
                _mechanisms = Field(e, "GlobalMechanisms");
            else if (name.StartsWith("GCPerHeapHistory", StringComparison.Ordinal) && Field(e, "CompactMechanisms") is var c and > 0)
                _compact = System.Numerics.BitOperations.Log2((ulong)c & 0x7fffffff); // gc_heap_compact_reason: the highest bit below the flag
        }
    }

    void Flush()
    {
        if (_gen is null) return;
        _lines.Add($"{_gen} wall_ms={_wall:F0} promoted_mb={_p0 / 1e6:F1}/{_p1 / 1e6:F1}/{_p2 / 1e6:F1} via_cards_mb={_older / 1e6:F1} " +
            $"sizes_mb={_s0 / 1e6:F0}/{_s1 / 1e6:F0}/{_s2 / 1e6:F0} compacted={(_mechanisms & 2) != 0}" +
            // gcrecord.h: GlobalMechanisms is a bit a gc_global_mechanism_p (1 compaction, 2 promotion, 3 demotion, 4 card bundles,
            // 5 elevation); the compact reason is GCPerHeapHistory's gc_heap_compact_reason (1 compact_high_frag, 6 compact_fragmented_gen0 …).
            $" mechanisms=0x{_mechanisms:x} compact_reason={_compact}");
        _gen = null;
    }

    /// <summary>The collections logged since the last call, one "# gc …" line each (events arrive a little after the collection).</summary>
    public string Drain(string phase)
    {
        Thread.Sleep(500);
        lock (_lines)
        {
            Flush();
            var text = string.Concat(_lines.Select(l => $"# gc {phase} {l}\n"));
            _lines.Clear();
            return text;
        }
    }
}
