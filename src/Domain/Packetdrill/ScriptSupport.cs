using System.Collections.Immutable;
using SimService.Domain.Network;
using SimService.Domain.Tcp;

namespace SimService.Domain.Packetdrill;

/// <summary>
/// Checks, before anything runs, that every construct of a parsed script is one the simulator
/// runs, and reports each one that is not with its line and column (never skipping it): system
/// calls and socket options the engine does not model, IPv6, TCP Fast Open, cmsg, epoll, poll()
/// on more than one descriptor, shell commands other than sysctl settings, sysctls the engine
/// does not model, and tcp_info fields it does not fill. Also folds the script's option lines into
/// the caller's options.
/// </summary>
internal static class ScriptSupport
{

    public static (PacketdrillOptions Options, ImmutableArray<ScriptDiagnostic> Problems) Check(PacketdrillScript script, PacketdrillOptions options)
    {
        var problems = new List<ScriptDiagnostic>();
        var first = new ScriptPosition(1, 1);
        Option(ref options, "ip_version", options.IpVersion, first, problems);
        if (options.Mss is { } mss && mss <= 0) problems.Add(new ScriptDiagnostic(first, "--mss must be positive"));
        foreach (var o in script.Options) Option(ref options, o.Name, o.Value, o.At, problems);
        var scratch = new SysctlTable(options.Profile);
        ScriptEvent? last = null;
        foreach (var ev in script.Events)
        {
            TimeGoesBackward(last, ev, problems);
            last = ev;
            switch (ev)
            {
                case SyscallEvent s: Syscall(s, problems); break;
                case ShellEvent c: Shell(c, scratch, problems); break;
                case CodeEvent c:
                    foreach (var a in c.Assertions)
                    {
                        if (!TcpInfoFields.IsKnown(a.Field) && SkmemFields.IndexOf(a.Field) < 0) problems.Add(Unsupported(a.At, $"tcp_info field {a.Field} is not modelled by the engine"));
                        if (!AssertionValue.TryParse(a.Value, out _))
                            problems.Add(Unsupported(a.At, $"'{a.Value}' in `{a.Text}`: an assertion compares with a Python int or float literal, a TCP_*/TCPI_OPT_*/TCP_CA_* symbol or a tcpi_*/skmem_* field"));
                    }
                    break;
                case PacketEvent { Options: { } list }:
                    // tcp_options_append() in packetdrill's tcp_options.c: the TCP option space is 40 bytes
                    // (MAX_TCP_OPTION_BYTES), so at most 4 SACK blocks, 3 beside a timestamp.
                    int bytes = 0;
                    foreach (var o in list)
                    {
                        bytes += o.Length;
                        if (bytes > TcpConstants.MaxOptionBytes)
                        {
                            problems.Add(new ScriptDiagnostic(o.At, "TCP option list too long"));
                            break;
                        }
                    }
                    break;
            }
        }
        return (options, [.. problems.OrderBy(p => p.At.Line).ThenBy(p => p.At.Column)]);
    }

    static ScriptDiagnostic Unsupported(ScriptPosition at, string message) => new(at, message, Unsupported: true);

    /// <summary>
    /// get_next_event() in packetdrill's run.c: an event at an absolute time earlier than the absolute time of the event
    /// before it stops the script ("time goes backward in script"). A relative event on either side is not compared.
    /// </summary>
    static void TimeGoesBackward(ScriptEvent? last, ScriptEvent ev, List<ScriptDiagnostic> problems)
    {
        if (last is { Time: { IsAbsolute: true } before } && ev.Time is { IsAbsolute: true } now && now.StartUs < before.StartUs)
            problems.Add(new ScriptDiagnostic(ev.At, $"time goes backward in script from {before.StartUs} usec to {now.StartUs} usec"));
    }

    /// <summary>get_s32() in packetdrill's run_system_call.c: a 32-bit argument takes INT_MIN..UINT_MAX.</summary>
    static void Int32Argument(IntExpr value, List<ScriptDiagnostic> problems)
    {
        if (value.Value is > uint.MaxValue or < int.MinValue)
            problems.Add(new ScriptDiagnostic(value.At, $"Value out of range for 32-bit integer: {value.Value}"));
    }

    static void Option(ref PacketdrillOptions options, string name, string? value, ScriptPosition at, List<ScriptDiagnostic> problems)
    {
        options = options.With(name, value, out var error, out bool unsupported);
        if (error is not null) problems.Add(new ScriptDiagnostic(at, error, unsupported));
    }

