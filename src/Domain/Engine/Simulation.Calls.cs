using System.Runtime.CompilerServices;
using System.Text;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Engine;

public sealed partial class Simulation
{
    readonly IdTable<TcpSocket> _sockets = new();
    readonly Dictionary<int, SocketRecord> _deadSockets = [];
    /// <summary>
    /// Calls a socket may still complete later: a dense array, each call knowing its slot (<see cref="PendingCall.PendingSlot"/>),
    /// so adding and removing one is an array store — no hash per call (a churn makes nine per connection); the last call
    /// fills a removed one's slot. Sorted by id (issue order) when listed; a lookup by id is a scan (a workload's end, tests).
    /// </summary>
    PendingCall?[] _pending = new PendingCall?[16];
    int _pendingCount;
    /// <summary>The call table, in id order (ids rise with every call, and a row is added as its call is made).</summary>
    readonly CallTable _calls = new();
    /// <summary>The last call's argument text per kind of call: a pool's connect() calls describe themselves alike, so their rows share one string.</summary>
    readonly string?[] _lastArgs = new string?[Enum.GetValues<SocketCallKind>().Max(k => (int)k) + 1];
    /// <summary>Where a call's argument text is written (<see cref="ArgsText"/>), reused by every call.</summary>
    readonly StringBuilder _argsText = new(64);

    /// <summary>A socket that is still allocated (not destroyed), by id.</summary>
    public TcpSocket? FindSocket(int id) => _sockets[id];

    /// <summary>The final record of a destroyed socket (kept while the journal level is above counters).</summary>
    public SocketRecord? FindDeadSocket(int id) => _deadSockets.GetValueOrDefault(id);

    /// <summary>Whether a socket with this id was ever allocated (ids rise from 1 and are never reused), alive, dead or forgotten.</summary>
    public bool SocketWasAllocated(int id) => id >= 1 && id < _nextSocketId;

    /// <summary>Full sockets allocated now, across hosts; and the dead ones whose records are kept.</summary>
    public int LiveSocketCount => _sockets.Count;
    public int DeadSocketCount => _deadSockets.Count;

    /// <summary>The data ledger of a socket, alive or dead (null when unknown or forgotten at counters level).</summary>
    public DataLedger? LedgerOf(int id) => _sockets.TryGetValue(id, out var sk) ? sk.Ledger : _deadSockets.GetValueOrDefault(id)?.Ledger;

    /// <summary>The host a socket id belongs to, alive or dead.</summary>
    public Host? HostOfSocket(int id) => _sockets.TryGetValue(id, out var sk) ? sk.Host : _deadSockets.GetValueOrDefault(id)?.Host;

    /// <summary>
    /// A socket was destroyed: the full socket leaves the table and a small record replaces it,
    /// unless the journal level is counters (nothing needs it then).
    /// </summary>
    internal void Bury(TcpSocket sk, TcpState lastState)
    {
        _sockets.Remove(sk.Id);
        if (Journals(JournalLevel.States)) _deadSockets[sk.Id] = new SocketRecord(sk.Id, sk.Host, sk.Local, sk.Remote, lastState, sk.Ledger, Now);
    }

    /// <summary>Blocked calls that have not returned, oldest first.</summary>
    public IReadOnlyCollection<PendingCall> PendingCalls => PendingOf(null);

    /// <summary>The pending calls (of <paramref name="process"/>, or all), oldest first.</summary>
    List<PendingCall> PendingOf(SimProcess? process)
    {
        var calls = new List<PendingCall>();
        foreach (var call in PendingSpan)
            if (process is null || call!.Process == process) calls.Add(call!);
        calls.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return calls;
    }

    public bool IsPending(long callId) => FindPending(callId) is not null;

    /// <summary>Whether the call has not returned yet (it is in the pending table).</summary>
    internal static bool IsPending(PendingCall call) => call.PendingSlot >= 0;

    ReadOnlySpan<PendingCall?> PendingSpan => _pending.AsSpan(0, _pendingCount);

    PendingCall? FindPending(long callId)
    {
        foreach (var call in PendingSpan)
            if (call!.Id == callId) return call;
        return null;
    }

    PendingCall Track(PendingCall call)
    {
        if (_pendingCount == _pending.Length) Array.Resize(ref _pending, _pendingCount * 2);
        call.PendingSlot = _pendingCount;
        _pending[_pendingCount++] = call;
        return call;
    }

    /// <summary>Takes a call out of the pending table; false when it was not in it.</summary>
    bool Untrack(PendingCall call)
    {
        int slot = call.PendingSlot;
        if (slot < 0) return false;
        call.PendingSlot = -1;
        int last = --_pendingCount;
        if (slot != last)
        {
            var moved = _pending[last]!;
            _pending[slot] = moved;
            moved.PendingSlot = slot;
        }
        _pending[last] = null;
        return true;
    }

    bool KeepsCalls => JournalFloor != JournalLevel.Counters;

    /// <summary>
    /// The call table: every call a process made, in the order made — kept at every journal level,
    /// except the calls a workload at level counters makes (millions of them; the workload's outcome
    /// counts them instead), so such a workload's memory stays bounded by what is alive.
    /// </summary>
    public IReadOnlyList<CallRecord> Calls => _calls;

