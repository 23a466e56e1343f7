using System.Collections.Immutable;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Scenarios;

/// <summary>
/// One step of <c>steps</c>: <see cref="At"/> is its absolute virtual time (relative and omitted
/// <c>at</c> resolved), <see cref="Path"/> its JSON path ("$.steps[3]") for results and errors.
/// </summary>
public abstract record ScenarioStep(SimTime At, string Path);

/// <summary>A socket system call made by a process on a Linux host.</summary>
public sealed record CallStep(
    SimTime At,
    string Path,
    string Host,
    string Process,
    SocketCall Call,
    string? As,
    string? Socket,
    int? Port,
    int? Backlog,
    bool ReuseAddr,
    HostPort? To,
    BindOptions? Bind,
    long? Bytes,
    ShutdownHow? How,
    SocketOption? Option,
    SockoptValue? Value,
    CallExpect? Expect,
    bool? NonBlock = null,
    int? Events = null,
    int? TimeoutMs = null,
    int? NewFd = null,
    bool? Unspec = null,
    uint? Address = null,
    Tcp.MsgFlags? Flags = null,
    long? Soft = null,
    long? Hard = null) : ScenarioStep(At, Path)
{
    /// <summary>The process a call runs in when the step names none.</summary>
    public const string DefaultProcess = "app";

    /// <summary>listen()'s backlog when the step gives none.</summary>
    public const int DefaultBacklog = 128;
}

/// <summary>A segment sent by a scripted host (packetdrill style).</summary>
public sealed record InjectStep(
    SimTime At,
    string Path,
    HostPort From,
    HostPort To,
    TcpFlags Flags,
    uint Seq,
    uint? Ack,
    int? Win,
    int? Len,
    InjectOptions? Options = null) : ScenarioStep(At, Path);

/// <summary>
/// The TCP options of an injected segment: MSS, window scale, SACK-permitted (null = absent), a
/// timestamp and SACK blocks. SACK block edges are relative to the receiver's ISN, as ack is.
/// </summary>
public sealed record InjectOptions(int? Mss, int? WindowScale, bool SackPermitted, InjectTimestamp? Timestamp, ImmutableArray<SeqRange> Sack);

/// <summary>An injected timestamp: TSval as written; TSecr as written, or the last TSval the scripted host received on the connection.</summary>
public sealed record InjectTimestamp(uint Val, uint Ecr, bool EchoLast);

/// <summary>A SACK block [Left, Right) as a scenario writes it.</summary>
public readonly record struct SeqRange(uint Left, uint Right);

/// <summary>
/// A change of the link between A and B, optionally in one direction only; <paramref name="LossBySegment"/> switches the
/// whole link's loss draw (by segment or from the generator; never with a direction).
/// </summary>
public sealed record LinkStep(
    SimTime At,
    string Path,
    string A,
    string B,
    LinkDirection? Direction,
    SimDuration? Delay,
    double? Loss,
    bool? LossBySegment = null) : ScenarioStep(At, Path);

/// <summary>Sysctl writes on one host at run time, in document order.</summary>
public sealed record SysctlStep(SimTime At, string Path, string Host, ImmutableArray<SysctlSetting> Values)
    : ScenarioStep(At, Path);

/// <summary>The end of a process: its descriptors close as at exit.</summary>
public sealed record KillStep(SimTime At, string Path, string Host, string Process, KillSignal Signal)
    : ScenarioStep(At, Path);

/// <summary>Starts a connection workload at this time; later steps and <c>runUntil</c> move the clock through it.</summary>
/// <param name="ResolutionDefaulted">The step gave no <c>resolution</c>: <paramref name="Spec"/> has the default fitted to
/// the series' bound (<see cref="Workloads.WorkloadSpec.WithDefaultResolution"/>), which runs under engine rules 4 and later (<see cref="SpecUnder"/>).</param>
public sealed record WorkloadStep(SimTime At, string Path, Workloads.WorkloadSpec Spec, bool ResolutionDefaulted = false) : ScenarioStep(At, Path)
{
    /// <summary>
    /// The spec the workload runs with under <paramref name="engineRules"/>. A resolution the step did not give is the 1 s
    /// default doubled until the arrivals fit <see cref="Workloads.WorkloadSpec.MaxSamples"/> since engine rules 4 (session 38,
    /// tester37b LOW-4); a simulation stored under older rules ran such a step at 1 s, its series coarsened as it went (more
    /// sample events, the same cap), and rebuilds so — a stored 1 s workload spanning more than 10,000 s rebuilt at 2 s
    /// (review38b S-1).
    /// </summary>
    public Workloads.WorkloadSpec SpecUnder(int engineRules) =>
        ResolutionDefaulted && engineRules < Commands.EngineRules.WorkloadAcceptEndsWithIt ? Spec with { Resolution = new Workloads.WorkloadSpec().Resolution } : Spec;

    /// <summary>The JSON path of the step's <c>generatedClients</c>: <c>$.steps[i].workload.generatedClients</c>.</summary>
    public static string GeneratedClientsPath(string stepPath) => JsonPath.Member(JsonPath.Member(stepPath, "workload"), "generatedClients");

