using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Tests.Fixtures;

namespace SimService.Domain.Tests.EventLoop;

/// <summary>
/// What the hot paths reuse instead of allocating: the engine's segments (a free list per simulation),
/// a bind bucket's first two owners (inline, a hash set only from the third) and a destroyed socket's queue lists.
/// </summary>
public class ReuseTests
{
    static readonly FourTuple Tuple = new(new Endpoint(IPv4.Parse("10.0.0.1"), 40000), new Endpoint(IPv4.Parse("10.0.0.2"), 80));

    [Fact]
    public void Segment_FromTheFreeList_EqualsTheSameSegmentConstructed()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1);
        var pooled = sim.NewSegment(Tuple, TcpFlags.Ack, 1, 2, 3, 4, TcpOptions.None);
        var made = new Segment(Tuple, TcpFlags.Ack, 1, 2, 3, 4, TcpOptions.None);
        Assert.True(pooled.Pooled);
        Assert.False(made.Pooled);
        Assert.Equal(made, pooled);
        Assert.Equal(made.GetHashCode(), pooled.GetHashCode());
        Assert.NotEqual(made with { Seq = 9 }, pooled);
    }

    [Fact]
    public void Segment_Recycled_NextSendReusesItWithNewFieldsAndNoId()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1);
        var first = sim.NewSegment(Tuple, TcpFlags.Syn, 1, 0, 100, 0, TcpOptions.None);
        first.Id = 7;
        sim.RecycleSegment(first);
        var second = sim.NewSegment(Tuple.Reversed, TcpFlags.Fin | TcpFlags.Ack, 5, 6, 7, 8, TcpOptions.None);
        Assert.Same(first, second);
        Assert.Equal(new Segment(Tuple.Reversed, TcpFlags.Fin | TcpFlags.Ack, 5, 6, 7, 8, TcpOptions.None), second);
        Assert.Equal(0, second.Id);
        Assert.NotSame(second, sim.NewSegment(Tuple, TcpFlags.Ack, 1, 2, 3, 4, TcpOptions.None)); // the list is empty again
    }

    [Fact]
    public void Segment_ConstructedByACaller_NeverReused()
    {
        var sim = new Simulation(KernelProfile.Linux6, seed: 1);
        var mine = new Segment(Tuple, TcpFlags.Ack, 1, 2, 3, 4, TcpOptions.None);
        sim.RecycleSegment(mine);
        Assert.NotSame(mine, sim.NewSegment(Tuple, TcpFlags.Rst, 9, 9, 9, 9, TcpOptions.None));
        Assert.Equal(TcpFlags.Ack, mine.Flags);
    }

    static List<IBindOwner> Owners(BindBucket bucket)
    {
        var list = new List<IBindOwner>();
        foreach (var o in bucket) list.Add(o);
        return list;
    }

    [Fact]
    public void BindBucket_TwoOwnersThenAThird_EnumeratesEachOnceAndRemovesEach()
    {
        var bucket = new BindBucket(80, byConnect: false);
        TestBindOwner a = new(1), b = new(2), c = new(3);
        bucket.Add(a);
        bucket.Add(a); // an owner already there is not added twice
        bucket.Add(b);
        Assert.Equal(2, bucket.Count);
        Assert.Equal([a, b], Owners(bucket).OrderBy(o => o.BindHash));
        bucket.Add(c);
        Assert.Equal(3, bucket.Count);
        Assert.Equal([a, b, c], Owners(bucket).OrderBy(o => o.BindHash));
        Assert.True(bucket.Remove(b));
        Assert.False(bucket.Remove(b));
        Assert.Equal([a, c], Owners(bucket).OrderBy(o => o.BindHash));
        Assert.True(bucket.Remove(a));
        Assert.True(bucket.Remove(c));
        Assert.Equal(0, bucket.Count);
        Assert.Empty(Owners(bucket));
    }

    [Fact]
    public void BindBucket_FirstOwnerRemoved_SecondStillEnumeratedAndTheSlotReused()
    {
        var bucket = new BindBucket(40000, byConnect: true);
        TestBindOwner a = new(1), b = new(2), c = new(3);
        bucket.Add(a);
        bucket.Add(b);
        Assert.True(bucket.Remove(a));
        Assert.Equal([b], Owners(bucket));
        bucket.Add(c);
        Assert.Equal(2, bucket.Count);
        Assert.Equal([b, c], Owners(bucket).OrderBy(o => o.BindHash));
    }

    [Fact]
    public void FreeQueues_EmptySmallListGivenBack_IsTheNextOneTaken()
    {
        var free = new FreeQueues();
        var rtx = free.RtxQueue(1);
        var snd = free.WriteQueue(1);
        free.Give(rtx);
        free.Give(snd);
        free.Give((List<TcpSocket.RcvSkb>?)null); // a socket that never received has no receive queue list
        Assert.Same(rtx, free.RtxQueue(1));
        Assert.Same(snd, free.WriteQueue(1));
        Assert.NotSame(rtx, free.RtxQueue(1)); // taken once only
    }

    [Fact]
    public void FreeQueues_ListStillHoldingEntriesOrGrownLarge_IsNotKept()
    {
        var free = new FreeQueues();
        var holding = free.RtxQueue(1);
        holding.Add(default);
        free.Give(holding);
        var grown = new List<TcpSocket.InFlight>(64);
        free.Give(grown);
        var next = free.RtxQueue(1);
        Assert.NotSame(holding, next);
        Assert.NotSame(grown, next);
        Assert.Empty(next);
    }

    [Fact]
    public void FreeQueues_SharedEmptyRetransmissionQueue_IsNeverKeptNorHandedOut()
    {
        var free = new FreeQueues();
        free.Give(free.NoRtx);
        Assert.NotSame(free.NoRtx, free.RtxQueue(1));
    }
}