    /// <summary>
    /// The calls of the table that created or acted on socket <paramref name="socketId"/> or were issued on it, in the
    /// order made (<see cref="CallTable.OfSocket"/>: no view made for the other rows).
    /// </summary>
    public IReadOnlyList<CallRecord> CallsOfSocket(int socketId) => _calls.OfSocket(socketId);

    /// <summary>A call of the table by id, or null when no process made it.</summary>
    public CallRecord? FindCall(long callId) => _calls.IndexOf(callId) is var i and >= 0 ? _calls[i] : null;

    /// <summary>The handle of call <paramref name="callId"/> as it returned, or null while it is blocked or not in the table (its row read in place).</summary>
    internal CallHandle? ReturnedHandle(long callId)
    {
        int i = _calls.IndexOf(callId);
        if (i < 0) return null;
        ref var row = ref _calls.Row(i);
        return row.Returned ? new CallHandle(row.CallId, row.SocketId, false, row.Result, row.Outcome?.Errno, row.Outcome?.Value) : null;
    }

    /// <summary>Adds a row to the call table; its call finds it again through <see cref="PendingCall.RecordRow"/>.</summary>
    void AddCallRecord(PendingCall call, in CallRow row) => call.RecordRow = _calls.Add(row) + 1;

    /// <summary>The call's row in the call table (a null reference when the table does not keep it: test with <see cref="Unsafe.IsNullRef"/>).</summary>
    ref CallRow RowOf(PendingCall call)
    {
        if (call.RecordRow == 0) return ref Unsafe.NullRef<CallRow>();
        return ref _calls.Row(call.RecordRow - 1);
    }

    /// <summary>
    /// The arguments' text as the call table and the journal show it, followed by " fd=<paramref name="shownFd"/>" when that is
    /// not negative, leading blanks trimmed: written into one reused buffer (<see cref="Describe"/>) and, when it reads as the last
    /// text of its kind, that string — a pool's connect() calls all read "to=server:80", so no string is made per call (scale
    /// session 35: it was W6's last garbage per connection but none) and their rows share one.
    /// </summary>
    internal string ArgsText(in CallArgs r, int shownFd)
    {
        var t = _argsText.Clear();
        Describe(in r, t);
        if (shownFd >= 0) t.Append(" fd=").Append(shownFd);
        int start = 0;
        while (start < t.Length && char.IsWhiteSpace(t[start])) start++;
        ref string? last = ref _lastArgs[(int)r.Call];
        if (last is null || !Reads(t, start, last)) last = t.ToString(start, t.Length - start);
        return last;
    }

    /// <summary>Whether <paramref name="t"/> from <paramref name="start"/> on holds exactly <paramref name="text"/>.</summary>
    static bool Reads(StringBuilder t, int start, string text)
    {
        if (t.Length - start != text.Length) return false;
        for (int i = 0; i < text.Length; i++)
            if (t[start + i] != text[i]) return false;
        return true;
    }

    internal void Register(TcpSocket sk) => _sockets.Set(sk.Id, sk);

    /// <summary>
    /// Issues a system call. Bad references (unknown host, socket of another host) are
    /// <see cref="DomainError"/>s; what the kernel refuses (EADDRINUSE, ECONNRESET …) is a result.
    /// </summary>
    public Result<CallHandle> Call(SocketCallRequest r) => Call(r, null);

    /// <summary>A call whose return, if it blocks, is handed to <paramref name="waiter"/> through the event queue.</summary>
    internal Result<CallHandle> Call(SocketCallRequest r, IEventTarget? waiter)
    {
        var args = CallArgs.From(r, EngineRules);
        return Call(in args, waiter);
    }

    /// <summary>The call itself, on the request's fields by reference (a workload's calls come here directly).</summary>
    internal Result<CallHandle> Call(in CallArgs r, IEventTarget? waiter)
    {
        var host = r.HostRef ?? FindHost(r.Host);
        if (host is null) return DomainError.NotFound($"host '{r.Host}'", "host");
        if (host.Kind != HostKind.Linux) return DomainError.Invalid($"host '{r.Host}' is scripted: it makes no calls", "host");
        if (r.Call == SocketCallKind.Setrlimit && (r.RlimCur < 0 || r.RlimMax < 0)) return NegativeRlimit(r);
        TcpSocket? target = null;
        if (NeedsSocket(r))
        {
            target = FindSocket(r.SocketId);
            if (target is null && FindDeadSocket(r.SocketId)?.Host == host)
                return DeadSocketCall(host, r); // its descriptor was closed before it was destroyed
            if (target is null || target.Host != host) return UnknownSocket(r);
        }
        Endpoint remote = default;
        if (r.Call == SocketCallKind.Connect && r.Unspec && target is null)
            return DomainError.Invalid("connect(AF_UNSPEC) acts on an existing socket", "socket");
        if (r.Call == SocketCallKind.Connect && !r.Unspec)
        {
            // "to" names a host, or is an address (which need not belong to any host: then there is no route).
            if (r.Remote is { } resolved) remote = resolved;
            else if (r.ToHost is not null && FindHost(r.ToHost) is { } to) remote = new Endpoint(to.Address, r.ToPort);
            else if (IPv4.TryParse(r.ToHost, out var address)) remote = new Endpoint(address, r.ToPort);
            else return DomainError.NotFound($"host '{r.ToHost}'", "to");
        }
        var process = host.Process(r.Process);
        if (process.Exited) process = host.RestartProcess(r.Process);
        long id = NextCallId();
        var call = NewCall(id, process, r.Call, target!, r.Bytes, waiter);
        if (KeepsCalls || Journals(JournalLevel.States)) RecordIssued(call, host, process, target, r);
        if (target is not null && r.Call != SocketCallKind.Socket && (target.Owner != process || target.FileRefs == 0 || r.Fd >= 0 && process.At(r.Fd) != target))
            return Finish(call, target, NoFile(r.Call)); // fdget() finds no such file in the caller's table
        var (sk, outcome) = Dispatch(host, process, r, target, remote, call);
        OwnLo(target ?? sk);
        var handle = Finish(call, sk, outcome);
        if (!outcome.Blocked) RecycleCall(call); // returned at once: its handle says it all
        if (_polls.Count > 0) WakePolls(); // the call itself may have made a socket readable, writable or hung up
        return handle;
    }