    static void Syscall(SyscallEvent s, List<ScriptDiagnostic> problems)
    {
        var args = s.Arguments;
        if (s.Result is not IntExpr) problems.Add(new ScriptDiagnostic(s.Result.At, $"expected an integer result for {s.Name}(), found {s.Result}"));
        string? why = s.Name switch
        {
            _ when s.Name.StartsWith("epoll", StringComparison.Ordinal) => "epoll",
            "sendmsg" or "recvmsg" => "cmsg and msghdr calls (sendmsg, recvmsg)",
            "ioctl" or "fcntl" or "poll" or "socket" or "bind" or "listen" or "accept" or "accept4" or "connect" or "write" or "send" or "sendto"
                or "read" or "recv" or "recvfrom" or "shutdown" or "close" or "dup" or "setsockopt" or "getsockopt" => null,
            _ => $"system call {s.Name}()",
        };
        if (why is not null)
        {
            problems.Add(Unsupported(s.At, why));
            return;
        }
        // An AF_INET6 address or socket anywhere among the arguments means IPv6.
        foreach (var word in args.SelectMany(Words))
        {
            if (word.Word is "AF_INET6" or "PF_INET6") problems.Add(Unsupported(word.At, "IPv6"));
            else if (word.Word.StartsWith("MSG_FASTOPEN", StringComparison.Ordinal) || word.Word.StartsWith("TCP_FASTOPEN", StringComparison.Ordinal))
                problems.Add(Unsupported(word.At, "TCP Fast Open"));
        }
        if (args.SelectMany(Words).Any(w => w.Word is "AF_INET6" or "PF_INET6") ||
            args.SelectMany(Words).Any(w => w.Word.StartsWith("MSG_FASTOPEN", StringComparison.Ordinal) || w.Word.StartsWith("TCP_FASTOPEN", StringComparison.Ordinal)))
            return;
        if (s.Name == "poll")
        {
            Poll(s, problems);
            return;
        }
        if (s.Name != "socket" && (args.Length == 0 || args[0] is not IntExpr))
        {
            problems.Add(new ScriptDiagnostic(args.Length > 0 ? args[0].At : s.At, $"{s.Name}(): the first argument is a file descriptor number"));
            return;
        }
        if (args.Length > 0 && args[0] is IntExpr fd) Int32Argument(fd, problems);
        switch (s.Name)
        {
            case "socket":
                if (args.Length != 3) problems.Add(new ScriptDiagnostic(s.At, "socket() takes (domain, type, protocol)"));
                else if (args[1] is not EllipsisExpr && !SyscallMapping.Flags(args[1]).Contains("SOCK_STREAM"))
                    problems.Add(Unsupported(args[1].At, $"socket type {args[1]}: only SOCK_STREAM (TCP)"));
                else if (SyscallMapping.Flags(args[1]).FirstOrDefault(f => f is not ("SOCK_STREAM" or "SOCK_NONBLOCK" or "SOCK_CLOEXEC")) is { } other)
                    problems.Add(Unsupported(args[1].At, $"socket type flag {other}"));
                break;
            case "accept4":
                if (args.Length > 3 && SyscallMapping.Flags(args[3]).FirstOrDefault(f => f is not ("SOCK_NONBLOCK" or "SOCK_CLOEXEC" or "0")) is { } flag)
                    problems.Add(Unsupported(args[3].At, $"accept4() flag {flag}"));
                break;
            case "fcntl":
                if (args.Length < 2 || args[1] is not WordExpr { Word: "F_GETFL" or "F_SETFL" })
                    problems.Add(Unsupported(args.Length > 1 ? args[1].At : s.At, $"fcntl command {(args.Length > 1 ? args[1] : "")}: only F_GETFL and F_SETFL"));
                else if (args[1] is WordExpr { Word: "F_SETFL" } && (args.Length < 3 || SyscallMapping.FileFlags(args[2]) is null))
                    problems.Add(new ScriptDiagnostic(args.Length > 2 ? args[2].At : s.At, "fcntl(F_SETFL) takes file flags: O_RDWR, O_NONBLOCK (or their number)"));
                break;
            case "send" or "recv" or "sendto" or "recvfrom":
                if (args.Length > 3 && args[3] is not EllipsisExpr && SyscallMapping.MsgFlagsOf(args[3], sending: s.Name.StartsWith("send", StringComparison.Ordinal)) is null)
                    problems.Add(Unsupported(args[3].At, $"{s.Name}() flags {args[3]} (modelled: {(s.Name.StartsWith("send", StringComparison.Ordinal) ? "MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL" : "MSG_PEEK, MSG_DONTWAIT")})"));
                if (args.Length < 3 || args[2] is not IntExpr) problems.Add(new ScriptDiagnostic(s.At, $"{s.Name}() needs a byte count"));
                // import_ubuf() — lib/iov_iter.c: a size_t count is cut to MAX_RW_COUNT and the copy faults partway through
                // the buffer; read() and write() check it whole (EFAULT), these do not.
                else if (args[2] is IntExpr { Value: < 0 }) problems.Add(Unsupported(args[2].At, $"a negative count for {s.Name}() (a size_t cut to MAX_RW_COUNT, the copy faulting partway through the buffer)"));
                break;
            case "write" or "read":
                if (args.Length != 3 || args[2] is not IntExpr) problems.Add(new ScriptDiagnostic(s.At, $"{s.Name}() takes (fd, ..., count)"));
                break;
            case "shutdown":
                if (args.Length != 2 || args[1] is not WordExpr { Word: "SHUT_RD" or "SHUT_WR" or "SHUT_RDWR" })
                    problems.Add(new ScriptDiagnostic(s.At, "shutdown() takes (fd, SHUT_RD | SHUT_WR | SHUT_RDWR)"));
                break;
            case "setsockopt" or "getsockopt":
                if (args.Length < 4) problems.Add(new ScriptDiagnostic(s.At, $"{s.Name}() takes (fd, level, name, value, len)"));
                else if (SyscallMapping.OptionOf(args[2]) is not { } option)
                    problems.Add(Unsupported(args[2].At, $"socket option {args[2]} (modelled: {string.Join(", ", Enum.GetNames<SocketOption>())})"));
                else if (!SyscallMapping.LevelMatches(args[1], option))
                    problems.Add(Unsupported(args[1].At, $"{option} at level {args[1]} (the simulator models each option at its own level only)"));
                else if (s.Name == "setsockopt" && option is SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO && SyscallMapping.Timeval(args[3]) is null && SyscallMapping.IntValue(args[3]) is not null)
                    problems.Add(Unsupported(args[3].At, $"an int value for {option} (sock_copy_user_timeval() answers EINVAL for an optlen below struct timeval; the engine takes a timeval)"));
                else if (option == SocketOption.TCP_CONGESTION && args[3] is StringExpr { Text: var ca } && CongestionAlgorithms.Unmodelled.Contains(ca))
                    problems.Add(Unsupported(args[3].At, $"congestion control \"{ca}\" (modelled: reno, cubic)"));
                else if (s.Name == "setsockopt" && !Readable(option, args[3]))
                    problems.Add(new ScriptDiagnostic(args[3].At, $"cannot read the value {args[3]} of {option}"));
                else if (s.Name == "getsockopt" && SyscallMapping.GetsockoptValueProblem(option, args[3], args.Length > 4 ? args[4] : null) is { } problem)
                    problems.Add(new ScriptDiagnostic(args[3].At, problem));
                else if (option == SocketOption.SO_LINGER && SyscallMapping.LingerMembers(args[3]) is { } linger)
                    // struct linger's two ints: packetdrill reads each member with get_s32() (run_system_call.c), as an int argument.
                    foreach (var member in new[] { linger.OnOff, linger.Linger })
                        if (SyscallMapping.IntOf(member) is { } value) Int32Argument(value, problems);
                break;
            case "ioctl":
                if (args.Length < 2 || args[1] is not WordExpr { Word: "SIOCINQ" or "FIONREAD" or "SIOCOUTQ" or "TIOCOUTQ" or "SIOCOUTQNSD" })
                    problems.Add(Unsupported(args.Length > 1 ? args[1].At : s.At, $"ioctl request {(args.Length > 1 ? args[1] : "")}: only SIOCINQ/FIONREAD, SIOCOUTQ/TIOCOUTQ and SIOCOUTQNSD"));
                break;
        }
    }

