using SimService.Domain.Tcp;
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

    /// <summary>What the item of a dropped timer becomes (<see cref="EventQueue.Remove"/>): it never comes due.</summary>
    internal bool Removed => Generation == RemovedGeneration;

    internal static readonly ScheduledItem VacatedItem = new(NoTarget.Instance, null, -1);

    const long RemovedGeneration = -2;
    internal static readonly ScheduledItem RemovedItem = new(NoTarget.Instance, null, RemovedGeneration);

    sealed class NoTarget : IEventTarget
    {
        public static readonly NoTarget Instance = new();
        public void OnDue(Simulation sim, object? payload) { }
    }
}

/// <summary>
/// Pending items ordered by (time, insertion sequence): ties come out FIFO, as in ns-3's
/// scheduler.h and SimSharp's EventQueue — except timer-wheel expiries of one jiffy, which come out in the
/// order the kernel's timer softirq runs them (<see cref="OrderWheelTimers"/>).
/// </summary>
/// <remarks>
/// Items are kept in one FIFO bucket per distinct due time, and only the distinct times are in a heap:
/// an item appended to its time's bucket is after every item already there, so a bucket drained from
/// its head gives exactly the (time, sequence) order. Most items share a few times — segments arrive
/// one link delay after a whole millisecond, and every socket timer runs on a timer-wheel bucket
/// boundary (<see cref="Jiffies.WheelFires"/>), 2 s apart for a TIME-WAIT — so enqueue costs a look among the recent
/// buckets (a dictionary probe when its time is not one of them) and an array slot, dequeue an array slot, the heap stays
/// small, and an item takes 24 bytes.
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
        /// <summary>Each slot's <see cref="Jiffies.WheelRank"/>: 0 for an item that is not a timer-wheel expiry.</summary>
        public readonly byte[] Ranks = new byte[ChunkSize];
        public Chunk? Next;
    }

    /// <summary>
    /// The items due at one time, in insertion order: a list of chunks read from the head, written at the tail. A drained
    /// bucket goes to a free list for the next new time (a churn makes about one per connection).
    /// </summary>
    sealed class Bucket
    {
        public long At;
        public Chunk Head = null!, Tail = null!;
        public int HeadIndex, TailIndex;
        /// <summary>Whether its wheel timers were put in the kernel's order (at its first dequeue).</summary>
        public bool Ordered;
        /// <summary>How many timer-wheel expiries were queued in it (vacated ones too): fewer than two need no ordering.</summary>
        public int WheelItems;
        /// <summary>The next bucket of the free list (null while in use).</summary>
        public Bucket? NextFree;

        /// <summary>A new bucket's values: due at <paramref name="at"/>, empty, its first chunk <paramref name="first"/>.</summary>
        public void Init(long at, Chunk first)
        {
            At = at;
            Head = Tail = first;
            HeadIndex = TailIndex = 0;
            Ordered = false;
            WheelItems = 0;
        }
    }

    readonly Dictionary<long, Bucket> _buckets = [];
    readonly PriorityQueue<Bucket, long> _times = new();
    Chunk? _freeChunks;
    int _freeChunkCount;
    Bucket? _freeBuckets;
    int _freeBucketCount;
    /// <summary>
    /// The buckets items were last put in, by <see cref="RecentSlot"/> of their time: an item's time is mostly one of a few
    /// — now (a woken task, a call's return), one link delay on (a segment), a timer's wheel bucket — and they alternate:
    /// in W1 the one last bucket kept before held the item's time for 3 of the 28 items a lifecycle puts, these 32 slots
    /// for 21 (the session-36 note in docs/benchmarks-history.md). A slot is written only when the dictionary was
    /// probed, and emptied when its bucket drains.
    /// </summary>
    readonly Bucket?[] _recent = new Bucket?[RecentSlots];
    const int RecentSlots = 32;
    /// <summary>
    /// Whether the bucket the last item was taken from still holds more (<see cref="PeekBehind"/>): it is then the first
    /// bucket of <see cref="_times"/>. A flag, not a reference — a reference stored on every item taken cost a write barrier.
    /// </summary>
    bool _takingLive;
    int _count;
    /// <summary>Removed items still in their buckets (<see cref="Remove"/>): skipped, uncounted, before the queue is read.</summary>
    int _removed;
    /// <summary>
    /// Scratch arrays of <see cref="OrderWheelTimers"/>: the wheel-timer slots of the bucket being ordered, their (host,
    /// place) keys and a run's (rank, place) keys — plain longs, sorted without a comparer.
    /// </summary>
    WheelSlot[] _wheelSlots = new WheelSlot[16];
    long[] _wheelKeys = new long[16], _wheelOrder = new long[16];

    public int Count => _count;

    /// <summary>
    /// Chunks the queue holds, for a memory estimate: those kept for reuse, and at least one a bucket plus one per
    /// <see cref="ChunkSize"/> items (removed ones included) in use.
    /// </summary>
    public long ChunksHeld => _freeChunkCount + _buckets.Count + (_count + _removed) / ChunkSize;

    /// <summary>A chunk's bytes: its item and rank arrays with their headers, and the chunk object.</summary>
    public const int ChunkBytes = 1792;

    public void Enqueue(SimTime at, IEventTarget target, object? payload, long generation = 0, byte wheelRank = 0) =>
        Put(at, target, payload, generation, wheelRank);

    /// <summary>
    /// Queues the item of a timer armed with <paramref name="generation"/>, and tells the timer where it sits so
    /// that cancelling or re-arming it can vacate the slot (<see cref="Vacate"/>).
    /// </summary>
    internal void EnqueueTimer(SimTime at, SimTimer timer, long generation) => EnqueueTimer(at, timer, timer, ref timer.State, generation);

    /// <summary>The same for any timer: its item is (target, key, generation), and its state learns where the item sits.</summary>
    internal void EnqueueTimer(SimTime at, IEventTarget target, object key, ref TimerState state, long generation, byte wheelRank = 0)
    {
        var (chunk, index) = Put(at, target, key, generation, wheelRank);
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

    /// <summary>
    /// Takes a timer's pending item out of the queue altogether, unlike <see cref="Vacate"/>: it never comes due, moves
    /// no clock and counts in neither <see cref="Count"/> nor <see cref="Simulation.EventsProcessed"/>. For the engine's
    /// own timers that stand for no kernel timer_list (a workload's drain limit); the caller then cancels the timer.
    /// </summary>
    internal void Remove(ref TimerState state, object target, object key)
    {
        if (!state.Armed || state.QueueChunk is not { } chunk) return;
        ref var slot = ref chunk.Items[state.QueueIndex];
        if (!ReferenceEquals(slot.Target, target) || !ReferenceEquals(slot.Payload, key) || slot.Generation != state.Generation) return;
        slot = ScheduledItem.RemovedItem;
        _count--;
        _removed++;
    }

    /// <summary>Drops the removed items at the front of the queue, so the first item left is a live one.</summary>
    void SkipRemoved()
    {
        while (_removed > 0 && _times.TryPeek(out var bucket, out _) && bucket.Head.Items[bucket.HeadIndex].Removed)
        {
            Take(bucket);
            _removed--;
        }
    }

    /// <summary>The wheel rank of an armed timer's pending item (0: none pending, or not a wheel item).</summary>
    internal static byte RankOf(ref TimerState state) => state.QueueChunk is { } chunk ? chunk.Ranks[state.QueueIndex] : (byte)0;

    (Chunk Chunk, int Index) Put(SimTime at, IEventTarget target, object? payload, long generation, byte wheelRank)
    {
        var bucket = _recent[RecentSlot(at.Ns)] is { } recent && recent.At == at.Ns ? recent : BucketFor(at.Ns);
        if (bucket.TailIndex == ChunkSize)
        {
            var chunk = RentChunk();
            bucket.Tail.Next = chunk;
            bucket.Tail = chunk;
            bucket.TailIndex = 0;
        }
        int index = bucket.TailIndex++;
        bucket.Tail.Items[index] = new ScheduledItem(target, payload, generation);
        bucket.Tail.Ranks[index] = wheelRank;
        if (wheelRank != 0) bucket.WheelItems++;
        _count++;
        return (bucket.Tail, index);
    }

    Bucket BucketFor(long at)
    {
        if (!_buckets.TryGetValue(at, out var bucket))
        {
            bucket = RentBucket();
            bucket.Init(at, RentChunk());
            _buckets.Add(at, bucket);
            _times.Enqueue(bucket, at);
        }
        _recent[RecentSlot(at)] = bucket;
        return bucket;
    }

    /// <summary>A time's slot in <see cref="_recent"/>: the top bits of a multiplicative hash (times are multiples of 1 ms plus a delay).</summary>
    static int RecentSlot(long at) => (int)((ulong)at * 0x9E3779B97F4A7C15UL >> 59); // RecentSlots = 32 = 2^5

    Bucket RentBucket()
    {
        if (_freeBuckets is not { } bucket) return new Bucket();
        _freeBuckets = bucket.NextFree;
        _freeBucketCount--;
        bucket.NextFree = null;
        return bucket;
    }

    /// <summary>A drained bucket for reuse (as many as chunks are kept at most); its chunk went back on its own.</summary>
    void ReturnBucket(Bucket bucket)
    {
        bucket.Head = bucket.Tail = null!; // pins no chunk
        if (_freeBucketCount >= PooledChunks) return;
        bucket.NextFree = _freeBuckets;
        _freeBuckets = bucket;
        _freeBucketCount++;
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
        if (_removed > 0) SkipRemoved();
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
        if (_removed > 0) SkipRemoved();
        var bucket = _times.Peek();
        if (!bucket.Ordered)
        {
            bucket.Ordered = true;
            if (bucket.WheelItems >= 2) OrderWheelTimers(bucket);
        }
        at = new SimTime(bucket.At);
        _count--;
        _takingLive = true;
        return Take(bucket);
    }

    /// <summary>
    /// The item <paramref name="distance"/> places behind the last one taken, when it is due at the same time (in its
    /// bucket, already in the order it will come out in): what the queue will hand out next, for a caller that starts
    /// loading what those items will read (<see cref="Simulation"/>'s timewait expiries, <see cref="Paging.Prefetch{T}"/>).
    /// Reads the bucket's chunks only; false past the bucket's end.
    /// </summary>
    internal bool PeekBehind(int distance, out ScheduledItem item)
    {
        item = default;
        if (!_takingLive) return false;
        var bucket = _times.Peek();
        var chunk = bucket.Head;
        int index = bucket.HeadIndex + distance - 1;
        while (index >= ChunkSize)
        {
            if (chunk.Next is not { } next) return false;
            chunk = next;
            index -= ChunkSize;
        }
        if (chunk == bucket.Tail && index >= bucket.TailIndex) return false;
        item = chunk.Items[index];
        return true;
    }

    /// <summary>Takes the bucket's head item (returning drained chunks, and the bucket once empty).</summary>
    ScheduledItem Take(Bucket bucket)
    {
        var head = bucket.Head;
        var item = head.Items[bucket.HeadIndex];
        head.Items[bucket.HeadIndex] = default; // a drained slot pins nothing
        head.Ranks[bucket.HeadIndex++] = 0;
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
            ref var recent = ref _recent[RecentSlot(bucket.At)];
            if (ReferenceEquals(recent, bucket)) recent = null;
            _takingLive = false; // the drained bucket was the first, the one items are taken from
            ReturnChunk(head);
            ReturnBucket(bucket);
        }
        return item;
    }

    /// <summary>
    /// Puts the timer-wheel expiries due at one jiffy in the order the kernel runs them on one CPU, in the slots they
    /// already hold (other items keep their place): run_timer_softirq() runs BASE_LOCAL before BASE_GLOBAL,
    /// __run_timers() runs the buckets it collected for that clk from the highest level down, and expire_timers()
    /// runs a bucket's hlist from its head, where enqueue_timer()'s hlist_add_head() put the last timer armed — so
    /// the last armed runs first (kernel/time/timer.c). Done once, when the time comes up: every timer due then has
    /// been armed (a timer armed in its own jiffy goes to a later bucket, <see cref="Jiffies.WheelFires"/>).
    /// </summary>
    void OrderWheelTimers(Bucket bucket)
    {
        int count = 0, seen = 0;
        bool oneCpu = true;
        // The scan ends at the bucket's last wheel item: the segments, calls and tasks queued after it are not read.
        for (var chunk = bucket.Head; chunk != null && seen < bucket.WheelItems; chunk = chunk.Next)
        {
            int end = chunk == bucket.Tail ? bucket.TailIndex : ChunkSize;
            for (int i = chunk == bucket.Head ? bucket.HeadIndex : 0; i < end && seen < bucket.WheelItems; i++)
            {
                if (chunk.Ranks[i] == 0) continue;
                seen++;
                if (chunk.Items[i].Vacated) continue;
                if (count == _wheelSlots.Length)
                {
                    Array.Resize(ref _wheelSlots, count * 2);
                    Array.Resize(ref _wheelKeys, count * 2);
                    Array.Resize(ref _wheelOrder, count * 2);
                }
                var item = chunk.Items[i];
                int cpu = CpuOf(item);
                if (count > 0 && cpu != _wheelSlots[0].Cpu) oneCpu = false;
                _wheelSlots[count] = new WheelSlot(chunk, i, cpu, chunk.Ranks[i], item);
                // (host, place in the bucket): sorted, each host's slots are one run, in the order they hold in the bucket.
                _wheelKeys[count] = ((long)(cpu + 1) << 32) | (uint)count;
                count++;
            }
        }
        if (count >= 2)
        {
            var slots = _wheelSlots.AsSpan(0, count);
            var keys = _wheelKeys.AsSpan(0, count);
            // One CPU's order: each host's timers are permuted among that host's slots; different hosts' timers (other
            // CPUs, no order between them) keep their places relative to each other.
            if (!oneCpu) keys.Sort();
            for (int start = 0, end; start < count; start = end)
            {
                long cpuKey = keys[start] >> 32;
                for (end = start + 1; end < count && keys[end] >> 32 == cpuKey; end++) { }
                if (end - start < 2) continue;
                // The kernel's order of the run: lowest rank first, within a rank the last armed (latest place) first.
                var order = _wheelOrder.AsSpan(start, end - start);
                for (int k = 0; k < order.Length; k++)
                {
                    int place = (int)keys[start + k];
                    order[k] = ((long)slots[place].Rank << 32) | (uint)(int.MaxValue - place);
                }
                order.Sort();
                for (int k = 0; k < order.Length; k++)
                {
                    ref readonly var to = ref slots[(int)keys[start + k]];
                    ref readonly var from = ref slots[int.MaxValue - (int)order[k]];
                    to.Chunk.Items[to.Index] = from.Item;
                    to.Chunk.Ranks[to.Index] = from.Rank;
                    Relocated(from.Item, to.Chunk, to.Index);
                }
            }
        }
        _wheelSlots.AsSpan(0, count).Clear(); // pins no chunk nor target
    }

    /// <summary>A wheel timer's slot in the bucket being ordered, the item it holds and where that came in the bucket.</summary>
    readonly record struct WheelSlot(Chunk Chunk, int Index, int Cpu, byte Rank, ScheduledItem Item);

    /// <summary>The host (the engine's one CPU of it) whose wheel a timer item is on, by its index; -1 for any other item.</summary>
    static int CpuOf(ScheduledItem item) => item.Target switch
    {
        TimeWaitTable table => table.Host.Index,
        RequestSocket request => request.Host.Index,
        TcpSocket socket => socket.Host.Index,
        SimTimer { Owner: TcpSocket socket } => socket.Host.Index,
        SimTimer { Owner: CallSleep sleep } => sleep.Socket.Host.Index,
        _ => -1, // not a socket's timer: all on one CPU
    };

    /// <summary>A moved timer item's state learns its new slot, so that cancelling it still vacates it (<see cref="Vacate"/>).</summary>
    static void Relocated(ScheduledItem item, Chunk chunk, int index)
    {
        // A timewait entry's item is keyed by entry and arming, and keeps no slot; a plain item has no timer state.
        if (item.Target is SimTimer t) Relocated(ref t.State, item.Generation, chunk, index);
        else if (item.Target is ITimerOwner owner && item.Generation > 0) Relocated(ref owner.TimerFor(item.Payload), item.Generation, chunk, index);
    }

    static void Relocated(ref TimerState state, long generation, Chunk chunk, int index)
    {
        if (!state.IsCurrent(generation)) return;
        state.QueueChunk = chunk;
        state.QueueIndex = (byte)index; // < ChunkSize
    }
}
