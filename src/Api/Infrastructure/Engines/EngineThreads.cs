using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SimService.Domain.Engine;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// Where engine work runs (commands, reads of the engine, rebuilds, replays, scenario and packetdrill runs): on the
/// process's own engine threads, never on a request (thread-pool) thread, so a long command cannot hold the pool
/// that serves every other request. Work still running after <see cref="Slice"/> is heavy: its thread is demoted
/// (Linux nice <see cref="HeavyNice"/>, <c>setpriority(2)</c> on that one thread), so on a small machine the light
/// commands of other simulations get the processor first, and the thread is retired when the work ends (an
/// unprivileged process cannot raise a thread's priority again). Work known to be heavy before it starts (replays,
/// rebuilds of long logs, workloads, scenario and packetdrill runs) also takes one of its tenant's
/// <see cref="HeavyParallelism"/> slots (bounded parallelism per tenant) and runs demoted from its start. The slots are
/// shared in turns (<see cref="HeavySlots"/>): work that has run <see cref="HeavySlice"/> gives its slot up at the next
/// event boundary when other heavy work of its tenant waits, and queues again behind it (first come, first served), so a
/// short replay on simulation B waits about one slice behind simulation A's 300 s workload instead of all of it (it used
/// to be cut off at its wall-time limit, a 422), and two long pieces of work alternate. Each tenant has slots of its
/// own: one tenant's work never waits for another's. Light work never waits for a slot.
/// Settings: <c>Engines:HeavyParallelism</c> (per tenant; default: processors − 1, at least 1), <c>Engines:HeavySliceMs</c>
/// (50), <c>Engines:SliceMs</c> (20).
/// </summary>
public sealed partial class EngineThreads(IConfiguration configuration)
{
    /// <summary>Heavy work (known up front) that one tenant may run at once.</summary>
    public int HeavyParallelism { get; } = ParallelismFrom(configuration);

    /// <summary>How long work may run before it counts as heavy and its thread is demoted.</summary>
    public TimeSpan Slice { get; } = TimeSpan.FromMilliseconds(configuration.GetValue("Engines:SliceMs", 20));

    /// <summary>
    /// How long heavy work runs before it gives its slot to heavy work that waits for one (configuration
    /// <c>Engines:HeavySliceMs</c>, default 50 ms; 0: at every event while someone waits). It goes on without a pause
    /// while nobody waits.
    /// </summary>
    public TimeSpan HeavySlice { get; } = TimeSpan.FromMilliseconds(Math.Max(0, configuration.GetValue("Engines:HeavySliceMs", 50)));

    /// <summary>Times heavy work gave its slot to waiting work at an event boundary (for tests and metrics).</summary>
    public long TurnsPassed => Interlocked.Read(ref _turnsPassed);

    private long _turnsPassed;

    internal void TurnPassed() => Interlocked.Increment(ref _turnsPassed);

    /// <summary>Heavy work waiting for a slot now, every tenant's (for tests and metrics).</summary>
    public int HeavyWaiting => _heavySlots.Values.Sum(s => s.Waiting);

    /// <summary>The nice value of a demoted thread (0 is normal, 19 the lowest priority).</summary>
    public const int HeavyNice = 10;

    /// <summary>Threads demoted since start (for tests and metrics).</summary>
    public long Demotions => Interlocked.Read(ref _demotions);

    private long _demotions;
    /// <summary>Each tenant's heavy slots (the key "" for requests without a tenant), made at its first heavy work.</summary>
    private readonly ConcurrentDictionary<string, HeavySlots> _heavySlots = new();

    private static int ParallelismFrom(IConfiguration configuration) =>
        Math.Max(1, configuration.GetValue("Engines:HeavyParallelism", Environment.ProcessorCount - 1));
    private readonly ConcurrentStack<Worker> _idle = new();
    /// <summary>
    /// Idle engine threads kept for the next work (more are started when more requests run at once, and end after their
    /// work): as many as concurrent requests commonly are, so that a busy service does not start a thread per request.
    /// </summary>
    private const int MaxIdle = 64;

