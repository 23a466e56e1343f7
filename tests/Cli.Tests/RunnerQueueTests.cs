extern alias cli;

using cli::SimService.Cli.Kernel;

namespace SimService.Cli.Tests;

/// <summary>
/// The hand-over of a kernel run's calls to their threads (<see cref="RunnerQueue"/>), the buffers its data calls pass
/// (<see cref="CallBuffers"/>) and the lateness summary of <c>kernel --verbose</c> (<see cref="RunTiming"/>).
/// </summary>
public sealed class RunnerQueueTests
{
    /// <summary>
    /// A timed item whose time has passed still begins only once released: what the releasing thread wrote before the
    /// release is what it sees, and the item queued after it runs after it (the step thread's call after the one before).
    /// </summary>
    [Fact]
    public void AddAt_TimePassed_BeginsOnlyWhenReleasedAndBeforeTheNextItem()
    {
        var queue = new RunnerQueue();
        new Thread(queue.Serve) { IsBackground = true }.Start();
        int written = 0, seen = -1, order = 0, timedAt = 0, nextAt = 0;
        var go = queue.AddAt(Libc.MonotonicNs() - 1_000_000, () =>
        {
            seen = Volatile.Read(ref written);
            timedAt = Interlocked.Increment(ref order);
        });
        using var next = new ManualResetEventSlim();
        queue.Add(() =>
        {
            nextAt = Interlocked.Increment(ref order);
            next.Set();
        });
        Volatile.Write(ref written, 42);
        go();
        next.Wait();
        queue.CompleteAdding();

        Assert.Equal(42, seen);
        Assert.Equal(1, timedAt);
        Assert.Equal(2, nextAt);
    }

    /// <summary>Send and recv reuse the same buffers (no allocation, no zeroing on the call's thread); the one sent stays zeros.</summary>
    [Fact]
    public void CallBuffers_SameBufferEachCall_ZerosNeverWritten()
    {
        var received = CallBuffers.Receive(0);
        received[0] = 7;

        Assert.Same(received, CallBuffers.Receive(100));
        Assert.True(CallBuffers.Receive(1 << 22).Length >= 1 << 22);
        Assert.Same(CallBuffers.Zeros(10), CallBuffers.Zeros(1000));
        Assert.True(CallBuffers.Zeros(70_000).Length >= 70_000);
        Assert.All(CallBuffers.Zeros(70_000), b => Assert.Equal(0, b));
    }

    /// <summary>
    /// The link emulator's ppoll() times out 60 µs before a packet's time and then polls without sleeping until it: a
    /// timeout's wake-up came 40–100 µs late. With nothing queued it still wakes every 10 ms to see it is stopped.
    /// </summary>
    [Fact]
    public void LinkEmulatorTimeout_WakesEarlyThenPollsUntilThePacketsTime()
    {
        Assert.Equal(940_000, LinkEmulator.Timeout(5_000_000, 6_000_000));
        Assert.Equal(0, LinkEmulator.Timeout(5_000_000, 5_030_000));
        Assert.Equal(0, LinkEmulator.Timeout(5_000_000, 4_000_000));
        Assert.Equal(10_000_000, LinkEmulator.Timeout(5_000_000, 50_000_000));
        Assert.Equal(10_000_000, LinkEmulator.Timeout(5_000_000, null));
    }

    [Fact]
    public void Spread_MedianNinetiethAndMaximum_InMicroseconds()
    {
        Assert.Equal("4: median 3 µs, 90 % 10 µs, max 10 µs", RunTiming.Spread([3_000, 1_000, 10_000, 2_000]));
        Assert.Equal("10: median 6 µs, 90 % 10 µs, max 10 µs", RunTiming.Spread([.. Enumerable.Range(1, 10).Select(i => i * 1_000L)]));
        Assert.Equal("0", RunTiming.Spread([]));
    }

    [Fact]
    public void Lines_EachStepThenTheSummary()
    {
        var timing = new RunTiming();
        timing.Step(100_000_000, "$.steps[3] send", 100_030_000, 100_056_000, 100_204_000);
        timing.Step(1_000_000_000, "$.steps[8] expect (a reading)", 1_000_040_000, null, 1_000_700_000);
        timing.Compiled = 3;

        var lines = timing.Lines([("client-server", [150_000L])]);

        Assert.Equal(
        [
            "0.100000 $.steps[3] send: began 30 µs, call began 56 µs, done 204 µs",
            "1.000000 $.steps[8] expect (a reading): began 40 µs, done 700 µs",
            "steps began 2: median 40 µs, 90 % 40 µs, max 40 µs after their times",
            "calls began 1: median 56 µs, 90 % 56 µs, max 56 µs after their times",
            "0 garbage collections while the steps ran",
            "3 methods compiled while the steps ran",
            "link client-server wrote packets 1: median 150 µs, 90 % 150 µs, max 150 µs after their delay",
        ], lines);
        Assert.Equal((40_000, 1_000_000_000), timing.Latest);
    }
}
