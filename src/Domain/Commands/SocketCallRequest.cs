using SimService.Domain.Tcp;

namespace SimService.Domain.Commands;

/// <summary>
/// One system call by a process on a host. Which fields matter depends on <see cref="Call"/>
/// (the scenario format's table): SocketId for calls on an existing socket, Port/Backlog/ReuseAddr
/// for bind and listen, ToHost/ToPort (+ BindPort/BindReuseAddr) for connect, Bytes for send and
/// recv (-1: all available), How for shutdown, Option/Value/LingerOnOff (TvSec/TvUsec for a timeval) for socket options.
/// </summary>
public sealed record SocketCallRequest(string Host, string Process, SocketCallKind Call)
{
    public int SocketId { get; init; }
    public ushort Port { get; init; }
    /// <summary>bind()'s local address (and the short listen form's): a dotted quad local to the host; null is INADDR_ANY.</summary>
    public string? Address { get; init; }
    public int Backlog { get; init; } = 128;
    public bool ReuseAddr { get; init; }
    public string? ToHost { get; init; }
    public ushort ToPort { get; init; }
    public ushort? BindPort { get; init; }
    public bool BindReuseAddr { get; init; }
    public long Bytes { get; init; } = -1;
    public ShutdownHow How { get; init; }
    public SocketOption Option { get; init; }
    public int Value { get; init; }
    public int LingerOnOff { get; init; }
    /// <summary>SO_SNDTIMEO / SO_RCVTIMEO's struct timeval: tv_sec (TvSec) and tv_usec (TvUsec).</summary>
    public long TvSec { get; init; }
    public long TvUsec { get; init; }
    /// <summary>fcntl(F_SETFL): whether O_NONBLOCK is set.</summary>
    public bool NonBlock { get; init; }
    /// <summary>poll()'s requested events (POLLIN = 0x1, POLLOUT = 0x4, ... as in asm-generic/poll.h).</summary>
    public int Events { get; init; }
    /// <summary>poll()'s timeout in milliseconds: 0 returns at once, negative waits without limit.</summary>
    public int TimeoutMs { get; init; }
    /// <summary>
    /// The descriptor of the socket the call names (after dup there are several); null: the socket's own. A log stored before
    /// <see cref="EngineRules.AcceptHoldsItsFd"/> wrote 0 for "none" (no socket could sit at descriptor 0 then): under those
    /// rules 0 still means the socket's own (<see cref="Descriptor"/>).
    /// </summary>
    public int? Fd { get; init; }
    /// <summary>dup2()'s newfd.</summary>
    public int NewFd { get; init; }
    /// <summary>connect() with an AF_UNSPEC address: tcp_disconnect() (ToHost and ToPort unused).</summary>
    public bool Unspec { get; init; }
    /// <summary>send()/recv()'s flags: MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL (send); MSG_DONTWAIT, MSG_PEEK (recv).</summary>
    public MsgFlags Flags { get; init; }
    /// <summary>setsockopt()'s string value: TCP_CONGESTION's module name.</summary>
    public string? Text { get; init; }
    /// <summary>setrlimit(RLIMIT_NOFILE)'s struct rlimit: rlim_cur (the soft limit) and rlim_max (the hard one).</summary>
    public long RlimCur { get; init; }
    public long RlimMax { get; init; }

    /// <summary>The descriptor <see cref="Fd"/> names under <paramref name="engineRules"/>; null: the socket's own.</summary>
    public int? Descriptor(int engineRules) =>
        Fd is { } fd && (fd != 0 || engineRules >= EngineRules.AcceptHoldsItsFd) ? fd : null;
}

/// <summary>
/// What a call did at once: its id, the socket it created or acted on, and — unless it blocked —
/// its return value or errno. A blocked call's completion appears later in the journal.
/// </summary>
/// <param name="Value">What the call wrote besides its return value (getsockopt's optval, getpeername's address), as compact JSON.</param>
public readonly record struct CallHandle(long CallId, int SocketId, bool Blocked, long Result, string? Errno, string? Value = null);
