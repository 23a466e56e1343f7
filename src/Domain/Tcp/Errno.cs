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
    /// <summary>Bad address: vfs_read()'s and vfs_write()'s answer when access_ok() refuses the buffer (a count past the address space).</summary>
    public const string EFAULT = nameof(EFAULT);

    /// <summary>The numbers of asm-generic/errno-base.h / errno.h (x86-64), as SO_ERROR reports them (<see cref="ErrnoTable"/>).</summary>
    public static int Number(string name) => ErrnoTable.Describe(name).Number is > 0 and var number ? number
        : throw new ArgumentOutOfRangeException(nameof(name), name, "no errno number known");
}
