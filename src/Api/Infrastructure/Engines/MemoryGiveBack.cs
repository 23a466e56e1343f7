namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// Gives memory back to the system (<paramref name="giveBack"/>: the process's is a full collection and <c>malloc_trim</c>,
/// <see cref="SimulationEngines.ProcessMemory"/>), at most once every <paramref name="intervalMs"/>: each pauses every
/// thread. Asks that come while one is scheduled are served by it: a delete purged less than 5 s after another
/// simulation's used to give nothing back (the second ask was dropped), and the process kept the second simulation's
/// memory until some later delete or eviction.
/// </summary>
public sealed class MemoryGiveBack(Action giveBack, long intervalMs)
{
    private readonly Lock _gate = new();

    /// <summary>The last time (<see cref="Environment.TickCount64"/>) a give-back started or ended.</summary>
    private long _last = long.MinValue / 2;

    /// <summary>The give-back scheduled and not started yet: an ask joins it; it completes once that give-back has run.</summary>
    private TaskCompletionSource? _scheduled;

    /// <summary>Give-backs running: two may overlap (one scheduled while a long one runs), and either may end first.</summary>
    private int _running;

    /// <summary>Evicted engines whose memory a give-back is to return: while one is still reachable after it, another follows.</summary>
    private readonly List<WeakReference<object>> _awaited = [];

    /// <summary>Give-backs in a row that found an evicted engine still reachable.</summary>
    private int _retries;

    /// <summary>Give-backs that may follow one that found an evicted engine still reachable.</summary>
    private const int Retries = 3;

    private long _count;

    /// <summary>Give-backs run (<c>/metrics</c>).</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>A give-back is scheduled or running (<c>/metrics</c>).</summary>
    public bool Pending
    {
        get { lock (_gate) return _scheduled is not null || _running > 0; }
    }

    /// <summary>
    /// Asks for a give-back. <paramref name="evicted"/>, when given, must be unreachable by then: if it is not, another
    /// give-back follows (up to <see cref="Retries"/>). The task completes once a give-back that started after the ask has
    /// run: one already running when it came may have looked before its garbage was.
    /// </summary>
    public Task Ask(WeakReference<object>? evicted = null)
    {
        lock (_gate)
        {
            if (evicted is not null) _awaited.Add(evicted);
            if (_scheduled is null)
            {
                _retries = 0;
                Schedule();
            }
            return _scheduled!.Task;
        }
    }

    /// <summary>Schedules the give-back (under <see cref="_gate"/>).</summary>
    private void Schedule()
    {
        _scheduled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var wait = Math.Max(0, _last + intervalMs - Environment.TickCount64);
        using (ExecutionContext.SuppressFlow()) // the timer holds nothing of the request that asked
            _ = Task.Delay(TimeSpan.FromMilliseconds(wait)).ContinueWith(_ => Run(), TaskScheduler.Default);
    }

    private void Run()
    {
        TaskCompletionSource done;
        lock (_gate) // an ask from now on waits for the next give-back, at least the interval after this one's start
        {
            (done, _scheduled, _last) = (_scheduled!, null, Environment.TickCount64);
            _running++;
        }
        Exception? failed = null;
        try
        {
            giveBack();
            Interlocked.Increment(ref _count);
        }
        catch (Exception e)
        {
            failed = e; // handed to the asks (a purge's failure is logged there), not left unobserved on the timer's task
        }
        finally
        {
            lock (_gate)
            {
                (_last, _running) = (Environment.TickCount64, _running - 1);
                _awaited.RemoveAll(w => !w.TryGetTarget(out _));
                // An evicted engine still reachable: another give-back follows, unless an ask has scheduled one already.
                if (_awaited.Count > 0 && _scheduled is null)
                {
                    if (++_retries > Retries) _awaited.Clear(); // held by something else: given back with the next engine that goes
                    else Schedule();
                }
            }
            // Out of the lock: what awaits it runs elsewhere (RunContinuationsAsynchronously) all the same.
            if (failed is null) done.TrySetResult();
            else done.TrySetException(failed);
        }
    }
}
