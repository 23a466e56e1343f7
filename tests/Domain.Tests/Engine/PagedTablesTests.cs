using SimService.Domain.Engine;

namespace SimService.Domain.Tests.EventLoop;

public class PagedTablesTests
{
    [Fact]
    public void PagedMap_SameAddsAndRemoves_EnumeratesInDictionaryOrder()
    {
        // Past several entry pages and bucket doublings, with removals that leave holes the adds refill (most recent first).
        var map = new PagedMap<int, string>();
        var reference = new Dictionary<int, string>();
        Churn(map, reference, new Pcg32(7), steps: 200_000, keys: 60_000, removeOneIn: 3, k => k, step => $"v{step}");

        Assert.Equal(reference.Count, map.Count);
        Assert.Equal(reference.Values, map.Values);
        Assert.Equal(reference.Keys, Keys(map));
        Assert.All(reference, kv => Assert.Equal(kv.Value, map.GetValueOrDefault(kv.Key)));
        Assert.False(map.ContainsKey(60_001));
    }

    /// <summary>
    /// A key whose hash takes five values only: long runs of occupied slots. One of them, −340,573,321, is the hash whose
    /// Fibonacci multiple is 2^32 − 1, whose home is the last slot at every size: its run wraps past the table's end.
    /// </summary>
    readonly record struct FewHashes(int Value)
    {
        public override int GetHashCode() => Value % 5 == 0 ? -340_573_321 : Value % 5;
    }

    /// <summary>
    /// A key whose hash takes two values whose homes are neighbours (167 and 168 of 512 slots, 334 and 336 of 1,024): the two
    /// runs interleave, so a removal's backward shift meets slots whose home lies after the hole and must leave them
    /// (review36b S-1: <see cref="FewHashes"/>' runs never met, and a shift that moved every slot passed it).
    /// </summary>
    readonly record struct NeighbourHashes(int Value)
    {
        public override int GetHashCode() => Value % 2 == 0 ? 7 : 1_149_239_303;
    }

    [Fact]
    public void PagedMap_KeysOfNeighbouringHomes_FindsEveryLiveKeyAfterRemovals()
    {
        var map = new PagedMap<NeighbourHashes, int>();
        var reference = new Dictionary<NeighbourHashes, int>();
        Churn(map, reference, new Pcg32(5), steps: 20_000, keys: 400, removeOneIn: 2, k => new NeighbourHashes(k), step => step);

        Assert.Equal(reference.Count, map.Count);
        Assert.All(Enumerable.Range(0, 400), key => Assert.Equal(reference.GetValueOrDefault(new(key)), map.GetValueOrDefault(new(key))));
    }

    [Fact]
    public void PagedMap_KeysOfFewHashes_FindsEveryLiveKeyAfterRemovals()
    {
        // Removals from the middle of long probe runs: every slot behind the hole must still be met before an empty slot.
        var map = new PagedMap<FewHashes, int>();
        var reference = new Dictionary<FewHashes, int>();
        Churn(map, reference, new Pcg32(3), steps: 20_000, keys: 400, removeOneIn: 2, k => new FewHashes(k), step => step);

        Assert.Equal(reference.Count, map.Count);
        for (int key = 0; key < 400; key++)
            Assert.Equal(reference.TryGetValue(new(key), out int v) ? v : -1, map.TryGetValue(new FewHashes(key), out int got) ? got : -1);
    }

    [Fact]
    public void PagedMap_BytesHeld_IsItsPagesAndKeepsThePeakAfterRemovals()
    {
        Assert.Equal(0, new PagedMap<int, long>().BytesHeld); // no page and no slot before the first insert
        // An entry of <int, long> is 24 B, 1,024 to a page (the first grows from 4); a slot 8 B, from 8 slots, doubled when half full.
        var map = new PagedMap<int, long>();
        map[1] = 1;
        map[2] = 2;
        Assert.Equal(4 * 24 + 8 * 8, map.BytesHeld);
        for (int key = 3; key <= 3_000; key++) map[key] = key;
        Assert.Equal(3 * 1_024 * 24 + 8_192 * 8, map.BytesHeld);
        for (int key = 1; key <= 3_000; key++) map.Remove(key);
        Assert.Equal(0, map.Count);
        Assert.Equal(3 * 1_024 * 24 + 8_192 * 8, map.BytesHeld); // the run's peak: pages stay once made, slots never halve
    }

