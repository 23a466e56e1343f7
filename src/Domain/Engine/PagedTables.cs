using System.Collections;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SimService.Domain.Engine;

/// <summary>
/// Tables that grow by small fixed-size pages and never reallocate a large array. The kernel sizes its big tables once,
/// at boot — alloc_large_system_hash() for "TCP established" (tcp_hashinfo.ehash: 262,144 chains on this 24-GB guest)
/// and "TCP bind" (bhash: 65,536), tcp_init() — net/ipv4/tcp.c — and the slab hands out objects page by page; it never
/// copies a table as it fills. A simulation cannot size per host at boot (a run may have thousands of hosts of a few
/// sockets, or one host of a million), and a .NET collection that doubles reallocates its whole array: from 85,000 B
/// on that array lands on the large-object heap, whose allocation budget starts full (gen2) collections — what separated
/// W6's 100,000-connection pool from its 10,000 one (docs/benchmarks-history.md, the W6 row). These tables allocate pages of at most
/// <see cref="PageBytes"/> (small-object heap) and copy only directories of page references.
/// </summary>
internal static class Paging
{
    /// <summary>A page's bytes at most: 64 KB, below the large-object heap's 85,000 B.</summary>
    public const int PageBytes = 64 * 1024;

    /// <summary>log2 of the slots per page for <paramref name="slotBytes"/>-byte slots: the most that fit in <see cref="PageBytes"/>, at most 1,024.</summary>
    public static int PageBits(int slotBytes)
    {
        int bits = 10;
        while (bits > 0 && (slotBytes << bits) > PageBytes) bits--;
        return bits;
    }

    /// <summary>A directory of pages grown to hold page <paramref name="page"/> (doubling: a directory of references is 1/1,024 of what it maps).</summary>
    public static void Grow<TPage>(ref TPage[] directory, int page)
    {
        if (page < directory.Length) return;
        Array.Resize(ref directory, Math.Max(page + 1, directory.Length * 2));
    }

    /// <summary>
    /// Element <paramref name="index"/> of <paramref name="page"/>, which the caller knows to be in range, without reading
    /// the page's header: a bounds check reads its length and a bare array-data reference its type, a cache line of their
    /// own for most elements of a large page — a line missed on every lookup when the page was last touched long ago (an
    /// ephemeral port's bind bucket, a timewait socket: docs/benchmarks-history.md, the session-30 note). The null test is on the
    /// register, and it lets the JIT drop the reference's own null check.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T At<T>(T[] page, int index)
    {
        if (page is null) throw new InvalidOperationException("a table's page is missing");
        Debug.Assert((uint)index < (uint)page.Length, "a table's slot past its page"); // the bounds check the read skips, in Debug builds (the tests)
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(page), (nint)(uint)index);
    }

    /// <summary>
    /// Asks the processor to start loading <paramref name="slot"/>'s cache line and goes on at once (x86's prefetcht0; a
    /// hint that never faults nor waits, so a stale address — the collector moved the page since — costs nothing but the
    /// load). For lookups whose chains were last touched long ago (a connect()'s bind bucket and timewait socket, the
    /// session-35 note in docs/benchmarks-history.md): the heads of two independent chains are asked for together, then
    /// their first entries, so two memory latencies overlap where each lookup waited for its own in turn.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<T>(ref T slot)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref slot));
    }
}

/// <summary>
/// Values by a dense non-negative id (the simulation's sockets: ids rise by one per socket, across hosts): pages of 1,024
/// slots, a page made when an id in it is first stored and dropped when its last value leaves — unless it is the highest
/// page, where new ids still land (a churn of one connection at a time would remake it per connection) — so a churn
/// whose ids keep rising keeps only the pages of live ids. The page dropped last is kept, empty, for the next page made (as
/// the slab keeps a free page for its next object): W1's rising ids drop a page and make one every 1,024 sockets, which
/// were 16 B allocated per lifecycle. A lookup is two array reads (no hash).
/// Not for a sparse subset of ids (one host's sockets among many hosts': a page per live socket) — that is a
/// <see cref="PagedMap{TKey, TValue}"/>.
/// </summary>
internal sealed class IdTable<T> where T : class
{
    const int Bits = 10, Size = 1 << Bits, Mask = Size - 1;
    T?[]?[] _pages = [];
    int[] _used = [];
    /// <summary>The highest page stored to so far.</summary>
    int _top;
    /// <summary>The page dropped last (every slot null), for the next page made.</summary>
    T?[]? _spare;

