namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// The log scope of a request on one simulation: its id as the structured field <c>SimulationId</c>, as a dictionary of
/// one entry gave it, for one small object per request instead of a dictionary, its arrays and a boxed id (the id is
/// boxed only when a logger reads the scope).
/// </summary>
public sealed class SimulationLogScope(Guid simulationId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public Guid SimulationId => simulationId;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new("SimulationId", simulationId) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"SimulationId:{simulationId}";
}
