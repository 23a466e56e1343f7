using System.Collections.Immutable;
using System.Text;
using SimService.Domain.Commands;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Time;

namespace SimService.Domain.Packetdrill;

public sealed partial class PacketdrillRunner
{
    int _segmentCursor;
    ushort? _localPort;
    ushort? _remotePort;
    uint _localIsn;
    readonly Dictionary<(ushort Local, ushort Remote), uint> _isnByPorts = [];
    readonly LiveTimestamps _timestamps = new();

    /// <summary>
    /// The kernel's ISN a line's numbers are relative to: that of the connection the line names by its ports
    /// (<c>&lt; 47001&gt;8080 S …</c>, <c>&gt; 8080&gt;47001 S. …</c>: a second connection to a listener), learned from
    /// the SYN or SYN-ACK the kernel sent on it; for a line without ports the last one the kernel sent, as packetdrill's
    /// one socket has.
    /// </summary>
    uint IsnOf(PacketEvent p, ushort localPort, ushort remotePort) =>
        p.SourcePort is not null && _isnByPorts.TryGetValue((localPort, remotePort), out uint isn) ? isn : _localIsn;

    /// <summary>
    /// Models run_packet.c's handling of an inbound packet: at its time the peer sends it, its ack
    /// (and SACK blocks) moved from script space by the kernel's ISN, its sequence numbers literal,
    /// its TS ecr mapped to the live TS val the kernel sent for that script value.
    /// </summary>
    bool Inbound(PacketEvent p)
    {
        var at = StartOf(p.Time);
        RunTo(at);
        if (_failure is not null || !StartsOnTime(p, at, "inbound packet")) return false;
        if (!TryFlags(p.FlagsText, out var flags)) return Fail(p, "error handling packet: ", $"bad flags '{p.FlagsText}'", p.FlagsText, "");
        ushort localPort = p.DestinationPort ?? _localPort ?? ScriptPort;
        ushort remotePort = p.SourcePort ?? _remotePort ?? RemoteEphemeralPort;
        if (flags == TcpFlags.Syn && _localPort is null)
        {
            // A SYN to a listener opens the flow every later inbound segment belongs to.
            _localPort = localPort;
            _remotePort = remotePort;
        }
        uint isn = IsnOf(p, localPort, remotePort);
        uint ack = flags.HasFlag(TcpFlags.Ack) ? unchecked((p.Ack ?? 0) + isn) : p.Ack ?? 0;
        // The primary constructor, so absent options keep their "absent" defaults (a parameterless
        // struct constructor would zero them: window scale 0 means "offered 0").
        var options = new TcpOptions(Mss: 0);
        // tcp_parse_options() returns at an end-of-option-list (TCPOPT_EOL): the options written after it are never seen.
        foreach (var o in (p.Options ?? []).TakeWhile(o => o is not EolOption))
        {
            switch (o)
            {
                case MssOption m: options = options with { Mss = m.Mss }; break;
                case WscaleOption w: options = options with { WindowScale = w.Shift }; break;
                case SackOkOption: options = options with { SackPermitted = true }; break;
                case TimestampOption ts:
                    if (!_timestamps.TryLiveEcr(ts.Ecr, flags.HasFlag(TcpFlags.Ack), _options.TcpTsEcrScaled || _recorder is not null, out uint ecr))
                        return Fail(p, "error handling packet: ", $"unable to infer live TS ecr for script TS ecr {ts.Ecr};  no matching or preceding outbound TS val", ts.ToString(), "");
                    options = options with { HasTimestamp = true, TsVal = ts.Val, TsEcr = ecr };
                    break;
                case SackOption s:
                    options = options with
                    {
                        Sack = SackBlocks.Of([.. s.Blocks.Take(SackBlocks.Max).Select(b => new SackBlock(unchecked(b.Left + isn), unchecked(b.Right + isn)))]),
                    };
                    break;
            }
        }
        var remote = _sim.FindHost(RemoteHost)!;
        var local = _sim.FindHost(LocalHost)!;
        // The header holds every option written, EOLs and NOPs too, padded to a 32-bit boundary as the kernel runner's
        // TcpWire pads them: th->doff, which header prediction compares (Segment.OptionBytes).
        int written = (OptionBytes(p.Options is { } list ? list : []) + 3) & ~3;
        var seg = new Segment(new FourTuple(new Endpoint(remote.Address, remotePort), new Endpoint(local.Address, localPort)),
            flags, p.Seq, ack, p.Window ?? 0, p.Length, options) { OptionBytes = written != options.WireLength(flags) ? written : null };
        Inject(seg);
        _log.Add($"{Secs(at)} line {p.At.Line}: < {Describe(p, at)[(Secs(at).Length + 1)..]}");
        RunTo(at);
        _anchor = at;
        return _failure is null;
    }