    /// <summary>
    /// The call's row in the call table and its CallIssued event. Out of line, as <see cref="UnknownSocket"/> is: the
    /// temporaries of their text (an interpolation's buffer, the row) stay out of <see cref="Call(in CallArgs, IEventTarget?)"/>'s
    /// frame, which the JIT zeroes on entry of every call (scale session 29).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void RecordIssued(PendingCall call, Host host, SimProcess process, TcpSocket? target, in CallArgs r)
    {
        // The descriptor is named only when it is not the socket's own (a dup's).
        var args = ArgsText(r, r.Fd >= 0 && r.Fd != target?.Fd ? r.Fd : -1);
        if (KeepsCalls) AddCallRecord(call, new CallRow(call.Id, r.Call, process, target?.Id ?? 0, args, Now));
        if (Journals(JournalLevel.States)) Record(JournalLevel.States, new CallIssued(Now, _journalSeq, host.Name, process.Name, call.Id, r.Call, target?.Id ?? 0, args));
    }

    /// <summary>struct rlimit holds rlim_t values, unsigned: a negative limit is no input at all (not a call the kernel refuses).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static DomainError NegativeRlimit(in CallArgs r) =>
        DomainError.Invalid("setrlimit's limits are rlim_t values: zero or positive", r.RlimCur < 0 ? "soft" : "hard");

    [MethodImpl(MethodImplOptions.NoInlining)]
    static DomainError UnknownSocket(in CallArgs r) => DomainError.NotFound($"socket {r.SocketId} on host '{r.Host}'", "socket");

    /// <summary>
    /// Calls that returned and whose return was handed over, for reuse (singly linked through NextFree): a workload's once
    /// its waiter took the return, a direct call's (no waiter: its handle or the call table says how it returned) as it
    /// returns — a W6 pool's connect() and accept() would otherwise leave ≈ 120 B of garbage each among the sockets it holds.
    /// </summary>
    PendingCall? _freeCalls;

    /// <summary>A new pending call, reusing one that has returned.</summary>
    PendingCall NewCall(long id, SimProcess process, SocketCallKind kind, TcpSocket socket, long requested, IEventTarget? waiter)
    {
        if (_freeCalls is not { } call) return new PendingCall(id, process, kind, socket, Now, requested) { Waiter = waiter };
        _freeCalls = call.NextFree;
        call.Reuse(id, process, kind, socket, Now, requested, waiter);
        return call;
    }

    /// <summary>
    /// A call whose return was handed over — a workload's that its waiter has taken, a direct call's as it returns, or one
    /// that returned at once: nothing refers to it any more — no socket keeps a call that is not blocked, and it left the
    /// pending table — so it can be reused.
    /// A call with a sleep timer is left to the collector (its timer object still names it).
    /// </summary>
    internal void RecycleCall(PendingCall call)
    {
        if (call.Sleep is not null || call.VmWait is not null || IsPending(call)) return;
        call.Waiter = null;
        call.Socket = null!;
        call.NextFree = _freeCalls;
        _freeCalls = call;
    }

    /// <summary>A call on a destroyed socket: no process holds its descriptor any more — EBADF.</summary>
    Result<CallHandle> DeadSocketCall(Host host, in CallArgs r)
    {
        var process = host.Process(r.Process);
        if (process.Exited) process = host.RestartProcess(r.Process);
        long id = NextCallId();
        var call = new PendingCall(id, process, r.Call, null!, Now, r.Bytes);
        if (KeepsCalls || Journals(JournalLevel.States))
        {
            var args = ArgsText(r, -1);
            if (KeepsCalls) AddCallRecord(call, new CallRow(id, r.Call, process, r.SocketId, args, Now));
            if (Journals(JournalLevel.States)) Record(JournalLevel.States, new CallIssued(Now, _journalSeq, host.Name, process.Name, id, r.Call, r.SocketId, args));
        }
        var outcome = NoFile(r.Call);
        RecordReturn(call, r.SocketId, outcome.Value, outcome.Errno, outcome.Detail);
        return new CallHandle(id, r.SocketId, false, outcome.Value, outcome.Errno, outcome.Detail);
    }

