namespace SimService.Domain.Engine;

/// <summary>The tasks a wakeup reaches: a call asleep in the kernel, one bit per kind of sleep.</summary>
[Flags]
internal enum WokenTasks : byte
{
    None = 0,
    /// <summary>recv() in sk_wait_data().</summary>
    Reader = 1,
    /// <summary>send() in sk_stream_wait_memory().</summary>
    Writer = 2,
    /// <summary>close() in sk_stream_wait_close() (SO_LINGER).</summary>
    Close = 4,
    /// <summary>connect() in inet_wait_for_connect().</summary>
    Connect = 8,
    /// <summary>accept() in inet_csk_wait_for_connect().</summary>
    Accept = 16,
    /// <summary>poll() in do_poll() → poll_schedule_timeout().</summary>
    Poll = 32,
}

/// <summary>The payload of the item a woken task runs as: which of its target's tasks (<see cref="Simulation.WakeTask"/>).</summary>
internal sealed class TaskWake
{
    public readonly WokenTasks Task;

    TaskWake(WokenTasks task) => Task = task;

    static readonly TaskWake Reader = new(WokenTasks.Reader), Writer = new(WokenTasks.Writer), Close = new(WokenTasks.Close),
        Connect = new(WokenTasks.Connect), Accept = new(WokenTasks.Accept), Poll = new(WokenTasks.Poll);

    public static TaskWake Of(WokenTasks task) => task switch
    {
        WokenTasks.Reader => Reader,
        WokenTasks.Writer => Writer,
        WokenTasks.Close => Close,
        WokenTasks.Connect => Connect,
        WokenTasks.Accept => Accept,
        _ => Poll,
    };
}

public sealed partial class Simulation
{
    /// <summary>
    /// Whether the item being handled is a softirq's: a segment's receive (net_rx_action()) or a socket timer
    /// (run_timer_softirq()). A task it wakes runs only after it (<see cref="WakeTask"/>), where a wakeup made by a
    /// call runs the woken call as the waker releases the socket lock.
    /// </summary>
    internal bool InSoftirq { get; private set; }

    /// <summary>Enters a softirq's handling until the returned scope is disposed (<c>using var _ = sim.EnterSoftirq();</c>).</summary>
    internal Softirq EnterSoftirq()
    {
        var scope = new Softirq(this, InSoftirq);
        InSoftirq = true;
        return scope;
    }

    /// <summary>
    /// The handling of one softirq item. On leaving the outermost one, the sleeping poll() calls it made ready are
    /// woken (their tcp_poll() pass queued after it, <see cref="WakePolls"/>) when a woken poll() runs after the softirq
    /// (<see cref="RunsAfterSoftirq"/>; otherwise they are woken after the item, as after any); the flag is restored, not
    /// cleared: a handler nested in another stays inside its softirq.
    /// </summary>
    internal readonly ref struct Softirq(Simulation sim, bool outer)
    {
        public void Dispose()
        {
            if (!outer && sim._polls.Count > 0 && sim.RunsAfterSoftirq(WokenTasks.Poll)) sim.WakePolls();
            sim.InSoftirq = outer;
        }
    }

    /// <summary>
    /// Whether a task woken now runs after the softirq being handled (<see cref="WakeTask"/>) — the one place the engine
    /// rules (<see cref="Commands.EngineRules"/>) decide it, so a stored log rebuilds with its calls woken as when it was
    /// recorded: under <see cref="Commands.EngineRules.WokenAfterSoftirq"/> every woken call does (D56); under
    /// <see cref="Commands.EngineRules.SameInstant"/> only a recv() (D50), a send(), connect(), accept() or poll() running
    /// inside the softirq that woke it; under <see cref="Commands.EngineRules.Original"/> a recv() too runs inside it.
    /// </summary>
    internal bool RunsAfterSoftirq(WokenTasks task) => InSoftirq && EngineRules switch
    {
        Commands.EngineRules.Original => false,
        Commands.EngineRules.SameInstant => task == WokenTasks.Reader,
        _ => true,
    };

    /// <summary>
    /// A wakeup reaches a task asleep in a call — try_to_wake_up() from the wait queue's wake function
    /// (woken_wake_function(), autoremove_wake_function(), pollwake()) only makes it runnable; it runs once its waker
    /// is done. From a softirq that is after the whole softirq: net_rx_action() has by then received every segment
    /// of the burst that arrived with the one that woke it (it polls the device until its queue is empty or the
    /// budget is spent, and a softirq is not preempted by a task), run_timer_softirq() has finished the timer's
    /// handler. So a task woken while <see cref="InSoftirq"/> runs as an item of this instant queued after those
    /// already due, once however many wakeups came (<paramref name="queued"/> holds its target's queued tasks); the
    /// target's OnDue gets a <see cref="TaskWake"/> naming it. A wakeup made by a call comes with the socket lock
    /// held: the woken task takes it as the waker releases it, so it runs with the waker's call — false, run it now. A log
    /// recorded under older engine rules runs the task now from a softirq too (<see cref="RunsAfterSoftirq"/>).
    /// </summary>
    internal bool WakeTask(IEventTarget target, ref WokenTasks queued, WokenTasks task)
    {
        if (!RunsAfterSoftirq(task)) return false;
        QueueTask(target, ref queued, task);
        return true;
    }

    /// <summary>Queues a woken task's run as an item of this instant, unless it is queued already (<see cref="WakeTask"/>).</summary>
    internal void QueueTask(IEventTarget target, ref WokenTasks queued, WokenTasks task)
    {
        if ((queued & task) != 0) return;
        queued |= task;
        Schedule(Now, target, TaskWake.Of(task));
    }
}
