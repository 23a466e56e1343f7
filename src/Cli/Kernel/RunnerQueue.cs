using System.Collections.Concurrent;

namespace SimService.Cli.Kernel;

/// <summary>
/// The work of one of a kernel run's real-time threads (a script's call thread, a scenario's call workers, a scenario
/// host's namespace thread), served by <see cref="Serve"/> at <see cref="Libc.RunnerPriority"/>. After each item the
/// thread spins <see cref="Libc.SpinNs"/> for the next before it blocks: an item that follows another at once (socket()
/// then connect() at +0, a step's readings of two hosts) is begun at once, where a thread woken from its sleep began it
/// 0.3–1.3 ms later on this 2-core KVM guest. Its spin yields to the run's other threads of its priority.
/// </summary>
internal sealed class RunnerQueue
{
    /// <summary>How long past its time a timed item's thread spins for its release before it blocks for it.</summary>
    const long SpinPastNs = 10_000_000;

    readonly BlockingCollection<Action> _work = [];

    public void Add(Action item) => _work.Add(item);

    /// <summary>
    /// Queues <paramref name="work"/> to begin at <paramref name="atNs"/> (the monotonic clock) once released: the thread
    /// sleeps until shortly before it (<see cref="Libc.SleepThenSpinUntil"/>), then spins until the returned action is
    /// called and begins the work at once — where a thread woken only at the time began it 0.3 ms late on this machine.
    /// The caller must call the action (in a finally): until then the thread serves nothing else.
    /// </summary>
    public Action AddAt(long atNs, Action work)
    {
        var go = new ManualResetEventSlim(false, spinCount: 1);
        _work.Add(() =>
        {
            Libc.SleepThenSpinUntil(atNs);
            while (!go.IsSet && Libc.MonotonicNs() < atNs + SpinPastNs) Libc.SpinOnce();
            go.Wait(); // not disposed: the releasing thread may still be inside Set()
            work();
        });
        return go.Set;
    }

    /// <summary>Has the thread awake (spinning) from shortly before <paramref name="atNs"/>, for an item that may come then.</summary>
    public void StandBy(long atNs) => _work.Add(() => Libc.SleepThenSpinUntil(atNs));

    /// <summary>No more items: <see cref="Serve"/> returns once it has run those queued.</summary>
    public void CompleteAdding() => _work.CompleteAdding();

    /// <summary>Runs the items on the calling thread, at <see cref="Libc.RunnerPriority"/>, until <see cref="CompleteAdding"/>.</summary>
    public void Serve()
    {
        Libc.RealTime(Libc.RunnerPriority);
        while (Next() is { } item) item();
    }

    Action? Next()
    {
        for (long until = Libc.MonotonicNs() + Libc.SpinNs; Libc.MonotonicNs() < until; Libc.SpinOnce())
            if (_work.TryTake(out var item)) return item;
        return _work.TryTake(out var next, Timeout.Infinite) ? next : null;
    }
}
