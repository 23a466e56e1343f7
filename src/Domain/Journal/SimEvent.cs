using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;

namespace SimService.Domain.Journal;

/// <summary>Something the simulation did, at a virtual time; <see cref="Seq"/> orders the journal.</summary>
public abstract record SimEvent(SimTime At, long Seq);

/// <summary>
/// A host put a segment on a link (or, for a dropped one, tried to). The tuple is as the sender
/// sees it (before any NAT); <see cref="To"/> names the host it is routed to, null when none.
/// <see cref="SegmentId"/> numbers every transmission of the simulation from 1 (a retransmission
/// is a new transmission): the <see cref="SegmentDelivered"/> or <see cref="SegmentDropped"/> of
/// this transmission carries the same id. <see cref="OptionBytes"/> is the option bytes of a header that does not hold what
/// <see cref="Options"/> lay out to (<see cref="Segment.OptionBytes"/>: an injected EOL-padded list), null otherwise — so a
/// capture shows the header counted, not the one laid out (review39a N-5); journals stored before it have none.
/// </summary>
public sealed record SegmentSent(SimTime At, long Seq, string Host, FourTuple Tuple, TcpFlags Flags, uint SeqNo, uint AckNo,
    int Len, ushort Win, TcpOptions Options, string Reason, string? To, long SegmentId = 0,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    int? OptionBytes = null) : SimEvent(At, Seq);

/// <summary>A segment arrived at its destination host (the tuple as it arrives, after any NAT); <see cref="SegmentId"/> pairs it with its <see cref="SegmentSent"/>.</summary>
public sealed record SegmentDelivered(SimTime At, long Seq, string Host, FourTuple Tuple, TcpFlags Flags, uint SeqNo, uint AckNo,
    int Len, long SegmentId = 0) : SimEvent(At, Seq);

/// <summary>The link lost a segment (seeded loss, a blackhole, or no route between the hosts); <see cref="SegmentId"/> pairs it with its <see cref="SegmentSent"/>.</summary>
public sealed record SegmentDropped(SimTime At, long Seq, string Host, FourTuple Tuple, TcpFlags Flags, uint SeqNo, uint AckNo,
    int Len, string Reason, long SegmentId = 0) : SimEvent(At, Seq);

/// <summary>A connection changed state; <see cref="Cause"/> names the kernel function that did it.</summary>
public sealed record StateChanged(SimTime At, long Seq, string Host, int SocketId, TcpState From, TcpState To, string Cause)
    : SimEvent(At, Seq);

/// <summary>
/// A timer was armed. <see cref="Expires"/> is when the kernel's timer wheel will run it
/// (<see cref="Engine.Jiffies.WheelFires"/>: the bucket after timer->expires), not timer->expires itself.
/// </summary>
public sealed record TimerArmed(SimTime At, long Seq, string Host, int SocketId, TcpTimerKind Timer, SimTime Expires)
    : SimEvent(At, Seq);

public sealed record TimerFired(SimTime At, long Seq, string Host, int SocketId, TcpTimerKind Timer) : SimEvent(At, Seq);

public sealed record TimerCancelled(SimTime At, long Seq, string Host, int SocketId, TcpTimerKind Timer) : SimEvent(At, Seq);

/// <summary>A process made a system call.</summary>
public sealed record CallIssued(SimTime At, long Seq, string Host, string Process, long CallId, SocketCallKind Call,
    int SocketId, string Args) : SimEvent(At, Seq);

/// <summary>A call returned: a value, or an errno name; <see cref="Blocked"/> is how long it blocked.</summary>
public sealed record CallReturned(SimTime At, long Seq, string Host, string Process, long CallId, SocketCallKind Call,
    int SocketId, long Result, string? Errno, SimDuration Blocked, string? Value = null) : SimEvent(At, Seq);

/// <summary>A line the kernel printed (dmesg).</summary>
public sealed record KernelLogged(SimTime At, long Seq, string Host, string Line) : SimEvent(At, Seq);

/// <summary>The peer application read bytes of this connection (data ledger).</summary>
public sealed record DataDelivered(SimTime At, long Seq, string Host, int SocketId, long Bytes) : SimEvent(At, Seq);

/// <summary>Bytes of this connection that will never reach the peer application, and why.</summary>
public sealed record DataLost(SimTime At, long Seq, string Host, int SocketId, long Bytes, string Reason) : SimEvent(At, Seq);

/// <summary>A process ended (kill); its descriptors were closed as at exit.</summary>
public sealed record ProcessExited(SimTime At, long Seq, string Host, string Process, string Signal) : SimEvent(At, Seq);

/// <summary>A sysctl was written at run time.</summary>
public sealed record SysctlChanged(SimTime At, long Seq, string Host, string Name, string Value) : SimEvent(At, Seq);

/// <summary>
/// A link direction's delay, loss, blackhole or the link's <c>lossBySegment</c> changed: the direction's settings after
/// the change, and whether the link draws its loss by segment.
/// </summary>
public sealed record LinkChanged(SimTime At, long Seq, string From, string To, SimDuration Delay, double Loss, bool Blackhole, bool LossBySegment = false)
    : SimEvent(At, Seq);

/// <summary>A segment reached a socket or timewait entry that had no use for it (the default arm of a state switch).</summary>
public sealed record SegmentIgnored(SimTime At, long Seq, string Host, int SocketId, FourTuple Tuple, TcpFlags Flags, string Why)
    : SimEvent(At, Seq);
