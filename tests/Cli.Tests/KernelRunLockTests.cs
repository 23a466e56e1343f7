extern alias cli;

using System.Diagnostics;
using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// One real-kernel run at a time: the lock is an flock(2) another process sees (util-linux's <c>flock -n</c> as that
/// process), taken once however deeply a thread asks, and a taker waits for another process's or thread's hold and says so.
/// </summary>
public sealed class KernelRunLockTests
{
    /// <summary>How long a test waits for what it needs (another process took the lock, a wait ended): a bound on a loaded machine, not a wait.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

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

    /// <summary>
    /// Two threads of one process (two kernel runs in one test host): the second waits for the first's outermost hold to
    /// end, as another process would, and then holds the one flock itself — the nesting was the process's, so it took
    /// the lock at once while the first still held it.
    /// </summary>
    [Fact]
    public async Task Take_AnotherThreadOfThisProcessHoldsIt_WaitsForItsOutermostHold()
    {
        var runLock = new KernelRunLock(Tool.TempFile("kernel.lock"));
        var said = new SharedWriter();
        var taken = new TaskCompletionSource<IDisposable>(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseSecond = new ManualResetEventSlim();
        var outer = runLock.Take(TextWriter.Null);
        var inner = runLock.Take(TextWriter.Null);
        var second = new Thread(() =>
        {
            var hold = runLock.Take(said);
            taken.SetResult(hold);
            releaseSecond.Wait();
            hold.Dispose();
        });

        second.Start();
        await UntilAsync(() => said.ToString().Length > 0 || taken.Task.IsCompleted);
        bool tookWhileHeld = taken.Task.IsCompleted;
        inner.Dispose();
        bool tookAfterInner = taken.Task.IsCompleted;
        outer.Dispose();
        await taken.Task.WaitAsync(Bound);
        bool heldBySecond = runLock.HeldOnMachine();
        releaseSecond.Set();
        second.Join();

        Assert.Equal((false, false, true), (tookWhileHeld, tookAfterInner, heldBySecond));
        Assert.Equal($"simservice: kernel: waiting for another real-kernel run on this machine to end (lock {runLock.Path})\n", said.ToString());
        Assert.False(runLock.HeldOnMachine());
    }

    [Fact]
    public async Task Take_AnotherProcessHoldsIt_WaitsAndSaysSo()
    {
        var runLock = new KernelRunLock(Tool.TempFile("kernel.lock"));
        using var holder = HoldElsewhere(runLock.Path);
        var said = new SharedWriter();
        var waiting = said;

        var taking = Task.Run(() => runLock.Take(waiting));
        await UntilAsync(() => said.ToString().Length > 0 || taking.IsCompleted);
        bool tookWhileHeld = taking.IsCompleted;
        holder.StandardInput.Close();
        using var hold = await taking.WaitAsync(Bound);

        Assert.False(tookWhileHeld);
        Assert.Contains($"waiting for another real-kernel run on this machine to end (lock {runLock.Path})", said.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, TryLockElsewhere(runLock.Path));
    }

    [Fact]
    public void Take_LockFileCannotBeOpened_SaysWhyOnceAndRunsWithoutIt()
    {
        var runLock = new KernelRunLock(Path.Combine(Tool.TempFolder(), "missing", "kernel.lock"));
        var said = new StringWriter();

        runLock.Take(said).Dispose();
        runLock.Take(said).Dispose();

        var lines = said.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"simservice: kernel: cannot open the lock file {runLock.Path}: No such file or directory; running without the one-run-at-a-time lock "
            + "(SIMSERVICE_KERNEL_LOCK=FILE names another lock file, =off turns it off)"], lines);
    }

    /// <summary>
    /// A folder or a FIFO planted at the lock's name (in /run/lock every user may) is refused loudly, not waited on nor
    /// taken as a lock (review40a S-5: a folder let every run go on unlocked, a FIFO hung every root run in open()).
    /// </summary>
    [Theory]
    [InlineData("folder")]
    [InlineData("FIFO")]
    public async Task Take_AFolderOrFifoAtTheName_RefusedSaid_NeverWaitedOn(string planted)
    {
        var runLock = new KernelRunLock(Path.Combine(Tool.TempFolder(), "kernel.lock"));
        if (planted == "folder") Directory.CreateDirectory(runLock.Path);
        else using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", runLock.Path)) mkfifo.WaitForExit();
        var said = new StringWriter();

        (await Task.Run(() => runLock.Take(said)).WaitAsync(Bound)).Dispose();

        Assert.StartsWith($"simservice: kernel: cannot open the lock file {runLock.Path}: it is a {planted}, not a regular file; running without",
            said.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Ctrl-C while waiting: the wait ends with OperationCanceledException and nothing is held or queued.</summary>
    [Fact]
    public async Task Take_CancelledWhileWaiting_GivesUpHoldingNothing()
    {
        var path = Tool.TempFile("kernel.lock");
        KernelRunLock holder = new(path), waiter = new(path);
        var holding = holder.Take(TextWriter.Null);
        var said = new SharedWriter();
        using var ctrlC = new CancellationTokenSource();
        var taking = Task.Run(() => waiter.Take(said, ctrlC.Token));
        await UntilAsync(() => said.ToString().Length > 0);

        ctrlC.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => taking.WaitAsync(Bound));
        holding.Dispose();

        Assert.False(new KernelRunLock(path + ".queue").HeldOnMachine());
        Assert.False(waiter.HeldOnMachine());
        using (waiter.Take(TextWriter.Null)) Assert.True(holder.HeldOnMachine());
    }

    /// <summary>
    /// Another user's lock file in /tmp under fs.protected_regular 1 (set for the test, as distributions ship it): opened
    /// without O_CREAT, so may_create_in_sticky() does not refuse it — an O_CREAT open was EACCES even for root.
    /// </summary>
    [KernelFact]
    public void Take_ExistingFileOfAnotherUserInStickyTmp_IsLocked()
    {
        const string protectedRegular = "/proc/sys/fs/protected_regular";
        var path = Path.Combine("/tmp", $"simservice-lock-test-{Guid.NewGuid():N}");
        File.WriteAllText(path, "");
        File.WriteAllText(path + ".queue", "");
        var was = File.ReadAllText(protectedRegular);
        File.WriteAllText(protectedRegular, "1");
        try
        {
            foreach (var f in new[] { path, path + ".queue" }) Assert.Equal(0, Run("chown", "nobody", f));
            var runLock = new KernelRunLock(path);
            var said = new StringWriter();

            using (runLock.Take(said)) Assert.True(new KernelRunLock(path).HeldOnMachine());

            Assert.Equal("", said.ToString());
        }
        finally
        {
            File.WriteAllText(protectedRegular, was);
            File.Delete(path);
            File.Delete(path + ".queue");
        }
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
        var said = new SharedWriter();
        var otherTaking = Task.Run(() => other.Take(said));
        await UntilAsync(() => said.ToString().Length > 0);

        firstCase.Dispose();
        var nextCase = Task.Run(() => fuzzRun.Take(TextWriter.Null));
        var otherHold = await otherTaking.WaitAsync(Bound);
        bool nextCaseRanFirst = nextCase.IsCompleted;
        otherHold.Dispose();
        using var nextHold = await nextCase.WaitAsync(Bound);

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
            Assert.True(deadline.Elapsed < Bound, "flock did not take the lock");
            Thread.Yield();
        }
        return process;
    }

    /// <summary>Polls (yielding, no sleep) until the condition holds, for at most <see cref="Bound"/>.</summary>
    internal static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Bound, $"the condition did not come within {Bound.TotalSeconds} s");
            await Task.Yield();
        }
    }

    /// <summary><c>flock -n PATH true</c>'s exit: 0 when it got the lock, 1 when another holds it.</summary>
    private static int TryLockElsewhere(string path) => Run("flock", "-n", path, "true");

    private static int Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>What a taker on another thread says, read while it may still write (a StringWriter read then races its writer).</summary>
    private sealed class SharedWriter : StringWriter
    {
        private readonly Lock _gate = new();

        public override void Write(char value)
        {
            lock (_gate) base.Write(value);
        }

        public override void Write(string? value)
        {
            lock (_gate) base.Write(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_gate) base.Write(buffer, index, count);
        }

        public override void WriteLine(string? value)
        {
            lock (_gate) base.WriteLine(value);
        }

        public override string ToString()
        {
            lock (_gate) return base.ToString();
        }
    }
}
