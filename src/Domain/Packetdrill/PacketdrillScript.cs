using System.Collections.Immutable;

namespace SimService.Domain.Packetdrill;

/// <summary>A place in a script: 1-based line and column, as editors and packetdrill's own errors count them.</summary>
public readonly record struct ScriptPosition(int Line, int Column)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>
/// Something the reader refuses: a syntax error, or a construct of the language the simulator does
/// not run (IPv6, TCP Fast Open, cmsg, epoll, Python blocks beyond tcpi_* assertions …). Never skipped.
/// </summary>
public sealed record ScriptDiagnostic(ScriptPosition At, string Message, bool Unsupported = false)
{
    /// <inheritdoc/>
    public override string ToString() => $"line {At.Line}, column {At.Column}: {(Unsupported ? "unsupported: " : "")}{Message}";
}

/// <summary>How an event's time is written: <c>0.1</c>, <c>+0.1</c>, <c>*</c>, <c>0.1~0.2</c> or <c>+0.1~+0.2</c>.</summary>
public enum EventTimeKind
{
    Absolute,
    Relative,
    Any,
    AbsoluteRange,
    RelativeRange,
}

/// <summary>An event's time in microseconds, as packetdrill keeps it (s64 usecs); <see cref="EndUs"/> for ranges.</summary>
public sealed record EventTime(EventTimeKind Kind, long StartUs, long EndUs = 0)
{
    /// <summary>The relative kinds, anchored on the previous event.</summary>
    public bool IsRelative => Kind is EventTimeKind.Relative or EventTimeKind.RelativeRange;

    /// <summary>The absolute kinds (packetdrill's is_event_time_absolute()).</summary>
    public bool IsAbsolute => Kind is EventTimeKind.Absolute or EventTimeKind.AbsoluteRange;
}

/// <summary>One event line of a script; <see cref="At"/> is where its time starts.</summary>
public abstract record ScriptEvent(ScriptPosition At, EventTime Time);

/// <summary><c>&lt;</c> (injected into the host) or <c>&gt;</c> (expected from it).</summary>
public enum PacketDirection
{
    Inbound,
    Outbound,
}

/// <summary>A TCP option as written between &lt; and &gt;.</summary>
public abstract record ScriptOption(ScriptPosition At)
{
    /// <summary>The option kind on the wire (TCPOPT_*).</summary>
    public abstract byte Kind { get; }

    /// <summary>Its bytes on the wire (kind, length and value; 1 for NOP and EOL).</summary>
    public abstract int Length { get; }
}

/// <summary>TCPOPT_NOP.</summary>
public sealed record NopOption(ScriptPosition At) : ScriptOption(At)
{
    public override byte Kind => 1;
    public override int Length => 1;
    public override string ToString() => "nop";
}

/// <summary>TCPOPT_EOL.</summary>
public sealed record EolOption(ScriptPosition At) : ScriptOption(At)
{
    public override byte Kind => 0;
    public override int Length => 1;
    public override string ToString() => "eol";
}

/// <summary>TCPOPT_MSS.</summary>
public sealed record MssOption(ScriptPosition At, ushort Mss) : ScriptOption(At)
{
    public override byte Kind => 2;
    public override int Length => 4;
    public override string ToString() => $"mss {Mss}";
}

/// <summary>TCPOPT_WINDOW.</summary>
public sealed record WscaleOption(ScriptPosition At, byte Shift) : ScriptOption(At)
{
    public override byte Kind => 3;
    public override int Length => 3;
    public override string ToString() => $"wscale {Shift}";
}

/// <summary>TCPOPT_SACK_PERM.</summary>
public sealed record SackOkOption(ScriptPosition At) : ScriptOption(At)
{
    public override byte Kind => 4;
    public override int Length => 2;
    public override string ToString() => "sackOK";
}

/// <summary>TCPOPT_SACK with its blocks (left:right, each relative as the direction maps them).</summary>
public sealed record SackOption(ScriptPosition At, ImmutableArray<(uint Left, uint Right)> Blocks) : ScriptOption(At)
{
    public override byte Kind => 5;
    public override int Length => 2 + 8 * Blocks.Length;
    public override string ToString() => "sack " + string.Join(" ", Blocks.Select(b => $"{b.Left}:{b.Right}"));
}

/// <summary>TCPOPT_TIMESTAMP.</summary>
public sealed record TimestampOption(ScriptPosition At, uint Val, uint Ecr) : ScriptOption(At)
{
    public override byte Kind => 8;
    public override int Length => 10;
    public override string ToString() => $"TS val {Val} ecr {Ecr}";
}

