extern alias cli;

using cli::SimService.Cli.Kernel;

namespace SimService.Cli.Tests;

/// <summary>
/// The kernel runner's note under a packet that fails only by one tick (the kernel's timer-softirq race, observed on Linux
/// 6.18.44 at 4.07–4.18 ms past the engine's tick): it says so; a packet late by more, or one that passed, gets none.
/// </summary>
public sealed class OneTickLateTests
{
    private const long Ms = 1_000_000;

    [Theory]
    [InlineData(228.093, 224, 4, true)]     // frto-new-data-ignores-nagle.pkt line 20, 2026-12-05
    [InlineData(2052.113, 2048, 4, true)]   // syn-sent-tcp-info-after-syn-retransmits.pkt line 14
    [InlineData(232.0, 224, 4, true)]       // one tick and the whole tolerance
    [InlineData(232.1, 224, 4, false)]      // more than a tick would explain
    [InlineData(227.9, 224, 4, false)]      // within the tolerance: no failure to explain
    [InlineData(1034.5, 1024, 8, true)]     // an 8 ms tolerance: late by a tick and 2.5 ms more
    [InlineData(1028.1, 1024, 8, false)]
    public void OneTickLate_PacketLateByATickBeyondTheTolerance_GetsTheNote(double actualMs, double expectedMs, long toleranceMs, bool note)
    {
        var text = KernelScriptRunner.OneTickLate((long)(actualMs * Ms), (long)(expectedMs * Ms), toleranceMs * Ms);

        Assert.Equal(note, text is not null);
        if (note) Assert.StartsWith(FormattableString.Invariant($"note: {actualMs - expectedMs:0.000} ms late, within the tolerance but for one tick"), text, StringComparison.Ordinal);
    }

    /// <summary>A SYN due at connect()'s time and sent 4.7 ms late under load (README's close-linger-zero-sends-rst.pkt, line 9): no timer sent it.</summary>
    [Fact]
    public void OneTickLate_PacketAnsweringTheRunnersEvent_SaysTheRunnerWasLate()
    {
        var text = KernelScriptRunner.OneTickLate((long)(4.7 * Ms), 0, 4 * Ms, answersTheRunner: true);

        Assert.StartsWith("note: 4.700 ms late, within the tolerance but for one tick: no timer sends it", text, StringComparison.Ordinal);
        Assert.DoesNotContain("timer may run a tick", text, StringComparison.Ordinal);
    }

    /// <summary>
    /// `kernel --record` writes a call down when the engine's recorder does: at its script time when it returned at once,
    /// at its return when it slept in the kernel. It wrote every call at its start, so a script with a blocking call
    /// differed from the engine at that call (session 34: `+0...0.010 connect` at 0.000 on the kernel, 0.010 on the
    /// engine; a close lingering 1 s at 0.030 and 1.056).
    /// </summary>
    [Fact]
    public void RecordedCallAt_CallThatSlept_IsWrittenAtItsReturn() =>
        Assert.Equal(1056 * Ms, KernelScriptRunner.RecordedCallAt(30 * Ms, 30 * Ms + 40_000, 1056 * Ms));

    [Fact]
    public void RecordedCallAt_CallThatReturnedAtOnce_IsWrittenAtItsScriptTime() =>
        Assert.Equal(30 * Ms, KernelScriptRunner.RecordedCallAt(30 * Ms, 30 * Ms + 400_000, 30 * Ms + 900_000));
}