    /// <summary>The scripted peer sends the segment: a logged command, options included, so the command log replays the run.</summary>
    void Inject(Segment seg) =>
        Apply(new InjectCommand(RemoteHost, seg.Source.Port, LocalHost, seg.Destination.Port, seg.Flags, seg.Seq, seg.Ack, seg.Window, seg.Length, seg.Options,
            seg.OptionBytes));

    /// <summary>
    /// Models verify_outbound_live_packet(): the next segment the kernel sent (waiting for it in
    /// virtual time if none is queued), mapped into script space and compared field by field in
    /// packetdrill's order — IPv4 total length (so payload and options length), flags, seq, ack,
    /// window unless omitted, the options kind by kind (TS val only with --tcp_ts_tick_usecs), then time.
    /// </summary>
    bool Outbound(PacketEvent p)
    {
        var start = StartOf(p.Time);
        var end = EndOf(p.Time);
        var horizon = (p.Time.Kind == EventTimeKind.Any ? _sim.Now : end) + WaitHorizon;
        if (!RunUntil(() => NextOutbound() is not null, horizon))
        {
            if (_failure is not null) return false;
            return Fail(p, "error handling packet: ", "Timed out waiting for packet", Describe(p, start), "no packet");
        }
        var sent = NextOutbound()!.Value;
        _segmentCursor = sent.Index + 1;
        var actual = sent.Event;
        if ((actual.Flags & TcpFlags.Syn) != 0) _localIsn = _isnByPorts[(actual.Tuple.Local.Port, actual.Tuple.Remote.Port)] = actual.SeqNo;
        _localPort ??= actual.Tuple.Local.Port;
        _remotePort ??= actual.Tuple.Remote.Port;
        uint isn = IsnOf(p, actual.Tuple.Local.Port, actual.Tuple.Remote.Port);
        var actualText = ActualText(actual, isn);
        var scriptText = Describe(p, start);
        if (!TryFlags(p.FlagsText, out var flags)) return Fail(p, "error handling packet: ", $"bad flags '{p.FlagsText}'", scriptText, actualText);
        var error = ComparePorts(p, actual.Tuple.Local.Port, actual.Tuple.Remote.Port) ?? CompareHeaders(p, flags, actual, isn);
        error ??= CompareOptions(p, actual);
        error ??= VerifyTime(p.Time, start, end, actual.At, "outbound packet");
        if (error is not null)
            return Fail(p, "error handling packet: ", $"{error}\nscript packet:  {scriptText}\nactual packet:  {actualText}", scriptText, actualText);
        RecordTsVal(p, actual);
        _log.Add($"{Secs(actual.At)} line {p.At.Line}: > {actualText[(Secs(actual.At).Length + 1)..]}");
        _anchor = actual.At;
        return true;
    }

    /// <summary>
    /// Record mode: every segment the host under test sent so far, into the notebook (the ISN and ports learnt as
    /// Outbound learns them), each numbered from the last SYN its connection's 4-tuple sent, as the kernel runner does.
    /// </summary>
    void RecordOutbound()
    {
        if (_recorder is null) return;
        while (NextOutbound() is { } sent)
        {
            _segmentCursor = sent.Index + 1;
            var s = sent.Event;
            var ports = (s.Tuple.Local.Port, s.Tuple.Remote.Port);
            if ((s.Flags & TcpFlags.Syn) != 0) _localIsn = _isnByPorts[ports] = s.SeqNo;
            _localPort ??= s.Tuple.Local.Port;
            _remotePort ??= s.Tuple.Remote.Port;
            _recorder.Segment(s.At.Ns, s.Flags == TcpFlags.None ? "" : s.Flags.ToLetters(), s.SeqNo, _isnByPorts.GetValueOrDefault(ports, _localIsn),
                s.Flags.HasFlag(TcpFlags.Ack) ? s.AckNo : null, s.Len, s.Win, LiveOptions(s.Options, s.Flags.HasFlag(TcpFlags.Syn)), _timestamps);
        }
    }

    /// <summary>The next segment the host under test put on the wire that the script has not yet looked at.</summary>
    (SegmentSent Event, int Index)? NextOutbound()
    {
        var journal = _sim.Journal;
        for (int i = _segmentCursor; i < journal.Count; i++)
            if (journal[i] is SegmentSent s && s.Host == LocalHost) return (s, i);
        _segmentCursor = journal.Count;
        return null;
    }

