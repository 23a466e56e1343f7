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
}
