using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// One row of the simulation's call table: a system call a process made, the socket it created or acted on,
/// and how it returned (or that it is still blocked). The engine keeps the table itself, whatever the journal
/// level, so "which call made which socket" never depends on what was journaled.
/// Each row is kept as long as the simulation (a held W6 connection keeps two: its connect() and its accept()), so it is
/// small: the host and process names are read from the process object (one reference, not two strings), and the rarely
/// set errno and value share one side object (<see cref="Outcome"/>) — 88 bytes a row, not 104 (README, the session-25 note).
/// </summary>
public sealed class CallRecord
{
    internal CallRecord(long callId, SocketCallKind call, SimProcess process, int issuedOnSocket, string args, SimTime issuedAt)
    {
        CallId = callId;
        Call = call;
        _process = process;
        IssuedOnSocket = issuedOnSocket;
        SocketId = issuedOnSocket;
        Args = args;
        IssuedAt = issuedAt;
    }

    public long CallId { get; }
    public SocketCallKind Call { get; }
    /// <summary>The process that made the call (its name and host's never change; an exited one's restart is a new object).</summary>
    readonly SimProcess _process;
    public string Host => _process.Host.Name;
    public string Process => _process.Name;

    /// <summary>The socket the call was issued on (0 for socket() and the convenience listen/connect that make one).</summary>
    public int IssuedOnSocket { get; }

    /// <summary>The socket the call created or acted on; for an accept that returned, the new connection's socket.</summary>
    public int SocketId { get; internal set; }

    /// <summary>The call's arguments as the journal describes them ("to=server:80").</summary>
    public string Args { get; }

    public SimTime IssuedAt { get; }

    /// <summary>The call has returned (false: it is blocked).</summary>
    public bool Returned { get; internal set; }

    /// <summary>The return value (-1 with an errno).</summary>
    public long Result { get; internal set; }

    /// <summary>What the call wrote besides its return value (getsockopt's optval, getpeername's address), as compact JSON.</summary>
    public string? Value
    {
        get => _outcome?.Value;
        internal set => OutcomeFor(value)?.Value = value;
    }

    /// <summary>The errno name when the call failed.</summary>
    public string? Errno
    {
        get => _outcome?.Errno;
        internal set => OutcomeFor(value)?.Errno = value;
    }

    /// <summary>The errno and the value, made by the first of them that is not null (most calls return neither).</summary>
    sealed class Outcome
    {
        public string? Value, Errno;
    }

    Outcome? _outcome;

    /// <summary>The side object to write <paramref name="value"/> to: made for a non-null value, else only if it exists.</summary>
    Outcome? OutcomeFor(string? value) => _outcome ?? (value is null ? null : _outcome = new Outcome());

    /// <summary>When the call returned; null while it is blocked (kept as a plain time beside <see cref="Returned"/>: 8 B less a row).</summary>
    public SimTime? ReturnedAt
    {
        get => Returned ? _returnedAt : null;
        internal set => _returnedAt = value ?? default;
    }

    SimTime _returnedAt;

    /// <summary>How long the call blocked (zero when it returned at once); null while it is blocked.</summary>
    public SimDuration? Blocked => ReturnedAt is { } at ? at - IssuedAt : null;

    /// <summary>It returned an error.</summary>
    public bool Failed => Returned && Errno is not null;
}