    /// <summary>The ports an outbound line names (<c>&gt; 8080&gt;47001 …</c>): the segment must be that connection's.</summary>
    public static string? ComparePorts(PacketEvent p, ushort localPort, ushort remotePort) =>
        p.SourcePort is { } src && p.DestinationPort is { } dst ? Field("tcp_src_port", src, localPort) ?? Field("tcp_dst_port", dst, remotePort) : null;

    string? CompareHeaders(PacketEvent p, TcpFlags flags, SegmentSent actual, uint isn)
    {
        int scriptOptionBytes = p.Options is { } list ? OptionBytes(list) : OptionBytes(LiveOptions(actual.Options, actual.Flags.HasFlag(TcpFlags.Syn)));
        int actualOptionBytes = OptionBytes(LiveOptions(actual.Options, actual.Flags.HasFlag(TcpFlags.Syn)));
        return Field("ipv4_total_length", 40 + scriptOptionBytes + p.Length, 40 + actualOptionBytes + actual.Len)
            ?? Field("tcp_fin", Bit(flags, TcpFlags.Fin), Bit(actual.Flags, TcpFlags.Fin))
            ?? Field("tcp_syn", Bit(flags, TcpFlags.Syn), Bit(actual.Flags, TcpFlags.Syn))
            ?? Field("tcp_rst", Bit(flags, TcpFlags.Rst), Bit(actual.Flags, TcpFlags.Rst))
            ?? Field("tcp_psh", Bit(flags, TcpFlags.Psh), Bit(actual.Flags, TcpFlags.Psh))
            ?? Field("tcp_ack", Bit(flags, TcpFlags.Ack), Bit(actual.Flags, TcpFlags.Ack))
            ?? Field("tcp_ece", Bit(flags, TcpFlags.Ece), Bit(actual.Flags, TcpFlags.Ece))
            ?? Field("tcp_cwr", Bit(flags, TcpFlags.Cwr), Bit(actual.Flags, TcpFlags.Cwr))
            ?? Field("tcp_seq", p.Seq, unchecked(actual.SeqNo - isn))
            ?? Field("tcp_ack_seq", flags.HasFlag(TcpFlags.Ack) ? p.Ack ?? 0 : 0, actual.Flags.HasFlag(TcpFlags.Ack) ? actual.AckNo : 0)
            ?? (p.Window is { } win ? Field("tcp_window", win, actual.Win) : null);
    }

    static long Bit(TcpFlags flags, TcpFlags bit) => (flags & bit) != 0 ? 1 : 0;

    /// <summary>check_field(): "live packet field tcp_window: expected: 256 (0x100) vs actual: 532 (0x214)".</summary>
    public static string? Field(string name, long expected, long actual) => expected == actual ? null
        : $"live packet field {name}: expected: {expected} (0x{expected:x}) vs actual: {actual} (0x{actual:x})";

    /// <summary>
    /// Models verify_outbound_live_tcp_options(): unless written &lt;...&gt;, the same option kinds in
    /// the same order (NOPs included), equal lengths and values; the TS val is checked only with
    /// --tcp_ts_tick_usecs, within the tolerance; the ecr is not checked.
    /// </summary>
    string? CompareOptions(PacketEvent p, SegmentSent actual) =>
        p.Options is not { } expected ? null : CompareLiveOptions(expected, LiveOptions(actual.Options, actual.Flags.HasFlag(TcpFlags.Syn)), _options);

    /// <summary>
    /// verify_outbound_live_tcp_options() over a script's options and the live ones: the engine's and, in
    /// <c>simservice kernel</c>, the real kernel's. Null when they agree, else packetdrill's message.
    /// </summary>
    public static string? CompareLiveOptions(ImmutableArray<ScriptOption> expected, IReadOnlyList<ScriptOption> live, PacketdrillOptions options)
    {
        for (int i = 0; i < Math.Max(expected.Length, live.Count); i++)
        {
            if (i >= expected.Length || i >= live.Count || expected[i].Kind != live[i].Kind) return "bad outbound TCP options";
            switch (expected[i], live[i])
            {
                case (TimestampOption s, TimestampOption a):
                    if (options.TcpTsTickUsecs > 0 && Math.Abs((long)unchecked((int)(a.Val - s.Val))) * options.TcpTsTickUsecs > options.ToleranceUsecs)
                        return $"bad outbound TCP timestamp value, tolerance {options.ToleranceUsecs}";
                    break;
                case (SackOption s, SackOption a):
                    if (s.Blocks.Length != a.Blocks.Length) return $"bad lengths for outbound TCP option {s.Kind}";
                    if (!s.Blocks.SequenceEqual(a.Blocks)) return $"bad value outbound TCP option {s.Kind}";
                    break;
                case (var s, var a) when s.ToString() != a.ToString():
                    return $"bad value outbound TCP option {s.Kind}";
            }
        }
        return null;
    }

