using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// The state of one timer_list, stored where its owner keeps it: in a <see cref="SimTimer"/> object, or as a field of
/// the socket itself (the kernel's icsk_retransmit_timer and icsk_delack_timer are fields of inet_connection_sock,
/// not separate allocations). Arming bumps the generation; an item popped with an older generation is stale and
/// skipped, so cancelling costs nothing in the queue (ns-3's EventId.Cancel, gVisor's orphaned timers).
/// </summary>
/// <remarks>
/// The pending item of an armed timer is (target, key, generation): for a <see cref="SimTimer"/> both are the timer;
/// for a timer embedded in its owner the target is the owner (an <see cref="ITimerOwner"/>) and the key names which
/// of its timers it is.
/// </remarks>
public struct TimerState
{
    /// <summary>Where the pending item of the current arming sits in the queue (null when none is pending).</summary>
    internal EventQueue.Chunk? QueueChunk;
    /// <summary>The item's slot in <see cref="QueueChunk"/> (a chunk holds 64).</summary>
    internal byte QueueIndex;
    /// <summary>A byte of the owner's (a <see cref="SimTimer"/>'s kind), kept here where the struct has room: 32 bytes either way.</summary>
    internal byte Tag;
    /// <summary>What the timer was last armed as (a <c>TcpTimerKind</c>): its cancel and its firing are journaled under that name.</summary>
    byte _armedAs;
    /// <summary>
    /// Bumped by every arming and cancel: an item armed with an older one is stale. 32 bits kept, 0 skipped (an item of
    /// generation 0 is not a timer's): 4 billion armings of one timer before a number comes back.
    /// </summary>
    public readonly long Generation => _generation;
    uint _generation;
    public bool Armed { readonly get; private set; }
    /// <summary>timer->expires: the tick asked for (what ss and /proc/net/tcp count down to).</summary>
    public SimTime Expires { readonly get; private set; }
    /// <summary>When the timer wheel runs it: its bucket's expiry (<see cref="Jiffies.WheelFires"/>).</summary>
    public SimTime FiresAt { readonly get; private set; }

    /// <summary>
    /// What the current (or, once it fired or was cancelled, the last) arming was for: one kernel timer serves several
    /// uses (icsk_retransmit_timer: RTO, loss probe, zero-window probe, RACK reordering; sk_timer: keepalive and the orphan
    /// FIN_WAIT2 timer), and an arming's cancel or expiry is journaled under the name it was armed with.
    /// </summary>
    public TcpTimerKind ArmedAs
    {
        readonly get => (TcpTimerKind)_armedAs;
        internal set => _armedAs = checked((byte)value);
    }

    /// <summary>mod_timer(): the old pending item (if any) is unlinked; returns the new generation.</summary>
    internal long Arm(object target, object key, SimTime expires, SimTime firesAt)
    {
        VacateSlot(target, key);
        NextGeneration();
        Armed = true;
        Expires = expires;
        FiresAt = firesAt;
        return Generation;
    }

    /// <summary>__mod_timer() with a new expiry in the pending timer's own bucket: only timer->expires changes.</summary>
    internal void ExpiresInPlace(SimTime expires) => Expires = expires;

    /// <summary>del_timer(): cancels the timer; returns whether it was armed.</summary>
    internal bool Cancel(object target, object key)
    {
        if (!Armed) return false;
        VacateSlot(target, key);
        NextGeneration();
        Armed = false;
        return true;
    }

    void NextGeneration()
    {
        if (++_generation == 0) _generation = 1;
    }

    /// <summary>
    /// An embedded timer of an object taken again from a free list (<c>TcpSocket.Init</c>): not armed, no slot, no
    /// expiry — a new timer's state — but the generation goes on, so no queue item of the object's earlier life can
    /// ever be current for it.
    /// </summary>
    internal void Recycle()
    {
        QueueChunk = null;
        QueueIndex = 0;
        Tag = 0;
        _armedAs = 0;
        Armed = false;
        Expires = FiresAt = default;
    }

