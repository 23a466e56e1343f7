using System.Collections.Frozen;

namespace SimService.Domain.Scenarios;

/// <summary>A two-way table between an enum and the format's spellings; the first spelling of a value is canonical.</summary>
internal sealed class WireTable<T> where T : struct, Enum
{
    readonly FrozenDictionary<string, T> _byText;
    readonly FrozenDictionary<T, string> _canonical;

    public WireTable(params (string Text, T Value)[] entries)
    {
        _byText = entries.ToFrozenDictionary(e => e.Text, e => e.Value, StringComparer.Ordinal);
        _canonical = entries.DistinctBy(e => e.Value).ToFrozenDictionary(e => e.Value, e => e.Text);
        Expected = string.Join(", ", entries.DistinctBy(e => e.Value).Select(e => $"\"{e.Text}\""));
    }

    /// <summary>The canonical spellings, for error messages.</summary>
    public string Expected { get; }

    public bool TryParse(string text, out T value) => _byText.TryGetValue(text, out value);

    public string ToText(T value) => _canonical[value];

    /// <summary>The canonical spellings with their values, in the table's order.</summary>
    public IEnumerable<(string Text, T Value)> Entries => _canonical.Keys.Order().Select(v => (_canonical[v], v));
}

/// <summary>The format's spelling of every enum a scenario document uses.</summary>
public static class ScenarioWireNames
{
    internal static readonly WireTable<ScenarioHostKind> HostKinds = new(
        ("linux", ScenarioHostKind.Linux), ("scripted", ScenarioHostKind.Scripted));

    internal static readonly WireTable<SocketCall> Calls = new(
        ("socket", SocketCall.Socket), ("bind", SocketCall.Bind), ("listen", SocketCall.Listen),
        ("connect", SocketCall.Connect), ("accept", SocketCall.Accept), ("send", SocketCall.Send),
        ("recv", SocketCall.Recv), ("shutdown", SocketCall.Shutdown), ("close", SocketCall.Close),
        ("setsockopt", SocketCall.Setsockopt), ("getsockopt", SocketCall.Getsockopt), ("getpeername", SocketCall.Getpeername),
        ("fcntl", SocketCall.Fcntl), ("poll", SocketCall.Poll), ("dup", SocketCall.Dup), ("dup2", SocketCall.Dup2),
        ("setrlimit", SocketCall.Setrlimit));

    internal static readonly WireTable<ShutdownHow> Hows = new(
        ("SHUT_RD", ShutdownHow.Read), ("SHUT_WR", ShutdownHow.Write), ("SHUT_RDWR", ShutdownHow.ReadWrite));

    internal static readonly WireTable<SocketOption> Options = new(
        ("SO_LINGER", SocketOption.SoLinger), ("TCP_LINGER2", SocketOption.TcpLinger2),
        ("SO_REUSEADDR", SocketOption.SoReuseAddr), ("SO_REUSEPORT", SocketOption.SoReusePort), ("SO_KEEPALIVE", SocketOption.SoKeepAlive),
        ("TCP_KEEPIDLE", SocketOption.TcpKeepIdle), ("TCP_KEEPINTVL", SocketOption.TcpKeepIntvl),
        ("TCP_KEEPCNT", SocketOption.TcpKeepCnt), ("TCP_USER_TIMEOUT", SocketOption.TcpUserTimeout),
        ("SO_SNDBUF", SocketOption.SoSndBuf), ("SO_RCVBUF", SocketOption.SoRcvBuf),
        ("SO_ERROR", SocketOption.SoError), ("TCP_INFO", SocketOption.TcpInfo), ("SO_MEMINFO", SocketOption.SoMeminfo),
        ("SO_SNDTIMEO", SocketOption.SoSndTimeo), ("SO_RCVTIMEO", SocketOption.SoRcvTimeo),
        ("IP_LOCAL_PORT_RANGE", SocketOption.IpLocalPortRange), ("IP_BIND_ADDRESS_NO_PORT", SocketOption.IpBindAddressNoPort),
        ("TCP_NODELAY", SocketOption.TcpNoDelay), ("TCP_CORK", SocketOption.TcpCork),
        ("TCP_QUICKACK", SocketOption.TcpQuickAck), ("TCP_SYNCNT", SocketOption.TcpSynCnt),
        ("TCP_DEFER_ACCEPT", SocketOption.TcpDeferAccept), ("TCP_MAXSEG", SocketOption.TcpMaxSeg),
        ("TCP_CONGESTION", SocketOption.TcpCongestion),
        ("SO_RCVLOWAT", SocketOption.SoRcvLowat), ("TCP_NOTSENT_LOWAT", SocketOption.TcpNotsentLowat),
        ("TCP_RTO_MAX_MS", SocketOption.TcpRtoMaxMs));

