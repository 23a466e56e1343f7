using SimService.Domain.Engine;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Tests.EventLoop;

public class EventQueueTests
{
    sealed class Recorder(List<string> log, string name) : IEventTarget
    {
        public void OnDue(Simulation sim, object? payload) => log.Add($"{sim.Now}:{name}:{payload}");
    }

    [Fact]
    public void Queue_SameTime_ComesOutInInsertionOrder()
    {
        var q = new EventQueue();
        var log = new List<string>();
        var t = new Recorder(log, "x");
        q.Enqueue(new SimTime(5), t, "b");
        q.Enqueue(new SimTime(1), t, "a");
        q.Enqueue(new SimTime(5), t, "c");
        var order = new List<object?>();
        while (q.Count > 0) order.Add(q.Dequeue().Payload);
        Assert.Equal(["a", "b", "c"], order);
    }

    [Fact]
    public void Queue_ManyItemsAtFewTimes_ComeOutByTimeThenInsertionOrder()
    {
        // More items per time than one chunk holds, times interleaved, and items added to a time while it drains.
        var q = new EventQueue();
        var t = new Recorder([], "x");
        var expected = new List<(long, int)>();
        for (int i = 0; i < 300; i++)
        {
            long at = (i * 7) % 3 * 10;
            q.Enqueue(new SimTime(at), t, i);
        }
        for (long at = 0; at <= 20; at += 10)
            for (int i = 0; i < 300; i++)
                if ((i * 7) % 3 * 10 == at) expected.Add((at, i));
        var order = new List<(long, int)>();
        while (q.Count > 0)
        {
            var item = q.Dequeue(out var at);
            order.Add((at.Ns, (int)item.Payload!));
            if ((int)item.Payload! == 3) // while time 0 drains: 130 more at 10, after every item already there
                for (int i = 1000; i < 1130; i++) q.Enqueue(new SimTime(10), t, i);
        }
        int afterLastAt10 = expected.FindLastIndex(e => e.Item1 == 10) + 1;
        expected.InsertRange(afterLastAt10, Enumerable.Range(1000, 130).Select(i => (10L, i)));
        Assert.Equal(expected, order);
    }

    [Fact]
    public void Queue_PeekBehind_ShowsTheItemsTheNextDequeuesReturnWithinTheirTime()
    {
        // 100 items at 10 (two chunks of 64), one at 20: after each dequeue at 10, PeekBehind(d) is the item the d-th
        // dequeue after it returns while that one is due at 10 too, across the chunk boundary; past time 10 it is false.
        var q = new EventQueue();
        var t = new Recorder([], "x");
        for (int i = 0; i < 100; i++) q.Enqueue(new SimTime(10), t, i);
        q.Enqueue(new SimTime(20), t, 100);
        Assert.False(q.PeekBehind(1, out _)); // nothing taken yet
        for (int taken = 0; taken < 100; taken++)
        {
            Assert.Equal(taken, (int)q.Dequeue().Payload!);
            foreach (int d in new[] { 1, 3, 12, 64, 70 })
            {
                bool sameTime = taken + d < 100;
                Assert.Equal(sameTime, q.PeekBehind(d, out var ahead));
                if (sameTime) Assert.Equal(taken + d, (int)ahead.Payload!);
            }
        }
        Assert.Equal(100, (int)q.Dequeue().Payload!);
        Assert.False(q.PeekBehind(1, out _));
    }

