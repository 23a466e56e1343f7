using SimService.Domain.Commands;
using SimService.Domain.Tcp;
using SimService.Domain.Network;
using SimService.Domain.Tests.Fixtures;
using static SimService.Domain.Tests.Fixtures.TwoHostHarness;

namespace SimService.Domain.Tests.Tcp;

/// <summary>
/// inet_bind_bucket as the host keeps it: two owners and two TIME-WAIT slots inline, a set beyond each. The orders are
/// pinned so that a change of the bucket's layout keeps them (session 26 measured the two sets behind one object, and
/// these passed on both layouts): the owners inline in their places, then the owners' set in its insertion order (the
/// third owner, then the second, then the first — the chained store runs right to left), freed entries reused most
/// recent first; the slots inline, then the slots' set.
/// </summary>
public class BindBucketTests
{
    static List<string> Owners(BindBucket b)
    {
        var list = new List<string>();
        foreach (var o in b) list.Add(o.ToString()!);
        return list;
    }

    static List<int> Slots(BindBucket b)
    {
        var list = new List<int>();
        foreach (int s in b.TimeWaitSlots) list.Add(s);
        return list;
    }

    [Fact]
    public void Owners_TwoInlineThenASet_EnumerateInTheirPlacesThenInsertionOrder()
    {
        var o = Enumerable.Range(0, 8).Select(i => new TestBindOwner(i)).ToArray();
        var b = new BindBucket(80, byConnect: false);
        b.Add(o[1]);
        b.Add(o[2]);
        b.Add(o[1]); // already there
        Assert.Equal(["o1", "o2"], Owners(b));
        Assert.True(b.Remove(o[1]));
        b.Add(o[3]); // the free first place
        Assert.Equal(["o3", "o2"], Owners(b));
        Assert.False(b.Remove(o[1]));

        b.Add(o[4]); // a third: the set
        Assert.Equal(["o4", "o2", "o3"], Owners(b));
        b.Add(o[5]);
        Assert.True(b.Remove(o[2]));
        b.Add(o[6]); // takes the freed entry
        Assert.Equal(["o4", "o6", "o3", "o5"], Owners(b));
        Assert.Equal(4, b.Count);

        Assert.True(b.Remove(o[4]));
        Assert.True(b.Remove(o[6]));
        Assert.True(b.Remove(o[3]));
        Assert.Equal(["o5"], Owners(b));
        b.Add(o[7]); // the set stays once made
        Assert.Equal(["o7", "o5"], Owners(b));
        Assert.Equal(2, b.Count);
        Assert.Empty(Slots(b));
    }

    [Fact]
    public void TimeWaitSlots_TwoInlineThenASet_EnumerateInlineFirst()
    {
        var b = new BindBucket(80, byConnect: false);
        b.AddTimeWait(10);
        b.AddTimeWait(11);
        b.AddTimeWait(12);
        b.AddTimeWait(13);
        Assert.Equal([10, 11, 12, 13], Slots(b));
        Assert.True(b.RemoveTimeWait(10));
        b.AddTimeWait(14); // the free inline place
        Assert.True(b.RemoveTimeWait(12));
        b.AddTimeWait(15); // the set's freed entry
        Assert.Equal([14, 11, 15, 13], Slots(b));
        Assert.False(b.RemoveTimeWait(12));
        Assert.Equal(4, b.TimeWaitCount);
        Assert.Equal(4, b.Count);
        Assert.Empty(Owners(b));
    }