    public int Count { get; private set; }

    public T? this[int id]
    {
        get
        {
            var pages = _pages;
            int p = id >> Bits;
            return (uint)p < (uint)pages.Length && pages[p] is { } page ? page[id & Mask] : null;
        }
    }

    public bool TryGetValue(int id, [NotNullWhen(true)] out T? value) => (value = this[id]) is not null;

    /// <summary>Stores <paramref name="value"/> at <paramref name="id"/>, replacing what was there.</summary>
    public void Set(int id, T value)
    {
        ref T? slot = ref Slot(id);
        if (slot is null)
        {
            _used[id >> Bits]++;
            Count++;
        }
        slot = value;
    }

    public bool Remove(int id)
    {
        int p = id >> Bits;
        if ((uint)p >= (uint)_pages.Length || _pages[p] is not { } page || page[id & Mask] is null) return false;
        page[id & Mask] = null;
        Count--;
        if (--_used[p] == 0 && p < _top) Drop(p);
        return true;
    }

    ref T? Slot(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        int p = id >> Bits;
        if (p >= _pages.Length)
        {
            Paging.Grow(ref _pages, p);
            Paging.Grow(ref _used, p);
        }
        if (p > _top)
        {
            if (_used[_top] == 0) Drop(_top);
            _top = p;
        }
        if (_pages[p] is null)
        {
            _pages[p] = _spare ?? new T?[Size];
            _spare = null;
        }
        return ref _pages[p]![id & Mask];
    }

    /// <summary>Drops page <paramref name="p"/>, whose last value left: it becomes the spare.</summary>
    void Drop(int p)
    {
        if (_pages[p] is { } page) _spare = page;
        _pages[p] = null;
    }
}

/// <summary>
/// A set of objects in a dense list of pages of 1,024 references, each member keeping its own slot (the caller stores what
/// <see cref="Add"/> returns): adding writes the end, removing moves the last member into the freed slot — O(1), no key, no
/// hash, 8 bytes a member where a <see cref="PagedMap{TKey, TValue}"/> entry takes 24 and its bucket 4–8. Members are in no
/// particular order. Pages stay once made, as a <see cref="PagedMap{TKey, TValue}"/>'s entry pages do: a count that goes up
/// and down across a page boundary (W1's) does not remake one.
/// </summary>
internal sealed class DenseSet<T> where T : class
{
    const int Bits = 10, Size = 1 << Bits, Mask = Size - 1;
    T?[]?[] _pages = [];

    public int Count { get; private set; }

    /// <summary>
    /// Adds <paramref name="item"/> at the end; returns its slot. The first page starts at 4 slots and doubles up to a full
    /// page (a host of a few sockets keeps a few slots, not a page), later pages are made full.
    /// </summary>
    public int Add(T item)
    {
        int p = Count >> Bits;
        if (p == 0)
        {
            if (_pages.Length == 0) _pages = [new T?[4]];
            else if (Count == _pages[0]!.Length) Array.Resize(ref _pages[0], Count * 2);
        }
        else
        {
            Paging.Grow(ref _pages, p);
            _pages[p] ??= new T?[Size];
        }
        _pages[p]![Count & Mask] = item;
        return Count++;
    }

    /// <summary>
    /// Removes the member in <paramref name="slot"/>: the last member moves into it and is returned (its slot is now
    /// <paramref name="slot"/>), or null when the removed one was the last.
    /// </summary>
    public T? RemoveAt(int slot)
    {
        if ((uint)slot >= (uint)Count) throw new InvalidOperationException($"slot {slot} is not a member's (count {Count})");
        int last = --Count;
        ref T? end = ref _pages[last >> Bits]![last & Mask];
        T? moved = null;
        if (slot != last) _pages[slot >> Bits]![slot & Mask] = moved = end;
        end = null;
        return moved;
    }

    /// <summary>The member in <paramref name="slot"/>.</summary>
    public T? this[int slot] => (uint)slot < (uint)Count ? _pages[slot >> Bits]![slot & Mask] : null;

