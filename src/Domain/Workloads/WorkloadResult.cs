using System.Text.Json.Serialization;
using SimService.Domain.Time;

namespace SimService.Domain.Workloads;

/// <summary>
/// One host at one instant of a workload: connection states as `ss -tan` counts them, and the
/// sockstat line's numbers (inuse, orphan, tw, alloc, mem).
/// </summary>
public sealed record WorkloadSample(long AtNs, int Established, int TimeWait, int FinWait2, int CloseWait, int Orphans, long MemPages,
    int InUse, int Tw, int Alloc);

public sealed record HostSeries(string Host, IReadOnlyList<WorkloadSample> Samples);

/// <summary>The MIB counters a workload moved on a host (only those that changed) and the kernel log lines it printed.</summary>
public sealed record HostOutcome(string Host, IReadOnlyDictionary<string, long> Counters, IReadOnlyList<string> KernelLog);

/// <summary>
/// What a workload did — once it ended, as it stood at its end: the counters its hosts moved, its kernel log lines and
/// <see cref="Events"/> up to then, every event due at its end instant counted (later commands move the hosts, not it).
/// <see cref="Completed"/>: every connection finished, by its command or by later advances — not when
/// the drain limit ended the wait (until session 38 that read completed too): then <see cref="StoppedBy"/> is "drainLimit" and
/// <see cref="Unfinished"/> counts the sides (a client's and a server's each) still open at its end;
/// <see cref="Truncated"/>: its command's event budget (or a journal or socket limit) stopped it first — it goes on at
/// later advances, and reads completed once they have run it to its end. <see cref="ConnectResults"/> counts connect() outcomes by errno
/// ("0" for success). <see cref="ResolutionNs"/>: the series' sampling interval — the spec's, doubled each time a long
/// run's series was coarsened to stay within <see cref="WorkloadSpec.MaxSamples"/> samples per host.
/// <see cref="StoppedBy"/> "horizon": the workload's run stopped before the clock's maximum (<see cref="SimTime.MaxClock"/>,
/// which the clock never passes) with the workload not done, <see cref="NextEventNs"/> the time of the next event, past it —
/// as an advance or a connection there says it; "drainLimit": the workload ended at its drain limit with connections open;
/// left out otherwise.
/// </summary>
public sealed record WorkloadResult(
    int Id,
    bool Completed,
    bool Truncated,
    long Connections,
    long Started,
    long Finished,
    long Unfinished,
    long StartedAtNs,
    long EndedAtNs,
    long Events,
    IReadOnlyDictionary<string, long> ConnectResults,
    IReadOnlyList<HostSeries> Series,
    IReadOnlyList<HostOutcome> Hosts,
    long ResolutionNs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StoppedBy = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? NextEventNs = null)
{
    /// <summary><see cref="StoppedBy"/> of a workload its drain limit ended with connections still open.</summary>
    public const string StoppedByDrainLimit = "drainLimit";
}