    [Fact]
    public void Queue_RandomWork_ComesOutAsAReferenceModelOrdersIt()
    {
        // A reference model (every item sorted by time, then insertion order) beside the queue: items queued for the instant
        // just popped (while it drains and after it drained), for later times, more than a chunk at once, and timers'
        // items taken out (Remove) — the queue must give the model's order, times and counts.
        var q = new EventQueue();
        var t = new Recorder([], "x");
        var rng = new Random(27);
        var model = new List<(long At, int Seq)>();
        var timers = new Dictionary<int, SimTimer>();
        int seq = 0, popped = 0;
        long now = 0;
        void Add(long at)
        {
            if (rng.Next(8) == 0)
            {
                var timer = new SimTimer(t, 0);
                var due = new SimTime(at);
                q.EnqueueTimer(due, timer, timer.Arm(due, due));
                timers[seq] = timer;
            }
            else q.Enqueue(new SimTime(at), t, seq);
            model.Add((at, seq++));
        }
        for (int i = 0; i < 20; i++) Add(rng.Next(4) * 10);
        while (model.Count > 0)
        {
            Assert.Equal(model.Count, q.Count);
            var first = model.MinBy(e => (e.At, e.Seq));
            Assert.True(q.TryPeekTime(out var next));
            Assert.Equal(first.At, next.Ns);
            var item = q.Dequeue(out var at);
            model.Remove(first);
            Assert.Equal(first.At, at.Ns);
            Assert.Equal(first.Seq, item.Payload is SimTimer fired ? timers.Single(p => p.Value == fired).Key : (int)item.Payload!);
            now = at.Ns;
            popped++;
            // What the item does: mostly queue work for now (0–2 items, or a run of 70: past a chunk), sometimes for later.
            int r = rng.Next(10);
            int n = r < 6 ? rng.Next(3) : r < 7 ? 70 : 0;
            for (int k = 0; k < n && seq < 3000; k++) Add(now);
            if (r >= 8 && seq < 3000) Add(now + rng.Next(1, 4) * 10);
            // Or takes a pending timer's item out: it is gone from both.
            if (rng.Next(6) == 0 && timers.Keys.FirstOrDefault(k => model.Exists(e => e.Seq == k)) is var key && key > 0)
            {
                var pending = timers[key];
                q.Remove(ref pending.State, pending, pending);
                pending.Cancel();
                model.RemoveAll(e => e.Seq == key);
            }
        }
        Assert.Equal(0, q.Count);
        Assert.False(q.TryPeekTime(out _));
        Assert.True(popped > 2000, $"{popped} popped");
    }

    /// <summary>Queues a wheel timer armed at jiffy <paramref name="armedAt"/> for jiffy <paramref name="expires"/>; returns when it fires.</summary>
    static SimTime ArmWheelTimer(EventQueue q, IEventTarget t, string name, long armedAt, long expires, bool pinned = false)
    {
        var now = new SimTime(armedAt * Jiffies.Tick.Ns);
        var exp = new SimTime(expires * Jiffies.Tick.Ns);
        var fires = Jiffies.WheelFires(now, exp, KernelProfile.Linux6);
        q.Enqueue(fires, t, name, wheelRank: Jiffies.WheelRank(now, exp, KernelProfile.Linux6, pinned, baseClockAhead: false));
        return fires;
    }

    static List<(long, string)> Drain(EventQueue q)
    {
        var order = new List<(long, string)>();
        while (q.Count > 0)
        {
            var item = q.Dequeue(out var at);
            order.Add((at.Ns, (string)item.Payload!));
        }
        return order;
    }

    [Fact]
    public void Queue_TwoRequestTimersInOneBucket_LastArmedComesOutFirst()
    {
        // Two SYN-ACK timers armed at jiffies 2 and 3 for 252 and 253: level 1 (delta 250), one bucket (jiffy 256,
        // 1.024 s). enqueue_timer()'s hlist_add_head() puts the second before the first; expire_timers() runs from the head.
        var q = new EventQueue();
        var t = new Recorder([], "x");
        var first = ArmWheelTimer(q, t, "r1", 2, 252, pinned: true);
        var second = ArmWheelTimer(q, t, "r2", 3, 253, pinned: true);
        Assert.Equal(new SimTime(1_024_000_000), first);
        Assert.Equal(first, second);
        Assert.Equal([(1_024_000_000L, "r2"), (1_024_000_000L, "r1")], Drain(q));
    }

    [Fact]
    public void Queue_TimersOfTwoLevelsDueAtOneClk_HigherLevelBucketRunsFirst()
    {
        // a and c on level 1 (delta ≥ 63), armed at jiffies 0 and 1; b on level 0 (delta 62), armed at jiffy 193 — all
        // in the bucket of jiffy 256 (1.024 s). __run_timers(): while (levels--) expire_timers(base, heads + levels) runs
        // level 1's bucket (c, a: last armed first) before level 0's (b); plain FIFO would give a, c, b, plain LIFO b, c, a.
        var q = new EventQueue();
        var t = new Recorder([], "x");
        var a = ArmWheelTimer(q, t, "a", 0, 250);
        var c = ArmWheelTimer(q, t, "c", 1, 251);
        var b = ArmWheelTimer(q, t, "b", 193, 255);
        Assert.Equal(new SimTime(1_024_000_000), a);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.Equal([(1_024_000_000L, "c"), (1_024_000_000L, "a"), (1_024_000_000L, "b")], Drain(q));
    }

