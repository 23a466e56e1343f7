using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// A named, re-armable timer owned by a socket (the kernel's timer_list). Arming bumps the
/// generation; an item popped with an older generation is stale and skipped, so cancelling costs
/// nothing in the queue (ns-3's EventId.Cancel, gVisor's orphaned timers).
/// </summary>
public sealed class SimTimer(IEventTarget owner, int kind) : IEventTarget
{
    /// <summary>Who handles the expiry; null once detached (its socket was destroyed).</summary>
    public IEventTarget? Owner { get; private set; } = owner;
    public int Kind { get; } = kind;
    public long Generation { get; private set; }
    public bool Armed { get; private set; }
    /// <summary>timer->expires: the tick asked for (what ss and /proc/net/tcp count down to).</summary>
    public SimTime Expires { get; private set; }
    /// <summary>When the timer wheel runs it: its bucket's expiry (<see cref="Jiffies.WheelFires"/>).</summary>
    public SimTime FiresAt { get; private set; }

    internal long Arm(SimTime expires, SimTime firesAt)
    {
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
        Generation++;
        Armed = false;
        return true;
    }

    internal bool IsCurrent(long generation) => Armed && generation == Generation;

    internal void MarkFired() => Armed = false;

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
    void IEventTarget.OnDue(Simulation sim, object? payload) => Owner?.OnDue(sim, this);
}
