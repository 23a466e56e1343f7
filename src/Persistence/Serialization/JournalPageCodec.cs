using System.Buffers.Binary;
using System.Text;
using SimService.Domain.Journal;
using SimService.Domain.Network;
using SimService.Domain.Tcp;
using SimService.Domain.Time;
using SimService.Persistence.Entities;

namespace SimService.Persistence.Serialization;

/// <summary>
/// A journal page: up to <see cref="MaxEvents"/> consecutive events of one simulation in one stored row
/// (<see cref="EventRecord.Page"/>), in a binary, versioned, little-endian encoding, instead of one JSON row per event.
/// <code>
/// header   "SJ" · version (1) · flags (0) · count (u16) · first sequence number (i64)
/// events   count × { code (u8, EventTypeMap.CodeOf) · time − previous time (zigzag varint) · the type's fields }
/// trailer  CRC-32 (IEEE, as zlib's) of everything before it (u32)
/// </code>
/// Sequence numbers are implicit (first + index). Integers are LEB128 varints (signed ones zigzag); segment and call
/// ids are deltas from the previous one in the page; a timer's expiry is a delta from its event's time; a string is
/// an index into the page's string table (0: null), whose next index is followed by the new string's UTF-8 bytes
/// (so a host name or a kernel function's name is written once a page); a 4-tuple likewise through a tuple table.
/// A page decodes to the very events that were encoded (record equality), so a reader that serializes them gets
/// exactly the JSON a one-event row held (<see cref="EventTypeMap.Payload"/>). A page that is not what it says —
/// truncated, a byte changed, an unknown version or code — is a <see cref="JournalPageFormatException"/>, never another
/// exception.
/// </summary>
public static class JournalPageCodec
{
    /// <summary>The encoding's version, the third byte of every page.</summary>
    public const byte Version = 1;

    /// <summary>The most events a page may hold (the header's count is a u16; readers look at most this far back for the page holding a sequence number).</summary>
    public const int MaxEvents = 4096;

    /// <summary>Events per page when not configured (<c>Persistence:JournalPageEvents</c>).</summary>
    public const int DefaultPageEvents = 1024;

    internal const int HeaderBytes = 14;
    internal const int TrailerBytes = 4;

    /// <summary>Decodes a page whose first sequence number must be <paramref name="firstSeq"/> and that holds <paramref name="count"/> events.</summary>
    public static List<SimEvent> Decode(ReadOnlySpan<byte> page, long firstSeq, long count)
    {
        var events = Decode(page);
        if (events.Count != count || events[0].Seq != firstSeq)
            throw new JournalPageFormatException($"holds events {events[0].Seq}..{events[0].Seq + events.Count - 1}, its row says {firstSeq}..{firstSeq + count - 1}");
        return events;
    }

    /// <summary>Decodes a page: its events, in order, with their times and sequence numbers.</summary>
    public static List<SimEvent> Decode(ReadOnlySpan<byte> page)
    {
        if (page.Length < HeaderBytes + TrailerBytes) throw new JournalPageFormatException($"{page.Length} bytes is shorter than a page's header and trailer");
        if (page[0] != (byte)'S' || page[1] != (byte)'J') throw new JournalPageFormatException("does not start with \"SJ\"");
        if (page[2] != Version) throw new JournalPageFormatException($"version {page[2]}; this build reads version {Version}");
        var body = page[..^TrailerBytes];
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(page[^TrailerBytes..]);
        if (Crc32.Of(body) != crc) throw new JournalPageFormatException("checksum mismatch (truncated or changed)");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(page[4..]);
        long seq = BinaryPrimitives.ReadInt64LittleEndian(page[6..]);
        if (count is 0 or > MaxEvents) throw new JournalPageFormatException($"a count of {count}");
        var reader = new PageReader(body, HeaderBytes);
        var events = new List<SimEvent>(count);
        for (int i = 0; i < count; i++) events.Add(reader.Event(seq + i));
        if (!reader.AtEnd) throw new JournalPageFormatException($"{body.Length - reader.Position} bytes after its {count} events");
        return events;
    }

    /// <summary>Encodes events (consecutive sequence numbers, at most <see cref="MaxEvents"/>) as one page.</summary>
    public static byte[] Encode(IReadOnlyList<SimEvent> events)
    {
        var encoder = new JournalPageEncoder();
        foreach (var e in events) encoder.Add(e);
        return encoder.SealBytes();
    }

    internal static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

    internal static long UnZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
}

