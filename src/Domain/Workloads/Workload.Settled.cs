using SimService.Domain.Engine;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Domain.Workloads;

/// <summary>
/// A workload's samples as a look back in time sees them. A sample is taken when its tick pops, and other items due at
/// the same instant may still follow it (an arrival, a delivery one link delay after a send), as may commands applied
/// before the clock moves on; a look back (<see cref="TimeSampler"/>) reads the state as it stood when the clock left the
/// instant. The workload keeps both: its own samples, as it reports them, and — only where they differ — the counts at
/// the moment the clock left a sample's instant, so a time series over its sample instants needs no replay of the log.
/// </summary>
public sealed partial class Workload
{
    /// <summary>
    /// Per host (in <see cref="Hosts"/> order), by time: the counts when the clock left a sample's instant, where they
    /// differ from the sample taken there. Null for a host until it has one.
    /// </summary>
    readonly Dictionary<long, HostSample>?[] _settled;
    long _settledCount;

    /// <summary>Whether <see cref="OnClockLeaving"/> is subscribed: from a sample until the clock leaves its instant, so a
    /// churn's every other clock step (millions in W1) calls nothing.</summary>
    bool _watchingClock;

    /// <summary>
    /// Raised as the clock is about to leave the current instant (<see cref="Simulation.ClockAdvancing"/>): when the
    /// last sample was taken at this instant, the counts now are those a look back reads for it. Each sample subscribes it
    /// (<see cref="Sample"/>); it unsubscribes itself here, once the clock leaves the sample's instant.
    /// </summary>
    void OnClockLeaving(Simulation sim, SimTime next)
    {
        sim.ClockAdvancing -= OnClockLeaving;
        _watchingClock = false;
        Freeze(); // a workload that ended at this instant: its outcome is taken as the clock leaves it
        var series0 = _series[0];
        if (series0.Count == 0 || series0[^1].AtNs != sim.Now.Ns) return;
        for (int k = 0; k < _hosts.Length; k++)
        {
            var taken = _series[k][^1];
            var now = HostSample.Of(_hosts[k], sim.Now);
            if (SameCounts(taken, now)) continue;
            if ((_settled[k] ??= []).TryAdd(now.AtNs, now)) _settledCount++;
            else _settled[k]![now.AtNs] = now;
        }
    }

    static bool SameCounts(WorkloadSample s, HostSample h) =>
        s.Established == h.Established && s.TimeWait == h.TimeWait && s.FinWait2 == h.FinWait2 && s.CloseWait == h.CloseWait
        && s.Orphans == h.Orphans && s.MemPages == h.MemPages;

    /// <summary>After <see cref="Coarsen"/>: the settled counts of samples it dropped go too.</summary>
    void ForgetSettledOffTheSeries()
    {
        for (int k = 0; k < _hosts.Length; k++)
        {
            if (_settled[k] is not { } settled) continue;
            foreach (var at in settled.Keys.ToList())
            {
                if (LastSampleAt(at) >= 0) continue;
                settled.Remove(at);
                _settledCount--;
            }
        }
    }

    /// <summary>The index of the last sample taken at <paramref name="atNs"/> (samples are in time order), or -1.</summary>
    int LastSampleAt(long atNs)
    {
        var series = _series[0];
        int lo = 0, hi = series.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (series[mid].AtNs <= atNs)
            {
                if (series[mid].AtNs == atNs) found = mid;
                lo = mid + 1;
            }
            else hi = mid - 1;
        }
        return found;
    }

    /// <summary>
    /// Every host's counts at <paramref name="times"/> as a replay of the log with a <see cref="TimeSampler"/> would read
    /// them, or null when this workload does not know them all: the simulation's hosts must be this workload's (a host
    /// outside it may change at any time), and every time one of its sample instants. A sample at the current instant is
    /// read from the hosts now (the clock has not left it: a replay ends there and samples it last).
    /// </summary>
    public Dictionary<string, List<HostSample>>? SettledSamples(IReadOnlyList<SimTime> times)
    {
        if (_sim.Hosts.Count != _hosts.Length) return null; // the workload's hosts are distinct hosts of the simulation
        var at = new int[times.Count];
        for (int i = 0; i < times.Count; i++)
            if ((at[i] = LastSampleAt(times[i].Ns)) < 0) return null;
        var samples = new Dictionary<string, List<HostSample>>(_hosts.Length, StringComparer.Ordinal);
        for (int k = 0; k < _hosts.Length; k++)
        {
            var host = _hosts[k];
            var list = new List<HostSample>(at.Length);
            foreach (int i in at)
            {
                var s = _series[k][i];
                list.Add(s.AtNs == _sim.Now.Ns ? HostSample.Of(host, _sim.Now)
                    : _settled[k] is { } settled && settled.TryGetValue(s.AtNs, out var moved) ? moved
                    : new HostSample(s.AtNs, s.Established, s.TimeWait, s.FinWait2, s.CloseWait, s.Orphans, s.MemPages));
            }
            samples[host.Name] = list;
        }
        return samples;
    }
}