    internal readonly bool IsCurrent(long generation) => Armed && generation == Generation;

    internal void MarkFired()
    {
        Armed = false;
        QueueChunk = null;
    }

    /// <summary>The pending item of an armed timer stops referencing it (mod_timer()/del_timer() unlinking it from its bucket).</summary>
    void VacateSlot(object target, object key)
    {
        if (QueueChunk is not { } chunk) return;
        if (Armed) EventQueue.Vacate(chunk, QueueIndex, target, key, Generation);
        QueueChunk = null;
    }
}

/// <summary>An owner that keeps timers as <see cref="TimerState"/> fields of its own: it finds one by its key.</summary>
public interface ITimerOwner : IEventTarget
{
    /// <summary>The timer an item was queued for (<paramref name="key"/> is the item's payload).</summary>
    ref TimerState TimerFor(object? key);
}

/// <summary>
/// A named, re-armable timer as an object of its own (the kernel's timer_list), for an owner that makes it on first
/// use or keeps no timer field (keepalive, linger, a poll()'s hrtimer), or embedded by a subclass that is its own
/// timer (a TIME-WAIT entry, a request socket).
/// </summary>
public class SimTimer : IEventTarget
{
    public SimTimer(IEventTarget owner, int kind)
    {
        Owner = owner;
        State.Tag = checked((byte)kind);
    }

    /// <summary>A timer embedded in its owner (a subclass that handles its own expiry, <see cref="Expired"/>).</summary>
    protected SimTimer() { }

    /// <summary>Who handles the expiry; null once detached (its socket was destroyed) or when embedded.</summary>
    public IEventTarget? Owner { get; private set; }
    /// <summary>The owner's number for this timer (a byte: a timer object stays at 64 bytes).</summary>
    public int Kind => State.Tag;
    internal TimerState State;
    public long Generation => State.Generation;
    public bool Armed => State.Armed;
    /// <summary>timer->expires: the tick asked for (what ss and /proc/net/tcp count down to).</summary>
    public SimTime Expires => State.Expires;
    /// <summary>What the timer was last armed as (<see cref="TimerState.ArmedAs"/>).</summary>
    public TcpTimerKind ArmedAs => State.ArmedAs;
    /// <summary>When the timer wheel runs it: its bucket's expiry (<see cref="Jiffies.WheelFires"/>).</summary>
    public SimTime FiresAt => State.FiresAt;

    internal long Arm(SimTime expires, SimTime firesAt) => State.Arm(this, this, expires, firesAt);

    /// <summary>Cancels the timer; returns whether it was armed.</summary>
    internal bool Cancel() => State.Cancel(this, this);

    /// <summary>
    /// Cuts the timer from its destroyed owner: a cancelled timer's stale queue item then pins only
    /// this small object until its expiry, not the whole socket (memory bounded by what is alive).
    /// </summary>
    internal void Detach()
    {
        Cancel();
        Owner = null;
    }

    /// <summary>
    /// The timer of an owner taken again from a free list (<c>TcpSocket.Init</c>): attached to <paramref name="owner"/>
    /// again as a new timer of <paramref name="kind"/> — not armed, no slot, no expiry — while its generation goes on
    /// (<see cref="TimerState.Recycle"/>), so no queue item of an earlier life can be current for it. The kernel's
    /// sk_timer is a field of struct sock, kept in the slab object; this keeps the object rather than making another.
    /// </summary>
    internal void Reuse(IEventTarget owner, int kind)
    {
        State.Recycle();
        State.Tag = checked((byte)kind);
        Owner = owner;
    }

    /// <summary>The queue item of an armed timer targets the timer itself, which hands the expiry to its owner.</summary>
    void IEventTarget.OnDue(Simulation sim, object? payload) => Expired(sim);

    /// <summary>The expiry: handed to the owner, or handled by an embedding subclass.</summary>
    protected virtual void Expired(Simulation sim) => Owner?.OnDue(sim, this);
}
