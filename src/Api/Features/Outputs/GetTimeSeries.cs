using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Api.Features.Outputs;

/// <param name="FromNs">First sample's time.</param>
/// <param name="ToNs">Last sample's time (at most the simulation's clock).</param>
/// <param name="Hosts">Per host: its limits and the samples.</param>
public sealed record TimeSeriesResponse(long FromNs, long ToNs, IReadOnlyList<HostTimeSeries> Hosts, long Version) : IVersioned;

/// <summary>Per-host socket counts and sockstat mem over virtual time, sampled at <c>points</c> evenly spaced times.</summary>
public sealed record GetTimeSeries(Guid SimulationId, long? FromNs, long? ToNs, int Points) : IQuery<Outcome<TimeSeriesResponse>>;

public sealed class GetTimeSeriesHandler(LiveSimulations simulations, History history, LookBackCache cache) : IQueryHandler<GetTimeSeries, Outcome<TimeSeriesResponse>>
{
    public const int DefaultPoints = 240;
    public const int MaxPoints = 5000;

    public async ValueTask<Outcome<TimeSeriesResponse>> Handle(GetTimeSeries query, CancellationToken cancellationToken)
    {
        if (TimeRange.Validate(query.SimulationId, query.FromNs, query.ToNs) is { } invalid) return invalid;
        if (query.Points is < 2 or > MaxPoints)
            return new RequestInvalid("points", $"points is between 2 and {MaxPoints}.", query.SimulationId);

        var now = await simulations.ReadAsync(query.SimulationId, (engine, run) => (Outcome<(long, long)>)(engine.Now.Ns, run.Version), cancellationToken);
        if (!now.TryGet(out var state, out var failure)) return failure;
        var (clockEnd, version) = state;
        var samples = new Dictionary<string, List<HostSample>>(StringComparer.Ordinal);
        var from = new SimTime(query.FromNs ?? 0);
        var to = new SimTime(Math.Min(query.ToNs ?? clockEnd, clockEnd));
        if (to < from) to = from;
        if (cache.Find(query.SimulationId, version, from.Ns, to.Ns, query.Points) is { } known) return known;
        var sampler = new TimeSampler(TimeSampler.Evenly(from, to, query.Points), (sim, at) =>
        {
            foreach (var h in sim.Hosts)
            {
                if (!samples.TryGetValue(h.Name, out var list)) samples[h.Name] = list = [];
                list.Add(HostSample.Of(h, at));
            }
        });
        var replay = await history.ReplayAsync(query.SimulationId, sampler.Attach, cancellationToken);
        if (!replay.TryGet(out var r, out var stopped)) return stopped;
        sampler.Finish(r.Replayed);
        var series = new TimeSeriesResponse(from.Ns, to.Ns, TimeSampler.Series(r.Replayed, samples), r.Run.Version);
        if (r.Run.Version == version) cache.Keep(query.SimulationId, series, query.Points);
        return series;
    }
}
