using Mediator;
using SimService.Api.Infrastructure;
using SimService.Api.Infrastructure.Engines;
using SimService.Domain.Outputs;
using SimService.Domain.Time;

namespace SimService.Api.Features.Outputs;

/// <param name="FromNs">First sample's time (at most the simulation's clock: a later one is a 400 naming fromNs).</param>
/// <param name="ToNs">Last sample's time (at most the simulation's clock).</param>
/// <param name="Hosts">Per host: its limits and the samples.</param>
public sealed record TimeSeriesResponse(long FromNs, long ToNs, IReadOnlyList<HostTimeSeries> Hosts, long Version) : IVersioned;

/// <summary>
/// Per-host socket counts and sockstat mem over virtual time, sampled at <c>points</c> evenly spaced times — at most one per
/// nanosecond of the range (fromNs 1 to toNs 3 gives 3 points, whatever more <c>points</c> asks).
/// </summary>
public sealed record GetTimeSeries(Guid SimulationId, long? FromNs, long? ToNs, int Points) : IQuery<Outcome<TimeSeriesResponse>>;

/// <summary>
/// Answers from what is known before replaying: a series computed already (<see cref="LookBackCache"/>), or a workload's own
/// samples when they cover the request (<see cref="TimeSampler.FromWorkloads"/>); only otherwise is the log replayed
/// (<see cref="History.TimeSeriesAsync"/>).
/// </summary>
public sealed class GetTimeSeriesHandler(LiveSimulations simulations, History history, LookBackCache cache) : IQueryHandler<GetTimeSeries, Outcome<TimeSeriesResponse>>
{
    public const int DefaultPoints = 240;
    public const int MaxPoints = 5000;

    public async ValueTask<Outcome<TimeSeriesResponse>> Handle(GetTimeSeries query, CancellationToken cancellationToken)
    {
        if (TimeRange.Validate(query.SimulationId, query.FromNs, query.ToNs) is { } invalid) return invalid;
        if (query.Points is < 2 or > MaxPoints)
            return new RequestInvalid("points", $"points is between 2 and {MaxPoints}.", query.SimulationId);

        var live = await simulations.ReadAsync(query.SimulationId, (engine, run) =>
        {
            // A start past the clock is a 400 naming fromNs, as socket-table's atNs: it was a 200 with no points (and an
            // empty chart), a future the simulation has not run.
            if (TimeRange.PastClock(query.SimulationId, query.FromNs, engine.Now) is { } future) return future;
            var from = new SimTime(query.FromNs ?? 0);
            var to = new SimTime(Math.Min(query.ToNs ?? engine.Now.Ns, engine.Now.Ns));
            if (to < from) to = from;
            // At most one point per nanosecond of the range: 5,000 points over 3 ns repeated each instant ~1,700 times.
            int points = (int)Math.Min(query.Points, to.Ns - from.Ns + 1);
            var known = cache.Find(query.SimulationId, run.Version, from.Ns, to.Ns, points)
                ?? (TimeSampler.FromWorkloads(engine, TimeSampler.Evenly(from, to, points)) is { } hosts
                    ? new TimeSeriesResponse(from.Ns, to.Ns, hosts, run.Version) : null);
            return (Outcome<(SimTime, SimTime, int, long, TimeSeriesResponse?)>)(from, to, points, run.Version, known);
        }, cancellationToken);
        if (!live.TryGet(out var state, out var failure)) return failure;
        var (from, to, points, version, known) = state;
        if (known is not null) return known;
        var replayed = await history.TimeSeriesAsync(query.SimulationId, from, to, points, cancellationToken);
        if (replayed.TryGet(out var series, out _) && series.Version == version) cache.Keep(query.SimulationId, series, points);
        return replayed;
    }
}
