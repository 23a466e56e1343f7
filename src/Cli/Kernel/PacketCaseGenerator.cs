using System.Globalization;
using System.Text;
using SimService.Domain.Engine;

namespace SimService.Cli.Kernel;

/// <summary>
/// Writes a random record-mode packetdrill script for <c>simservice kernel --fuzz-pkt</c>: one socket, a handshake
/// (passive or active, with a random choice of MSS, SACK, timestamps and window scaling), then a random walk towards and
/// through teardown — calls (write, read, shutdown, close, SO_LINGER {1, 0}, TCP_LINGER2, keepalive options, SIOCINQ /
/// SIOCOUTQ, SO_ERROR) and segments from the peer drawn relative to what is known of the sequence space when the
/// script is written (in window, at its edges, out of it, wrapped, with and without ACK, timestamps newer and older,
/// SACK blocks, zero windows, RSTs, SYNs and FINs), with tcp_info's state read between, at random gaps; with
/// --fuzz-sysctls a first line of sysctls (<see cref="DrawSysctls"/>). The same seed always writes the same script
/// (our PCG, never System.Random).
/// </summary>
internal sealed partial class PacketCaseGenerator
{
    readonly IRandomSource _rng;
    readonly StringBuilder _text = new();
    /// <summary>Script time of the last line, in µs.</summary>
    long _now;
    bool _ts, _sack;
    /// <summary>The peer's non-SYN segments carry timestamps: it offered them and the socket's tcp_timestamps is on.</summary>
    bool _echoTs;
    int? _wscale;
    int _mss;
    /// <summary>The peer's next sequence number (literal: inbound numbers are written as they go on the wire).</summary>
    uint _peerNxt;
    uint _peerTsBase;
    /// <summary>Bytes the socket was asked to write, and whether its FIN is expected on the wire (script space: its ISN is 0).</summary>
    long _written;
    bool _localFin, _closed, _shutWr, _lingerZero;
    /// <summary>When the socket last sent something we expect (its TS val, in ms since its first, is what the peer echoes).</summary>
    long _lastOut;
    int _window;
    int _fd;

    /// <summary>Total script time the walk may use, in µs (each case ≤ ~10 s, many far shorter).</summary>
    const long Budget = 10_000_000;

    PacketCaseGenerator(long seed) => _rng = new Pcg32(seed, stream: 0x7061636b);

    /// <summary>
    /// The case of <paramref name="seed"/>: a record-mode script (inbound segments, calls, %{ }% blocks only); with
    /// <paramref name="sysctls"/> it starts with a line of sysctls drawn from their own stream (<see cref="DrawSysctls"/>).
    /// </summary>
    public static string Generate(long seed, bool edges = false, bool sysctls = false, bool teardown = false, bool receive = false, bool options = false) =>
        new PacketCaseGenerator(seed) { _receive = receive, _odd = options ? new Pcg32(seed, stream: 0x6f707473) : null }.Write(seed, edges, sysctls, teardown);