    /// <summary>The members in slot order (no particular order).</summary>
    public IEnumerable<T> Items
    {
        get
        {
            for (int i = 0; i < Count; i++) yield return _pages[i >> Bits]![i & Mask]!;
        }
    }
}

/// <summary>
/// A hash map in pages: entries in pages of at most <see cref="Paging.PageBytes"/>, found through an open-addressed
/// index of slots — each a key's hash and its entry number, eight to a cache line, probed linearly — that are pages too;
/// when the entries fill half the slots, the slots double — new pages, every entry placed again by its stored hash — and
/// no entry moves. A lookup that misses reads one line of slots and no entry (a chain's miss read its head and then each
/// entry on it), a hit the slots' line and its entry: where the table was last touched long ago (W6's held pool: the
/// demux's misses in the established table, the peer link's, the port search's) that is one cold line a lookup fewer
/// (docs/benchmarks-history.md, the session-36 note). The kernel's ehash chains (inet_ehash_bucket) are sized at boot
/// for the machine, so its chains stay short; a table that grows with the run keeps its probes short this way. Entry numbers are handed out as Dictionary hands them out (the most
/// recently freed first, else the next never used), so <see cref="Values"/> enumerates in the order a
/// Dictionary&lt;TKey, TValue&gt; given the same adds and removes would: swapping one for the other changes no output.
/// </summary>
internal sealed class PagedMap<TKey, TValue> where TKey : IEquatable<TKey>
{
    struct Entry
    {
        public TKey Key;
        public TValue Value;
        public int Hash;
        /// <summary>Live: 0. Free: −2 − the next free entry (−1 ends the free list).</summary>
        public int Next;
    }

    /// <summary>An index slot: a live entry's hash and its number + 1 (0: the slot is empty).</summary>
    struct Slot
    {
        public int Hash;
        public int Entry;
    }

    static readonly int EntryBits = Paging.PageBits(Unsafe.SizeOf<Entry>());
    static readonly int EntryMask = (1 << EntryBits) - 1;
    const int SlotBits = 10, SlotPage = 1 << SlotBits, SlotMask = SlotPage - 1;

    Entry[][] _entries = [];
    /// <summary>The index, pages of <see cref="SlotPage"/> slots (one page shorter while the slots are fewer).</summary>
    Slot[][] _slots = [];
    /// <summary>log2 of the slot count (0 before the first add).</summary>
    int _slotBits;
    int _used;
    int _free = -1;

    public int Count { get; private set; }

    ref Entry At(int i) => ref Paging.At(_entries[i >> EntryBits], i & EntryMask);

    /// <summary>Fibonacci hashing: the hash's high bits after a multiply, so keys that differ in low bits only (ports in steps of 2) spread.</summary>
    int Home(int hash) => (int)(unchecked((uint)hash * 0x9E3779B9u) >> (32 - _slotBits));

    ref Slot SlotAt(int slot) => ref Paging.At(_slots[slot >> SlotBits], slot & SlotMask);

    /// <summary>
    /// The slot holding <paramref name="key"/>, or the empty slot its probe ended at (then <paramref name="found"/> is
    /// false); the table has slots (<see cref="_slotBits"/> &gt; 0) and, at most half full, always an empty one.
    /// </summary>
    int Probe(in TKey key, int hash, out bool found)
    {
        int mask = (1 << _slotBits) - 1;
        for (int s = Home(hash); ; s = (s + 1) & mask)
        {
            ref var slot = ref SlotAt(s);
            if (slot.Entry == 0 || (slot.Hash == hash && At(slot.Entry - 1).Key.Equals(key)))
            {
                found = slot.Entry != 0;
                return s;
            }
        }
    }

    int Find(in TKey key, int hash)
    {
        if (Count == 0) return -1;
        int s = Probe(key, hash, out bool found);
        return found ? SlotAt(s).Entry - 1 : -1;
    }

    public bool ContainsKey(in TKey key) => Find(key, key.GetHashCode()) >= 0;

    /// <summary>
    /// The bytes its pages hold: the entries up to the most ever used (pages stay once made) and the index's slots (they
    /// double with the entries and never halve) — a table keeps its run's peak, whatever it holds now.
    /// </summary>
    public long BytesHeld
    {
        get
        {
            long pages = 0;
            foreach (var page in _entries) if (page is not null) pages++; // a loop, not Count(lambda): no closure per call
            long entries = pages == 0 ? 0 : pages * (1 << EntryBits) - ((1 << EntryBits) - _entries[0].Length);
            // No slots before the first insert's Rehash(3) (_slotBits 0).
            long slots = _slotBits == 0 ? 0 : (long)Unsafe.SizeOf<Slot>() << _slotBits;
            return entries * Unsafe.SizeOf<Entry>() + slots;
        }
    }

