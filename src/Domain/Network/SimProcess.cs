using System.Numerics;
using SimService.Domain.Tcp;

namespace SimService.Domain.Network;

/// <summary>A process on a host: it owns file descriptors; killing it closes them as exit() does.</summary>
public sealed class SimProcess(Host host, string name)
{
    public Host Host { get; } = host;
    public string Name { get; } = name;

    /// <summary>The process's pid: the host's processes are numbered from 1 in the order they start (<see cref="Host.NextPid"/>).</summary>
    public int Pid { get; } = host.NextPid();

    /// <summary>
    /// current->comm: the name cut to TASK_COMM_LEN − 1 = 15 bytes of UTF-8 (__set_task_comm() → strscpy_pad()), not
    /// splitting a character here (the kernel cuts bytes).
    /// </summary>
    public string Comm
    {
        get
        {
            if (System.Text.Encoding.UTF8.GetByteCount(Name) <= 15) return Name;
            int end = 0;
            foreach (var rune in Name.EnumerateRunes())
            {
                if (System.Text.Encoding.UTF8.GetByteCount(Name.AsSpan(0, end + rune.Utf16SequenceLength)) > 15) break;
                end += rune.Utf16SequenceLength;
            }
            return Name[..end];
        }
    }

    /// <summary>The longest process name (a simulation's name has the same bound).</summary>
    public const int NameMaxLength = 200;

    /// <summary>
    /// What a process name may be: 1 to 200 characters, no control characters (U+0000–U+001F, U+007F–U+009F: they would
    /// reach every journal line, listing and terminal) nor bidirectional controls (<see cref="Text.NameCharacters"/>), and neither '/' nor '%' nor "." or ".." alone — so that a name
    /// round-trips as one path segment of …/processes/{process}/kill (a server keeps "%2F" encoded, so '/' and '%' could
    /// not be told apart there, and clients resolve dot segments). Null when <paramref name="name"/> is one.
    /// </summary>
    public static string? NameProblem(string? name) => name switch
    {
        null or "" => "A process name is not empty.",
        _ when Text.TextLength.Characters(name) > NameMaxLength => $"A process name is at most {NameMaxLength} characters.",
        "." or ".." => "A process name is not \".\" or \"..\" (they are path segments of their own).",
        _ when !Text.NameCharacters.AreFree(name) => "A process name must not contain " + Text.NameCharacters.Refused + ".",
        _ when name.Contains('/') || name.Contains('%') => "A process name contains neither '/' nor '%': it is one path segment of …/processes/{process}/kill.",
        _ => null,
    };

    /// <summary>
    /// The fd table (struct fdtable): fd → socket, open_fds with one bit per descriptor, and
    /// full_fds_bits with one bit per open_fds word that is all ones, so the lowest free
    /// descriptor is found in O(max_fds / 4096) word reads at worst and O(1) in the common case
    /// (next_fd), as fs/file.c does. 0–2 are the standard streams, open from the start (<see cref="_streams"/>).
    /// </summary>
    TcpSocket?[] _fds = new TcpSocket?[64];
    ulong[] _openFds = [0b111];
    /// <summary>
    /// The standard streams 0–2 that still hold their own file (one bit each): open in open_fds with a file the engine does
    /// not model, so not reserved (<see cref="IsReserved"/>); dup2() onto one replaces it (<see cref="InstallAt"/>).
    /// </summary>
    int _streams = 0b111;
    ulong[] _fullFdsBits = [0];
    /// <summary>files->next_fd: no descriptor below it is free.</summary>
    int _nextFd = 3;

    /// <summary>How many sockets the process holds open.</summary>
    public int OpenCount { get; private set; }

    /// <summary>
    /// RLIMIT_NOFILE (signal->rlim[RLIMIT_NOFILE]): rlim_cur, the soft limit that alloc_fd() and dup2() test, and
    /// rlim_max, the ceiling setrlimit() may raise it to. Both fs.nr_open until a setrlimit() call lowers them, so a
    /// process that never calls it gets descriptors up to fs.nr_open.
    /// </summary>
    public int NoFileCur { get; private set; } = Engine.Simulation.NrOpen;
    public int NoFileMax { get; private set; } = Engine.Simulation.NrOpen;