    string Write(long seed, bool edges, bool sysctls, bool teardown)
    {
        var settings = sysctls ? DrawSysctls(seed) : [];
        bool passive = Chance(0.5);
        _ts = Chance(0.7);
        _sack = Chance(0.6);
        _wscale = Chance(0.6) ? Pick(0, 2, 7, 14) : null;
        _mss = Pick(536, 1000, 1460);
        _window = _wscale is null ? Pick(257, 4000, 65535) : Pick(257, 1000);
        // Near 2^31 (where before()/after() turn), or anywhere; never so near 2^32 that a segment's end would wrap (a script
        // cannot write one: packetdrill's parser wants end == start + len without wrapping).
        _peerNxt = Pick(0u, 1_000_000u, 2_147_483_000u, _rng.NextUInt32() % 4_000_000_000u);
        _peerTsBase = Pick(1000u, 4_294_960_000u);
        DrawOddSyn();
        // --fuzz-teardown takes the place of --fuzz-edges (Teardown()); the other modes' lines are written as before.
        edges &= !teardown;
        Line($"// simservice kernel --fuzz-pkt 1 --seed {seed}{(edges ? " --fuzz-edges" : "")}{(teardown ? " --fuzz-teardown" : "")}{(sysctls ? " --fuzz-sysctls" : "")}{(_receive ? " --fuzz-rcv" : "")}{(_odd is null ? "" : " --fuzz-opts")}: {(edges ? "edge walk, " : "")}{(teardown ? "teardown walk, " : "")}{(_receive ? "receive-path walk, " : "")}{(_odd is null ? "" : "odd options, ")}{(passive ? "passive" : "active")} open{(edges ? " unless the edge opens it" : "")}, mss {_synMss ?? _mss}"
            + $"{(_sack ? ", sack" : "")}{(_ts ? ", ts" : "")}{(_wscale is { } w ? $", wscale {w}" : "")}; record mode (outbound packets are recorded, not stated)");
        if (settings.Count > 0) At($"`sysctl -q {string.Join(" ", settings.Select(x => $"net.ipv4.{x.Key}={x.Value}"))}`");
        // Without timestamps of its own the socket sends no TS val for the peer to echo (tcp_timestamps 0: the SYN's TS
        // option is not taken up), so the peer's later segments carry none either; its SYN still offers them.
        _echoTs = _ts && !settings.Contains(new("tcp_timestamps", "0"));
        if (teardown) Teardown(passive);
        else if (edges) Edge(passive);
        else if (passive) Passive();
        else Active();
        int steps = 3 + (int)(_rng.NextUInt32() % 18);
        for (int i = 0; i < steps && _now < Budget; i++)
        {
            Gap();
            Step();
        }
        Advance(Pick(50_000L, 300_000L, 1_000_000L, 2_500_000L));
        State();
        return _text.ToString();
    }

    // ---- sysctls (--fuzz-sysctls) --------------------------------------------------------------

    /// <summary>
    /// The sysctls a case may set, each with the values drawn and how often: only what the engine models and what the
    /// walk can meet within its ~10 s — RFC 1337 (an RST to TIME-WAIT ignored: tcp_timewait_state_process()), SACK,
    /// D-SACK, timestamps and window scaling off, few retransmissions (tcp_retries2, tcp_orphan_retries,
    /// tcp_syn_retries, tcp_synack_retries), a short FIN-WAIT-2 (tcp_fin_timeout), tcp_abort_on_overflow, SACK
    /// compression off or at once (tcp_comp_sack_nr), the delayed-ACK ping-pong threshold (tcp_pingpong_thresh) and no
    /// rate limit on out-of-window ACKs (tcp_invalid_ratelimit). Not drawn: tcp_tw_reuse (the walk never connects
    /// again from a TIME-WAIT's port) and the keepalive sysctls (the walk sets the socket options instead).
    /// </summary>
    static readonly (string Name, double Chance, string[] Values)[] Sysctls =
    [
        ("tcp_rfc1337", 0.5, ["1"]),
        ("tcp_sack", 0.2, ["0"]),
        ("tcp_dsack", 0.15, ["0"]),
        ("tcp_timestamps", 0.2, ["0"]),
        ("tcp_window_scaling", 0.15, ["0"]),
        ("tcp_retries2", 0.15, ["1", "2", "3"]),
        ("tcp_orphan_retries", 0.15, ["1", "2", "3"]),
        ("tcp_syn_retries", 0.1, ["1", "2"]),
        ("tcp_synack_retries", 0.1, ["0", "1", "2"]),
        ("tcp_fin_timeout", 0.15, ["1", "2", "5"]),
        ("tcp_abort_on_overflow", 0.1, ["1"]),
        ("tcp_comp_sack_nr", 0.1, ["0", "1"]),
        ("tcp_pingpong_thresh", 0.1, ["3"]),
        ("tcp_invalid_ratelimit", 0.1, ["0"]),
    ];

    /// <summary>
    /// A case's sysctls, from a stream of their own (the same seed's walk is drawn as without them): each of
    /// <see cref="Sysctls"/> with its chance, at least one.
    /// </summary>
    static List<KeyValuePair<string, string>> DrawSysctls(long seed)
    {
        IRandomSource rng = new Pcg32(seed, stream: 0x73797363);
        var drawn = new List<KeyValuePair<string, string>>();
        foreach (var (name, chance, values) in Sysctls)
        {
            bool take = rng.NextDouble() < chance;
            string value = values[rng.NextUInt32() % (uint)values.Length];
            if (take) drawn.Add(new(name, value));
        }
        if (drawn.Count == 0) drawn.Add(new("tcp_rfc1337", "1"));
        return drawn;
    }

