using SimService.Domain.Workloads;

namespace SimService.Domain.Engine;

public sealed partial class Simulation
{
    readonly List<Workload> _workloads = [];

    /// <summary>Workloads started in this simulation, by id (1, 2, …).</summary>
    public IReadOnlyList<Workload> Workloads => _workloads;

    /// <summary>
    /// The time-series samples the workloads hold, for a memory estimate taken on another thread while this engine's
    /// thread may start a workload: an index loop over the add-only list (a slot just grown may still be empty), never an
    /// enumerator that a concurrent Add invalidates.
    /// </summary>
    public long WorkloadSamples
    {
        get
        {
            long samples = 0;
            for (int i = 0; i < _workloads.Count; i++) samples += _workloads[i]?.SampleCount ?? 0;
            return samples;
        }
    }

    /// <summary>The workloads' connection objects in use (a client's and a server's side each): memory an estimate counts.</summary>
    public long WorkloadConnections
    {
        get
        {
            long open = 0;
            for (int i = 0; i < _workloads.Count; i++) open += _workloads[i]?.OpenConnections ?? 0;
            return open;
        }
    }

    public Workload? FindWorkload(int id) => id >= 1 && id <= _workloads.Count ? _workloads[id - 1] : null;

    /// <summary>
    /// Starts a workload (its first arrival is now) and, with <paramref name="runToEnd"/>, runs the
    /// clock until it is done or <paramref name="eventBudget"/> items were processed (truncated).
    /// A refused spec changes nothing.
    /// </summary>
    public Result<Workload> StartWorkload(WorkloadSpec spec, bool runToEnd, long eventBudget)
    {
        if (eventBudget <= 0) return DomainError.Invalid("the event budget must be positive", "eventBudget");
        // Named with the way on (tester37b LOW-3: "another workload is still running", at a field "workload" no request has).
        if (_workloads.Find(w => !w.Done) is { } running)
            return DomainError.Conflict($"workload {running.Id} is still running" + (running.Truncated ? ": its command stopped it on its event budget, and" : ";")
                + " one workload runs at a time; advance the clock (an advance with untilIdle runs it to its end), then start this one");
        var started = Workload.Start(this, _workloads.Count + 1, spec);
        if (!started.IsOk) return started;
        var workload = started.Value!;
        _workloads.Add(workload);
        if (runToEnd)
        {
            var run = RunWhile(() => !workload.Done, eventBudget);
            workload.PastHorizon = run.PastHorizon;
            // Like RunUntil(done, …): what is still due at the instant it ended happens too, so no event is left due at
            // the current time — the state an advance to now would reach, and what a scenario's run of it reaches.
            if (!run.Truncated) run = RunUntil(Now, eventBudget - run.EventsProcessed);
            if (run.Truncated) workload.Truncated = true;
            workload.Freeze(); // ended: what this command answers is its outcome from now on
        }
        return workload;
    }
}