    /// <summary>
    /// A call through a descriptor the process has no file at (closed, or never its own): fdget() finds nothing and the
    /// call fails with EBADF — except poll(). Models do_pollfd() — fs/select.c: a pollfd whose fd has no file is not an
    /// error; its revents are EPOLLNVAL, which counts, so poll() returns 1 at once with POLLNVAL (it never sleeps).
    /// </summary>
    static CallOutcome NoFile(SocketCallKind call) => call == SocketCallKind.Poll
        ? CallOutcome.Ok(1, $"\"{PollEvents.Text(PollEvents.POLLNVAL)}\"")
        : CallOutcome.Fail(Errno.EBADF);

    static bool NeedsSocket(in CallArgs r) => r.Call switch
    {
        SocketCallKind.Socket or SocketCallKind.Setrlimit => false,
        SocketCallKind.Listen or SocketCallKind.Connect => r.SocketId != 0,
        _ => true,
    };

    /// <summary>
    /// The call's kernel entry point. The calls a connection's life makes — connect(), accept(), send(), recv(), close() —
    /// are dispatched here with one result between them; every other call in <see cref="DispatchOther"/>, kept out of line:
    /// the JIT zeroes each GC-tracked temporary of a frame on entry, and one result and one tuple per call site made this
    /// frame 1.4 KB to clear on every call (scale session 29's profile: 1.6 % of W1's samples).
    /// </summary>
    (TcpSocket? Socket, CallOutcome Outcome) Dispatch(Host host, SimProcess process, in CallArgs r, TcpSocket? sk,
        Endpoint remote, PendingCall call)
    {
        CallOutcome outcome;
        switch (r.Call)
        {
            case SocketCallKind.Connect when !r.Unspec && (sk is not null || r.BindPort is null):
                if (sk is null)
                {
                    sk = Open(host, process);
                    if (sk is null) return (null, CallOutcome.Fail(Errno.EMFILE));
                    call.Socket = sk;
                }
                outcome = sk.Connect(remote, Track(call));
                break;
            case SocketCallKind.Accept:
                outcome = sk!.Accept(Track(call), out var child);
                sk = child ?? sk;
                break;
            case SocketCallKind.Send: outcome = sk!.Send(r.Bytes, r.Flags, Track(call)); break;
            case SocketCallKind.Recv: outcome = sk!.Recv(r.Bytes, r.Flags, Track(call)); break;
            case SocketCallKind.Close: outcome = CloseFd(process, sk!, r.Fd >= 0 ? r.Fd : sk!.Fd, Track(call)); break;
            default: return DispatchOther(host, process, r, sk, remote, call);
        }
        return (sk, outcome);
    }

