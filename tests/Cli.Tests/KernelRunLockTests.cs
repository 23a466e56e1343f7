extern alias cli;

using System.Diagnostics;
using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// One real-kernel run at a time: the lock is an flock(2) another process sees (util-linux's <c>flock -n</c> as that
/// process), taken once however deeply a process asks, and a taker waits for another process's hold and says so.
/// </summary>
public sealed class KernelRunLockTests
{
    [Fact]
    public void Take_HeldAndReleased_AnotherProcessSeesIt()
    {
        var runLock = new KernelRunLock(Tool.TempFile("kernel.lock"));

        using (runLock.Take(TextWriter.Null))
            Assert.Equal(1, TryLockElsewhere(runLock.Path));

        Assert.Equal(0, TryLockElsewhere(runLock.Path));
    }

    [Fact]
    public void Take_Nested_HeldUntilTheOutermostHoldEnds()
    {
        var runLock = new KernelRunLock(Tool.TempFile("kernel.lock"));
        var outer = runLock.Take(TextWriter.Null);
        var inner = runLock.Take(TextWriter.Null);

        inner.Dispose();
        inner.Dispose();
        bool heldAfterInner = runLock.HeldOnMachine();
        outer.Dispose();

        Assert.True(heldAfterInner);
        Assert.False(runLock.HeldOnMachine());
    }

    [Fact]
    public async Task Take_AnotherProcessHoldsIt_WaitsAndSaysSo()
    {
        var runLock = new KernelRunLock(Tool.TempFile("kernel.lock"));
        using var holder = HoldElsewhere(runLock.Path);
        var said = new StringWriter();
        var waiting = TextWriter.Synchronized(said);

        var taking = Task.Run(() => runLock.Take(waiting));
        await UntilAsync(() => said.ToString().Length > 0 || taking.IsCompleted);
        bool tookWhileHeld = taking.IsCompleted;
        holder.StandardInput.Close();
        using var hold = await taking.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(tookWhileHeld);
        Assert.Contains($"waiting for another real-kernel run on this machine to end (lock {runLock.Path})", said.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, TryLockElsewhere(runLock.Path));
    }

    [Fact]
    public void Take_LockFileCannotBeOpened_SaysWhyOnceAndRunsWithoutIt()
    {
        var runLock = new KernelRunLock(Tool.TempFolder());
        var said = new StringWriter();

        runLock.Take(said).Dispose();
        runLock.Take(said).Dispose();

        var lines = said.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"simservice: kernel: cannot open the lock file {runLock.Path}: Is a directory; running without the one-run-at-a-time lock "
            + "(SIMSERVICE_KERNEL_LOCK=FILE names another lock file, =off turns it off)"], lines);
    }

    [Theory]
    [InlineData(null, "/run/lock/simservice-kernel.lock")]
    [InlineData("", "/run/lock/simservice-kernel.lock")]
    [InlineData("/tmp/ci-kernel.lock", "/tmp/ci-kernel.lock")]
    [InlineData("off", null)]
    public void For_Setting_NamesTheLockFileOrNone(string? setting, string? path)
    {
        Assert.Equal(path, KernelRunLock.For(setting)?.Path);
    }

    /// <summary>
    /// Runs take turns: a holder that lets go and takes the lock again at once (a fuzz run's next case) queues behind a run
    /// that was waiting — flock(2) alone lets the releaser, still on its CPU, win before the woken waiter runs.
    /// </summary>
    [Fact]
    public async Task Take_HolderTakesItAgainAtOnce_TheWaitingRunGoesFirst()
    {
        var path = Tool.TempFile("kernel.lock");
        KernelRunLock fuzzRun = new(path), other = new(path);
        var firstCase = fuzzRun.Take(TextWriter.Null);
        var said = new StringWriter();
        var otherTaking = Task.Run(() => other.Take(TextWriter.Synchronized(said)));
        await UntilAsync(() => said.ToString().Length > 0);

        firstCase.Dispose();
        var nextCase = Task.Run(() => fuzzRun.Take(TextWriter.Null));
        var otherHold = await otherTaking.WaitAsync(TimeSpan.FromSeconds(30));
        bool nextCaseRanFirst = nextCase.IsCompleted;
        otherHold.Dispose();
        using var nextHold = await nextCase.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(nextCaseRanFirst);
        Assert.True(fuzzRun.HeldOnMachine());
    }

    /// <summary>A <c>flock PATH cat</c>: holds the lock until its standard input closes; returned once it holds it.</summary>
    internal static Process HoldElsewhere(string path)
    {
        var start = new ProcessStartInfo("flock") { RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { path, "cat" }) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var probe = new KernelRunLock(path);
        var deadline = Stopwatch.StartNew();
        while (!probe.HeldOnMachine())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "flock did not take the lock");
            Thread.Yield();
        }
        return process;
    }

    /// <summary>Polls (yielding, no sleep) until the condition holds, for at most 30 s.</summary>
    internal static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the condition did not come within 30 s");
            await Task.Yield();
        }
    }

    /// <summary><c>flock -n PATH true</c>'s exit: 0 when it got the lock, 1 when another holds it.</summary>
    private static int TryLockElsewhere(string path)
    {
        var start = new ProcessStartInfo("flock") { UseShellExecute = false };
        foreach (var a in new[] { "-n", path, "true" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
