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
    /// Takes the lock, waiting for another process's hold to end (and saying so on <paramref name="waiting"/>) until
    /// <paramref name="cancellationToken"/> is cancelled (Ctrl-C: <see cref="OperationCanceledException"/>, nothing held).
    /// Waiters queue at a turnstile (a second lock file beside it) and only the one at its head waits on the lock
    /// itself: flock(2) lets any waiter win at a release, so a process that runs case after case (a fuzz run) took the
    /// lock back before a waiting one woke — now it queues behind it. The waits look every 20 ms (LOCK_NB), so a
    /// cancellation is seen.
    /// </summary>
    public IDisposable Take(TextWriter waiting, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_depth > 0)
            {
                _depth++;
                return new Hold(this);
            }
            int fd = Open(path, waiting);
            int queue = fd < 0 ? -1 : Open(path + ".queue", waiting);
            try
            {
                if (queue >= 0 && !(TryLock(queue) && TryLock(fd)))
                {
                    waiting.WriteLine($"simservice: kernel: waiting for another real-kernel run on this machine to end (lock {path})");
                    waiting.Flush();
                    if (!Wait(queue, cancellationToken) || !Wait(fd, cancellationToken)) Unlockable(waiting);
                }
            }
            catch (OperationCanceledException)
            {
                Libc.close(fd);
                Libc.close(queue);
                throw;
            }
            if (queue >= 0) Libc.close(queue);
            if (queue < 0 && fd >= 0) Libc.close(fd);
            else _fd = fd;
            _depth = 1;
            return new Hold(this);
        }
    }

    static bool TryLock(int fd) => Libc.flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) == 0;

    /// <summary>
    /// Waits until <paramref name="fd"/> holds the lock (one already held is kept: flock converts in place); false when
    /// flock fails for another reason than the lock being held (ENOLCK).
    /// </summary>
    static bool Wait(int fd, CancellationToken cancellationToken)
    {
        while (!TryLock(fd))
        {
            if (Libc.Errno is not (Libc.EAGAIN or Libc.EINTR)) return false;
            if (cancellationToken.WaitHandle.WaitOne(20)) cancellationToken.ThrowIfCancellationRequested();
        }
        return true;
    }

    static void Unlockable(TextWriter waiting) =>
        waiting.WriteLine($"simservice: kernel: cannot lock: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(Libc.Errno)}; running without the one-run-at-a-time lock");

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

    /// <summary>
    /// Opens a lock file, making it only when it is missing: an O_CREAT open of another user's file in a sticky folder
    /// (/tmp) is refused even to root under fs.protected_regular (may_create_in_sticky()).
    /// </summary>
    static int Open(string file)
    {
        int fd = Libc.open(file, Libc.O_RDONLY | Libc.O_CLOEXEC);
        return fd >= 0 || Libc.Errno != Libc.ENOENT ? fd : Libc.open_mode(file, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_CLOEXEC, 0b110_110_110);
    }

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