    /// <summary>
    /// Whether setsockopt()'s value is one the engine takes: SO_LINGER's struct linger; SO_SNDTIMEO /
    /// SO_RCVTIMEO's struct timeval {tv_sec=S, tv_usec=U}; otherwise an int ([N] or N;
    /// IP_LOCAL_PORT_RANGE's u32 hi &lt;&lt; 16 | lo).
    /// </summary>
    static bool Readable(SocketOption option, ScriptExpr value) => option switch
    {
        SocketOption.SO_LINGER => SyscallMapping.Linger(value) is not null,
        SocketOption.SO_SNDTIMEO or SocketOption.SO_RCVTIMEO => SyscallMapping.Timeval(value) is not null,
        SocketOption.TCP_CONGESTION => value is StringExpr,
        _ => SyscallMapping.IntValue(value) is not null,
    };

    /// <summary>poll([{fd=N, events=..., revents=...}, ...], nfds, timeout): any number of descriptors, any timeout.</summary>
    static void Poll(SyscallEvent s, List<ScriptDiagnostic> problems)
    {
        var args = s.Arguments;
        if (args.Length != 3 || args[0] is not ListExpr list || SyscallMapping.IntValue(args[2]) is null)
            problems.Add(new ScriptDiagnostic(s.At, "poll() takes ([{fd=N, events=..., revents=...}], nfds, timeout)"));
        else if (list.Items.FirstOrDefault(item => SyscallMapping.PollFd(item) is null) is { } bad)
            problems.Add(new ScriptDiagnostic(bad.At, "a pollfd is {fd=N, events=POLL..., revents=POLL...}"));
    }