/// <summary>
/// A TCP segment line: flags, <c>seq:end(len)</c>, optional <c>ack</c>, <c>win</c>, and options —
/// null when written <c>&lt;...&gt;</c> (not checked); an empty list when no options were written
/// (packetdrill then expects none).
/// </summary>
public sealed record PacketEvent(
    ScriptPosition At,
    EventTime Time,
    PacketDirection Direction,
    string FlagsText,
    uint Seq,
    int Length,
    uint? Ack,
    ushort? Window,
    ImmutableArray<ScriptOption>? Options,
    ushort? SourcePort,
    ushort? DestinationPort) : ScriptEvent(At, Time);

/// <summary>
/// A system call line: name, arguments, the expected result and errno, and for a blocking call
/// (<c>+0...0.2</c>) the time it is expected to return, in microseconds as written.
/// </summary>
public sealed record SyscallEvent(
    ScriptPosition At,
    EventTime Time,
    string Name,
    ImmutableArray<ScriptExpr> Arguments,
    ScriptExpr Result,
    string? Errno,
    long? EndUs) : ScriptEvent(At, Time);

/// <summary>A backtick shell line (<c>`sysctl -q net.ipv4.tcp_timestamps=0`</c>).</summary>
public sealed record ShellEvent(ScriptPosition At, EventTime Time, string Command) : ScriptEvent(At, Time);

/// <summary>An inline <c>%{ … }%</c> block: only <c>assert tcpi_x == value</c> lines are run.</summary>
public sealed record CodeEvent(ScriptPosition At, EventTime Time, ImmutableArray<TcpInfoAssertion> Assertions) : ScriptEvent(At, Time);

/// <summary>One <c>assert tcpi_field OP value</c> of a code block.</summary>
public sealed record TcpInfoAssertion(ScriptPosition At, string Field, string Operator, string Value, string Text);

/// <summary>An argument or result expression, as packetdrill's grammar writes them.</summary>
public abstract record ScriptExpr(ScriptPosition At);

/// <summary><c>...</c>: anything.</summary>
public sealed record EllipsisExpr(ScriptPosition At) : ScriptExpr(At)
{
    public override string ToString() => "...";
}

/// <summary>An integer (decimal or hex, possibly negative).</summary>
public sealed record IntExpr(ScriptPosition At, long Value) : ScriptExpr(At)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A symbol such as SOCK_STREAM or SO_LINGER.</summary>
public sealed record WordExpr(ScriptPosition At, string Word) : ScriptExpr(At)
{
    public override string ToString() => Word;
}

/// <summary>A quoted string.</summary>
public sealed record StringExpr(ScriptPosition At, string Text) : ScriptExpr(At)
{
    public override string ToString() => $"\"{Text}\"";
}

/// <summary><c>[a, b]</c>.</summary>
public sealed record ListExpr(ScriptPosition At, ImmutableArray<ScriptExpr> Items) : ScriptExpr(At)
{
    public override string ToString() => $"[{string.Join(", ", Items)}]";
}

/// <summary><c>{name=value, …}</c> or <c>{a, b}</c>: a struct.</summary>
public sealed record StructExpr(ScriptPosition At, ImmutableArray<ScriptExpr> Items) : ScriptExpr(At)
{
    /// <summary>The value of a <c>name=value</c> field, or null.</summary>
    public ScriptExpr? Field(string name) =>
        Items.OfType<BinaryExpr>().FirstOrDefault(b => b.Op == "=" && b.Left is WordExpr w && w.Word == name)?.Right;

    public override string ToString() => $"{{{string.Join(", ", Items)}}}";
}

/// <summary><c>a | b</c> or <c>name = value</c>.</summary>
public sealed record BinaryExpr(ScriptPosition At, string Op, ScriptExpr Left, ScriptExpr Right) : ScriptExpr(At)
{
    public override string ToString() => Op == "=" ? $"{Left}={Right}" : $"{Left}{Op}{Right}";
}

/// <summary><c>htons(8080)</c>, <c>inet_addr("192.0.2.1")</c>.</summary>
public sealed record CallExpr(ScriptPosition At, string Name, ImmutableArray<ScriptExpr> Arguments) : ScriptExpr(At)
{
    public override string ToString() => $"{Name}({string.Join(", ", Arguments)})";
}

/// <summary>
/// A parsed script: its <c>--option=value</c> header lines, the init command (a backtick line
/// before the first event) and the events in order.
/// </summary>
public sealed record PacketdrillScript(
    ImmutableArray<ScriptOptionLine> Options,
    ImmutableArray<ScriptEvent> Events);

/// <summary>A <c>--name[=value]</c> line heading a script (the same options as packetdrill's command line).</summary>
public sealed record ScriptOptionLine(ScriptPosition At, string Name, string? Value);
