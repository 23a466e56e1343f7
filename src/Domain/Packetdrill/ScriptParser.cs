using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using SimService.Domain.Tcp;

namespace SimService.Domain.Packetdrill;

/// <summary>A script read: the script when there was no error, and every error with its line and column.</summary>
public sealed record ScriptParseResult(PacketdrillScript? Script, ImmutableArray<ScriptDiagnostic> Errors)
{
    public bool IsValid => Script is not null;
}

/// <summary>
/// Reads the packetdrill language (google/packetdrill's parser.y, written anew): header options, an
/// optional init command, then events — each a time (<c>0.1</c>, <c>+0.1</c>, <c>*</c>, ranges, and
/// <c>start...end</c> for blocking calls) followed by a TCP segment (<c>&lt;</c>/<c>&gt;</c>), a system
/// call, a backtick command or a <c>%{ }%</c> block. Errors are collected with their positions; after
/// one, reading resumes at the next line. Constructs outside what the simulator runs (IPv6, UDP,
/// ICMP, GRE/MPLS encapsulation, ECN/AccECN, TFO, MD5, urgent data) are refused as unsupported.
/// </summary>
public sealed partial class ScriptParser
{
    readonly List<Token> _tokens;
    readonly List<ScriptDiagnostic> _errors;
    int _i;
    readonly CancellationToken _interruption;

    ScriptParser(string text, CancellationToken interruption)
    {
        _interruption = interruption;
        var lexer = new ScriptLexer(text);
        _tokens = lexer.Tokenize(interruption);
        _errors = lexer.Errors;
    }

    /// <summary>
    /// Reads a script's text. <paramref name="interruption"/> (the caller's wall-time limit) stops the reading between tokens
    /// and events with OperationCanceledException, as it stops a run between events: a 2.2 MB script took longer to read on
    /// a loaded machine than the API's request limit (tester34 LOW-3).
    /// </summary>
    public static ScriptParseResult Parse(string text, CancellationToken interruption = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new ScriptParser(text, interruption).ParseScript();
    }

    sealed class ParseError(ScriptPosition at, string message, bool unsupported = false) : Exception(message)
    {
        public ScriptDiagnostic Diagnostic { get; } = new(at, message, unsupported);
    }

    Token Cur => _tokens[_i];
    Token PeekAt(int ahead) => _tokens[Math.Min(_i + ahead, _tokens.Count - 1)];
    Token Take() => _tokens[_i < _tokens.Count - 1 ? _i++ : _i];

    static ParseError Fail(Token t, string message) => new(t.At, message);
    static ParseError Unsupported(ScriptPosition at, string message) => new(at, message, unsupported: true);

    void Expect(string punct, string what)
    {
        if (!Cur.Is(punct)) throw Fail(Cur, $"expected '{punct}' {what}, found {Cur}");
        Take();
    }

    ScriptParseResult ParseScript()
    {
        var options = ImmutableArray.CreateBuilder<ScriptOptionLine>();
        while (Cur.Kind == TokenKind.Option)
        {
            var t = Take();
            var body = t.Text[2..];
            int eq = body.IndexOf('=', StringComparison.Ordinal);
            options.Add(eq < 0 ? new(t.At, body, null) : new(t.At, body[..eq], body[(eq + 1)..]));
        }
        var events = ImmutableArray.CreateBuilder<ScriptEvent>();
        while (Cur.Kind != TokenKind.End)
        {
            _interruption.ThrowIfCancellationRequested();
            int start = _i;
            try
            {
                events.Add(ParseEvent());
            }
            catch (ParseError e)
            {
                _errors.Add(e.Diagnostic);
                if (_i == start) Take();
                while (Cur.Kind != TokenKind.End && !Cur.StartsLine) Take();
            }
        }
        // packetdrill's grammar (parser.y): script: opt_options opt_init_command events opt_cleanup_command, where
        // events: event | events event — a script with no event (an empty file, only comments or options) does not parse.
        if (events.Count == 0 && _errors.Count == 0) _errors.Add(new ScriptDiagnostic(Cur.At, "the script has no events (packetdrill needs at least one)"));
        var errors = _errors.OrderBy(e => e.At.Line).ThenBy(e => e.At.Column).ToImmutableArray();
        return new ScriptParseResult(errors.IsEmpty ? new PacketdrillScript(options.ToImmutable(), events.ToImmutable()) : null, errors);
    }