    /// <summary>
    /// Models do_prlimit() for RLIMIT_NOFILE — kernel/sys.c: rlim_cur above rlim_max → EINVAL; rlim_max above
    /// fs.nr_open → EPERM (the CAP_SYS_RESOURCE test for raising rlim_max passes: a simulated process runs as root).
    /// Nothing already open is closed: only later allocations meet the new limit. Null: set.
    /// </summary>
    internal string? SetNoFile(long cur, long max)
    {
        if (NoFileRefusal(cur, max) is { } refused) return refused;
        (NoFileCur, NoFileMax) = ((int)cur, (int)max);
        return null;
    }

    /// <summary>Whether a setrlimit() call gave the process a soft limit below fs.nr_open.</summary>
    public bool LimitsNoFile => NoFileCur < Engine.Simulation.NrOpen;

    /// <summary>do_prlimit()'s tests of a new RLIMIT_NOFILE, in its order: the errno it returns, or null.</summary>
    public static string? NoFileRefusal(long cur, long max) =>
        cur > max ? Errno.EINVAL : max > Engine.Simulation.NrOpen ? Errno.EPERM : null;

    /// <summary>
    /// Models alloc_fd(0, rlimit(RLIMIT_NOFILE)) — fs/file.c: the lowest free descriptor at or above next_fd, marked
    /// open with no file yet (get_unused_fd_flags(); fd_install() or <see cref="PutUnusedFd"/> follows); -1 for
    /// EMFILE when that descriptor is at or above the soft limit.
    /// </summary>
    internal int AllocFd() => AllocFd(NoFileCur);

    /// <summary>alloc_fd() with <paramref name="end"/> as its bound.</summary>
    internal int AllocFd(int end)
    {
        int fd = FindNextFd(_nextFd);
        if (fd >= end) return -1;
        if (fd >= _fds.Length) Expand(fd + 1);
        SetOpen(fd);
        _nextFd = fd + 1;
        return fd;
    }

    /// <summary>put_unused_fd() — fs/file.c: a descriptor <see cref="AllocFd"/> reserved is free again (the call failed).</summary>
    internal void PutUnusedFd(int fd)
    {
        ClearOpen(fd);
        if (fd < _nextFd) _nextFd = fd;
    }

    /// <summary>
    /// Whether <paramref name="fd"/> is reserved by a call (open in open_fds, no file installed yet): do_dup2() — fs/file.c —
    /// fails EBUSY onto it. A standard stream still open has its file there, which do_dup2() closes and replaces.
    /// </summary>
    internal bool IsReserved(int fd) =>
        fd < _fds.Length && _fds[fd] is null && (_openFds[fd >> 6] & (1UL << fd)) != 0 && (fd > 2 || (_streams & (1 << fd)) == 0);

    /// <summary>fd_install() of a new socket's file at the descriptor <see cref="AllocFd"/> took for it: the socket's own descriptor.</summary>
    internal void InstallOwn(TcpSocket sk, int fd)
    {
        Fill(sk, fd);
        sk.Fd = fd;
        sk.Owner = this;
    }

    /// <summary>
    /// Models dup() — fs/file.c: get_file() (one more reference to the socket's file) installed at the
    /// lowest free descriptor; -1 (EMFILE) at the soft limit. The socket's own <see cref="TcpSocket.Fd"/> stays the one it had.
    /// </summary>
    internal int Dup(TcpSocket sk)
    {
        int fd = AllocFd();
        if (fd >= 0) Fill(sk, fd);
        return fd;
    }

    /// <summary>
    /// do_dup2()'s install at <paramref name="fd"/>, once the socket newfd held is released: a standard stream there is
    /// replaced (its file closed, filp_close()), so closing the descriptor later frees it as any other.
    /// </summary>
    internal void InstallAt(TcpSocket sk, int fd)
    {
        if (fd <= 2) _streams &= ~(1 << fd);
        if (fd >= _fds.Length) Expand(fd + 1);
        SetOpen(fd);
        Fill(sk, fd);
    }

    void Fill(TcpSocket sk, int fd)
    {
        _fds[fd] = sk;
        OpenCount++;
        sk.FileRefs++;
    }

