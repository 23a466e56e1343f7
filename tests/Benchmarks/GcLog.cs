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
    long _older, _p0, _p1, _p2, _s0, _s1, _s2, _mechanisms, _compact, _condemnGen, _condemnWhy, _gen0Budget;

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
                _older = _mechanisms = _condemnGen = _condemnWhy = _gen0Budget = 0;
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
                (_mechanisms, _gen0Budget) = (Field(e, "GlobalMechanisms"), Field(e, "FinalYoungestDesired"));
            else if (name.StartsWith("GCPerHeapHistory", StringComparison.Ordinal))
            {
                if (Field(e, "CompactMechanisms") is var c and > 0)
                    _compact = System.Numerics.BitOperations.Log2((ulong)c & 0x7fffffff); // gc_heap_compact_reason: the highest bit below the flag
                (_condemnGen, _condemnWhy) = (Field(e, "CondemnReasons0"), Field(e, "CondemnReasons1"));
            }
        }
    }

    void Flush()
    {
        if (_gen is null) return;
        _lines.Add($"{_gen} wall_ms={_wall:F0} promoted_mb={_p0 / 1e6:F1}/{_p1 / 1e6:F1}/{_p2 / 1e6:F1} via_cards_mb={_older / 1e6:F1} " +
            $"sizes_mb={_s0 / 1e6:F0}/{_s1 / 1e6:F0}/{_s2 / 1e6:F0} compacted={(_mechanisms & 2) != 0}" +
            // gcrecord.h: GlobalMechanisms is a bit a gc_global_mechanism_p (1 compaction, 2 promotion, 3 demotion, 4 card bundles,
            // 5 elevation); the compact reason is GCPerHeapHistory's gc_heap_compact_reason (1 compact_high_frag, 6 compact_fragmented_gen0 …).
            $" mechanisms=0x{_mechanisms:x} compact_reason={_compact}" +
            // Why this generation (GCPerHeapHistory; gcrecord.h in the runtime): condemn_gen packs a generation in two bits for each of
            // gc_condemn_reason_gen — initial (bits 0–1), final_per_heap (2–3), alloc_budget (4–5), time_tuning (6–7); condemn_why is
            // a bit a gc_condemn_reason_condition (0 induced_fullgc, 4 low_ephemeral, 5 low_card, 6 eph_high_frag, 7–10 max_high_frag,
            // 11 max_gen1, 13 gen2_too_small …).
            $" condemn_gen=0x{_condemnGen:x} condemn_why=0x{_condemnWhy:x}" +
            // The gen0 budget it set (final_youngest_desired): how much the next collection waits for.
            $" gen0_budget_mb={_gen0Budget / 1e6:F1}");
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