    static IEnumerable<WordExpr> Words(ScriptExpr e) => e switch
    {
        WordExpr w => [w],
        ListExpr l => l.Items.SelectMany(Words),
        StructExpr s => s.Items.SelectMany(Words),
        BinaryExpr b => Words(b.Left).Concat(Words(b.Right)),
        CallExpr c => c.Arguments.SelectMany(Words),
        _ => [],
    };

    static void Shell(ShellEvent c, SysctlTable scratch, List<ScriptDiagnostic> problems)
    {
        var (sets, unsupported) = ShellCommands.Parse(c.Command);
        if (unsupported is not null)
        {
            problems.Add(Unsupported(c.At, unsupported));
            return;
        }
        foreach (var (name, value) in sets)
        {
            if (!SysctlCatalog.All.ContainsKey(name)) problems.Add(Unsupported(c.At, $"sysctl {name} is not modelled by the engine"));
            else if (!scratch.TrySet(name, value, out var error))
                problems.Add(SysctlCatalog.All[name].DefaultOnly is not null && SysctlCatalog.KernelTakes(name, scratch.Profile, value)
                    ? Unsupported(c.At, $"sysctl {name}={value}: {error}")
                    : new ScriptDiagnostic(c.At, $"sysctl {name}={value}: {error}"));
        }
    }
}

/// <summary>
/// The SO_MEMINFO fields a %{ }% assertion may read as <c>skmem_NAME</c> — this project's addition to packetdrill's
/// tcpi_* names — in sk_get_meminfo()'s order, each SK_MEMINFO_NAME in lower case (<see cref="SkMeminfo"/>).
/// </summary>
public static class SkmemFields
{
    static readonly string[] Names =
        ["skmem_rmem_alloc", "skmem_rcvbuf", "skmem_wmem_alloc", "skmem_sndbuf", "skmem_fwd_alloc", "skmem_wmem_queued", "skmem_optmem", "skmem_backlog", "skmem_drops"];

    /// <summary>The field's index in u32 meminfo[SK_MEMINFO_VARS], or -1 when <paramref name="field"/> is not one.</summary>
    public static int IndexOf(string field) => Array.IndexOf(Names, field);
}

