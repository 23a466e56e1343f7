namespace SimService.Cli.Kernel;

/// <summary>
/// One real-kernel run at a time on this machine: an exclusive <c>flock(2)</c> on a lock file (<see cref="Machine"/>'s
/// in /run/lock), held from before a run's child process starts (and before a machine-wide sysctl it needs is set) until
/// the child has ended. Two runs at once on a small machine take each other's cores in their real-time spins and come
/// late by milliseconds (two runs of one script at once failed 8 of 8 at its line 8 in session 19); and two runs that
/// set the machine's tcp_max_orphans would undo each other. A run that must wait says so on standard error. The kernel
/// drops the lock when the holder ends, killed too. Within a process the lock is taken once however deeply it is asked
/// for. flock(2) needs no write access to the file: any user may wait.
/// </summary>
internal sealed class KernelRunLock(string path)
{
    /// <summary>The machine's lock (<see cref="For"/> the environment's <c>SIMSERVICE_KERNEL_LOCK</c>), or null when it is off.</summary>
    public static readonly KernelRunLock? Machine = For(Environment.GetEnvironmentVariable("SIMSERVICE_KERNEL_LOCK"));

    /// <summary>
    /// The lock a setting names: unset, /run/lock/simservice-kernel.lock (shared by every user of the machine; the
    /// temporary folder where there is no /run/lock); <c>off</c>, none — runs at once, for a machine with cores to spare
    /// or runs whose timing does not matter; any other value, that file.
    /// </summary>
    internal static KernelRunLock? For(string? setting) => setting switch
    {
        null or "" => new(Directory.Exists("/run/lock") ? "/run/lock/simservice-kernel.lock" : System.IO.Path.Combine(System.IO.Path.GetTempPath(), "simservice-kernel.lock")),
        "off" => null,
        _ => new(setting),
    };

    readonly Lock _gate = new();
    int _depth;
    int _fd = -1;

    public string Path => path;

    /// <summary>
    /// Takes the lock, waiting for another process's hold to end (and saying so on <paramref name="waiting"/>). Waiters
    /// queue at a turnstile (a second lock file beside it) and only the one at its head waits on the lock itself:
    /// flock(2) wakes every waiter at a release and lets any win, so a process that runs case after case (a fuzz run)
    /// took the lock back before a waiting one woke — now it queues behind it.
    /// </summary>
    public IDisposable Take(TextWriter waiting)
    {
        lock (_gate)
        {
            if (_depth++ > 0) return new Hold(this);
            int fd = Open(path, waiting);
            int queue = fd < 0 ? -1 : Open(path + ".queue", waiting);
            if (queue < 0)
            {
                if (fd >= 0) Libc.close(fd);
                return new Hold(this);
            }
            if (!TryLock(queue) || !TryLock(fd))
            {
                waiting.WriteLine($"simservice: kernel: waiting for another real-kernel run on this machine to end (lock {path})");
                waiting.Flush();
                Lock(queue);
                Lock(fd);
            }
            Libc.close(queue);
            _fd = fd;
            return new Hold(this);
        }
    }

    static bool TryLock(int fd) => Libc.flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) == 0;

    /// <summary>Blocks until <paramref name="fd"/> holds the lock (a lock already held is kept: flock converts in place).</summary>
    static void Lock(int fd)
    {
        while (Libc.flock(fd, Libc.LOCK_EX) != 0 && Libc.Errno == Libc.EINTR)
        {
        }
    }

    /// <summary>Whether some descriptor holds the lock now (probed with a descriptor of its own: this process's hold counts).</summary>
    public bool HeldOnMachine()
    {
        int fd = Open(path);
        if (fd < 0) return false;
        try
        {
            return !TryLock(fd);
        }
        finally
        {
            Libc.close(fd);
        }
    }

    static int Open(string file) => Libc.open_mode(file, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_CLOEXEC, 0b110_110_110);

    bool _toldCannotOpen;

    /// <summary>Opens a lock file; when it cannot, says why (once a process) and that the run goes ahead without the lock.</summary>
    int Open(string file, TextWriter waiting)
    {
        int fd = Open(file);
        if (fd >= 0 || _toldCannotOpen) return fd;
        _toldCannotOpen = true;
        waiting.WriteLine($"simservice: kernel: cannot open the lock file {file}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(Libc.Errno)}; "
            + "running without the one-run-at-a-time lock (SIMSERVICE_KERNEL_LOCK=FILE names another lock file, =off turns it off)");
        return fd;
    }

    void Release()
    {
        lock (_gate)
        {
            if (--_depth > 0 || _fd < 0) return;
            Libc.close(_fd);
            _fd = -1;
        }
    }

    sealed class Hold(KernelRunLock owner) : IDisposable
    {
        bool _released;

        public void Dispose()
        {
            if (_released) return;
            _released = true;
            owner.Release();
        }
    }
}
