using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Determinism;

/// <summary>
/// tester39 LOW-7 / fixt39b: a log whose second workload stops at the clock's maximum was read as rebuilding to
/// …472010000001 in one process and …472010000000 in fresh ones. The engine rebuilds it to the same clock every time
/// (determ39: the fresh processes' raw answers say …001 too); the …000 was jq 1.6, which reads JSON numbers as doubles —
/// 3155689472010000001 is not one (above 2^53 a double steps by 512), and 3155760000020000001 printed as …020000300.
/// </summary>
public class HorizonReplayTests
{
    /// <summary>The stored log (seed 0, engine rules 4): client/server over 1 ms; two workloads of 2 connections at 100/s,
    /// drain limits 1 ns and 3,155,760,000 s (the second's server took the first's abandoned connection); a 1 s advance.</summary>
    static List<SimCommand> Log() =>
    [
        new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
        Workload(new SimDuration(1)),
        Workload(SimDuration.FromSeconds(3_155_760_000)),
        new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 10_000),
    ];

    static WorkloadCommand Workload(SimDuration drainLimit) =>
        new(new WorkloadSpec { Clients = ["client"], Server = "server", Rate = 100, Count = 2, DrainLimit = drainLimit }.WithDefaultResolution());

    /// <summary>What a rebuild reaches: the horizon workload's outcome, the clock after it and after the advance, the events.</summary>
    static (long EndedAt, long? NextEvent, long Events, long Resolution, string? StoppedBy, long NowAfterWorkload, long NowAtEnd, long EventsAtEnd,
        string Series) Rebuild(long seed = 0)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed) { EngineRules = 4 };
        WorkloadResult? horizon = null;
        long nowAfterWorkload = 0;
        foreach (var command in Log())
        {
            var o = CommandApplier.Apply(sim, command);
            Assert.True(o.IsOk, o.Error?.Message);
            if (o.Workload is { Id: 2 } w) (horizon, nowAfterWorkload) = (w, sim.Now.Ns);
        }
        var series = string.Join(";", horizon!.Series.SelectMany(s => s.Samples.TakeLast(3).Select(x => $"{s.Host}@{x.AtNs}:{x.Established}/{x.CloseWait}")));
        return (horizon.EndedAtNs, horizon.NextEventNs, horizon.Events, horizon.ResolutionNs, horizon.StoppedBy, nowAfterWorkload, sim.Now.Ns,
            sim.EventsProcessed, series);
    }

    /// <summary>
    /// The log rebuilds to the same clock, events and series before and after other work in the same process (another
    /// seed's rebuild, string-keyed hash sets filled and iterated): the clock stops at the last sample before the maximum,
    /// w2's start (10.000001 ms) + 6019 × 524288 s, its next event the drain timer (last arrival 20.000001 ms + the limit).
    /// </summary>
    [Fact]
    public void HorizonWorkloadLog_RebuildsToTheSameClock_BeforeAndAfterOtherWork()
    {
        var first = Rebuild();
        Assert.Equal((10_000_001 + 6019 * 524_288_000_000_000L, (long?)3_155_760_000_020_000_001, 101_095L, 524_288_000_000_000L, "horizon"),
            (first.EndedAt, first.NextEvent, first.Events, first.Resolution, first.StoppedBy));
        Assert.Equal((3_155_689_472_010_000_001, 3_155_689_473_010_000_001), (first.NowAfterWorkload, first.NowAtEnd));

        Rebuild(seed: 7);
        var names = new HashSet<string>(Enumerable.Range(0, 1000).Select(i => $"w{i}-srv"));
        Assert.Equal(1000, names.Count(n => n.EndsWith("-srv")));

        Assert.Equal(first, Rebuild());
    }
}