/// <summary>The struct tcp_info fields a %{ }% assertion may read, from the engine's <see cref="TcpInfo"/>.</summary>
public static class TcpInfoFields
{
    static readonly Dictionary<string, Func<TcpInfo, long>> Fields = new(StringComparer.Ordinal)
    {
        ["tcpi_state"] = i => (long)i.State,
        ["tcpi_ca_state"] = i => i.CaState,
        ["tcpi_options"] = i => (i.Timestamps ? 1 : 0) | (i.Sack ? 2 : 0) | (i.WindowScale ? 4 : 0) | (i.Ecn ? 8 : 0),
        ["tcpi_snd_wscale"] = i => i.SndWscale,
        ["tcpi_rcv_wscale"] = i => i.RcvWscale,
        ["tcpi_rto"] = i => i.RtoUs,
        ["tcpi_ato"] = i => i.AtoUs,
        ["tcpi_backoff"] = i => i.Backoff,
        ["tcpi_retransmits"] = i => i.Retransmits,
        ["tcpi_probes"] = i => i.Probes,
        ["tcpi_snd_mss"] = i => i.SndMss,
        ["tcpi_advmss"] = i => i.AdvMss,
        ["tcpi_pmtu"] = i => i.Pmtu,
        ["tcpi_unacked"] = i => i.Unacked,
        ["tcpi_retrans"] = i => i.Retrans,
        ["tcpi_total_retrans"] = i => i.TotalRetrans,
        ["tcpi_last_ack_recv"] = i => i.LastAckRecvMs,
        ["tcpi_rtt"] = i => i.RttUs,
        ["tcpi_rttvar"] = i => i.RttVarUs,
        ["tcpi_snd_ssthresh"] = i => i.SndSsthresh,
        ["tcpi_snd_cwnd"] = i => i.SndCwnd,
        ["tcpi_rcv_ssthresh"] = i => i.RcvSsthresh,
        ["tcpi_bytes_acked"] = i => i.BytesAcked,
        ["tcpi_bytes_received"] = i => i.BytesReceived,
        ["tcpi_notsent_bytes"] = i => i.NotSentBytes,
        ["tcpi_snd_wnd"] = i => i.SndWnd,
        ["tcpi_rcv_wnd"] = i => i.RcvWnd,
        ["tcpi_dsack_dups"] = i => i.DsackDups,
        ["tcpi_rcv_ooopack"] = i => i.RcvOoopack,
        ["tcpi_rehash"] = i => i.Rehash,
        ["tcpi_lost"] = i => i.Lost,
        ["tcpi_sacked"] = i => i.Sacked,
        ["tcpi_reordering"] = i => unchecked((uint)i.Reordering), // __u32
        ["tcpi_reord_seen"] = i => i.ReordSeen,
        ["tcpi_min_rtt"] = i => i.MinRttUs,
        ["tcpi_rcv_mss"] = i => i.RcvMss,
        ["tcpi_rcv_rtt"] = i => i.RcvRttUs,
        ["tcpi_rcv_space"] = i => i.RcvSpace,
        ["tcpi_last_data_sent"] = i => i.LastDataSentMs,
        ["tcpi_last_data_recv"] = i => i.LastDataRecvMs,
        ["tcpi_pacing_rate"] = i => unchecked((long)i.PacingRate),
        ["tcpi_segs_out"] = i => i.SegsOut,
        ["tcpi_segs_in"] = i => i.SegsIn,
        ["tcpi_data_segs_out"] = i => i.DataSegsOut,
        ["tcpi_data_segs_in"] = i => i.DataSegsIn,
        ["tcpi_delivered"] = i => i.Delivered,
        ["tcpi_delivered_ce"] = i => i.DeliveredCe,
        ["tcpi_delivery_rate"] = i => unchecked((long)i.DeliveryRate),
        ["tcpi_delivery_rate_app_limited"] = i => i.DeliveryRateAppLimited ? 1 : 0,
        ["tcpi_busy_time"] = i => i.BusyTimeUs,
        ["tcpi_rwnd_limited"] = i => i.RwndLimitedUs,
        ["tcpi_sndbuf_limited"] = i => i.SndbufLimitedUs,
        ["tcpi_bytes_sent"] = i => i.BytesSent,
        ["tcpi_bytes_retrans"] = i => i.BytesRetrans,
        // 6.7's RTO statistics (tcp_update_rto_stats(), tcp_update_rto_time()): in the engine's tcp_info (TCP_INFO's value)
        // and read by `simservice kernel`, but refused in a script until session 34.
        ["tcpi_total_rto"] = i => i.TotalRto,
        ["tcpi_total_rto_recoveries"] = i => i.TotalRtoRecoveries,
        ["tcpi_total_rto_time"] = i => i.TotalRtoTimeMs,
    };

    /// <summary>Symbols an assertion may compare with: the TCP_* states (include/net/tcp_states.h), TCPI_OPT_* bits and TCP_CA_* states.</summary>
    static readonly Dictionary<string, long> Symbols = new(StringComparer.Ordinal)
    {
        ["TCP_ESTABLISHED"] = 1, ["TCP_SYN_SENT"] = 2, ["TCP_SYN_RECV"] = 3, ["TCP_FIN_WAIT1"] = 4, ["TCP_FIN_WAIT2"] = 5,
        ["TCP_TIME_WAIT"] = 6, ["TCP_CLOSE"] = 7, ["TCP_CLOSE_WAIT"] = 8, ["TCP_LAST_ACK"] = 9, ["TCP_LISTEN"] = 10, ["TCP_CLOSING"] = 11,
        ["TCPI_OPT_TIMESTAMPS"] = 1, ["TCPI_OPT_SACK"] = 2, ["TCPI_OPT_WSCALE"] = 4,
        // enum tcp_ca_state (include/uapi/linux/tcp.h)
        ["TCP_CA_Open"] = 0, ["TCP_CA_Disorder"] = 1, ["TCP_CA_CWR"] = 2, ["TCP_CA_Recovery"] = 3, ["TCP_CA_Loss"] = 4,
    };

