using System.Collections.Immutable;
using SimService.Domain.Engine;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>
/// A validated scenario document (docs/scenario-format.md, format v1), every default filled in and
/// every step time resolved. List members compare by reference; compare documents through
/// <see cref="ScenarioWriter.ToJson"/> when value equality is needed.
/// </summary>
public sealed record ScenarioDocument(
    string Name,
    string? Description,
    KernelProfile Kernel,
    long Seed,
    ImmutableArray<ScenarioHost> Hosts,
    ImmutableArray<ScenarioNat> Nats,
    ImmutableArray<ScenarioLink> Links,
    ImmutableArray<ScenarioStep> Steps,
    FinalExpect? Expect,
    SimDuration? RunUntil,
    int? EngineRules = null)
{
    /// <summary>Run time after the last step when <see cref="RunUntil"/> is omitted and the queue never drains.</summary>
    public static readonly SimDuration IdleCap = SimDuration.FromSeconds(3600);

    /// <summary>
    /// Where the document's hosts pass <paramref name="limit"/>, counted as a run makes them: its <c>hosts</c> (at
    /// <c>$.hosts</c>), then every workload step's <c>generatedClients</c> in turn (at that step's field), with the
    /// total made by then; null when all of them stay within it.
    /// </summary>
    public (string Path, long Hosts)? HostsPast(long limit)
    {
        long hosts = Hosts.Length;
        if (hosts > limit) return ("$.hosts", hosts);
        foreach (var step in Steps)
        {
            if (step is not WorkloadStep workload) continue;
            hosts += workload.Spec.GeneratedClients;
            if (hosts > limit) return (WorkloadStep.GeneratedClientsPath(step.Path), hosts);
        }
        return null;
    }
}

/// <summary>Whether a host runs the simulated kernel or only replays <c>inject</c> steps.</summary>
public enum ScenarioHostKind
{
    /// <summary>A simulated Linux kernel (the default).</summary>
    Linux,
    /// <summary>No kernel: sends what inject steps say and records what it receives.</summary>
    Scripted,
}

/// <summary>
/// A host: its name, IPv4 address (network order, 10.0.0.1 = 0x0A000001), sysctls in document order, NAT and kind,
/// and any further addresses of its own (default when it has none; 127.0.0.1 on lo comes with every host).
/// </summary>
public sealed record ScenarioHost(
    string Name,
    uint Address,
    ImmutableArray<SysctlSetting> Sysctls,
    string? BehindNat,
    ScenarioHostKind Kind,
    ImmutableArray<uint>? Addresses = null);

/// <summary>One sysctl write as <c>sysctl -w Name=Text</c> would make it; integers are their decimal text.</summary>
public sealed record SysctlSetting(string Name, string Text);

/// <summary>A NAT entry of the top-level <c>nats</c> object.</summary>
public sealed record ScenarioNat(string Name, uint Address);

/// <summary>
/// A symmetric link between hosts A and B with a one-way delay and a loss probability, drawn from the generator or
/// (<paramref name="LossBySegment"/>) from what each segment is (<see cref="Network.SegmentLoss"/>).
/// </summary>
public sealed record ScenarioLink(string A, string B, SimDuration Delay, double Loss, bool LossBySegment = false)
{
    /// <summary>The format's default one-way delay, "0.05ms".</summary>
    public static readonly SimDuration DefaultDelay = SimDuration.FromMicroseconds(50);

    /// <summary>The unordered pair of host names a link joins, in one order whichever way round they are named.</summary>
    public static (string, string) Pair(string x, string y) => string.CompareOrdinal(x, y) <= 0 ? (x, y) : (y, x);
}
