using System.Text.Json;
using SimService.Domain.Commands;
using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Outputs;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Tests.Outputs;

/// <summary>
/// A time series over a workload's own sample instants, read from the workload (TimeSampler.FromWorkloads), is the one a
/// replay of the log with a sampler gives — also where the workload's sample, taken when its tick popped, was not yet the
/// state the clock left the instant with (an arrival and deliveries share every whole millisecond here).
/// </summary>
public class WorkloadSeriesTests
{
    static readonly WorkloadSpec Churn = new()
    {
        Clients = ["client"], Server = "server", Port = 80, Count = 300, Rate = 1000, RequestBytes = 100, ResponseBytes = 200,
        Resolution = SimDuration.FromMilliseconds(10), Level = JournalLevel.Counters,
    };

    static List<SimCommand> Log(WorkloadSpec spec, params SimCommand[] after) =>
    [
        new AddHostCommand("client", "10.0.0.1", HostKind.Linux, []),
        new AddHostCommand("server", "10.0.0.2", HostKind.Linux, []),
        new AddLinkCommand("client", "server", SimDuration.FromMilliseconds(1), 0),
        new WorkloadCommand(spec),
        .. after,
    ];

    static Simulation Run(IReadOnlyList<SimCommand> log, Action<Simulation>? attach = null)
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 3);
        attach?.Invoke(sim);
        foreach (var c in log)
        {
            var o = CommandApplier.Apply(sim, c);
            Assert.True(o.IsOk, o.Error?.Message);
        }
        return sim;
    }

    /// <summary>The series a replay of <paramref name="log"/> with a sampler at <paramref name="times"/> gives, as JSON.</summary>
    static string Replayed(IReadOnlyList<SimCommand> log, IReadOnlyList<SimTime> times)
    {
        var samples = new Dictionary<string, List<HostSample>>(StringComparer.Ordinal);
        var sampler = TimeSampler.HostCounts(times, samples);
        var replayed = Run(log, sampler.Attach);
        sampler.Finish(replayed);
        return JsonSerializer.Serialize(TimeSampler.Series(replayed, samples));
    }

    static string Known(Simulation live, IReadOnlyList<SimTime> times)
    {
        var known = TimeSampler.FromWorkloads(live, times);
        Assert.NotNull(known);
        return JsonSerializer.Serialize(known);
    }

    /// <summary>The workload's own samples at <paramref name="times"/>, as they are, as JSON: a series that would be wrong.</summary>
    static string OwnSamples(Simulation live, IReadOnlyList<SimTime> times)
    {
        var own = live.FindWorkload(1)!.Result().Series.ToDictionary(s => s.Host, s => times.Select(t => s.Samples.Last(p => p.AtNs == t.Ns))
            .Select(p => new HostSample(p.AtNs, p.Established, p.TimeWait, p.FinWait2, p.CloseWait, p.Orphans, p.MemPages)).ToList());
        return JsonSerializer.Serialize(TimeSampler.Series(live, own));
    }

    [Theory]
    [InlineData(0, 300, 31)] // every sample of the arrivals
    [InlineData(0, 300, 16)] // every other one
    [InlineData(100, 200, 3)] // a window inside
    public void Workload_SeriesOverItsSampleInstants_EqualsTheReplayed(long fromMs, long toMs, int points)
    {
        var log = Log(Churn);
        var live = Run(log);
        var times = TimeSampler.Evenly(new SimTime(fromMs * 1_000_000), new SimTime(toMs * 1_000_000), points);

        Assert.Equal(Replayed(log, times), Known(live, times));
        // The workload's own samples were taken before the instant's arrival and deliveries: at some instant they differ
        // from the state the clock left it with, which the replay reads, so the series is not simply its samples.
        Assert.NotEqual(Replayed(log, times), OwnSamples(live, times));
    }

    [Fact]
    public void Workload_EndInstant_ReadFromTheHostsUntilTheClockLeavesItThenFromWhatItLeftWith()
    {
        // A connection of process "keep" on port 81 is open before the workload and killed at the instant the workload
        // ended, by a later command: its ESTABLISHED socket becomes an orphan in FIN-WAIT-1 before the clock moves on.
        var log = Log(Churn);
        log.Insert(3, new OpenConnectionCommand("client", "server", 81, "keep", "keep", null, false, 128, 1_000_000, SimDuration.FromSeconds(1)));
        log.Add(new KillCommand("client", "keep", "SIGKILL"));
        var live = Run(log);
        var workload = live.FindWorkload(1)!;
        var times = TimeSampler.Evenly(workload.StartedAt, workload.EndedAt, 2);
        Assert.Equal(live.Now, workload.EndedAt);
        var ownEnd = workload.Result().Series.Single(s => s.Host == "client").Samples[^1];
        Assert.NotEqual(ownEnd.Orphans, live.FindHost("client")!.OrphanCount);
        Assert.Equal(Replayed(log, times), Known(live, times));

        // The clock leaves the instant: the end's counts are those it left with.
        log.Add(new AdvanceCommand(AdvanceMode.By, SimDuration.FromSeconds(1), 1_000_000));
        var after = Run(log);
        Assert.Equal(Replayed(log, times), Known(after, times));
    }

    [Fact]
    public void Workload_CoarsenedSeries_EqualsTheReplayedOnItsCoarserGrid()
    {
        // 3 ms samples over a run of about 31 s (the server thinks 31 s): past 10,000 samples the resolution doubles.
        var spec = Churn with { Resolution = SimDuration.FromMilliseconds(3), ThinkTime = SimDuration.FromSeconds(31) };
        var log = Log(spec);
        var live = Run(log);
        Assert.Equal(6_000_000, live.FindWorkload(1)!.Resolution.Ns);
        var times = TimeSampler.Evenly(SimTime.Zero, new SimTime(30_000_000_000), 2501); // every 12 ms
        Assert.Equal(Replayed(log, times), Known(live, times));
        Assert.NotEqual(Replayed(log, times), OwnSamples(live, times));
    }

    [Fact]
    public void Workload_HostOutsideItOrTimeOffItsGrid_NotKnown()
    {
        var live = Run(Log(Churn));
        Assert.Null(TimeSampler.FromWorkloads(live, TimeSampler.Evenly(SimTime.Zero, new SimTime(305_000_000), 62))); // every 5 ms
        Assert.Null(TimeSampler.FromWorkloads(live, [new SimTime(310_000_000)])); // after its end

        var withIdleHost = Run(Log(Churn, new AddHostCommand("idle", "10.0.0.3", HostKind.Linux, [])));
        Assert.Null(TimeSampler.FromWorkloads(withIdleHost, TimeSampler.Evenly(SimTime.Zero, new SimTime(300_000_000), 31)));
    }
}