/// <summary>A journal page that cannot be decoded (<see cref="JournalPageCodec"/>): a clean error naming what is wrong.</summary>
public sealed class JournalPageFormatException(string problem) : FormatException($"Journal page: {problem}.")
{
    /// <summary>What is wrong, without the "Journal page:" prefix.</summary>
    public string Problem { get; } = problem;
}

/// <summary>
/// Builds one journal page at a time from the engine's events (<see cref="JournalPageCodec"/>): each field is written
/// straight into the page's buffer, no JSON or other string made per event. Reusable: <see cref="Seal"/> hands out the
/// page and starts the next.
/// </summary>
public sealed class JournalPageEncoder
{
    /// <summary>
    /// Grows by doubling (<see cref="Reserve"/>) and is kept across pages. It starts small: most requests (one socket
    /// call, a short advance) journal a few events, a page of some hundred bytes — a 16 KB start was W4's largest
    /// allocation, about 40 % of a durable command's bytes.
    /// </summary>
    private byte[] _buffer = new byte[512];

    /// <summary>
    /// Encoders between two requests (<see cref="Rent"/>, <see cref="Return"/>): a request's builder takes one, so that the
    /// buffer and the page's string and tuple tables, grown by earlier requests, are not made again for each (they were
    /// ≈ 8 % of a durable command's bytes). Small: only as many as requests encode at once are ever in use.
    /// </summary>
    private static readonly JournalPageEncoder?[] Pool = new JournalPageEncoder?[16];

    /// <summary>An encoder whose buffer grew past this (a request of big pages) is not kept in <see cref="Pool"/>.</summary>
    private const int MaxPooledBytes = 64 * 1024;

    /// <summary>An encoder with no page begun: a pooled one, or a new one when the pool is empty.</summary>
    public static JournalPageEncoder Rent()
    {
        for (int i = 0; i < Pool.Length; i++)
            if (Interlocked.Exchange(ref Pool[i], null) is { } pooled) return pooled;
        return new JournalPageEncoder();
    }

    /// <summary>Gives back an encoder its user is done with; one with a page begun or a big buffer is left to the collector.</summary>
    public static void Return(JournalPageEncoder encoder)
    {
        if (encoder.Count != 0 || encoder._buffer.Length > MaxPooledBytes) return;
        for (int i = 0; i < Pool.Length; i++)
            if (Interlocked.CompareExchange(ref Pool[i], encoder, null) is null) return;
    }
    private int _pos;
    private readonly Dictionary<string, int> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<FourTuple, int> _tuples = [];
    private long _prevAt, _prevSegment, _prevCall, _firstSeq, _firstAt, _lastSeq, _lastAt;
    private int _types;

    /// <summary>Events in the page being built.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes the page being built takes so far.</summary>
    public int Bytes => _pos;

    public JournalPageEncoder() => Reset();

    private void Reset()
    {
        _pos = JournalPageCodec.HeaderBytes;
        _strings.Clear();
        _tuples.Clear();
        _prevAt = _prevSegment = _prevCall = 0;
        _types = 0;
        Count = 0;
    }

