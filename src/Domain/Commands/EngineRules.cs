namespace SimService.Domain.Commands;

/// <summary>
/// Versions of the rules by which commands meet the engine (<see cref="CommandApplier"/>). A simulation keeps the version it
/// was created under for its whole life — its row stores it and every rebuild, replay and export applies its log under it —
/// so a log recorded before a rule changed meets the engine as it did then (which events a command runs, which socket ids it
/// allocates, whether a call answered "pending"), while a new simulation follows the kernel more closely. Versioned are these
/// rules, with what follows from them inside the engine (under <see cref="SameInstant"/> a loopback burst's answers wait
/// in the sending socket's backlog, Simulation.Loopback.cs; under <see cref="Original"/> the call left them to the next
/// advance), and when a task woken from a softirq runs (<see cref="WokenAfterSoftirq"/>, decided in one place:
/// Simulation.Wakeups.cs): any other fix to a kernel rule inside the engine (docs/kernel-check.md's D entries) applies to
/// every rebuild.
/// </summary>
public static class EngineRules
{
    /// <summary>
    /// The rules before versions existed (every simulation stored before session 25): a command leaves the events due at its
    /// own instant to the next advance, so a loopback segment a call sent is processed only when the clock is next run; a
    /// call woken from a softirq (a segment's receive, a socket timer) runs inside it, a blocked recv() too (before D50).
    /// </summary>
    public const int Original = 0;

    /// <summary>
    /// Each socket call, kill and injected segment runs the events due at its own instant before it returns, as the kernel's
    /// NET_RX softirq processes a loopback segment inside the system call that sent it (<see cref="CommandApplier"/>); a
    /// blocking call that those events complete has returned (a blocking connect() on lo returns 0, never "pending"). Of the
    /// calls a softirq wakes only a recv() runs after it (D50, session 25); a send(), connect(), accept() or poll() runs inside it.
    /// </summary>
    public const int SameInstant = 1;

    /// <summary>
    /// As <see cref="SameInstant"/>, and every call woken from a softirq runs after it (docs/kernel-check.md D56, session 26):
    /// try_to_wake_up() only makes the task runnable, so a woken send(), connect(), accept() or poll() — as a recv() —
    /// runs as an item of its instant after the segments due then, and sees what the whole burst did (a blocking
    /// connect()'s return follows the segment due at its instant).
    /// </summary>
    public const int WokenAfterSoftirq = 2;

    /// <summary>
    /// As <see cref="WokenAfterSoftirq"/>, and a blocking accept() holds the descriptor it took before its sleep in every
    /// process (docs/kernel-check.md D87, session 32): __sys_accept4_file() calls get_unused_fd_flags() before do_accept(),
    /// so while it sleeps a socket() or an accept() of another thread skips that number and dup2() onto it is EBUSY.
    /// Before, only a process with an RLIMIT_NOFILE limit of its own held it (D83), and a woken accept took the lowest
    /// free descriptor at its return. A kill closes the files its interrupted calls held last first, each with its instant
    /// (get_signal() → task_work_run()), and a workload's interrupted call returns to its connection (EINTR), which ends it.
    /// A call's descriptor 0 (<see cref="SocketCallRequest.Fd"/>) names descriptor 0, where a dup2() onto stdin put a socket;
    /// before, every stored call wrote 0 for "no descriptor given", so under older rules it is the socket's own.
    /// </summary>
    public const int AcceptHoldsItsFd = 3;

    /// <summary>
    /// As <see cref="AcceptHoldsItsFd"/>, and a workload on an adopted listener (a listener an ordinary process made) ends its
    /// accept() when it ends: the thread the workload ran is signalled and inet_csk_wait_for_connect() returns
    /// sock_intr_errno() (EINTR), so the owner's later connection is the owner's accept()'s (session 38). Before, that
    /// accept() slept on in the owner's process after the workload and took the owner's next connection. A scenario's workload
    /// step without a <c>resolution</c> samples at 1 s doubled until its arrivals fit 10,000 samples (<see cref="Scenarios.WorkloadStep.SpecUnder"/>;
    /// before, at 1 s, its series coarsened as it ran). Known limit (review38b S-4): main's build of session 37 (b500090c) had the
    /// accept's end already and labelled its simulations 3; they rebuild under 3 (README, "Engine rules").
    /// </summary>
    public const int WorkloadAcceptEndsWithIt = 4;

    /// <summary>The version a new simulation is created under.</summary>
    public const int Current = WorkloadAcceptEndsWithIt;

    /// <summary>Whether <paramref name="version"/> is one this engine knows (0 … <see cref="Current"/>).</summary>
    public static bool IsKnown(int version) => version is >= Original and <= Current;
}
