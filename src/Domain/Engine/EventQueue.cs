using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>Something the engine calls back when its scheduled item comes due.</summary>
public interface IEventTarget
{
    /// <summary>Handles a due item; <paramref name="payload"/> is what was scheduled with it.</summary>
    void OnDue(Simulation sim, object? payload);
}

/// <summary>
/// One scheduled item: a target, a payload, and the timer generation it was armed with (0: not a
/// timer; a timer's item has the <see cref="SimTimer"/> as its target and payload, or an <see cref="ITimerOwner"/>
/// and the key of its embedded timer). Its time and insertion order
/// are where it sits in the queue, not fields of its own: 24 bytes an item.
/// </summary>
public readonly record struct ScheduledItem(IEventTarget Target, object? Payload, long Generation)
{
    /// <summary>The timer object this item was armed for, or null for a plain item, a vacated one or an embedded timer's.</summary>
    public SimTimer? Timer => Generation > 0 ? Target as SimTimer : null;

    /// <summary>
    /// What the item of a cancelled or re-armed timer becomes (<see cref="EventQueue.Vacate"/>): it still comes due
    /// and is popped like the stale item it was, but it references nothing.
    /// </summary>
    public bool Vacated => Generation < 0;

    internal static readonly ScheduledItem VacatedItem = new(NoTarget.Instance, null, -1);

    sealed class NoTarget : IEventTarget
    {
        public static readonly NoTarget Instance = new();
        public void OnDue(Simulation sim, object? payload) { }
    }
}

/// <summary>
/// Pending items ordered by (time, insertion sequence): ties come out FIFO, as in ns-3's
/// scheduler.h and SimSharp's EventQueue.
/// </summary>
/// <remarks>
/// Items are kept in one FIFO bucket per distinct due time, and only the distinct times are in a heap:
/// an item appended to its time's bucket is after every item already there, so a bucket drained from
/// its head gives exactly the (time, sequence) order. Most items share a few times — segments arrive
/// one link delay after a whole millisecond, and every socket timer runs on a timer-wheel bucket
/// boundary (<see cref="Jiffies.WheelFires"/>), 2 s apart for a TIME-WAIT — so enqueue and dequeue cost
/// a dictionary probe and an array slot, the heap stays small, and an item takes 24 bytes.
/// </remarks>
public sealed class EventQueue
{
    /// <summary>Items per chunk: 64 × 24 B, well below the large-object heap, recycled through a free list.</summary>
    const int ChunkSize = 64;

    /// <summary>Chunks kept for reuse at most (1.5 MB): beyond that a drained chunk is left to the GC.</summary>
    const int PooledChunks = 1024;

    internal sealed class Chunk
    {
        public readonly ScheduledItem[] Items = new ScheduledItem[ChunkSize];
        public Chunk? Next;
    }

    /// <summary>The items due at one time, in insertion order: a list of chunks read from the head, written at the tail.</summary>
    sealed class Bucket(long at, Chunk first)
    {
        public readonly long At = at;
        public Chunk Head = first, Tail = first;
        public int HeadIndex, TailIndex;
    }

    readonly Dictionary<long, Bucket> _buckets = [];
    readonly PriorityQueue<Bucket, long> _times = new();
    Chunk? _freeChunks;
    int _freeChunkCount;
    Bucket? _last;
    int _count;

    public int Count => _count;

    public void Enqueue(SimTime at, IEventTarget target, object? payload, long generation = 0) => Put(at, target, payload, generation);

    /// <summary>
    /// Queues the item of a timer armed with <paramref name="generation"/>, and tells the timer where it sits so
    /// that cancelling or re-arming it can vacate the slot (<see cref="Vacate"/>).
    /// </summary>
    internal void EnqueueTimer(SimTime at, SimTimer timer, long generation) => EnqueueTimer(at, timer, timer, ref timer.State, generation);

    /// <summary>The same for any timer: its item is (target, key, generation), and its state learns where the item sits.</summary>
    internal void EnqueueTimer(SimTime at, IEventTarget target, object key, ref TimerState state, long generation)
    {
        var (chunk, index) = Put(at, target, key, generation);
        state.QueueChunk = chunk;
        state.QueueIndex = (byte)index; // < ChunkSize
    }

    /// <summary>
    /// Models del_timer() detaching the timer_list from its wheel bucket: the slot of a timer's pending item no
    /// longer references the timer (nor its owner), so a cancelled timer pins nothing while its item waits. The
    /// slot itself stays and is popped at its time as the stale item it was (same clock moves, same
    /// <see cref="Simulation.EventsProcessed"/>).
    /// </summary>
    internal static void Vacate(Chunk chunk, int index, object target, object key, long generation)
    {
        ref var slot = ref chunk.Items[index];
        if (ReferenceEquals(slot.Target, target) && ReferenceEquals(slot.Payload, key) && slot.Generation == generation) slot = ScheduledItem.VacatedItem;
    }

    (Chunk Chunk, int Index) Put(SimTime at, IEventTarget target, object? payload, long generation)
    {
        var bucket = _last is { } last && last.At == at.Ns ? last : BucketFor(at.Ns);
        if (bucket.TailIndex == ChunkSize)
        {
            var chunk = RentChunk();
            bucket.Tail.Next = chunk;
            bucket.Tail = chunk;
            bucket.TailIndex = 0;
        }
        int index = bucket.TailIndex++;
        bucket.Tail.Items[index] = new ScheduledItem(target, payload, generation);
        _count++;
        return (bucket.Tail, index);
    }

    Bucket BucketFor(long at)
    {
        if (!_buckets.TryGetValue(at, out var bucket))
        {
            bucket = new Bucket(at, RentChunk());
            _buckets.Add(at, bucket);
            _times.Enqueue(bucket, at);
        }
        _last = bucket;
        return bucket;
    }

    Chunk RentChunk()
    {
        if (_freeChunks is not { } chunk) return new Chunk();
        _freeChunks = chunk.Next;
        _freeChunkCount--;
        chunk.Next = null;
        return chunk;
    }

    void ReturnChunk(Chunk chunk)
    {
        if (_freeChunkCount >= PooledChunks) return; // every slot was cleared as it was taken
        chunk.Next = _freeChunks;
        _freeChunks = chunk;
        _freeChunkCount++;
    }

    public bool TryPeekTime(out SimTime at)
    {
        if (_times.TryPeek(out _, out var ns))
        {
            at = new SimTime(ns);
            return true;
        }
        at = default;
        return false;
    }

    public ScheduledItem Dequeue() => Dequeue(out _);

    /// <summary>Takes the first item, and says when it is due.</summary>
    public ScheduledItem Dequeue(out SimTime at)
    {
        var bucket = _times.Peek();
        at = new SimTime(bucket.At);
        var head = bucket.Head;
        var item = head.Items[bucket.HeadIndex];
        head.Items[bucket.HeadIndex++] = default; // a drained slot pins nothing
        _count--;
        if (bucket.HeadIndex == ChunkSize && head.Next is { } next)
        {
            bucket.Head = next;
            bucket.HeadIndex = 0;
            ReturnChunk(head);
        }
        else if (head == bucket.Tail && bucket.HeadIndex == bucket.TailIndex)
        {
            _times.Dequeue();
            _buckets.Remove(bucket.At);
            if (ReferenceEquals(_last, bucket)) _last = null;
            ReturnChunk(head);
        }
        return item;
    }
}