    [Fact]
    public void Queue_PinnedAndGlobalTimerDueTogether_PinnedBaseRunsFirst()
    {
        // A socket's retransmit timer (BASE_GLOBAL) armed at jiffy 0, a request's rsk_timer (TIMER_PINNED, BASE_LOCAL)
        // armed at jiffy 1, both level 1 and due at jiffy 256: run_timer_softirq() runs BASE_LOCAL first. A plain
        // (non-timer) item at that instant keeps its place, first, as queued.
        var q = new EventQueue();
        var t = new Recorder([], "x");
        q.Enqueue(new SimTime(1_024_000_000), t, "segment");
        var global = ArmWheelTimer(q, t, "rto", 0, 250);
        var pinned = ArmWheelTimer(q, t, "rsk", 1, 251, pinned: true);
        var later = ArmWheelTimer(q, t, "delack", 2, 252);
        Assert.Equal(global, pinned);
        Assert.Equal(global, later);
        Assert.Equal([(1_024_000_000L, "segment"), (1_024_000_000L, "rsk"), (1_024_000_000L, "delack"), (1_024_000_000L, "rto")], Drain(q));
    }

    [Fact]
    public void Simulation_RunUntil_ProcessesEventsAtTheBoundaryAndSetsTheClock()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var log = new List<string>();
        sim.Schedule(new SimTime(1_000), new Recorder(log, "a"), 1);
        sim.Schedule(new SimTime(2_000), new Recorder(log, "b"), 2);
        var r = sim.RunUntil(new SimTime(1_000));
        Assert.Equal(["1us:a:1"], log);
        Assert.Equal(new SimTime(1_000), sim.Now);
        Assert.False(r.Idle);
        sim.RunUntil(new SimTime(5_000));
        Assert.Equal(new SimTime(5_000), sim.Now);
        Assert.Equal(2, log.Count);
    }

    [Fact]
    public void Simulation_EventBudget_StopsEarlyAndReportsTruncation()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var log = new List<string>();
        for (int i = 0; i < 10; i++) sim.Schedule(new SimTime(i), new Recorder(log, "e"), i);
        var r = sim.RunUntilIdle(new SimTime(1_000_000), eventBudget: 4);
        Assert.True(r.Truncated);
        Assert.Equal(4, r.EventsProcessed);
        Assert.Equal(new SimTime(3), sim.Now);
        Assert.Equal(6, sim.PendingEvents);
    }
}

public class TimerTests
{
    sealed class Named(List<string> log, string name) : IEventTarget
    {
        public void OnDue(Simulation sim, object? payload) => log.Add($"{sim.Now.Ms}:{name}");
    }

    sealed class Counter : IEventTarget
    {
        public int Fired;
        public void OnDue(Simulation sim, object? payload) => Fired++;
    }

