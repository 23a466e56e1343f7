extern alias cli;

using cli::SimService.Cli.Kernel;
using SimService.Cli.Tests.Infrastructure;

namespace SimService.Cli.Tests;

/// <summary>
/// The kernel run's log of /dev/kmsg: each line with the time the kernel stamped it, on the run's clock, so that a
/// dmesg check counts the lines logged by its step's instant however late the log is read.
/// </summary>
public sealed class KernelLogTests
{
    /// <summary>A record "prio,seq,usec,flags;text": its stamp in ns and its text (the first line; continuation lines dropped).</summary>
    [Fact]
    public void Parse_TakesTheStampAndTheText()
    {
        Assert.Equal((190_356_370_000L, "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Sending cookies."),
            KernelLog.Parse("6,1234,190356370,-;TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Sending cookies.\n SUBSYSTEM=net\n"));
        Assert.Equal((5000L, "a;b"), KernelLog.Parse("4,7,5,c;a;b"));
        Assert.Null(KernelLog.Parse("no semicolon"));
        Assert.Null(KernelLog.Parse("6,1234;too few fields"));
        Assert.Null(KernelLog.Parse("6,1234,-5,-;a negative stamp"));
    }

    /// <summary>Only the lines stamped by the instant count, the one stamped at it included.</summary>
    [Fact]
    public void LoggedBy_KeepsTheLinesStampedByTheInstant()
    {
        (long, string)[] lines = [(10, "a"), (20, "b"), (21, "c")];

        Assert.Equal(["a", "b"], KernelLog.LoggedBy(lines, 20));
        Assert.Empty(KernelLog.LoggedBy(lines, 9));
        Assert.Equal(["a", "b", "c"], KernelLog.LoggedBy(lines, long.MaxValue));
    }

    /// <summary>How late the run was by an instant: the latest lateness of the steps due by then, not of those after it.</summary>
    [Fact]
    public void LateBy_IsTheLatestLatenessOfTheStepsDueByThen()
    {
        var timing = new RunTiming();
        timing.Step(1_000_000, "a", 1_100_000, null, 1_200_000);
        timing.Step(3_000_000, "b", 45_800_000, 45_900_000, 46_000_000);
        timing.Step(50_000_000, "c", 50_010_000, null, 50_020_000);
        timing.Step(60_000_000, "d", 90_000_000, null, 90_100_000);

        Assert.Equal(0, timing.LateBy(999_999));
        Assert.Equal(100_000, timing.LateBy(2_000_000));
        Assert.Equal(42_800_000, timing.LateBy(54_000_000));
        Assert.Equal(42_800_000, timing.LateBy(59_999_999));
        Assert.Equal(42_800_000, timing.LateBy(60_000_000));
    }

    /// <summary>
    /// On the machine: a line written to /dev/kmsg after the log was opened is stamped between the times around its
    /// write, on CLOCK_MONOTONIC (the log's clock, local_clock(), is not: 1.4 ms apart on this VM 3 minutes after boot).
    /// </summary>
    [KernelFact]
    public void Lines_OnTheMachine_AreStampedOnTheRunsClock()
    {
        if (KernelAvailability.Missing is { } why) Assert.Fail($"CI=true but the real-kernel tests cannot run here: {why}");
        var (log, error) = KernelLog.Open();
        Assert.True(log is not null, error);
        using (log)
        {
            int fd = Libc.open("/dev/kmsg", Libc.O_RDWR);
            var line = System.Text.Encoding.ASCII.GetBytes($"<6>simservice test {Guid.NewGuid()}\n");
            long before = Libc.MonotonicNs();
            Assert.Equal(line.Length, Libc.write(fd, line, line.Length));
            long after = Libc.MonotonicNs();
            Libc.close(fd);
            string text = System.Text.Encoding.ASCII.GetString(line, 3, line.Length - 4);

            Assert.DoesNotContain(text, log.Lines(before - 5_000_000));
            Assert.Contains(text, log.Lines(after + 5_000_000));
            Assert.DoesNotContain(log.Lines(long.MaxValue), l => l.StartsWith(KernelLog.Marker, StringComparison.Ordinal));
        }
    }
}