    public static bool IsKnown(string field) => Fields.ContainsKey(field);

    public static long Read(TcpInfo info, string field) => Fields[field](info);

    /// <summary>The value of one of packetdrill's symbols (<see cref="Symbols"/>).</summary>
    public static bool TrySymbol(string text, out long value) => Symbols.TryGetValue(text, out value);
}

/// <summary>
/// The right-hand side of a %{ assert FIELD OP VALUE }% line as packetdrill's Python evaluates it: an int literal
/// (decimal, 0x/0o/0b, with underscores, of any size), a float literal (<c>1e3</c>, <c>2.5</c>), one of the symbols
/// packetdrill defines (TCP_ESTABLISHED, TCPI_OPT_SACK, TCP_CA_Loss …) or another tcpi_/skmem_ field, read at the same
/// time. Anything else is refused before the script runs (<see cref="TryParse"/> false).
/// </summary>
public readonly partial record struct AssertionValue(System.Numerics.BigInteger Int, double? Float, string? Field)
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?[0-9])*|0(?:_?0)*)$")]
    private static partial System.Text.RegularExpressions.Regex IntLiteral();

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*\.(?:[eE][+-]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][+-]?[0-9](?:_?[0-9])*)$")]
    private static partial System.Text.RegularExpressions.Regex FloatLiteral();

    /// <summary>Reads <paramref name="text"/> as Python would (one leading + or −); false for what this reader does not evaluate.</summary>
    public static bool TryParse(string text, out AssertionValue value)
    {
        value = default;
        if (TcpInfoFields.IsKnown(text) || SkmemFields.IndexOf(text) >= 0)
        {
            value = new AssertionValue(default, null, text);
            return true;
        }
        if (TcpInfoFields.TrySymbol(text, out long symbol))
        {
            value = new AssertionValue(symbol, null, null);
            return true;
        }
        bool negative = text.StartsWith('-');
        string digits = text.Length > 0 && text[0] is '-' or '+' ? text[1..] : text;
        if (IntLiteral().IsMatch(digits))
        {
            var n = ParseInt(digits.Replace("_", "", StringComparison.Ordinal));
            value = new AssertionValue(negative ? -n : n, null, null);
            return true;
        }
        if (!FloatLiteral().IsMatch(digits)) return false;
        double f = double.Parse(digits.Replace("_", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        value = new AssertionValue(default, negative ? -f : f, null);
        return true;
    }

    static System.Numerics.BigInteger ParseInt(string digits)
    {
        if (digits.Length < 2 || digits[0] != '0' || char.IsAsciiDigit(digits[1])) return System.Numerics.BigInteger.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
        int radix = char.ToLowerInvariant(digits[1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
        System.Numerics.BigInteger n = 0;
        foreach (char c in digits.AsSpan(2)) n = n * radix + Convert.ToInt32(c.ToString(), 16);
        return n;
    }

    /// <summary>
    /// The sign of <paramref name="actual"/> − this value, as Python compares an int with an int or a float;
    /// <paramref name="field"/> is the value of <see cref="Field"/> when this is a field.
    /// </summary>
    public int CompareWith(long actual, long field) =>
        Field is not null ? actual.CompareTo(field)
        : Float is { } f ? ((double)actual).CompareTo(f)
        : ((System.Numerics.BigInteger)actual).CompareTo(Int);

    /// <summary>Whether <paramref name="actual"/> OP this value holds (==, !=, &lt;, &lt;=, &gt;, &gt;=).</summary>
    public bool Holds(string op, long actual, long field)
    {
        int c = CompareWith(actual, field);
        return op switch { "==" => c == 0, "!=" => c != 0, "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
    }

    /// <summary>Whether <paramref name="actual"/> is within <paramref name="tolerance"/> of this value.</summary>
    public bool Near(long actual, long field, long tolerance) =>
        Field is not null ? Math.Abs(actual - field) <= tolerance
        : Float is { } f ? Math.Abs(actual - f) <= tolerance
        : System.Numerics.BigInteger.Abs(actual - Int) <= tolerance;
}
