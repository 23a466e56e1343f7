using SimService.Domain.Engine;

namespace SimService.Api.Infrastructure.Engines;

/// <summary>
/// One tenant's heavy slots (<see cref="EngineThreads.HeavyParallelism"/> of them), shared in turns. Heavy work takes a
/// free slot, or joins the end of one first-come queue. Work holding a slot gives it up at an event boundary
/// (<see cref="EngineTurn.Pass"/>) once it has run <see cref="EngineThreads.HeavySlice"/> while someone waits, hands it to
/// the first in the queue and joins the end of the queue itself; when nobody waits it runs on without a pause. So a short
/// replay on one simulation waits about one slice per heavy work ahead of it — not for another simulation's whole
/// 300 s workload — and two long pieces of work take turns, each finishing in time proportional to its own length.
/// Parallelism stays bounded: at most that many slots run; a piece of work that passed its turn keeps its engine thread,
/// blocked until its turn comes again (the engine is synchronous mid-command and keeps its simulation's gate: only the
/// processor slot is given up), so the threads of one tenant's heavy work are at most the heavy requests it has started.
/// </summary>
internal sealed class HeavySlots(int parallelism, long sliceMs, EngineThreads owner)
{
    private readonly Lock _gate = new();
    private int _free = parallelism;

    /// <summary>Work waiting for a slot, first come first: new work and work that passed its turn alike.</summary>
    private readonly LinkedList<Turn> _waiting = new();

    /// <summary>Work holding a slot now (at most the parallelism): told when someone starts or stops waiting.</summary>
    private readonly List<Turn> _holding = [];

    /// <summary>Work waiting now (for tests and metrics).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate) return _waiting.Count;
        }
    }

    /// <summary>Takes a slot for new heavy work: at once if one is free and nobody waits, else in its turn.</summary>
    /// <param name="cancellationToken">Stops the wait, and later a wait after passing the turn (it throws there).</param>
    public async Task<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var turn = new Turn(this, cancellationToken);
        lock (_gate)
        {
            if (_free > 0 && _waiting.Count == 0)
            {
                _free--;
                Hold(turn);
                return turn;
            }
            Hardening.RequestWork.QueuedForHeavySlot(_holding.Count + _waiting.Count);
            Enqueue(turn);
        }
        try
        {
            await turn.Granted.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Abandon(turn);
            throw;
        }
        return turn;
    }

    /// <summary>The work of <paramref name="turn"/> ended: its slot goes to the first in the queue, or is free.</summary>
    public void Release(Turn turn)
    {
        Turn? next;
        lock (_gate)
        {
            turn.Ended = true;
            turn.Wants(false);
            if (!_holding.Remove(turn)) return; // abandoned while it waited: it held nothing
            next = HandOver();
        }
        next?.Grant();
    }

    private void Hold(Turn turn)
    {
        turn.Node = null;
        turn.Since = 0; // its slice starts at its first event boundary (Pass): the thread it runs on may wake late
        _holding.Add(turn);
        TellHolders();
    }

    private void Enqueue(Turn turn)
    {
        turn.Granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        turn.Node = _waiting.AddLast(turn);
        TellHolders();
    }

    /// <summary>A slot was given up: the first waiting work holds it now (its <see cref="Turn.Grant"/> is due, outside the lock), or it is free.</summary>
    private Turn? HandOver()
    {
        if (_waiting.First is not { } first)
        {
            _free++;
            TellHolders();
            return null;
        }
        _waiting.RemoveFirst();
        Hold(first.Value);
        return first.Value;
    }

    /// <summary>Each holder is told whether anyone waits (its engine then asks it to pass at the next event).</summary>
    private void TellHolders()
    {
        bool wanted = _waiting.Count > 0;
        foreach (var holder in _holding) holder.Wants(wanted);
    }

    /// <summary>
    /// <paramref name="turn"/>'s slice is over and someone waits: its slot goes to the first in the queue and it joins the
    /// end. False when nobody waits any longer (they gave up meanwhile): it holds on, with a new slice.
    /// </summary>
    private bool Requeue(Turn turn)
    {
        Turn next;
        lock (_gate)
        {
            if (_waiting.Count == 0)
            {
                turn.Since = Environment.TickCount64;
                turn.Wants(false);
                return false;
            }
            _holding.Remove(turn);
            turn.Wants(false);
            Enqueue(turn);
            next = HandOver()!; // the queue held someone before this turn joined it
        }
        owner.TurnPassed();
        next.Grant();
        return true;
    }

    /// <summary>Waiting <paramref name="turn"/> was cancelled: it leaves the queue, or, granted meanwhile, gives its slot on.</summary>
    private void Abandon(Turn turn)
    {
        Turn? next = null;
        lock (_gate)
        {
            turn.Ended = true;
            if (turn.Node is { } node)
            {
                _waiting.Remove(node);
                turn.Node = null;
                TellHolders();
            }
            else if (_holding.Remove(turn))
            {
                next = HandOver();
            }
        }
        next?.Grant();
    }

    /// <summary>One piece of heavy work's claim on a slot: the engine's turn (<see cref="EngineTurn"/>).</summary>
    internal sealed class Turn(HeavySlots slots, CancellationToken cancellationToken) : EngineTurn
    {
        /// <summary>Completed when the slot is this work's (again).</summary>
        public TaskCompletionSource Granted = null!;

        /// <summary>Its place in the queue while it waits.</summary>
        public LinkedListNode<Turn>? Node;

        /// <summary>
        /// When its slice began (<see cref="Environment.TickCount64"/>): its first event boundary after it got its slot, on
        /// its own thread — a demoted thread on a busy machine may wake longer than a slice after the slot was handed over,
        /// and a slice timed from the hand-over would be spent before the work ran one event. 0 until then.
        /// </summary>
        public long Since;

        /// <summary>The work ended (or gave up waiting): it never passes again, and no waiter is told to it.</summary>
        public bool Ended;

        public void Wants(bool wanted) => SetWanted(wanted && !Ended);

        public void Grant() => Granted.TrySetResult();

        /// <summary>
        /// On the engine thread, between two events, while someone waits: once the slice is spent the slot goes to the
        /// first waiting work, and this thread blocks until the slot is this work's again (or the work is cancelled: the
        /// engine stops as at its <see cref="Simulation.Interruption"/>, the caller drops it).
        /// </summary>
        public override void Pass()
        {
            var now = Environment.TickCount64;
            if (Since == 0) Since = now;
            if (now - Since < slots._sliceMs || !slots.Requeue(this)) return;
            try
            {
                Granted.Task.Wait(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                slots.Abandon(this);
                throw;
            }
        }
    }

    private readonly long _sliceMs = sliceMs;
}