    /// <summary>The calls <see cref="Dispatch"/> leaves out of its frame (socket(), bind(), listen(), the options, …).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    (TcpSocket? Socket, CallOutcome Outcome) DispatchOther(Host host, SimProcess process, in CallArgs r, TcpSocket? sk,
        Endpoint remote, PendingCall call)
    {
        switch (r.Call)
        {
            case SocketCallKind.Socket:
                var opened = Open(host, process);
                return (opened, opened is null ? CallOutcome.Fail(Errno.EMFILE) : CallOutcome.Ok(opened.Fd));
            case SocketCallKind.Setrlimit:
                return (null, process.SetNoFile(r.RlimCur, r.RlimMax) is { } refused ? CallOutcome.Fail(refused) : CallOutcome.Ok());
            case SocketCallKind.Bind:
                return (sk, sk!.Bind(BindAddress(r), r.Port));
            case SocketCallKind.Listen:
                if (sk is null)
                {
                    sk = Open(host, process);
                    if (sk is null) return (null, CallOutcome.Fail(Errno.EMFILE));
                    call.Socket = sk;
                    if (r.ReuseAddr) sk.SetOption(SocketOption.SO_REUSEADDR, 1, 0);
                    var bound = sk.Bind(BindAddress(r), r.Port);
                    if (bound.Errno is not null) return (sk, bound);
                }
                return (sk, sk.Listen(r.Backlog));
            case SocketCallKind.Connect when r.Unspec: return (sk, sk!.ConnectUnspec()); // Call() refused it without a socket
            case SocketCallKind.Connect:
            {
                // A new socket bound to the port asked for first (Dispatch() connects the rest).
                sk = Open(host, process);
                if (sk is null) return (null, CallOutcome.Fail(Errno.EMFILE));
                call.Socket = sk;
                if (r.BindReuseAddr) sk.SetOption(SocketOption.SO_REUSEADDR, 1, 0);
                var bound = sk.Bind(IPv4.Any, r.BindPort!.Value);
                if (bound.Errno is not null) return (sk, bound);
                return (sk, sk.Connect(remote, Track(call)));
            }
            case SocketCallKind.Shutdown: return (sk, sk!.Shutdown(r.How));
            case SocketCallKind.Dup: return (sk, process.Dup(sk!) is var dupFd and >= 0 ? CallOutcome.Ok(dupFd) : CallOutcome.Fail(Errno.EMFILE));
            case SocketCallKind.Dup2: return (sk, Dup2(process, sk!, r.Fd >= 0 ? r.Fd : sk!.Fd, r.NewFd));
            case SocketCallKind.Setsockopt:
                return (sk, r.Option switch
                {
                    SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO => sk!.SetTimeoOption(r.Option, r.TvSec, r.TvUsec, process),
                    SocketOption.TCP_CONGESTION => sk!.SetCongestionControl(r.Text),
                    _ => sk!.SetOption(r.Option, r.Value, r.LingerOnOff),
                });
            case SocketCallKind.Getsockopt: return (sk, sk!.GetOption(r.Option));
            case SocketCallKind.Getpeername: return (sk, sk!.GetPeerName());
            case SocketCallKind.Fcntl: return (sk, sk!.SetNonBlocking(r.NonBlock));
            case SocketCallKind.Poll: return (sk, Poll(sk!, r.Fd >= 0 ? r.Fd : sk!.Fd, r.Events, r.TimeoutMs, Track(call)));
            default: throw new InvalidOperationException($"unknown call {r.Call}");
        }
    }

    /// <summary>bind()'s sin_addr: the request's address, INADDR_ANY when it names none.</summary>
    static IPv4 BindAddress(in CallArgs r) => r.Address is { } a && IPv4.TryParse(a, out var address) ? address : IPv4.Any;

    /// <summary>
    /// Models __sys_socket() → sock_map_fd() — net/socket.c: a new socket at the lowest free descriptor; null when
    /// get_unused_fd_flags() fails EMFILE (the kernel releases the socket it made: nothing is left of it, no id taken here).
    /// </summary>
    TcpSocket? Open(Host host, SimProcess process)
    {
        int fd = process.AllocFd();
        if (fd < 0) return null;
        var sk = host.NewSocket();
        process.InstallOwn(sk, fd);
        return sk;
    }

    Result<CallHandle> Finish(PendingCall call, TcpSocket? sk, CallOutcome outcome)
    {
        if (outcome.Blocked)
        {
            if (sk is not null && call.Kind != SocketCallKind.Close)
            {
                call.Holds = sk;
                sk.CallRefs++;
            }
            if (sk is not null && call.RecordRow != 0) RowOf(call).SocketId = sk.Id;
            return new CallHandle(call.Id, sk?.Id ?? 0, true, 0, null);
        }
        Untrack(call);
        int socketId = sk?.Id ?? 0;
        RecordReturn(call, socketId, outcome.Value, outcome.Errno, outcome.Detail);
        return new CallHandle(call.Id, socketId, false, outcome.Value, outcome.Errno, outcome.Detail);
    }

    /// <summary>A blocked call returns (its completion event in virtual time).</summary>
    internal void CompleteCall(PendingCall call, long value, string? errno, TcpSocket? resultSocket = null, string? detail = null)
    {
        if (!Untrack(call)) return;
        call.CancelSleeps();
        PutReservedFd(call);
        int socketId = resultSocket?.Id ?? call.Socket?.Id ?? 0;
        RecordReturn(call, socketId, value, errno, detail);
        if (call.Waiter is { } waiter)
        {
            call.Returned(value, errno, socketId);
            Schedule(Now, waiter, call);
        }
        FdPut(call);
        if (call.Waiter is null) RecycleCall(call); // a direct call: its row in the call table keeps its return
    }

    /// <summary>put_unused_fd() — fs/file.c: an accept() that fails after its sleep frees the descriptor it held (__sys_accept4_file()).</summary>
    static void PutReservedFd(PendingCall call)
    {
        if (call.ReservedFd < 0) return;
        call.Process.PutUnusedFd(call.ReservedFd);
        call.ReservedFd = -1;
    }

    /// <summary>
    /// Models fdput() as a blocked call returns — include/linux/file.h: the reference its fdget() took is dropped;
    /// if the descriptor was closed meanwhile and this was the last reference, __fput() runs now (task_work on the
    /// way back to user space) and with it tcp_close(), which nobody waits for.
    /// </summary>
    void FdPut(PendingCall call)
    {
        if (DropCallRef(call) is { } sk) LastFput(call.Process, sk);
    }

    /// <summary>The reference a blocked call held dropped (fdput()): the socket whose tcp_close() is now due, or null.</summary>
    static TcpSocket? DropCallRef(PendingCall call)
    {
        if (call.Holds is not { } sk) return null;
        call.Holds = null;
        if (--sk.CallRefs > 0 || !sk.CloseDeferred) return null;
        sk.CloseDeferred = false;
        return sk;
    }

    /// <summary>__fput() → sock_close() → tcp_close() of a file whose last reference went (no one waits for it).</summary>
    void LastFput(SimProcess process, TcpSocket sk) =>
        sk.Close(new PendingCall(NextCallId(), process, SocketCallKind.Close, sk, Now, 0));

    void RecordReturn(PendingCall call, int socketId, long value, string? errno, string? detail = null)
    {
        ref var entry = ref RowOf(call);
        if (!Unsafe.IsNullRef(ref entry))
        {
            if (socketId != 0) entry.SocketId = socketId;
            entry.Returned = true;
            entry.Result = errno is null ? value : -1;
            entry.SetOutcome(errno, detail);
            entry.ReturnedAt = Now;
        }
        if (Journals(JournalLevel.States))
            Record(JournalLevel.States, new CallReturned(Now, _journalSeq, call.Process.Host.Name, call.Process.Name, call.Id, call.Kind,
                socketId, errno is null ? value : -1, errno, Now - call.Issued, detail));
    }

    static string FlagsText(MsgFlags flags) => flags == MsgFlags.None ? "" : " flags=" + flags.ToString().Replace(", ", "|", StringComparison.Ordinal);

    /// <summary>
    /// The arguments' text (<see cref="ArgsText"/>), appended to <paramref name="t"/> a piece at a time — a number's digits
    /// written in place — so the common calls allocate nothing (a send's or recv's flags and a poll's events make strings).
    /// </summary>
    static void Describe(in CallArgs r, StringBuilder t)
    {
        switch (r.Call)
        {
            case SocketCallKind.Bind:
                t.Append("port=").Append(r.Port);
                if (r.Address is { } a) t.Append(" addr=").Append(a);
                break;
            case SocketCallKind.Listen when r.SocketId == 0:
                t.Append("port=").Append(r.Port).Append(" backlog=").Append(r.Backlog);
                if (r.ReuseAddr) t.Append(" reuseaddr");
                if (r.Address is { } la) t.Append(" addr=").Append(la);
                break;
            case SocketCallKind.Listen: t.Append("backlog=").Append(r.Backlog); break;
            case SocketCallKind.Connect when r.Unspec: t.Append("AF_UNSPEC"); break;
            case SocketCallKind.Connect:
                t.Append("to=").Append(r.ToHost).Append(':').Append(r.ToPort);
                if (r.BindPort is { } p) t.Append(" bind=").Append(p).Append(r.BindReuseAddr ? " reuseaddr" : "");
                break;
            case SocketCallKind.Send: t.Append("bytes=").Append(r.Bytes).Append(FlagsText(r.Flags)); break;
            case SocketCallKind.Recv:
                if (r.Bytes < 0) t.Append("bytes=all");
                else t.Append("bytes=").Append(r.Bytes);
                t.Append(FlagsText(r.Flags));
                break;
            case SocketCallKind.Shutdown: t.Append(r.How.ToString()); break;
            case SocketCallKind.Setsockopt:
                switch (r.Option)
                {
                    case SocketOption.SO_LINGER: t.Append("SO_LINGER onoff=").Append(r.LingerOnOff).Append(" linger=").Append(r.Value); break;
                    case SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO:
                        t.Append(r.Option.ToString()).Append(" sec=").Append(r.TvSec).Append(" usec=").Append(r.TvUsec);
                        break;
                    case SocketOption.IP_LOCAL_PORT_RANGE:
                        t.Append("IP_LOCAL_PORT_RANGE lo=").Append(r.Value & 0xffff).Append(" hi=").Append((uint)r.Value >> 16);
                        break;
                    case SocketOption.TCP_CONGESTION: t.Append("TCP_CONGESTION=").Append(r.Text); break;
                    default: t.Append(r.Option.ToString()).Append('=').Append(r.Value); break;
                }
                break;
            case SocketCallKind.Getsockopt: t.Append(r.Option.ToString()); break;
            case SocketCallKind.Fcntl: t.Append(r.NonBlock ? "F_SETFL O_NONBLOCK" : "F_SETFL 0"); break;
            case SocketCallKind.Poll:
                t.Append("events=").Append(PollEvents.Text(r.Events));
                if (r.TimeoutMs != 0) t.Append(" timeout=").Append(r.TimeoutMs);
                break;
            case SocketCallKind.Dup2: t.Append("newfd=").Append(r.NewFd); break;
            case SocketCallKind.Setrlimit: t.Append("RLIMIT_NOFILE cur=").Append(r.RlimCur).Append(" max=").Append(r.RlimMax); break;
        }
    }

    /// <summary>
    /// Models close() → file_close_fd() + fput() — fs/file.c, fs/file_table.c: the descriptor is freed at
    /// once; only when it held the file's last reference does __fput() run sock_close() → inet_release() →
    /// tcp_close(), SO_LINGER's wait included, inside the call (close(2) puts its reference synchronously since 6.7:
    /// __fput_sync(), later fput_close_sync(); before, the task_work ran before close() returned). A
    /// descriptor that is not the last sends nothing and changes nothing on the connection.
    /// </summary>
    CallOutcome CloseFd(SimProcess process, TcpSocket sk, int fd, PendingCall call) =>
        ReleaseLastRef(process, sk, fd) ? sk.Close(call) : CallOutcome.Ok();

    /// <summary>
    /// file_close_fd() + fput(): whether the descriptor held the file's last reference, so that tcp_close() runs
    /// now. A call of another thread asleep on the socket (recv, send, accept, connect, poll) holds a reference
    /// of its own (<see cref="TcpSocket.CallRefs"/>): close() then only frees the descriptor — no FIN, the
    /// listener keeps listening, the sleeper is not woken — and tcp_close() runs when that call returns
    /// (<see cref="FdPut"/>).
    /// </summary>
    static bool ReleaseLastRef(SimProcess process, TcpSocket sk, int fd)
    {
        if (process.ReleaseFd(fd) > 0) return false;
        if (sk.CallRefs == 0) return true;
        sk.CloseDeferred = true;
        return false;
    }

    /// <summary>fs.nr_open's default: the ceiling of RLIMIT_NOFILE, and every process's limit until it calls setrlimit().</summary>
    public const int NrOpen = 1_048_576;

    /// <summary>
    /// Models sys_dup2() → ksys_dup3() / do_dup2() — fs/file.c: newfd == oldfd → newfd, nothing else (sys_dup2() returns
    /// before any limit test); newfd at or above RLIMIT_NOFILE's soft limit → EBADF; newfd reserved by a sleeping
    /// accept() (open, no file) → EBUSY; otherwise the socket's file is installed at newfd and the file newfd held
    /// is closed afterwards (filp_close(): its last reference runs tcp_close(), so a socket replaced
    /// this way sends its FIN or RST at the call; a standard stream 0–2 is replaced the same way, never EBUSY). The replaced socket's SO_LINGER wait, which the kernel
    /// runs in the caller's task_work before dup2() returns, is not waited for here: dup2() returns at once.
    /// </summary>
    CallOutcome Dup2(SimProcess process, TcpSocket sk, int oldFd, int newFd)
    {
        if (newFd == oldFd) return CallOutcome.Ok(newFd);
        if (newFd < 0 || newFd >= process.NoFileCur) return CallOutcome.Fail(Errno.EBADF);
        if (process.IsReserved(newFd)) return CallOutcome.Fail(Errno.EBUSY);
        var replaced = process.At(newFd);
        int left = replaced is null ? -1 : process.ReleaseFd(newFd);
        process.InstallAt(sk, newFd);
        if (left == 0) LastFput(process, replaced!);
        return CallOutcome.Ok(newFd);
    }

    /// <summary>
    /// Kills a process: blocked calls are interrupted (bytes a blocked send had not copied yet are
    /// lost; their fdput() may drop the last reference of a file another thread closed), then every descriptor is closed
    /// as do_exit() closes them — no linger wait (PF_EXITING), though SO_LINGER {1,0} still aborts. A file an interrupted
    /// call held last is closed first: its thread runs the ____fput() its fdput() queued in get_signal() →
    /// task_work_run(), before do_exit() (kernel/signal.c). close_files() walks the descriptors upward, but each last
    /// fput() only queues ____fput() with task_work_add(), which pushes at the head of the list, and exit_task_work()
    /// runs the list from its head: tcp_close() runs for the highest descriptor first (kernel/task_work.c, fs/file_table.c).
    /// </summary>
    public DomainError? Kill(string hostName, string processName, string signal) => Kill(hostName, processName, signal, 0, out _);

    /// <summary>
    /// <see cref="Kill(string, string, string)"/> as a kill command runs it under engine rules 1 and later: each ____fput() is a
    /// tcp_close() of its own, and the NET_RX softirq that its lo segments raised (loopback_xmit() → __netif_rx()) runs at
    /// the local_bh_enable() of __dev_queue_xmit(), inside that ____fput(), before the next file is taken — an interrupted
    /// thread's in its task_work_run(), the descriptors' in exit_task_work() — so each close runs the events it left due
    /// at its instant (at most <paramref name="instantBudget"/>: the budget is each close's, as each is a close() call's,
    /// so a process holding thousands of sockets can be killed under a request's bound) before the next one, as a close()
    /// call does: the RST of a socket with unread data reaches its lo peer before the peer's own descriptor is closed.
    /// <paramref name="instantTruncated"/>: a close's instant ran out of its budget with events still due. The last close's
    /// instant is left to the caller (the command's own, with the same budget). With no budget (a workload's kill, itself
    /// an event) every file is closed first, an interrupted call's as it is interrupted.
    /// </summary>
    internal DomainError? Kill(string hostName, string processName, string signal, long instantBudget, out bool instantTruncated)
    {
        instantTruncated = false;
        var host = FindHost(hostName);
        if (host is null) return DomainError.NotFound($"host '{hostName}'", "host");
        var process = host.FindProcess(processName);
        // An exited process is reaped at once (nothing waits for it: no zombie), so a process killed before, or one that
        // never ran, is kill() of a pid that no longer exists: ESRCH (kill_pid_info() finds no task), nothing happens.
        if (process is null || process.Exited)
            return new DomainError("not-found", $"process '{processName}' on host '{hostName}' does not exist (it exited, or never ran): kill() fails with ESRCH; nothing was applied", "process");
        process.Exiting = true;
        // complete_signal() wakes every thread: each interrupted call returns, and a file whose last reference its
        // fdput() dropped is the first closed (get_signal() → task_work_run()).
        var lastFputs = new List<TcpSocket>();
        bool rules3 = EngineRules >= Commands.EngineRules.AcceptHoldsItsFd;
        foreach (var call in PendingOf(process))
            if (Wake(call, "process killed while blocked in send()", returnToWaiter: rules3) is { } held)
            {
                // Rules 1 and 2 (stored simulations) closed it at once, before the descriptors and without its instant.
                if (instantBudget == 0 || !rules3) LastFput(process, held);
                else lastFputs.Add(held);
            }
        if (Journals(JournalLevel.States)) Record(JournalLevel.States, new ProcessExited(Now, _journalSeq, host.Name, process.Name, signal));
        int interrupted = lastFputs.Count;
        foreach (var (fd, sk) in process.OpenDescriptors())
            if (ReleaseLastRef(process, sk, fd)) lastFputs.Add(sk);
        lastFputs.Reverse(interrupted, lastFputs.Count - interrupted); // exit_task_work(): the highest descriptor first
        for (int i = 0; i < lastFputs.Count; i++)
        {
            var sk = lastFputs[i];
            LastFput(process, sk);
            if (instantBudget == 0) continue;
            OwnLo(sk); // lock_sock() held through tcp_close(): what comes back waits in its backlog (release_sock())
            if (i == lastFputs.Count - 1 || instantTruncated) continue; // the last one's instant is the command's
            instantTruncated = RunUntil(Now, instantBudget).Truncated;
        }
        process.Exited = true;
        host.ForgetProcess(process);
        return null;
    }

    /// <summary>
    /// A signal ends a blocked call: it returns EINTR (bytes a send had not copied yet are lost) — or, for a send or a
    /// recv that had already copied bytes, that count (tcp_sendmsg_locked(): "do_error: if (copied + copied_syn) goto
    /// out"; tcp_recvmsg_locked(): "if (copied) break" before the signal test), and for a close() lingering in
    /// sk_stream_wait_close() 0 — and its fdput() may run a deferred tcp_close().
    /// </summary>
    void Interrupt(PendingCall call, string lostReason)
    {
        if (Wake(call, lostReason, returnToWaiter: false) is { } held) LastFput(call.Process, held);
    }

    /// <summary>
    /// <see cref="Interrupt"/> up to its fdput(): the socket whose deferred tcp_close() is now due, or null. With
    /// <paramref name="returnToWaiter"/> (a kill under rules 3) a workload's call returns to its connection as any blocked
    /// call's return does, which ends it; before, the connection never heard and stayed open until the drain limit.
    /// </summary>
    TcpSocket? Wake(PendingCall call, string lostReason, bool returnToWaiter)
    {
        Untrack(call);
        call.CancelSleeps();
        PutReservedFd(call);
        call.Socket?.Interrupt(call);
        var polled = InterruptPoll(call);
        if (call.Kind == SocketCallKind.Send && call.Requested > call.Done)
            RecordLost(call.Socket!.Id, call.Process.Host, call.Requested - call.Done, lostReason);
        bool partial = call.Done > 0 && call.Kind is SocketCallKind.Send or SocketCallKind.Recv;
        // sk_stream_wait_close() ends on signal_pending() and __tcp_close() goes on; close(2) returns filp_flush()'s
        // 0 whatever tcp_close() met (the descriptor is already gone: it cannot be restarted) — never EINTR. A poll()
        // whose last pass found an event returns it (InterruptPoll()).
        (long Value, string? Errno) r = call.Kind == SocketCallKind.Close ? (0, null) : partial ? (call.Done, null)
            : polled is { } found ? (found.Value, null) : (-1, Errno.EINTR);
        int socketId = call.Socket?.Id ?? 0;
        RecordReturn(call, socketId, r.Value, r.Errno, polled?.Detail);
        if (returnToWaiter && call.Waiter is { } waiter)
        {
            call.Returned(r.Value, r.Errno, socketId);
            Schedule(Now, waiter, call);
        }
        return DropCallRef(call);
    }

    /// <summary>
    /// A workload's server stops: the thread asleep in its accept() is interrupted, so that closing the listener
    /// then runs tcp_close() at once (a sleeping accept() would otherwise keep the listener's file open).
    /// </summary>
    internal void InterruptCall(long callId)
    {
        if (FindPending(callId) is { } call) Interrupt(call, "workload stopped");
    }

    /// <summary>The receiving application read bytes: they count as delivered on the sender's ledger.</summary>
    internal void RecordDelivered(TcpSocket receiver, long bytes)
    {
        if (LedgerOf(receiver.PeerSocketId) is { } ledger) ledger.Delivered += bytes;
        if (Journals(JournalLevel.Full)) Record(JournalLevel.Full, new DataDelivered(Now, _journalSeq, receiver.Host.Name, receiver.PeerSocketId, bytes));
    }

    /// <summary>Bytes of a connection that will never reach the peer application.</summary>
    internal void RecordLost(int senderSocketId, Host where, long bytes, string reason)
    {
        if (LedgerOf(senderSocketId) is { } ledger)
        {
            ledger.Lost += bytes;
            ledger.LostReason = reason;
        }
        if (Journals(JournalLevel.States)) Record(JournalLevel.States, new DataLost(Now, _journalSeq, where.Name, senderSocketId, bytes, reason));
    }
}