    /// <summary>send()/recv()'s flags by their kernel names (send: MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL; recv: MSG_PEEK, MSG_DONTWAIT).</summary>
    internal static readonly WireTable<Tcp.MsgFlags> MsgFlagNames = new(
        ("MSG_MORE", Tcp.MsgFlags.MSG_MORE), ("MSG_DONTWAIT", Tcp.MsgFlags.MSG_DONTWAIT),
        ("MSG_NOSIGNAL", Tcp.MsgFlags.MSG_NOSIGNAL), ("MSG_PEEK", Tcp.MsgFlags.MSG_PEEK));

    internal static readonly WireTable<Workloads.CloseFirst> CloseFirsts = new(
        ("client", Workloads.CloseFirst.Client), ("server", Workloads.CloseFirst.Server), ("both", Workloads.CloseFirst.Both));

    internal static readonly WireTable<Workloads.CloseStyle> CloseStyles = new(
        ("close", Workloads.CloseStyle.Close), ("shutdown-then-close", Workloads.CloseStyle.ShutdownThenClose),
        ("linger-zero", Workloads.CloseStyle.LingerZero), ("linger", Workloads.CloseStyle.Linger), ("kill", Workloads.CloseStyle.Kill));

    internal static readonly WireTable<Journal.JournalLevel> JournalLevels = new(
        ("full", Journal.JournalLevel.Full), ("states", Journal.JournalLevel.States), ("counters", Journal.JournalLevel.Counters));

    internal static readonly WireTable<KillSignal> Signals = new(
        ("SIGKILL", KillSignal.Kill), ("SIGTERM", KillSignal.Term), ("SIGINT", KillSignal.Int),
        ("SIGHUP", KillSignal.Hup), ("SIGQUIT", KillSignal.Quit), ("SIGABRT", KillSignal.Abrt),
        ("SIGSEGV", KillSignal.Segv), ("SIGPIPE", KillSignal.Pipe), ("SIGALRM", KillSignal.Alrm),
        ("SIGUSR1", KillSignal.Usr1), ("SIGUSR2", KillSignal.Usr2));

    /// <summary>ss's names first (canonical), then the underscore spellings and ss's short names.</summary>
    internal static readonly WireTable<SocketStateName> States = new(
        ("ESTABLISHED", SocketStateName.Established), ("SYN-SENT", SocketStateName.SynSent),
        ("SYN-RECV", SocketStateName.SynRecv), ("FIN-WAIT-1", SocketStateName.FinWait1),
        ("FIN-WAIT-2", SocketStateName.FinWait2), ("TIME-WAIT", SocketStateName.TimeWait),
        ("CLOSE-WAIT", SocketStateName.CloseWait), ("LAST-ACK", SocketStateName.LastAck),
        ("CLOSING", SocketStateName.Closing), ("LISTEN", SocketStateName.Listen), ("CLOSED", SocketStateName.Closed),
        ("SYN_SENT", SocketStateName.SynSent), ("SYN_RECV", SocketStateName.SynRecv),
        ("FIN_WAIT_1", SocketStateName.FinWait1), ("FIN_WAIT_2", SocketStateName.FinWait2),
        ("TIME_WAIT", SocketStateName.TimeWait), ("CLOSE_WAIT", SocketStateName.CloseWait),
        ("LAST_ACK", SocketStateName.LastAck), ("FIN_WAIT1", SocketStateName.FinWait1),
        ("FIN_WAIT2", SocketStateName.FinWait2), ("ESTAB", SocketStateName.Established),
        ("UNCONN", SocketStateName.Closed));

    internal static readonly WireTable<SsTimer> Timers = new(
        ("on", SsTimer.On), ("keepalive", SsTimer.Keepalive), ("timewait", SsTimer.TimeWait),
        ("persist", SsTimer.Persist), ("off", SsTimer.Off));

    /// <summary>"socket", "connect", ...</summary>
    public static string ToWireName(this SocketCall call) => Calls.ToText(call);

    /// <summary>"SHUT_RD", "SHUT_WR", "SHUT_RDWR".</summary>
    public static string ToWireName(this ShutdownHow how) => Hows.ToText(how);

    /// <summary>"SO_LINGER", "TCP_LINGER2", ...</summary>
    public static string ToWireName(this SocketOption option) => Options.ToText(option);

    /// <summary>"SIGKILL", ...</summary>
    public static string ToWireName(this KillSignal signal) => Signals.ToText(signal);

    /// <summary>The state as ss prints it: "ESTABLISHED", "FIN-WAIT-1", "CLOSED", ...</summary>
    public static string ToWireName(this SocketStateName state) => States.ToText(state);

    /// <summary>"on", "keepalive", "timewait", "persist", "off".</summary>
    public static string ToWireName(this SsTimer timer) => Timers.ToText(timer);

    /// <summary>"linux" or "scripted".</summary>
    public static string ToWireName(this ScenarioHostKind kind) => HostKinds.ToText(kind);
}