    // ---- handshake ----------------------------------------------------------------------------

    /// <summary>A non-blocking listener on fd 3 and the peer's SYN to it (the request socket's SYN-ACK follows).</summary>
    void ListenAndTakeSyn(Action? beforeListen = null)
    {
        At("socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
        At("setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
        beforeListen?.Invoke();
        At("bind(3, ..., ...) = 0");
        At("listen(3, 1) = 0");
        // Non-blocking, so a handshake the walk spoils makes accept() fail with EAGAIN on both sides rather than block.
        At("fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
        At($"< S {_peerNxt}:{_peerNxt}(0) win {_window} <{SynOptions()}>");
        _peerNxt++;
        _lastOut = _now;
    }

    /// <summary>A passive open; <paramref name="beforeListen"/> writes lines on the listener before listen().</summary>
    void Passive(Action? beforeListen = null)
    {
        ListenAndTakeSyn(beforeListen);
        Advance(Pick(5_000L, 10_000L, 50_000L));
        At($"< . {_peerNxt}:{_peerNxt}(0) ack 1 win {_window}{Options(sackBlock: null, handshake: true)}");
        At("accept(3, ..., ...) = 4");
        _fd = 4;
        At("fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
    }

    /// <summary>An active open; <paramref name="beforeConnect"/> writes lines on the socket before connect().</summary>
    void Active(Action? beforeConnect = null)
    {
        At("socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
        At("fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
        beforeConnect?.Invoke();
        At("connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
        _lastOut = _now;
        Advance(Pick(5_000L, 10_000L, 50_000L));
        At($"< S. {_peerNxt}:{_peerNxt}(0) ack 1 win {_window} <{SynOptions(ack: true)}>");
        _peerNxt++;
        _lastOut = _now;
        _fd = 3;
    }

    /// <summary>A SYN's options (<paramref name="oldTs"/>: a TS val 1000 older); a SYN-ACK (<paramref name="ack"/>) offers timestamps only to a socket that sent them in its SYN.</summary>
    string SynOptions(bool ack = false, bool oldTs = false)
    {
        var parts = new List<string> { $"mss {_synMss ?? _mss}" };
        if (_ts && (!ack || _echoTs)) parts.Add($"{(_sack ? "sackOK" : "nop,nop")},TS val {(oldTs ? unchecked(PeerTs() - 1000) : PeerTs())} ecr 0");
        else if (_sack) parts.Add("nop,nop,sackOK");
        if (_wscale is { } w) parts.Add($"nop,wscale {w}");
        return string.Join(",", parts);
    }

    // ---- the walk -----------------------------------------------------------------------------

    void Step()
    {
        if (_timeWaitWalk)
        {
            TimeWaitStep();
            return;
        }
        // --fuzz-rcv: a receive-path move instead of a plain step, drawn only in that mode (the other modes' streams stay as they were).
        if (_receive && Chance(0.45))
        {
            ReceiveStep();
            return;
        }
        double r = _rng.NextDouble();
        if (r < 0.12) State();
        else if (r < 0.42 && !_closed) Call();
        else if (r < 0.62) Ack();
        else if (r < 0.77) Data();
        else if (r < 0.87) Fin();
        else if (r < 0.95) Rst();
        else Syn();
    }

    void Call()
    {
        double r = _rng.NextDouble();
        if (r < 0.22 && !_shutWr)
        {
            int n = Pick(1, 10, 100, 1000, 2920);
            At($"write({_fd}, ..., {n}) = {n}");
            _written += n;
            _lastOut = _now;
        }
        else if (r < 0.34) At($"read({_fd}, ..., 2000) = 0");
        else if (r < 0.46)
        {
            string how = Pick("SHUT_WR", "SHUT_WR", "SHUT_RD", "SHUT_RDWR");
            At($"shutdown({_fd}, {how}) = 0");
            if (how != "SHUT_RD") FinQueued();
        }
        else if (r < 0.62)
        {
            At($"close({_fd}) = 0");
            _closed = true;
            if (!_lingerZero) FinQueued();
        }
        else if (r < 0.68)
        {
            At($"setsockopt({_fd}, SOL_SOCKET, SO_LINGER, {{onoff=1, linger=0}}, 8) = 0");
            _lingerZero = true;
        }
        else if (r < 0.76) At($"setsockopt({_fd}, SOL_TCP, TCP_LINGER2, [{Pick(-1, 0, 1, 3)}], 4) = 0");
        else if (r < 0.84)
        {
            At($"setsockopt({_fd}, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0");
            At($"setsockopt({_fd}, SOL_TCP, TCP_KEEPIDLE, [{Pick(1, 2)}], 4) = 0");
            At($"setsockopt({_fd}, SOL_TCP, TCP_KEEPINTVL, [1], 4) = 0");
            At($"setsockopt({_fd}, SOL_TCP, TCP_KEEPCNT, [{Pick(1, 2, 3)}], 4) = 0");
        }
        else if (r < 0.92) At($"ioctl({_fd}, {Pick("SIOCINQ", "SIOCOUTQ")}, [0]) = 0");
        else At($"getsockopt({_fd}, SOL_SOCKET, SO_ERROR, [0], [4]) = 0");
    }

    void FinQueued()
    {
        if (!_shutWr) _lastOut = _now;
        _shutWr = true;
        _localFin = true;
    }

    /// <summary>The socket's sequence space as the peer knows it when the script is written: everything written, and the FIN.</summary>
    long LocalEnd => 1 + _written + (_localFin ? 1 : 0);

    /// <summary>An ack from the peer: of everything, of part, an old one, of unsent data, far off; sometimes with a SACK block.</summary>
    uint AckValue() => (uint)(Weighted<long>((5, LocalEnd), (2, 1 + (long)(_rng.NextDouble() * (LocalEnd - 1))), (1, Math.Max(0, LocalEnd - 1 - Pick(1, 100, 1000))),
        (1, LocalEnd + Pick(1, 1000, 100_000)), (1, LocalEnd + 0x8000_0000L)) & 0xffff_ffff);

    void Ack()
    {
        string? sack = null;
        if (_sack && _written > 1 && Chance(0.3))
        {
            long left = 1 + (long)(_rng.NextDouble() * (_written - 1));
            long right = Chance(0.8) ? Math.Min(1 + _written, left + Pick(1, 100, 1000)) : LocalEnd + 1000;
            sack = $"{left}:{right}";
        }
        sack ??= OddSackBlock();
        int window = Chance(0.15) ? 0 : _window;
        At($"< . {SeqValue()}:{SeqValue(last: true)}(0) ack {AckValue()} win {window}{Options(sack)}");
    }

    uint _drawnSeq;

    /// <summary>A sequence number for the peer's next segment: mostly rcv_nxt, else its edges and beyond, old, or wrapped.</summary>
    uint SeqValue(bool last = false)
    {
        if (last) return _drawnSeq;
        long d = Weighted<long>((14, 0L), (1, 1L), (1, -1L), (1, -Pick(100L, 5000L)), (1, Pick(1000L, 70_000L, 1_000_000L)), (1, 0x8000_0000L));
        _drawnSeq = unchecked(_peerNxt + (uint)d);
        return _drawnSeq;
    }

    void Data()
    {
        uint seq = SeqValue();
        int length = Fit(seq, Pick(1, 10, 100, 1000));
        string flags = Chance(0.9) ? "P." : "P";
        At($"< {flags} {seq}:{unchecked(seq + (uint)length)}({length}){AckPart(flags)} win {_window}{Options(null)}");
        if (seq == _peerNxt) _peerNxt = unchecked(_peerNxt + (uint)length);
        _lastOut = _now;
    }

    void Fin()
    {
        uint seq = SeqValue();
        int length = Fit(seq, Chance(0.3) ? Pick(1, 100) : 0);
        string flags = Chance(0.93) ? "F." : "F";
        At($"< {flags} {seq}:{unchecked(seq + (uint)length)}({length}){AckPart(flags)} win {_window}{Options(null)}");
        if (seq == _peerNxt) _peerNxt = unchecked(_peerNxt + (uint)length + 1);
        _lastOut = _now;
    }

    /// <summary>A payload length that does not carry the segment's end past 2^32 − 1 (shortened, to 0 at worst).</summary>
    static int Fit(uint seq, int length) => (int)Math.Min((ulong)length, uint.MaxValue - (ulong)seq);

    void Rst()
    {
        uint seq = SeqValue();
        string flags = Chance(0.6) ? "R." : "R";
        At($"< {flags} {seq}:{seq}(0){AckPart(flags)} win 0{Options(null)}");
    }

    /// <summary>A SYN on the connection: above rcv_nxt (TIME-WAIT may open a new connection) or below it, with and without timestamps.</summary>
    void Syn()
    {
        uint seq = unchecked(_peerNxt + (uint)Weighted<long>((3, Pick(1L, 100_000L)), (1, -Pick(1L, 100_000L)), (1, 0L)));
        At($"< S {seq}:{seq}(0) win {_window} <{SynOptions()}>");
        _lastOut = _now;
    }

    string AckPart(string flags) => flags.Contains('.', StringComparison.Ordinal) ? $" ack {AckValue()}" : "";

    /// <summary>The peer's options of a non-SYN segment: its TS (mostly newer, sometimes older, now and then left out) and a SACK block.</summary>
    string Options(string? sackBlock, bool handshake = false)
    {
        var parts = new List<string>();
        if (_echoTs && !Chance(0.05))
        {
            uint val = Chance(0.1) && !handshake ? unchecked(PeerTs() - Pick(1u, 100_000u)) : PeerTs();
            parts.Add($"nop,nop,TS val {val} ecr {Math.Max(0, _lastOut / 1000)}");
        }
        if (sackBlock is not null) parts.Add($"nop,nop,sack {sackBlock}");
        return OptionList(parts);
    }

    /// <summary>A non-SYN segment's option list as the script writes it (with --fuzz-opts, its odd draw applied).</summary>
    string OptionList(List<string> parts)
    {
        parts = OddOptions(parts);
        return parts.Count == 0 ? "" : $" <{string.Join(",", parts)}>";
    }

    /// <summary>The peer's TS clock: a base plus its script time in ms (wraps past 2^32 with some bases).</summary>
    uint PeerTs() => unchecked(_peerTsBase + (uint)(_now / 1000));

    void State() => At("%{ assert tcpi_state >= 0 }%");

    // ---- time and text ------------------------------------------------------------------------

    /// <summary>A random gap: often none or a few ms, sometimes hundreds of ms, now and then seconds.</summary>
    void Gap() => Advance(Weighted<long>((7, 0L), (5, 1_000L + _rng.NextUInt32() % 20_000), (5, 20_000L + _rng.NextUInt32() % 380_000), (2, 500_000L + _rng.NextUInt32() % 2_500_000)));

    long _pendingGap;

    void Advance(long us) => _pendingGap += us;

    void At(string text)
    {
        long gap = _pendingGap;
        _pendingGap = 0;
        _now += gap;
        Line($"{"+" + (gap / 1e6).ToString("0.######", CultureInfo.InvariantCulture),9} {text}");
    }

    void Line(string text) => _text.Append(text).Append('\n');

    bool Chance(double p) => _rng.Chance(p);

    T Pick<T>(params T[] items) => _rng.Pick(items);

    T Weighted<T>(params (int Weight, T Value)[] items) => _rng.Weighted(items);
}

/// <summary>The generators' draws from one random stream (a walk's, or a mode's own).</summary>
internal static class RandomDraws
{
    public static bool Chance(this IRandomSource rng, double p) => rng.NextDouble() < p;

    public static T Pick<T>(this IRandomSource rng, params T[] items) => items[rng.NextUInt32() % (uint)items.Length];

    public static T Weighted<T>(this IRandomSource rng, params (int Weight, T Value)[] items)
    {
        long r = rng.NextUInt32() % items.Sum(i => i.Weight);
        foreach (var (w, v) in items)
        {
            if (r < w) return v;
            r -= w;
        }
        return items[^1].Value;
    }
}