    /// <summary>Adds the next event (its sequence number one more than the previous one's).</summary>
    public void Add(SimEvent e)
    {
        if (Count == JournalPageCodec.MaxEvents) throw new InvalidOperationException($"a journal page holds at most {JournalPageCodec.MaxEvents} events");
        if (Count == 0) (_firstSeq, _firstAt) = (e.Seq, e.At.Ns);
        else if (e.Seq != _lastSeq + 1) throw new InvalidOperationException($"journal event {e.Seq} does not follow {_lastSeq}");
        (_lastSeq, _lastAt) = (e.Seq, e.At.Ns);
        Count++;
        Reserve(64);
        switch (e)
        {
            case SegmentSent s:
                Head(1, s.At);
                Str(s.Host); Tuple(s.Tuple); Byte((byte)s.Flags); U(s.SeqNo); U(s.AckNo); S(s.Len); U(s.Win); Options(s.Options, s.OptionBytes);
                Str(s.Reason); Str(s.To); Segment(s.SegmentId);
                break;
            case SegmentDelivered s:
                Head(2, s.At);
                Str(s.Host); Tuple(s.Tuple); Byte((byte)s.Flags); U(s.SeqNo); U(s.AckNo); S(s.Len); Segment(s.SegmentId);
                break;
            case SegmentDropped s:
                Head(3, s.At);
                Str(s.Host); Tuple(s.Tuple); Byte((byte)s.Flags); U(s.SeqNo); U(s.AckNo); S(s.Len); Str(s.Reason); Segment(s.SegmentId);
                break;
            case SegmentIgnored s:
                Head(4, s.At);
                Str(s.Host); S(s.SocketId); Tuple(s.Tuple); Byte((byte)s.Flags); Str(s.Why);
                break;
            case StateChanged s:
                Head(5, s.At);
                Str(s.Host); S(s.SocketId); S((long)s.From); S((long)s.To); Str(s.Cause);
                break;
            case TimerArmed t:
                Head(6, t.At);
                Str(t.Host); S(t.SocketId); S((long)t.Timer); S(t.Expires.Ns - t.At.Ns);
                break;
            case TimerFired t:
                Head(7, t.At);
                Str(t.Host); S(t.SocketId); S((long)t.Timer);
                break;
            case TimerCancelled t:
                Head(8, t.At);
                Str(t.Host); S(t.SocketId); S((long)t.Timer);
                break;
            case CallIssued c:
                Head(9, c.At);
                Str(c.Host); Str(c.Process); Call(c.CallId); S((long)c.Call); S(c.SocketId); Str(c.Args);
                break;
            case CallReturned c:
                Head(10, c.At);
                Str(c.Host); Str(c.Process); Call(c.CallId); S((long)c.Call); S(c.SocketId); S(c.Result); Str(c.Errno); S(c.Blocked.Ns); Str(c.Value);
                break;
            case KernelLogged k:
                Head(11, k.At);
                Str(k.Host); Str(k.Line);
                break;
            case DataDelivered d:
                Head(12, d.At);
                Str(d.Host); S(d.SocketId); S(d.Bytes);
                break;
            case DataLost d:
                Head(13, d.At);
                Str(d.Host); S(d.SocketId); S(d.Bytes); Str(d.Reason);
                break;
            case ProcessExited p:
                Head(14, p.At);
                Str(p.Host); Str(p.Process); Str(p.Signal);
                break;
            case SysctlChanged p:
                Head(15, p.At);
                Str(p.Host); Str(p.Name); Str(p.Value);
                break;
            case LinkChanged l:
                Head(16, l.At);
                Str(l.From); Str(l.To); S(l.Delay.Ns); Reserve(9);
                BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_pos), l.Loss);
                _pos += 8;
                Byte((byte)((l.Blackhole ? 1 : 0) | (l.LossBySegment ? 2 : 0))); // bit 1 added later: older pages read as false
                break;
            default:
                throw new InvalidOperationException($"Journal event type {e.GetType().Name} has no code in JournalPageCodec.");
        }
    }

    /// <summary>The page built so far as a journal row of <paramref name="runId"/>, and a new page begun.</summary>
    public EventRecord Seal(Guid runId)
    {
        var (firstSeq, firstAt, lastSeq, lastAt, types) = (_firstSeq, _firstAt, _lastSeq, _lastAt, _types);
        var page = SealBytes();
        return new EventRecord { RunId = runId, Seq = firstSeq, AtNs = firstAt, LastSeq = lastSeq, LastAtNs = lastAt, Types = types, Page = page };
    }

    /// <summary>The page built so far, encoded, and a new page begun.</summary>
    public byte[] SealBytes()
    {
        if (Count == 0) throw new InvalidOperationException("an empty journal page");
        var b = _buffer.AsSpan();
        b[0] = (byte)'S';
        b[1] = (byte)'J';
        b[2] = JournalPageCodec.Version;
        b[3] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], (ushort)Count);
        BinaryPrimitives.WriteInt64LittleEndian(b[6..], _firstSeq);
        var page = new byte[_pos + JournalPageCodec.TrailerBytes];
        b[.._pos].CopyTo(page);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(_pos), Crc32.Of(b[.._pos]));
        Reset();
        return page;
    }

    private void Head(byte code, SimTime at)
    {
        _types |= 1 << (code - 1);
        _buffer[_pos++] = code;
        S(at.Ns - _prevAt);
        _prevAt = at.Ns;
    }

    private void Segment(long id)
    {
        S(id - _prevSegment);
        _prevSegment = id;
    }

    private void Call(long id)
    {
        S(id - _prevCall);
        _prevCall = id;
    }

    /// <param name="optionBytes">A header's option bytes when they are not what the options lay out to: bit 64 and a byte after
    /// the bits (since session 41; a page without it reads as before, so stored pages are unchanged).</param>
    private void Options(in TcpOptions o, int? optionBytes)
    {
        byte bits = (byte)((o.Mss != 0 ? 1 : 0) | (o.WindowScale is null ? 0 : 2) | (o.SackPermitted ? 4 : 0) | (o.HasTimestamp ? 8 : 0)
            | (o.TsVal != 0 || o.TsEcr != 0 ? 16 : 0) | (o.Sack != default ? 32 : 0) | (optionBytes is null ? 0 : 64));
        Byte(bits);
        if (optionBytes is { } bytes) Byte((byte)bytes);
        if (o.Mss != 0) U(o.Mss);
        if (o.WindowScale is { } ws) Byte(ws);
        if ((bits & 16) != 0)
        {
            U(o.TsVal);
            U(o.TsEcr);
        }
        if ((bits & 32) != 0)
        {
            Reserve(48);
            S(o.Sack.Count);
            foreach (var block in (ReadOnlySpan<SackBlock>)[o.Sack.B1, o.Sack.B2, o.Sack.B3, o.Sack.B4])
            {
                U(block.Left);
                U(block.Right);
            }
        }
    }

    private void Tuple(FourTuple t)
    {
        if (_tuples.TryGetValue(t, out int index))
        {
            U((ulong)index);
            return;
        }
        U((ulong)_tuples.Count + 1);
        _tuples.Add(t, _tuples.Count + 1);
        Reserve(16);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_pos), t.Local.Address.Value);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_pos + 4), t.Remote.Address.Value);
        _pos += 8;
        U(t.Local.Port);
        U(t.Remote.Port);
    }

    private void Str(string? text)
    {
        if (text is null)
        {
            Byte(0);
            return;
        }
        if (_strings.TryGetValue(text, out int index))
        {
            U((ulong)index);
            return;
        }
        U((ulong)_strings.Count + 1);
        _strings.Add(text, _strings.Count + 1);
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        Reserve(max + 10);
        int length = Encoding.UTF8.GetBytes(text, _buffer.AsSpan(_pos + 5));
        // The length as a varint before the bytes: move them back when it took fewer than 5 bytes.
        int at = _pos;
        U((ulong)length);
        if (_pos != at + 5) _buffer.AsSpan(at + 5, length).CopyTo(_buffer.AsSpan(_pos));
        _pos += length;
    }

    private void Byte(byte value)
    {
        Reserve(1);
        _buffer[_pos++] = value;
    }

    private void S(long value) => U(JournalPageCodec.ZigZag(value));

    private void U(ulong value)
    {
        Reserve(10);
        var b = _buffer;
        int p = _pos;
        while (value >= 0x80)
        {
            b[p++] = (byte)(value | 0x80);
            value >>= 7;
        }
        b[p++] = (byte)value;
        _pos = p;
    }

    private void Reserve(int bytes)
    {
        if (_pos + bytes + JournalPageCodec.TrailerBytes <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _pos + bytes + JournalPageCodec.TrailerBytes));
    }
}

