namespace SimService.Domain.Commands;

/// <summary>
/// Versions of the rules by which commands meet the engine (<see cref="CommandApplier"/>). A simulation keeps the version it
/// was created under for its whole life — its row stores it and every rebuild, replay and export applies its log under it —
/// so a log recorded before a rule changed meets the engine as it did then (which events a command runs, which socket ids it
/// allocates, whether a call answered "pending"), while a new simulation follows the kernel more closely. Only these rules are
/// versioned, with what follows from them inside the engine (under <see cref="SameInstant"/> a loopback burst's answers wait
/// in the sending socket's backlog, Simulation.Loopback.cs; under <see cref="Original"/> the call left them to the next
/// advance): any other fix to a kernel rule inside the engine (docs/kernel-check.md's D entries) applies to every rebuild.
/// </summary>
public static class EngineRules
{
    /// <summary>
    /// The rules before versions existed (every simulation stored before session 25): a command leaves the events due at its
    /// own instant to the next advance, so a loopback segment a call sent is processed only when the clock is next run.
    /// </summary>
    public const int Original = 0;

    /// <summary>
    /// Each socket call, kill and injected segment runs the events due at its own instant before it returns, as the kernel's
    /// NET_RX softirq processes a loopback segment inside the system call that sent it (<see cref="CommandApplier"/>); a
    /// blocking call that those events complete has returned (a blocking connect() on lo returns 0, never "pending").
    /// </summary>
    public const int SameInstant = 1;

    /// <summary>The version a new simulation is created under.</summary>
    public const int Current = SameInstant;

    /// <summary>Whether <paramref name="version"/> is one this engine knows (0 … <see cref="Current"/>).</summary>
    public static bool IsKnown(int version) => version is >= Original and <= Current;
}
