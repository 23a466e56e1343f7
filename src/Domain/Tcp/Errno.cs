namespace SimService.Domain.Tcp;

/// <summary>The errno names calls return (asm-generic/errno*.h spelling).</summary>
public static class Errno
{
    public const string ECONNRESET = nameof(ECONNRESET);
    public const string ECONNREFUSED = nameof(ECONNREFUSED);
    public const string EADDRNOTAVAIL = nameof(EADDRNOTAVAIL);
    public const string EADDRINUSE = nameof(EADDRINUSE);
    public const string EPIPE = nameof(EPIPE);
    public const string ETIMEDOUT = nameof(ETIMEDOUT);
    public const string ENOTCONN = nameof(ENOTCONN);
    public const string EINVAL = nameof(EINVAL);
    public const string EISCONN = nameof(EISCONN);
    public const string EALREADY = nameof(EALREADY);
    public const string EBADF = nameof(EBADF);
    public const string EOPNOTSUPP = nameof(EOPNOTSUPP);
    public const string EINTR = nameof(EINTR);
    public const string EHOSTUNREACH = nameof(EHOSTUNREACH);
    public const string ENETUNREACH = nameof(ENETUNREACH);
    public const string ENOPROTOOPT = nameof(ENOPROTOOPT);
    public const string EAGAIN = nameof(EAGAIN);
    public const string EINPROGRESS = nameof(EINPROGRESS);
    public const string ECONNABORTED = nameof(ECONNABORTED);
    /// <summary>Too many open files: alloc_fd()'s answer when the lowest free descriptor is at or above RLIMIT_NOFILE.</summary>
    public const string EMFILE = nameof(EMFILE);
    /// <summary>Operation not permitted: do_prlimit()'s answer to an RLIMIT_NOFILE rlim_max above fs.nr_open.</summary>
    public const string EPERM = nameof(EPERM);
    /// <summary>Device or resource busy: do_dup2()'s answer when newfd is reserved by a call that has not installed its file.</summary>
    public const string EBUSY = nameof(EBUSY);
    /// <summary>Math argument out of domain of func: sock_set_timeout()'s answer to a tv_usec outside [0, 1e6).</summary>
    public const string EDOM = nameof(EDOM);
    /// <summary>No such file or directory: tcp_set_congestion_control()'s answer to an unknown module.</summary>
    public const string ENOENT = nameof(ENOENT);

    /// <summary>The numbers of asm-generic/errno-base.h / errno.h (x86-64), as SO_ERROR reports them.</summary>
    public static int Number(string name) => name switch
    {
        EPERM => 1,
        ENOENT => 2,
        EINTR => 4,
        EAGAIN => 11,
        ECONNABORTED => 103,
        EINPROGRESS => 115,
        EBADF => 9,
        EBUSY => 16,
        EMFILE => 24,
        EINVAL => 22,
        EPIPE => 32,
        EDOM => 33,
        ENOPROTOOPT => 92,
        EOPNOTSUPP => 95,
        EADDRINUSE => 98,
        EADDRNOTAVAIL => 99,
        ECONNRESET => 104,
        EISCONN => 106,
        ENOTCONN => 107,
        ETIMEDOUT => 110,
        ECONNREFUSED => 111,
        ENETUNREACH => 101,
        EHOSTUNREACH => 113,
        EALREADY => 114,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no errno number known"),
    };
}
