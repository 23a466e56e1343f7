extern alias cli;

using cli::SimService.Cli.Kernel;

namespace SimService.Cli.Tests;

/// <summary>
/// `kernel --record` writes a call down when the engine's recorder does: at its script time when it returned at once, at
/// its return when it slept in the kernel (a `+0...0.010 connect`, a lingering close). It wrote every call at its start,
/// so a script with a blocking call differed from the engine at that call (session 34: `connect` at 0.000 on the kernel,
/// 0.010 on the engine; a close lingering 1 s at 0.030 and 1.056).
/// </summary>
public sealed class RecordedCallTimeTests
{
    private const long Ms = 1_000_000;

    [Fact]
    public void RecordedCallAt_CallThatSlept_IsWrittenAtItsReturn() =>
        Assert.Equal(1056 * Ms, KernelScriptRunner.RecordedCallAt(30 * Ms, 30 * Ms + 40_000, 1056 * Ms));

    [Fact]
    public void RecordedCallAt_CallThatReturnedAtOnce_IsWrittenAtItsScriptTime() =>
        Assert.Equal(30 * Ms, KernelScriptRunner.RecordedCallAt(30 * Ms, 30 * Ms + 400_000, 30 * Ms + 900_000));
}