    /// <summary>The socket open at descriptor <paramref name="fd"/>, or null (a free descriptor, or a standard stream).</summary>
    public TcpSocket? At(int fd) => fd >= 0 && fd < _fds.Length ? _fds[fd] : null;

    /// <summary>
    /// Models file_close_fd() — fs/file.c: the descriptor becomes free (next_fd moves down to it) and the
    /// file loses a reference; returns how many references are left (0: the caller runs __fput()'s
    /// sock_close()). If the socket's own descriptor went, the socket is known by its lowest remaining one.
    /// </summary>
    internal int ReleaseFd(int fd)
    {
        if (At(fd) is not { } sk) return -1;
        _fds[fd] = null;
        ClearOpen(fd);
        if (fd < _nextFd) _nextFd = fd;
        OpenCount--;
        int left = --sk.FileRefs;
        if (left > 0 && sk.Fd == fd) sk.Fd = LowestFdOf(sk);
        return left;
    }

    /// <summary>The open descriptors in order (close_files() walks open_fds upward at exit); a dup'ed socket appears once per descriptor.</summary>
    internal List<(int Fd, TcpSocket Socket)> OpenDescriptors()
    {
        var open = new List<(int, TcpSocket)>(OpenCount);
        for (int w = 0; w < _openFds.Length; w++)
        {
            ulong bits = _openFds[w];
            while (bits != 0)
            {
                int fd = (w << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                if (_fds[fd] is { } sk) open.Add((fd, sk));
            }
        }
        return open;
    }

    /// <summary>The lowest descriptor that holds <paramref name="sk"/> (it has one: a reference is left).</summary>
    int LowestFdOf(TcpSocket sk)
    {
        for (int w = 0; w < _openFds.Length; w++)
        {
            for (ulong bits = _openFds[w]; bits != 0; bits &= bits - 1)
            {
                int fd = (w << 6) + BitOperations.TrailingZeroCount(bits);
                if (ReferenceEquals(_fds[fd], sk)) return fd;
            }
        }
        throw new InvalidOperationException($"socket {sk.Id} has references but no descriptor");
    }

    /// <summary>find_next_fd(): the first word with a zero bit via full_fds_bits, then the zero bit in it.</summary>
    int FindNextFd(int start)
    {
        int word = NextZeroBit(_fullFdsBits, start >> 6);
        if (word >= _openFds.Length) return Math.Max(start, _openFds.Length << 6);
        if (word << 6 > start) start = word << 6;
        return NextZeroBit(_openFds, start);
    }

    /// <summary>find_next_zero_bit(): the index of the first zero bit at or after <paramref name="from"/> (past the end when none).</summary>
    static int NextZeroBit(ulong[] bits, int from)
    {
        int w = from >> 6;
        if (w >= bits.Length) return from;
        ulong word = ~bits[w] & (ulong.MaxValue << (from & 63));
        while (word == 0)
        {
            if (++w == bits.Length) return w << 6;
            word = ~bits[w];
        }
        return (w << 6) + BitOperations.TrailingZeroCount(word);
    }

    void SetOpen(int fd)
    {
        ref ulong word = ref _openFds[fd >> 6];
        word |= 1UL << fd;
        if (word == ulong.MaxValue) _fullFdsBits[fd >> 12] |= 1UL << (fd >> 6);
    }

    void ClearOpen(int fd)
    {
        _openFds[fd >> 6] &= ~(1UL << fd);
        _fullFdsBits[fd >> 12] &= ~(1UL << (fd >> 6));
    }

    /// <summary>expand_fdtable(): doubles the table (whole words of 64 descriptors).</summary>
    void Expand(int atLeast)
    {
        int size = _fds.Length;
        while (size < atLeast) size *= 2;
        Array.Resize(ref _fds, size);
        Array.Resize(ref _openFds, size >> 6);
        Array.Resize(ref _fullFdsBits, Math.Max(1, (size + 4095) >> 12));
    }

    /// <summary>PF_EXITING: set while exit closes the descriptors, so close() never lingers.</summary>
    public bool Exiting { get; internal set; }
    public bool Exited { get; internal set; }
}
