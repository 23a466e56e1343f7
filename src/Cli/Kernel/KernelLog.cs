namespace SimService.Cli.Kernel;

/// <summary>
/// The machine's kernel log from the moment a run began, read from /dev/kmsg (one record per read(): "prio,seq,usec,flags;text").
/// The log is not per network namespace: a line another namespace caused counts too, and net_ratelimit() is shared by the
/// whole machine, so a line can be missing because others used the budget. Scenario checks say so in a note.
/// </summary>
internal sealed class KernelLog : IDisposable
{
    const int SeekEnd = 2, Epipe = 32;
    readonly int _fd;
    readonly List<string> _lines = [];
    readonly Lock _lock = new();

    KernelLog(int fd) => _fd = fd;

    /// <summary>Opens the log positioned after its last record; null (and why) when it cannot be read.</summary>
    public static (KernelLog? Log, string? Error) Open()
    {
        int fd = Libc.open("/dev/kmsg", Libc.O_NONBLOCK);
        if (fd < 0) return (null, $"cannot open /dev/kmsg (errno {Libc.Errno})");
        if (Libc.lseek(fd, 0, SeekEnd) < 0)
        {
            Libc.close(fd);
            return (null, $"cannot seek /dev/kmsg (errno {Libc.Errno})");
        }
        return (new KernelLog(fd), null);
    }

    /// <summary>Every line logged since the log was opened, read up to now.</summary>
    public IReadOnlyList<string> Lines()
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
                if (Parse(System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n)) is { } line) _lines.Add(line);
            }
            return [.. _lines];
        }
    }

    /// <summary>The text of a /dev/kmsg record, with the subsystem prefix the kernel printed ("TCP: …"), or null if malformed.</summary>
    internal static string? Parse(string record)
    {
        int semicolon = record.IndexOf(';');
        if (semicolon < 0) return null;
        var text = record[(semicolon + 1)..];
        int end = text.IndexOf('\n');
        return end < 0 ? text : text[..end];
    }

    public void Dispose() => Libc.close(_fd);
}
