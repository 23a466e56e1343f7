using SimService.Domain.Engine;
using SimService.Domain.Journal;

namespace SimService.Domain.Commands;

/// <summary>Where two journals first differ: the position, and the event each has there (null past its end).</summary>
public sealed record JournalMismatch(int Index, SimEvent? Expected, SimEvent? Actual);

/// <summary>
/// A stored run checked against a fresh one: the log was applied to a fresh engine and the journals compared
/// event for event (record equality, time and sequence number included).
/// </summary>
/// <param name="RefusedCommand">The 0-based position of a logged command the fresh engine refused (replay stopped there).</param>
/// <param name="FirstDifference">Where the journals first differ; null when they are equal.</param>
/// <param name="Engine">The fresh engine after the replay.</param>
public sealed record ReplayComparison(int? RefusedCommand, JournalMismatch? FirstDifference, Simulation Engine)
{
    /// <summary>Every command was accepted again and the journals are equal.</summary>
    public bool Identical => RefusedCommand is null && FirstDifference is null;
}

/// <summary>Replay: the inputs (a fresh engine with its profile and seed, then the ordered commands) must give the stored journal.</summary>
public static class Replay
{
    /// <summary>Applies <paramref name="log"/> to <paramref name="fresh"/> and compares its journal with <paramref name="stored"/>.</summary>
    public static ReplayComparison Compare(Simulation fresh, IReadOnlyList<SimCommand> log, IReadOnlyList<SimEvent> stored)
    {
        ArgumentNullException.ThrowIfNull(fresh);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(stored);
        int? refused = null;
        for (int i = 0; i < log.Count; i++)
        {
            fresh.BetweenSteps();
            if (CommandApplier.Apply(fresh, log[i]).IsOk) continue;
            refused = i;
            break;
        }
        return new ReplayComparison(refused, FirstDifference(stored, fresh.Journal), fresh);
    }

    /// <summary>The first position where the journals differ, or null when they hold equal events.</summary>
    public static JournalMismatch? FirstDifference(IReadOnlyList<SimEvent> expected, IReadOnlyList<SimEvent> actual)
    {
        // A journal stored before session 41 has no SegmentSent.OptionBytes at all: the rebuilt one's are not a difference.
        // One that holds any was stored by a build that writes them, and every OptionBytes must match.
        bool storedWithoutOptionBytes = !expected.Any(e => e is SegmentSent { OptionBytes: not null });
        for (int i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : null;
            var a = i < actual.Count ? actual[i] : null;
            if (storedWithoutOptionBytes && e is SegmentSent { OptionBytes: null } && a is SegmentSent { OptionBytes: not null } sent)
                a = sent with { OptionBytes = null };
            if (!Equals(e, a)) return new JournalMismatch(i, e, a);
        }
        return null;
    }
}
