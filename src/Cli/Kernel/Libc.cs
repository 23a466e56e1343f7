using System.Runtime.InteropServices;

namespace SimService.Cli.Kernel;

/// <summary>
/// The libc calls the real-kernel runner makes (x86-64 and arm64 Linux numbering): sockets, the TUN device, the
/// monotonic clock and the real-time scheduler; and statx(2), by which every command tells a regular file it may read from
/// a FIFO or a device (<see cref="Files.InputFiles"/>). Each returns what libc returns; the errno of a failed call is
/// <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static partial class Libc
{
    public const int AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000, IPPROTO_TCP = 6;
    public const int SOL_SOCKET = 1, SOL_IP = 0;
    public const int O_RDWR = 2, O_NONBLOCK = 0x800, F_GETFL = 3, F_SETFL = 4;
    public const int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1, SCHED_FIFO = 1;
    public const uint TUNSETIFF = 0x400454ca;
    public const short IFF_TUN = 0x0001, IFF_NO_PI = 0x1000;
    public const int ENOENT = 2, EINTR = 4, EAGAIN = 11;
    public const int LOCK_EX = 2, LOCK_NB = 4, O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;
    public const int EEXIST = 17, ELOOP = 40;

    /// <summary>O_NOFOLLOW: 0400000 on x86-64, 0100000 on arm64 (its asm/fcntl.h moves it with O_DIRECTORY).</summary>
    public static readonly int O_NOFOLLOW = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;
    public const int CLONE_NEWNET = 0x40000000, POLLIN = 1;
    public const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_NLINK = 0x4, STATX_UID = 0x8, STATX_INO = 0x100, STATX_SIZE = 0x200;

    /// <summary>
    /// struct statx's size, and where stx_nlink (u32), stx_uid (u32), stx_mode (u16), stx_ino (u64), stx_size (u64) and
    /// stx_dev_major, stx_dev_minor (u32 each) sit in it: the same on every Linux architecture.
    /// </summary>
    public const int StatxSize = 256, StatxNlinkOffset = 16, StatxUidOffset = 20, StatxModeOffset = 28, StatxInoOffset = 32, StatxSizeOffset = 40, StatxDevOffset = 136;

    [StructLayout(LayoutKind.Sequential)]
    public struct SockaddrIn
    {
        public ushort Family;
        public ushort PortBe;
        public uint AddrBe;
        public ulong Zero;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [DllImport("libc", SetLastError = true)] public static extern int socket(int domain, int type, int protocol);
    [DllImport("libc", SetLastError = true)] public static extern int bind(int fd, ref SockaddrIn addr, int len);
    [DllImport("libc", SetLastError = true)] public static extern int connect(int fd, ref SockaddrIn addr, int len);
    [DllImport("libc", SetLastError = true)] public static extern int listen(int fd, int backlog);
    [DllImport("libc", SetLastError = true)] public static extern int accept4(int fd, IntPtr addr, IntPtr len, int flags);
    [DllImport("libc", SetLastError = true)] public static extern int setsockopt(int fd, int level, int name, byte[] value, int len);
    [DllImport("libc", SetLastError = true)] public static extern int getsockopt(int fd, int level, int name, byte[] value, ref int len);
    [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] public static extern int shutdown(int fd, int how);
    [DllImport("libc", SetLastError = true)] public static extern nint write(int fd, byte[] buffer, nint count);
    [DllImport("libc", SetLastError = true)] public static extern nint read(int fd, byte[] buffer, nint count);
    [DllImport("libc", SetLastError = true)] public static extern nint send(int fd, byte[] buffer, nint count, int flags);
    [DllImport("libc", SetLastError = true)] public static extern nint recv(int fd, byte[] buffer, nint count, int flags);
    [DllImport("libc", SetLastError = true)] public static extern int poll([In, Out] PollFd[] fds, ulong nfds, int timeout);
    [DllImport("libc", SetLastError = true)] public static extern int ioctl(int fd, ulong request, ref int value);
    [DllImport("libc", SetLastError = true, EntryPoint = "ioctl")] public static extern int ioctl_bytes(int fd, ulong request, byte[] value);
    [DllImport("libc", SetLastError = true)] public static extern int fcntl(int fd, int cmd, int arg);
    [DllImport("libc", SetLastError = true)] public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libc", SetLastError = true, EntryPoint = "open")] public static extern int open_mode([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);
    [DllImport("libc", SetLastError = true)] public static extern int getsockname(int fd, ref SockaddrIn addr, ref int len);
    [DllImport("libc", SetLastError = true)] public static extern int getpeername(int fd, ref SockaddrIn addr, ref int len);
    [DllImport("libc", SetLastError = true)] public static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] public static extern long lseek(int fd, long offset, int whence);
    [DllImport("libc", SetLastError = true)] public static extern int setns(int fd, int nstype);
    [DllImport("libc", SetLastError = true)] public static extern int flock(int fd, int operation);
    [DllImport("libc", SetLastError = true)] public static extern int ppoll([In, Out] PollFd[] fds, ulong nfds, ref Timespec timeout, IntPtr sigmask);
    [DllImport("libc", SetLastError = true)] public static extern int mkdir([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);
    [DllImport("libc", SetLastError = true)] public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
    [DllImport("libc")] public static extern uint geteuid();
    [DllImport("libc")] public static extern int gettid();
    [DllImport("libc")] public static extern int getpid();
    [DllImport("libc", SetLastError = true)] public static extern int tgkill(int tgid, int tid, int sig);
    [DllImport("libc", SetLastError = true)] public static extern IntPtr signal(int sig, IntPtr handler);
    [DllImport("libc", SetLastError = true)] public static extern int siginterrupt(int sig, int flag);
    [DllImport("libc")] static extern int __libc_current_sigrtmin();

    /// <summary>
    /// The signal that ends a worker's blocked call (<see cref="InterruptCalls"/>): a real-time one the .NET runtime does not
    /// use (it takes SIGRTMIN for its own activation injection).
    /// </summary>
    static readonly Lazy<int> s_interrupt = new(() =>
    {
        int sig = __libc_current_sigrtmin() + 2;
        // A handler that does nothing and is safe in a signal's context (getpid() ignores the signal number it is passed),
        // installed without SA_RESTART (siginterrupt()): a call asleep in the kernel when it arrives returns EINTR.
        var handler = NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "getpid");
        if (signal(sig, handler) == -1 || siginterrupt(sig, 1) < 0) throw new InvalidOperationException($"cannot install a handler for signal {sig}: errno {Errno}");
        return sig;
    });

    /// <summary>Ends the system call thread <paramref name="tid"/> of this process sleeps in: it returns EINTR (signal_pending() in its wait).</summary>
    public static void InterruptCalls(int tid) => tgkill(getpid(), tid, s_interrupt.Value);
    [DllImport("libc")] public static extern int clock_gettime(int clock, out Timespec ts);
    [DllImport("libc")] public static extern int clock_nanosleep(int clock, int flags, ref Timespec request, IntPtr remain);
    [DllImport("libc", SetLastError = true)] public static extern int sched_setscheduler(int pid, int policy, ref int priority);
    [DllImport("libc", SetLastError = true)] public static extern int sched_getscheduler(int pid);
    [DllImport("libc", SetLastError = true)] public static extern int sched_getparam(int pid, out int priority);
    [DllImport("libc", SetLastError = true)] static extern int sched_setaffinity(int pid, nint size, ref ulong mask);

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>CLOCK_MONOTONIC in nanoseconds: the clock every time of a kernel run is read on.</summary>
    public static long MonotonicNs()
    {
        clock_gettime(CLOCK_MONOTONIC, out var ts);
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }

    /// <summary>Sleeps until the monotonic clock reads <paramref name="ns"/> (an absolute timer: no drift from late wake-ups adding up).</summary>
    public static void SleepUntil(long ns)
    {
        var ts = new Timespec { Sec = ns / 1_000_000_000, Nsec = ns % 1_000_000_000 };
        while (MonotonicNs() < ns && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ref ts, IntPtr.Zero) == EINTR) { }
    }

    /// <summary>How long before its time <see cref="SleepThenSpinUntil"/> stops sleeping and spins.</summary>
    public const long SpinNs = 1_500_000;

    /// <summary>
    /// Sleeps until <see cref="SpinNs"/> before <paramref name="ns"/>, then spins on the clock: on time to a few µs where a
    /// sleep alone wakes hundreds of µs late. For the few threads of a run that act at a script's times, never for a
    /// thread that polls (a spinning real-time thread keeps every other thread of its priority off its core).
    /// </summary>
    public static void SleepThenSpinUntil(long ns)
    {
        SleepUntil(ns - SpinNs);
        while (MonotonicNs() < ns) SpinOnce();
    }

    /// <summary>
    /// Spins (<see cref="SpinOnce"/>) until <paramref name="done"/> holds or <see cref="SpinNs"/> has passed; whether it
    /// holds. For a wait that is usually short, before a blocking one: a thread woken from a blocking wait noticed 0.1 ms later.
    /// </summary>
    public static bool SpinBriefly(Func<bool> done)
    {
        for (long until = MonotonicNs() + SpinNs; MonotonicNs() < until; SpinOnce())
            if (done()) return true;
        return done();
    }

    /// <summary>
    /// One turn of a spin: a short busy wait, then sched_yield(), which lets another real-time thread of the same priority
    /// on this core run (a SCHED_FIFO thread is otherwise never preempted by its equals): the runner's threads spin at
    /// <see cref="RunnerPriority"/>, and two kernel runs at once would else hold each other's threads off for a spin.
    /// </summary>
    public static void SpinOnce()
    {
        Thread.SpinWait(20);
        Thread.Yield();
    }

    /// <summary>
    /// The real-time priority of a run's threads that spin (a script's thread and its call thread; a scenario's step thread,
    /// its call workers and its hosts' namespace threads): equal, so each one's spin yields to the others.
    /// </summary>
    public const int RunnerPriority = 55;

    /// <summary>
    /// The real-time priority of the child's watch on its tool (<see cref="ParentWatch"/>): above every thread of a run —
    /// the spinners at <see cref="RunnerPriority"/>, the link emulators, TUN reader and capture at 60 — so the tool's end is
    /// seen at once. It sleeps in read() until then, and takes no time from them.
    /// </summary>
    public const int WatchPriority = 61;

    /// <summary>
    /// Puts the calling thread in SCHED_FIFO, so its wake-ups on this shared machine are not late behind other
    /// processes; ignored where not permitted (the run then only tolerates more lateness).
    /// </summary>
    public static bool RealTime(int priority = 50) => sched_setscheduler(0, SCHED_FIFO, ref priority) == 0;

    /// <summary>Keeps the calling thread on <paramref name="cpu"/> (sched_setaffinity of the thread); null leaves it free.</summary>
    public static bool PinTo(int? cpu)
    {
        if (cpu is not { } c || c is < 0 or > 63) return false;
        ulong mask = 1UL << c;
        return sched_setaffinity(0, sizeof(ulong), ref mask) == 0;
    }

    public static SockaddrIn Address(uint addressHostOrder, ushort port) => new()
    {
        Family = AF_INET,
        PortBe = (ushort)((port >> 8) | (port << 8)),
        AddrBe = (uint)System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(addressHostOrder),
    };
}
