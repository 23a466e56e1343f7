using Microsoft.Extensions.Caching.Memory;

namespace SimService.Api.Features.Outputs;

/// <summary>
/// Time series already computed, by simulation, version and range: a simulation's past does not change until its next
/// command (a new version), so the chart after the JSON, or the page's second look, costs no second replay of the log.
/// At most <see cref="Entries"/> series are kept (a series is at most 5,000 points a host), each for 10 minutes unused.
/// Only a request that has read the simulation as its tenant reaches it (<see cref="GetTimeSeriesHandler"/>).
/// </summary>
public sealed class LookBackCache : IDisposable
{
    public const int Entries = 64;

    private readonly MemoryCache _series = new(new MemoryCacheOptions { SizeLimit = Entries });

    public TimeSeriesResponse? Find(Guid simulationId, long version, long fromNs, long toNs, int points) =>
        _series.TryGetValue((simulationId, version, fromNs, toNs, points), out TimeSeriesResponse? found) ? found : null;

    public void Keep(Guid simulationId, TimeSeriesResponse series, int points) =>
        _series.Set((simulationId, series.Version, series.FromNs, series.ToNs, points), series,
            new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(10) });

    public void Dispose() => _series.Dispose();
}
