namespace SimService.Cli.Kernel;

/// <summary>
/// One real-kernel run at a time on this machine: an exclusive <c>flock(2)</c> on a lock file (<see cref="Machine"/>'s
/// in /run/lock), held from before a run's child process starts (and before a machine-wide sysctl it needs is set) until
/// the child has ended. Two runs at once on a small machine take each other's cores in their real-time spins and come
/// late by milliseconds (two runs of one script at once failed 8 of 8 at its line 8 in session 19); and two runs that
/// set the machine's tcp_max_orphans would undo each other. A run that must wait says so on standard error. The kernel
/// drops the lock when the holder ends, killed too. The process holds one flock; a thread that holds it may ask again
/// (a scenario's run inside a --machine-orphans hold) and nests, while another thread of the same process waits for the
/// holding thread's outermost hold to end, as another process would (two kernel runs in one test host each ran as
/// though they held it). A hold is the thread's: take and dispose it on one thread (the runs are synchronous).
/// flock(2) needs no write access to the file: any user may wait.
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

    /// <summary>One thread of this process at a time takes and holds the flock; the others wait here (in order).</summary>
    readonly SemaphoreSlim _turn = new(1, 1);
    readonly Lock _gate = new();
    int _owner;
    int _depth;
    int _fd = -1;

    public string Path => path;

    /// <summary>
    /// Takes the lock, waiting for another process's hold (or another thread's of this process) to end, and saying so on
    /// <paramref name="waiting"/>, until <paramref name="cancellationToken"/> is cancelled (Ctrl-C:
    /// <see cref="OperationCanceledException"/>, nothing held). The thread that holds it nests.
    /// Waiters queue at a turnstile (a second lock file beside it) and only the one at its head waits on the lock
    /// itself: flock(2) lets any waiter win at a release, so a process that runs case after case (a fuzz run) took the
    /// lock back before a waiting one woke — now it queues behind it. The waits look every 20 ms (LOCK_NB), so a
    /// cancellation is seen.
    /// </summary>
    public IDisposable Take(TextWriter waiting, CancellationToken cancellationToken = default)
    {
        int me = Environment.CurrentManagedThreadId;
        lock (_gate)
        {
            if (_owner == me)
            {
                _depth++;
                return new Hold(this);
            }
        }
        bool told = false;
        if (!_turn.Wait(0))
        {
            told = Waiting(waiting);
            _turn.Wait(cancellationToken);
        }
        int fd = -1, queue = -1;
        try
        {
            fd = Open(path, waiting);
            queue = fd < 0 ? -1 : Open(path + ".queue", waiting);
            if (queue >= 0 && !(TryLock(queue) && TryLock(fd)))
            {
                if (!told) Waiting(waiting);
                if (!Wait(queue, cancellationToken) || !Wait(fd, cancellationToken)) Unlockable(waiting);
            }
        }
        catch
        {
            // Ctrl-C while waiting (or a writer that failed): nothing held, nothing queued, the turn handed on.
            Libc.close(fd);
            Libc.close(queue);
            _turn.Release();
            throw;
        }
        if (queue >= 0) Libc.close(queue);
        if (queue < 0 && fd >= 0)
        {
            Libc.close(fd);
            fd = -1;
        }
        lock (_gate)
        {
            (_owner, _depth, _fd) = (me, 1, fd);
        }
        return new Hold(this);
    }

    bool Waiting(TextWriter waiting)
    {
        waiting.WriteLine($"simservice: kernel: waiting for another real-kernel run on this machine to end (lock {path})");
        waiting.Flush();
        return true;
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
        int fd = Open(path, out _);
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
    /// Never follows a symbolic link, never waits on a FIFO (O_NOFOLLOW|O_NONBLOCK), and takes only a regular file: the
    /// machine's lock is in /run/lock, which every user may write, and a directory planted at its name let every run go on
    /// unlocked, a FIFO hung every root run in open() (review40a S-5). The name stays /run/lock's, so a build of another
    /// session on the machine still takes the same lock. -1 with <paramref name="why"/> when it is not used.
    /// </summary>
    static int Open(string file, out string? why)
    {
        int flags = Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW | Libc.O_NONBLOCK;
        int fd = Libc.open(file, flags);
        if (fd < 0 && Libc.Errno == Libc.ENOENT) fd = Libc.open_mode(file, flags | Libc.O_CREAT, 0b110_110_110);
        if (fd < 0)
        {
            why = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(Libc.Errno);
            return -1;
        }
        var statx = new byte[Libc.StatxSize];
        int type = Libc.statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_TYPE, statx) == 0
            ? System.Runtime.InteropServices.MemoryMarshal.Read<ushort>(statx.AsSpan(Libc.StatxModeOffset)) & 0xF000 : -1;
        why = type == 0x8000 ? null : type == 0x4000 ? "it is a folder, not a regular file" : type == 0x1000 ? "it is a FIFO, not a regular file" : "it is not a regular file";
        if (why is null) return fd;
        Libc.close(fd);
        return -1;
    }

    bool _toldCannotOpen;

    /// <summary>Opens a lock file; when it cannot, says why (once a process) and that the run goes ahead without the lock.</summary>
    int Open(string file, TextWriter waiting)
    {
        int fd = Open(file, out var why);
        if (fd >= 0 || _toldCannotOpen) return fd;
        _toldCannotOpen = true;
        waiting.WriteLine($"simservice: kernel: cannot open the lock file {file}: {why}; "
            + "running without the one-run-at-a-time lock (SIMSERVICE_KERNEL_LOCK=FILE names another lock file, =off turns it off)");
        return fd;
    }

    void Release()
    {
        lock (_gate)
        {
            if (--_depth > 0) return;
            if (_fd >= 0) Libc.close(_fd);
            (_owner, _fd) = (0, -1);
        }
        _turn.Release();
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