    ScriptEvent ParseEvent()
    {
        var at = Cur.At;
        // The init and cleanup commands (and, leniently, any backtick line) may stand without a time: +0.
        if (Cur.Kind == TokenKind.Backquoted) return new ShellEvent(at, new EventTime(EventTimeKind.Relative, 0), Take().Text);
        if (Cur.Kind == TokenKind.Option) throw Fail(Cur, "command-line options (--name=value) must come before the first event");
        var time = ParseTime();
        long? endUs = null;
        if (Cur.Kind == TokenKind.Ellipsis)
        {
            Take();
            endUs = ParseSeconds(Take(), "the end time of a blocking call");
        }
        ScriptEvent ev = Cur switch
        {
            { Kind: TokenKind.Punct, Text: "<" or ">" } => ParsePacket(at, time),
            { Kind: TokenKind.Word } when PeekAt(1).Is("(") => ParseSyscall(at, time, endUs),
            { Kind: TokenKind.Backquoted } => new ShellEvent(at, time, Take().Text),
            { Kind: TokenKind.Code } => ParseCode(at, time),
            _ => throw Fail(Cur, $"expected a packet (< or >), a system call, a `command` or a %{{ }}% block after the time, found {Cur}"),
        };
        if (endUs is not null && ev is not SyscallEvent) throw Fail(Take(), "only a system call can have an end time (start...end)");
        if (time.Kind == EventTimeKind.Any && ev is not PacketEvent { Direction: PacketDirection.Outbound })
            throw new ParseError(at, "event time <star> can only be used with outbound packets");
        if (time.Kind is EventTimeKind.AbsoluteRange or EventTimeKind.RelativeRange && ev is not PacketEvent { Direction: PacketDirection.Outbound })
            throw new ParseError(at, "event time range can only be used with outbound packets");
        if (endUs is { } end && !time.IsRelative && end < time.StartUs) throw new ParseError(at, "time range is backwards");
        return ev;
    }

    EventTime ParseTime()
    {
        if (Cur.Is("*"))
        {
            Take();
            return new EventTime(EventTimeKind.Any, 0);
        }
        if (Cur.Is("+"))
        {
            Take();
            long start = ParseSeconds(Take(), "a relative time");
            if (!Cur.Is("~")) return new EventTime(EventTimeKind.Relative, start);
            Take();
            if (!Cur.Is("+")) throw Fail(Cur, "a relative time range is written +start~+end");
            Take();
            long end = ParseSeconds(Take(), "the end of a time range");
            if (end < start) throw Fail(Cur, "time range is backwards");
            return new EventTime(EventTimeKind.RelativeRange, start, end);
        }
        if (Cur.Kind is TokenKind.Integer or TokenKind.Float)
        {
            long start = ParseSeconds(Take(), "a time");
            if (!Cur.Is("~")) return new EventTime(EventTimeKind.Absolute, start);
            Take();
            long end = ParseSeconds(Take(), "the end of a time range");
            if (end < start) throw Fail(Cur, "time range is backwards");
            return new EventTime(EventTimeKind.AbsoluteRange, start, end);
        }
        throw Fail(Cur, $"expected an event time (0.100, +0.1, * or a range), found {Cur}");
    }

    /// <summary>The most seconds one time of a script may say (a later event gets further by steps: +1000000000 twice).</summary>
    const decimal MaxSeconds = 1_000_000_000m;

