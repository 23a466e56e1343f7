namespace SimService.Cli.Kernel;

/// <summary>
/// The machine's kernel log from the moment a run began, read from /dev/kmsg (one record per read(): "prio,seq,usec,flags;text").
/// The log is not per network namespace: a line another namespace caused counts too, and net_ratelimit() is shared by the
/// whole machine, so a line can be missing because others used the budget. Scenario checks say so in a note.
/// <para>Each line keeps the time the kernel stamped it with (printk's local_clock(), in µs), on the run's
/// CLOCK_MONOTONIC: <see cref="Open"/> writes a line of its own (devkmsg_write()) and takes the difference between its
/// stamp and the time of the write. So a check can ask what was logged by an instant however late the log is read: a
/// reading at a step's time read it before the line of a packet the machine had made late was printed (a SYN flood
/// line missed when the run was 42.8 ms late).</para>
/// </summary>
internal sealed class KernelLog : IDisposable
{
    const int SeekEnd = 2, Epipe = 32;
    /// <summary>The line <see cref="Open"/> writes; the log's lines are those after it.</summary>
    internal const string Marker = "simservice: a kernel run begins";
    readonly int _fd;
    readonly List<(long Ns, string Text)> _lines = [];
    readonly Lock _lock = new();
    /// <summary>The kernel log's clock minus CLOCK_MONOTONIC (ns).</summary>
    readonly long _offset;

    KernelLog(int fd, long offset) => (_fd, _offset) = (fd, offset);

    /// <summary>Opens the log positioned after its last record and marks the start; null (and why) when it cannot be read.</summary>
    public static (KernelLog? Log, string? Error) Open()
    {
        int fd = Libc.open("/dev/kmsg", Libc.O_RDWR | Libc.O_NONBLOCK);
        if (fd < 0) return (null, $"cannot open /dev/kmsg (errno {Libc.Errno})");
        if (Libc.lseek(fd, 0, SeekEnd) < 0) return Fail(fd, "cannot seek");
        var marker = System.Text.Encoding.ASCII.GetBytes($"<6>{Marker} ({Environment.ProcessId})\n");
        long before = Libc.MonotonicNs();
        // A machine that refuses user lines (printk.devkmsg=off drops them without an error, =ratelimit may refuse one)
        // still has a log to read: its clock is then taken as CLOCK_MONOTONIC (printk's local_clock() runs within a few ms of it).
        if (Libc.write(fd, marker, marker.Length) != marker.Length) return (new KernelLog(fd, 0), null);
        long after = Libc.MonotonicNs();
        // The record is stored before write() returns (printk's vprintk_store()): it is among those now readable.
        var buffer = new byte[8192];
        while (true)
        {
            nint n = Libc.read(fd, buffer, buffer.Length);
            if (n < 0 && Libc.Errno == Epipe) continue;
            if (n <= 0) return (new KernelLog(fd, 0), null); // the line was dropped (above)
            var record = System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n);
            if (Parse(record) is { } line && line.Text.StartsWith(Marker, StringComparison.Ordinal))
                return (new KernelLog(fd, line.Ns - (before + after) / 2), null);
        }
    }

    static (KernelLog?, string?) Fail(int fd, string what)
    {
        var error = $"{what} /dev/kmsg (errno {Libc.Errno})";
        Libc.close(fd);
        return (null, error);
    }

    /// <summary>Every line logged since the log was opened and no later than <paramref name="untilNs"/> (CLOCK_MONOTONIC), read up to now.</summary>
    public IReadOnlyList<string> Lines(long untilNs)
    {
        lock (_lock)
        {
            var buffer = new byte[8192];
            while (true)
            {
                nint n = Libc.read(_fd, buffer, buffer.Length);
                // EPIPE: records were overwritten before they were read; the next read goes on from the oldest left.
                // EAGAIN: nothing more for now.
                if (n < 0 && Libc.Errno == Epipe) continue;
                if (n <= 0) break;
                if (Parse(System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n)) is { } line) _lines.Add((line.Ns - _offset, line.Text));
            }
            return LoggedBy(_lines, untilNs);
        }
    }

    /// <summary>The texts of the lines stamped no later than <paramref name="untilNs"/>, in the log's order.</summary>
    internal static List<string> LoggedBy(IEnumerable<(long Ns, string Text)> lines, long untilNs) =>
        [.. lines.Where(l => l.Ns <= untilNs).Select(l => l.Text)];

    /// <summary>
    /// The time stamp (ns on the log's clock) and text of a /dev/kmsg record, the text with the subsystem prefix the
    /// kernel printed ("TCP: …"); null if malformed.
    /// </summary>
    internal static (long Ns, string Text)? Parse(string record)
    {
        int semicolon = record.IndexOf(';');
        if (semicolon < 0) return null;
        var fields = record[..semicolon].Split(',');
        if (fields.Length < 3 || !long.TryParse(fields[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long us))
            return null;
        var text = record[(semicolon + 1)..];
        int end = text.IndexOf('\n');
        return (us * 1000, end < 0 ? text : text[..end]);
    }

    public void Dispose() => Libc.close(_fd);
}