/// <summary>Reads one page's events (<see cref="JournalPageCodec"/>); any read past the end or value out of range is a <see cref="JournalPageFormatException"/>.</summary>
internal ref struct PageReader(ReadOnlySpan<byte> body, int position)
{
    private readonly ReadOnlySpan<byte> _body = body;
    private List<string>? _strings;
    private List<FourTuple>? _tuples;
    private long _prevAt, _prevSegment, _prevCall;

    public int Position { get; private set; } = position;

    public readonly bool AtEnd => Position == _body.Length;

    public SimEvent Event(long seq)
    {
        byte code = Byte();
        long atNs = _prevAt + S();
        if (atNs < 0) throw Bad($"a negative time at event {seq}");
        _prevAt = atNs;
        var at = new SimTime(atNs);
        switch (code)
        {
            case 1:
                {
                    var (host, tuple, flags, seqNo, ackNo, len, win) = (Str(), Tuple(), (TcpFlags)Byte(), U32(), U32(), I32(), U16());
                    var (options, optionBytes) = Options();
                    var (reason, to) = (Str(), StrOrNull());
                    return new SegmentSent(at, seq, host, tuple, flags, seqNo, ackNo, len, win, options, reason, to, Segment(), optionBytes);
                }
            case 2:
                {
                    var (host, tuple, flags, seqNo, ackNo, len) = (Str(), Tuple(), (TcpFlags)Byte(), U32(), U32(), I32());
                    return new SegmentDelivered(at, seq, host, tuple, flags, seqNo, ackNo, len, Segment());
                }
            case 3:
                {
                    var (host, tuple, flags, seqNo, ackNo, len, reason) = (Str(), Tuple(), (TcpFlags)Byte(), U32(), U32(), I32(), Str());
                    return new SegmentDropped(at, seq, host, tuple, flags, seqNo, ackNo, len, reason, Segment());
                }
            case 4:
                {
                    var (host, socket, tuple, flags, why) = (Str(), I32(), Tuple(), (TcpFlags)Byte(), Str());
                    return new SegmentIgnored(at, seq, host, socket, tuple, flags, why);
                }
            case 5:
                {
                    var (host, socket, from, to, cause) = (Str(), I32(), Enum<TcpState>(), Enum<TcpState>(), Str());
                    return new StateChanged(at, seq, host, socket, from, to, cause);
                }
            case 6:
                {
                    var (host, socket, timer) = (Str(), I32(), Enum<TcpTimerKind>());
                    return new TimerArmed(at, seq, host, socket, timer, new SimTime(atNs + S()));
                }
            case 7:
                {
                    var (host, socket, timer) = (Str(), I32(), Enum<TcpTimerKind>());
                    return new TimerFired(at, seq, host, socket, timer);
                }
            case 8:
                {
                    var (host, socket, timer) = (Str(), I32(), Enum<TcpTimerKind>());
                    return new TimerCancelled(at, seq, host, socket, timer);
                }
            case 9:
                {
                    var (host, process, callId, call, socket, args) = (Str(), Str(), Call(), Enum<SocketCallKind>(), I32(), Str());
                    return new CallIssued(at, seq, host, process, callId, call, socket, args);
                }
            case 10:
                {
                    var (host, process, callId, call, socket, result, errno, blocked, value) =
                        (Str(), Str(), Call(), Enum<SocketCallKind>(), I32(), S(), StrOrNull(), S(), StrOrNull());
                    return new CallReturned(at, seq, host, process, callId, call, socket, result, errno, new SimDuration(blocked), value);
                }
            case 11:
                return new KernelLogged(at, seq, Str(), Str());
            case 12:
                {
                    var (host, socket, bytes) = (Str(), I32(), S());
                    return new DataDelivered(at, seq, host, socket, bytes);
                }
            case 13:
                {
                    var (host, socket, bytes, reason) = (Str(), I32(), S(), Str());
                    return new DataLost(at, seq, host, socket, bytes, reason);
                }
            case 14:
                {
                    var (host, process, signal) = (Str(), Str(), Str());
                    return new ProcessExited(at, seq, host, process, signal);
                }
            case 15:
                {
                    var (host, name, value) = (Str(), Str(), Str());
                    return new SysctlChanged(at, seq, host, name, value);
                }
            case 16:
                {
                    var (from, to, delay) = (Str(), Str(), S());
                    Need(9);
                    double loss = BinaryPrimitives.ReadDoubleLittleEndian(_body[Position..]);
                    Position += 8;
                    byte bits = Byte();
                    if (bits > 3) throw Bad($"link flags of {bits}");
                    return new LinkChanged(at, seq, from, to, new SimDuration(delay), loss, (bits & 1) != 0, (bits & 2) != 0);
                }
            default:
                throw Bad($"an unknown event code {code} at event {seq}");
        }
    }

    private (TcpOptions Options, int? OptionBytes) Options()
    {
        byte bits = Byte();
        if (bits > 127) throw Bad($"option bits {bits}");
        int? optionBytes = (bits & 64) != 0 ? Byte() : null;
        if (optionBytes is { } b && (b > TcpConstants.MaxOptionBytes || b % 4 != 0)) throw Bad($"{b} option bytes");
        ushort mss = (bits & 1) != 0 ? U16() : (ushort)0;
        byte? ws = (bits & 2) != 0 ? Byte() : null;
        var (tsVal, tsEcr) = (bits & 16) != 0 ? (U32(), U32()) : (0u, 0u);
        var sack = SackBlocks.None;
        if ((bits & 32) != 0)
        {
            int count = I32();
            if (count is < 0 or > SackBlocks.Max) throw Bad($"{count} SACK blocks");
            sack = new SackBlocks(count, new(U32(), U32()), new(U32(), U32()), new(U32(), U32()), new(U32(), U32()));
        }
        return (new TcpOptions(mss, ws, (bits & 4) != 0, (bits & 8) != 0, tsVal, tsEcr, sack), optionBytes);
    }

    private FourTuple Tuple()
    {
        ulong index = U();
        _tuples ??= [];
        if (index >= 1 && index <= (ulong)_tuples.Count) return _tuples[(int)index - 1];
        if (index != (ulong)_tuples.Count + 1) throw Bad($"4-tuple {index} of {_tuples.Count}");
        Need(8);
        var local = BinaryPrimitives.ReadUInt32LittleEndian(_body[Position..]);
        var remote = BinaryPrimitives.ReadUInt32LittleEndian(_body[(Position + 4)..]);
        Position += 8;
        var tuple = new FourTuple(new Endpoint(new IPv4(local), U16()), new Endpoint(new IPv4(remote), U16()));
        _tuples.Add(tuple);
        return tuple;
    }

    /// <summary>A string field (a null one, which the engine should never make, comes back as the null it was).</summary>
    private string Str() => StrOrNull()!;

    private string? StrOrNull()
    {
        ulong index = U();
        if (index == 0) return null;
        _strings ??= [];
        if (index <= (ulong)_strings.Count) return _strings[(int)index - 1];
        if (index != (ulong)_strings.Count + 1) throw Bad($"string {index} of {_strings.Count}");
        ulong length = U();
        if (length > (ulong)(_body.Length - Position)) throw Bad($"a string of {length} bytes past the end");
        string text;
        try
        {
            text = StrictUtf8.GetString(_body.Slice(Position, (int)length));
        }
        catch (DecoderFallbackException)
        {
            throw Bad("a string that is not UTF-8");
        }
        Position += (int)length;
        _strings.Add(text);
        return text;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private long Segment() => _prevSegment += S();

    private long Call() => _prevCall += S();

    private TEnum Enum<TEnum>() where TEnum : struct, Enum
    {
        long value = S();
        if (value is < int.MinValue or > int.MaxValue) throw Bad($"{typeof(TEnum).Name} {value}");
        int raw = (int)value;
        var e = System.Runtime.CompilerServices.Unsafe.As<int, TEnum>(ref raw);
        return System.Enum.IsDefined(e) ? e : throw Bad($"{typeof(TEnum).Name} {value}");
    }

    private int I32()
    {
        long v = S();
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw Bad($"{v} where an int must be");
    }

    private uint U32()
    {
        ulong v = U();
        return v <= uint.MaxValue ? (uint)v : throw Bad($"{v} where a u32 must be");
    }

    private ushort U16()
    {
        ulong v = U();
        return v <= ushort.MaxValue ? (ushort)v : throw Bad($"{v} where a u16 must be");
    }

    private long S() => JournalPageCodec.UnZigZag(U());

    private ulong U()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = Byte();
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
        throw Bad("a varint longer than 10 bytes");
    }

    private byte Byte()
    {
        Need(1);
        return _body[Position++];
    }

    private readonly void Need(int bytes)
    {
        if (_body.Length - Position < bytes) throw Bad("it ends in the middle of an event");
    }

    private static JournalPageFormatException Bad(string problem) => new(problem);
}