    /// <summary>
    /// Runs <paramref name="work"/> on an engine thread and completes with its result (or exception). The caller's
    /// continuation runs on that engine thread too, right after the work, when the work stayed light (its thread was not
    /// demoted): the rest of a command's request (the group commit, the response) goes on where the engine left off
    /// instead of waking a thread-pool thread for it — a thread hop is a context switch each way, and on this
    /// project's virtual machines a switch costs more CPU than a small command's engine work. After heavy (demoted)
    /// work the continuation goes to the thread pool, at normal priority.
    /// </summary>
    /// <param name="work">The work; for heavy work it is given the slot's <see cref="EngineTurn"/>, to set as the turn of the
    /// engine it runs (<see cref="Simulation.Turn"/>) so that it passes its slot while other heavy work waits (null for light work).</param>
    /// <param name="heavy">Known to be long: take one of <paramref name="tenant"/>'s heavy slots, in turns, and run demoted from the start.</param>
    /// <param name="cancellationToken">Stops the wait for a heavy slot, and a wait after passing the turn; the work itself watches its own token.</param>
    /// <param name="tenant">Whose heavy slots heavy work takes (null: requests without a tenant).</param>
    public async Task<T> RunAsync<T>(Func<EngineTurn?, T> work, bool heavy, CancellationToken cancellationToken, string? tenant = null)
    {
        var slots = heavy ? _heavySlots.GetOrAdd(tenant ?? "", static (_, owner) => new HeavySlots(owner.HeavyParallelism,
            (long)owner.HeavySlice.TotalMilliseconds, owner), this) : null;
        var turn = slots is null ? null : await slots.EnterAsync(cancellationToken);
        try
        {
            var job = new Job<T>(work, turn, ExecutionContext.Capture()); // log scopes and the request's activity go with the work
            var worker = _idle.TryPop(out var idle) ? idle : new Worker(this);
            worker.Post(job, heavy);
            return await job.Task;
        }
        finally
        {
            if (turn is not null) slots!.Release(turn);
        }
    }

    /// <summary>Runs <paramref name="work"/>, which sets no engine turn, on an engine thread (see <see cref="RunAsync{T}(Func{EngineTurn?, T}, bool, CancellationToken, string?)"/>).</summary>
    public Task<T> RunAsync<T>(Func<T> work, bool heavy, CancellationToken cancellationToken, string? tenant = null) =>
        RunAsync(_ => work(), heavy, cancellationToken, tenant);

    /// <summary>Work posted to an engine thread: run, then completed (its caller continued) apart from the run.</summary>
    private abstract class Job
    {
        public abstract void Run();

        /// <summary>Completes the caller's task: its continuation runs on this thread when <paramref name="inline"/>.</summary>
        public abstract void Complete(bool inline);
    }

    private sealed class Job<T>(Func<EngineTurn?, T> work, EngineTurn? turn, ExecutionContext? context) : Job
    {
        // Without RunContinuationsAsynchronously: completing runs the awaiting caller right here (see RunAsync).
        private readonly TaskCompletionSource<T> _done = new();
        private T? _result;
        private Exception? _failure;

        public Task<T> Task => _done.Task;

        public override void Run()
        {
            if (context is null) Compute();
            else ExecutionContext.Run(context, static job => ((Job<T>)job!).Compute(), this);
        }

        private void Compute()
        {
            try
            {
                _result = work(turn);
            }
            catch (Exception exception)
            {
                _failure = exception;
            }
        }