    [Fact]
    public void Timer_Rearmed_OnlyTheLatestFires()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var target = new Counter();
        var timer = new SimTimer(target, 0);
        var host = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        // Expiries at jiffies 25 and 50, both on level 0 of the wheel: run one jiffy later, at 104 and 204 ms.
        sim.ArmTimer(timer, host, 1, TcpTimerKind.Retransmit, new SimTime(100_000_000));
        sim.ArmTimer(timer, host, 1, TcpTimerKind.Retransmit, new SimTime(200_000_000));
        sim.RunUntil(new SimTime(203_999_999));
        Assert.Equal(0, target.Fired);
        sim.RunUntil(new SimTime(204_000_000));
        Assert.Equal(1, target.Fired);
        Assert.False(timer.Armed);
    }

    [Fact]
    public void Timer_RearmedForAnotherExpiryInItsOwnBucket_KeepsItsPlaceInTheBucketsOrder()
    {
        // a for jiffy 250 then b for 251, both level 1, bucket 256 (1.024 s). Re-armed for 252, a has the same
        // calc_wheel_index(): __mod_timer() only sets timer->expires, a stays behind b in the hlist, so b (armed last)
        // runs first — and no second item is queued.
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var log = new List<string>();
        var a = new SimTimer(new Named(log, "a"), 0);
        var b = new SimTimer(new Named(log, "b"), 0);
        var host = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        sim.ArmTimer(a, host, 1, TcpTimerKind.Retransmit, new SimTime(1_000_000_000));
        sim.ArmTimer(b, host, 2, TcpTimerKind.Retransmit, new SimTime(1_004_000_000));
        sim.ArmTimer(a, host, 1, TcpTimerKind.Retransmit, new SimTime(1_008_000_000));
        Assert.Equal(2, sim.PendingEvents);
        Assert.Equal(new SimTime(1_008_000_000), a.Expires);
        Assert.Equal(new SimTime(1_024_000_000), a.FiresAt);
        sim.RunUntilIdle(new SimTime(2_000_000_000));
        Assert.Equal(["1024:b", "1024:a"], log);
    }

    [Fact]
    public void Timer_Cancelled_NeverFires()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var target = new Counter();
        var timer = new SimTimer(target, 0);
        var host = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        sim.ArmTimer(timer, host, 1, TcpTimerKind.Retransmit, new SimTime(100_000_000));
        sim.CancelTimer(timer, host, 1);
        sim.RunUntilIdle(new SimTime(1_000_000_000));
        Assert.Equal(0, target.Fired);
        // TimerArmed records when the wheel would run it: jiffy 25 + 1 = 104 ms.
        Assert.Equal<SimEvent>(
            [new TimerArmed(SimTime.Zero, 0, "h", 1, TcpTimerKind.Retransmit, new SimTime(104_000_000)),
             new TimerCancelled(SimTime.Zero, 1, "h", 1, TcpTimerKind.Retransmit)],
            sim.Journal.Where(e => e is TimerArmed or TimerCancelled));
    }

    [Fact]
    public void ArmedTimer_Cancel_ItsSlotIsVacatedAndStillPopped()
    {
        var q = new EventQueue();
        var timer = new SimTimer(new Counter(), 0);
        var at = new SimTime(104_000_000);
        q.EnqueueTimer(at, timer, timer.Arm(at, at));
        timer.Cancel();
        Assert.Equal(1, q.Count);
        var item = q.Dequeue(out var due);
        Assert.Equal(at, due);
        Assert.True(item.Vacated);
        Assert.Null(item.Timer);
        Assert.Null(item.Payload); // del_timer(): the queue no longer references the timer or its owner
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public void ArmedTimer_Rearm_OnlyTheOldSlotIsVacated()
    {
        var q = new EventQueue();
        var timer = new SimTimer(new Counter(), 0);
        var first = new SimTime(104_000_000);
        var second = new SimTime(204_000_000);
        q.EnqueueTimer(first, timer, timer.Arm(first, first));
        long generation = timer.Arm(second, second);
        q.EnqueueTimer(second, timer, generation);
        Assert.True(q.Dequeue().Vacated);
        var current = q.Dequeue();
        Assert.Same(timer, current.Timer);
        Assert.Equal(generation, current.Generation);
    }

    /// <summary>An owner with two timers as fields of its own, as a socket keeps its xmit and delayed-ACK timers.</summary>
    sealed class TwoTimers : ITimerOwner
    {
        public static readonly object A = new(), B = new();
        public TimerState TimerA, TimerB;
        public readonly List<string> Fired = [];
        public ref TimerState TimerFor(object? key) => ref ReferenceEquals(key, A) ? ref TimerA : ref TimerB;
        public void OnDue(Simulation sim, object? payload) => Fired.Add($"{sim.Now.Ms}:{(ReferenceEquals(payload, A) ? "A" : "B")}");
    }

    [Fact]
    public void EmbeddedTimers_SameGenerationOneCancelled_OnlyItsSlotIsVacated()
    {
        var q = new EventQueue();
        var owner = new TwoTimers();
        var at = new SimTime(104_000_000);
        q.EnqueueTimer(at, owner, TwoTimers.A, ref owner.TimerA, owner.TimerA.Arm(owner, TwoTimers.A, at, at));
        q.EnqueueTimer(at, owner, TwoTimers.B, ref owner.TimerB, owner.TimerB.Arm(owner, TwoTimers.B, at, at));
        Assert.Equal(owner.TimerA.Generation, owner.TimerB.Generation);
        Assert.True(owner.TimerA.Cancel(owner, TwoTimers.A));
        var first = q.Dequeue();
        Assert.True(first.Vacated);
        Assert.Null(first.Payload); // the queue no longer references the owner for the cancelled timer
        var second = q.Dequeue();
        Assert.Same(owner, second.Target);
        Assert.Same(TwoTimers.B, second.Payload);
        Assert.Null(second.Timer); // an embedded timer's item names its owner, not a timer object
    }

    [Fact]
    public void EmbeddedTimers_ArmedAndRearmed_EachFiresOnceAtItsLatestTime()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var host = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        var owner = new TwoTimers();
        sim.ArmTimer(ref owner.TimerA, owner, TwoTimers.A, host, 1, TcpTimerKind.Retransmit, new SimTime(100_000_000));
        sim.ArmTimer(ref owner.TimerB, owner, TwoTimers.B, host, 1, TcpTimerKind.DelayedAck, new SimTime(40_000_000));
        sim.ArmTimer(ref owner.TimerA, owner, TwoTimers.A, host, 1, TcpTimerKind.Retransmit, new SimTime(200_000_000));
        sim.RunUntilIdle(new SimTime(1_000_000_000));
        // Jiffy 10 + 1 = 44 ms for B; A re-armed for jiffy 50: its wheel bucket runs at 204 ms; the first arming never fires.
        Assert.Equal(["44:B", "204:A"], owner.Fired);
        Assert.False(owner.TimerA.Armed);
        Assert.False(owner.TimerB.Armed);
    }

    [Fact]
    public void CancelledTimer_RunUntilIdle_ClockAndEventCountAsForAStaleItem()
    {
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var target = new Counter();
        var timer = new SimTimer(target, 0);
        var host = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        sim.ArmTimer(timer, host, 1, TcpTimerKind.Retransmit, new SimTime(100_000_000));
        sim.CancelTimer(timer, host, 1);
        var result = sim.RunUntilIdle(new SimTime(1_000_000_000));
        // The vacated slot is popped at the wheel's firing time (jiffy 25 + 1 = 104 ms) and counted, firing nothing.
        Assert.Equal(1, result.EventsProcessed);
        Assert.Equal(new SimTime(104_000_000), sim.Now);
        Assert.Equal(0, target.Fired);
    }

    [Fact]
    public void PendingTimer_RearmedForTheSameExpiry_KeepsItsItemAndPlace()
    {
        // __mod_timer(): a pending timer re-modified to the same timeout just returns. Its item stays where it was:
        // ahead of an item queued for the same time after it was armed, and no stale item is left to pop.
        var sim = new Simulation(KernelProfile.Linux6, 1);
        var log = new List<string>();
        var timer = new SimTimer(new Named(log, "timer"), 0);
        var host = sim.AddHost("h", IPv4.Parse("10.0.0.1")).Value!;
        sim.ArmTimer(timer, host, 1, TcpTimerKind.LossProbe, new SimTime(100_000_000));
        sim.Schedule(new SimTime(104_000_000), new Named(log, "other"), null);
        sim.ArmTimer(timer, host, 1, TcpTimerKind.LossProbe, new SimTime(100_000_000));
        Assert.Equal(2, sim.PendingEvents);
        var result = sim.RunUntilIdle(new SimTime(1_000_000_000));
        Assert.Equal(["104:timer", "104:other"], log);
        Assert.Equal(2, result.EventsProcessed);
        Assert.Equal(2, sim.Journal.OfType<TimerArmed>().Count()); // each mod_timer() call is still journaled
    }

    [Theory]
    [InlineData(0, 200, 200)]
    [InlineData(10_500_000 / 1_000, 0, 8)]
    [InlineData(1, 1, 4)]
    [InlineData(3_999, 1_000, 1_000)]
    public void Jiffies_Expiry_IsTheTickOfJiffiesPlusTheTimeoutInJiffies(long nowUs, long timeoutMs, long expectedMs)
    {
        var expires = Jiffies.Expiry(new SimTime(nowUs * 1000), SimDuration.FromMilliseconds(timeoutMs));
        Assert.Equal(expectedMs, expires.Ms);
    }

    [Fact]
    public void Pcg32_SameSeed_SameStreamAndKnownFirstValues()
    {
        var a = new Pcg32(42);
        var b = new Pcg32(42);
        var c = new Pcg32(43);
        var sa = Enumerable.Range(0, 5).Select(_ => a.NextUInt32()).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 5).Select(_ => b.NextUInt32()).ToArray());
        Assert.NotEqual(sa, Enumerable.Range(0, 5).Select(_ => c.NextUInt32()).ToArray());
    }
}
