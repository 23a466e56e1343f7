using SimService.Domain.Tcp;

namespace SimService.Domain.Scenarios;

/// <summary>
/// An errno name a call's <c>expect.result</c> may give: exactly the schema's <c>errnoName</c> list
/// (Linux's errno names, <see cref="ErrnoTable"/>). Equality is by name; <see cref="Canonical"/> folds Linux's aliases.
/// </summary>
public readonly record struct ErrnoName
{
    ErrnoName(string name) => Name = name;

    /// <summary>The name as written, e.g. "ECONNRESET".</summary>
    public string Name { get; }

    /// <summary>The name Linux's errno.h defines the value under: EWOULDBLOCK → EAGAIN, EDEADLOCK → EDEADLK, ENOTSUP → EOPNOTSUPP.</summary>
    public string Canonical => ErrnoTable.NameOf(ErrnoTable.Describe(Name).Number)!;

    /// <summary>True for a name of the schema's list (case-sensitive).</summary>
    public static bool TryParse(string? text, out ErrnoName errno)
    {
        errno = text is not null && ErrnoTable.IsKnown(text) ? new ErrnoName(text) : default;
        return errno.Name is not null;
    }

    /// <inheritdoc/>
    public override string ToString() => Name ?? "";
}
