using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// A named, re-armable timer owned by a socket (the kernel's timer_list). Arming bumps the
/// generation; an item popped with an older generation is stale and skipped, so cancelling costs
/// nothing in the queue (ns-3's EventId.Cancel, gVisor's orphaned timers).
/// </summary>
public class SimTimer : IEventTarget
{
    public SimTimer(IEventTarget owner, int kind)
    {
        Owner = owner;
        _kind = checked((byte)kind);
    }

    /// <summary>A timer embedded in its owner (a subclass that handles its own expiry, <see cref="Expired"/>).</summary>
    protected SimTimer() { }

    /// <summary>Who handles the expiry; null once detached (its socket was destroyed) or when embedded.</summary>
    public IEventTarget? Owner { get; private set; }
    /// <summary>The owner's number for this timer (a byte: a timer object stays at 64 bytes).</summary>
    public int Kind => _kind;
    readonly byte _kind;
    /// <summary>Where the pending item of the current arming sits in the queue (null when none is pending).</summary>
    internal EventQueue.Chunk? QueueChunk;
    internal int QueueIndex;
    public long Generation { get; private set; }
    public bool Armed { get; private set; }
    /// <summary>timer->expires: the tick asked for (what ss and /proc/net/tcp count down to).</summary>
    public SimTime Expires { get; private set; }
    /// <summary>When the timer wheel runs it: its bucket's expiry (<see cref="Jiffies.WheelFires"/>).</summary>
    public SimTime FiresAt { get; private set; }

    internal long Arm(SimTime expires, SimTime firesAt)
    {
        VacateSlot();
        Generation++;
        Armed = true;
        Expires = expires;
        FiresAt = firesAt;
        return Generation;
    }

    /// <summary>Cancels the timer; returns whether it was armed.</summary>
    internal bool Cancel()
    {
        if (!Armed) return false;
        VacateSlot();
        Generation++;
        Armed = false;
        return true;
    }

    internal bool IsCurrent(long generation) => Armed && generation == Generation;

    internal void MarkFired()
    {
        Armed = false;
        QueueChunk = null;
    }

    /// <summary>The pending item of an armed timer stops referencing it (mod_timer()/del_timer() unlinking it from its bucket).</summary>
    void VacateSlot()
    {
        if (QueueChunk is not { } chunk) return;
        if (Armed) EventQueue.Vacate(chunk, QueueIndex, this, Generation);
        QueueChunk = null;
    }

    /// <summary>
    /// Cuts the timer from its destroyed owner: a cancelled timer's stale queue item then pins only
    /// this small object until its expiry, not the whole socket (memory bounded by what is alive).
    /// </summary>
    internal void Detach()
    {
        Cancel();
        Owner = null;
    }

    /// <summary>The queue item of an armed timer targets the timer itself, which hands the expiry to its owner.</summary>
    void IEventTarget.OnDue(Simulation sim, object? payload) => Expired(sim);

    /// <summary>The expiry: handed to the owner, or handled by an embedding subclass.</summary>
    protected virtual void Expired(Simulation sim) => Owner?.OnDue(sim, this);
}
