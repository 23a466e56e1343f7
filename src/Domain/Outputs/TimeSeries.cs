using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Observability;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Domain.Workloads;

namespace SimService.Domain.Outputs;

/// <summary>One host's numbers at one virtual time: sockets by state as ss lists them, orphans, and sockstat's mem (pages).</summary>
public sealed record HostSample(long AtNs, int Established, int TimeWait, int FinWait2, int CloseWait, int Orphans, long MemPages)
{
    /// <summary>
    /// Counts the host's rows as `ss -tan` shows them (SocketListing): ESTABLISHED, TIME-WAIT,
    /// FIN-WAIT-2 (full sockets and timewait entries in the FIN_WAIT2 substate), CLOSE-WAIT; orphans
    /// and mem as /proc/net/sockstat prints them (tcp_orphan_count, proto_memory_allocated). O(1): the per-state counts
    /// the host keeps (as a workload's own samples read them), not a walk over its sockets at every sample — a replay for
    /// 240 points of a host with 10,000 sockets walked 2.4 million rows.
    /// </summary>
    public static HostSample Of(Host host, SimTime at) =>
        new(at.Ns, host.CountInState(TcpState.Established), host.TimeWaitRows, host.FinWait2Rows, host.CountInState(TcpState.CloseWait),
            host.OrphanCount, host.TcpMemPages);
}

/// <summary>
/// A host's limits drawn on its chart: net.ipv4.tcp_max_tw_buckets, the TIME-WAIT count at which the kernel then keeps no
/// more (<see cref="SysctlTable.TimeWaitLimit"/>: null for none — a negative tcp_max_tw_buckets on linux-6; 0 for a
/// negative one on linux-4.4), and the size of ip_local_port_range.
/// </summary>
public sealed record HostLimits(long TcpMaxTwBuckets, long EphemeralPorts, long? TimeWaitLimit);

public sealed record HostTimeSeries(string Host, HostLimits Limits, IReadOnlyList<HostSample> Points);

/// <summary>
/// Samples a simulation while it runs: attach it to a fresh engine before the engine replays its
/// inputs, and it records every host at each requested time, as the state stood after everything
/// due at or before that time (Simulation.ClockAdvancing tells it when the clock is about to pass
/// one). Times after the end of the run are not sampled: the future is unknown.
/// </summary>
public sealed class TimeSampler
{
    readonly IReadOnlyList<SimTime> _times;
    readonly Action<Simulation, SimTime> _sample;
    int _next;

    public TimeSampler(IReadOnlyList<SimTime> ascendingTimes, Action<Simulation, SimTime> sample)
    {
        _times = ascendingTimes;
        _sample = sample;
    }

    /// <summary>A sampler that adds every host's counts (<see cref="HostSample.Of"/>) to <paramref name="samples"/>, by host name, at each time.</summary>
    public static TimeSampler HostCounts(IReadOnlyList<SimTime> ascendingTimes, Dictionary<string, List<HostSample>> samples) =>
        new(ascendingTimes, (sim, at) =>
        {
            foreach (var h in sim.Hosts)
            {
                if (!samples.TryGetValue(h.Name, out var list)) samples[h.Name] = list = [];
                list.Add(HostSample.Of(h, at));
            }
        });

    public void Attach(Simulation sim) => sim.ClockAdvancing += OnClockAdvancing;

    void OnClockAdvancing(Simulation sim, SimTime next)
    {
        while (_next < _times.Count && _times[_next] < next) _sample(sim, _times[_next++]);
    }

    /// <summary>Samples the times up to the end of the run (the clock's final value).</summary>
    public void Finish(Simulation sim)
    {
        while (_next < _times.Count && _times[_next] <= sim.Now) _sample(sim, _times[_next++]);
    }

    /// <summary><paramref name="points"/> times evenly spread over [from, to], both included.</summary>
    public static IReadOnlyList<SimTime> Evenly(SimTime from, SimTime to, int points)
    {
        if (points < 2 || to <= from) return [from];
        // Whole nanoseconds, the product in 128 bits: in doubles the instants near the clock's maximum fell between
        // representable values (the last 512 ns short of toNs; tester38 LOW-6).
        return [.. Enumerable.Range(0, points).Select(i => new SimTime(from.Ns + (long)((Int128)(to.Ns - from.Ns) * i / (points - 1))))];
    }

    /// <summary>
    /// The series a replay of the log with a sampler at <paramref name="times"/> gives, read from what a workload of the
    /// simulation already knows (<see cref="Workload.SettledSamples"/>: its hosts are the simulation's, every time is one
    /// of its sample instants), or null when none does — then only a replay knows.
    /// </summary>
    public static IReadOnlyList<HostTimeSeries>? FromWorkloads(Simulation sim, IReadOnlyList<SimTime> times)
    {
        for (int i = sim.Workloads.Count - 1; i >= 0; i--)
            if (sim.Workloads[i].SettledSamples(times) is { } samples) return Series(sim, samples);
        return null;
    }

    /// <summary>Per-host series at the given times, the limits read from each host's sysctls at the end.</summary>
    public static IReadOnlyList<HostTimeSeries> Series(Simulation replayed, IReadOnlyDictionary<string, List<HostSample>> samples) =>
    [
        .. replayed.Hosts.Select(h => new HostTimeSeries(h.Name,
            new HostLimits(h.Sysctls.TcpMaxTwBuckets, h.Sysctls.PortRangeHigh - h.Sysctls.PortRangeLow + 1, h.Sysctls.TimeWaitLimit),
            samples.TryGetValue(h.Name, out var list) ? list : [])),
    ];
}