    /// <summary>Random adds and removes of keys below <paramref name="keys"/>, the same on the map and on the reference.</summary>
    static void Churn<TKey, TValue>(PagedMap<TKey, TValue> map, Dictionary<TKey, TValue> reference, IRandomSource rng, int steps,
        uint keys, uint removeOneIn, Func<int, TKey> key, Func<int, TValue> value) where TKey : IEquatable<TKey>
    {
        for (int step = 0; step < steps; step++)
        {
            var k = key((int)rng.NextBelow(keys));
            if (rng.NextBelow(removeOneIn) == 0)
                Assert.Equal(reference.Remove(k), map.Remove(k));
            else
            {
                map[k] = value(step);
                reference[k] = value(step);
            }
        }
    }

    [Fact]
    public void PagedMap_RefAccess_AddsOnceAndUpdatesInPlace()
    {
        var map = new PagedMap<ushort, int>();

        map.GetValueRefOrAddDefault(80, out bool existed) = 1;
        map.GetValueRefOrAddDefault(80, out bool existedAgain) += 41;

        Assert.False(existed);
        Assert.True(existedAgain);
        Assert.Equal(42, map.GetValueRefOrNullRef(80));
        Assert.True(System.Runtime.CompilerServices.Unsafe.IsNullRef(ref map.GetValueRefOrNullRef(81)));
        Assert.Equal(1, map.Count);
    }

    sealed class Member(int id)
    {
        public int Id => id;
        public int Slot;
    }

    [Fact]
    public void DenseSet_RandomAddsAndRemoves_HoldsTheLiveMembersEachInItsSlot()
    {
        // Past several pages, removals anywhere: the last member moves into the freed slot and is told so.
        IRandomSource rng = new Pcg32(11);
        var set = new DenseSet<Member>();
        var live = new List<Member>();
        for (int step = 0; step < 100_000; step++)
        {
            if (live.Count > 0 && rng.NextBelow(5) < 2)
            {
                var gone = live[(int)rng.NextBelow((uint)live.Count)];
                live.Remove(gone);
                if (set.RemoveAt(gone.Slot) is { } moved)
                {
                    Assert.NotSame(gone, moved);
                    moved.Slot = gone.Slot;
                }
            }
            else
            {
                var m = new Member(step);
                m.Slot = set.Add(m);
                live.Add(m);
            }
        }

        Assert.Equal(live.Count, set.Count);
        Assert.True(live.Count > 3 * 1024);
        Assert.Equal(live.Select(m => m.Id).Order(), set.Items.Select(m => m.Id).Order());
        Assert.Equal(Enumerable.Range(0, live.Count), set.Items.Select(m => m.Slot));
    }

    [Fact]
    public void IdTable_RisingIds_KeepsOnlyLiveValues()
    {
        var table = new IdTable<string>();
        for (int id = 0; id < 100_000; id++)
        {
            table.Set(id, $"s{id}");
            if (id >= 10) Assert.True(table.Remove(id - 10));
        }

        Assert.Equal(10, table.Count);
        Assert.Null(table[5]);
        Assert.Equal("s99995", table[99_995]);
        Assert.False(table.Remove(5));
        Assert.Null(table[1 << 30]);
    }

    [Fact]
    public void IdTable_RisingIds_ReuseTheDroppedPage()
    {
        // W1's sockets: ids rise by one, each value leaves a little later. Every 1,024 ids a page is dropped and one made; the
        // made one is the dropped one (8 KB each: 100 pages were ≈ 800 KB), so only the page directory grows.
        var table = new IdTable<string>();
        string[] values = [.. Enumerable.Range(0, 16).Select(i => $"v{i}")];
        for (int id = 0; id < 4_096; id++)
        {
            table.Set(id, values[id & 15]);
            if (id >= 10) table.Remove(id - 10);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int id = 4_096; id < 106_496; id++)
        {
            Assert.Null(table[id]); // a reused page comes back empty
            table.Set(id, values[id & 15]);
            if (id >= 10) Assert.True(table.Remove(id - 10));
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.InRange(allocated, 0, 16 * 1024); // the directory's doublings (128 pages: 1 KB of references, 512 B of counts)
        Assert.Equal(10, table.Count);
        Assert.Equal(values[106_495 & 15], table[106_495]);
        Assert.Null(table[106_485]);
    }

    [Fact]
    public void PagedList_PastSeveralPages_KeepsOrder()
    {
        var list = new PagedList<long>();
        for (long i = 0; i < 30_000; i++) list.Add(i * 3);

        Assert.Equal(30_000, list.Count);
        Assert.Equal(29_999L * 3, list[29_999]);
        Assert.Equal(Enumerable.Range(0, 30_000).Select(i => i * 3L), list);
        Assert.Throws<ArgumentOutOfRangeException>(() => list[30_000]);
    }

    static List<int> Keys(PagedMap<int, string> map)
    {
        var keys = new List<int>();
        foreach (int k in map.Keys) keys.Add(k);
        return keys;
    }
}
