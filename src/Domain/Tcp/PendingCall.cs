using SimService.Domain.Engine;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Tcp;

/// <summary>A blocking call that has not returned yet: its completion is an event in virtual time.</summary>
/// <remarks>
/// A workload's calls are reused once their return has been handed over (<see cref="Simulation.RecycleCall"/>):
/// millions of them otherwise make a good share of a churn's allocation.
/// </remarks>
public sealed class PendingCall(long id, SimProcess process, SocketCallKind kind, TcpSocket socket, SimTime issued, long requested)
{
    public long Id { get; private set; } = id;
    public SimProcess Process { get; private set; } = process;
    public SocketCallKind Kind { get; private set; } = kind;
    /// <summary>The socket the call acts on (for the convenience listen/connect forms, the one it created).</summary>
    public TcpSocket Socket { get; internal set; } = socket;
    public SimTime Issued { get; private set; } = issued;
    /// <summary>Bytes asked for (send, recv); -1 for "all available".</summary>
    public long Requested { get; private set; } = requested;
    /// <summary>Bytes copied so far by a blocked send.</summary>
    public long Done { get; internal set; }
    /// <summary>send()/recv()'s flags (MSG_MORE, MSG_DONTWAIT, MSG_PEEK, MSG_NOSIGNAL).</summary>
    public MsgFlags MsgFlags { get; internal set; }

    /// <summary>The next call of the simulation's free list while this one waits to be reused.</summary>
    internal PendingCall? NextFree { get; set; }

    /// <summary>The next recv() asleep on the same socket's wait queue (<see cref="TcpSocket"/>'s sleeping readers).</summary>
    internal PendingCall? NextSleepingReader { get; set; }

    /// <summary>The call's row in the simulation's call table, as its index plus one (0: the table does not keep it).</summary>
    internal int RecordRow { get; set; }

    /// <summary>Makes a finished call a new one, every field as the constructor leaves it.</summary>
    internal void Reuse(long id, SimProcess process, SocketCallKind kind, TcpSocket socket, SimTime issued, long requested, IEventTarget? waiter)
    {
        Id = id;
        Process = process;
        Kind = kind;
        Socket = socket;
        Issued = issued;
        Requested = requested;
        Done = 0;
        MsgFlags = MsgFlags.None;
        Sleep = null;
        VmWait = null;
        ConnectWasConnecting = false;
        SendWaitsConnect = false;
        DisconnectsAtSleep = 0;
        Holds = null;
        Waiter = waiter;
        ReturnValue = 0;
        ReturnErrno = null;
        ReturnSocketId = 0;
        NextFree = null;
        NextSleepingReader = null;
        RecordRow = 0;
        ReservedFd = -1;
    }

    /// <summary>Its slot in the simulation's pending table while it has not returned; -1 otherwise.</summary>
    internal int PendingSlot { get; set; } = -1;

/// <summary>The timer of the call's schedule_timeout() sleep under SO_SNDTIMEO / SO_RCVTIMEO (null: none, or no limit).</summary>
    internal CallSleep? Sleep { get; set; }
    /// <summary>
    /// The timer of a send()'s vm_wait sleep: sk_stream_wait_memory() entered with sk_stream_memory_free() sleeps a random
    /// 2–51 jiffies in place of its timeo (<see cref="TcpSocket.EnterMemoryWait"/>); null when not in one.
    /// </summary>
    internal CallSleep? VmWait { get; set; }

    /// <summary>Both sleep timers stopped (the call returned or was interrupted: del_timer_sync() of the on-stack timer).</summary>
    internal void CancelSleeps()
    {
        Sleep?.Cancel();
        VmWait?.Cancel();
    }
    /// <summary>The socket whose file this blocked call holds (see <see cref="TcpSocket.CallRefs"/>); null once it returned.</summary>
    internal TcpSocket? Holds { get; set; }
    /// <summary>
    /// The descriptor an accept() asleep in inet_csk_wait_for_connect() holds: __sys_accept4_file() took it with
    /// get_unused_fd_flags() before do_accept(), so it is open in the table with no file yet; -1: none.
    /// </summary>
    internal int ReservedFd { get; set; } = -1;
    /// <summary>A connect() made while the socket was already SS_CONNECTING: its timeout returns EALREADY, not EINPROGRESS.</summary>
    internal bool ConnectWasConnecting { get; set; }
    /// <summary>A send() asleep in sk_stream_wait_connect(): tcp_sendmsg_locked() has not reached its copy loop yet.</summary>
    internal bool SendWaitsConnect { get; set; }
    /// <summary>sk->sk_disconnects when the call last went to sleep (sk_wait_event()'s and __inet_stream_connect()'s "dis").</summary>
    internal long DisconnectsAtSleep { get; set; }

    /// <summary>Told (through the event queue, at the time of the return) when a blocked call returns: a workload's connection.</summary>
    internal IEventTarget? Waiter { get; set; }
    /// <summary>The return, once the call has returned: value, errno, and the socket it reports (accept's child).</summary>
    public long ReturnValue { get; private set; }
    public string? ReturnErrno { get; private set; }
    public int ReturnSocketId { get; private set; }

    internal void Returned(long value, string? errno, int socketId)
    {
        ReturnValue = value;
        ReturnErrno = errno;
        ReturnSocketId = socketId;
    }
}

/// <summary>What a call did right away: returned a value, failed with an errno, or blocked.</summary>
public readonly record struct CallOutcome(bool Blocked, long Value, string? Errno, string? Detail = null)
{
    public static CallOutcome Ok(long value = 0) => new(false, value, null);

    /// <summary>A return value with what the call wrote to the caller's memory (optval, the address), as compact JSON.</summary>
    public static CallOutcome Ok(long value, string detail) => new(false, value, null, detail);
    public static CallOutcome Fail(string errno) => new(false, -1, errno);
    public static readonly CallOutcome Block = new(true, 0, null);
}

/// <summary>Per-connection data accounting: written by the application, read by the peer application, lost (with the last reason).</summary>
public sealed class DataLedger
{
    public long Sent { get; internal set; }
    public long Accepted { get; internal set; }
    public long Delivered { get; internal set; }
    public long Lost { get; internal set; }
    public string? LostReason { get; internal set; }

    /// <summary>A new ledger's values: for a socket taken again from its host's free list, which keeps its ledger object.</summary>
    internal void Clear()
    {
        Sent = Accepted = Delivered = Lost = 0;
        LostReason = null;
    }
}