    [Fact]
    public void OwnersAndSlotsBothBeyondTwo_KeepTheirOwnOrdersAndCount()
    {
        var o = Enumerable.Range(0, 5).Select(i => new TestBindOwner(i)).ToArray();
        var b = new BindBucket(80, byConnect: true);
        b.AddTimeWait(7);
        b.AddTimeWait(8);
        b.AddTimeWait(9); // the slots' set before the owners'
        for (int i = 1; i <= 4; i++) b.Add(o[i]);
        b.AddTimeWait(6);
        Assert.Equal(["o3", "o2", "o1", "o4"], Owners(b));
        Assert.Equal([7, 8, 9, 6], Slots(b));
        Assert.Equal(8, b.Count);
        Assert.True(b.ByConnect);

        for (int i = 1; i <= 4; i++) Assert.True(b.Remove(o[i]));
        foreach (int s in new[] { 6, 7, 8, 9 }) Assert.True(b.RemoveTimeWait(s));
        Assert.Equal(0, b.Count);
        Assert.False(b.AllConnectBind(null!)); // empty
    }

    /// <summary>
    /// A listener's port with three owners (the listener, two open children) and three TIME-WAITs its server closed
    /// first, then five TIME-WAITs alone: inet_csk_bind_conflict() over every one of them, until the last expires and
    /// the bucket goes.
    /// </summary>
    [Fact]
    public void ListenerPort_ThreeOwnersAndThreeTimeWaits_BindConflictsUntilTheLastTimeWaitExpires()
    {
        var h = new TwoHostHarness();
        var l = h.Call(new SocketCallRequest("server", "app", SocketCallKind.Listen) { Port = 80, ReuseAddr = true });
        h.At(Ms(1));
        var clients = new List<int>();
        var accepts = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            clients.Add(h.Call(new SocketCallRequest("client", "app", SocketCallKind.Connect) { ToHost = "server", ToPort = 80 }).SocketId);
            accepts.Add(h.Call(new SocketCallRequest("server", "app", SocketCallKind.Accept) { SocketId = l.SocketId }).CallId);
        }
        h.At(Ms(100));
        var children = accepts.Select(a => h.Returned(a)!.SocketId).ToList();
        // The server closes first, the client 50 ms later: the server's child goes to TIME-WAIT at the client's FIN.
        void CloseServerFirst(int from, int to, double atMs)
        {
            for (int i = from; i < to; i++) h.Call("server", SocketCallKind.Close, children[i]);
            h.At(Ms(atMs + 50));
            for (int i = from; i < to; i++) h.Call("client", SocketCallKind.Close, clients[i]);
            h.At(Ms(atMs + 100));
        }
        CloseServerFirst(0, 3, atMs: 100);
        Assert.Equal(3, h.Server.TimeWaitCount);

        Assert.True(h.Server.WildcardBindConflicts(80, reuseAddr: false));
        Assert.True(h.Server.WildcardBindConflicts(80, reuseAddr: true)); // the listener
        h.Call("server", SocketCallKind.Close, l.SocketId);
        h.At(Ms(210));
        Assert.False(h.Server.WildcardBindConflicts(80, reuseAddr: true)); // children and TIME-WAITs all SO_REUSEADDR
        Assert.True(h.Server.WildcardBindConflicts(80, reuseAddr: false));

        h.At(S(5));
        CloseServerFirst(3, 5, atMs: 5000);
        Assert.Equal(5, h.Server.TimeWaitCount);
        Assert.True(h.Server.WildcardBindConflicts(80, reuseAddr: false));
        Assert.False(h.Server.WildcardBindConflicts(80, reuseAddr: true));

        // TIME-WAIT from ≈ 160 ms and ≈ 5.06 s; tw_timer's 60 s land on the timer wheel's 4,096-jiffy level.
        h.At(S(60.38));
        Assert.Equal(5, h.Server.TimeWaitCount);
        h.At(S(60.39));
        Assert.Equal(2, h.Server.TimeWaitCount);
        Assert.True(h.Server.WildcardBindConflicts(80, reuseAddr: false));
        h.At(S(66.52));
        Assert.Equal(2, h.Server.TimeWaitCount);
        h.At(S(66.53));
        Assert.Equal(0, h.Server.TimeWaitCount);
        Assert.False(h.Server.WildcardBindConflicts(80, reuseAddr: false));
    }
}
