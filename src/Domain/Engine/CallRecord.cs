using System.Collections;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Engine;

/// <summary>
/// One row of the simulation's call table as the table stores it: a system call a process made, the socket it created
/// or acted on, and how it returned (or that it is still blocked). The engine keeps the table itself, whatever the journal
/// level, so "which call made which socket" never depends on what was journaled.
/// Each row is kept as long as the simulation (a held W6 connection keeps two: its connect() and its accept()), so it is a
/// struct in the table's pages (<see cref="CallTable"/>), not an object of its own: 72 bytes a row in a page, where an
/// object was 88 B and its page slot 8 — and the collector marks, plans and moves two objects fewer per held connection
/// (docs/benchmarks-history.md, the session-28 note). The host and process names are read from the process object (one reference, not two
/// strings), and the rarely set errno and value share one side object (<see cref="Outcome"/>).
/// </summary>
internal struct CallRow
{
    public long CallId;
    public SimTime IssuedAt;
    /// <summary>When the call returned (meaningful once <see cref="Returned"/>).</summary>
    public SimTime ReturnedAt;
    public long Result;
    /// <summary>The process that made the call (its name and host's never change; an exited one's restart is a new object).</summary>
    public SimProcess Process;
    public string Args;
    /// <summary>The errno and the value, made by the first of them that is not null (most calls return neither).</summary>
    public Outcome? Outcome;
    public int IssuedOnSocket;
    public int SocketId;
    public SocketCallKind Call;
    public bool Returned;

    public CallRow(long callId, SocketCallKind call, SimProcess process, int issuedOnSocket, string args, SimTime issuedAt)
    {
        CallId = callId;
        Call = call;
        Process = process;
        IssuedOnSocket = issuedOnSocket;
        SocketId = issuedOnSocket;
        Args = args;
        IssuedAt = issuedAt;
    }

    /// <summary>Writes the errno and the value; the side object is made only for a non-null one.</summary>
    public void SetOutcome(string? errno, string? value)
    {
        if (Outcome is null && errno is null && value is null) return;
        Outcome ??= new Outcome();
        Outcome.Errno = errno;
        Outcome.Value = value;
    }
}

/// <summary>A call row's errno and value (a side object: most calls return neither).</summary>
internal sealed class Outcome
{
    public string? Value, Errno;
}

/// <summary>
/// The call table: rows in id order (ids rise with every call, and a row is added as its call is made), in pages of
/// structs (<see cref="PagedList{T}"/>). Read as <see cref="CallRecord"/>s, each a view of its row.
/// </summary>
internal sealed class CallTable : IReadOnlyList<CallRecord>
{
    readonly PagedList<CallRow> _rows = new();

    public int Count => _rows.Count;

    public CallRecord this[int index] =>
        (uint)index < (uint)Count ? new(this, index) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>The row at <paramref name="index"/>, to read or write in place.</summary>
    public ref CallRow Row(int index) => ref _rows.RefAt(index);

    /// <summary>Adds a row; returns its index.</summary>
    public int Add(in CallRow row)
    {
        _rows.Add(row);
        return _rows.Count - 1;
    }

    /// <summary>
    /// The index of the row of call <paramref name="callId"/>, or −1: an exponential search back from the newest row (steps of 1,
    /// 2, 4 … until a row's id is not above <paramref name="callId"/>), then a binary search between the last two steps — ids rise
    /// with the rows. The row asked for is nearly always one just added (a call's own return read right after its instant,
    /// <see cref="Simulation.ReturnedHandle"/>), which this finds in one or two reads of the last page, where a binary search over
    /// the whole table read ≈ log2(rows) rows scattered over its pages (W6's 100k pool keeps 200,000: 3 % of its open phase).
    /// </summary>
    public int IndexOf(long callId)
    {
        // A by-id hash of every row would keep ≈ 60 B per call (a held connection's connect and accept).
        int hi = _rows.Count - 1, lo = hi;
        for (int step = 1; lo > 0 && _rows.RefAt(lo).CallId > callId; step <<= 1)
        {
            hi = lo - 1;
            lo = Math.Max(0, lo - step);
        }
        for (lo = Math.Max(lo, 0); lo <= hi;)
        {
            int mid = lo + (hi - lo) / 2;
            long at = _rows.RefAt(mid).CallId;
            if (at == callId) return mid;
            if (at < callId) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>
    /// The calls that created or acted on socket <paramref name="socketId"/>, or were issued on it (an accept on its
    /// listener), in id order: the rows are read in place and a view is made only for a match — enumerating the table
    /// would make one per row (two per held connection in a pool).
    /// </summary>
    public List<CallRecord> OfSocket(int socketId)
    {
        var found = new List<CallRecord>();
        for (int i = 0; i < _rows.Count; i++)
        {
            ref readonly var row = ref _rows.RefAt(i);
            if (row.SocketId == socketId || row.IssuedOnSocket == socketId) found.Add(new CallRecord(this, i));
        }
        return found;
    }

    public IEnumerator<CallRecord> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return new CallRecord(this, i);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A row of the simulation's call table (<see cref="Simulation.Calls"/>), read live: a view of the row, so a call that
/// returns later shows its return through a view taken while it was blocked.
/// </summary>
public sealed class CallRecord
{
    readonly CallTable _table;
    readonly int _index;

    internal CallRecord(CallTable table, int index)
    {
        _table = table;
        _index = index;
    }

    ref CallRow Row => ref _table.Row(_index);

    public long CallId => Row.CallId;
    public SocketCallKind Call => Row.Call;
    public string Host => Row.Process.Host.Name;
    public string Process => Row.Process.Name;

    /// <summary>The socket the call was issued on (0 for socket() and the convenience listen/connect that make one).</summary>
    public int IssuedOnSocket => Row.IssuedOnSocket;

    /// <summary>The socket the call created or acted on; for an accept that returned, the new connection's socket.</summary>
    public int SocketId => Row.SocketId;

    /// <summary>The call's arguments as the journal describes them ("to=server:80").</summary>
    public string Args => Row.Args;

    public SimTime IssuedAt => Row.IssuedAt;

    /// <summary>The call has returned (false: it is blocked).</summary>
    public bool Returned => Row.Returned;

    /// <summary>The return value (-1 with an errno).</summary>
    public long Result => Row.Result;

    /// <summary>What the call wrote besides its return value (getsockopt's optval, getpeername's address), as compact JSON.</summary>
    public string? Value => Row.Outcome?.Value;

    /// <summary>The errno name when the call failed.</summary>
    public string? Errno => Row.Outcome?.Errno;

    /// <summary>When the call returned; null while it is blocked.</summary>
    public SimTime? ReturnedAt => Returned ? Row.ReturnedAt : null;

    /// <summary>How long the call blocked (zero when it returned at once); null while it is blocked.</summary>
    public SimDuration? Blocked => ReturnedAt is { } at ? at - IssuedAt : null;

    /// <summary>It returned an error.</summary>
    public bool Failed => Returned && Errno is not null;
}
