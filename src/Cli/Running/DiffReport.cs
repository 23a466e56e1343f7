using System.Text.Json.Serialization;

namespace SimService.Cli.Running;

/// <summary>
/// A kernel run's difference report (<c>simservice kernel --diff</c>): the scenario's whole outcome on the kernel
/// against the engine's, beyond what its expectations check — every difference a record, as the console prints it.
/// </summary>
/// <param name="Differences">Packets, sockets and counters that differ: the records of <paramref name="Items"/> but the
/// <c>unmodelled-counter</c> ones.</param>
/// <param name="Unmodelled">Counters the kernel moved that the engine does not keep (candidates, not differences).</param>
/// <param name="Strict"><c>--strict</c>: a difference fails the run (exit 1, a JUnit failure).</param>
/// <param name="Items">Every difference and unmodelled counter, in the console's order.</param>
public sealed record DiffReport(int Differences, int Unmodelled, bool Strict, IReadOnlyList<DiffItem> Items)
{
    /// <summary>
    /// EDGE: the engine's packets with its links this much slower — the shift nearest the run's measured harness lateness —
    /// are the kernel's (those of the engine as written are listed as <c>edge</c> items); absent otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SlowerLinkMs { get; init; }

    /// <summary>
    /// Whether <c>--strict</c> fails the file: a difference, or an EDGE — a real rule within a fraction of a millisecond of
    /// an RTT threshold looks the same on one run (review37b S-3).
    /// </summary>
    [JsonIgnore]
    public bool FailsStrict => Differences > 0 || SlowerLinkMs is not null;
}

/// <summary>
/// One difference from the engine. <see cref="Kind"/> is <c>packet</c>, <c>socket</c>, <c>counter</c> or
/// <c>unmodelled-counter</c>; <see cref="What"/> is <c>differ</c> (content, with <see cref="Fields"/>), <c>time</c> (a
/// pair more than 12 ms apart and alike otherwise), <c>timing</c> (a pair only the harness's timing sets apart: times
/// at most 12 ms off, an ISN-clock sequence number — listed, not counted in <see cref="DiffReport.Differences"/>),
/// <c>engine-only</c> or <c>kernel-only</c>, or <c>edge</c> (a difference from the engine as written that the engine with its
/// links slower by the harness's per-hop latency does not have — not counted either); <see cref="Where"/>
/// is the connection and direction (<c>client:~1 &gt; server:80</c>), the expect step's JSON path or <c>end</c>, or the host.
/// </summary>
/// <param name="Text">The difference as one self-contained line (the console prints the same under its connection's,
/// step's or host's heading).</param>
public sealed record DiffItem(string Kind, string What, string Where, string Text)
{
    /// <summary>The engine's time of the segment or socket listing (the kernel's for a kernel-only segment).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? AtNs { get; init; }

    /// <summary>The kernel's time of a paired segment, or of the socket reading compared.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? KernelAtNs { get; init; }

    /// <summary>The engine's segment or socket, as the console writes it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Engine { get; init; }

    /// <summary>The kernel's segment or socket, as the console writes it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Kernel { get; init; }

    /// <summary>A pair's fields that differ: <c>win 64 → 63</c>, <c>time +8.0 ms</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>A counter's name (<c>TcpExt.TW</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Counter { get; init; }

    /// <summary>The engine's change of the counter over the run.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? EngineValue { get; init; }

    /// <summary>The kernel's change of the counter over the run.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? KernelValue { get; init; }

    /// <summary>An unmodelled counter a teardown scenario is likely to check (TW, TCPAbortOn*, EstabResets …).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Teardown { get; init; }
}