        public override void Complete(bool inline)
        {
            if (!inline)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static job => job.Complete(inline: true), this, preferLocal: false);
                return;
            }
            if (_failure is null) _done.SetResult(_result!);
            else _done.SetException(_failure);
        }
    }

    /// <summary>Runs <paramref name="work"/> on an engine thread (see <see cref="RunAsync{T}(Func{EngineTurn?, T}, bool, CancellationToken, string?)"/>).</summary>
    public Task RunAsync(Action work, bool heavy, CancellationToken cancellationToken, string? tenant = null) =>
        RunAsync(() => { work(); return true; }, heavy, cancellationToken, tenant);

    /// <summary>The engine threads alive, which the watchdog looks at (a worker joins when its thread starts and leaves when it ends).</summary>
    private readonly ConcurrentDictionary<Worker, bool> _workers = new();

    /// <summary>Workers running light work now.</summary>
    private int _lightRunning;
    private Timer? _watchdog;
    private bool _watching;
    private readonly Lock _watchdogGate = new();

    /// <summary>
    /// Light work started on <paramref name="worker"/> (at a <see cref="Environment.TickCount64"/>): one timer for the
    /// process, ticking every <see cref="Slice"/> while light work runs, demotes work that has run longer (a timer per
    /// piece of work cost more than the command it watched). The start is the worker's own field, not an entry of a
    /// shared table: nothing is allocated per piece of work.
    /// </summary>
    private void Started(Worker worker)
    {
        Volatile.Write(ref worker.LightSince, Environment.TickCount64);
        Interlocked.Increment(ref _lightRunning);
        lock (_watchdogGate)
        {
            if (_watching) return;
            _watching = true;
            _watchdog ??= new Timer(static t => ((EngineThreads)t!).Watch(), this, Timeout.Infinite, Timeout.Infinite);
            _watchdog.Change(Slice, Slice);
        }
    }

    private void Finished(Worker worker)
    {
        Volatile.Write(ref worker.LightSince, 0);
        Interlocked.Decrement(ref _lightRunning);
    }

    /// <summary>Demotes light work past its slice; stops ticking once no light work runs (<see cref="Started"/> starts it again).</summary>
    private void Watch()
    {
        var now = Environment.TickCount64;
        foreach (var (worker, _) in _workers)
            if (Volatile.Read(ref worker.LightSince) is var since and not 0 && now - since >= (long)Slice.TotalMilliseconds) worker.Demote();
        lock (_watchdogGate)
        {
            if (Volatile.Read(ref _lightRunning) > 0) return;
            _watching = false;
            _watchdog!.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    private bool ReturnIdle(Worker worker)
    {
        if (_idle.Count >= MaxIdle) return false;
        _idle.Push(worker);
        return true;
    }

    /// <summary>One engine thread: runs posted work one at a time; retires once demoted.</summary>
    private sealed class Worker
    {
        private readonly EngineThreads _owner;
        private readonly Lock _state = new();
        private readonly Parking _parking = new(); // where the thread sleeps until work is posted
        private Job? _work;
        private bool _heavy, _running, _demoted;
        private int _threadId;

        /// <summary>When the light work running now started (<see cref="Environment.TickCount64"/>), or 0.</summary>
        public long LightSince;

        public Worker(EngineThreads owner)
        {
            _owner = owner;
            _owner._workers[this] = true;
            new Thread(Loop) { IsBackground = true, Name = "engine" }.Start();
        }

        public void Post(Job work, bool heavy)
        {
            lock (_state)
                (_work, _heavy) = (work, heavy);
            _parking.Unpark(); // outside the lock: the woken thread never waits for its waker to let go of it
        }

        private void Loop()
        {
            _threadId = Nice.CurrentThreadId();
            while (true)
            {
                while (!HasWork()) _parking.Park();
                if (!RunPosted()) return;
            }
        }

        private bool HasWork()
        {
            lock (_state) return _work is not null;
        }

        /// <summary>
        /// Takes the posted work, runs and completes it; false when the thread is to end. A frame of its own, never inlined,
        /// so that no frame of a parked thread refers to its last work: when the loop held it in a local while parked, that
        /// work (its delegate, its result) kept the engine it had used alive until the thread's next work — an idle thread
        /// kept a deleted simulation of 30,000 generated clients (3.4 GB of heap) until the process ended.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool RunPosted()
        {
            Job work;
            bool heavy;
            lock (_state)
            {
                (work, heavy) = (_work!, _heavy);
                _work = null;
                _running = true;
            }
            if (heavy) Demote();
            else _owner.Started(this);
            work.Run();
            if (!heavy) _owner.Finished(this);
            bool retire;
            lock (_state)
            {
                _running = false;
                retire = _demoted;
            }
            // The caller goes on here unless this thread was demoted (its continuation is no engine work: the
            // watchdog no longer looks at this thread, so it is not demoted for the caller's time either).
            work.Complete(inline: !retire);
            if (!retire && _owner.ReturnIdle(this)) return true;
            _owner._workers.TryRemove(this, out _);
            return false;
        }

        /// <summary>Lowers this thread's priority if it is still running work (the slice ran out).</summary>
        public void Demote()
        {
            lock (_state)
            {
                if (!_running || _demoted) return;
                _demoted = true;
                Interlocked.Increment(ref _owner._demotions);
                Nice.Set(_threadId, HeavyNice);
            }
        }
    }

    /// <summary>
    /// Where an idle engine thread sleeps until work is posted to it. On Linux (x64, arm64) a futex word of the thread's
    /// own: the poster sets it and wakes the thread (<c>futex(2)</c>, <c>FUTEX_WAKE_PRIVATE</c>) holding no lock. A monitor's
    /// <c>Pulse</c> happens inside the lock: on a busy machine the woken thread often preempted its waker right there, found
    /// the lock still held and slept again until the waker ran on and let go — two more context switches for one
    /// hand-off (perf sched in W4: the engine threads' monitor waits on a lock in one command of five). Elsewhere a
    /// monitor, as before.
    /// </summary>
    private sealed partial class Parking
    {
        private const long FutexWaitPrivate = 128, FutexWakePrivate = 129; // FUTEX_WAIT | FUTEX_PRIVATE_FLAG, FUTEX_WAKE | …

        /// <summary>The futex system call's number here, or 0: use the monitor.</summary>
        private static readonly long FutexCall = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 202,
            Architecture.Arm64 => 98,
            _ => 0,
        };

        /// <summary>1 when work was posted and the thread has not looked since; pinned, so that the kernel sees one address.</summary>
        private readonly int[] _word = GC.AllocateArray<int>(1, pinned: true);

        /// <summary>Sleeps until <see cref="Unpark"/> (returns at once if it came first); may return early: the caller looks again.</summary>
        public void Park()
        {
            if (FutexCall == 0)
            {
                lock (_word)
                {
                    while (_word[0] == 0) Monitor.Wait(_word);
                    _word[0] = 0;
                }
                return;
            }
            if (Interlocked.Exchange(ref _word[0], 0) == 1) return;
            _ = syscall(FutexCall, ref _word[0], FutexWaitPrivate, 0, 0, 0, 0); // sleeps only while the word is still 0
            Interlocked.Exchange(ref _word[0], 0);
        }

        public void Unpark()
        {
            if (FutexCall == 0)
            {
                lock (_word)
                {
                    _word[0] = 1;
                    Monitor.Pulse(_word);
                }
                return;
            }
            Interlocked.Exchange(ref _word[0], 1);
            _ = syscall(FutexCall, ref _word[0], FutexWakePrivate, 1, 0, 0, 0);
        }

        [DllImport("libc", SetLastError = true)]
        private static extern long syscall(long number, ref int address, long operation, long value, nint timeout, nint address2, long value3);
    }

    /// <summary>Linux thread priorities: <c>gettid(2)</c> and <c>setpriority(PRIO_PROCESS, tid, nice)</c>; elsewhere nothing.</summary>
    private static partial class Nice
    {
        private const int PrioProcess = 0;

        public static int CurrentThreadId()
        {
            if (!OperatingSystem.IsLinux()) return 0;
            try
            {
                return gettid();
            }
            catch (EntryPointNotFoundException)
            {
                return 0;
            }
        }

        public static void Set(int threadId, int nice)
        {
            if (threadId != 0) _ = setpriority(PrioProcess, threadId, nice); // a refusal leaves the thread as it was
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int gettid();

        [DllImport("libc", SetLastError = true)]
        private static extern int setpriority(int which, int who, int prio);
    }
}