/// <summary>
/// CRC-32 (IEEE 802.3, reflected, as zlib and PNG compute it), table-driven eight bytes at a time ("slicing-by-8": table k
/// holds the CRC of a byte followed by k zero bytes, so eight lookups fold in eight bytes), then byte by byte for the tail.
/// Byte at a time it was 2.6 % of the API server's CPU under W3.
/// </summary>
internal static class Crc32
{
    /// <summary>Eight 256-entry tables, one after another.</summary>
    private static readonly uint[] Tables = Build();

    private static uint[] Build()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        for (int k = 1; k < 8; k++)
            for (int i = 0; i < 256; i++)
            {
                uint prev = t[(k - 1) * 256 + i];
                t[k * 256 + i] = (prev >> 8) ^ t[prev & 0xff];
            }
        return t;
    }

    public static uint Of(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        var t = Tables;
        while (data.Length >= 8)
        {
            uint one = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            uint two = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = t[7 * 256 + (one & 0xff)] ^ t[6 * 256 + ((one >> 8) & 0xff)] ^ t[5 * 256 + ((one >> 16) & 0xff)] ^ t[4 * 256 + (one >> 24)]
                ^ t[3 * 256 + (two & 0xff)] ^ t[2 * 256 + ((two >> 8) & 0xff)] ^ t[256 + ((two >> 16) & 0xff)] ^ t[two >> 24];
            data = data[8..];
        }
        foreach (byte b in data) crc = t[(crc ^ b) & 0xff] ^ (crc >> 8);
        return ~crc;
    }
}
