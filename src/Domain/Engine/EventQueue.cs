using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>Something the engine calls back when its scheduled item comes due.</summary>
public interface IEventTarget
{
    /// <summary>Handles a due item; <paramref name="payload"/> is what was scheduled with it.</summary>
    void OnDue(Simulation sim, object? payload);
}

/// <summary>One scheduled item: a target, a payload, and the timer generation it was armed with (0: not a timer).</summary>
public readonly record struct ScheduledItem(SimTime At, long Seq, IEventTarget Target, object? Payload, SimTimer? Timer, long Generation);

/// <summary>
/// Pending items ordered by (time, insertion sequence): ties come out FIFO, as in ns-3's
/// scheduler.h and SimSharp's EventQueue.
/// </summary>
public sealed class EventQueue
{
    readonly PriorityQueue<ScheduledItem, (long At, long Seq)> _heap = new();
    long _nextSeq;

    public int Count => _heap.Count;

    public void Enqueue(SimTime at, IEventTarget target, object? payload, SimTimer? timer = null, long generation = 0)
    {
        var seq = _nextSeq++;
        _heap.Enqueue(new ScheduledItem(at, seq, target, payload, timer, generation), (at.Ns, seq));
    }

    public bool TryPeekTime(out SimTime at)
    {
        if (_heap.TryPeek(out var item, out _))
        {
            at = item.At;
            return true;
        }
        at = default;
        return false;
    }

    public ScheduledItem Dequeue() => _heap.Dequeue();
}
