using System.Collections.Immutable;
using SimService.Domain.Network;

namespace SimService.Domain.Scenarios;

/// <summary>The checks an <c>expect</c> step (and the final <c>expect</c>) can make of hosts' kernel state.</summary>
public sealed record StateChecks(
    ImmutableArray<SocketCheck> Sockets,
    ImmutableArray<SockstatCheck> Sockstat,
    ImmutableArray<CounterCheck> Counters,
    ImmutableArray<DmesgCheck> Dmesg)
{
    /// <summary>No checks at all.</summary>
    public static readonly StateChecks None = new([], [], [], []);
}

/// <summary>The top-level <c>expect</c>: state checks after the run, plus segment and data-ledger checks.</summary>
public sealed record FinalExpect(
    StateChecks State,
    ImmutableArray<PacketCheck> Packets,
    ImmutableArray<PacketCheck> PacketsExact,
    ImmutableArray<PacketCheck> NoPackets,
    ImmutableArray<DataCheck> Data);

/// <summary>
/// One entry of <c>sockets</c>: which sockets, and their expected state and/or count, ss timer name
/// and time left on the timer.
/// </summary>
public sealed record SocketCheck(
    SocketSelector Selector,
    SocketStateName? State,
    long? Count,
    SsTimer? Timer,
    CheckedDuration? TimerLeft);

/// <summary>How a socket check picks sockets.</summary>
public abstract record SocketSelector;

/// <summary>The connection a socket alias names.</summary>
public sealed record AliasSelector(string Alias) : SocketSelector;

/// <summary>Every socket row of a host whose local and remote addresses match the patterns given.</summary>
public sealed record HostSelector(string Host, SockAddrPattern? Local, SockAddrPattern? Remote) : SocketSelector;

/// <summary>
/// "host:port" where either part may be empty: <see cref="Host"/> names a host or NAT,
/// <see cref="Address"/> is a literal IPv4 address (network order), at most one of them is set.
/// </summary>
public sealed record SockAddrPattern(string? Host, uint? Address, int? Port)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Host ?? (Address is { } a ? Ipv4Text.Format(a) : "")}:{Port?.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>The state names ss prints (CLOSED also matches a socket that no longer exists).</summary>
public enum SocketStateName { Established, SynSent, SynRecv, FinWait1, FinWait2, TimeWait, CloseWait, LastAck, Closing, Listen, Closed }

/// <summary>The timer name of <c>ss -o</c>; <see cref="Off"/> when ss shows none.</summary>
public enum SsTimer { On, Keepalive, TimeWait, Persist, Off }

/// <summary>Expected /proc/net/sockstat TCP numbers of one host; null = not checked.</summary>
public sealed record SockstatCheck(string Host, long? InUse, long? Orphan, long? Tw, long? Alloc);

/// <summary>A MIB counter, canonically ("TcpExt", "TW") for TcpExt.TW, TcpExtTW and the like.</summary>
public sealed record CounterName(string Table, string Name)
{
    /// <summary>
    /// A field of a Linux kernel's lists (either profile's): /proc/net/netstat's TcpExt (snmp4_net_list) or
    /// /proc/net/snmp's Tcp (snmp4_tcp_list) — the names nstat prints. Whether the engine counts it is another matter.
    /// </summary>
    public bool IsLinux => Table == "TcpExt"
        ? Observability.ProcNetNetstat.TcpExt.Contains(Name) || Observability.ProcNetNetstat.TcpExt44.Contains(Name)
        : Observability.ProcNetSnmp.Tcp.Contains(Name);

    /// <inheritdoc/>
    public override string ToString() => $"{Table}.{Name}";
}

/// <summary>An expected total of one MIB counter on one host.</summary>
public sealed record CounterCheck(string Host, CounterName Counter, long Value);

/// <summary>Substrings that must each appear in a host's kernel log.</summary>
public sealed record DmesgCheck(string Host, ImmutableArray<string> Substrings);

/// <summary>An expected segment; only <see cref="Flags"/> is always checked, the rest when given.</summary>
public sealed record PacketCheck(
    PacketEndpoint? From,
    PacketEndpoint? To,
    TcpFlags Flags,
    CheckedDuration? At,
    long? Len,
    uint? Seq,
    uint? Ack,
    int? Win = null,
    OptionsCheck? Options = null);

/// <summary>
/// Expected TCP options of a segment; each null member is not checked. <see cref="Mss"/> and
/// <see cref="WindowScale"/> are <see cref="OptionsCheck.Absent"/> when the option must be missing;
/// <see cref="Sack"/> edges are relative to the receiver's ISN (empty: no SACK option).
/// </summary>
public sealed record OptionsCheck(int? Mss, int? WindowScale, bool? SackPermitted, TimestampCheck? Timestamp, ImmutableArray<SeqRange>? Sack)
{
    /// <summary>The value of <see cref="Mss"/> or <see cref="WindowScale"/> that means "the option is absent" (JSON null).</summary>
    public const int Absent = -1;
}

/// <summary>An expected timestamp option: present or not, and when present optionally its TSval and TSecr.</summary>
public sealed record TimestampCheck(bool Present, uint? Val, uint? Ecr);

/// <summary>A host name with an optional port ("client", "server:80").</summary>
public sealed record PacketEndpoint(string Host, int? Port)
{
    /// <inheritdoc/>
    public override string ToString() => Port is { } p ? $"{Host}:{p}" : Host;
}

/// <summary>Expected data-ledger numbers of the connection an alias names; null = not checked.</summary>
public sealed record DataCheck(string Alias, long? Sent, long? Delivered, long? Lost);