    /// <summary>Remembers the live TS val behind each script TS val, for the ecr of later inbound segments.</summary>
    void RecordTsVal(PacketEvent p, SegmentSent actual)
    {
        if (!actual.Options.HasTimestamp) return;
        var scriptTs = p.Options?.OfType<TimestampOption>().FirstOrDefault();
        if (scriptTs is null) return;
        _timestamps.Record(scriptTs.Val, actual.Options.TsVal);
    }

    /// <summary>
    /// The options of a segment as Linux writes them — tcp_options_write() in net/ipv4/tcp_output.c:
    /// MSS; then SACK-permitted packed with the timestamp (else two NOPs before it); SACK-permitted
    /// alone as NOP,NOP,sackOK; window scale as NOP,wscale; SACK blocks as NOP,NOP,sack. Sequence
    /// numbers in SACK blocks are the peer's (literal in script space).
    /// </summary>
    internal static List<ScriptOption> LiveOptions(TcpOptions o, bool syn)
    {
        var at = new ScriptPosition(0, 0);
        var list = new List<ScriptOption>();
        if (o.Mss > 0) list.Add(new MssOption(at, o.Mss));
        bool sackPermPending = o.SackPermitted;
        if (o.HasTimestamp)
        {
            if (sackPermPending)
            {
                list.Add(new SackOkOption(at));
                sackPermPending = false;
            }
            else
            {
                list.Add(new NopOption(at));
                list.Add(new NopOption(at));
            }
            list.Add(new TimestampOption(at, o.TsVal, o.TsEcr));
        }
        if (sackPermPending)
        {
            list.Add(new NopOption(at));
            list.Add(new NopOption(at));
            list.Add(new SackOkOption(at));
        }
        if (syn && o.WindowScale is { } shift)
        {
            list.Add(new NopOption(at));
            list.Add(new WscaleOption(at, shift));
        }
        if (o.HasSack)
        {
            list.Add(new NopOption(at));
            list.Add(new NopOption(at));
            list.Add(new SackOption(at, [.. o.Sack.ToArray().Select(b => (b.Left, b.Right))]));
        }
        return list;
    }

    static int OptionBytes(IReadOnlyList<ScriptOption> options) => options.Sum(o => o.Length);

    /// <summary>Script flags to the engine's: packetdrill's letters, "" (written "-") for none.</summary>
    static bool TryFlags(string text, out TcpFlags flags)
    {
        flags = TcpFlags.None;
        return text.Length == 0 || TcpFlagsText.TryParse(text, out flags);
    }

    /// <summary>A script packet as packetdrill dumps it: "0.100000 F. 1001:1001(0) ack 1 win 256 &lt;nop,nop,TS val 2010 ecr 1000&gt;".</summary>
    static string Describe(PacketEvent p, SimTime at)
    {
        var sb = new StringBuilder();
        sb.Append(Secs(at)).Append(' ').Append(p.FlagsText.Length == 0 ? "-" : p.FlagsText)
            .Append($" {p.Seq}:{unchecked(p.Seq + (uint)p.Length)}({p.Length})");
        if (p.FlagsText.Contains('.', StringComparison.Ordinal)) sb.Append($" ack {p.Ack ?? 0}");
        if (p.Window is { } w) sb.Append($" win {w}");
        if (p.Options is { IsEmpty: false } o) sb.Append($" <{string.Join(",", o)}>");
        return sb.ToString();
    }

    /// <summary>The live segment in script space, as packetdrill dumps the actual packet.</summary>
    string ActualText(SegmentSent s, uint isn)
    {
        uint seq = unchecked(s.SeqNo - isn);
        var sb = new StringBuilder();
        sb.Append(Secs(s.At)).Append(' ').Append(s.Flags == TcpFlags.None ? "-" : s.Flags.ToLetters())
            .Append($" {seq}:{unchecked(seq + (uint)s.Len)}({s.Len})");
        if (s.Flags.HasFlag(TcpFlags.Ack)) sb.Append($" ack {s.AckNo}");
        sb.Append($" win {s.Win}");
        var options = LiveOptions(s.Options, s.Flags.HasFlag(TcpFlags.Syn));
        if (options.Count > 0) sb.Append($" <{string.Join(",", options)}>");
        return sb.ToString();
    }
}