    /// <summary>Starts loading the slots of <paramref name="key"/>'s hash (<see cref="Paging.Prefetch{T}"/>); reads nothing.</summary>
    public void PrefetchHead(in TKey key)
    {
        if (Count > 0) Paging.Prefetch(ref SlotAt(Home(key.GetHashCode())));
    }

    /// <summary>
    /// Starts loading the entry of the first slot whose hash is <paramref name="key"/>'s: reads the slots (asked for by
    /// <see cref="PrefetchHead"/> before), not the entry; nothing when no slot has the hash (a miss reads no entry).
    /// </summary>
    public void PrefetchFirst(in TKey key)
    {
        if (Count == 0) return;
        int hash = key.GetHashCode(), mask = (1 << _slotBits) - 1;
        for (int s = Home(hash); SlotAt(s) is { Entry: > 0 } slot; s = (s + 1) & mask)
            if (slot.Hash == hash)
            {
                Paging.Prefetch(ref At(slot.Entry - 1));
                return;
            }
    }

    public bool TryGetValue(in TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        int i = Find(key, key.GetHashCode());
        if (i < 0)
        {
            value = default;
            return false;
        }
        value = At(i).Value;
        return true;
    }

    public TValue? GetValueOrDefault(in TKey key) => TryGetValue(key, out var v) ? v : default;

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing a value already there in place.</summary>
    public TValue this[in TKey key]
    {
        set => GetValueRefOrAddDefault(key, out _) = value;
    }

    /// <summary>The value under <paramref name="key"/> by reference, or a null reference (CollectionsMarshal.GetValueRefOrNullRef's contract).</summary>
    public ref TValue GetValueRefOrNullRef(scoped in TKey key)
    {
        int i = Find(key, key.GetHashCode());
        if (i < 0) return ref Unsafe.NullRef<TValue>();
        return ref At(i).Value;
    }

    /// <summary>The value under <paramref name="key"/> by reference, a default one added when missing (CollectionsMarshal.GetValueRefOrAddDefault's contract).</summary>
    public ref TValue GetValueRefOrAddDefault(scoped in TKey key, out bool exists)
    {
        int hash = key.GetHashCode();
        if (_slotBits == 0) Rehash(3);
        int s = Probe(key, hash, out exists);
        if (exists) return ref At(SlotAt(s).Entry - 1).Value;
        if (2 * (Count + 1) > 1 << _slotBits)
        {
            Rehash(_slotBits + 1);
            s = Probe(key, hash, out _);
        }
        int i = Allocate();
        ref var e = ref At(i);
        e.Key = key;
        e.Value = default!;
        e.Hash = hash;
        e.Next = 0;
        SlotAt(s) = new Slot { Hash = hash, Entry = i + 1 };
        Count++;
        return ref e.Value;
    }

    public bool Remove(in TKey key)
    {
        int slot = SlotOf(key);
        if (slot < 0) return false;
        RemoveSlot(slot);
        return true;
    }

    /// <summary>
    /// The slot holding <paramref name="key"/>, or -1: with <see cref="ValueAt"/> and <see cref="RemoveSlot"/>, a look at
    /// the value and its removal in one probe (valid until the table next changes).
    /// </summary>
    public int SlotOf(in TKey key)
    {
        if (Count == 0) return -1;
        int s = Probe(key, key.GetHashCode(), out bool found);
        return found ? s : -1;
    }

    /// <summary>The value of the entry in <paramref name="slot"/> (<see cref="SlotOf"/>).</summary>
    public TValue ValueAt(int slot) => At(SlotAt(slot).Entry - 1).Value;