    /// <summary>Its last connection's arrival (<see cref="Workloads.WorkloadSpec.ArrivalOffsetNs"/>; the clock's end past it).</summary>
    public SimTime LastArrival => new(At.Ns + Math.Min(Spec.ArrivalOffsetNs(Math.Max(0, Spec.Connections - 1)), long.MaxValue - At.Ns));

    /// <summary>
    /// Whether the workload is sure to be still running when a step at <paramref name="at"/> comes: up to its last arrival
    /// (Workload.CheckDone waits for every arrival; the drain limit, at least 1 ns, counts from the last, so at that instant
    /// the connection just arrived cannot be done: tester39 LOW-5, a step there was VALID and always a run error).
    /// </summary>
    public bool StillRunningAt(SimTime at) => at <= LastArrival;
}

/// <summary>Checks made at this point of virtual time.</summary>
public sealed record ExpectStep(SimTime At, string Path, StateChecks Expect) : ScenarioStep(At, Path);

/// <summary>The socket system calls a step can make.</summary>
public enum SocketCall { Socket, Bind, Listen, Connect, Accept, Send, Recv, Shutdown, Close, Setsockopt, Getsockopt, Getpeername, Fcntl, Poll, Dup, Dup2, Setrlimit }

/// <summary>shutdown()'s <c>how</c>.</summary>
public enum ShutdownHow { Read, Write, ReadWrite }

/// <summary>The socket options the format knows.</summary>
public enum SocketOption { SoLinger, TcpLinger2, SoReuseAddr, SoKeepAlive, TcpKeepIdle, TcpKeepIntvl, TcpKeepCnt, TcpUserTimeout, SoSndBuf, SoRcvBuf, SoError, TcpInfo, SoSndTimeo, SoRcvTimeo, IpLocalPortRange, IpBindAddressNoPort, TcpNoDelay, TcpCork, TcpQuickAck, TcpSynCnt, TcpDeferAccept, TcpMaxSeg, TcpCongestion, SoRcvLowat, TcpNotsentLowat, TcpRtoMaxMs, SoReusePort, SoMeminfo }

/// <summary>The signals a kill step may send.</summary>
public enum KillSignal { Kill, Term, Int, Hup, Quit, Abrt, Segv, Pipe, Alrm, Usr1, Usr2 }

/// <summary>A host name and a TCP port ("server:80").</summary>
public sealed record HostPort(string Host, int Port)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Host}:{Port}";
}

/// <summary>connect()'s convenience bind: the local port (0 = ephemeral) and SO_REUSEADDR.</summary>
public sealed record BindOptions(int Port, bool ReuseAddr);

/// <summary>A one-way link change, "client->server".</summary>
public sealed record LinkDirection(string From, string To)
{
    /// <inheritdoc/>
    public override string ToString() => $"{From}->{To}";
}

/// <summary>The value given to setsockopt: an integer or SO_LINGER's struct.</summary>
public abstract record SockoptValue;

/// <summary>An integer option value.</summary>
public sealed record IntSockoptValue(int Value) : SockoptValue;

/// <summary>SO_LINGER's <c>struct linger { l_onoff, l_linger }</c>.</summary>
public sealed record LingerSockoptValue(int OnOff, int Seconds) : SockoptValue;

/// <summary>SO_SNDTIMEO / SO_RCVTIMEO's <c>struct timeval { tv_sec, tv_usec }</c> (tv_usec unchecked: the kernel answers EDOM).</summary>
public sealed record TimevalSockoptValue(long Sec, long Usec) : SockoptValue;

/// <summary>TCP_CONGESTION's module name.</summary>
public sealed record StringSockoptValue(string Text) : SockoptValue;

/// <summary>IP_LOCAL_PORT_RANGE's u32 as its two halves, lo and hi (0 keeps that end of the netns range).</summary>
public sealed record PortRangeSockoptValue(int Lo, int Hi) : SockoptValue;

/// <summary>What a call step expects of the call: its result and how long it blocked.</summary>
/// <param name="Value">
/// What the call wrote besides its result, as compact JSON: getsockopt's value (an integer, SO_ERROR's
/// errno name, or an object whose members must all match, e.g. SO_LINGER's {onoff, linger}, TCP_INFO's
/// fields) or getpeername's "host:port".
/// </param>
public sealed record CallExpect(CallResult? Result, CheckedDuration? ReturnsAfter, string? Value = null);

/// <summary>A call's expected result: a return value or an errno name, exactly one of the two.</summary>
public readonly record struct CallResult(long? Value, ErrnoName? Errno)
{
    /// <summary>An expected return value.</summary>
    public static CallResult Returns(long value) => new(value, null);

    /// <summary>An expected failure with an errno.</summary>
    public static CallResult Fails(ErrnoName errno) => new(null, errno);

    /// <inheritdoc/>
    public override string ToString() => Errno?.Name ?? Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "";
}