    /// <summary>Seconds as written (integer or decimal) to microseconds, truncated as packetdrill's (s64)(secs * 1e6).</summary>
    static long ParseSeconds(Token t, string what)
    {
        if (t.Kind is not (TokenKind.Integer or TokenKind.Float) || t.Text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            throw Fail(t, $"expected {what} in seconds, found {t}");
        var secs = decimal.Parse(t.Text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        if (secs > MaxSeconds) throw Fail(t, $"time out of range: {what} is at most {MaxSeconds} seconds, found {t.Text}");
        return (long)decimal.Truncate(secs * 1_000_000m);
    }

    long ParseInteger(string what, long min, long max)
    {
        bool negative = false;
        var start = Cur;
        if (Cur.Is("-"))
        {
            negative = true;
            Take();
        }
        var t = Take();
        if (t.Kind != TokenKind.Integer || !ScriptLexer.TryInteger(t.Text, out long v)) throw Fail(t, $"expected {what}, found {t}");
        if (negative) v = -v;
        if (v < min || v > max) throw Fail(start, $"{what} out of range");
        return v;
    }

    // ---- packets ------------------------------------------------------------------------------

    static readonly FrozenWords EncapsulationWords = new("ipv4", "ipv6", "gre", "mpls", "udp", "icmp", "UDP", "ICMP", "IPV4", "IPV6", "GRE", "MPLS");

    PacketEvent ParsePacket(ScriptPosition at, EventTime time)
    {
        var directionToken = Take();
        var direction = directionToken.Text == "<" ? PacketDirection.Inbound : PacketDirection.Outbound;
        if (Cur.Kind == TokenKind.Word && EncapsulationWords.Contains(Cur.Text))
            throw Unsupported(Cur.At, $"'{Cur.Text}' packets: the simulator runs TCP over plain IPv4 only (no UDP, ICMP, IPv6, GRE or MPLS)");
        if (Cur.Is("[") || Cur.Is("("))
            throw Unsupported(Cur.At, "IP header fields (ECN codepoints, TOS, TTL, flow label) on a packet");
        ushort? srcPort = null, dstPort = null;
        if (Cur.Kind == TokenKind.Integer && PeekAt(1).Is(">"))
        {
            srcPort = (ushort)ParseInteger("src port", 0, ushort.MaxValue);
            Take();
            dstPort = (ushort)ParseInteger("dst port", 0, ushort.MaxValue);
        }
        var flagsAt = Cur.At;
        var flags = ParseFlags();
        if (direction == PacketDirection.Inbound && flags.Contains('E') && !flags.Contains('S'))
            throw Unsupported(flagsAt, "ECE on an inbound segment without SYN (tcp_ecn_rcv_ecn_echo(): the cwnd reduction an ECN echo starts is not modelled)");
        if (direction == PacketDirection.Inbound && flags.Contains('S') && flags.Contains('.') && flags.Contains('W'))
            throw Unsupported(flagsAt, TcpSocket.AccEcnSynAckRefused);
        var seqAt = Cur;
        long seq = ParseInteger("TCP start sequence number", 0, uint.MaxValue);
        Expect(":", "in seq:end(len)");
        long end = ParseInteger("TCP end sequence number", 0, uint.MaxValue);
        Expect("(", "in seq:end(len)");
        long len = ParseInteger("TCP payload size", 0, ushort.MaxValue);
        Expect(")", "in seq:end(len)");
        if (end != seq + len) throw Fail(seqAt, "inconsistent TCP sequence numbers and payload size");
        uint? ack = null;
        ushort? win = null;
        if (Cur.IsWord("ack"))
        {
            Take();
            ack = (uint)ParseInteger("TCP ack sequence number", 0, uint.MaxValue);
        }
        if (Cur.IsWord("win"))
        {
            Take();
            win = (ushort)ParseInteger("TCP window value", 0, ushort.MaxValue);
        }
        if (Cur.IsWord("urg")) throw Unsupported(Cur.At, "the urgent pointer (urg)");
        ImmutableArray<ScriptOption>? options = [];
        if (Cur.Is("<") && !Cur.StartsLine) options = ParseOptions(direction);
        if (Cur.Is("{")) throw Unsupported(Cur.At, "packet fuzzing parameters");
        if (direction == PacketDirection.Inbound && win is null)
            throw Fail(directionToken, "window must be specified for inbound packets");
        return new PacketEvent(at, time, direction, flags, (uint)seq, (int)len, ack, win, options, srcPort, dstPort);
    }

    /// <summary>
    /// packetdrill's flags, one run of letters: S, F, R, P, "." (ACK), E (ECE), W (CWR) — "SEW", "S.E", ".W" — or "-" for
    /// none. The tokenizer cuts the run at its "."; the pieces must touch.
    /// </summary>
    string ParseFlags()
    {
        var t = Cur;
        if (t.Is("-"))
        {
            Take();
            return "";
        }
        if (t.Kind == TokenKind.Float) throw Unsupported(t.At, "AccECN ACE flags");
        if (t.Kind != TokenKind.Word && !t.Is(".")) throw Fail(t, $"expected TCP flags (S, F, R, P, ., E, W, -), found {t}");
        var text = new System.Text.StringBuilder();
        var last = t;
        while (true)
        {
            Take();
            if (last.Kind == TokenKind.Word) CheckFlagLetters(last);
            text.Append(last.Text);
            var next = Cur;
            bool touches = next.At.Line == last.At.Line && next.At.Column == last.At.Column + last.Text.Length;
            if (!touches || !(next.Is(".") || next.Kind == TokenKind.Word)) break;
            last = next;
        }
        var flags = text.ToString();
        if (flags.Distinct().Count() != flags.Length) throw Fail(t, $"repeated TCP flag in '{flags}'");
        return flags;
    }

    static void CheckFlagLetters(Token t)
    {
        foreach (var c in t.Text)
        {
            if (c == 'A') throw Unsupported(t.At, "the AccECN AE flag 'A'");
            if (c == 'U') throw Unsupported(t.At, "the URG flag");
            if (c is not ('S' or 'F' or 'R' or 'P' or 'E' or 'W')) throw Fail(t, $"unknown TCP flag '{c}' in '{t.Text}'");
        }
    }

    ImmutableArray<ScriptOption>? ParseOptions(PacketDirection direction)
    {
        var open = Take();
        if (Cur.Kind == TokenKind.Ellipsis)
        {
            Take();
            Expect(">", "after <...");
            if (direction == PacketDirection.Inbound) throw Fail(open, "<...> for TCP options can only be used with outbound packets");
            return null;
        }
        var list = ImmutableArray.CreateBuilder<ScriptOption>();
        while (true)
        {
            list.Add(ParseOption());
            if (Cur.Is(","))
            {
                Take();
                continue;
            }
            Expect(">", "to close the TCP option list");
            return list.ToImmutable();
        }
    }

    ScriptOption ParseOption()
    {
        var t = Take();
        if (t.Kind != TokenKind.Word) throw Fail(t, $"expected a TCP option, found {t}");
        switch (t.Text)
        {
            case "nop": return new NopOption(t.At);
            case "eol": return new EolOption(t.At);
            case "mss": return new MssOption(t.At, (ushort)ParseInteger("mss value", 0, ushort.MaxValue));
            case "wscale": return new WscaleOption(t.At, (byte)ParseInteger("window scale shift count", 0, byte.MaxValue));
            case "sackOK": return new SackOkOption(t.At);
            case "sack":
                var blocks = ImmutableArray.CreateBuilder<(uint, uint)>();
                do
                {
                    uint left = (uint)ParseInteger("TCP SACK left sequence number", 0, uint.MaxValue);
                    Expect(":", "in a SACK block");
                    uint right = (uint)ParseInteger("TCP SACK right sequence number", 0, uint.MaxValue);
                    blocks.Add((left, right));
                } while (Cur.Kind == TokenKind.Integer);
                return new SackOption(t.At, blocks.ToImmutable());
            case "TS":
                if (!Cur.IsWord("val")) throw Fail(Cur, "expected 'val' after TS");
                Take();
                uint val = (uint)ParseInteger("ts val", 0, uint.MaxValue);
                if (!Cur.IsWord("ecr")) throw Fail(Cur, "expected 'ecr' after the TS val");
                Take();
                uint ecr = (uint)ParseInteger("ecr val", 0, uint.MaxValue);
                return new TimestampOption(t.At, val, ecr);
            case "FO" or "FOEXP": throw Unsupported(t.At, "TCP Fast Open options (FO, FOEXP)");
            case "md5": throw Unsupported(t.At, "the TCP MD5 signature option");
            default:
                if (t.Text.StartsWith("AccECN", StringComparison.Ordinal) || t.Text.StartsWith("accecn", StringComparison.Ordinal))
                    throw Unsupported(t.At, "the AccECN option");
                if (t.Text.StartsWith("mp", StringComparison.Ordinal) || t.Text.StartsWith("dss", StringComparison.Ordinal))
                    throw Unsupported(t.At, "MPTCP options");
                throw Fail(t, $"unknown TCP option '{t.Text}'");
        }
    }

    // ---- system calls -------------------------------------------------------------------------

    SyscallEvent ParseSyscall(ScriptPosition at, EventTime time, long? endUs)
    {
        var name = Take();
        var args = ParseArguments(")");
        Expect("=", $"after {name.Text}(...)");
        var result = ParseExpr();
        string? errno = null;
        if (Cur.Kind == TokenKind.Word && !Cur.StartsLine)
        {
            // packetdrill's symbol table: a name it does not know is an error at the line, not a check that can never pass.
            if (!ErrnoTable.IsKnown(Cur.Text)) throw Fail(Cur, $"unknown errno name '{Cur.Text}' after the result");
            errno = Take().Text;
        }
        // An strace-style note after the result or errno — (Connection reset by peer), (flags O_RDWR) —
        // is packetdrill's opt_note: read and ignored.
        if (Cur.Is("(") && !Cur.StartsLine)
        {
            int depth = 0;
            do
            {
                if (Cur.Is("(")) depth++;
                else if (Cur.Is(")")) depth--;
                if (Cur.Kind == TokenKind.End) throw Fail(Cur, "unterminated ( note after the result");
                Take();
            } while (depth > 0);
        }
        return new SyscallEvent(at, time, name.Text, args, result, errno, endUs);
    }

    /// <summary>
    /// How many levels a value may nest: each <c>{ }</c>, <c>[ ]</c> and call's <c>( )</c>, and each <c>|</c> or
    /// <c>=</c> of a chain, is one level. packetdrill's own structs nest a few levels (msghdr → iovec → …); the bound
    /// keeps the parser and every walk over a parsed value (flags, words, printing, comparing) within the stack:
    /// a script nested deeper is a parse problem at the token that goes past it, never a crash.
    /// </summary>
    public const int MaxNesting = 64;

    static ParseError TooDeep(Token t) => Fail(t, $"a value nested deeper than {MaxNesting} levels ({{ }}, [ ], ( ) and each | or = count one)");

    /// <summary>A system call's arguments: values with no level above them.</summary>
    ImmutableArray<ScriptExpr> ParseArguments(string close) => ParseArguments(close, 0, out _);

    /// <summary>A bracketed list of values with <paramref name="depth"/> levels above them; <paramref name="height"/> is their tallest.</summary>
    ImmutableArray<ScriptExpr> ParseArguments(string close, int depth, out int height)
    {
        Take(); // the opening bracket
        var items = ImmutableArray.CreateBuilder<ScriptExpr>();
        height = 0;
        if (Cur.Is(close))
        {
            Take();
            return items.ToImmutable();
        }
        while (true)
        {
            items.Add(ParseExpr(depth, out int h));
            height = Math.Max(height, h);
            if (Cur.Is(","))
            {
                Take();
                continue;
            }
            Expect(close, "to close the list");
            return items.ToImmutable();
        }
    }

    /// <summary>A syscall's result: a value with no level above it.</summary>
    ScriptExpr ParseExpr() => ParseExpr(0, out _);

    /// <summary>
    /// A value with <paramref name="depth"/> levels above it; <paramref name="height"/> is the levels it makes (a word
    /// or number none). Brackets and <c>=</c> recurse, so the depth is checked before going in; a <c>|</c> chain is
    /// read in a loop into a left-deep tree, so every chain is checked as it grows.
    /// </summary>
    ScriptExpr ParseExpr(int depth, out int height)
    {
        var left = ParsePrimary(depth, out height);
        while (true)
        {
            Token op;
            ScriptExpr right;
            int h;
            if (Cur.Is("|"))
            {
                op = Take();
                right = ParsePrimary(depth, out h);
            }
            else if (Cur.Is("=") && left is WordExpr or CallExpr && (PeekAt(1).Kind != TokenKind.End))
            {
                // name=value inside a struct (msg_name(...)=... too); a syscall's " = result" is read by its caller.
                op = Take();
                if (depth + 1 > MaxNesting) throw TooDeep(op);
                right = ParseExpr(depth + 1, out h);
            }
            else return left;
            height = 1 + Math.Max(height, h);
            if (depth + height > MaxNesting) throw TooDeep(op);
            left = new BinaryExpr(op.At, op.Text, left, right);
        }
    }

    /// <summary>One value with <paramref name="depth"/> levels above it: a bracket is one level more than its tallest item.</summary>
    ScriptExpr ParsePrimary(int depth, out int height)
    {
        var t = Cur;
        height = 0;
        switch (t.Kind)
        {
            case TokenKind.Ellipsis:
                Take();
                return new EllipsisExpr(t.At);
            case TokenKind.Integer:
                return new IntExpr(t.At, ParseInteger("an integer", long.MinValue + 1, long.MaxValue));
            case TokenKind.Punct when t.Text == "-":
                return new IntExpr(t.At, ParseInteger("an integer", long.MinValue + 1, long.MaxValue));
            case TokenKind.String:
                Take();
                var text = t.Text;
                while (Cur.Kind == TokenKind.String) text += Take().Text;
                if (Cur.Kind == TokenKind.Ellipsis) Take();
                return new StringExpr(t.At, text);
            case TokenKind.Word:
                Take();
                if (Cur.Is("(") && !Cur.StartsLine) return new CallExpr(t.At, t.Text, ParseNested(")", depth, out height));
                return new WordExpr(t.At, t.Text);
            case TokenKind.Punct when t.Text == "[":
                return new ListExpr(t.At, ParseNested("]", depth, out height));
            case TokenKind.Punct when t.Text == "{":
                return new StructExpr(t.At, ParseNested("}", depth, out height));
            default:
                throw Fail(t, $"expected an expression, found {t}");
        }
    }

    /// <summary>The items of the bracket opening at the current token, one level below <paramref name="depth"/>: checked before going in.</summary>
    ImmutableArray<ScriptExpr> ParseNested(string close, int depth, out int height)
    {
        if (depth + 1 > MaxNesting) throw TooDeep(Cur);
        var items = ParseArguments(close, depth + 1, out int inner);
        height = 1 + inner;
        return items;
    }

    // ---- inline code --------------------------------------------------------------------------

    [GeneratedRegex(@"^assert\s+((?:tcpi|skmem)_[A-Za-z0-9_]+)\s*(==|!=|<=|>=|<|>)\s*([A-Za-z0-9_.+\-]+)\s*(,.*)?$")]
    private static partial Regex AssertLine();

    CodeEvent ParseCode(ScriptPosition at, EventTime time)
    {
        var t = Take();
        var assertions = ImmutableArray.CreateBuilder<TcpInfoAssertion>();
        var lines = t.Text.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            var raw = lines[n].TrimEnd('\r');
            var trimmed = raw.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#')) continue;
            int indent = raw.Length - raw.TrimStart().Length;
            var pos = new ScriptPosition(t.At.Line + n, (n == 0 ? t.At.Column + 2 : 1) + indent);
            var m = AssertLine().Match(trimmed);
            if (!m.Success)
                throw Unsupported(pos, $"inline Python beyond simple tcpi_* and skmem_* assertions: '{trimmed}'");
            assertions.Add(new TcpInfoAssertion(pos, m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, trimmed));
        }
        return new CodeEvent(at, time, assertions.ToImmutable());
    }
}

/// <summary>A small ordinal set of words.</summary>
internal sealed class FrozenWords(params string[] words)
{
    readonly HashSet<string> _words = new(words, StringComparer.Ordinal);
    public bool Contains(string word) => _words.Contains(word);
}