    /// <summary>Removes the entry in <paramref name="slot"/> (<see cref="SlotOf"/>).</summary>
    public void RemoveSlot(int slot)
    {
        int hole = slot;
        int i = SlotAt(hole).Entry - 1;
        ref var e = ref At(i);
        if (RuntimeHelpers.IsReferenceOrContainsReferences<TKey>()) e.Key = default!;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<TValue>()) e.Value = default!;
        e.Next = -2 - _free;
        _free = i;
        Count--;
        // Linear probing's deletion without tombstones: each slot after the hole up to the next empty one moves back into
        // the hole when its home does not lie after the hole (cyclically), so every probe still meets it before an empty slot.
        int mask = (1 << _slotBits) - 1;
        for (int s = (hole + 1) & mask; SlotAt(s) is { Entry: > 0 } next; s = (s + 1) & mask)
            if (((s - Home(next.Hash)) & mask) >= ((s - hole) & mask))
            {
                SlotAt(hole) = next;
                hole = s;
            }
        SlotAt(hole) = default;
    }

    /// <summary>The keys in entry order, without allocating.</summary>
    public KeyEnumerator Keys => new(this);

    public struct KeyEnumerator(PagedMap<TKey, TValue> map)
    {
        int _i = -1;

        public readonly TKey Current => map.At(_i).Key;

        public bool MoveNext()
        {
            while (++_i < map._used)
                if (map.At(_i).Next >= 0) return true;
            return false;
        }

        public readonly KeyEnumerator GetEnumerator() => this;
    }

    /// <summary>The values in entry order (Dictionary's enumeration order for the same adds and removes).</summary>
    public IEnumerable<TValue> Values
    {
        get
        {
            for (int i = 0; i < _used; i++)
                if (At(i).Next >= 0) yield return At(i).Value;
        }
    }

    /// <summary>
    /// The most recently freed entry, else the next never used: the first page starts at 4 entries and doubles up to a
    /// full page (a host of a few sockets keeps a few entries, not a page), later pages are made full.
    /// </summary>
    int Allocate()
    {
        if (_free >= 0)
        {
            int i = _free;
            _free = -2 - At(i).Next;
            return i;
        }
        int page = _used >> EntryBits;
        if (page == 0 && (_entries.Length == 0 || _used == _entries[0].Length))
        {
            if (_entries.Length == 0) _entries = [new Entry[4]];
            else Array.Resize(ref _entries[0], Math.Min(_used * 2, 1 << EntryBits));
        }
        else if (page == _entries.Length || _entries[page] is null)
        {
            Paging.Grow(ref _entries, page);
            _entries[page] = new Entry[1 << EntryBits];
        }
        return _used++;
    }

    /// <summary>2^<paramref name="bits"/> slots in new pages, every live entry placed by its stored hash.</summary>
    void Rehash(int bits)
    {
        _slotBits = bits;
        int slots = 1 << bits, mask = slots - 1;
        _slots = new Slot[(slots + SlotPage - 1) >> SlotBits][];
        for (int p = 0; p < _slots.Length; p++) _slots[p] = new Slot[Math.Min(slots, SlotPage)];
        for (int i = 0; i < _used; i++)
        {
            ref var e = ref At(i);
            if (e.Next < 0) continue;
            int s = Home(e.Hash);
            while (SlotAt(s).Entry != 0) s = (s + 1) & mask;
            SlotAt(s) = new Slot { Hash = e.Hash, Entry = i + 1 };
        }
    }
}

/// <summary>
/// A list that only grows at its end, in pages of at most <see cref="Paging.PageBytes"/>: adding never copies what is
/// there (the directory of pages doubles, 1/1,024 of the list's size).
/// </summary>
internal sealed class PagedList<T> : IReadOnlyList<T>
{
    static readonly int Bits = Paging.PageBits(Unsafe.SizeOf<T>());
    static readonly int Mask = (1 << Bits) - 1;
    T[][] _pages = [];

    public int Count { get; private set; }

    public T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return _pages[index >> Bits][index & Mask];
        }
    }

    /// <summary>The item at <paramref name="index"/> in place (a struct list's rows are written through it).</summary>
    public ref T RefAt(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        return ref _pages[index >> Bits][index & Mask];
    }

    public void Add(T item)
    {
        int page = Count >> Bits;
        if (page == _pages.Length || _pages[page] is null)
        {
            Paging.Grow(ref _pages, page);
            _pages[page] = new T[1 << Bits];
        }
        _pages[page][Count & Mask] = item;
        Count++;
    }

    public IEnumerator<T> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return _pages[i >> Bits][i & Mask];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
